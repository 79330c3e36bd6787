/**
 * Test support for the update repository: the parties of a release with fresh keys (builder,
 * rebuilders, reviewer, vendor release key, supervisor approver, root, snapshot and timestamp
 * keys), a `vouch build`-shaped output folder made without a sandbox (archive, signed provenance),
 * rebuild attestations and a review for it, rule database folders with provenance for their
 * bundles, a release policy file, and a release log that records what is appended (entries go to
 * an in-process witnessed log, so the returned tlog-proofs are real). Nothing here is used
 * outside tests.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatEnvelope, signStatement } from '../../src/core/attest/index.ts';
import { buildRebuildAttestation } from '../../src/core/build/attestation.ts';
import { buildProvenance, type NamedDigest } from '../../src/core/build/provenance.ts';
import { formatHex, toBytes } from '../../src/core/bytes/index.ts';
import {
  createSigner,
  generateKey,
  type KeyType,
  type PrivateKeyMaterial,
  type Signer,
  sealKeyFile,
  sha256,
  sha512,
} from '../../src/core/crypto/index.ts';
import { formatVerifierKey, signatureTypes } from '../../src/core/note/index.ts';
import { buildReviewStatement, signReviewStatement } from '../../src/core/release/review.ts';
import { packDatabaseBundle } from '../../src/core/rules/bundle.ts';
import { buildDatabase, type DatabaseFiles } from '../../src/core/rules/database.ts';
import { writeDatabase } from '../../src/services/rules/compile.ts';
import { yaraEngineVersion } from '../../src/services/rules/yara.ts';
import { startWitnessedMemoryLog, type WitnessedMemoryLog } from './witnessed-memory-log.ts';

/** builderId is the neutral site's builder id used by the fixture. */
export const builderId = 'https://vouch.example/builders/ch-zrh';

/** Party is a named key: its signer, private material and signed-note vkey. */
export interface Party {
  readonly name: string;
  readonly signer: Signer;
  readonly material: PrivateKeyMaterial;
  readonly vkey: string;
}

/** party makes a fresh key named `name`. */
export function party(name: string, keyType: KeyType = 'ed25519'): Party {
  const material = generateKey(keyType);
  const signer = createSigner(name, material);
  const type = keyType === 'ecdsa-p256' ? signatureTypes.ecdsa : signatureTypes.ed25519;
  return { name, signer, material, vkey: formatVerifierKey({ name, type, publicKey: material.publicKey }) };
}

/** writeKey writes an unencrypted key file for `p` into `dir` and returns its path. */
export async function writeKey(dir: string, p: Party): Promise<string> {
  const path = join(dir, `${p.name}.key`);
  await writeFile(path, await sealKeyFile(p.material, p.name, undefined), { mode: 0o600 });
  return path;
}

/** Parties are everyone involved in a release. */
export interface Parties {
  readonly builder: Party;
  readonly rebuilders: readonly Party[];
  readonly reviewer: Party;
  readonly release: Party;
  readonly approver: Party;
  readonly roots: readonly Party[];
  readonly snapshot: Party;
  readonly timestamp: Party;
}

/** makeParties makes fresh keys for every party (three root keys, two rebuilders). */
export function makeParties(): Parties {
  return {
    builder: party('builder.ch-zrh'),
    rebuilders: [party('rebuilder1.supervisor'), party('rebuilder2.supervisor')],
    reviewer: party('reviewer.supervisor'),
    release: party('release.vendor'),
    approver: party('approver.supervisor'),
    roots: [party('root1.vendor'), party('root2.supervisor'), party('root3.vendor')],
    snapshot: party('snapshot.repo'),
    timestamp: party('timestamp.repo'),
  };
}

const treeHash = 'e'.repeat(64);
const commit = 'c'.repeat(40);

function digest(name: string, bytes: Uint8Array): NamedDigest {
  return { name, sha256: formatHex(sha256(bytes)), sha512: formatHex(sha512(bytes)) };
}

