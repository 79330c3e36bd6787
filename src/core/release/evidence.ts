/**
 * The release evidence check shared by the supervisor's approver and the endpoint agent
 * (docs/updates.md, "What the agent checks" and "Release policy"): given a target and the
 * evidence files its `custom.vouch` names, decide under a release policy whether it was built at
 * a trusted site from reviewed source, reproduced by k independent rebuilders, and logged.
 *
 * Checks, in order (each names the attack it stops, as `details.attack` of its error):
 *
 * 1. `provenance` — the SLSA provenance envelope verifies under some builder key of the policy
 *    and parses as conveyer provenance (`wrong-builder`);
 * 2. `builder` — its `builder.id` is a policy builder and the envelope is signed by a key of
 *    that builder, not of another site (`wrong-builder`);
 * 3. `hermetic` — the build was hermetic, unless that builder allows otherwise (`not-hermetic`);
 * 4. `subject` — the target's SHA-256 is a provenance subject (`unbuilt`);
 * 5. `rebuilds` — at least `threshold` distinct trusted rebuilder keys signed rebuild
 *    attestations with verdict `match` for this exact provenance envelope (by the SHA-256 of its
 *    bytes). A match means the rebuilder rebuilt the same source tree (the rebuild refuses
 *    another tree or commit) and got every provenance subject — so the target — bit for bit
 *    (`rebuild`);
 * 6. `review` — a review statement signed by `threshold` distinct reviewer keys, `approved`,
 *    for the provenance's commit or tree hash (`unreviewed`);
 * 7. `logged` — every evidence file relied on has an inclusion proof in the release log under a
 *    checkpoint with the witness quorum (`unlogged`, `split-view`).
 *
 * Evidence that the policy does not require never fails the verdict: rebuilds and a review given
 * when not required are verified and reported, and counted as inputs only if they verify. A
 * check that depends on a failed one is `skipped`. {@link evaluateReleaseEvidence} returns every
 * check for the approver to print (and a FAILED VSA to sign); {@link checkReleaseEvidence}
 * throws the first failure, for the agent. Pure: no clock, no I/O; the caller fetched the bytes.
 */

import { parseEnvelope } from '../attest/dsse.ts';
import { matchSubjects, type OpenedStatement, openStatement } from '../attest/statement.ts';
import { parseRebuildAttestation } from '../build/attestation.ts';
import { type Provenance, parseProvenance } from '../build/provenance.ts';
import { formatHex } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { type ErrorCode, isVouchError, VouchError } from '../errors.ts';
import type { Freshness } from '../tlog/quorum.ts';
import { checkLoggedEntry, type LogAttack } from './logged.ts';
import type { ReleasePolicy, TrustedKey } from './policy.ts';
import { parseReviewStatement, reviewCoversSource } from './review.ts';

/** maxEvidenceBytes bounds one evidence file, a DSSE envelope (docs/updates.md: 64 KiB). */
export const maxEvidenceBytes = 64 * 1024;

/** maxRebuildAttestations bounds the rebuild attestations of one target. */
export const maxRebuildAttestations = 64;

/** ReleaseAttack names what a failed check would have let through. */
export type ReleaseAttack =
  | 'wrong-builder'
  | 'not-hermetic'
  | 'unbuilt'
  | 'rebuild'
  | 'unreviewed'
  | LogAttack;

/** ReleaseCheckName names the checks, in the order they run. */
export type ReleaseCheckName =
  | 'provenance'
  | 'builder'
  | 'hermetic'
  | 'subject'
  | 'rebuilds'
  | 'review'
  | 'logged';

/** ReleaseCheck is the outcome of one check; a failed one carries its error. */
export interface ReleaseCheck {
  readonly name: ReleaseCheckName;
  readonly status: 'passed' | 'failed' | 'skipped';
  /** reason says why, in words safe to print (no untrusted text beyond sanitised excerpts). */
  readonly reason: string;
  /** error is set when failed: a VouchError with `details.attack` and `details.check`. */
  readonly error?: VouchError;
}

/** ReleaseTarget is the target being released, as the repository's targets metadata lists it. */
export interface ReleaseTarget {
  readonly name: string;
  /** sha256 is the lowercase hex SHA-256 of the target file. */
  readonly sha256: string;
  readonly length: number;
}

