/**
 * The release policy (docs/updates.md, "Release policy"): whom the approver and the endpoint
 * agent trust for a release — the builder sites by `builder.id` and provenance key, the
 * independent rebuilders and their k-of-n threshold, the source reviewers and theirs, and the
 * release log with its witness quorum (a C2SP tlog-policy, https://c2sp.org/tlog-policy).
 *
 * The file is JSON read by the strict bounded parser: every field is required (no defaults),
 * unknown fields are refused (a typo must not silently drop a requirement), and every bad field
 * is named at once (`details.fields`). Keys are signed-note verifier keys as `vouch key show`
 * prints them: Ed25519 (type 0x01), ECDSA P-256 (0x02) or ML-DSA-44 (0x06); a type 0x04
 * cosignature key is refused, since it does not say which algorithm signs the DSSE envelopes.
 * Fail-closed choices beyond the shape: a key is listed once per list, a key never belongs to
 * two builders, and no builder key is a rebuilder key (a site cannot vouch for its own build).
 * A parsed policy carries the SHA-256 of its bytes, the digest a Verification Summary names.
 *
 * This module parses only; `evidence.ts` applies the policy.
 */

import { FieldProblems } from '../attest/fields.ts';
import { uriProblem } from '../attest/resource-descriptor.ts';
import { formatHex, toBytes } from '../bytes/index.ts';
import { createVerifier, sha256, type Verifier } from '../crypto/index.ts';
import { isVouchError, tooLarge, VouchError } from '../errors.ts';
import {
  type FieldPath,
  formatFieldPath,
  isJsonArray,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseJson,
} from '../json/index.ts';
import { keyTypeOfSignatureType, parseVerifierKey, signatureTypes } from '../note/keys.ts';
import { type Policy, parsePolicy } from '../tlog/policy.ts';

/** releasePolicyType is the `_type` of a release policy file. */
export const releasePolicyType = 'https://vouch.example/release-policy/v1';

/** maxReleasePolicyBytes bounds a policy file (a few hundred ML-DSA-44 vkeys fit). */
export const maxReleasePolicyBytes = 1 << 20;

/** maxReleasePolicyKeys bounds each key list. */
export const maxReleasePolicyKeys = 64;

/** maxReleasePolicyBuilders bounds the builder list. */
export const maxReleasePolicyBuilders = 16;

/** TrustedKey is a policy key: its vkey as written, its key name, and a DSSE verifier for it. */
export interface TrustedKey {
  readonly vkey: string;
  readonly name: string;
  /** verifier checks DSSE signatures; its `keyId` (SHA-256 of the SPKI) is the envelope keyid hint. */
  readonly verifier: Verifier;
}

/** ReleaseBuilder is a trusted build site: provenance with `builder.id` = `id` must be signed by one of `keys`. */
export interface ReleaseBuilder {
  readonly id: string;
  readonly keys: readonly TrustedKey[];
  /**
   * allowNonHermetic accepts provenance labelled `hermetic: false`. It exists for test sites
   * without a sandbox; a production policy leaves it false, and a VSA never claims Build L3 then.
   */
  readonly allowNonHermetic: boolean;
}

/** ReleaseKeySet is a k-of-n requirement: `threshold` distinct `keys` when `required`. */
export interface ReleaseKeySet {
  readonly required: boolean;
  readonly keys: readonly TrustedKey[];
  /** threshold is 1..keys when required, 0..keys otherwise. */
  readonly threshold: number;
}

/** ReleaseLogPolicy is the release log and the witness quorum its checkpoints need. */
export interface ReleaseLogPolicy {
  readonly vkey: string;
  /** origin is the log's key name, which tlog-policy requires to be its checkpoint origin. */
  readonly origin: string;
  /** witnessPolicy is the policy text as written (witness, group and quorum lines). */
  readonly witnessPolicy: string;
  /** policy is the full tlog-policy: the log line followed by the witness policy. */
  readonly policy: Policy;
}

/** ReleasePolicy is a parsed, frozen release policy. */
export interface ReleasePolicy {
  readonly builders: readonly ReleaseBuilder[];
  readonly rebuilders: ReleaseKeySet;
  readonly review: ReleaseKeySet;
  readonly log: ReleaseLogPolicy;
  /** sha256 is the lowercase hex SHA-256 of the policy file's bytes. */
  readonly sha256: string;
}

