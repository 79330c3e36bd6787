/**
 * `vouch repo timestamp`: refresh the timestamp so that clients do not see the repository as
 * frozen (TUF's freeze defence: the timestamp expires after a day by default). The new
 * timestamp has the next version, the same snapshot reference and a later expiry, signed with
 * the online timestamp key; nothing else changes and nothing is logged (docs/updates.md logs
 * root, targets and snapshot versions, whose content the timestamp only points at).
 * `timestamp.json` is replaced by one rename.
 */

import { join } from 'node:path';
import type { Signer } from '../../core/crypto/index.ts';
import { VouchError } from '../../core/errors.ts';
import { tufKeyForSigner } from '../../core/tuf/keys.ts';
import { formatMetadata, timestampSigned } from '../../core/tuf/metadata.ts';
import { signMetadata } from '../../core/tuf/sign.ts';
import { writeFileDurable } from '../../storage/fs/durable.ts';
import { describeKeys } from './keys.ts';
import { readConfig, repoPaths } from './layout.ts';
import { readPublished } from './published.ts';

/** TimestampResult is the new timestamp's version and expiry (seconds since the epoch). */
export interface TimestampResult {
  readonly version: number;
  readonly expires: number;
}

/**
 * refreshTimestamp writes timestamp version N+1 pointing at the same snapshot, expiring at now
 * plus the configured lifetime. Throws `not-found` before the first publish, `policy-unmet`
 * when `signer` is not the published root's timestamp key, and `invalid-argument` when the new
 * expiry would not be later than the current one.
 */
export async function refreshTimestamp(dir: string, signer: Signer, now: number): Promise<TimestampResult> {
  const paths = repoPaths(dir);
  const config = await readConfig(paths);
  const root = await readPublished(paths, 'root');
  const current = await readPublished(paths, 'timestamp');
  if (root === undefined || current === undefined)
    throw new VouchError('not-found', 'nothing is published yet: run vouch repo publish first', {
      field: dir,
    });
  const { keyid } = tufKeyForSigner(signer);
  const allowed = root.fields.roles.timestamp.keyids;
  if (!allowed.includes(keyid))
    throw new VouchError(
      'policy-unmet',
      `key ${signer.name} is not the timestamp key of root version ${root.fields.version} (expected ${describeKeys(allowed, config.keyNames)})`,
      { key: signer.name, role: 'timestamp' },
    );
  const expires = now + config.expires.timestamp * 86_400;
  if (expires <= current.fields.expires)
    throw new VouchError(
      'invalid-argument',
      'the refreshed timestamp would not expire later than the current one',
      {
        role: 'timestamp',
      },
    );
  const signed = timestampSigned({
    version: current.fields.version + 1,
    expires,
    snapshot: current.fields.snapshot,
  });
  await writeFileDurable(
    join(paths.public, 'timestamp.json'),
    formatMetadata(signed, await signMetadata(signed, [signer])),
    {
      mode: 0o644,
    },
  );
  return Object.freeze({ version: current.fields.version + 1, expires });
}
