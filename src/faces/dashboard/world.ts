/**
 * What the dashboard knows, and how it came to trust it: every figure the page shows is read
 * from raw signed files and verified here, in the browser, with Vouch's own core and log client
 * (the same code the CLI, the agent and the auditor run). Nothing here touches the DOM, so the
 * same functions are tested under Node against a served world (test/dashboard.test.ts).
 *
 * Trust comes from anchors: the release log's tlog-policy (its key and witness quorum), each
 * site ledger's policy, the registry's key and the auditor's key. The server offers anchors in
 * `data/world.json`; a visitor who does not trust the server pins their own (the Trust page), and
 * then a server that lies can only make checks fail, never pass.
 */

import { LogClient } from '../../clients/log/client.ts';
import { HttpTileFetcher } from '../../clients/log/http-fetcher.ts';
import { type Envelope, envelopeToJson, parseEnvelope, verifyEnvelope } from '../../core/attest/dsse.ts';
import { parseStatement, type Statement } from '../../core/attest/statement.ts';
import { parseRebuildAttestation } from '../../core/build/attestation.ts';
import { parseProvenance } from '../../core/build/provenance.ts';
import { formatHex, parseBase64, toBytes, toText } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { formatCanonicalJson } from '../../core/json/canonical.ts';
import { leafHash } from '../../core/merkle/index.ts';
import { parseVerifierKey, verifierOfVkey } from '../../core/note/keys.ts';
import { evaluateReleaseEvidence, type ReleaseVerdict } from '../../core/release/evidence.ts';
import { checkLoggedEntry } from '../../core/release/logged.ts';
import { parseReleasePolicy, type ReleasePolicy } from '../../core/release/policy.ts';
import { parseReleaseRecord, releaseRecord } from '../../core/release/record.ts';
import { parseVerificationSummary } from '../../core/release/vsa.ts';
import { unpackDatabaseBundle } from '../../core/rules/bundle.ts';
import { type Manifest, manifestFileName, parseManifest } from '../../core/rules/manifest.ts';
import { type LedgerEntry, parseLedgerEntry } from '../../core/sites/ledger.ts';
import { openRegistry, parseSiteRegistry, type SiteRegistry } from '../../core/sites/registry.ts';
import type { Checkpoint } from '../../core/tlog/checkpoint.ts';
import { formatPolicy, type Policy, parsePolicy } from '../../core/tlog/policy.ts';
import { formatTlogProof } from '../../core/tlog/proof.ts';
import { checkTlogProofPolicy, type PolicyCosignature } from '../../core/tlog/quorum.ts';
import type { Metadata, TargetFile } from '../../core/tuf/metadata.ts';
import { targetFileName } from '../../core/tuf/metadata.ts';
import { TrustedMetadata } from '../../core/tuf/trusted.ts';

/** maxDataBytes bounds any one file the page reads outside the log client (which has its own bounds). */
export const maxDataBytes = 16 << 20;

/** maxShownEntries bounds how many log entries the page decodes (the newest ones). */
export const maxShownEntries = 1000;

/** WorldIndex is `data/world.json`: where each material is, and the anchors the server offers. */
export interface WorldIndex {
  readonly served: string;
  readonly releaseLog?: { readonly base: string; readonly policy: string };
  readonly repository?: {
    readonly base: string;
    readonly name: string;
    readonly releasePolicy: string;
    readonly releasePolicySha256: string;
    readonly rootSha256: string | null;
  };
  readonly sites?: readonly {
    readonly site: string;
    readonly ledger: string;
    readonly policy: string;
    readonly tenants: string;
  }[];
  readonly registry: string | null;
  readonly registryVkey: string | null;
  readonly auditorVkey: string | null;
  readonly reports: readonly {
    readonly stamp: string;
    readonly dsse: string;
    readonly html: string | null;
  }[];
}

/** Anchors are the keys and policies every check starts from. */
export interface Anchors {
  /** releaseLog is the release log's tlog-policy text. */
  readonly releaseLog?: string;
  /** sites maps a site id to its ledger's tlog-policy text. */
  readonly sites: Readonly<Record<string, string>>;
  readonly registryVkey?: string;
  readonly auditorVkey?: string;
  /** tufRoot is the hex SHA-256 of the repository's `1.root.json`, the TUF trust root. */
  readonly tufRoot?: string;
  /** releasePolicy is the hex SHA-256 of the release policy file. */
  readonly releasePolicy?: string;
}

