/**
 * in-toto Statement v1 (https://github.com/in-toto/attestation, spec/v1/statement.md, v1.1):
 * building, validating, formatting, and signing or opening it as the payload of a DSSE envelope
 * of type `application/vnd.in-toto+json` (spec/v1/envelope.md).
 *
 * Validation names every bad field path at once (`details.fields`). Beyond the schema it is
 * fail-closed where the spec only says SHOULD: `subject` must be non-empty, and subject `name`
 * (other than the placeholder `_`) and `uri` must be unique, so a policy that selects a subject by
 * name can never see two digests for it. Unknown fields are ignored (README.md "Parsing rules");
 * an unset or null `predicate` reads as `{}`. Statements are written as compact JSON with sorted
 * keys (`formatJson`), never canonical JSON: DSSE signs the payload bytes as they are, and
 * canonical JSON would emit raw control characters that other parsers refuse. This module does
 * not interpret predicates (SLSA provenance, VSA); their own modules do.
 */

import { VouchError } from '../errors.ts';
import {
  formatJson,
  isJsonArray,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseJson,
} from '../json/index.ts';
import {
  defaultEnvelopeLimits,
  type Envelope,
  type EnvelopeSigner,
  type EnvelopeVerifier,
  type SignatureReport,
  signEnvelope,
  verifyEnvelope,
} from './dsse.ts';
import { FieldProblems } from './fields.ts';
import {
  type DigestSet,
  defaultAcceptedDigests,
  descriptorToJson,
  digestSetsMatch,
  type ResourceDescriptor,
  readDescriptor,
  uriProblem,
} from './resource-descriptor.ts';

/** statementType is the `_type` of every in-toto Statement v1. */
export const statementType = 'https://in-toto.io/Statement/v1';

/** inTotoPayloadType is the DSSE payload type of an in-toto statement. */
export const inTotoPayloadType = 'application/vnd.in-toto+json';

/** Subject is a statement subject: a ResourceDescriptor whose digest is always set. */
export type Subject = ResourceDescriptor & { readonly digest: DigestSet };

/** Statement is a validated in-toto Statement v1; parsed statements are deeply frozen. */
export interface Statement {
  readonly subject: readonly Subject[];
  readonly predicateType: string;
  readonly predicate: JsonObject;
}

/** StatementLimits bounds what {@link parseStatement} reads. */
export interface StatementLimits {
  /** maxBytes is the largest statement accepted (default: the DSSE envelope limit, 4 MiB). */
  readonly maxBytes?: number;
  /** maxSubjects is the most subjects one statement may list (default 4096). */
  readonly maxSubjects?: number;
}

/** defaultMaxSubjects is the subject count limit used when a caller gives none. */
export const defaultMaxSubjects = 4096;

/** isInTotoPayloadType reports whether a DSSE payload type announces an in-toto statement. */
export function isInTotoPayloadType(payloadType: string): boolean {
  return (
    payloadType === inTotoPayloadType ||
    /^application\/vnd\.in-toto\.[a-z0-9][a-z0-9._-]*\+json$/.test(payloadType)
  );
}

/**
 * parseStatement reads and validates a statement from JSON bytes. It throws `too-large` over
 * `maxBytes` or `maxSubjects`, and `malformed` naming every bad field path in `details.fields`.
 */
export function parseStatement(bytes: Uint8Array, limits: StatementLimits = {}): Statement {
  const maxBytes = limits.maxBytes ?? defaultEnvelopeLimits.maxBytes;
  return statementFromJson(parseJson(bytes, { maxBytes, allowFloats: true }), limits);
}

/** statementFromJson validates an already parsed JSON value as a statement, like {@link parseStatement}. */
export function statementFromJson(value: JsonValue, limits: StatementLimits = {}): Statement {
  const maxSubjects = limits.maxSubjects ?? defaultMaxSubjects;
  if (!isJsonObject(value)) {
    throw new VouchError('malformed', 'in-toto statement is not a JSON object', {
      field: '$',
      fields: ['$'],
    });
  }
  const problems = new FieldProblems();
  const type = value['_type'];
  if (type !== statementType) {
    problems.add(['_type'], type === undefined ? 'missing' : `not ${statementType}`);
  }
  const list = value['subject'];
  const subject: Subject[] = [];
  if (!isJsonArray(list)) {
    problems.add(['subject'], list === undefined ? 'missing' : 'not an array');
  } else if (list.length > maxSubjects) {
    throw new VouchError('too-large', `in-toto statement subject count exceeds the limit of ${maxSubjects}`, {
      limit: maxSubjects,
      field: 'subject',
    });
  } else {
    if (list.length === 0) problems.add(['subject'], 'is empty');
    const names = new Set<string>();
    const uris = new Set<string>();
    list.forEach((entry, i) => {
      const descriptor = readDescriptor(entry, ['subject', i], problems, true);
      if (descriptor?.digest === undefined) return;
      const { name, uri } = descriptor;
      if (name !== undefined && name !== '_') {
        if (names.has(name)) problems.add(['subject', i, 'name'], 'duplicates an earlier subject name');
        names.add(name);
      }
      if (uri !== undefined) {
        if (uris.has(uri)) problems.add(['subject', i, 'uri'], 'duplicates an earlier subject uri');
        uris.add(uri);
      }
      subject.push(descriptor as Subject);
    });
  }
  const predicateType = value['predicateType'];
  if (typeof predicateType !== 'string') {
    problems.add(['predicateType'], predicateType === undefined ? 'missing' : 'not a string');
  } else {
    const bad = uriProblem(predicateType);
    if (bad !== undefined) problems.add(['predicateType'], bad);
  }
  const predicate = value['predicate'] ?? Object.freeze({});
  if (!isJsonObject(predicate)) problems.add(['predicate'], 'not an object');
  problems.throwIfAny('in-toto statement');
  if (typeof predicateType !== 'string' || !isJsonObject(predicate)) {
    throw new VouchError('invariant', 'internal error: statement fields missing after validation');
  }
  return Object.freeze({ subject: Object.freeze(subject), predicateType, predicate });
}

