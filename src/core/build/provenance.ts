/**
 * SLSA Provenance v1 (https://slsa.dev/spec/v1.0/provenance) for conveyer builds, carried in an
 * in-toto Statement v1 whose subjects are the output files and the packed archive, each with
 * SHA-256 and SHA-512. The Vouch build type fixes what the parameters mean:
 *
 * - `buildDefinition.externalParameters` = `{ source: { uri?, folder?, commit?, treeHash },
 *   recipe: { path, digest: { sha256 } } }` (the tree hash is `computeTreeHash` of tree-hash.ts);
 * - `buildDefinition.internalParameters` = `{ hermetic, sandbox, sourceDateEpoch }`, where
 *   `hermetic: false` marks a build that could not be isolated and may never be released;
 * - `buildDefinition.resolvedDependencies` = the recipe's pinned inputs, by SHA-256;
 * - `runDetails.builder.id` names the building site; `runDetails.byproducts` = step log digests.
 *
 * This module builds and validates the predicate; it does not sign (core/attest does) or check
 * that a verifier trusts the builder id (that is policy). Timestamps are strings passed in.
 */

import { FieldProblems } from '../attest/fields.ts';
import { type ResourceDescriptor, readDescriptor } from '../attest/resource-descriptor.ts';
import { buildStatement, type Statement, type Subject } from '../attest/statement.ts';
import { VouchError } from '../errors.ts';
import { type FieldPath, isJsonArray, isJsonObject, type JsonObject, type JsonValue } from '../json/index.ts';

/** slsaProvenanceType is the predicateType of SLSA Provenance v1. */
export const slsaProvenanceType = 'https://slsa.dev/provenance/v1';

/** vouchBuildType is the buildType of conveyer builds; its parameters are described above. */
export const vouchBuildType = 'https://vouch.example/buildtypes/conveyer/v1';

/** ProvenanceSource identifies the source: a repository URI or folder, a commit, and the tree hash. */
export interface ProvenanceSource {
  readonly uri?: string;
  readonly folder?: string;
  /** commit is the git commit id (40 or 64 lowercase hex), when the source is a git repository. */
  readonly commit?: string;
  readonly treeHash: string;
}

/** NamedDigest is an artifact name with its digests (hex). */
export interface NamedDigest {
  readonly name: string;
  readonly uri?: string;
  readonly sha256: string;
  readonly sha512?: string;
}

/** ProvenanceInput is everything {@link buildProvenance} records. */
export interface ProvenanceInput {
  readonly builderId: string;
  readonly source: ProvenanceSource;
  readonly recipe: { readonly path: string; readonly sha256: string };
  readonly resolvedDependencies: readonly NamedDigest[];
  readonly sandbox: JsonObject;
  readonly hermetic: boolean;
  readonly sourceDateEpoch: number;
  readonly byproducts: readonly NamedDigest[];
  /** subjects are the outputs; each must carry both sha256 and sha512. */
  readonly subjects: readonly NamedDigest[];
  readonly invocationId?: string;
  readonly startedOn?: string;
  readonly finishedOn?: string;
}

/** Provenance is a validated conveyer provenance read back from a statement. */
export interface Provenance {
  readonly subjects: readonly Subject[];
  readonly builderId: string;
  readonly source: ProvenanceSource;
  readonly recipe: { readonly path: string; readonly sha256: string };
  readonly resolvedDependencies: readonly ResourceDescriptor[];
  readonly hermetic: boolean;
  readonly sandbox: JsonObject;
  readonly sourceDateEpoch: number;
  readonly byproducts: readonly ResourceDescriptor[];
}

function descriptor(d: NamedDigest): JsonObject {
  return {
    name: d.name,
    ...(d.uri === undefined ? {} : { uri: d.uri }),
    digest: { sha256: d.sha256, ...(d.sha512 === undefined ? {} : { sha512: d.sha512 }) },
  };
}

function subjectOf(d: NamedDigest): Subject {
  return {
    name: d.name,
    digest: { sha256: d.sha256, ...(d.sha512 === undefined ? {} : { sha512: d.sha512 }) },
  };
}

/**
 * buildProvenance returns the signed-to-be in-toto Statement for a build. It throws
 * `invalid-argument` with every bad field path when the result would not pass
 * {@link parseProvenance} (so Vouch never signs provenance its own verifier refuses).
 */
export function buildProvenance(input: ProvenanceInput): Statement {
  const source: JsonObject = {
    ...(input.source.uri === undefined ? {} : { uri: input.source.uri }),
    ...(input.source.folder === undefined ? {} : { folder: input.source.folder }),
    ...(input.source.commit === undefined ? {} : { commit: input.source.commit }),
    treeHash: input.source.treeHash,
  };
  const metadata: JsonObject = {
    ...(input.invocationId === undefined ? {} : { invocationId: input.invocationId }),
    ...(input.startedOn === undefined ? {} : { startedOn: input.startedOn }),
    ...(input.finishedOn === undefined ? {} : { finishedOn: input.finishedOn }),
  };
  const predicate: JsonObject = {
    buildDefinition: {
      buildType: vouchBuildType,
      externalParameters: {
        source,
        recipe: { path: input.recipe.path, digest: { sha256: input.recipe.sha256 } },
      },
      internalParameters: {
        hermetic: input.hermetic,
        sandbox: input.sandbox,
        sourceDateEpoch: input.sourceDateEpoch,
      },
      resolvedDependencies: input.resolvedDependencies.map(descriptor),
    },
    runDetails: {
      builder: { id: input.builderId },
      metadata,
      byproducts: input.byproducts.map(descriptor),
    },
  };
  const statement = buildStatement({
    subject: input.subjects.map(subjectOf),
    predicateType: slsaProvenanceType,
    predicate,
  });
  try {
    parseProvenance(statement);
  } catch (cause) {
    if (!(cause instanceof VouchError) || cause.code !== 'malformed') throw cause;
    throw new VouchError('invalid-argument', cause.message, cause.details, { cause });
  }
  return statement;
}

