/**
 * The fuzz targets of Vouch: every parser that reads outside input, each with a seed corpus of
 * valid encodings made by Vouch's own formatters and fixtures, and the call that feeds it one
 * input. {@link runTarget} drives a target with fast-check: inputs are the seeds mutated (bit
 * flips, byte sets, truncation, deletion, insertion of random bytes or of tokens that parsers
 * trip on, duplication and splicing between seeds) or pure random bytes and text, and fast-check
 * shrinks any failure to a minimal counterexample that replays from its seed and path.
 *
 * The claim checked for every target (STYLE.md "Tests"): the call returns, or throws a
 * VouchError that is not `invariant` — never a TypeError, RangeError or any other exception —
 * and each call finishes well under {@link defaultSlowMs}; where a formatter exists, an accepted
 * input re-formats to bytes that parse to the same value (and, for canonical formats, to the
 * input itself). A broken round trip throws a {@link FuzzFailure}, which counts as a crash.
 *
 * Corpora are deterministic (keys derived from fixed seeds, fixed clocks) except the release
 * targets, whose fixture (core/release/testing.ts) makes fresh keys: replay those from the
 * base64 input, which always reproduces. This module is test code: it reads `examples/` and
 * `test/vectors/`, and does nothing else outside memory.
 */

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { formatAgentConfig, makeAgentConfig, parseAgentConfig } from '../../src/clients/agent/config.ts';
import { formatEnvelope, parseEnvelope, verifyEnvelope } from '../../src/core/attest/dsse.ts';
import {
  formatStatement,
  openStatement,
  parseStatement,
  type Statement,
} from '../../src/core/attest/statement.ts';
import { parseAuditConfig } from '../../src/core/audit/config.ts';
import { parseRebuildAttestation } from '../../src/core/build/attestation.ts';
import { parseProvenance } from '../../src/core/build/provenance.ts';
import { formatRecipe, parseRecipe } from '../../src/core/build/recipe.ts';
import {
  concatBytes,
  equalBytes,
  formatBase64,
  formatHex,
  formatUint64,
  parseBase64,
  parseDecimal,
  parseHex,
  parseUint64,
  toBytes,
  toText,
} from '../../src/core/bytes/index.ts';
import { parseServeConfig } from '../../src/core/config/serve-config.ts';
import { parseYaml } from '../../src/core/config/yaml.ts';
import {
  createSigner,
  createVerifier,
  ed25519Pkcs8FromSeed,
  importPrivateKey,
  type Signer,
  sha256,
} from '../../src/core/crypto/index.ts';
import { isVouchError } from '../../src/core/errors.ts';
import { formatCanonicalJson, formatJson, type JsonValue, parseJson } from '../../src/core/json/index.ts';
import { leafHash, merkleTreeHash, proveConsistency, proveInclusion } from '../../src/core/merkle/index.ts';
import {
  createNoteSigner,
  createNoteVerifier,
  formatNote,
  formatSignatureLine,
  formatSignerKey,
  formatVerifierKey,
  openNote,
  parseNote,
  parseSignatureLine,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifierSet,
} from '../../src/core/note/index.ts';
import { checkReleaseEvidence } from '../../src/core/release/evidence.ts';
import { parseReleasePolicy } from '../../src/core/release/policy.ts';
import { formatReleaseRecord, parseReleaseRecord, releaseRecord } from '../../src/core/release/record.ts';
import { parseReviewStatement } from '../../src/core/release/review.ts';
import { testingOnlyReleaseFixture } from '../../src/core/release/testing.ts';
import { parseVerificationSummary } from '../../src/core/release/vsa.ts';
import { packDatabaseBundle, unpackDatabaseBundle } from '../../src/core/rules/bundle.ts';
import { buildDatabase, type DatabaseFiles } from '../../src/core/rules/database.ts';
import { applyDelta, diffDatabases, parseDelta } from '../../src/core/rules/delta.ts';
import { formatHashDb, parseHashDb, readAllowList, readHashRecords } from '../../src/core/rules/hashdb.ts';
import { formatManifest, manifestFileName, parseManifest } from '../../src/core/rules/manifest.ts';
import {
  formatHashSignature,
  type HashSignature,
  parseAllowList,
  parseHashFiles,
  parseRulesMetadata,
} from '../../src/core/rules/source.ts';
import {
  type AccessRequest,
  formatAccessRequest,
  newAccessRequest,
  parseAccessRequest,
} from '../../src/core/sites/access.ts';
import { formatLedgerEntry, type LedgerEntry, parseLedgerEntry } from '../../src/core/sites/ledger.ts';
import { defaultSiteRegistry, formatSiteRegistry, parseSiteRegistry } from '../../src/core/sites/registry.ts';
import {
  formatTelemetryBatch,
  formatTelemetryEvent,
  parseTelemetryBatch,
  parseTelemetryEvent,
  type TelemetryBatch,
} from '../../src/core/sites/telemetry.ts';
import {
  formatMigrationRecord,
  formatTenantRecord,
  newTenant,
  parseMigrationRecord,
  parseTenantRecord,
} from '../../src/core/sites/tenants.ts';
import { formatCheckpoint, parseCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import {
  createCosignatureVerifier,
  createCosigner,
  formatTimestampedSignature,
  parseTimestampedSignature,
} from '../../src/core/tlog/cosignature.ts';
import { formatEntryBundle, parseEntryBundle } from '../../src/core/tlog/entry-bundle.ts';
import { formatPolicy, parsePolicy } from '../../src/core/tlog/policy.ts';
import { formatTlogProof, parseTlogProof } from '../../src/core/tlog/proof.ts';
import { checkTlogProofPolicy } from '../../src/core/tlog/quorum.ts';
import { formatTilePath, parseTilePath } from '../../src/core/tlog/tile-path.ts';
import {
  appendToTileEdge,
  hashFromTile,
  planTileEdge,
  rootFromTileEdge,
  tileForCoordinate,
  toTileEdge,
} from '../../src/core/tlog/tiles.ts';
import {
  formatAddCheckpointRequest,
  formatCosignatureLines,
  formatTreeSizeBody,
  parseAddCheckpointRequest,
  parseCosignatureLines,
  parseTreeSizeBody,
} from '../../src/core/tlog/witness-request.ts';
import {
  formatMetadata,
  formatTufDate,
  parseMetadata,
  parseTufDate,
  type RoleName,
  roleNames,
} from '../../src/core/tuf/metadata.ts';
import { TrustedMetadata } from '../../src/core/tuf/trusted.ts';
import {
  formatEndpoints,
  formatTenantDirectory,
  parseEndpoints,
  parseTenantDirectory,
} from '../../src/services/site/config.ts';
import { formatMyAccess, parseMyAccess } from '../../src/services/site/my-access.ts';
import { TestRepository } from '../support/tuf-repo.ts';

/** FuzzTarget is one parser under fuzzing. */
export interface FuzzTarget {
  /** name identifies the target on the command line and in the results table. */
  readonly name: string;
  /** maxRandomBytes bounds the pure random inputs; mutated seeds are bounded by {@link maxInputBytes}. */
  readonly maxRandomBytes: number;
  /** seeds returns valid encodings made by Vouch's own formatters; called once per run. */
  seeds(): Promise<readonly Uint8Array[]>;
  /** call feeds one input to the parser; it may throw only a non-invariant VouchError. */
  call(input: Uint8Array): void;
}

/** FuzzFailure reports a broken property other than an unexpected exception: a round trip or a slow call. */
export class FuzzFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FuzzFailure';
  }
}

