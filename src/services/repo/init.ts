/**
 * `vouch repo init`: a new repository folder with its first root (docs/updates.md, "Roles and
 * keys"): root with a k-of-n threshold of offline keys, targets with a threshold of 2 shared by
 * the vendor's release key and the supervisor's approver key, one online key each for snapshot
 * and timestamp, consistent snapshots. Root version 1 is signed by every root key given and left
 * in `pending/`: like every root, it is appended to the release log and published by the first
 * `vouch repo publish`, never before.
 *
 * Crash story: folders, then `pending/root.json`, then `repo.json` last — the commit point. A
 * folder without `repo.json` is not a repository and init may be run on it again.
 */

import { join } from 'node:path';
import type { Signer } from '../../core/crypto/index.ts';
import { VouchError } from '../../core/errors.ts';
import { formatMetadata, rootSigned } from '../../core/tuf/metadata.ts';
import { signMetadata } from '../../core/tuf/sign.ts';
import { mkdirDurable } from '../../storage/fs/durable.ts';
import { type NamedKey, namedKeyOf, namedKeyOfVkey, type PublicKey } from './keys.ts';
import {
  defaultExpiries,
  type Expiries,
  formatRepoConfig,
  isRepositoryName,
  maxExpiryDays,
  readFileBounded,
  repoPaths,
  topRoles,
  writeDurable,
} from './layout.ts';
import { pendingFile } from './published.ts';

/** InitOptions are the keys, thresholds and lifetimes of a new repository. */
export interface InitOptions {
  /** name is the repository name, written into every release record. */
  readonly name: string;
  /** rootSigners are the offline root keys; all of them sign root version 1. */
  readonly rootSigners: readonly Signer[];
  readonly rootThreshold: number;
  /** release and approver are signed-note vkeys: the two targets keys (threshold 2). */
  readonly release: string;
  readonly approver: string;
  readonly snapshotKey: PublicKey | Signer;
  readonly timestampKey: PublicKey | Signer;
  /** expires overrides lifetimes in days per role (defaults 365, 90, 7, 1). */
  readonly expires?: Partial<Expiries>;
  /** now is the current time in seconds since the epoch. */
  readonly now: number;
}

/** InitResult names what was created. */
export interface InitResult {
  readonly rootKeyIds: readonly string[];
  readonly targetsKeyIds: readonly string[];
  readonly expires: Expiries;
}

const daySeconds = 86_400;

/**
 * initRepository creates the repository folder `dir` (see the module comment). Throws
 * `invalid-argument` for a folder that is already a repository, a bad name, a threshold the keys
 * cannot meet, a role key used twice or an expiry out of range; `bad-key` for a bad vkey.
 */
export async function initRepository(dir: string, options: InitOptions): Promise<InitResult> {
  const paths = repoPaths(dir);
  if ((await readFileBounded(paths.config, 1 << 20)) !== undefined)
    throw new VouchError('invalid-argument', `${dir} is already a repository (it has repo.json)`, {
      field: dir,
    });
  if (!isRepositoryName(options.name))
    throw new VouchError('invalid-argument', 'the repository name must be 1 to 128 of [A-Za-z0-9._-]', {
      field: '--name',
    });
  const expires: Record<string, number> = { ...defaultExpiries };
  for (const [role, days] of Object.entries(options.expires ?? {})) {
    if (
      !topRoles.includes(role as never) ||
      days === undefined ||
      !Number.isSafeInteger(days) ||
      days < 1 ||
      days > maxExpiryDays
    )
      throw new VouchError(
        'invalid-argument',
        `expiry ${role}=${days} is not a role and 1 to ${maxExpiryDays} days`,
        {
          field: '--expires',
        },
      );
    expires[role] = days;
  }
  const roots = options.rootSigners.map(namedKeyOf);
  if (new Set(roots.map((k) => k.keyid)).size !== roots.length)
    throw new VouchError('invalid-argument', 'a root key is given twice', { field: '--root-key' });
  const release = namedKeyOfVkey(options.release);
  const approver = namedKeyOfVkey(options.approver);
  if (release.keyid === approver.keyid)
    throw new VouchError(
      'invalid-argument',
      'the release key and the approver key must differ: targets needs two parties',
      {
        field: '--approver-vkey',
      },
    );
  const snapshot = namedKeyOf(options.snapshotKey);
  const timestamp = namedKeyOf(options.timestampKey);
  const all: NamedKey[] = [...roots, release, approver, snapshot, timestamp];
  const signed = rootSigned({
    version: 1,
    expires: options.now + (expires['root'] as number) * daySeconds,
    consistentSnapshot: true,
    roles: {
      root: { keys: roots.map((k) => k.key), threshold: options.rootThreshold },
      targets: { keys: [release.key, approver.key], threshold: 2 },
      snapshot: { keys: [snapshot.key], threshold: 1 },
      timestamp: { keys: [timestamp.key], threshold: 1 },
    },
  });
  const signatures = await signMetadata(signed, options.rootSigners);
  await mkdirDurable(paths.staged);
  await mkdirDurable(paths.pending);
  await mkdirDurable(join(paths.public, 'targets'));
  await writeDurable(pendingFile(paths, 'root'), formatMetadata(signed, signatures));
  const keyNames: Record<string, string> = {};
  for (const k of all) keyNames[k.keyid] = k.name;
  // Commit point: the folder is a repository once repo.json exists.
  await writeDurable(
    paths.config,
    formatRepoConfig({
      name: options.name,
      expires: expires as Expiries,
      release: options.release,
      approver: options.approver,
      keyNames,
    }),
  );
  return Object.freeze({
    rootKeyIds: roots.map((k) => k.keyid),
    targetsKeyIds: [release.keyid, approver.keyid],
    expires: expires as Expiries,
  });
}