const hex64 = /^[0-9a-f]{64}$/;

/**
 * parseProvenance validates the predicate of a statement as conveyer provenance. It throws
 * `malformed` naming every bad field path in `details.fields` (paths start at the statement).
 */
export function parseProvenance(statement: Statement): Provenance {
  const problems = new FieldProblems();
  if (statement.predicateType !== slsaProvenanceType)
    problems.add(['predicateType'], `not ${slsaProvenanceType}`);
  statement.subject.forEach((s, i) => {
    if (s.digest['sha256'] === undefined) problems.add(['subject', i, 'digest', 'sha256'], 'missing');
    if (s.digest['sha512'] === undefined) problems.add(['subject', i, 'digest', 'sha512'], 'missing');
    if (s.name === undefined) problems.add(['subject', i, 'name'], 'missing');
  });
  const p = statement.predicate;
  const definition = object(p['buildDefinition'], ['predicate', 'buildDefinition'], problems);
  const run = object(p['runDetails'], ['predicate', 'runDetails'], problems);
  const at = (...rest: (string | number)[]): FieldPath => ['predicate', 'buildDefinition', ...rest];
  if (definition['buildType'] !== vouchBuildType) problems.add(at('buildType'), `not ${vouchBuildType}`);
  const external = object(definition['externalParameters'], at('externalParameters'), problems);
  const sourceJson = object(external['source'], at('externalParameters', 'source'), problems);
  const source: Record<string, string> = {};
  for (const key of ['uri', 'folder', 'commit', 'treeHash']) {
    const value = sourceJson[key];
    if (value === undefined && key !== 'treeHash') continue;
    if (typeof value !== 'string') {
      problems.add(at('externalParameters', 'source', key), value === undefined ? 'missing' : 'not a string');
      continue;
    }
    if (key === 'treeHash' && !hex64.test(value))
      problems.add(at('externalParameters', 'source', key), 'not hex SHA-256');
    if (key === 'commit' && !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(value)) {
      problems.add(at('externalParameters', 'source', key), 'not a git commit id');
    }
    source[key] = value;
  }
  const recipe = object(external['recipe'], at('externalParameters', 'recipe'), problems);
  const recipePath = recipe['path'];
  if (typeof recipePath !== 'string')
    problems.add(at('externalParameters', 'recipe', 'path'), 'not a string');
  const recipeDigest = object(recipe['digest'], at('externalParameters', 'recipe', 'digest'), problems)[
    'sha256'
  ];
  if (typeof recipeDigest !== 'string' || !hex64.test(recipeDigest)) {
    problems.add(at('externalParameters', 'recipe', 'digest', 'sha256'), 'not hex SHA-256');
  }
  const internal = object(definition['internalParameters'], at('internalParameters'), problems);
  const hermetic = internal['hermetic'];
  if (typeof hermetic !== 'boolean') problems.add(at('internalParameters', 'hermetic'), 'not a boolean');
  const sandbox = object(internal['sandbox'], at('internalParameters', 'sandbox'), problems);
  const epoch = internal['sourceDateEpoch'];
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) {
    problems.add(at('internalParameters', 'sourceDateEpoch'), 'not a non-negative integer');
  }
  const resolved = descriptors(definition['resolvedDependencies'], at('resolvedDependencies'), problems);
  const builder = object(run['builder'], ['predicate', 'runDetails', 'builder'], problems);
  const builderId = builder['id'];
  if (typeof builderId !== 'string' || !/^https:\/\/[^\s]+$/.test(builderId)) {
    problems.add(['predicate', 'runDetails', 'builder', 'id'], 'not an https URI');
  }
  const byproducts = descriptors(run['byproducts'], ['predicate', 'runDetails', 'byproducts'], problems);
  problems.throwIfAny('SLSA provenance');
  return Object.freeze({
    subjects: statement.subject,
    builderId: builderId as string,
    source: Object.freeze(source as unknown as ProvenanceSource),
    recipe: Object.freeze({ path: recipePath as string, sha256: recipeDigest as string }),
    resolvedDependencies: resolved,
    hermetic: hermetic as boolean,
    sandbox,
    sourceDateEpoch: epoch as number,
    byproducts,
  });
}

function object(value: JsonValue | undefined, path: FieldPath, problems: FieldProblems): JsonObject {
  if (isJsonObject(value)) return value;
  problems.add(path, value === undefined ? 'missing' : 'not an object');
  return {};
}

function descriptors(value: JsonValue | undefined, path: FieldPath, problems: FieldProblems) {
  if (value === undefined) return Object.freeze([]);
  if (!isJsonArray(value)) {
    problems.add(path, 'not an array');
    return Object.freeze([]);
  }
  const out: ResourceDescriptor[] = [];
  value.forEach((entry, i) => {
    const d = readDescriptor(entry, [...path, i], problems, true);
    if (d !== undefined) out.push(d);
  });
  return Object.freeze(out);
}
