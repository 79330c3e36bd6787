/**
 * The rebuild attestation: what an independent rebuilder signs after rebuilding a conveyer build
 * from its SLSA provenance (provenance.ts). It is an in-toto Statement v1
 * (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) whose only subject is
 * the provenance envelope it judged, with the Vouch predicate type {@link rebuildAttestationType}:
 *
 * ```json
 * { "rebuilder": { "id": "https://…" },
 *   "provenance": { "digest": { "sha256": "<hex of the envelope file>" } },
 *   "result": "match" | "mismatch",
 *   "differences": [{ "name": "share/hello.txt",
 *                     "expected": { "sha256": "…" }, "actual": { "sha256": "…" } }] }
 * ```
 *
 * A difference lacks `expected` for a file only the rebuild produced and `actual` for one it did
 * not produce. `result` is `match` exactly when `differences` is empty. This module compares and
 * formats; it does not rebuild (services/conveyer/rebuild.ts does) or decide whether a rebuilder
 * is trusted (that is policy).
 */

import { FieldProblems } from '../attest/fields.ts';
import { buildStatement, type Statement, type Subject } from '../attest/statement.ts';
import { VouchError } from '../errors.ts';
import { type FieldPath, isJsonArray, isJsonObject, type JsonObject, type JsonValue } from '../json/index.ts';

/** rebuildAttestationType is the predicateType of Vouch rebuild attestations. */
export const rebuildAttestationType = 'https://vouch.example/attestations/rebuild/v1';

/** maxDifferences caps the differences an attestation may list (the provenance's subject cap). */
export const maxDifferences = 100_000;

/** RebuildVerdict is the outcome of a rebuild. */
export type RebuildVerdict = 'match' | 'mismatch';

/** RebuildDifference is one subject whose SHA-256 differs, or that only one side has. */
export interface RebuildDifference {
  readonly name: string;
  /** expected is the digest the provenance records; absent when only the rebuild made the file. */
  readonly expected?: string;
  /** actual is the rebuilt digest; absent when the rebuild did not make the file. */
  readonly actual?: string;
}

/** RebuiltSubject is a named output of the rebuild with its SHA-256 (hex). */
export interface RebuiltSubject {
  readonly name: string;
  readonly sha256: string;
}

/** RebuildAttestation is the content of a rebuild attestation, validated. */
export interface RebuildAttestation {
  readonly rebuilderId: string;
  /** provenanceSha256 is the hex SHA-256 of the provenance envelope's bytes as read. */
  readonly provenanceSha256: string;
  readonly result: RebuildVerdict;
  readonly differences: readonly RebuildDifference[];
}

const hex64 = /^[0-9a-f]{64}$/;

/**
 * compareSubjects returns every name whose SHA-256 differs between the provenance's subjects
 * and the rebuilt ones, or that only one side has, sorted by name (UTF-16 order). A subject
 * without a SHA-256 on the expected side counts as a difference (fail closed). Duplicate names
 * throw `invalid-argument`, since a comparison by name would be ambiguous.
 */
export function compareSubjects(
  expected: readonly Subject[],
  actual: readonly RebuiltSubject[],
): readonly RebuildDifference[] {
  const want = new Map<string, string | undefined>();
  for (const s of expected) {
    const name = s.name ?? '';
    if (want.has(name)) throw new VouchError('invalid-argument', 'two provenance subjects share a name');
    want.set(name, s.digest['sha256']);
  }
  const got = new Map<string, string>();
  for (const s of actual) {
    if (got.has(s.name)) throw new VouchError('invalid-argument', 'two rebuilt subjects share a name');
    got.set(s.name, s.sha256);
  }
  const differences: RebuildDifference[] = [];
  for (const name of new Set([...want.keys(), ...got.keys()])) {
    const e = want.get(name);
    const a = got.get(name);
    if (e !== undefined && e === a) continue;
    differences.push(
      Object.freeze({
        name,
        ...(e === undefined ? {} : { expected: e }),
        ...(a === undefined ? {} : { actual: a }),
      }),
    );
  }
  differences.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return Object.freeze(differences);
}

/**
 * buildRebuildAttestation returns the statement a rebuilder signs. `result` is derived from
 * `differences` (match exactly when there are none). It throws `invalid-argument` naming every
 * bad field when the result would not pass {@link parseRebuildAttestation}.
 */