/** Check is the outcome of one verification, shown as a pass or a named failure. */
export type Check =
  | { readonly ok: true; readonly detail: string }
  | { readonly ok: false; readonly error: string };

/** passed and failed build {@link Check}s. */
export const passed = (detail: string): Check => ({ ok: true, detail });
export const failed = (error: unknown): Check => ({ ok: false, error: describeError(error) });

/** describeError turns anything thrown into one line naming its code. */
export function describeError(error: unknown): string {
  if (isVouchError(error)) {
    const attack = typeof error.details.attack === 'string' ? ` [attack: ${error.details.attack}]` : '';
    return `${error.code}: ${error.message}${attack}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Reader fetches a file relative to the dashboard, bounded; undefined for 404. */
export type Reader = (path: string) => Promise<Uint8Array | undefined>;

/** httpReader reads files under `base` (the dashboard's URL) with `fetch`, refusing more than {@link maxDataBytes}. */
export function httpReader(base: URL, fetchImpl: typeof fetch = fetch): Reader {
  return async (path) => {
    const url = new URL(path, base);
    const response = await fetchImpl(url, { cache: 'no-cache' });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new VouchError('unavailable', `${url.pathname} answered ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxDataBytes)
      throw new VouchError('too-large', `${url.pathname} is larger than ${maxDataBytes} bytes`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > maxDataBytes)
      throw new VouchError('too-large', `${url.pathname} is larger than ${maxDataBytes} bytes`);
    return bytes;
  };
}

async function must(read: Reader, path: string): Promise<Uint8Array> {
  const bytes = await read(path);
  if (bytes === undefined) throw new VouchError('not-found', `${path} is not served`);
  return bytes;
}

/** loadIndex reads and checks the shape of `data/world.json`. */
export async function loadIndex(read: Reader): Promise<WorldIndex> {
  const value: unknown = JSON.parse(toText(await must(read, 'data/world.json')));
  if (
    typeof value !== 'object' ||
    value === null ||
    (value as { _type?: unknown })._type !== 'https://vouch.example/dashboard-world/v1'
  ) {
    throw new VouchError('malformed', 'data/world.json is not a dashboard world description');
  }
  return value as WorldIndex;
}

/** offeredAnchors are the anchors the server offers in its index. */
export function offeredAnchors(index: WorldIndex): Anchors {
  return {
    ...(index.releaseLog === undefined ? {} : { releaseLog: index.releaseLog.policy }),
    sites: Object.fromEntries((index.sites ?? []).map((s) => [s.site, s.policy])),
    ...(index.registryVkey === null ? {} : { registryVkey: index.registryVkey }),
    ...(index.auditorVkey === null ? {} : { auditorVkey: index.auditorVkey }),
    ...(index.repository?.rootSha256 == null ? {} : { tufRoot: index.repository.rootSha256 }),
    ...(index.repository === undefined ? {} : { releasePolicy: index.repository.releasePolicySha256 }),
  };
}

// ---------------------------------------------------------------------------------------------
// Logs: the release log and each site's access ledger

/** DecodedEntry is a log entry as the page shows it. */
export interface DecodedEntry {
  readonly index: bigint;
  readonly bytes: Uint8Array;
  /** kind names what the entry is: metadata, provenance, rebuild, approval (VSA), access, text, data. */
  readonly kind: string;
  /** summary is one line about it. */
  readonly summary: string;
  /** detail is the decoded content, pretty-printed. */
  readonly detail: string;
}

/** LogView is a log opened at a verified checkpoint. */
export interface LogView {
  readonly name: string;
  readonly policyText: string;
  readonly policy: Policy;
  readonly client: LogClient;
  readonly checkpoint: Checkpoint;
  /** checkpointText is the signed checkpoint as served, every signature line kept. */
  readonly checkpointText: string;
  readonly cosigners: readonly PolicyCosignature[];
  /** entries are the newest {@link maxShownEntries}, oldest first. */
  readonly entries: readonly DecodedEntry[];
}