/** provenanceFor signs conveyer provenance naming `subjects` with the builder key. */
export async function provenanceFor(
  parties: Parties,
  subjects: readonly { name: string; bytes: Uint8Array }[],
  options: { builderId?: string; signer?: Signer } = {},
): Promise<Uint8Array> {
  const statement = buildProvenance({
    builderId: options.builderId ?? builderId,
    source: { folder: 'src', commit, treeHash },
    recipe: { path: 'recipe.json', sha256: 'd'.repeat(64) },
    resolvedDependencies: [],
    sandbox: { isolation: 'bwrap', network: false },
    hermetic: true,
    sourceDateEpoch: 1_700_000_000,
    byproducts: [],
    subjects: subjects.map((s) => digest(s.name, s.bytes)),
  });
  return formatEnvelope(await signStatement(statement, [options.signer ?? parties.builder.signer]));
}

/** rebuildFor signs a matching (or, with `mismatch`, mismatching) rebuild attestation for provenance bytes. */
export async function rebuildFor(
  rebuilder: Party,
  provenance: Uint8Array,
  mismatch = false,
): Promise<Uint8Array> {
  const statement = buildRebuildAttestation({
    rebuilderId: `https://vouch.example/rebuilders/${rebuilder.name}`,
    provenanceName: 'provenance.dsse.json',
    provenanceSha256: formatHex(sha256(provenance)),
    differences: mismatch ? [{ name: 'x', expected: 'a'.repeat(64), actual: 'b'.repeat(64) }] : [],
  });
  return formatEnvelope(await signStatement(statement, [rebuilder.signer]));
}

/** reviewFor signs an approved review of the fixture's source commit. */
export async function reviewFor(reviewer: Party): Promise<Uint8Array> {
  const statement = buildReviewStatement({
    source: { commit, treeHash },
    reviewers: [reviewer.name],
    result: 'approved',
    reviewedOn: '2026-01-01T00:00:00Z',
  });
  return formatEnvelope(await signReviewStatement(statement, [reviewer.signer]));
}

/** ProductBuild is a build output folder and the paths of its evidence. */
export interface ProductBuild {
  readonly dir: string;
  readonly archive: Uint8Array;
  readonly provenance: Uint8Array;
  /** rebuilds are paths of matching rebuild attestations, one per rebuilder. */
  readonly rebuilds: readonly string[];
  readonly review: string;
}

/**
 * makeProductBuild writes a `vouch build`-shaped folder `dir` for NAME-VERSION (archive,
 * manifest.json, provenance.dsse.json) and, beside it, rebuild attestations and a review.
 */
export async function makeProductBuild(
  parties: Parties,
  dir: string,
  name: string,
  version: string,
  content = `${name} ${version}\n`,
): Promise<ProductBuild> {
  await mkdir(dir, { recursive: true });
  const archiveName = `${name}-${version}.tar.gz`;
  const archive = toBytes(`fake archive of ${content}`);
  const provenance = await provenanceFor(parties, [
    { name: 'hello.txt', bytes: toBytes(content) },
    { name: archiveName, bytes: archive },
  ]);
  await writeFile(join(dir, archiveName), archive);
  await writeFile(join(dir, 'manifest.json'), '[]\n');
  await writeFile(join(dir, 'provenance.dsse.json'), provenance);
  const rebuilds: string[] = [];
  for (const r of parties.rebuilders) {
    const path = `${dir}.${r.name}.rebuild.dsse.json`;
    await writeFile(path, await rebuildFor(r, provenance));
    rebuilds.push(path);
  }
  const review = `${dir}.review.dsse.json`;
  await writeFile(review, await reviewFor(parties.reviewer));
  return { dir, archive, provenance, rebuilds, review };
}

