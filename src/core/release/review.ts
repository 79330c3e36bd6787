/**
 * The source review statement: what reviewers sign after reviewing a commit, so that a policy
 * can require "built from reviewed source" (DESIGN.md, release step 1; SLSA Source L4 asks for
 * two-party review). It is an in-toto Statement v1
 * (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) of predicate type
 * {@link reviewStatementType}, signed in one DSSE envelope by every reviewer key, so a k-of-n
 * review is one envelope with k signatures:
 *
 * ```json
 * { "subject": [{ "name": "source", "digest": { "gitCommit": "<40/64 hex>", "vouchTree": "<64 hex>" } }],
 *   "predicate": { "reviewers": ["alice@example.org"], "result": "approved",
 *                  "reviewedOn": "2026-01-02T03:04:05Z" } }
 * ```
 *
 * The subject names the source by git commit, by Vouch tree hash (core/build/tree-hash.ts, under
 * the digest name {@link treeHashDigest}) or both, the identities SLSA provenance records in
 * `externalParameters.source`. `reviewers` are display names; what counts is the signing keys.
 * Because neither digest is one of in-toto's default accepted algorithms, sign with
 * {@link signReviewStatement}, not the generic `signStatement`. This module does not decide
 * whether a review suffices (`evidence.ts` applies the policy).
 */

import { type Envelope, type EnvelopeSigner, signEnvelope } from '../attest/dsse.ts';
import { FieldProblems } from '../attest/fields.ts';
import { buildStatement, formatStatement, inTotoPayloadType, type Statement } from '../attest/statement.ts';
import type { ProvenanceSource } from '../build/provenance.ts';
import { VouchError } from '../errors.ts';
import { isJsonArray, type JsonObject } from '../json/index.ts';

/** reviewStatementType is the predicateType of Vouch source review statements. */
export const reviewStatementType = 'https://vouch.example/attestations/review/v1';

/** treeHashDigest is the digest algorithm name of a Vouch source tree hash in a subject. */
export const treeHashDigest = 'vouchTree';

/** maxReviewers bounds the reviewer list. */
export const maxReviewers = 64;

/** ReviewResult is a reviewer verdict; only `approved` satisfies a policy. */
export type ReviewResult = 'approved' | 'rejected';

/** ReviewedSource names the reviewed source; at least one of `commit` and `treeHash` is set. */
export interface ReviewedSource {
  readonly uri?: string;
  /** commit is the git commit id (40 or 64 lowercase hex). */
  readonly commit?: string;
  /** treeHash is the Vouch tree hash (64 lowercase hex). */
  readonly treeHash?: string;
}

/** Review is a validated review statement. */
export interface Review {
  readonly source: ReviewedSource;
  readonly reviewers: readonly string[];
  readonly result: ReviewResult;
  readonly reviewedOn?: string;
}

const commitPattern = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const hex64 = /^[0-9a-f]{64}$/;
const timePattern = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;

/**
 * buildReviewStatement returns the statement reviewers sign. It throws `invalid-argument` naming
 * every bad field when the result would not pass {@link parseReviewStatement}.
 */
export function buildReviewStatement(input: Review): Statement {
  const digest: Record<string, string> = {};
  if (input.source.commit !== undefined) digest['gitCommit'] = input.source.commit;
  if (input.source.treeHash !== undefined) digest[treeHashDigest] = input.source.treeHash;
  const predicate: JsonObject = {
    reviewers: [...input.reviewers],
    result: input.result,
    ...(input.reviewedOn === undefined ? {} : { reviewedOn: input.reviewedOn }),
  };
  try {
    const statement = buildStatement(
      {
        subject: [
          { name: 'source', ...(input.source.uri === undefined ? {} : { uri: input.source.uri }), digest },
        ],
        predicateType: reviewStatementType,
        predicate,
      },
      ['gitCommit', treeHashDigest],
    );
    parseReviewStatement(statement);
    return statement;
  } catch (cause) {
    if (!(cause instanceof VouchError) || cause.code !== 'malformed') throw cause;
    throw new VouchError('invalid-argument', cause.message, cause.details, { cause });
  }
}