/** maxInputBytes bounds every generated input, so one run stays fast; size caps above it are tested by unit tests. */
export const maxInputBytes = 256 * 1024;

/** defaultSlowMs is the longest one call may take before it counts as a crash ("never hangs"). */
export const defaultSlowMs = 1000;

// ---------------------------------------------------------------------------------------------
// Round trips

interface RoundTrip<T> {
  readonly format: (value: T) => Uint8Array;
  readonly parse: (bytes: Uint8Array) => T;
  /** exact requires the formatted bytes to equal the input: the format has one spelling. */
  readonly exact?: boolean;
  /** compare replaces deep equality of the values, for values with private state. */
  readonly compare?: 'value' | 'bytes';
}

// checkRoundTrip re-formats an accepted value and parses it again; any difference, or any
// refusal by the formatter or the second parse, is a FuzzFailure.
function checkRoundTrip<T>(input: Uint8Array, first: T, trip: RoundTrip<T>): void {
  const step = <R>(what: string, run: () => R): R => {
    try {
      return run();
    } catch (error) {
      throw new FuzzFailure(`round trip: ${what} threw ${describeError(error)}`, { cause: error });
    }
  };
  const bytes = step('formatting the parsed value', () => trip.format(first));
  if (trip.exact === true && !equalBytes(bytes, input)) {
    throw new FuzzFailure('round trip: an accepted input does not re-format to the same bytes');
  }
  const second = step('parsing the re-formatted bytes', () => trip.parse(bytes));
  if (trip.compare !== 'bytes' && !sameValue(first, second)) {
    throw new FuzzFailure('round trip: the re-formatted bytes parse to another value');
  }
  const again = step('formatting the re-parsed value', () => trip.format(second));
  if (!equalBytes(again, bytes)) throw new FuzzFailure('round trip: formatting is not stable');
}

// sameValue compares parsed values structurally: primitives, bigints, bytes, arrays, maps and
// the own enumerable fields of objects. Prototypes are ignored on purpose: parsed JSON objects
// have none, while a parser's defaults (`{}`) may have Object's, and both mean the same value.
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && equalBytes(a, b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
    );
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    return [...a].every(([k, v]) => b.has(k) && sameValue(v, b.get(k)));
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  const objectB = b as Record<string, unknown>;
  return keysA.every(
    (k) => Object.hasOwn(objectB, k) && sameValue((a as Record<string, unknown>)[k], objectB[k]),
  );
}

/** describeError names a thrown value for a report: its class, code and message. */
export function describeError(error: unknown): string {
  if (isVouchError(error)) return `VouchError(${error.code}): ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `non-error value ${String(error)}`;
}

// ---------------------------------------------------------------------------------------------
// Deterministic fixtures

// fixedSigner derives an Ed25519 key from its name, so corpora (and replays) are the same on
// every run. Test keys only.
function fixedSigner(name: string): Signer {
  const material = importPrivateKey(
    'ed25519',
    ed25519Pkcs8FromSeed(sha256(toBytes(`vouch fuzz key ${name}`))),
  );
  return createSigner(name, material);
}

// pseudoRandomBytes is a deterministic byte stream (SHA-256 in counter mode) for filler data.
function pseudoRandomBytes(label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i * 32 < length; i++) {
    out.set(sha256(toBytes(`${label} ${i}`)).subarray(0, Math.min(32, length - i * 32)), i * 32);
  }
  return out;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

const origin = 'log.fuzz.example/release';
const entries = Array.from({ length: 21 }, (_, i) => toBytes(`fuzz entry ${i}`));
const leaves = entries.map(leafHash);

/** LogWorld is a small signed, cosigned log: its notes, proofs and the policy that trusts them. */
interface LogWorld {
  readonly policyBytes: Uint8Array;
  readonly verifiers: ReturnType<typeof verifierSet>;
  /** notes are signed checkpoints, some cosigned, some with extension lines. */
  readonly notes: readonly Uint8Array[];
  readonly proofs: readonly Uint8Array[];
  readonly requests: readonly Uint8Array[];
  readonly cosignatureLines: readonly Uint8Array[];
  readonly vkeys: readonly string[];
}

const logWorld = once(async (): Promise<LogWorld> => {
  const logSigner = createNoteSigner(fixedSigner(origin));
  const witnessA = createCosigner(fixedSigner('a.witness.fuzz.example'), { timestamp: 1_700_000_000n });
  const witnessB = createCosigner(fixedSigner('b.witness.fuzz.example'), { timestamp: 1_700_000_100n });
  const vkeys = [formatVerifierKey(logSigner), formatVerifierKey(witnessA), formatVerifierKey(witnessB)];
  const policyBytes = toBytes(
    `# the fuzz log and its witnesses\nlog ${vkeys[0]} https://log.fuzz.example/\n` +
      `witness a ${vkeys[1]}\nwitness b ${vkeys[2]} https://b.fuzz.example/\n` +
      'group both all a b\ngroup one 1 a b\nquorum one\n',
  );
  const verifiers = verifierSet([
    createNoteVerifier(vkeys[0] as string),
    createCosignatureVerifier(vkeys[1] as string),
    createCosignatureVerifier(vkeys[2] as string),
  ]);
  const checkpointAt = (size: number, extensions: string[] = []): string =>
    formatCheckpoint({
      origin,
      size: BigInt(size),
      root: merkleTreeHash(leaves.slice(0, size)),
      extensions,
    });
  const notes = [
    await signNote(checkpointAt(21), [logSigner, witnessA, witnessB]),
    await signNote(checkpointAt(13, ['ext one', 'ext two']), [logSigner, witnessA]),
    await signNote(checkpointAt(0), [logSigner]),
    await signNote(checkpointAt(1), [witnessB, logSigner]),
  ];
  const full = notes[0] as Uint8Array;
  const proofs = [0, 5, 20].map((i) =>
    formatTlogProof({
      ...(i === 5 ? { extra: toBytes('extra data') } : {}),
      index: BigInt(i),
      proof: proveInclusion(leaves, BigInt(i)),
      checkpoint: full,
    }),
  );
  const requests = [
    formatAddCheckpointRequest({ old: 13n, proof: proveConsistency(leaves, 13n, 21n), checkpoint: full }),
    formatAddCheckpointRequest({ old: 0n, proof: [], checkpoint: notes[3] as Uint8Array }),
  ];
  const cosignatureLines = [
    formatCosignatureLines(parseNote(full).signatures.slice(1)),
    formatCosignatureLines(parseNote(notes[1] as Uint8Array).signatures),
  ];
  return { policyBytes, verifiers, notes, proofs, requests, cosignatureLines, vkeys };
});

const vectors = once(async () => {
  const url = new URL('../vectors/tlog.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as {
    signedNote: Record<string, unknown>;
    cosignatureV1: Record<string, string>;
  };
});

