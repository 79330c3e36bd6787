/**
 * `vouch repo publish`: release what is pending (docs/updates.md). A pending root must carry the
 * threshold of the root it replaces and its own; pending targets must carry the targets threshold
 * (the vendor's release key AND the supervisor's approver key) — otherwise nothing happens and the
 * refusal names who is missing. Then a new snapshot (signed by the online snapshot key) and a new
 * timestamp (the timestamp key) are made, and with consistent snapshots everything but
 * `timestamp.json` is written under a new name: `N.root.json`, `N.targets.json`,
 * `N.snapshot.json`, `targets/<dirs>/<sha256>.<basename>`, `evidence/<sha256>.json`.
 *
 * Logging comes first (DESIGN.md, release step 5): the release record of every new root, targets
 * and snapshot version, and every new evidence file, is appended to the release log and its
 * tlog-proof written under `public/log/` BEFORE any of those files appears in `public/`, so an
 * endpoint can never be shown a version that is not in the log.
 *
 * Crash story (stage, log, apply, publish):
 * 1. the snapshot is signed into `pending/snapshot.json` and reused by a retry, so a version
 *    logged before a crash is the version published after it (never two snapshots with one
 *    number in the log);
 * 2. each entry is appended and its proof written; a retry skips an entry only when its kept proof
 *    proves these exact entry bytes (an append that was acknowledged but whose proof was not
 *    written is appended again: a duplicate leaf with identical bytes, harmless). A metadata
 *    version whose kept proof is for other bytes is refused before anything is appended: it was
 *    logged with those bytes, and a second record of one `N.ROLE.json` is equivocation
 *    (logged.ts); pending.ts, approve.ts and rotate.ts refuse to change pending metadata once its
 *    version is logged, so a retry publishes what was logged. Evidence whose proof is for other
 *    bytes is appended again and its proof replaced (its name fixes its bytes);
 * 3. evidence, target files and metadata files are written immutably (identical bytes on retry);
 * 4. `timestamp.json` is replaced by rename — the commit point: clients see the release now;
 * 5. pending and staged state is cleared; pending metadata whose version is already published is
 *    recognised as stale and discarded by the next run.
 */

import { join } from 'node:path';
import type { Signer } from '../../core/crypto/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { releaseRecord } from '../../core/release/record.ts';
import { tufKeyForSigner } from '../../core/tuf/keys.ts';
import {
  describeFile,
  formatMetadata,
  type Metadata,
  metadataFileName,
  parseMetadata,
  snapshotSigned,
  timestampSigned,
} from '../../core/tuf/metadata.ts';
import { signMetadata } from '../../core/tuf/sign.ts';
import { verifyThreshold } from '../../core/tuf/verify.ts';
import { writeFileDurable } from '../../storage/fs/durable.ts';
import { describeKeys } from './keys.ts';
import {
  maxEvidenceBytes,
  maxMetadataBytes,
  type RepoConfig,
  type RepoPaths,
  readConfig,
  readFileBounded,
  readStagedIndex,
  removeIfPresent,
  repoPaths,
  type StagedIndex,
  type StagedTarget,
  sha256Hex,
  writeDurable,
  writeImmutable,
  writeStagedIndex,
} from './layout.ts';
import { checkMetadataUnlogged, logProofPath, proofIndexIfFor, readLogProof } from './logged.ts';
import { pendingStatus } from './pending.ts';
import { evidenceOf, pendingFile, readPending, readPublished, targetFilePath } from './published.ts';
import type { ReleaseLog } from './release-log.ts';
import { maxTargetBytes } from './stage.ts';

const daySeconds = 86_400;

/** PublishOptions are the online keys, the release log and the time. */
export interface PublishOptions {
  readonly snapshotSigner: Signer;
  readonly timestampSigner: Signer;
  readonly log: ReleaseLog;
  /** now is the current time in seconds since the epoch. */
  readonly now: number;
}

/** PublishResult names the versions published and what was logged. */
export interface PublishResult {
  /** root is the root version published by this run, if any. */
  readonly root?: number;
  readonly targets: number;
  readonly snapshot: number;
  readonly timestamp: number;
  /** logged lists the entries appended: metadata file names and evidence SHA-256s. */
  readonly logged: readonly string[];
  /** targetFiles lists the target paths whose files were published by this run. */
  readonly targetFiles: readonly string[];
}

interface LogItem {
  readonly name: string;
  readonly entry: Uint8Array;
  /** metadata is the metadata file's bytes when the entry is its release record. */
  readonly metadata?: Uint8Array;
}