export function buildRebuildAttestation(input: {
  readonly rebuilderId: string;
  readonly provenanceName: string;
  readonly provenanceSha256: string;
  readonly differences: readonly RebuildDifference[];
}): Statement {
  const predicate: JsonObject = {
    rebuilder: { id: input.rebuilderId },
    provenance: { digest: { sha256: input.provenanceSha256 } },
    result: input.differences.length === 0 ? 'match' : 'mismatch',
    differences: input.differences.map((d) => ({
      name: d.name,
      ...(d.expected === undefined ? {} : { expected: { sha256: d.expected } }),
      ...(d.actual === undefined ? {} : { actual: { sha256: d.actual } }),
    })),
  };
  try {
    const statement = buildStatement({
      subject: [{ name: input.provenanceName, digest: { sha256: input.provenanceSha256 } }],
      predicateType: rebuildAttestationType,
      predicate,
    });
    parseRebuildAttestation(statement);
    return statement;
  } catch (cause) {
    if (!(cause instanceof VouchError) || cause.code !== 'malformed') throw cause;
    throw new VouchError('invalid-argument', cause.message, cause.details, { cause });
  }
}

/**
 * parseRebuildAttestation validates a statement as a rebuild attestation. It throws `malformed`
 * naming every bad field path (`details.fields`), `too-large` past {@link maxDifferences}; a
 * `result` that disagrees with `differences` is malformed too.
 */
export function parseRebuildAttestation(statement: Statement): RebuildAttestation {
  const problems = new FieldProblems();
  const at = (...rest: (string | number)[]): FieldPath => ['predicate', ...rest];
  if (statement.predicateType !== rebuildAttestationType)
    problems.add(['predicateType'], `not ${rebuildAttestationType}`);
  const p = statement.predicate;
  const rebuilderId = object(p['rebuilder'], at('rebuilder'), problems)['id'];
  if (typeof rebuilderId !== 'string' || !/^https:\/\/\S+$/.test(rebuilderId))
    problems.add(at('rebuilder', 'id'), 'not an https URI');
  const provenance = object(p['provenance'], at('provenance'), problems);
  const provenanceSha256 = sha256Of(provenance['digest'], at('provenance', 'digest'), problems);
  const subject = statement.subject[0];
  if (statement.subject.length !== 1 || subject?.digest['sha256'] !== provenanceSha256)
    problems.add(['subject'], 'not exactly the provenance envelope');
  const result = p['result'];
  if (result !== 'match' && result !== 'mismatch') problems.add(at('result'), 'not match or mismatch');
  const list = p['differences'];
  const differences: RebuildDifference[] = [];
  if (!isJsonArray(list)) {
    problems.add(at('differences'), 'not an array');
  } else {
    if (list.length > maxDifferences) throw new VouchError('too-large', 'too many rebuild differences');
    list.forEach((entry, i) => {
      const d = object(entry, at('differences', i), problems);
      const name = d['name'];
      if (typeof name !== 'string') problems.add(at('differences', i, 'name'), 'not a string');
      const expected =
        d['expected'] === undefined
          ? undefined
          : sha256Of(d['expected'], at('differences', i, 'expected'), problems);
      const actual =
        d['actual'] === undefined
          ? undefined
          : sha256Of(d['actual'], at('differences', i, 'actual'), problems);
      if (expected === actual) problems.add(at('differences', i), 'not a difference');
      differences.push(
        Object.freeze({
          name: typeof name === 'string' ? name : '',
          ...(expected === undefined ? {} : { expected }),
          ...(actual === undefined ? {} : { actual }),
        }),
      );
    });
  }
  if ((result === 'match') !== (differences.length === 0))
    problems.add(at('result'), 'disagrees with differences');
  problems.throwIfAny('rebuild attestation');
  return Object.freeze({
    rebuilderId: rebuilderId as string,
    provenanceSha256: provenanceSha256 as string,
    result: result as RebuildVerdict,
    differences: Object.freeze(differences),
  });
}

function object(value: JsonValue | undefined, path: FieldPath, problems: FieldProblems): JsonObject {
  if (isJsonObject(value)) return value;
  problems.add(path, value === undefined ? 'missing' : 'not an object');
  return {};
}

function sha256Of(
  value: JsonValue | undefined,
  path: FieldPath,
  problems: FieldProblems,
): string | undefined {
  const digest = object(value, path, problems)['sha256'];
  if (typeof digest === 'string' && hex64.test(digest)) return digest;
  problems.add([...path, 'sha256'], 'not hex SHA-256');
  return undefined;
}
