/**
 * The supervisor's verdict as a SLSA Verification Summary Attestation v1
 * (https://slsa.dev/spec/v1.1/verification_summary, predicateType
 * `https://slsa.dev/verification_summary/v1`): "verifier V checked target T against policy P
 * (uri and digest) using these input attestations, at this time, and it PASSED/FAILED at these
 * levels". The approver signs one per release and the repository publishes and logs it
 * (docs/updates.md); endpoints rely on the approver's targets signature, not on the VSA.
 *
 * Fields written: `verifier.id` (and `verifier.version` when given), `timeVerified`,
 * `resourceUri`, `policy {uri, digest.sha256}`, `inputAttestations [{uri, digest.sha256}]` (the
 * evidence files the verdict relied on), `verificationResult`, `verifiedLevels` and
 * `slsaVersion` "1.1"; `dependencyLevels` is omitted (dependencies are pinned in provenance, not
 * verified here). Levels are claimed only when justified: `SLSA_BUILD_LEVEL_3` for a passed
 * verdict whose provenance a trusted builder signed for a hermetic (isolated) build,
 * `SLSA_BUILD_LEVEL_2` when that builder was allowed a non-hermetic build, and `FAILED` alone
 * for a failed verdict, as the spec asks. No Source-track level is claimed: a signed review is
 * not the continuous branch controls Source L3/L4 require.
 */

import { FieldProblems } from '../attest/fields.ts';
import { uriProblem } from '../attest/resource-descriptor.ts';
import { buildStatement, type Statement } from '../attest/statement.ts';
import { VouchError } from '../errors.ts';
import { isJsonArray, isJsonObject, type JsonObject, type JsonValue } from '../json/index.ts';
import type { ReleaseTarget, ReleaseVerdict } from './evidence.ts';

/** verificationSummaryType is the predicateType of SLSA VSA v1. */
export const verificationSummaryType = 'https://slsa.dev/verification_summary/v1';

/** vsaSlsaVersion is the SLSA specification version the summaries follow. */
export const vsaSlsaVersion = '1.1';

/** maxVsaInputs bounds the input attestations of one summary. */
export const maxVsaInputs = 256;

/** VerificationResult is the VSA verdict. */
export type VerificationResult = 'PASSED' | 'FAILED';

/** VsaInput is an input attestation: where it is published and the SHA-256 of its bytes. */
export interface VsaInput {
  readonly uri: string;
  readonly sha256: string;
}

/** VerificationSummaryInput is what {@link buildVerificationSummary} records. */
export interface VerificationSummaryInput {
  /** verifierId is the approver's identity URI. */
  readonly verifierId: string;
  /** verifierVersion maps component names to versions, e.g. `{ vouch: '0.1.0' }`. */
  readonly verifierVersion?: Readonly<Record<string, string>>;
  readonly target: ReleaseTarget;
  /** resourceUri is where the target is published, e.g. the repository URL and target path. */
  readonly resourceUri: string;
  /** policyUri is where the release policy is published; policyDigest its hex SHA-256. */
  readonly policyUri: string;
  readonly policyDigest: string;
  readonly verdict: ReleaseVerdict;
  /** timeVerified is `YYYY-MM-DDTHH:MM:SSZ`, read by the caller (core reads no clock). */
  readonly timeVerified: string;
  /** inputs are the evidence files the verdict relied on (`verdict.evidence` with `relied`). */
  readonly inputs: readonly VsaInput[];
}

/** VerificationSummary is a VSA read back with {@link parseVerificationSummary}. */
export interface VerificationSummary {
  readonly target: { readonly name: string; readonly sha256: string };
  readonly verifierId: string;
  readonly verifierVersion?: Readonly<Record<string, string>>;
  readonly timeVerified: string;
  readonly resourceUri: string;
  readonly policy: { readonly uri: string; readonly sha256: string };
  readonly inputs: readonly VsaInput[];
  readonly result: VerificationResult;
  readonly verifiedLevels: readonly string[];
  readonly slsaVersion: string;
}

const hex64 = /^[0-9a-f]{64}$/;
const timePattern = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;
const levelPattern = /^SLSA_([A-Z]+)_LEVEL_([0-4])$/;

/**
 * verifiedLevelsOf returns the `verifiedLevels` a verdict justifies (see the module comment):
 * `["FAILED"]` unless it passed, then the Build level its provenance earns.
 */
