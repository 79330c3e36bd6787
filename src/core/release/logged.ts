/**
 * Whether an entry is in the release log: an offline C2SP tlog-proof
 * (https://c2sp.org/tlog-proof) for the entry's RFC 6962 leaf, under a checkpoint signed by the
 * release log's key and cosigned by the witness quorum of the release policy
 * (https://c2sp.org/tlog-policy). Entries are release records (`record.ts`) for metadata files
 * and the evidence files' own bytes (docs/updates.md, "The release log").
 *
 * Failures name the attack they would let through: `unlogged` when the entry is not proven in
 * the log (no proof, a proof for other bytes, a checkpoint the log did not sign), `split-view`
 * when the log signed but the witnesses did not reach the quorum, since that is what a log
 * showing one endpoint a private branch looks like. This module does not check consistency
 * with checkpoints seen before (the agent keeps those).
 */

import { isVouchError, VouchError } from '../errors.ts';
import { leafHash } from '../merkle/index.ts';
import { checkTlogProofPolicy, type Freshness, type PolicyCheckedTlogProof } from '../tlog/quorum.ts';
import type { ReleaseLogPolicy } from './policy.ts';

/** LogAttack is the attack a failed log check stands for. */
export type LogAttack = 'unlogged' | 'split-view';

/**
 * checkLoggedEntry verifies that `entry` (the exact bytes logged) is in the release log by
 * `proof`. It returns what the proof established, or throws a VouchError with the cause's code
 * and `details.attack` = `split-view` when the witness quorum is not met, `unlogged` otherwise
 * (`details.what` names the entry for messages). `proof` undefined is `unlogged`.
 */
export function checkLoggedEntry(
  log: ReleaseLogPolicy,
  entry: Uint8Array,
  proof: Uint8Array | undefined,
  what: string,
  options: { readonly freshness?: Freshness } = {},
): PolicyCheckedTlogProof {
  if (proof === undefined) {
    throw new VouchError('not-found', `${what} has no inclusion proof in the release log`, {
      attack: 'unlogged',
      what,
    });
  }
  try {
    return checkTlogProofPolicy(proof, leafHash(entry), log.policy, {
      origin: log.origin,
      ...(options.freshness === undefined ? {} : { freshness: options.freshness }),
    });
  } catch (cause) {
    if (!isVouchError(cause) || cause.code === 'invariant' || cause.code === 'invalid-argument') throw cause;
    const attack: LogAttack =
      cause.code === 'policy-unmet' && cause.details.field === 'quorum' ? 'split-view' : 'unlogged';
    const message =
      attack === 'split-view'
        ? `${what} is logged under a checkpoint without the witness quorum: ${cause.message}`
        : `${what} is not proven in the release log: ${cause.message}`;
    throw new VouchError(cause.code, message, { ...cause.details, attack, what }, { cause });
  }
}
