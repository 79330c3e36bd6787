/**
 * Checking a checkpoint against a tlog-policy (https://c2sp.org/tlog-policy): "signed by any one
 * of the listed logs, and cosigned by witnesses according to the defined quorum rule", and the
 * same for an offline C2SP tlog-proof (https://c2sp.org/tlog-proof), whose verifier checks the
 * log signature, then the witness quorum, then inclusion.
 *
 * {@link checkCheckpointPolicy} is a pure verifier. It reads the checkpoint's origin (untrusted
 * until verified) only to pick the policy's logs whose key name is that origin — tlog-policy
 * requires a log's key name to be its origin — and opens the note with those log keys and every
 * witness key. core/note applies the signed-note rules: a signature by an unknown key is
 * ignored, a known key's bad signature rejects the note. Then, in order: (1) a log key for the
 * origin must have signed (a witness quorum never stands in for the log); (2) each witness with
 * a verified cosignature counts once, however many lines it has; (3) with freshness on, a
 * cosignature older than `maxAge` before `now` does not count; (4) the quorum is evaluated
 * bottom-up in definition order — a group is witnessed when k of its members are — which is
 * linear in the policy's size however groups nest or share members.
 *
 * Freshness is off by default, because a policy says nothing about time and tlog-proof leaves it
 * to the verifier; a caller that wants it passes its own clock reading (core reads no clock).
 * Timestamps after `now` are accepted: a timestamp is the witness's own statement, which a log
 * cannot move forward. The log's own signature is never judged for freshness. This module does
 * not check that a checkpoint is consistent with an earlier one, nor the empty-tree root of a
 * size-0 checkpoint (the log client does both).
 */

import { describeUntrusted, invariant, malformed, VouchError } from '../errors.ts';
import { verifyInclusion } from '../merkle/index.ts';
import { formatKeyId } from '../note/keys.ts';
import { type NoteLimits, type OpenedNote, openNote, parseNote, UnverifiedNoteError } from '../note/note.ts';
import { type NoteVerifier, verifierSet } from '../note/verifier.ts';
import { type Checkpoint, parseCheckpoint } from './checkpoint.ts';
import { createCheckpointVerifier, createCosignatureVerifier } from './cosignature.ts';
import { type Policy, type PolicyLog, type PolicyWitness, quorumNone } from './policy.ts';
import { parseTlogProof, type TlogProof } from './proof.ts';

/** Freshness asks that witness cosignatures be at most `maxAge` seconds older than `now`. */
export interface Freshness {
  /** now is the reference POSIX time in seconds, read by the caller. */
  readonly now: bigint;
  /** maxAge is in seconds, ≥ 0. */
  readonly maxAge: bigint;
}

/** CheckPolicyOptions narrows what {@link checkCheckpointPolicy} accepts; all are optional. */
export interface CheckPolicyOptions {
  /** origin, when set, is the only origin accepted (`policy-unmet` otherwise). */
  readonly origin?: string;
  /** freshness, when set, stops stale cosignatures from counting toward the quorum. */
  readonly freshness?: Freshness;
  /** noteLimits bounds the signed note (core/note's defaults otherwise). */
  readonly noteLimits?: NoteLimits;
}

/** PolicyCosignature is a witness's verified cosignature: the witness's policy name, its key and time. */
export interface PolicyCosignature {
  readonly witness: string;
  /** key is the cosignature key as `<key name>+<key ID>`. */
  readonly key: string;
  /** timestamp is the newest verified timestamp among the witness's cosignature lines. */
  readonly timestamp: bigint;
}

/** PolicyCheckedCheckpoint is what a checkpoint that met its policy establishes. */
export interface PolicyCheckedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: OpenedNote;
  /** log is the policy log whose key signed the checkpoint (the first such, if several did). */
  readonly log: PolicyLog;
  /** cosigners are the witnesses counted toward the quorum, in policy order. */
  readonly cosigners: readonly PolicyCosignature[];
  /** stale are witnesses whose cosignatures verified but were too old to count (freshness only). */
  readonly stale: readonly PolicyCosignature[];
}

/** QuorumEvaluation is the outcome of {@link evaluateQuorum}. */
export interface QuorumEvaluation {
  /** met says whether the policy's quorum witnessed the checkpoint. */
  readonly met: boolean;
  /** witnessed holds every witness and group name that witnessed it. */
  readonly witnessed: ReadonlySet<string>;
}

/**
 * evaluateQuorum evaluates the policy's quorum given the names of the witnesses that cosigned
 * (names not in the policy are ignored): `none` is always met, a witness is met when it cosigned,
 * a group when at least k of its members are. It is what a log collecting cosignatures asks
 * after each witness answers.
 */