export function verifiedLevelsOf(verdict: ReleaseVerdict): readonly string[] {
  if (!verdict.passed) return Object.freeze(['FAILED']);
  if (!verdict.builderTrusted || verdict.provenance === undefined) {
    throw new VouchError('invariant', 'internal error: a passed verdict without trusted provenance');
  }
  return Object.freeze([verdict.provenance.hermetic ? 'SLSA_BUILD_LEVEL_3' : 'SLSA_BUILD_LEVEL_2']);
}

/**
 * buildVerificationSummary returns the VSA statement for a verdict, ready for `signStatement`.
 * Its only subject is the target (name and SHA-256). It throws `invalid-argument` naming every
 * bad field when the result would not pass {@link parseVerificationSummary}, or when the target
 * is not the verdict's.
 */
export function buildVerificationSummary(input: VerificationSummaryInput): Statement {
  const { target, verdict } = input;
  if (target.name !== verdict.target.name || target.sha256 !== verdict.target.sha256) {
    throw new VouchError('invalid-argument', 'the VSA target is not the target of the verdict', {
      field: 'target',
    });
  }
  const predicate: JsonObject = {
    verifier: {
      id: input.verifierId,
      ...(input.verifierVersion === undefined ? {} : { version: { ...input.verifierVersion } }),
    },
    timeVerified: input.timeVerified,
    resourceUri: input.resourceUri,
    policy: { uri: input.policyUri, digest: { sha256: input.policyDigest } },
    inputAttestations: input.inputs.map((i) => ({ uri: i.uri, digest: { sha256: i.sha256 } })),
    verificationResult: verdict.passed ? 'PASSED' : 'FAILED',
    verifiedLevels: [...verifiedLevelsOf(verdict)],
    slsaVersion: vsaSlsaVersion,
  };
  try {
    const statement = buildStatement({
      subject: [{ name: target.name, digest: { sha256: target.sha256 } }],
      predicateType: verificationSummaryType,
      predicate,
    });
    parseVerificationSummary(statement);
    return statement;
  } catch (cause) {
    if (!(cause instanceof VouchError) || cause.code !== 'malformed') throw cause;
    throw new VouchError('invalid-argument', cause.message, cause.details, { cause });
  }
}

/**
 * parseVerificationSummary validates a statement as a Vouch VSA. It throws `malformed` naming
 * every bad field path (`details.fields`): one subject with a SHA-256, absolute URIs, hex SHA-256
 * digests, a known result, levels `SLSA_<TRACK>_LEVEL_<0-4>` at most one per track (or `FAILED`
 * alone for a failed result), and `too-large` past {@link maxVsaInputs}.
 */