/**
 * signReviewStatement validates `statement` as a review and signs it into a DSSE envelope of
 * the in-toto payload type with every reviewer's signer (see `signEnvelope` for its errors).
 */
export async function signReviewStatement(
  statement: Statement,
  signers: readonly EnvelopeSigner[],
): Promise<Envelope> {
  try {
    parseReviewStatement(statement);
  } catch (cause) {
    if (!(cause instanceof VouchError) || cause.code !== 'malformed') throw cause;
    throw new VouchError('invalid-argument', cause.message, cause.details, { cause });
  }
  return signEnvelope(inTotoPayloadType, formatStatement(statement), signers);
}

/**
 * parseReviewStatement validates a statement as a review. It throws `malformed` naming every
 * bad field path (`details.fields`): exactly one subject whose digest has a `gitCommit` and/or
 * {@link treeHashDigest} and nothing else, 1 to {@link maxReviewers} printable reviewer names,
 * a known result and an optional `YYYY-MM-DDTHH:MM:SSZ` time.
 */
export function parseReviewStatement(statement: Statement): Review {
  const problems = new FieldProblems();
  if (statement.predicateType !== reviewStatementType)
    problems.add(['predicateType'], `not ${reviewStatementType}`);
  const subject = statement.subject[0];
  const source: { uri?: string; commit?: string; treeHash?: string } = {};
  if (statement.subject.length !== 1 || subject === undefined) {
    problems.add(['subject'], 'not exactly one source');
  } else {
    for (const algorithm of Object.keys(subject.digest)) {
      const value = subject.digest[algorithm] ?? '';
      if (algorithm === 'gitCommit' && commitPattern.test(value)) source.commit = value;
      else if (algorithm === treeHashDigest && hex64.test(value)) source.treeHash = value;
      else problems.add(['subject', 0, 'digest', algorithm], 'not a git commit or a Vouch tree hash');
    }
    if (source.commit === undefined && source.treeHash === undefined) {
      problems.add(['subject', 0, 'digest'], 'names neither a commit nor a tree hash');
    }
    if (subject.uri !== undefined) source.uri = subject.uri;
  }
  const p = statement.predicate;
  const list = p['reviewers'];
  const reviewers: string[] = [];
  if (!isJsonArray(list) || list.length === 0 || list.length > maxReviewers) {
    problems.add(['predicate', 'reviewers'], `not a list of 1 to ${maxReviewers} names`);
  } else {
    list.forEach((name, i) => {
      if (isReviewerName(name)) reviewers.push(name);
      else problems.add(['predicate', 'reviewers', i], 'not a printable name of at most 256 characters');
    });
  }
  const result = p['result'];
  if (result !== 'approved' && result !== 'rejected')
    problems.add(['predicate', 'result'], 'not approved or rejected');
  const reviewedOn = p['reviewedOn'];
  if (reviewedOn !== undefined && (typeof reviewedOn !== 'string' || !timePattern.test(reviewedOn))) {
    problems.add(['predicate', 'reviewedOn'], 'not a YYYY-MM-DDTHH:MM:SSZ time');
  }
  problems.throwIfAny('review statement');
  return Object.freeze({
    source: Object.freeze(source),
    reviewers: Object.freeze(reviewers),
    result: result as ReviewResult,
    ...(typeof reviewedOn === 'string' ? { reviewedOn } : {}),
  });
}

/**
 * reviewCoversSource reports whether a review is of the source a provenance records: they share
 * the commit or the tree hash, and disagree on neither where both name it.
 */
export function reviewCoversSource(reviewed: ReviewedSource, built: ProvenanceSource): boolean {
  let shared = 0;
  if (reviewed.commit !== undefined && built.commit !== undefined) {
    if (reviewed.commit !== built.commit) return false;
    shared++;
  }
  if (reviewed.treeHash !== undefined) {
    if (reviewed.treeHash !== built.treeHash) return false;
    shared++;
  }
  return shared > 0;
}

// isReviewerName accepts 1 to 256 characters of well-formed text without control characters.
function isReviewerName(name: unknown): name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256 || !name.isWellFormed())
    return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}