/** statementToJson returns the JSON form of a statement, with `_type` set. */
export function statementToJson(statement: Statement): JsonObject {
  return {
    _type: statementType,
    subject: statement.subject.map(descriptorToJson),
    predicateType: statement.predicateType,
    predicate: statement.predicate,
  };
}

/** formatStatement returns a statement as compact JSON bytes with sorted keys, the DSSE payload. */
export function formatStatement(statement: Statement): Uint8Array {
  return formatJson(statementToJson(statement));
}

/** StatementInput is what {@link buildStatement} takes; `predicate` may be omitted. */
export interface StatementInput {
  readonly subject: readonly Subject[];
  readonly predicateType: string;
  readonly predicate?: JsonObject;
}

/**
 * buildStatement validates a statement a producer is about to sign and returns it frozen and
 * detached from `input`. On top of {@link parseStatement}'s rules, every subject must carry a
 * digest under an algorithm in `accepted` (default SHA-256 and stronger), so Vouch never
 * produces a statement its own verifiers would ignore. Problems throw `invalid-argument` with
 * every field path in `details.fields`; values JSON cannot carry throw as `formatJson` does.
 */
export function buildStatement(
  input: StatementInput,
  accepted: readonly string[] = defaultAcceptedDigests,
): Statement {
  const bytes = formatStatement({ ...input, predicate: input.predicate ?? {} });
  let statement: Statement;
  try {
    statement = parseStatement(bytes, { maxBytes: Number.MAX_SAFE_INTEGER });
  } catch (cause) {
    if (cause instanceof VouchError && cause.code === 'malformed') {
      throw new VouchError('invalid-argument', cause.message, cause.details, { cause });
    }
    throw cause;
  }
  const problems = new FieldProblems();
  statement.subject.forEach((s, i) => {
    if (!accepted.some((a) => Object.hasOwn(s.digest, a))) {
      problems.add(['subject', i, 'digest'], 'has no digest under an accepted algorithm');
    }
  });
  try {
    problems.throwIfAny('in-toto statement');
  } catch (cause) {
    if (!(cause instanceof VouchError)) throw cause;
    throw new VouchError('invalid-argument', cause.message, cause.details);
  }
  return statement;
}

/**
 * matchSubjects returns the subjects whose digest matches `digest` under the accepted
 * algorithms (see `digestSetsMatch`); an empty list means the statement is not about it.
 */
export function matchSubjects(
  statement: Statement,
  digest: DigestSet,
  accepted: readonly string[] = defaultAcceptedDigests,
): readonly Subject[] {
  return Object.freeze(statement.subject.filter((s) => digestSetsMatch(s.digest, digest, accepted)));
}

/**
 * signStatement re-validates `statement` as {@link buildStatement} does (so a hand-made object
 * cannot slip past the schema), formats it and signs it into a DSSE envelope of
 * {@link inTotoPayloadType}.
 */
export async function signStatement(
  statement: Statement,
  signers: readonly EnvelopeSigner[],
): Promise<Envelope> {
  return signEnvelope(inTotoPayloadType, formatStatement(buildStatement(statement)), signers);
}

/** OpenedStatement is a statement read from an envelope that met its signature threshold. */
export interface OpenedStatement {
  readonly statement: Statement;
  readonly payloadType: string;
  readonly verifiedKeyIds: readonly string[];
  readonly unverified: readonly SignatureReport[];
}

/**
 * openStatement verifies `envelope` with `verifyEnvelope` (same errors), then requires an in-toto
 * payload type (`invalid-argument`, field `payloadType`) and parses the verified payload bytes
 * (`malformed`, `too-large`). The statement it returns was read only from verified bytes.
 */
export function openStatement(
  envelope: Envelope,
  verifiers: readonly EnvelopeVerifier[],
  threshold: number,
  limits: StatementLimits = {},
): OpenedStatement {
  const verified = verifyEnvelope(envelope, verifiers, threshold);
  if (!isInTotoPayloadType(verified.payloadType)) {
    throw new VouchError('invalid-argument', 'DSSE payload type is not an in-toto statement', {
      field: 'payloadType',
    });
  }
  return Object.freeze({
    statement: parseStatement(verified.payload, limits),
    payloadType: verified.payloadType,
    verifiedKeyIds: verified.verifiedKeyIds,
    unverified: verified.unverified,
  });
}
