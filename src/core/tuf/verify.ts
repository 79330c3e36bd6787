/**
 * Threshold verification of TUF metadata (spec §5.3.4, §5.4.2, §5.5.3, §5.6.3): a role is
 * satisfied when at least `threshold` of its keys have a valid signature over the canonical JSON
 * of `signed` as received.
 *
 * Counting is strict: a key ID counts at most once however often it appears in `signatures`,
 * and one key counts at most once however many key IDs name it (key IDs are opaque labels, TAP
 * 12, so an attacker-chosen root could list one key under two IDs; we compare key content). Keys
 * of types Vouch cannot verify never count. Errors name the role, `got/threshold` and the keys
 * still missing, and carry `details.attack` (default 'threshold').
 */

import { parseHex } from '../bytes/index.ts';
import { VouchError } from '../errors.ts';
import { formatCanonicalJson, type JsonObject } from '../json/index.ts';
import type { TufKey } from './keys.ts';
import type { RoleKeys, TufAttack, TufSignature } from './metadata.ts';

/** ThresholdResult lists the key IDs whose valid signatures counted. */
export interface ThresholdResult {
  readonly signedBy: readonly string[];
}

/** VerifyOptions names the role in messages and the attack a failure reports. */
export interface VerifyOptions {
  /** role names what is verified in errors, e.g. `root` or `root v3 (by root v2's keys)`. */
  readonly role: string;
  /** attack is put in `details.attack` of a failure; default 'threshold'. */
  readonly attack?: TufAttack;
}

/**
 * verifyThreshold returns which of `role`'s keys validly signed `signed`, or throws: with
 * `no-trusted-signature` when no signature is from one of the role's keys, `bad-signature` when
 * the role's keys signed but none verifies, and `policy-unmet` when some but fewer than the
 * threshold verify. `details` carry role, got, threshold, missing (key IDs) and attack.
 */
export function verifyThreshold(
  signed: JsonObject,
  signatures: readonly TufSignature[],
  keys: ReadonlyMap<string, TufKey>,
  role: RoleKeys,
  options: VerifyOptions,
): ThresholdResult {
  const message = formatCanonicalJson(signed);
  const counted = new Set<string>(); // key IDs
  const identities = new Set<string>(); // key contents
  let attempted = 0;
  for (const keyid of role.keyids) {
    const key = keys.get(keyid);
    if (key?.verifier === undefined || identities.has(key.identity)) continue;
    const { verifier } = key;
    const candidates = signatures.filter((s) => s.keyid === keyid);
    if (candidates.length > 0) attempted++;
    const valid = candidates.some((s) => {
      if (!/^[0-9a-f]*$/.test(s.sig) || s.sig.length % 2 !== 0) return false;
      return verifier.verify(message, parseHex(s.sig));
    });
    if (valid) {
      counted.add(keyid);
      identities.add(key.identity);
    }
  }
  const got = counted.size;
  if (got >= role.threshold) return Object.freeze({ signedBy: Object.freeze([...counted]) });
  const attack = options.attack ?? 'threshold';
  const missing = role.keyids.filter((k) => !counted.has(k));
  const code = got > 0 ? 'policy-unmet' : attempted > 0 ? 'bad-signature' : 'no-trusted-signature';
  const shown = missing.map((k) => k.slice(0, 16)).join(', ');
  throw new VouchError(
    code,
    `${attack}: ${options.role} has ${got}/${role.threshold} valid signatures; missing: ${shown || 'none'}`,
    { role: options.role, got, threshold: role.threshold, missing, attack },
  );
}