// vectorNotes returns every signed note text among the shared vectors.
async function vectorNotes(): Promise<Uint8Array[]> {
  const v = await vectors();
  const texts: string[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string' && value.includes('\n\n\u2014 ')) texts.push(value);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(v.signedNote);
  visit(v.cosignatureV1);
  return texts.map(toBytes);
}

const tufWorld = once(async () => {
  const now = 1_750_000_000;
  const repo = new TestRepository(now);
  for (const role of roleNames) repo.keys[role] = [fixedSigner(`${role}-fuzz`)];
  repo.targets.set('rules/main/main-1.vdb', { bytes: toBytes('rule database 1') });
  repo.targets.set('agent/linux-x64/agent-1.tar.gz', {
    bytes: toBytes('agent 1'),
    custom: { channel: 'stable' },
  });
  const root1 = await repo.publishRoot();
  await repo.publishAll();
  const files = {
    root1,
    timestamp: repo.current('timestamp'),
    snapshot: repo.current('snapshot'),
    targets: repo.current('targets'),
  };
  repo.keys.root = [fixedSigner('root-fuzz-2')];
  const root2 = await repo.publishRoot({ extra: [fixedSigner('root-fuzz')] });
  return { now, ...files, root2 };
});

const releaseWorld = once(async () => {
  const fixture = await testingOnlyReleaseFixture();
  const policy = fixture.policyFor();
  const builder = createVerifier(fixture.builder.keyType, fixture.builder.publicKey);
  const payloadOf = (envelope: Uint8Array, signer: Signer): Uint8Array =>
    verifyEnvelope(parseEnvelope(envelope), [createVerifier(signer.keyType, signer.publicKey)], 1).payload;
  const statements = [
    payloadOf(fixture.evidence.provenance, fixture.builder),
    payloadOf(fixture.evidence.rebuilds[0] as Uint8Array, fixture.rebuilders[0] as Signer),
    payloadOf(fixture.evidence.review as Uint8Array, fixture.reviewers[0] as Signer),
  ];
  return { fixture, policy, builder, statements };
});

function ruleDatabase(version: number, records: number, yara: readonly string[]): DatabaseFiles {
  const hashes: HashSignature[] = Array.from({ length: records }, (_, i) => ({
    digest: sha256(toBytes(`sample ${i}`)),
    size: i % 5 === 0 ? '*' : 100 + i,
    name: `Vouch.Fuzz.${i}`,
  }));
  return buildDatabase({
    name: 'main',
    version,
    created: 1_700_000_000 + version,
    engine: { min: 1, max: 2, yaraX: '1.20.0' },
    hashes,
    allow: [sha256(toBytes(`clean ${version}`))],
    yara: new Map(
      yara.map((name) => [name, toBytes(`rule ${name.slice(0, -4)}_${version} { condition: false }\n`)]),
    ),
  });
}

const rulesWorld = once(async () => {
  const base = ruleDatabase(1, 12, ['a.yar', 'b.yar']);
  const next = ruleDatabase(2, 15, ['a.yar', 'c.yar']);
  return { base, next, delta: diffDatabases(base, next) };
});

const siteWorld = once(async () => {
  const registry = defaultSiteRegistry();
  const approver = createNoteSigner(fixedSigner('acme-approver'));
  const created = '2025-01-01T00:00:00Z';
  const tenants = [
    newTenant(
      {
        id: 'acme',
        name: 'Acme KK',
        contractCountry: 'JP',
        approvalKey: formatVerifierKey(approver),
        approvalRequired: true,
        created,
      },
      registry,
    ),
    newTenant(
      { id: 'bravo', name: 'Bravo Ltda', contractCountry: 'BR', approvalRequired: false, created },
      registry,
    ),
  ];
  const person = {
    kind: 'person',
    id: 'alice',
    employer: 'Vouch AG',
    officeCountry: 'CH',
    physicalCountry: 'CH',
    role: 'support',
  } as const;
  const request: AccessRequest = newAccessRequest({
    id: '3f1c2a9e-8b4d-4c6e-9f0a-1b2c3d4e5f60',
    tenant: 'acme',
    requester: person,
    action: 'export',
    purpose: 'support',
    justification: 'false positive on invoice.exe',
    ticket: 'SUP-1234',
    scope: `samples/${'a'.repeat(64)}`,
    requested: '2025-03-01T08:00:00Z',
  });
  const ledger: LedgerEntry[] = [
    {
      principal: person,
      action: 'access',
      purpose: 'support',
      justification: 'customer reported a false positive',
      ticket: 'SUP-1234',
      approval: 'c'.repeat(64),
      tenant: 'acme',
      site: 'ch-zrh',
      scope: `samples/${'b'.repeat(64)}`,
      count: 1,
      time: '2025-01-01T12:00:00Z',
      policyDigest: 'b'.repeat(64),
      decision: 'allow',
      reasons: ['permit: staff-in-ch'],
    },
    {
      principal: { kind: 'job', id: 'detection-statistics', role: 'statistics' },
      action: 'read',
      purpose: 'detection-statistics',
      justification: 'scheduled daily run',
      tenant: 'acme',
      site: 'ch-zrh',
      scope: 'detections:2025-01-01',
      count: 48213,
      time: '2025-01-02T00:00:05Z',
      policyDigest: 'b'.repeat(64),
      decision: 'deny',
      reasons: [],
    },
  ];
  const batch: TelemetryBatch = {
    batchId: '3f1c2a9e-8b4d-4c6e-9f0a-1b2c3d4e5f60',
    tenant: 'acme',
    endpoint: 'host-17',
    events: [
      {
        kind: 'detection',
        time: '2025-01-01T12:00:00Z',
        sha256: 'a'.repeat(64),
        signature: 'Win.Test.EICAR_HDB-1',
        database: 'main',
        databaseVersion: '62',
      },
      {
        kind: 'update',
        time: '2025-01-01T12:00:00Z',
        target: 'rules/main',
        from: '61',
        to: '62',
        outcome: 'refused',
        attack: 'rollback',
      },
      {
        kind: 'sample',
        sha256: 'a'.repeat(64),
        size: 1234,
        fileType: 'pe32',
        firstSeen: '2025-01-01T12:00:00Z',
        name: 'invoice "2025".exe',
      },
    ],
  };
  return { registry, tenants, request, ledger, batch };
});

function readExample(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../${path}`, import.meta.url)));
}

// prefixed puts selector bytes before each seed, for targets whose first bytes choose a mode.
function prefixed(prefix: number[], seed: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.from(prefix), seed);
}

function jsonSeeds(values: readonly unknown[]): Uint8Array[] {
  return values.flatMap((v) => [toBytes(JSON.stringify(v)), toBytes(JSON.stringify(v, null, 2))]);
}

// ---------------------------------------------------------------------------------------------
// Targets

const small = 4096;

/** targets lists every fuzz target, in the order of the results table. */
export const targets: readonly FuzzTarget[] = Object.freeze([
  {
    name: 'note',
    maxRandomBytes: small,
    seeds: async () => [...(await logWorld()).notes, ...(await vectorNotes())],
    call(input) {
      checkRoundTrip(input, parseNote(input), { parse: parseNote, format: formatNote, exact: true });
    },
  },
  {
    name: 'note-open',
    maxRandomBytes: small,
    seeds: async () => (await logWorld()).notes,
    call(input) {
      openNote(input, logWorldNow().verifiers);
    },
  },
  {
    name: 'signature-line',
    maxRandomBytes: 512,
    seeds: async () =>
      (await logWorld()).notes.flatMap((n) =>
        parseNote(n).signatures.map((s) => toBytes(formatSignatureLine(s))),
      ),
    call(input) {
      const parse = (bytes: Uint8Array) => parseSignatureLine(toText(bytes));
      checkRoundTrip(input, parse(input), {
        parse,
        format: (s) => toBytes(formatSignatureLine(s)),
        exact: true,
      });
    },
  },
  {
    name: 'verifier-key',
    maxRandomBytes: 512,
    seeds: async () => {
      const v = await vectors();
      return [...(await logWorld()).vkeys, v.cosignatureV1.vkeyType01, v.cosignatureV1.vkeyType04]
        .filter((k): k is string => typeof k === 'string')
        .map(toBytes);
    },
    call(input) {
      const parse = (bytes: Uint8Array) => parseVerifierKey(toText(bytes));
      checkRoundTrip(input, parse(input), {
        parse,
        format: (k) => toBytes(formatVerifierKey(k)),
        exact: true,
      });
    },
  },
  {
    name: 'checkpoint',
    maxRandomBytes: small,
    seeds: async () => (await logWorld()).notes.map((n) => toBytes(parseNote(n).text)),
    call(input) {
      const parse = (bytes: Uint8Array) => parseCheckpoint(toText(bytes));
      checkRoundTrip(input, parse(input), {
        parse,
        format: (c) => toBytes(formatCheckpoint(c)),
        exact: true,
      });
    },
  },
  {
    name: 'cosignature',
    maxRandomBytes: 2600,
    // First byte: the signature type (0x04 Ed25519, 0x06 ML-DSA-44); the rest: the signature bytes.
    seeds: async () => [
      ...(await logWorld()).notes.flatMap((n) =>
        parseNote(n)
          .signatures.filter((s) => s.signature.length === 72)
          .map((s) => prefixed([0x04], s.signature)),
      ),
      prefixed([0x06], concatBytes(formatUint64(1_700_000_000n), pseudoRandomBytes('ml-dsa', 2420))),
    ],
    call(input) {
      const type = input[0] ?? 0;
      const parse = (bytes: Uint8Array) => parseTimestampedSignature(type, bytes);
      const body = input.subarray(1);
      checkRoundTrip(body, parse(body), { parse, format: formatTimestampedSignature, exact: true });
    },
  },
  {
    name: 'witness-add-checkpoint',
    maxRandomBytes: small,
    seeds: async () => (await logWorld()).requests,
    call(input) {
      checkRoundTrip(input, parseAddCheckpointRequest(input), {
        parse: parseAddCheckpointRequest,
        format: formatAddCheckpointRequest,
        exact: true,
      });
    },
  },
  {
    name: 'witness-tree-size',
    maxRandomBytes: 64,
    seeds: async () => [0n, 1n, 70_000n, (1n << 64n) - 1n].map(formatTreeSizeBody),
    call(input) {
      checkRoundTrip(input, parseTreeSizeBody(input), {
        parse: parseTreeSizeBody,
        format: formatTreeSizeBody,
        exact: true,
      });
    },
  },
  {
    name: 'witness-cosignature-lines',
    maxRandomBytes: small,
    seeds: async () => (await logWorld()).cosignatureLines,
    call(input) {
      checkRoundTrip(input, parseCosignatureLines(input), {
        parse: parseCosignatureLines,
        format: formatCosignatureLines,
        exact: true,
      });
    },
  },
  {
    name: 'tile-path',
    maxRandomBytes: 128,
    seeds: async () =>
      [
        'tile/0/000',
        'tile/0/x001/x234/067.p/8',
        'tile/entries/123.p/255',
        'tile/63/x018/x446/x744/x073/x709/x551/615',
        'tile/1/001.p/17',
      ].map(toBytes),
    call(input) {
      const parse = (bytes: Uint8Array) => parseTilePath(toText(bytes));
      checkRoundTrip(input, parse(input), { parse, format: (t) => toBytes(formatTilePath(t)), exact: true });
    },
  },
  {
    name: 'entry-bundle',
    maxRandomBytes: small,
    // First byte: the entry count the tile path implies, minus one; the rest: the bundle.
    seeds: async () => [
      prefixed([entries.length - 1], formatEntryBundle(entries)),
      prefixed([0], formatEntryBundle([new Uint8Array(0)])),
      prefixed([255], formatEntryBundle(Array.from({ length: 256 }, (_, i) => toBytes(`e${i}`)))),
      prefixed([1], formatEntryBundle([pseudoRandomBytes('entry', 3000), toBytes('x')])),
    ],
    call(input) {
      const count = (input[0] ?? 0) + 1;
      const body = input.subarray(1);
      const parse = (bytes: Uint8Array) => parseEntryBundle(bytes, count);
      checkRoundTrip(body, parse(body), { parse, format: formatEntryBundle, exact: true });
    },
  },
  {
    name: 'tile-data',
    maxRandomBytes: small,
    // Header: tree size (u64), coordinate level (u8) and index (u64); then the tile's bytes.
    seeds: async () =>
      [
        [1000n, 0, 5n],
        [700n, 1, 260n],
        [70_000n, 9, 3n],
        [70_000n, 8, 272n],
        [300n, 3, 0n],
      ].map(([size, level, index]) => {
        const coordinate = { level: Number(level), index: BigInt(index as bigint) };
        const tile = tileForCoordinate(coordinate, size as bigint);
        return concatBytes(
          formatUint64(size as bigint),
          Uint8Array.of(Number(level)),
          formatUint64(BigInt(index as bigint)),
          pseudoRandomBytes(`tile ${tile.level}/${tile.index}`, tile.width * 32),
        );
      }),
    call(input) {
      if (input.length < 17) return;
      const size = parseUint64(input, 0);
      const coordinate = { level: input[8] as number, index: parseUint64(input, 9) };
      hashFromTile(tileForCoordinate(coordinate, size), input.subarray(17), coordinate);
    },
  },
  {
    name: 'tile-edge',
    maxRandomBytes: small,
    // Header: tree size (u64); then the partial tiles' bytes, split at the widths the size implies.
    seeds: async () =>
      [1n, 255n, 256n, 70_000n, 65_537n].map((size) =>
        concatBytes(
          formatUint64(size),
          ...planTileEdge(size).map((t) => pseudoRandomBytes(`edge ${size} ${t.level}`, t.width * 32)),
        ),
      ),
    call(input) {
      if (input.length < 8) return;
      const size = parseUint64(input, 0);
      const tiles = planTileEdge(size);
      const parts: Uint8Array[] = [];
      let at = 8;
      tiles.forEach((tile, i) => {
        const end = i === tiles.length - 1 ? input.length : Math.min(input.length, at + tile.width * 32);
        parts.push(input.subarray(at, end));
        at = end;
      });
      const edge = toTileEdge(size, parts);
      const root = rootFromTileEdge(edge);
      const grown = appendToTileEdge(edge, [leaves[0] as Uint8Array, root]);
      if (grown.edge.size !== size + 2n) throw new FuzzFailure('tile edge did not grow by two leaves');
    },
  },
  {
    name: 'tlog-proof',
    maxRandomBytes: small,
    seeds: async () => (await logWorld()).proofs,
    call(input) {
      checkRoundTrip(input, parseTlogProof(input), {
        parse: parseTlogProof,
        format: formatTlogProof,
        exact: true,
      });
    },
  },
  {
    name: 'tlog-proof-policy',
    maxRandomBytes: small,
    seeds: async () => (await logWorld()).proofs,
    call(input) {
      const world = logWorldNow();
      const proof = parseTlogProof(input);
      const leaf = leaves[Number(proof.index % BigInt(leaves.length))] as Uint8Array;
      checkTlogProofPolicy(input, leaf, parsePolicy(world.policyBytes), {
        origin,
        freshness: { now: 1_700_000_050n, maxAge: 3600n },
      });
    },
  },
  {
    name: 'tlog-policy',
    maxRandomBytes: small,
    seeds: async () => [
      (await logWorld()).policyBytes,
      formatPolicy(parsePolicy((await logWorld()).policyBytes)),
    ],
    call(input) {
      checkRoundTrip(input, parsePolicy(input), { parse: parsePolicy, format: formatPolicy });
    },
  },
  {
    name: 'json',
    maxRandomBytes: small,
    seeds: async () => [
      ...jsonSeeds([{ a: [1, -2, 9007199254740991], b: 'x\u2028\ud83d\ude00"\\', c: null, d: true }]),
      (await tufWorld()).root1,
      readExample('examples/hello/recipe.json'),
    ],
    call(input) {
      const parse = (bytes: Uint8Array) => parseJson(bytes, { maxBytes: 1 << 20 });
      checkRoundTrip(input, parse(input), { parse, format: formatJson });
    },
  },
  {
    name: 'json-floats',
    maxRandomBytes: small,
    seeds: async () => [toBytes('[1.5, -0, 1e308, 5e-324, 123456789012345678901234567890, {"x": 0.1E-2}]')],
    call(input) {
      const parse = (bytes: Uint8Array) => parseJson(bytes, { maxBytes: 1 << 20, allowFloats: true });
      checkRoundTrip(input, parse(input), { parse, format: formatJson });
    },
  },
  {
    name: 'canonical-json',
    maxRandomBytes: small,
    seeds: async () => [
      formatCanonicalJson({
        b: [1, 2, { z: '', a: 'é\ud83d\ude00' }],
        a: -5,
        '\ue000': 1,
        '\ud800\udc00': 2,
      }),
      (await tufWorld()).snapshot,
    ],
    call(input) {
      const value = parseJson(input, { maxBytes: 1 << 20 });
      const canonical = formatCanonicalJson(value);
      // Canonical JSON writes control characters raw, so only such-free output is JSON again.
      if (canonical.some((byte) => byte < 0x20)) return;
      const parse = (bytes: Uint8Array): JsonValue => parseJson(bytes, { maxBytes: 1 << 21 });
      checkRoundTrip(canonical, value, { parse, format: formatCanonicalJson, exact: true });
    },
  },
  {
    name: 'dsse-envelope',
    maxRandomBytes: small,
    seeds: async () => {
      const { fixture } = await releaseWorld();
      return [
        fixture.evidence.provenance,
        fixture.evidence.review as Uint8Array,
        ...fixture.evidence.rebuilds,
      ];
    },
    call(input) {
      checkRoundTrip(input, parseEnvelope(input), {
        parse: (bytes) => parseEnvelope(bytes),
        format: formatEnvelope,
        compare: 'bytes',
      });
    },
  },
  {
    name: 'dsse-open-statement',
    maxRandomBytes: small,
    seeds: async () => [(await releaseWorld()).fixture.evidence.provenance],
    call(input) {
      openStatement(parseEnvelope(input), [releaseWorldNow().builder], 1);
    },
  },
  {
    name: 'in-toto-statement',
    maxRandomBytes: small,
    seeds: async () => (await releaseWorld()).statements,
    call(input) {
      checkRoundTrip(input, parseStatement(input), {
        parse: (bytes) => parseStatement(bytes),
        format: formatStatement,
      });
    },
  },
  {
    name: 'attestation-predicates',
    maxRandomBytes: small,
    // First byte: which predicate parser reads the statement (provenance, rebuild, review, VSA).
    seeds: async () => (await releaseWorld()).statements.map((s, i) => prefixed([i], s)),
    call(input) {
      const statement: Statement = parseStatement(input.subarray(1));
      const parsers = [
        parseProvenance,
        parseRebuildAttestation,
        parseReviewStatement,
        parseVerificationSummary,
      ];
      (parsers[(input[0] ?? 0) % parsers.length] as (s: Statement) => unknown)(statement);
    },
  },
  {
    name: 'tuf-metadata',
    maxRandomBytes: small,
    // First byte: the role (root, timestamp, snapshot, targets); the rest: the metadata file.
    seeds: async () => {
      const w = await tufWorld();
      return [
        prefixed([0], w.root1),
        prefixed([0], w.root2),
        prefixed([1], w.timestamp),
        prefixed([2], w.snapshot),
        prefixed([3], w.targets),
      ];
    },
    call(input) {
      const role = roleNames[(input[0] ?? 0) % 4] as RoleName;
      const parse = (bytes: Uint8Array) => parseMetadata(role, bytes);
      const body = input.subarray(1);
      const first = parse(body);
      checkRoundTrip(body, first, {
        parse,
        format: (m) => formatMetadata(m.signed, m.signatures),
        compare: 'bytes',
      });
    },
  },
  {
    name: 'tuf-trusted-update',
    maxRandomBytes: small,
    // First byte: the update step the input replaces (root v2, timestamp, snapshot, targets);
    // the steps before it get the repository's genuine files.
    seeds: async () => {
      const w = await tufWorld();
      return [
        prefixed([0], w.root2),
        prefixed([1], w.timestamp),
        prefixed([2], w.snapshot),
        prefixed([3], w.targets),
      ];
    },
    call(input) {
      const w = tufWorldNow();
      const step = (input[0] ?? 0) % 4;
      const body = input.subarray(1);
      const trusted = TrustedMetadata.fromRoot(w.root1, w.now);
      if (step === 0) {
        trusted.updateRoot(body);
        return;
      }
      trusted.finishRoots();
      trusted.updateTimestamp(step === 1 ? body : w.timestamp);
      if (step === 1) return;
      trusted.updateSnapshot(step === 2 ? body : w.snapshot);
      if (step === 2) return;
      trusted.updateTargets(body);
      for (const path of trusted.targets?.fields.targets.keys() ?? []) trusted.targetInfo(path);
    },
  },
  {
    name: 'recipe',
    maxRandomBytes: small,
    seeds: async () =>
      ['examples/hello/recipe.json', 'examples/rules/recipe.json', 'examples/sabotaged/recipe.json'].map(
        readExample,
      ),
    call(input) {
      checkRoundTrip(input, parseRecipe(input), { parse: parseRecipe, format: formatRecipe });
    },
  },
  {
    name: 'rules-hash-source',
    maxRandomBytes: small,
    seeds: async () => [
      readExample('examples/rules/src/demo.hsb'),
      toBytes(`${'ab'.repeat(32)}:*:Any.Size-1\n${'cd'.repeat(32)}:0:Empty\r\n`),
    ],
    call(input) {
      const parse = (bytes: Uint8Array) => parseHashFiles([{ file: 'main.hsb', bytes }]);
      checkRoundTrip(input, parse(input), {
        parse,
        format: (records) => toBytes(records.map((r) => `${formatHashSignature(r)}\n`).join('')),
      });
    },
  },
  {
    name: 'rules-allow-list',
    maxRandomBytes: small,
    seeds: async () => [toBytes(`# clean files\n${'0f'.repeat(32)}\n${'e3'.repeat(32)}\n`)],
    call(input) {
      const parse = (bytes: Uint8Array) => parseAllowList(bytes);
      checkRoundTrip(input, parse(input), {
        parse,
        format: (list) => toBytes(list.map((d) => `${formatHex(d)}\n`).join('')),
      });
    },
  },
  {
    name: 'rules-metadata',
    maxRandomBytes: small,
    seeds: async () => [readExample('examples/rules/src/rules.json')],
    call(input) {
      const parse = (bytes: Uint8Array) => parseRulesMetadata(bytes);
      checkRoundTrip(input, parse(input), { parse, format: (m) => toBytes(JSON.stringify(m)) });
    },
  },
  {
    name: 'rules-hash-table',
    maxRandomBytes: small,
    seeds: async () => {
      const { base, next } = await rulesWorld();
      return [base.get('hashes.vhdb') as Uint8Array, next.get('hashes.vhdb') as Uint8Array];
    },
    call(input) {
      const parse = (bytes: Uint8Array) => parseHashDb(bytes);
      const db = parse(input);
      const records = readHashRecords(db);
      const allow = readAllowList(db);
      const again = formatHashDb(records, allow);
      if (!equalBytes(again, input))
        throw new FuzzFailure('round trip: a hash table re-formats to other bytes');
    },
  },
  {
    name: 'rules-manifest',
    maxRandomBytes: small,
    seeds: async () => {
      const { base, next } = await rulesWorld();
      return [base.get(manifestFileName) as Uint8Array, next.get(manifestFileName) as Uint8Array];
    },
    call(input) {
      checkRoundTrip(input, parseManifest(input), { parse: parseManifest, format: formatManifest });
    },
  },
  {
    name: 'rules-bundle',
    maxRandomBytes: small,
    seeds: async () => {
      const { base, next } = await rulesWorld();
      return [packDatabaseBundle(base), packDatabaseBundle(next)];
    },
    call(input) {
      checkRoundTrip(input, unpackDatabaseBundle(input), {
        parse: unpackDatabaseBundle,
        format: packDatabaseBundle,
        exact: true,
      });
    },
  },
  {
    name: 'rules-delta',
    maxRandomBytes: small,
    seeds: async () => [(await rulesWorld()).delta],
    call(input) {
      parseDelta(input);
      applyDelta(rulesWorldNow().base, input);
    },
  },
  {
    name: 'telemetry-batch',
    maxRandomBytes: small,
    seeds: async () => {
      const bytes = formatTelemetryBatch((await siteWorld()).batch);
      return [bytes, toBytes(JSON.stringify(JSON.parse(toText(bytes)), null, 2))];
    },
    call(input) {
      checkRoundTrip(input, parseTelemetryBatch(input), {
        parse: parseTelemetryBatch,
        format: formatTelemetryBatch,
      });
    },
  },
  {
    name: 'telemetry-event',
    maxRandomBytes: small,
    seeds: async () => (await siteWorld()).batch.events.map(formatTelemetryEvent),
    call(input) {
      checkRoundTrip(input, parseTelemetryEvent(input), {
        parse: parseTelemetryEvent,
        format: formatTelemetryEvent,
      });
    },
  },
  {
    name: 'site-registry',
    maxRandomBytes: small,
    seeds: async () => [formatSiteRegistry((await siteWorld()).registry)],
    call(input) {
      checkRoundTrip(input, parseSiteRegistry(input), {
        parse: parseSiteRegistry,
        format: formatSiteRegistry,
      });
    },
  },
  {
    name: 'tenant-record',
    maxRandomBytes: small,
    seeds: async () => (await siteWorld()).tenants.map(formatTenantRecord),
    call(input) {
      checkRoundTrip(input, parseTenantRecord(input), {
        parse: parseTenantRecord,
        format: formatTenantRecord,
      });
    },
  },
  {
    name: 'migration-record',
    maxRandomBytes: small,
    seeds: async () => [
      formatMigrationRecord({
        tenant: 'bravo',
        from: 'ru-mow',
        to: 'ch-zrh',
        reason: 'registry v2 moves BR to ch-zrh',
        registryVersion: 2,
        approvals: ['alice', 'bob'],
        time: '2025-02-01T00:00:00Z',
      }),
    ],
    call(input) {
      checkRoundTrip(input, parseMigrationRecord(input), {
        parse: parseMigrationRecord,
        format: formatMigrationRecord,
      });
    },
  },
  {
    name: 'access-request',
    maxRandomBytes: small,
    seeds: async () => [formatAccessRequest((await siteWorld()).request)],
    call(input) {
      checkRoundTrip(input, parseAccessRequest(input), {
        parse: parseAccessRequest,
        format: formatAccessRequest,
      });
    },
  },
  {
    name: 'ledger-entry',
    maxRandomBytes: small,
    seeds: async () => (await siteWorld()).ledger.map(formatLedgerEntry),
    call(input) {
      checkRoundTrip(input, parseLedgerEntry(input), { parse: parseLedgerEntry, format: formatLedgerEntry });
    },
  },
  {
    name: 'yaml',
    maxRandomBytes: small,
    seeds: async () => [
      readExample('examples/vouch.yaml'),
      toBytes("a:\n  - 'x'' y'\n  - \"\\u00e9\\n\"\n  - ~\n  -\n    b: 12\n    c: -0\nd: true # note\n"),
    ],
    call(input) {
      parseYaml(input);
    },
  },
  {
    name: 'serve-config',
    maxRandomBytes: small,
    seeds: async () => [
      readExample('examples/vouch.yaml'),
      toBytes('listen: "[::1]:0"\nlog:\n  dir: /var/log\n'),
    ],
    call(input) {
      parseServeConfig(input, 'vouch.yaml');
    },
  },
  {
    name: 'audit-config',
    maxRandomBytes: small,
    seeds: async () =>
      jsonSeeds([
        {
          releaseLog: { location: 'https://log.example/release/', policy: 'release-log.policy' },
          repository: {
            location: 'https://repo.example/',
            name: 'vouch',
            releasePolicy: 'release-policy.json',
          },
          sites: [
            {
              site: 'ch-zrh',
              ledger: 'https://ch-zrh.example/ledger/',
              vkey: (await logWorld()).vkeys[0],
              witnessPolicy: 'ch-zrh.policy',
              tenants: 'tenants.json',
            },
          ],
          policy: 'policy',
          auditorKey: 'auditor.key',
        },
      ]),
    call(input) {
      const parse = (bytes: Uint8Array) => parseAuditConfig(bytes);
      checkRoundTrip(input, parse(input), { parse, format: (c) => toBytes(JSON.stringify(c)) });
    },
  },
  {
    name: 'agent-config',
    maxRandomBytes: small,
    seeds: async () => [
      formatAgentConfig(
        makeAgentConfig({
          repository: 'https://updates.example/repo/',
          repositoryName: 'vouch',
          wanted: ['rules/main/', 'agent/linux-x64/'],
          site: 'https://ch-zrh.example/site/',
          credentialFile: '/etc/vouch/credential',
        }),
      ),
    ],
    call(input) {
      checkRoundTrip(input, parseAgentConfig(input), { parse: parseAgentConfig, format: formatAgentConfig });
    },
  },
  {
    name: 'release-policy',
    maxRandomBytes: small,
    seeds: async () => [(await releaseWorld()).policy.bytes],
    call(input) {
      parseReleasePolicy(input);
    },
  },
  {
    name: 'release-record',
    maxRandomBytes: 4096,
    seeds: async () => [
      releaseRecord({ repository: 'vouch', file: '3.targets.json', bytes: toBytes('targets') }),
      formatReleaseRecord({ repository: 'a!#~', file: 'x', length: 0, sha256: 'f'.repeat(64) }),
    ],
    call(input) {
      checkRoundTrip(input, parseReleaseRecord(input), {
        parse: parseReleaseRecord,
        format: formatReleaseRecord,
        exact: true,
      });
    },
  },
  {
    name: 'release-evidence',
    maxRandomBytes: small,
    // First byte: the evidence file the input replaces (provenance, rebuild, review, a proof).
    seeds: async () => {
      const { fixture } = await releaseWorld();
      const e = fixture.evidence;
      const proof = [...(e.proofs?.values() ?? [])][0] as Uint8Array;
      return [
        prefixed([0], e.provenance),
        prefixed([1], e.rebuilds[0] as Uint8Array),
        prefixed([2], e.review as Uint8Array),
        prefixed([3], proof),
      ];
    },
    call(input) {
      const { fixture, policy } = releaseWorldNow();
      const e = fixture.evidence;
      const body = input.subarray(1);
      const which = (input[0] ?? 0) % 4;
      const proofs = new Map(e.proofs);
      const first = [...proofs.keys()][0] as string;
      if (which === 3) proofs.set(first, body);
      checkReleaseEvidence(policy.policy, {
        target: e.target,
        provenance: which === 0 ? body : e.provenance,
        rebuilds: which === 1 ? [body, ...e.rebuilds.slice(1)] : e.rebuilds,
        ...(which === 2 ? { review: body } : e.review === undefined ? {} : { review: e.review }),
        proofs,
      });
    },
  },
  {
    name: 'tenant-directory',
    maxRandomBytes: small,
    seeds: async () => {
      const w = await siteWorld();
      return [formatTenantDirectory({ tenants: w.tenants, migrations: [] })];
    },
    call(input) {
      checkRoundTrip(input, parseTenantDirectory(input), {
        parse: parseTenantDirectory,
        format: formatTenantDirectory,
      });
    },
  },
  {
    name: 'site-endpoints',
    maxRandomBytes: small,
    seeds: async () => [
      formatEndpoints([
        { endpoint: 'host-17', tenant: 'acme', tokenSha256: formatHex(sha256(toBytes('token 17'))) },
        { endpoint: 'host-18', tenant: 'bravo', tokenSha256: formatHex(sha256(toBytes('token 18'))) },
      ]),
    ],
    call(input) {
      checkRoundTrip(input, parseEndpoints(input), { parse: parseEndpoints, format: formatEndpoints });
    },
  },
  {
    name: 'site-my-access',
    maxRandomBytes: small,
    seeds: async () => {
      const w = await siteWorld();
      const proof = (await logWorld()).proofs[0] as Uint8Array;
      return [
        formatMyAccess({
          origin: 'ch-zrh.ledger.fuzz.example',
          site: 'ch-zrh',
          tenant: 'acme',
          entries: w.ledger.map((entry) => ({ entry: formatLedgerEntry(entry), proof })),
        }),
      ];
    },
    call(input) {
      checkRoundTrip(input, parseMyAccess(input), { parse: parseMyAccess, format: formatMyAccess });
    },
  },
  {
    name: 'signer-key',
    maxRandomBytes: 512,
    seeds: async () => {
      const v = await vectors();
      const material = importPrivateKey('ed25519', ed25519Pkcs8FromSeed(sha256(toBytes('signer key'))));
      return [toBytes(formatSignerKey('example.com/log', material)), toBytes(v.cosignatureV1.skey as string)];
    },
    call(input) {
      const key = parseSignerKey(toText(input));
      const again = formatSignerKey(key.name, key.material);
      if (again !== toText(input))
        throw new FuzzFailure('round trip: a signer key re-formats to another string');
    },
  },
  {
    name: 'encodings',
    maxRandomBytes: 256,
    // First byte: the decoder (hex, base64, decimal, TUF date); the rest: its text.
    seeds: async () => [
      prefixed([0], toBytes('00ff10ab')),
      prefixed([1], toBytes(formatBase64(pseudoRandomBytes('b64', 31)))),
      prefixed([2], toBytes('18446744073709551615')),
      prefixed([3], toBytes('2030-02-28T23:59:59Z')),
    ],
    call(input) {
      const text = toText(input.subarray(1));
      const check = <T>(value: T, format: (v: T) => string): void => {
        if (format(value) !== text)
          throw new FuzzFailure('round trip: an accepted encoding re-formats to another text');
      };
      switch ((input[0] ?? 0) % 4) {
        case 0:
          check(parseHex(text), formatHex);
          break;
        case 1:
          check(parseBase64(text), formatBase64);
          break;
        case 2:
          check(parseDecimal(text), String);
          break;
        default:
          check(parseTufDate(text), formatTufDate);
      }
    },
  },
] satisfies FuzzTarget[]);