export function evaluateQuorum(policy: Policy, cosigned: Iterable<string>): QuorumEvaluation {
  const cosignedSet = new Set(cosigned);
  const witnessed = new Set<string>();
  for (const w of policy.witnesses) if (cosignedSet.has(w.name)) witnessed.add(w.name);
  // Groups only name earlier definitions, so one pass in order sees every member decided.
  for (const group of policy.groups) {
    let count = 0;
    for (const member of group.members) if (witnessed.has(member)) count++;
    if (count >= group.k) witnessed.add(group.name);
  }
  return Object.freeze({
    met: policy.quorum === quorumNone || witnessed.has(policy.quorum),
    witnessed,
  });
}

/**
 * describeUnmetQuorum explains in one line why the quorum is not met: for the quorum and every
 * group under it that is short, how many members it has of the k it needs and which are missing
 * (at most eight groups are described). `stale` names witnesses whose cosignature was too old.
 */
export function describeUnmetQuorum(
  policy: Policy,
  evaluation: QuorumEvaluation,
  stale: ReadonlySet<string> = new Set(),
): string {
  const groups = new Map(policy.groups.map((g) => [g.name, g]));
  const witnessMark = (name: string): string =>
    `"${describeUntrusted(name)}"${stale.has(name) ? ' (stale)' : ''}`;
  const head = `witness quorum "${describeUntrusted(policy.quorum)}" is not met`;
  if (evaluation.met) return `witness quorum "${describeUntrusted(policy.quorum)}" is met`;
  if (!groups.has(policy.quorum)) {
    const why = stale.has(policy.quorum) ? 'cosignature is too old' : 'did not cosign';
    return `${head}: witness ${witnessMark(policy.quorum)} ${why}`;
  }
  const parts: string[] = [];
  const queue = [policy.quorum];
  const described = new Set<string>();
  while (queue.length > 0 && parts.length < 8) {
    const group = groups.get(queue.shift() as string);
    if (group === undefined || described.has(group.name)) continue;
    described.add(group.name);
    const missing = group.members.filter((m) => !evaluation.witnessed.has(m));
    const count = group.members.length - missing.length;
    const list = missing.map((m) => (groups.has(m) ? `group "${describeUntrusted(m)}"` : witnessMark(m)));
    parts.push(
      `group "${describeUntrusted(group.name)}" needs ${group.k} of its ${group.members.length} members and has ${count}, so ${group.k - count} more of ${list.join(', ')}`,
    );
    for (const m of missing) if (groups.has(m)) queue.push(m);
  }
  if (queue.some((name) => !described.has(name))) parts.push('...');
  return `${head}: ${parts.join('; ')}`;
}

/**
 * policyVerifiers returns note verifiers for every log and witness key of a policy, logs first:
 * what a caller opening a note against the whole policy passes to `verifierSet`.
 */
export function policyVerifiers(policy: Policy): NoteVerifier[] {
  return [
    ...policy.logs.map((log) => createCheckpointVerifier(log.key)),
    ...policy.witnesses.map((w) => createCosignatureVerifier(w.key)),
  ];
}

/**
 * checkCheckpointPolicy verifies a signed checkpoint note against a policy (see the module
 * comment) and returns the checkpoint, the log that signed it and the witnesses that counted.
 * It throws `malformed`/`too-large` for a note or checkpoint that does not parse; `policy-unmet`
 * (field `origin`) when the origin is not `options.origin` or no policy log has it;
 * `bad-signature` when a policy key's signature does not verify; `no-trusted-signature` when no
 * log key for the origin signed; and `policy-unmet` (field `quorum`) naming what is missing when
 * the witnesses fall short; `invalid-argument` for bad freshness options.
 */
