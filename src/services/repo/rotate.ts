/**
 * `vouch repo rotate-root`: prepare root version N+1 with new keys or thresholds (TUF spec
 * §5.3.4: a client accepts it only when it is signed by a threshold of root N's root keys AND a
 * threshold of its own). Roles not given keep their keys; a key that no role lists any more is
 * not in the new root's `keys` at all, which is how a key is revoked. The new root is left
 * unsigned in `pending/root.json`: root key holders add their signatures with
 * `vouch repo sign --role root` (old and new keys alike), and `vouch repo publish` refuses it
 * until both thresholds are met, logs it, and publishes it as `N+1.root.json`.
 */

import type { Signer } from '../../core/crypto/index.ts';
import { VouchError } from '../../core/errors.ts';
import type { JsonObject } from '../../core/json/index.ts';
import {
  formatMetadata,
  type Metadata,
  metadataFileName,
  type RoleName,
  rootSigned,
} from '../../core/tuf/metadata.ts';
import { type NamedKey, namedKeyOf, namedKeyOfVkey, type PublicKey } from './keys.ts';
import { formatRepoConfig, readConfig, repoPaths, writeDurable } from './layout.ts';
import { checkMetadataUnlogged } from './logged.ts';
import { pendingFile, readPending, readPublished } from './published.ts';

/** RotateOptions say what changes; anything omitted is kept from the published root. */
export interface RotateOptions {
  /** rootKeys replace the root keys (with `rootThreshold`, or the old threshold). */
  readonly rootKeys?: readonly (PublicKey | Signer)[];
  readonly rootThreshold?: number;
  /** release and approver replace the targets keys (signed-note vkeys); the threshold stays 2. */
  readonly release?: string;
  readonly approver?: string;
  readonly snapshotKey?: PublicKey | Signer;
  readonly timestampKey?: PublicKey | Signer;
  /** now is the current time in seconds since the epoch; the new root expires at now + root lifetime. */
  readonly now: number;
}

/** RotateResult is the pending root's version and the key IDs it dropped (revoked). */
export interface RotateResult {
  readonly version: number;
  readonly revoked: readonly string[];
}

/**
 * rotateRoot writes the unsigned pending root N+1 (see the module comment), replacing any root
 * that was pending. Throws `not-found` before root 1 is published, `invalid-argument` for a
 * threshold the keys cannot meet or when a pending root has signatures already (publish or
 * discard it first: a signed rotation is not silently thrown away).
 */
export async function rotateRoot(dir: string, options: RotateOptions): Promise<RotateResult> {
  const paths = repoPaths(dir);
  const config = await readConfig(paths);
  const current = await readPublished(paths, 'root');
  if (current === undefined)
    throw new VouchError('not-found', 'no root is published yet; publish root version 1 before rotating', {
      field: dir,
    });
  const pending = await readPending(paths, 'root');
  if (
    pending !== undefined &&
    pending.fields.version > current.fields.version &&
    pending.signatures.length > 0
  )
    throw new VouchError(
      'invalid-argument',
      `root version ${pending.fields.version} is pending with signatures; publish it first`,
      {
        field: 'root',
      },
    );
  const names: Record<string, string> = { ...config.keyNames };
  const keep = (role: RoleName): JsonObject[] => keysOf(current, role);
  const replace = (keys: readonly NamedKey[]): JsonObject[] => {
    for (const k of keys) names[k.keyid] = k.name;
    return keys.map((k) => k.key);
  };
  const targetsKeys =
    options.release === undefined && options.approver === undefined
      ? keep('targets')
      : replace([
          namedKeyOfVkey(options.release ?? config.release),
          namedKeyOfVkey(options.approver ?? config.approver),
        ]);
  const version = current.fields.version + 1;
  const signed = rootSigned({
    version,
    expires: options.now + config.expires.root * 86_400,
    consistentSnapshot: true,
    roles: {
      root: {
        keys: options.rootKeys === undefined ? keep('root') : replace(options.rootKeys.map(namedKeyOf)),
        threshold: options.rootThreshold ?? current.fields.roles.root.threshold,
      },
      targets: { keys: targetsKeys, threshold: 2 },
      snapshot: {
        keys:
          options.snapshotKey === undefined ? keep('snapshot') : replace([namedKeyOf(options.snapshotKey)]),
        threshold: 1,
      },
      timestamp: {
        keys:
          options.timestampKey === undefined
            ? keep('timestamp')
            : replace([namedKeyOf(options.timestampKey)]),
        threshold: 1,
      },
    },
  });
  const kept = new Set(Object.keys(signed['keys'] as JsonObject));
  const revoked = [...current.fields.keys.keys()].filter((id) => !kept.has(id));
  const bytes = formatMetadata(signed, []);
  const file = metadataFileName('root', version, true);
  await checkMetadataUnlogged(paths, config.name, file, bytes, `prepare root version ${version}`);
  await writeDurable(pendingFile(paths, 'root'), bytes);
  await writeDurable(
    paths.config,
    formatRepoConfig({
      ...config,
      release: options.release ?? config.release,
      approver: options.approver ?? config.approver,
      keyNames: names,
    }),
  );
  return Object.freeze({ version, revoked });
}

function keysOf(root: Metadata<'root'>, role: RoleName): JsonObject[] {
  return root.fields.roles[role].keyids.map((id) => {
    const key = root.fields.keys.get(id);
    if (key === undefined)
      throw new VouchError(
        'malformed',
        `root version ${root.fields.version} lists key ${id.slice(0, 16)} for ${role} without defining it`,
      );
    return key.raw;
  });
}
