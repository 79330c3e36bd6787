/**
 * Pending metadata: the next targets version built from the current targets, and multi-party
 * signing of pending root and targets (`vouch repo sign --role targets|root --key FILE`, and the
 * approver's share in approve.ts). Every signature is over the canonical `signed` and is added
 * beside the others (core/tuf/sign.ts), so the vendor and the supervisor sign the same bytes in
 * either order; rebuilding pending targets with a different content drops the old signatures,
 * since they no longer cover it.
 *
 * Crash story: each change replaces one file in `pending/` atomically; a crash leaves the old
 * pending file (the signature just made is lost and is made again). Once a publish has logged a
 * pending version (and then failed), that pending file is frozen: changing it is refused
 * (`conflict`, logged.ts), so the retry publishes exactly the bytes in the log.
 */

import { equalBytes } from '../../core/bytes/index.ts';
import type { Signer } from '../../core/crypto/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { formatCanonicalJson, type JsonObject } from '../../core/json/index.ts';
import { tufKeyForSigner } from '../../core/tuf/keys.ts';
import {
  formatMetadata,
  type Metadata,
  metadataFileName,
  type RoleKeys,
  targetsSigned,
} from '../../core/tuf/metadata.ts';
import { addSignature } from '../../core/tuf/sign.ts';
import { verifyThreshold } from '../../core/tuf/verify.ts';
import { describeKeys } from './keys.ts';
import { type RepoConfig, type RepoPaths, readConfig, repoPaths, writeDurable } from './layout.ts';
import { checkMetadataUnlogged } from './logged.ts';
import { currentTargets, effectiveRoot, pendingFile, readPending, readPublished } from './published.ts';

const daySeconds = 86_400;

/** PendingTargetsResult is the pending targets version and whether it changed. */
export interface PendingTargetsResult {
  readonly version: number;
  readonly targets: number;
  /** changed is false when the pending targets already listed exactly these targets (signatures kept). */
  readonly changed: boolean;
}

/**
 * preparePendingTargets writes `pending/targets.json`: version = last published + 1, every
 * current target (published, replaced or extended by the staged ones), expiry now + the
 * configured targets lifetime, no signatures. A pending file of the same version listing the
 * same targets is kept as is, with its signatures. Throws `conflict` when that version is
 * already in the release log with other bytes (a publish that failed after logging it): publish
 * it first (logged.ts).
 */
export async function preparePendingTargets(dir: string, now: number): Promise<PendingTargetsResult> {
  const paths = repoPaths(dir);
  const config = await readConfig(paths);
  const published = await readPublished(paths, 'targets');
  const version = (published?.fields.version ?? 0) + 1;
  const targets: Record<string, { length: number; hashes: { sha256: string }; custom: JsonObject }> = {};
  for (const [path, t] of await currentTargets(paths))
    targets[path] = { length: t.length, hashes: { sha256: t.sha256 }, custom: t.custom };
  const existing = await readPending(paths, 'targets');
  if (
    existing !== undefined &&
    existing.fields.version === version &&
    equalBytes(formatCanonicalJson(existing.signed['targets']), formatCanonicalJson(targets))
  )
    return { version, targets: Object.keys(targets).length, changed: false };
  const signed = targetsSigned({ version, expires: now + config.expires.targets * daySeconds, targets });
  const bytes = formatMetadata(signed, []);
  const file = metadataFileName('targets', version, true);
  await checkMetadataUnlogged(paths, config.name, file, bytes, `prepare targets version ${version}`);
  await writeDurable(pendingFile(paths, 'targets'), bytes);
  return { version, targets: Object.keys(targets).length, changed: true };
}

/** SignatureStatus says who has signed a pending role and who is still missing. */
export interface SignatureStatus {
  readonly role: 'root' | 'targets';
  readonly version: number;
  readonly threshold: number;
  readonly signedBy: readonly string[];
  /** missing names the role's keys without a valid signature. */
  readonly missing: readonly string[];
  /** complete is true when the threshold is met (for root: of both the old and the new root). */
  readonly complete: boolean;
}

/**
 * signPending adds `signer`'s signature to the pending root or targets. The key must belong to
 * the role: for targets a key of the governing root's targets role; for root a root key of the
 * pending root or of the published one it replaces (`policy-unmet` otherwise). Throws
 * `not-found` when nothing of that role is pending, and `conflict` when the signature would
 * change pending metadata whose version is already in the release log (logged.ts).
 */