// The calls are synchronous, so the fixtures they need are resolved once, before any run, and
// read synchronously here; prepareTarget awaits them.
let logWorldValue: LogWorld | undefined;
let tufWorldValue: Awaited<ReturnType<typeof tufWorld>> | undefined;
let releaseWorldValue: Awaited<ReturnType<typeof releaseWorld>> | undefined;
let rulesWorldValue: Awaited<ReturnType<typeof rulesWorld>> | undefined;

function logWorldNow(): LogWorld {
  if (logWorldValue === undefined) throw new Error('fuzz: the log fixture is not prepared');
  return logWorldValue;
}
function tufWorldNow(): NonNullable<typeof tufWorldValue> {
  if (tufWorldValue === undefined) throw new Error('fuzz: the TUF fixture is not prepared');
  return tufWorldValue;
}
function releaseWorldNow(): NonNullable<typeof releaseWorldValue> {
  if (releaseWorldValue === undefined) throw new Error('fuzz: the release fixture is not prepared');
  return releaseWorldValue;
}
function rulesWorldNow(): NonNullable<typeof rulesWorldValue> {
  if (rulesWorldValue === undefined) throw new Error('fuzz: the rules fixture is not prepared');
  return rulesWorldValue;
}

/** prepareFixtures builds the fixtures the synchronous calls read; runTarget awaits it. */
export async function prepareFixtures(): Promise<void> {
  logWorldValue = await logWorld();
  tufWorldValue = await tufWorld();
  releaseWorldValue = await releaseWorld();
  rulesWorldValue = await rulesWorld();
}