/**
 * openLog opens the log at `base` (relative to `dashboard`) under the policy text: the
 * checkpoint must be signed by the policy's log and cosigned by its witness quorum, and every
 * tile and entry bundle read is authenticated against it by the log client.
 */
export async function openLog(
  name: string,
  dashboard: URL,
  base: string,
  policyText: string,
  decode: (bytes: Uint8Array) => Omit<DecodedEntry, 'index' | 'bytes'>,
  fetchImpl?: typeof fetch,
): Promise<LogView> {
  const policy = parsePolicy(toBytes(policyText));
  const fetcher = new HttpTileFetcher(new URL(base, dashboard).href, {
    retries: 1,
    timeoutMs: 15_000,
    ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
  });
  const client = await LogClient.open(fetcher, { policy });
  const size = client.size;
  const start = size > BigInt(maxShownEntries) ? size - BigInt(maxShownEntries) : 0n;
  const entries: DecodedEntry[] = [];
  for await (const entry of client.entries(start, size)) {
    entries.push({ index: entry.index, bytes: entry.data, ...decode(entry.data) });
  }
  return {
    name,
    policyText,
    policy,
    client,
    checkpoint: client.checkpoint,
    checkpointText: toText(client.signedCheckpoint()),
    cosigners: client.cosigners,
    entries,
  };
}

/** ProofResult is an entry's offline proof (C2SP tlog-proof) and whether it verified. */
export interface ProofResult {
  readonly proofText: string;
  readonly check: Check;
}

/** proveEntry builds the entry's tlog-proof from authenticated tiles and verifies it under the log's policy. */
export async function proveEntry(view: LogView, index: bigint): Promise<ProofResult> {
  const entry = view.entries.find((e) => e.index === index);
  if (entry === undefined) throw new VouchError('not-found', `entry ${index} is not loaded`);
  let proofText: string;
  try {
    proofText = toText(formatTlogProof(await view.client.proveInclusion(index)));
  } catch (error) {
    return { proofText: '', check: failed(error) };
  }
  return { proofText, check: checkProofText(view.policy, entry.bytes, proofText) };
}

/**
 * checkProofText verifies a tlog-proof text for an entry's bytes under a policy: the checkpoint
 * in the proof must meet the policy and the inclusion proof must lead from the entry's leaf hash
 * to its root. Any edit to the proof, the checkpoint or the entry makes it fail.
 */
export function checkProofText(policy: Policy, entry: Uint8Array, proofText: string): Check {
  try {
    const checked = checkTlogProofPolicy(toBytes(proofText), leafHash(entry), policy);
    const witnesses = checked.cosigners.map((c) => c.witness).join(', ');
    return passed(
      `entry ${checked.index} is in ${checked.checkpoint.origin} at size ${checked.checkpoint.size}, cosigned by ${witnesses || 'no witness'}`,
    );
  } catch (error) {
    return failed(error);
  }
}

const pretty = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);

type Decoded = Omit<DecodedEntry, 'index' | 'bytes'>;

/** parsed returns what `parse` makes of its input, or undefined when it refuses it. */
function parsed<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined; // not this kind of entry: the caller tries the next
  }
}

/** decodeReleaseEntry names a release log entry: a release record, an attestation, or text. */
export function decodeReleaseEntry(bytes: Uint8Array): Decoded {
  const record = parsed(() => parseReleaseRecord(bytes));
  if (record !== undefined) {
    return {
      kind: 'metadata',
      summary: `${record.repository}: ${record.file} (${record.length} bytes, sha256 ${record.sha256.slice(0, 12)}…)`,
      detail: pretty(record),
    };
  }
  const statement = parsed(() => parseStatement(unverifiedPayload(parseEnvelope(bytes))));
  return statement === undefined ? decodeOther(bytes) : decodeStatement(statement, formatHex(sha256(bytes)));
}