/**
 * publishRepository publishes the pending root and/or targets (see the module comment). Throws
 * `policy-unmet` naming the missing signers when a threshold is not met, `not-found` when
 * nothing is pending or a staged file is missing, `bad-digest` when a staged file changed, and
 * whatever the release log throws (then nothing new is in `public/` but proofs).
 */
export async function publishRepository(dir: string, options: PublishOptions): Promise<PublishResult> {
  const paths = repoPaths(dir);
  const config = await readConfig(paths);
  const publishedRoot = await readPublished(paths, 'root');
  const publishedTargets = await readPublished(paths, 'targets');
  const pendingRoot = await fresh(paths, 'root', await readPending(paths, 'root'), publishedRoot);
  const pendingTargets = await fresh(paths, 'targets', await readPending(paths, 'targets'), publishedTargets);
  if (pendingRoot === undefined && pendingTargets === undefined)
    throw new VouchError('not-found', 'nothing to publish: no root or targets metadata is pending', {
      field: dir,
    });

  // Thresholds.
  if (pendingRoot !== undefined) {
    const expected = (publishedRoot?.fields.version ?? 0) + 1;
    if (pendingRoot.fields.version !== expected)
      throw new VouchError(
        'invariant',
        `internal error: pending root is version ${pendingRoot.fields.version}, not ${expected}`,
      );
    const status = await pendingStatus(dir, 'root');
    if (!status.complete)
      throw new VouchError(
        'policy-unmet',
        `root version ${status.version} is not signed by the threshold of ${publishedRoot === undefined ? 'its' : 'the old and the new'} root keys; missing: ${status.missing.join(', ')}`,
        { role: 'root', missing: status.missing },
      );
  }
  const root = pendingRoot ?? publishedRoot;
  if (root === undefined) throw new VouchError('invariant', 'internal error: no root');
  const targets = pendingTargets ?? publishedTargets;
  if (targets === undefined)
    throw new VouchError(
      'not-found',
      'nothing to publish with the root: no targets are pending; add targets and sign them',
      {
        field: 'targets',
      },
    );
  if (pendingTargets !== undefined) {
    const expected = (publishedTargets?.fields.version ?? 0) + 1;
    if (pendingTargets.fields.version !== expected)
      throw new VouchError(
        'invariant',
        `internal error: pending targets is version ${pendingTargets.fields.version}, not ${expected}`,
      );
    checkTargetsThreshold(config, root, pendingTargets);
    if (pendingTargets.fields.expires <= options.now)
      throw new VouchError(
        'invalid-argument',
        `pending targets version ${pendingTargets.fields.version} has expired; add or rebuild it`,
        {
          role: 'targets',
        },
      );
  }
  checkOnlineKey(config, root, 'snapshot', options.snapshotSigner);
  checkOnlineKey(config, root, 'timestamp', options.timestampSigner);

  // Everything to publish, checked before anything is logged.
  const index = await readStagedIndex(paths);
  const targetFiles: { path: string; sha256: string; bytes: Uint8Array }[] = [];
  // Evidence goes out with the targets that name it; staged evidence no staged target names (the
  // approver's VSAs) goes out with the next targets version.
  const evidence = new Set<string>();
  if (pendingTargets !== undefined) {
    const named = new Set(Object.values(index.targets).flatMap((t) => evidenceOf(t.custom)));
    for (const digest of index.evidence) if (!named.has(digest)) evidence.add(digest);
    for (const [path, target] of pendingTargets.fields.targets) {
      const sha256 = target.hashes['sha256'] ?? '';
      const before = publishedTargets?.fields.targets.get(path);
      if (before?.hashes['sha256'] === sha256) continue;
      for (const digest of evidenceOf(target.custom as never)) evidence.add(digest);
      const existing = await readFileBounded(targetFilePath(paths, path, sha256), maxTargetBytes);
      if (existing !== undefined && sha256Hex(existing) === sha256) continue;
      const bytes = await readFileBounded(join(paths.stagedTargets, sha256), maxTargetBytes);
      if (bytes === undefined)
        throw new VouchError('not-found', `the file of target ${path} is not staged (sha256 ${sha256})`, {
          field: path,
        });
      if (bytes.length !== target.length || sha256Hex(bytes) !== sha256)
        throw new VouchError(
          'bad-digest',
          `the staged file of target ${path} does not match its sha256 ${sha256}`,
          { field: path },
        );
      targetFiles.push({ path, sha256, bytes });
    }
  }
  const evidenceFiles: { sha256: string; bytes: Uint8Array }[] = [];
  for (const digest of [...evidence].sort()) {
    const publicPath = join(paths.publicEvidence, `${digest}.json`);
    const published = await readFileBounded(publicPath, maxEvidenceBytes);
    const bytes =
      published ?? (await readFileBounded(join(paths.stagedEvidence, `${digest}.json`), maxEvidenceBytes));
    if (bytes === undefined)
      throw new VouchError('not-found', `evidence ${digest} is neither staged nor published`, {
        field: digest,
      });
    if (sha256Hex(bytes) !== digest)
      throw new VouchError('bad-digest', `evidence file ${digest}.json does not match its name`, {
        field: digest,
      });
    evidenceFiles.push({ sha256: digest, bytes });
  }

  // Snapshot (staged in pending/ so that a retry publishes what was logged) and timestamp.
  const targetsFile = metadataFileName('targets', targets.fields.version, true);
  const targetsMeta = { version: targets.fields.version, ...describeFile(targets.bytes) };
  const snapshotVersion = ((await readPublished(paths, 'snapshot'))?.fields.version ?? 0) + 1;
  const snapshotKeyId = tufKeyForSigner(options.snapshotSigner).keyid;
  let snapshot = await readPending(paths, 'snapshot');
  const reusable =
    snapshot !== undefined &&
    snapshot.fields.version === snapshotVersion &&
    snapshot.fields.meta.get('targets.json')?.hashes?.['sha256'] === targetsMeta.hashes.sha256 &&
    snapshot.signatures.some((s) => s.keyid === snapshotKeyId);
  if (!reusable) {
    const signed = snapshotSigned({
      version: snapshotVersion,
      expires: options.now + config.expires.snapshot * daySeconds,
      meta: { 'targets.json': targetsMeta },
    });
    const bytes = formatMetadata(signed, await signMetadata(signed, [options.snapshotSigner]));
    await writeDurable(pendingFile(paths, 'snapshot'), bytes);
    snapshot = parseMetadata('snapshot', bytes, maxMetadataBytes);
  }
  if (snapshot === undefined) throw new VouchError('invariant', 'internal error: no snapshot');
  const timestampVersion = ((await readPublished(paths, 'timestamp'))?.fields.version ?? 0) + 1;
  const timestampBody = timestampSigned({
    version: timestampVersion,
    expires: options.now + config.expires.timestamp * daySeconds,
    snapshot: { version: snapshotVersion, ...describeFile(snapshot.bytes) },
  });
  const timestamp = formatMetadata(
    timestampBody,
    await signMetadata(timestampBody, [options.timestampSigner]),
  );

  // 2. Log every new root, targets and snapshot version and every new evidence file.
  const metadataFiles: { name: string; bytes: Uint8Array }[] = [];
  if (pendingRoot !== undefined)
    metadataFiles.push({
      name: metadataFileName('root', pendingRoot.fields.version, true),
      bytes: pendingRoot.bytes,
    });
  if (pendingTargets !== undefined) metadataFiles.push({ name: targetsFile, bytes: pendingTargets.bytes });
  metadataFiles.push({ name: metadataFileName('snapshot', snapshotVersion, true), bytes: snapshot.bytes });
  const items: LogItem[] = [
    ...metadataFiles.map((f) => ({
      name: f.name,
      entry: releaseRecord({ repository: config.name, file: f.name, bytes: f.bytes }),
      metadata: f.bytes,
    })),
    ...evidenceFiles.map((e) => ({ name: e.sha256, entry: e.bytes })),
  ];
  // Before anything is appended: a metadata version already logged with other bytes is refused
  // whole (logged.ts), so a refused run adds nothing to the log.
  for (const item of items)
    if (item.metadata !== undefined)
      await checkMetadataUnlogged(paths, config.name, item.name, item.metadata, `publish ${item.name}`);
  const logged: string[] = [];
  for (const item of items) {
    // A proof of these exact bytes means the entry is logged; a proof that does not prove them
    // can only be evidence here (checked above), whose name fixes its bytes: log it again.
    const existing = await readLogProof(paths, item.name);
    if (existing !== undefined && proofIndexIfFor(existing, item.entry) !== undefined) continue;
    const proofPath = logProofPath(paths, item.name);
    let proof: Uint8Array;
    try {
      proof = await options.log.append(item.entry);
    } catch (cause) {
      const reason = isVouchError(cause) || cause instanceof Error ? cause.message : String(cause);
      throw new VouchError(
        'unavailable',
        `could not log ${item.name} in the release log, so nothing was published: ${reason}`,
        {
          field: item.name,
        },
        { cause },
      );
    }
    await writeDurable(proofPath, proof);
    logged.push(item.name);
  }

  // 3. Files, immutable; 4. timestamp.json last, by rename: the commit point.
  for (const e of evidenceFiles)
    await writeImmutable(join(paths.publicEvidence, `${e.sha256}.json`), e.bytes, maxEvidenceBytes);
  for (const t of targetFiles)
    await writeImmutable(targetFilePath(paths, t.path, t.sha256), t.bytes, maxTargetBytes);
  for (const f of metadataFiles) await writeImmutable(join(paths.public, f.name), f.bytes, maxMetadataBytes);
  await writeFileDurable(join(paths.public, 'timestamp.json'), timestamp, { mode: 0o644 });

  // 5. Clear what was released.
  await removeIfPresent(pendingFile(paths, 'snapshot'));
  if (pendingRoot !== undefined) await removeIfPresent(pendingFile(paths, 'root'));
  if (pendingTargets !== undefined) await removeIfPresent(pendingFile(paths, 'targets'));
  await clearStaged(
    paths,
    index,
    new Map([...targets.fields.targets].map(([path, t]) => [path, t.hashes['sha256'] ?? ''])),
    new Set(evidenceFiles.map((e) => e.sha256)),
  );
  return Object.freeze({
    ...(pendingRoot === undefined ? {} : { root: pendingRoot.fields.version }),
    targets: targets.fields.version,
    snapshot: snapshotVersion,
    timestamp: timestampVersion,
    logged,
    targetFiles: targetFiles.map((t) => t.path),
  });
}