export async function signPending(
  dir: string,
  role: 'root' | 'targets',
  signer: Signer,
): Promise<SignatureStatus> {
  const paths = repoPaths(dir);
  const config = await readConfig(paths);
  const pending = await readPending(paths, role);
  if (pending === undefined)
    throw new VouchError(
      'not-found',
      `no ${role} metadata is pending in ${dir}${role === 'targets' ? ': add targets first' : ''}`,
      {
        field: role,
      },
    );
  const { keyid } = tufKeyForSigner(signer);
  const allowed = await allowedSigners(paths, role, pending as Metadata<'root'> | Metadata<'targets'>);
  if (!allowed.includes(keyid))
    throw new VouchError(
      'policy-unmet',
      `key ${signer.name} (${keyid.slice(0, 16)}) is not a ${role} key of this repository; expected one of: ${describeKeys(allowed, config.keyNames)}`,
      { key: signer.name, role },
    );
  const signed = await addSignature({ signed: pending.signed, signatures: pending.signatures }, signer);
  const bytes = formatMetadata(signed.signed, signed.signatures);
  const file = metadataFileName(role, pending.fields.version, true);
  await checkMetadataUnlogged(
    paths,
    config.name,
    file,
    bytes,
    `sign ${role} version ${pending.fields.version}`,
  );
  await writeDurable(pendingFile(paths, role), bytes);
  return pendingStatus(dir, role);
}

/** pendingStatus reports the signatures of the pending root or targets (`not-found` when none is pending). */
export async function pendingStatus(dir: string, role: 'root' | 'targets'): Promise<SignatureStatus> {
  const paths = repoPaths(dir);
  const config = await readConfig(paths);
  if (role === 'targets') {
    const pending = await readPending(paths, 'targets');
    if (pending === undefined)
      throw new VouchError('not-found', 'no targets metadata is pending', { field: role });
    const root = await effectiveRoot(paths);
    return roleStatus(config, 'targets', pending, root, root.fields.roles.targets);
  }
  const pending = await readPending(paths, 'root');
  if (pending === undefined)
    throw new VouchError('not-found', 'no root metadata is pending', { field: role });
  const own = roleStatus(config, 'root', pending, pending, pending.fields.roles.root);
  const previous = await readPublished(paths, 'root');
  if (previous === undefined) return own;
  const old = roleStatus(config, 'root', pending, previous, previous.fields.roles.root);
  return Object.freeze({
    ...own,
    signedBy: [...new Set([...old.signedBy, ...own.signedBy])],
    missing: [
      ...(old.complete ? [] : old.missing.map((m) => `${m} (old root)`)),
      ...(own.complete ? [] : own.missing.map((m) => `${m} (new root)`)),
    ],
    complete: old.complete && own.complete,
  });
}

function roleStatus(
  config: RepoConfig,
  role: 'root' | 'targets',
  pending: Metadata<'root'> | Metadata<'targets'>,
  root: Metadata<'root'>,
  keys: RoleKeys,
): SignatureStatus {
  let signedBy: readonly string[] = [];
  try {
    signedBy = verifyThreshold(
      pending.signed,
      pending.signatures,
      root.fields.keys,
      { keyids: keys.keyids, threshold: 1 },
      { role },
    ).signedBy;
  } catch (error) {
    if (!isVouchError(error)) throw error;
  }
  const missing = keys.keyids.filter((id) => !signedBy.includes(id));
  return Object.freeze({
    role,
    version: pending.fields.version,
    threshold: keys.threshold,
    signedBy: signedBy.map((id) => config.keyNames[id] ?? id.slice(0, 16)),
    missing: missing.map((id) => config.keyNames[id] ?? id.slice(0, 16)),
    complete: signedBy.length >= keys.threshold,
  });
}

async function allowedSigners(
  paths: RepoPaths,
  role: 'root' | 'targets',
  pending: Metadata<'root'> | Metadata<'targets'>,
): Promise<string[]> {
  if (role === 'targets') return [...(await effectiveRoot(paths)).fields.roles.targets.keyids];
  const own = (pending as Metadata<'root'>).fields.roles.root.keyids;
  const previous = (await readPublished(paths, 'root'))?.fields.roles.root.keyids ?? [];
  return [...new Set([...own, ...previous])];
}