function decodeStatement(statement: Statement, digest: string): Decoded {
  const subjects = statement.subject.map((s) => s.name).join(', ');
  const p = parsed(() => parseProvenance(statement));
  if (p !== undefined) {
    const from =
      p.source.commit === undefined
        ? `tree ${p.source.treeHash.slice(0, 12)}…`
        : `commit ${p.source.commit.slice(0, 12)}`;
    return {
      kind: 'provenance',
      summary: `${subjects} built by ${p.builderId} from ${from} (${digest.slice(0, 12)}…)`,
      detail: pretty(p),
    };
  }
  const r = parsed(() => parseRebuildAttestation(statement));
  if (r !== undefined) {
    const differences = r.differences.length > 0 ? ` (${r.differences.length} differences)` : '';
    return {
      kind: 'rebuild',
      summary: `${r.result} by ${r.rebuilderId} of provenance ${r.provenanceSha256.slice(0, 12)}…${differences}`,
      detail: pretty(r),
    };
  }
  const v = parsed(() => parseVerificationSummary(statement));
  if (v !== undefined) {
    return { kind: 'approval', summary: `${v.result} for ${subjects} by ${v.verifierId}`, detail: pretty(v) };
  }
  return {
    kind: 'attestation',
    summary: `${statement.predicateType} for ${subjects}`,
    detail: pretty(statement),
  };
}

/** decodeLedgerEntry names an access-ledger entry: who did what to whose data, and the decision. */
export function decodeLedgerEntry(bytes: Uint8Array): Decoded {
  try {
    const e: LedgerEntry = parseLedgerEntry(bytes);
    return { kind: 'access', summary: ledgerSummary(e), detail: pretty(e) };
  } catch {
    return decodeOther(bytes);
  }
}

/** ledgerSummary is one line about an access-ledger entry. */
export function ledgerSummary(e: LedgerEntry): string {
  const where = e.principal.physicalCountry === undefined ? '' : ` in ${e.principal.physicalCountry}`;
  return `${e.decision} ${e.action} of ${e.tenant} (${e.scope}, ${e.count}) by ${e.principal.id}${where}: ${e.justification}`;
}

function decodeOther(bytes: Uint8Array): Decoded {
  const text = parsed(() => toText(bytes));
  if (text !== undefined && /^[\P{Cc}\n\t]*$/u.test(text)) {
    return { kind: 'text', summary: text.split('\n')[0] ?? '', detail: text };
  }
  return { kind: 'data', summary: `${bytes.length} bytes`, detail: formatHex(bytes.subarray(0, 256)) };
}

// ---------------------------------------------------------------------------------------------
// The update repository: TUF metadata, releases and rule databases

/** MetadataFile is a published metadata version and whether it is proven in the release log. */
export interface MetadataFile {
  readonly file: string;
  readonly sha256: string;
  readonly logged: Check;
}

/** Release is one target of the current targets metadata, with its evidence verdict. */
export interface Release {
  readonly path: string;
  readonly kind: string;
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly length: number;
  /** download is the consistent-snapshot file name under the repository's targets/. */
  readonly download: string;
  readonly verdict?: ReleaseVerdict;
  /** evidence is the verdict as a check (absent for deltas, trusted through their result). */
  readonly evidence?: Check;
  readonly delta?: { readonly from: number; readonly to: number; readonly result: string };
  readonly manifest?: Manifest;
}

/** RepositoryView is the repository as a TUF client sees it, checked from its first root. */
export interface RepositoryView {
  readonly name: string;
  readonly base: URL;
  readonly policy: ReleasePolicy;
  readonly metadata: Check;
  readonly rootVersion: number;
  readonly targetsVersion: number;
  readonly expires: string;
  /** targetsSignedBy are the targets keys that verified (vendor and supervisor, threshold 2). */
  readonly targetsSignedBy: readonly string[];
  readonly targetsThreshold: number;
  readonly files: readonly MetadataFile[];
  readonly releases: readonly Release[];
}

const maxVersions = 1000;

/**
 * openRepository walks the repository as an agent does — from `1.root.json`, each next root,
 * timestamp, snapshot, targets — with core's TrustedMetadata, then checks every target's
 * evidence with the same release-policy evaluation the agent runs, and every metadata version's
 * release-log proof. The release policy comes from the server, but its log key and quorum must
 * match the release-log anchor: otherwise the policy itself is refused.
 */