/** targetNamed returns the target of that name, or undefined. */
export function targetNamed(name: string): FuzzTarget | undefined {
  return targets.find((t) => t.name === name);
}

// ---------------------------------------------------------------------------------------------
// Mutations

// Tokens that parsers of Vouch's formats have to think about: separators, numbers at and past
// their bounds, JSON and YAML structure, Unicode edge cases and the signed-note dash.
const tokens = [
  '\n',
  '\n\n',
  '\r\n',
  '\t',
  ' ',
  '\u2014 ',
  '+',
  '/',
  '=',
  ':',
  ',',
  '"',
  '\\',
  '\\u0000',
  '\\ud800',
  '{}',
  '[]',
  '{',
  '[',
  ']',
  '}',
  'null',
  'true',
  '-0',
  '-1',
  '0',
  '00',
  '1e400',
  '1.5',
  '9007199254740993',
  '18446744073709551615',
  '18446744073709551616',
  '4294967296',
  '2147483648',
  '99999999999999999999999',
  'NaN',
  '__proto__',
  'constructor',
  '\u00e9',
  '\ud83d\ude00',
  '\u2028',
  '\ufeff',
  '- ',
  ': ',
  '# ',
  '&a',
  '*a',
  '!!',
  '---',
  '~',
  "''",
  '.p/',
  'x000/',
  '%',
].map(toBytes);