/**
 * parseReleasePolicy reads a release policy file. It throws `too-large` over
 * {@link maxReleasePolicyBytes} or a count bound, and `malformed` naming every bad field path
 * in `details.fields` (a bad vkey, a threshold out of range, a duplicate key, an unknown field,
 * a witness policy that does not parse — whose own line is in the reason).
 */
export function parseReleasePolicy(bytes: Uint8Array): ReleasePolicy {
  if (bytes.length > maxReleasePolicyBytes) throw tooLarge('release policy', maxReleasePolicyBytes);
  const value = parseJson(bytes, { maxBytes: maxReleasePolicyBytes, maxDepth: 8 });
  const problems = new FieldProblems();
  const top = object(value, [], problems);
  only(top, [], ['_type', 'builders', 'rebuilders', 'review', 'log'], problems);
  if (top['_type'] !== releasePolicyType) problems.add(['_type'], `not ${releasePolicyType}`);
  const builders = readBuilders(top['builders'], problems);
  const rebuilders = readKeySet(top['rebuilders'], ['rebuilders'], problems);
  const review = readKeySet(top['review'], ['review'], problems);
  const log = readLog(top['log'], problems);
  const builderKeys = new Set(builders.flatMap((b) => b.keys.map((k) => k.verifier.keyId)));
  rebuilders.keys.forEach((k, i) => {
    if (builderKeys.has(k.verifier.keyId)) problems.add(['rebuilders', 'keys', i], 'is also a builder key');
  });
  problems.throwIfAny('release policy');
  if (log === undefined)
    throw new VouchError('invariant', 'internal error: release log missing after validation');
  return Object.freeze({
    builders: Object.freeze(builders),
    rebuilders,
    review,
    log,
    sha256: formatHex(sha256(bytes)),
  });
}

function readBuilders(value: JsonValue | undefined, problems: FieldProblems): ReleaseBuilder[] {
  const list = array(value, ['builders'], problems);
  if (list.length > maxReleasePolicyBuilders)
    throw tooLarge('release policy builders', maxReleasePolicyBuilders, 'builders');
  if (isJsonArray(value) && list.length === 0) problems.add(['builders'], 'is empty');
  const ids = new Set<string>();
  const owners = new Set<string>();
  const out: ReleaseBuilder[] = [];
  list.forEach((entry, i) => {
    const path = ['builders', i];
    const builder = object(entry, path, problems);
    only(builder, path, ['id', 'keys', 'allowNonHermetic'], problems);
    const id = builder['id'];
    if (typeof id !== 'string' || !/^https:\/\/\S+$/.test(id) || uriProblem(id) !== undefined) {
      problems.add([...path, 'id'], 'not a lowercase https URI');
    } else if (ids.has(id)) {
      problems.add([...path, 'id'], 'duplicates an earlier builder id');
    } else {
      ids.add(id);
    }
    const keys = readKeys(builder['keys'], [...path, 'keys'], problems);
    if (isJsonArray(builder['keys']) && keys.length === 0) problems.add([...path, 'keys'], 'is empty');
    keys.forEach((k, j) => {
      if (owners.has(k.verifier.keyId)) problems.add([...path, 'keys', j], 'belongs to an earlier builder');
      owners.add(k.verifier.keyId);
    });
    const allow = builder['allowNonHermetic'];
    if (typeof allow !== 'boolean') problems.add([...path, 'allowNonHermetic'], 'not a boolean');
    out.push(Object.freeze({ id: typeof id === 'string' ? id : '', keys, allowNonHermetic: allow === true }));
  });
  return out;
}

function readKeySet(value: JsonValue | undefined, path: FieldPath, problems: FieldProblems): ReleaseKeySet {
  const set = object(value, path, problems);
  only(set, path, ['required', 'keys', 'threshold'], problems);
  const required = set['required'];
  if (typeof required !== 'boolean') problems.add([...path, 'required'], 'not a boolean');
  const keys = readKeys(set['keys'], [...path, 'keys'], problems);
  const threshold = set['threshold'];
  const least = required === true ? 1 : 0;
  if (
    typeof threshold !== 'number' ||
    !Number.isSafeInteger(threshold) ||
    threshold < least ||
    threshold > keys.length
  ) {
    problems.add(
      [...path, 'threshold'],
      `not an integer from ${least} to the number of keys (${keys.length})`,
    );
  }
  return Object.freeze({
    required: required === true,
    keys,
    threshold: typeof threshold === 'number' ? threshold : 0,
  });
}