export async function openRepository(
  read: Reader,
  dashboard: URL,
  index: NonNullable<WorldIndex['repository']>,
  anchors: Anchors,
): Promise<RepositoryView> {
  const policyBytes = await must(read, index.releasePolicy);
  if (anchors.releasePolicy !== undefined && formatHex(sha256(policyBytes)) !== anchors.releasePolicy) {
    throw new VouchError(
      'policy-unmet',
      'the release policy served is not the one pinned (its SHA-256 differs)',
    );
  }
  const policy = parseReleasePolicy(policyBytes);
  if (anchors.releaseLog !== undefined) {
    const anchored = toText(formatPolicy(parsePolicy(toBytes(anchors.releaseLog))));
    if (anchored !== toText(formatPolicy(policy.log.policy))) {
      throw new VouchError(
        'policy-unmet',
        'the release policy names another release log or witness quorum than the trusted release-log policy',
      );
    }
  }
  const base = new URL(index.base, dashboard);
  const repoPath = (file: string): string => new URL(file, base).href;
  const get = (file: string) => read(repoPath(file));
  const root1 = await must(read, repoPath('1.root.json'));
  if (anchors.tufRoot !== undefined && formatHex(sha256(root1)) !== anchors.tufRoot) {
    throw new VouchError(
      'policy-unmet',
      'the first root metadata served is not the one pinned (its SHA-256 differs)',
      {
        attack: 'arbitrary-software',
      },
    );
  }
  const now = Math.floor(Date.now() / 1000);
  const trusted = TrustedMetadata.fromRoot(root1, now);
  const files: { file: string; bytes: Uint8Array }[] = [{ file: '1.root.json', bytes: root1 }];
  for (let v = 2; v < maxVersions; v++) {
    const bytes = await get(`${v}.root.json`);
    if (bytes === undefined) break;
    trusted.updateRoot(bytes);
    files.push({ file: `${v}.root.json`, bytes });
  }
  trusted.finishRoots();
  trusted.updateTimestamp(await must(read, repoPath('timestamp.json')));
  const snapshotVersion = trusted.timestamp?.fields.snapshot.version ?? 0;
  const snapshotFile = `${snapshotVersion}.snapshot.json`;
  const snapshotBytes = await must(read, repoPath(snapshotFile));
  trusted.updateSnapshot(snapshotBytes);
  const targetsVersion = trusted.snapshot?.fields.meta.get('targets.json')?.version ?? 0;
  const targetsFile = `${targetsVersion}.targets.json`;
  const targetsBytes = await must(read, repoPath(targetsFile));
  trusted.updateTargets(targetsBytes);
  const targets = trusted.targets as Metadata<'targets'>;
  for (let v = 1; v < targetsVersion && v < maxVersions; v++) {
    const bytes = await get(`${v}.targets.json`);
    if (bytes !== undefined) files.push({ file: `${v}.targets.json`, bytes });
  }
  for (let v = 1; v < snapshotVersion && v < maxVersions; v++) {
    const bytes = await get(`${v}.snapshot.json`);
    if (bytes !== undefined) files.push({ file: `${v}.snapshot.json`, bytes });
  }
  files.push({ file: targetsFile, bytes: targetsBytes }, { file: snapshotFile, bytes: snapshotBytes });

  const logged: MetadataFile[] = [];
  for (const { file, bytes } of files) {
    const record = releaseRecord({ repository: index.name, file, bytes });
    const proof = await get(`log/${file}.tlog-proof`);
    let check: Check;
    try {
      const proven = checkLoggedEntry(policy.log, record, proof, file);
      check = passed(`entry ${proven.index} of the release log`);
    } catch (error) {
      check = failed(error);
    }
    logged.push({ file, sha256: formatHex(sha256(bytes)), logged: check });
  }

  const role = trusted.root.fields.roles.targets;
  const signedBy = role.keyids.filter((keyid) => {
    const key = trusted.root.fields.keys.get(keyid);
    const signature = targets.signatures.find((s) => s.keyid === keyid);
    return (
      key?.verifier !== undefined &&
      signature !== undefined &&
      verifiesTuf(targets, key.verifier, signature.sig)
    );
  });

  const releases: Release[] = [];
  for (const [path, info] of [...targets.fields.targets].sort(([a], [b]) => (a < b ? -1 : 1))) {
    releases.push(await describeTarget(get, policy, path, info));
  }
  return {
    name: index.name,
    base,
    policy,
    metadata: passed(
      `root v${trusted.root.fields.version}, timestamp v${trusted.timestamp?.fields.version}, snapshot v${snapshotVersion}, targets v${targetsVersion}: every signature threshold met, nothing expired or rolled back`,
    ),
    rootVersion: trusted.root.fields.version,
    targetsVersion,
    expires: new Date(targets.fields.expires * 1000).toISOString(),
    targetsSignedBy: signedBy,
    targetsThreshold: role.threshold,
    files: logged,
    releases,
  };
}