const interestingBytes = [
  0x00, 0x01, 0x0a, 0x0d, 0x20, 0x22, 0x2b, 0x2f, 0x30, 0x39, 0x3d, 0x5c, 0x7f, 0x80, 0xbf, 0xc0, 0xed, 0xef,
  0xf0, 0xff,
];

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'token'; readonly at: number; readonly token: number; readonly replace: boolean }
  | {
      readonly kind: 'duplicate';
      readonly at: number;
      readonly length: number;
      readonly to: number;
      readonly times: number;
    }
  | {
      readonly kind: 'splice';
      readonly at: number;
      readonly other: number;
      readonly from: number;
      readonly length: number;
    };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...interestingBytes), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('token' as const),
    at: fc.nat(),
    token: fc.nat({ max: tokens.length - 1 }),
    replace: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 256 }),
    to: fc.nat(),
    times: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    other: fc.nat(),
    from: fc.nat(),
    length: fc.integer({ min: 1, max: 512 }),
  }),
);

// mutate applies mutations in order; positions are taken modulo the current length, so a
// mutation list shrinks towards "at the start" and stays meaningful on any seed.
function mutate(seeds: readonly Uint8Array[], seed: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = seed;
  for (const m of mutations) {
    const at = m.at % (bytes.length + 1);
    switch (m.kind) {
      case 'flip':
      case 'set': {
        if (bytes.length === 0) break;
        const copy = bytes.slice();
        const i = at % bytes.length;
        copy[i] = m.kind === 'flip' ? (copy[i] as number) ^ (1 << m.bit) : m.value;
        bytes = copy;
        break;
      }
      case 'truncate':
        bytes = bytes.slice(0, at);
        break;
      case 'delete':
        bytes = concatBytes(bytes.subarray(0, at), bytes.subarray(at + m.length));
        break;
      case 'insert':
        bytes = concatBytes(bytes.subarray(0, at), m.bytes, bytes.subarray(at));
        break;
      case 'token': {
        const token = tokens[m.token] as Uint8Array;
        const rest = m.replace ? at + token.length : at;
        bytes = concatBytes(bytes.subarray(0, at), token, bytes.subarray(rest));
        break;
      }
      case 'duplicate': {
        const piece = bytes.subarray(at, at + m.length);
        const to = m.to % (bytes.length + 1);
        bytes = concatBytes(
          bytes.subarray(0, to),
          ...Array.from({ length: m.times }, () => piece),
          bytes.subarray(to),
        );
        break;
      }
      case 'splice': {
        const other = seeds[m.other % seeds.length] as Uint8Array;
        const from = m.from % (other.length + 1);
        bytes = concatBytes(bytes.subarray(0, at), other.subarray(from, from + m.length), bytes.subarray(at));
        break;
      }
    }
    if (bytes.length > maxInputBytes) bytes = bytes.subarray(0, maxInputBytes);
  }
  return bytes;
}