/**
 * checkTargetsThreshold refuses (`policy-unmet`) targets metadata that does not carry the
 * threshold of the root's targets keys, naming the keys that have not signed.
 */
export function checkTargetsThreshold(
  config: RepoConfig,
  root: Metadata<'root'>,
  targets: Metadata<'targets'>,
): void {
  try {
    verifyThreshold(targets.signed, targets.signatures, root.fields.keys, root.fields.roles.targets, {
      role: `targets version ${targets.fields.version}`,
    });
  } catch (error) {
    if (!isVouchError(error)) throw error;
    const missing = (error.details['missing'] as readonly string[] | undefined) ?? [];
    throw new VouchError(
      'policy-unmet',
      `targets version ${targets.fields.version} has ${String(error.details['got'] ?? 0)} of the ${root.fields.roles.targets.threshold} signatures it needs; missing: ${describeKeys(missing, config.keyNames)}`,
      { role: 'targets', missing: missing.map((id) => config.keyNames[id] ?? id) },
      { cause: error },
    );
  }
}

function checkOnlineKey(
  config: RepoConfig,
  root: Metadata<'root'>,
  role: 'snapshot' | 'timestamp',
  signer: Signer,
): void {
  const { keyid } = tufKeyForSigner(signer);
  const keyids = root.fields.roles[role].keyids;
  if (!keyids.includes(keyid))
    throw new VouchError(
      'policy-unmet',
      `key ${signer.name} is not the ${role} key of root version ${root.fields.version} (expected ${describeKeys(keyids, config.keyNames)})`,
      { key: signer.name, role },
    );
}