/** ReleaseEvidence is a target and the bytes of its evidence files. */
export interface ReleaseEvidence {
  readonly target: ReleaseTarget;
  /** provenance is the SLSA provenance DSSE envelope, as published. */
  readonly provenance: Uint8Array;
  /** rebuilds are rebuild attestation DSSE envelopes. */
  readonly rebuilds: readonly Uint8Array[];
  /** review is the source review DSSE envelope, when there is one. */
  readonly review?: Uint8Array;
  /** proofs maps the hex SHA-256 of an evidence file to its tlog-proof (`log/<sha256>.tlog-proof`). */
  readonly proofs?: ReadonlyMap<string, Uint8Array>;
}

/** EvaluateOptions tunes {@link evaluateReleaseEvidence}. */
export interface EvaluateOptions {
  /**
   * requireLogged (default true) runs the `logged` check. The approver may set it false when it
   * approves before the evidence is logged; the agent never does.
   */
  readonly requireLogged?: boolean;
  /** freshness, when set, stops stale witness cosignatures from counting. */
  readonly freshness?: Freshness;
}

/** EvidenceKind says what an evidence file is. */
export type EvidenceKind = 'provenance' | 'rebuild' | 'review';

/** EvidenceFile is one evidence file given: its kind, SHA-256 and whether the verdict relied on it. */
export interface EvidenceFile {
  readonly kind: EvidenceKind;
  readonly sha256: string;
  /** relied is true when the file verified and counted: these are a VSA's input attestations. */
  readonly relied: boolean;
  /** reason says why a file was not relied on, or what it established. */
  readonly reason: string;
}

/** ReleaseVerdict lists every check and what was established. */
export interface ReleaseVerdict {
  /** passed is true when no check failed. */
  readonly passed: boolean;
  readonly target: ReleaseTarget;
  readonly checks: readonly ReleaseCheck[];
  /** provenance is set when it verified under a policy builder key and parsed. */
  readonly provenance?: Provenance;
  /** builderTrusted is true when the `builder` check passed. */
  readonly builderTrusted: boolean;
  /** evidence lists every file given, provenance first, then rebuilds in order, then the review. */
  readonly evidence: readonly EvidenceFile[];
  /** matchingRebuilders counts the distinct trusted rebuilder keys whose attestation matched. */
  readonly matchingRebuilders: number;
}

const hex64 = /^[0-9a-f]{64}$/;

/**
 * evaluateReleaseEvidence runs every check and returns the verdict; it throws only for a caller
 * error (`invalid-argument`: a target that is not a name, SHA-256 and length) or a bug. The
 * evidence bytes are untrusted: whatever they hold becomes a failed check, never a throw.
 */