function verifiesTuf(
  targets: Metadata<'targets'>,
  verifier: { verify(message: Uint8Array, signature: Uint8Array): boolean },
  sigHex: string,
): boolean {
  if (!/^([0-9a-f]{2})*$/.test(sigHex)) return false;
  const sig = new Uint8Array(sigHex.length / 2);
  for (let i = 0; i < sig.length; i++) sig[i] = Number.parseInt(sigHex.slice(2 * i, 2 * i + 2), 16);
  return verifier.verify(canonicalSigned(targets), sig);
}

function canonicalSigned(m: Metadata): Uint8Array {
  return formatCanonicalJson(m.signed);
}

interface VouchCustom {
  readonly kind?: string;
  readonly name?: string;
  readonly version?: string;
  readonly evidence?: {
    readonly provenance?: string;
    readonly rebuilds?: readonly string[];
    readonly review?: string;
  };
  readonly delta?: { readonly from: number; readonly to: number; readonly result: string };
}

async function describeTarget(
  get: Reader,
  policy: ReleasePolicy,
  path: string,
  info: TargetFile,
): Promise<Release> {
  const custom = ((info.custom as { vouch?: VouchCustom } | undefined)?.vouch ?? {}) as VouchCustom;
  const digest = info.hashes['sha256'] ?? '';
  const release = {
    path,
    kind: custom.kind ?? 'file',
    name: custom.name ?? path,
    version: custom.version ?? '',
    sha256: digest,
    length: info.length,
    download: `targets/${targetFileName(path, digest)}`,
  };
  let manifest: Manifest | undefined;
  if (release.kind === 'rules') {
    const bundle = await get(release.download).catch(() => undefined);
    if (bundle !== undefined && formatHex(sha256(bundle)) === digest) {
      const member = unpackDatabaseBundle(bundle).get(manifestFileName);
      if (member !== undefined) manifest = parseManifest(member);
    }
  }
  const extra = {
    ...(custom.delta === undefined ? {} : { delta: custom.delta }),
    ...(manifest === undefined ? {} : { manifest }),
  };
  const evidence = custom.evidence;
  if (evidence?.provenance === undefined) return { ...release, ...extra };
  try {
    const fetchEvidence = async (sha: string) => must(get, `evidence/${sha}.json`);
    const provenance = await fetchEvidence(evidence.provenance);
    const rebuilds = await Promise.all((evidence.rebuilds ?? []).map(fetchEvidence));
    const review = evidence.review === undefined ? undefined : await fetchEvidence(evidence.review);
    const proofs = new Map<string, Uint8Array>();
    for (const sha of [
      evidence.provenance,
      ...(evidence.rebuilds ?? []),
      ...(evidence.review === undefined ? [] : [evidence.review]),
    ]) {
      const proof = await get(`log/${sha}.tlog-proof`);
      if (proof !== undefined) proofs.set(sha, proof);
    }
    const verdict = evaluateReleaseEvidence(policy, {
      target: { name: path, sha256: digest, length: info.length },
      provenance,
      rebuilds,
      ...(review === undefined ? {} : { review }),
      proofs,
    });
    const failedChecks = verdict.checks.filter((c) => c.status === 'failed');
    const check = verdict.passed
      ? passed(`${verdict.checks.length} checks passed; ${verdict.matchingRebuilders} matching rebuild(s)`)
      : failed(new VouchError('policy-unmet', failedChecks.map((c) => `${c.name}: ${c.reason}`).join('; ')));
    return { ...release, ...extra, verdict, evidence: check };
  } catch (error) {
    return { ...release, ...extra, evidence: failed(error) };
  }
}

// ---------------------------------------------------------------------------------------------
// Sites: the signed registry and tenants

/** RegistryView is the residency table, verified against the registry key when one is anchored. */
export interface RegistryView {
  readonly registry: SiteRegistry;
  readonly check: Check;
}