export function parseVerificationSummary(statement: Statement): VerificationSummary {
  const problems = new FieldProblems();
  if (statement.predicateType !== verificationSummaryType) {
    problems.add(['predicateType'], `not ${verificationSummaryType}`);
  }
  const subject = statement.subject[0];
  const subjectSha256 = subject?.digest['sha256'];
  if (statement.subject.length !== 1 || subject?.name === undefined || subjectSha256 === undefined) {
    problems.add(['subject'], 'not exactly one named target with a SHA-256');
  }
  const p = statement.predicate;
  const verifier = object(p['verifier'], ['predicate', 'verifier'], problems);
  const verifierId = uri(verifier['id'], ['predicate', 'verifier', 'id'], problems);
  let verifierVersion: Record<string, string> | undefined;
  const version = verifier['version'];
  if (version !== undefined) {
    const map = object(version, ['predicate', 'verifier', 'version'], problems);
    verifierVersion = {};
    for (const [name, value] of Object.entries(map)) {
      if (typeof value === 'string') verifierVersion[name] = value;
      else problems.add(['predicate', 'verifier', 'version', name], 'not a string');
    }
  }
  const timeVerified = p['timeVerified'];
  if (typeof timeVerified !== 'string' || !timePattern.test(timeVerified)) {
    problems.add(['predicate', 'timeVerified'], 'not a YYYY-MM-DDTHH:MM:SSZ time');
  }
  const resourceUri = uri(p['resourceUri'], ['predicate', 'resourceUri'], problems);
  const policy = object(p['policy'], ['predicate', 'policy'], problems);
  const policyUri = uri(policy['uri'], ['predicate', 'policy', 'uri'], problems);
  const policySha256 = digestOf(policy['digest'], ['predicate', 'policy', 'digest'], problems);
  const inputs: VsaInput[] = [];
  const list = p['inputAttestations'] ?? [];
  if (!isJsonArray(list)) {
    problems.add(['predicate', 'inputAttestations'], 'not an array');
  } else {
    if (list.length > maxVsaInputs) {
      throw new VouchError('too-large', `VSA input attestations exceed the limit of ${maxVsaInputs}`, {
        limit: maxVsaInputs,
        field: 'predicate.inputAttestations',
      });
    }
    list.forEach((entry, i) => {
      const at = ['predicate', 'inputAttestations', i];
      const o = object(entry, at, problems);
      const u = uri(o['uri'], [...at, 'uri'], problems);
      const d = digestOf(o['digest'], [...at, 'digest'], problems);
      if (u !== undefined && d !== undefined) inputs.push(Object.freeze({ uri: u, sha256: d }));
    });
  }
  const result = p['verificationResult'];
  if (result !== 'PASSED' && result !== 'FAILED') {
    problems.add(['predicate', 'verificationResult'], 'not PASSED or FAILED');
  }
  const levels = p['verifiedLevels'];
  const verifiedLevels: string[] = [];
  if (!isJsonArray(levels) || levels.length > 16) {
    problems.add(['predicate', 'verifiedLevels'], 'not a list of at most 16 levels');
  } else {
    const tracks = new Set<string>();
    levels.forEach((level, i) => {
      const at = ['predicate', 'verifiedLevels', i];
      if (level === 'FAILED') {
        if (result !== 'FAILED' || levels.length !== 1)
          problems.add(at, 'FAILED must be the only level of a failed result');
        verifiedLevels.push(level);
        return;
      }
      const match = typeof level === 'string' ? levelPattern.exec(level) : null;
      if (match === null || typeof level !== 'string') {
        problems.add(at, 'not SLSA_<TRACK>_LEVEL_<n> or FAILED');
        return;
      }
      if (result === 'FAILED') problems.add(at, 'a failed result claims no level');
      const track = match[1] ?? '';
      if (tracks.has(track)) problems.add(at, 'a second level for the same track');
      tracks.add(track);
      verifiedLevels.push(level);
    });
  }
  const slsaVersion = p['slsaVersion'];
  if (typeof slsaVersion !== 'string' || !/^[0-9]+\.[0-9]+$/.test(slsaVersion)) {
    problems.add(['predicate', 'slsaVersion'], 'not <major>.<minor>');
  }
  problems.throwIfAny('verification summary');
  return Object.freeze({
    target: Object.freeze({ name: subject?.name as string, sha256: subjectSha256 as string }),
    verifierId: verifierId as string,
    ...(verifierVersion === undefined ? {} : { verifierVersion: Object.freeze(verifierVersion) }),
    timeVerified: timeVerified as string,
    resourceUri: resourceUri as string,
    policy: Object.freeze({ uri: policyUri as string, sha256: policySha256 as string }),
    inputs: Object.freeze(inputs),
    result: result as VerificationResult,
    verifiedLevels: Object.freeze(verifiedLevels),
    slsaVersion: slsaVersion as string,
  });
}

type Path = readonly (string | number)[];

function object(value: JsonValue | undefined, path: Path, problems: FieldProblems): JsonObject {
  if (isJsonObject(value)) return value;
  problems.add(path, value === undefined ? 'missing' : 'not an object');
  return {};
}

function uri(value: JsonValue | undefined, path: Path, problems: FieldProblems): string | undefined {
  if (typeof value !== 'string') {
    problems.add(path, value === undefined ? 'missing' : 'not a string');
    return undefined;
  }
  const bad = uriProblem(value);
  if (bad !== undefined) {
    problems.add(path, bad);
    return undefined;
  }
  return value;
}

function digestOf(value: JsonValue | undefined, path: Path, problems: FieldProblems): string | undefined {
  const digest = object(value, path, problems)['sha256'];
  if (typeof digest === 'string' && hex64.test(digest)) return digest;
  problems.add([...path, 'sha256'], 'not hex SHA-256');
  return undefined;
}