export function evaluateReleaseEvidence(
  policy: ReleasePolicy,
  evidence: ReleaseEvidence,
  options: EvaluateOptions = {},
): ReleaseVerdict {
  const { target } = evidence;
  if (
    typeof target.name !== 'string' ||
    target.name.length === 0 ||
    typeof target.sha256 !== 'string' ||
    !hex64.test(target.sha256) ||
    !Number.isSafeInteger(target.length) ||
    target.length < 0
  ) {
    throw new VouchError('invalid-argument', 'the release target needs a name, a hex SHA-256 and a length', {
      field: 'target',
    });
  }
  const checks: ReleaseCheck[] = [];
  const pass = (name: ReleaseCheckName, reason: string): void => {
    checks.push(Object.freeze({ name, status: 'passed', reason }));
  };
  const skip = (name: ReleaseCheckName, reason: string): void => {
    checks.push(Object.freeze({ name, status: 'skipped', reason }));
  };
  const fail = (
    name: ReleaseCheckName,
    attack: ReleaseAttack,
    code: ErrorCode,
    reason: string,
    cause?: unknown,
  ): void => {
    const error = new VouchError(
      code,
      `release of ${describeTarget(target)} refused (${attack}): ${reason}`,
      { attack, check: name },
      cause === undefined ? undefined : { cause },
    );
    checks.push(Object.freeze({ name, status: 'failed', reason, error }));
  };

  // 1. provenance signature and shape.
  const provenanceSha256 = formatHex(sha256(evidence.provenance));
  const builderKeys = policy.builders.flatMap((b) => b.keys);
  let opened: OpenedStatement | undefined;
  let provenance: Provenance | undefined;
  try {
    opened = openEvidence(evidence.provenance, builderKeys, 1);
    provenance = parseProvenance(opened.statement);
    pass('provenance', `provenance is signed by ${keyNames(builderKeys, opened.verifiedKeyIds)}`);
  } catch (error) {
    const { code, reason } = describe(error, 'provenance');
    fail('provenance', 'wrong-builder', code, reason, error);
  }

  // 2. builder id and its own key; 3. hermetic; 4. subject.
  let builderTrusted = false;
  if (provenance === undefined || opened === undefined) {
    skip('builder', 'the provenance did not verify');
    skip('hermetic', 'the provenance did not verify');
    skip('subject', 'the provenance did not verify');
  } else {
    const verifiedKeyIds = opened.verifiedKeyIds;
    const builder = policy.builders.find((b) => b.id === provenance.builderId);
    if (builder === undefined) {
      fail(
        'builder',
        'wrong-builder',
        'policy-unmet',
        `builder.id ${quote(provenance.builderId)} is not a trusted builder`,
      );
    } else if (!builder.keys.some((k) => verifiedKeyIds.includes(k.verifier.keyId))) {
      fail(
        'builder',
        'wrong-builder',
        'no-trusted-signature',
        `the provenance claims builder ${quote(builder.id)} but is signed by ${keyNames(builderKeys, verifiedKeyIds)}, a key of another builder`,
      );
    } else {
      builderTrusted = true;
      pass('builder', `built by ${quote(builder.id)}`);
    }
    if (provenance.hermetic) pass('hermetic', 'the build was hermetic');
    else if (builder?.allowNonHermetic === true)
      pass('hermetic', 'the build was not hermetic, which this builder is allowed');
    else
      fail(
        'hermetic',
        'not-hermetic',
        'policy-unmet',
        'the build was not hermetic (hermetic: false in the provenance)',
      );
    if (matchSubjects(opened.statement, { sha256: target.sha256 }).length > 0) {
      pass('subject', `the target's SHA-256 is a provenance subject`);
    } else {
      fail(
        'subject',
        'unbuilt',
        'bad-digest',
        `the target's SHA-256 ${target.sha256} is not a subject of the provenance`,
      );
    }
  }
  const evidenceFiles: EvidenceFile[] = [
    Object.freeze({
      kind: 'provenance',
      sha256: provenanceSha256,
      relied: provenance !== undefined,
      reason: provenance === undefined ? 'did not verify' : 'verified',
    }),
  ];

  // 5. rebuilds.
  const rebuilds = rebuildsOf(policy, evidence.rebuilds, provenanceSha256);
  evidenceFiles.push(...rebuilds.files);
  const { rebuilders } = policy;
  const summary = `${rebuilds.matched} of the required ${rebuilders.threshold} trusted rebuilders matched`;
  if (!rebuilders.required) {
    pass('rebuilds', `not required (${rebuilds.matched} trusted rebuilders matched)`);
  } else if (rebuilds.tooMany) {
    fail('rebuilds', 'rebuild', 'too-large', `more than ${maxRebuildAttestations} rebuild attestations`);
  } else if (rebuilds.matched >= rebuilders.threshold) {
    pass('rebuilds', summary);
  } else {
    const why = rebuilds.files.map((f, i) => `#${i}: ${f.reason}`);
    fail(
      'rebuilds',
      'rebuild',
      'policy-unmet',
      `${summary}${why.length === 0 ? '; none given' : `; ${why.join('; ')}`}`,
    );
  }

  // 6. review.
  const review = reviewOf(policy, evidence.review, provenance);
  if (review.file !== undefined) evidenceFiles.push(review.file);
  if (!policy.review.required)
    pass('review', `not required${review.outcome === undefined ? '' : ` (${review.outcome})`}`);
  else if (review.skipped) skip('review', review.outcome ?? 'the provenance did not verify');
  else if (review.file?.relied === true) pass('review', review.outcome ?? 'reviewed');
  else fail('review', 'unreviewed', review.code, review.outcome ?? 'no review statement was given');

  // 7. logged.
  if (options.requireLogged === false) {
    skip('logged', 'not checked: the caller did not ask for logged evidence');
  } else {
    const given = [evidence.provenance, ...evidence.rebuilds.slice(0, maxRebuildAttestations)];
    if (evidence.review !== undefined) given.push(evidence.review);
    const relied = evidenceFiles.map((f, i) => ({ file: f, bytes: given[i] })).filter((x) => x.file.relied);
    const failures: { error: VouchError; attack: ReleaseAttack }[] = [];
    for (const { file, bytes } of relied) {
      if (bytes === undefined)
        throw new VouchError('invariant', 'internal error: evidence bytes out of step');
      try {
        checkLoggedEntry(
          policy.log,
          bytes,
          evidence.proofs?.get(file.sha256),
          `the ${file.kind} ${file.sha256}`,
          {
            ...(options.freshness === undefined ? {} : { freshness: options.freshness }),
          },
        );
      } catch (error) {
        if (
          !isVouchError(error) ||
          (error.details['attack'] !== 'unlogged' && error.details['attack'] !== 'split-view')
        ) {
          throw error;
        }
        failures.push({ error, attack: error.details['attack'] });
      }
    }
    const first = failures[0];
    if (first === undefined) {
      if (relied.length === 0) skip('logged', 'no evidence verified');
      else pass('logged', `${relied.length} evidence files are logged with the witness quorum`);
    } else {
      fail(
        'logged',
        first.attack,
        first.error.code,
        failures.map((f) => f.error.message).join('; '),
        first.error,
      );
    }
  }

  return Object.freeze({
    passed: checks.every((c) => c.status !== 'failed'),
    target: Object.freeze({ name: target.name, sha256: target.sha256, length: target.length }),
    checks: Object.freeze(checks),
    ...(provenance === undefined ? {} : { provenance }),
    builderTrusted,
    evidence: Object.freeze(evidenceFiles),
    matchingRebuilders: rebuilds.matched,
  });
}