export function checkCheckpointPolicy(
  signedCheckpoint: Uint8Array,
  policy: Policy,
  options: CheckPolicyOptions = {},
): PolicyCheckedCheckpoint {
  const freshness = options.freshness;
  if (
    freshness !== undefined &&
    (typeof freshness.now !== 'bigint' || typeof freshness.maxAge !== 'bigint' || freshness.maxAge < 0n)
  ) {
    throw new VouchError('invalid-argument', 'freshness needs a bigint now and a bigint maxAge ≥ 0', {
      field: 'freshness',
    });
  }
  const origin = parseCheckpoint(parseNote(signedCheckpoint, options.noteLimits).text).origin;
  if (options.origin !== undefined && origin !== options.origin) {
    throw new VouchError(
      'policy-unmet',
      `the checkpoint is for origin "${describeUntrusted(origin)}", not "${describeUntrusted(options.origin)}"`,
      { field: 'origin' },
    );
  }
  // tlog-policy: "the log's vkey includes a key name. This name MUST correspond to the log's origin".
  const logs = policy.logs.filter((log) => log.key.name === origin);
  if (logs.length === 0) {
    throw new VouchError('policy-unmet', `the policy has no log for origin "${describeUntrusted(origin)}"`, {
      field: 'origin',
    });
  }
  const logVerifiers = logs.map((log) => createCheckpointVerifier(log.key));
  const witnessVerifiers = policy.witnesses.map((w) => createCosignatureVerifier(w.key));
  let note: OpenedNote;
  try {
    note = openNote(
      signedCheckpoint,
      verifierSet([...logVerifiers, ...witnessVerifiers]),
      options.noteLimits,
    );
  } catch (error) {
    if (error instanceof UnverifiedNoteError) throw notSignedByLog(origin);
    throw error;
  }
  const checkpoint = parseCheckpoint(note.text);
  invariant(checkpoint.origin === origin, 'the opened checkpoint changed origin');

  // (1) the log's own signature.
  const log = logs.find((l) => note.verified.some((s) => s.name === l.key.name && s.keyId === l.key.keyId));
  if (log === undefined) throw notSignedByLog(origin);

  // (2) and (3): each witness once, at its newest verified timestamp, unless stale.
  const cosigners: PolicyCosignature[] = [];
  const stale: PolicyCosignature[] = [];
  policy.witnesses.forEach((witness, i) => {
    const cosignature = cosignatureOf(note, witness, witnessVerifiers[i] as NoteVerifier);
    if (cosignature === undefined) return;
    if (freshness !== undefined && cosignature.timestamp < freshness.now - freshness.maxAge) {
      stale.push(cosignature);
    } else {
      cosigners.push(cosignature);
    }
  });

  // (4) the quorum.
  const evaluation = evaluateQuorum(
    policy,
    cosigners.map((c) => c.witness),
  );
  if (!evaluation.met) {
    const staleNames = new Set(stale.map((c) => c.witness));
    throw new VouchError('policy-unmet', describeUnmetQuorum(policy, evaluation, staleNames), {
      field: 'quorum',
      quorum: policy.quorum,
      cosigners: cosigners.map((c) => c.witness),
      stale: [...staleNames],
    });
  }
  return Object.freeze({
    checkpoint,
    note,
    log,
    cosigners: Object.freeze(cosigners),
    stale: Object.freeze(stale),
  });
}

/** PolicyCheckedTlogProof is what a tlog-proof that checked against a policy establishes. */
export interface PolicyCheckedTlogProof extends PolicyCheckedCheckpoint {
  readonly index: bigint;
}

/**
 * checkTlogProofPolicy verifies an offline tlog-proof (its bytes, or a parsed proof) for an
 * entry whose leaf hash the caller computed, as tlog-proof orders it: the checkpoint against
 * the policy ({@link checkCheckpointPolicy}, with its errors), then the inclusion proof from
 * `leafHash` at the proof's index to the checkpoint's root (`bad-proof` otherwise).
 */
export function checkTlogProofPolicy(
  proof: Uint8Array | TlogProof,
  leafHash: Uint8Array,
  policy: Policy,
  options: CheckPolicyOptions = {},
): PolicyCheckedTlogProof {
  const parsed = proof instanceof Uint8Array ? parseTlogProof(proof) : proof;
  if (!(leafHash instanceof Uint8Array) || leafHash.length !== 32) {
    throw malformed('leaf hash is not 32 bytes', 'leafHash');
  }
  const checked = checkCheckpointPolicy(parsed.checkpoint, policy, options);
  const { checkpoint } = checked;
  verifyInclusion(leafHash, parsed.index, checkpoint.size, parsed.proof, checkpoint.root);
  return Object.freeze({ ...checked, index: parsed.index });
}

// cosignatureOf returns the witness's cosignature in an opened note, at the newest timestamp of
// its lines (openNote verified every one of them and lists the key once), or undefined.
function cosignatureOf(
  note: OpenedNote,
  witness: PolicyWitness,
  verifier: NoteVerifier,
): PolicyCosignature | undefined {
  const { name, keyId } = witness.key;
  if (!note.verified.some((s) => s.name === name && s.keyId === keyId)) return undefined;
  let newest: bigint | undefined;
  for (const s of note.signatures) {
    if (s.name !== name || s.keyId !== keyId) continue;
    const timestamp = verifier.timestampOf?.(s.signature);
    invariant(timestamp !== undefined, 'a cosignature verifier without timestamps');
    if (newest === undefined || timestamp > newest) newest = timestamp;
  }
  invariant(newest !== undefined, 'a verified witness without a signature line');
  return Object.freeze({ witness: witness.name, key: `${name}+${formatKeyId(keyId)}`, timestamp: newest });
}

function notSignedByLog(origin: string): VouchError {
  return new VouchError(
    'no-trusted-signature',
    `the checkpoint is not signed by a policy log key for origin "${describeUntrusted(origin)}"`,
    { origin: describeUntrusted(origin) },
  );
}