async function fresh<R extends 'root' | 'targets'>(
  paths: RepoPaths,
  role: R,
  pending: Metadata<R> | undefined,
  published: Metadata<R> | undefined,
): Promise<Metadata<R> | undefined> {
  if (pending === undefined || published === undefined) return pending;
  if (pending.fields.version > published.fields.version) return pending;
  // A crash after publishing left the pending file behind: it is already public.
  await removeIfPresent(pendingFile(paths, role));
  return undefined;
}

async function clearStaged(
  paths: RepoPaths,
  index: StagedIndex,
  publishedTargets: ReadonlyMap<string, string>,
  publishedEvidence: ReadonlySet<string>,
): Promise<void> {
  // Only what this release published leaves staged/; targets added since pending targets was
  // built stay for the next version.
  const keep: Record<string, StagedTarget> = {};
  const gone: string[] = [];
  for (const [path, target] of Object.entries(index.targets)) {
    if (publishedTargets.get(path) === target.sha256) gone.push(target.sha256);
    else keep[path] = target;
  }
  const evidence = index.evidence.filter((d) => !publishedEvidence.has(d));
  await writeStagedIndex(paths, { targets: keep, evidence });
  const stillUsed = new Set(Object.values(keep).map((t) => t.sha256));
  for (const sha256 of gone)
    if (!stillUsed.has(sha256)) await removeIfPresent(join(paths.stagedTargets, sha256));
  for (const digest of publishedEvidence) {
    if (evidence.includes(digest)) continue;
    await removeIfPresent(join(paths.stagedEvidence, `${digest}.json`));
    await removeIfPresent(join(paths.stagedEvidence, `${digest}.json.tlog-proof`));
  }
}