/**
 * checkReleaseEvidence runs {@link evaluateReleaseEvidence} and returns the verdict when it
 * passed, or throws the error of the first failed check: a VouchError whose `details.attack`
 * names the attack ({@link ReleaseAttack}) and `details.check` the check. The agent uses it to
 * fail closed.
 */
export function checkReleaseEvidence(
  policy: ReleasePolicy,
  evidence: ReleaseEvidence,
  options: EvaluateOptions = {},
): ReleaseVerdict {
  const verdict = evaluateReleaseEvidence(policy, evidence, options);
  const failed = verdict.checks.find((c) => c.status === 'failed');
  if (failed === undefined) return verdict;
  if (failed.error === undefined)
    throw new VouchError('invariant', 'internal error: a failed check without an error');
  throw failed.error;
}

interface Rebuilds {
  readonly files: EvidenceFile[];
  readonly matched: number;
  readonly tooMany: boolean;
}

// rebuildsOf verifies each rebuild attestation and counts the distinct trusted keys that signed
// a match for this provenance envelope.
function rebuildsOf(policy: ReleasePolicy, list: readonly Uint8Array[], provenanceSha256: string): Rebuilds {
  const keys = policy.rebuilders.keys;
  const counted = new Set<string>();
  const files: EvidenceFile[] = [];
  for (const bytes of list.slice(0, maxRebuildAttestations)) {
    const digest = formatHex(sha256(bytes));
    const file = (relied: boolean, reason: string): void => {
      files.push(Object.freeze({ kind: 'rebuild', sha256: digest, relied, reason }));
    };
    if (keys.length === 0) {
      file(false, 'the policy lists no rebuilder keys');
      continue;
    }
    let opened: OpenedStatement;
    let attestation: ReturnType<typeof parseRebuildAttestation>;
    try {
      opened = openEvidence(bytes, keys, 1);
      attestation = parseRebuildAttestation(opened.statement);
    } catch (error) {
      file(false, describe(error, 'rebuild attestation').reason);
      continue;
    }
    const by = keyNames(keys, opened.verifiedKeyIds);
    if (attestation.provenanceSha256 !== provenanceSha256) {
      file(false, `${by} attests another provenance (${attestation.provenanceSha256})`);
    } else if (attestation.result !== 'match') {
      file(false, `${by} rebuilt it and got ${attestation.differences.length} different files (mismatch)`);
    } else {
      const fresh = opened.verifiedKeyIds.filter((k) => !counted.has(k));
      if (fresh.length === 0) {
        file(false, `${by} already counted`);
        continue;
      }
      for (const k of fresh) counted.add(k);
      file(true, `${by} rebuilt it and matched`);
    }
  }
  return { files, matched: counted.size, tooMany: list.length > maxRebuildAttestations };
}