/** openSiteRegistry verifies the signed registry with the anchored key, or reads it and says it is unverified. */
export async function openSiteRegistry(
  read: Reader,
  path: string,
  vkey: string | undefined,
): Promise<RegistryView> {
  const bytes = await must(read, path);
  if (vkey === undefined) {
    const envelope = parseEnvelope(bytes);
    return {
      registry: parseSiteRegistry(unverifiedPayload(envelope)),
      check: failed(
        new VouchError('no-trusted-signature', 'no registry key is anchored: the table is shown unverified'),
      ),
    };
  }
  const verifier = verifierOfVkey(vkey);
  const opened = openRegistry(bytes, [verifier], { minVersion: 0 });
  return {
    registry: opened.registry,
    check: passed(`version ${opened.registry.version}, signed by ${parseVerifierKey(vkey).name}`),
  };
}

/** TenantSummary is what the page shows of a tenant record. */
export interface TenantSummary {
  readonly id: string;
  readonly name: string;
  readonly contractCountry: string;
  readonly site: string;
  readonly approvalRequired: boolean;
}

/** readTenants reads the tenant records the auditor holds for a site. */
export async function readTenants(read: Reader, path: string): Promise<TenantSummary[]> {
  const value: unknown = JSON.parse(toText(await must(read, path)));
  if (!Array.isArray(value)) throw new VouchError('malformed', `${path} is not a list of tenants`);
  return value.map((t: Record<string, unknown>) => ({
    id: String(t['id']),
    name: String(t['name'] ?? t['id']),
    contractCountry: String(t['contractCountry'] ?? ''),
    site: String(t['site'] ?? ''),
    approvalRequired: t['approvalRequired'] === true,
  }));
}

// ---------------------------------------------------------------------------------------------
// Audit reports

/** ReportView is one signed audit report. */
export interface ReportView {
  readonly stamp: string;
  readonly html: string | null;
  readonly signature: Check;
  /** result is the report's verdict, `PASSED` or `FAILED`. */
  readonly result?: string;
  readonly time?: string;
  readonly findings: readonly { readonly kind: string; readonly subject: string; readonly detail: string }[];
  readonly logs: readonly {
    readonly name: string;
    readonly size: string;
    readonly cosigners: readonly string[];
  }[];
}

/** openReport verifies a report's DSSE signature with the anchored auditor key and reads its predicate. */
export async function openReport(
  read: Reader,
  entry: WorldIndex['reports'][number],
  auditorVkey: string | undefined,
): Promise<ReportView> {
  const bytes = await must(read, entry.dsse);
  const envelope = parseEnvelope(bytes);
  let signature: Check;
  let payload: Uint8Array = unverifiedPayload(envelope);
  if (auditorVkey === undefined) {
    signature = failed(
      new VouchError('no-trusted-signature', 'no auditor key is anchored: the report is shown unverified'),
    );
  } else {
    try {
      const verified = verifyEnvelope(envelope, [verifierOfVkey(auditorVkey)], 1);
      payload = verified.payload;
      signature = passed(`signed by ${parseVerifierKey(auditorVkey).name}`);
    } catch (error) {
      signature = failed(error);
    }
  }
  const statement = JSON.parse(toText(payload)) as { predicate?: Record<string, unknown> };
  const p = statement.predicate ?? {};
  return {
    stamp: entry.stamp,
    html: entry.html,
    signature,
    ...(typeof p['result'] === 'string' ? { result: p['result'] } : {}),
    ...(typeof p['time'] === 'string' ? { time: p['time'] } : {}),
    findings: Array.isArray(p['findings']) ? (p['findings'] as ReportView['findings']) : [],
    logs: Array.isArray(p['logs']) ? (p['logs'] as ReportView['logs']) : [],
  };
}

/**
 * unverifiedPayload reads an envelope's payload without checking its signatures: only to show
 * what an entry says. Whatever is relied on is verified elsewhere (evidence, reports, registry).
 */
function unverifiedPayload(envelope: Envelope): Uint8Array {
  const payload = envelopeToJson(envelope)['payload'];
  return parseBase64(typeof payload === 'string' ? payload : '', 'DSSE payload');
}