const textAlphabet = [...'0123456789abcdefxyzABCP+/=-_.:,;"\'\\{}[]#&*!|>~ \t\n\n\n\r'].map((c) =>
  c.charCodeAt(0),
);

/** fuzzInput is the input arbitrary of a target: mutated seeds, seeds as they are, random bytes and random text. */
export function fuzzInput(seeds: readonly Uint8Array[], maxRandomBytes: number): fc.Arbitrary<Uint8Array> {
  const max = Math.min(maxRandomBytes, maxInputBytes);
  const random = fc.uint8Array({ maxLength: max });
  const text = fc
    .array(fc.constantFrom(...textAlphabet), { maxLength: Math.min(max, 512) })
    .map((codes) => Uint8Array.from(codes));
  if (seeds.length === 0) return fc.oneof(random, text);
  const mutated = fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 8 }))
    .map(([i, mutations]) => mutate(seeds, seeds[i] as Uint8Array, mutations));
  return fc.oneof(
    { weight: 12, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 2, arbitrary: random },
    { weight: 2, arbitrary: text },
  );
}

// ---------------------------------------------------------------------------------------------
// Running

/** RunOptions bounds one fuzzing run of a target: a number of inputs, a time, or both. */
export interface RunOptions {
  readonly runs?: number;
  readonly timeLimitMs?: number;
  /** seed and path replay a run (fast-check's seed and counterexample path). */
  readonly seed?: number;
  readonly path?: string;
  /** slowMs is the longest a call may take before it counts as a crash (default {@link defaultSlowMs}). */
  readonly slowMs?: number;
  /** beforeCall sees every input before the call, for a hang watchdog. */
  readonly beforeCall?: (input: Uint8Array) => void;
}