interface ReviewOutcome {
  readonly file?: EvidenceFile;
  /** outcome is the reason to report, when there is something to say. */
  readonly outcome?: string;
  readonly code: ErrorCode;
  /** skipped is true when the review could not be judged because the provenance failed. */
  readonly skipped: boolean;
}

function reviewOf(
  policy: ReleasePolicy,
  bytes: Uint8Array | undefined,
  provenance: Provenance | undefined,
): ReviewOutcome {
  if (bytes === undefined) return { code: 'not-found', skipped: false };
  const digest = formatHex(sha256(bytes));
  const result = (
    relied: boolean,
    outcome: string,
    code: ErrorCode = 'policy-unmet',
    skipped = false,
  ): ReviewOutcome => ({
    file: Object.freeze({ kind: 'review', sha256: digest, relied, reason: outcome }),
    outcome,
    code,
    skipped,
  });
  const { keys, threshold } = policy.review;
  if (keys.length === 0) return result(false, 'the policy lists no reviewer keys');
  let opened: OpenedStatement;
  let review: ReturnType<typeof parseReviewStatement>;
  try {
    opened = openEvidence(bytes, keys, Math.max(threshold, 1));
    review = parseReviewStatement(opened.statement);
  } catch (error) {
    const { code, reason } = describe(error, 'review statement');
    return result(false, reason, code);
  }
  const by = keyNames(keys, opened.verifiedKeyIds);
  if (review.result !== 'approved') return result(false, `the review by ${by} did not approve the source`);
  if (provenance === undefined) return result(false, 'the provenance did not verify', 'policy-unmet', true);
  if (!reviewCoversSource(review.source, provenance.source)) {
    return result(false, `the review by ${by} is of another source than the provenance's`, 'bad-digest');
  }
  return result(true, `the source was reviewed and approved by ${by}`);
}

// openEvidence parses an evidence envelope within its bound and opens it with `threshold` of `keys`.
function openEvidence(bytes: Uint8Array, keys: readonly TrustedKey[], threshold: number): OpenedStatement {
  if (bytes.length > maxEvidenceBytes) {
    throw new VouchError('too-large', `the evidence file exceeds the limit of ${maxEvidenceBytes} bytes`, {
      limit: maxEvidenceBytes,
    });
  }
  const envelope = parseEnvelope(bytes, { maxBytes: maxEvidenceBytes });
  return openStatement(
    envelope,
    keys.map((k) => k.verifier),
    threshold,
  );
}

// describe turns an evidence failure into a code and a printable reason; bugs propagate.
function describe(error: unknown, what: string): { code: ErrorCode; reason: string } {
  if (!isVouchError(error) || error.code === 'invariant') throw error;
  if (error.code === 'policy-unmet' && typeof error.details.limit === 'number') {
    return {
      code: 'no-trusted-signature',
      reason: `the ${what} is not signed by ${error.details.limit} trusted key${error.details.limit === 1 ? '' : 's'}: ${error.message}`,
    };
  }
  return { code: error.code, reason: `the ${what} is invalid: ${error.message}` };
}

function keyNames(keys: readonly TrustedKey[], keyIds: readonly string[]): string {
  const names = keyIds.map((id) => keys.find((k) => k.verifier.keyId === id)?.name ?? id.slice(0, 16));
  return names.map(quote).join(', ');
}

function quote(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return `"${clean.length > 80 ? `${clean.slice(0, 77)}...` : clean}"`;
}

function describeTarget(target: ReleaseTarget): string {
  return quote(target.name);
}