/** rulesDatabase builds database files for NAME version V with `records` hash signatures. */
export function rulesDatabase(name: string, version: number, records: number): DatabaseFiles {
  const hashes = Array.from({ length: records }, (_, i) => {
    const d = new Uint8Array(32);
    new DataView(d.buffer).setUint32(0, i * 2654435761);
    d[31] = i & 0xff;
    return { digest: d, size: 100 + i, name: `Vouch.Test.${i}` };
  });
  return buildDatabase({
    name,
    version,
    created: 1_700_000_000 + version,
    engine: { min: 1, max: 1, yaraX: yaraEngineVersion() },
    hashes,
    allow: [],
    yara: new Map([['base.yar', toBytes(`rule v${version} { condition: false }\n`)]]),
  });
}

/** RulesBuild is a database folder and the evidence of its bundle. */
export interface RulesBuild {
  readonly dir: string;
  readonly bundle: Uint8Array;
  readonly provenance: string;
  readonly rebuilds: readonly string[];
  readonly review: string;
}

/** makeRulesBuild writes database NAME version V into `dir` with provenance, rebuilds and review for its bundle beside it. */
export async function makeRulesBuild(
  parties: Parties,
  dir: string,
  name: string,
  version: number,
  records: number,
): Promise<RulesBuild> {
  const files = rulesDatabase(name, version, records);
  await writeDatabase(dir, files);
  const bundle = packDatabaseBundle(files);
  const provenance = await provenanceFor(parties, [{ name: `${name}-${version}.vdb`, bytes: bundle }]);
  const provenancePath = `${dir}.provenance.dsse.json`;
  await writeFile(provenancePath, provenance);
  const rebuilds: string[] = [];
  for (const r of parties.rebuilders) {
    const path = `${dir}.${r.name}.rebuild.dsse.json`;
    await writeFile(path, await rebuildFor(r, provenance));
    rebuilds.push(path);
  }
  const review = `${dir}.review.dsse.json`;
  await writeFile(review, await reviewFor(parties.reviewer));
  return { dir, bundle, provenance: provenancePath, rebuilds, review };
}

/** releasePolicyFor returns release policy JSON trusting the fixture's builder, rebuilders (2 of 2), reviewer and log. */
export function releasePolicyFor(
  parties: Parties,
  log: WitnessedMemoryLog,
  options: { rebuilds?: number; review?: boolean } = {},
): Uint8Array {
  const policyText = new TextDecoder().decode(log.policy);
  const witnessPolicy = policyText
    .split('\n')
    .filter((line) => !line.startsWith('log '))
    .join('\n');
  return toBytes(
    JSON.stringify({
      _type: 'https://vouch.example/release-policy/v1',
      builders: [{ id: builderId, keys: [parties.builder.vkey], allowNonHermetic: false }],
      rebuilders: {
        required: (options.rebuilds ?? 2) > 0,
        keys: parties.rebuilders.map((r) => r.vkey),
        threshold: options.rebuilds ?? 2,
      },
      review: {
        required: options.review ?? true,
        keys: [parties.reviewer.vkey],
        threshold: options.review === false ? 0 : 1,
      },
      log: { vkey: log.vkey, witnessPolicy },
    }),
  );
}

/** RecordingLog is a release log for tests: every appended entry, in order, on top of a witnessed log. */
export interface RecordingLog {
  readonly log: WitnessedMemoryLog;
  readonly entries: Uint8Array[];
  /** failAfter, when set to n, makes the append after n more succeed throw `unavailable`. */
  failAfter: number | undefined;
  append(entry: Uint8Array): Promise<Uint8Array>;
}

/** recordingLog starts a witnessed in-memory log and records what is appended. */
export function recordingLog(): RecordingLog {
  const log = startWitnessedMemoryLog();
  const recorder: RecordingLog = {
    log,
    entries: [],
    failAfter: undefined,
    async append(entry) {
      if (recorder.failAfter !== undefined) {
        if (recorder.failAfter <= 0) throw new Error('test: the log is down');
        recorder.failAfter -= 1;
      }
      recorder.entries.push(entry);
      await log.append(entry);
      return log.proofOf(entry);
    },
  };
  return recorder;
}