/** CrashReport is a minimal counterexample and how to replay it. */
export interface CrashReport {
  readonly error: string;
  readonly input: Uint8Array;
  /** seed and path are fast-check's, undefined when the run did not finish (a hang). */
  readonly seed: number | undefined;
  readonly path: string | undefined;
}

/** RunResult is what one run of a target found. */
export interface RunResult {
  readonly name: string;
  readonly runs: number;
  readonly slowestMs: number;
  readonly crash: CrashReport | undefined;
}

/**
 * checkInput feeds one input to a target and returns the milliseconds it took; it throws when
 * the property breaks: an exception other than a non-invariant VouchError, a round trip that
 * does not hold, or a call slower than `slowMs`.
 */
export function checkInput(target: FuzzTarget, input: Uint8Array, slowMs = defaultSlowMs): number {
  const start = performance.now();
  try {
    target.call(input);
  } catch (error) {
    if (!isVouchError(error) || error.code === 'invariant') throw error;
  }
  const ms = performance.now() - start;
  if (ms > slowMs) throw new FuzzFailure(`slow: one call took ${ms.toFixed(0)} ms (limit ${slowMs} ms)`);
  return ms;
}

/** runTarget fuzzes one target and reports the inputs tried, the slowest call and a shrunk crash, if any. */
export async function runTarget(target: FuzzTarget, options: RunOptions = {}): Promise<RunResult> {
  await prepareFixtures();
  const seeds = await target.seeds();
  for (const [i, seed] of seeds.entries()) {
    try {
      checkInput(target, seed, options.slowMs);
    } catch (error) {
      throw new Error(`fuzz target ${target.name}: seed ${i} is refused: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
  let slowestMs = 0;
  const property = fc.property(fuzzInput(seeds, target.maxRandomBytes), (input) => {
    options.beforeCall?.(input);
    slowestMs = Math.max(slowestMs, checkInput(target, input, options.slowMs));
  });
  // A time-bounded run is a series of fast-check runs sized to about one second each, so the
  // time limit never cuts a shrink short: a failure is always shrunk to its minimal input.
  const deadline = options.timeLimitMs === undefined ? undefined : performance.now() + options.timeLimitMs;
  const wanted = options.runs ?? (deadline === undefined ? 100 : Number.MAX_SAFE_INTEGER);
  let seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);
  let runs = 0;
  let chunk = deadline === undefined ? wanted : 100;
  let crash: CrashReport | undefined;
  for (;;) {
    const started = performance.now();
    const details = fc.check(property, {
      numRuns: Math.min(chunk, wanted - runs),
      seed,
      ...(options.path === undefined ? {} : { path: options.path }),
    });
    runs += details.numRuns;
    if (details.failed && details.counterexample !== null) {
      crash = {
        error: describeError(details.errorInstance),
        input: details.counterexample[0],
        seed: details.seed,
        path: details.counterexamplePath ?? undefined,
      };
      break;
    }
    if (
      options.path !== undefined ||
      runs >= wanted ||
      deadline === undefined ||
      performance.now() >= deadline
    )
      break;
    const ms = Math.max(1, performance.now() - started);
    chunk = Math.max(
      10,
      Math.min(20_000, Math.round((chunk * Math.min(1000, deadline - performance.now())) / ms)),
    );
    seed = (seed + 1) % 0x7fffffff;
  }
  return { name: target.name, runs, slowestMs, crash };
}

/** formatCrash describes a crash for a terminal: the error, the input as base64 and how to replay it. */
export function formatCrash(name: string, crash: CrashReport): string {
  const lines = [
    `${name}: ${crash.error}`,
    `  input (base64, ${crash.input.length} bytes): ${formatBase64(crash.input)}`,
    `  replay: node scripts/fuzz.ts --target ${name} --input ${formatBase64(crash.input)}`,
  ];
  if (crash.seed !== undefined) {
    const path = crash.path === undefined ? '' : ` --path ${crash.path}`;
    lines.push(`  or:     node scripts/fuzz.ts --target ${name} --seed ${crash.seed}${path}`);
  }
  return lines.join('\n');
}