function readKeys(
  value: JsonValue | undefined,
  path: FieldPath,
  problems: FieldProblems,
): readonly TrustedKey[] {
  const list = array(value, path, problems);
  if (list.length > maxReleasePolicyKeys)
    throw tooLarge('release policy key list', maxReleasePolicyKeys, formatFieldPath(path));
  const seen = new Set<string>();
  const out: TrustedKey[] = [];
  list.forEach((entry, i) => {
    if (typeof entry !== 'string') {
      problems.add([...path, i], 'not a string');
      return;
    }
    const key = trustedKeyOf(entry);
    if (typeof key === 'string') {
      problems.add([...path, i], key);
      return;
    }
    if (seen.has(key.verifier.keyId)) {
      problems.add([...path, i], 'duplicates an earlier key');
      return;
    }
    seen.add(key.verifier.keyId);
    out.push(key);
  });
  return Object.freeze(out);
}

/**
 * trustedKeyOf turns a vkey into a {@link TrustedKey}, or returns why it cannot be one. It
 * accepts signing key types only (0x01, 0x02, 0x06), never a 0x04 cosignature key.
 */
export function trustedKeyOf(vkey: string): TrustedKey | string {
  let key: ReturnType<typeof parseVerifierKey>;
  try {
    key = parseVerifierKey(vkey);
  } catch (error) {
    if (isVouchError(error)) return 'not a valid vkey';
    throw error;
  }
  if (key.type === signatureTypes.cosignatureV1) return 'is a cosignature key, not a signing key';
  const verifier = createVerifier(keyTypeOfSignatureType(key.type), key.publicKey);
  return Object.freeze({ vkey, name: key.name, verifier });
}

function readLog(value: JsonValue | undefined, problems: FieldProblems): ReleaseLogPolicy | undefined {
  if (!isJsonObject(value)) {
    problems.add(['log'], value === undefined ? 'missing' : 'not an object');
    return undefined;
  }
  const log = value;
  only(log, ['log'], ['vkey', 'witnessPolicy'], problems);
  const vkey = log['vkey'];
  const witnessPolicy = log['witnessPolicy'];
  if (typeof vkey !== 'string') problems.add(['log', 'vkey'], 'not a string');
  if (typeof witnessPolicy !== 'string') problems.add(['log', 'witnessPolicy'], 'not a string');
  if (typeof vkey !== 'string' || typeof witnessPolicy !== 'string') return undefined;
  let witnesses: Policy;
  try {
    witnesses = parsePolicy(toBytes(witnessPolicy));
  } catch (error) {
    if (!isVouchError(error)) throw error;
    problems.add(['log', 'witnessPolicy'], `${error.details.field ?? 'policy'}: ${error.message}`);
    return undefined;
  }
  if (witnesses.logs.length > 0) {
    problems.add(['log', 'witnessPolicy'], 'has a log line; the log is given by log.vkey');
    return undefined;
  }
  let policy: Policy;
  try {
    policy = parsePolicy(toBytes(`log ${vkey}\n${witnessPolicy}`));
  } catch (error) {
    if (!isVouchError(error)) throw error;
    problems.add(['log', 'vkey'], `not a log key for this witness policy: ${error.message}`);
    return undefined;
  }
  const origin = policy.logs[0]?.key.name;
  if (origin === undefined) throw new VouchError('invariant', 'internal error: the log line was not parsed');
  return Object.freeze({ vkey, origin, witnessPolicy, policy });
}

function object(value: JsonValue | undefined, path: FieldPath, problems: FieldProblems): JsonObject {
  if (isJsonObject(value)) return value;
  problems.add(path, value === undefined ? 'missing' : 'not an object');
  return {};
}

function array(value: JsonValue | undefined, path: FieldPath, problems: FieldProblems): readonly JsonValue[] {
  if (isJsonArray(value)) return value;
  problems.add(path, value === undefined ? 'missing' : 'not an array');
  return [];
}

function only(value: JsonObject, path: FieldPath, allowed: readonly string[], problems: FieldProblems): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.add([...path, key], 'is not a known field');
  }
}
