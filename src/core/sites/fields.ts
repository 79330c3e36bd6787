/**
 * Schema checking for the site formats: a collector of (field path, reason) problems so that an
 * error names every bad field (`events[3].sha256`) instead of stopping at the first, and small
 * readers for the field shapes the formats share (strict objects with no unknown keys, text
 * without control characters, bounded integers, hex digests, times).
 *
 * Reasons are fixed phrases written here, never input, so a problem list is safe to log and to
 * return to an agent. The number of problems kept is bounded; beyond {@link maxProblems} only the
 * count grows. Internal to core/sites: it does no parsing of bytes (`core/json` does).
 */

import { equalBytes } from '../bytes/index.ts';
import { malformed, tooLarge, VouchError } from '../errors.ts';
import {
  type FieldPath,
  formatCanonicalJson,
  formatFieldPath,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseJson,
} from '../json/index.ts';
import { timeProblem } from './time.ts';

/** maxProblems bounds how many problems one error lists in `details.fields`. */
export const maxProblems = 100;

/** Problems gathers (field path, reason) pairs and turns them into one VouchError. */
export class Problems {
  readonly #problems: { readonly field: string; readonly reason: string }[] = [];
  #count = 0;

  /** add records that the value at `path` is wrong because of `reason` (a fixed phrase, not input). */
  add(path: FieldPath, reason: string): void {
    this.#count++;
    if (this.#problems.length < maxProblems) this.#problems.push({ field: formatFieldPath(path), reason });
  }

  /** count is the number of problems recorded so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * throwIfAny throws a VouchError (`malformed` unless told) about `what` when a problem was
   * recorded: the message names the first problem, `details.field` its path and
   * `details.fields` the paths of up to {@link maxProblems} problems.
   */
  throwIfAny(what: string, code: 'malformed' | 'invalid-argument' = 'malformed'): void {
    const first = this.#problems[0];
    if (first === undefined) return;
    const more = this.#count - 1;
    const suffix = more === 0 ? '' : ` (and ${more} more problem${more === 1 ? '' : 's'})`;
    throw new VouchError(code, `${what} is invalid at ${first.field}: ${first.reason}${suffix}`, {
      field: first.field,
      fields: Object.freeze(this.#problems.map((p) => p.field)),
      reasons: Object.freeze(this.#problems.map((p) => `${p.field}: ${p.reason}`)),
    });
  }
}

/**
 * readObject returns `value` when it is an object with every `required` key and no key outside
 * `required` and `optional`; otherwise it records each problem and returns undefined when the
 * value is not an object at all (an object with bad keys is still returned for further checks).
 */
export function readObject(
  value: JsonValue | undefined,
  path: FieldPath,
  problems: Problems,
  required: readonly string[],
  optional: readonly string[] = [],
): JsonObject | undefined {
  if (!isJsonObject(value)) {
    problems.add(path, value === undefined ? 'missing' : 'not an object');
    return undefined;
  }
  for (const key of required) if (!Object.hasOwn(value, key)) problems.add([...path, key], 'missing');
  for (const key of Object.keys(value)) {
    if (!required.includes(key) && !optional.includes(key)) problems.add([...path, key], 'unknown field');
  }
  return value;
}

/** readRecord returns `value` when it is an object (of any keys, checked by the caller), else records a problem. */
export function readRecord(
  value: JsonValue | undefined,
  path: FieldPath,
  problems: Problems,
): JsonObject | undefined {
  if (isJsonObject(value)) return value;
  problems.add(path, value === undefined ? 'missing' : 'not an object');
  return undefined;
}

/** Check returns why a string is unacceptable, or undefined when it is fine. */
export type Check = (value: string) => string | undefined;

/**
 * readString reads `object[key]` as a string passing `check`. A missing key is a problem unless
 * `optional`, in which case undefined is returned silently.
 */
export function readString(
  object: JsonObject,
  path: FieldPath,
  key: string,
  problems: Problems,
  check: Check,
  optional = false,
): string | undefined {
  if (!Object.hasOwn(object, key)) {
    if (!optional) problems.add([...path, key], 'missing');
    return undefined;
  }
  const value = object[key];
  if (typeof value !== 'string') {
    problems.add([...path, key], 'not a string');
    return undefined;
  }
  const problem = check(value);
  if (problem !== undefined) {
    problems.add([...path, key], problem);
    return undefined;
  }
  return value;
}

/** readInteger reads `object[key]` as an integer from `min` to `max` inclusive. */
export function readInteger(
  object: JsonObject,
  path: FieldPath,
  key: string,
  problems: Problems,
  min: number,
  max: number,
): number | undefined {
  const value = object[key];
  if (value === undefined) {
    problems.add([...path, key], 'missing');
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    problems.add([...path, key], `not an integer from ${min} to ${max}`);
    return undefined;
  }
  return value;
}

/** readBoolean reads `object[key]` as a boolean. */
export function readBoolean(
  object: JsonObject,
  path: FieldPath,
  key: string,
  problems: Problems,
): boolean | undefined {
  const value = object[key];
  if (typeof value === 'boolean') return value;
  problems.add([...path, key], value === undefined ? 'missing' : 'not a boolean');
  return undefined;
}

/** oneOf returns a check accepting exactly the listed strings. */
export function oneOf(values: readonly string[]): Check {
  return (value) => (values.includes(value) ? undefined : `not one of ${values.join(', ')}`);
}

/** matches returns a check accepting strings that match `pattern`, refused with `reason`. */
export function matches(pattern: RegExp, reason: string): Check {
  return (value) => (pattern.test(value) ? undefined : reason);
}

/** sha256Hex accepts 64 lowercase hex digits, the spelling of every SHA-256 digest in the site formats. */
export const sha256Hex: Check = matches(/^[0-9a-f]{64}$/, 'not 64 lowercase hex digits');

/** time accepts an RFC 3339 UTC time in whole seconds, `YYYY-MM-DDTHH:MM:SSZ`. */
export const time: Check = timeProblem;

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
const controls = /[\p{Cc}\u2028\u2029]/u;

/**
 * text returns a check for free text: 1 to `max` UTF-16 code units, well-formed Unicode, no
 * control characters (so one line, safe in a log), no leading or trailing space.
 */
export function text(max: number): Check {
  return (value) => {
    if (value.length === 0) return 'empty';
    if (value.length > max) return `longer than ${max} characters`;
    if (!value.isWellFormed()) return 'not well-formed Unicode';
    if (controls.test(value)) return 'contains a control character';
    if (value.trim() !== value) return 'has leading or trailing white space';
    return undefined;
  };
}

/** rethrowAsArgument turns a parser's `malformed` error into `invalid-argument`, for format functions that validate by parsing. */
export function rethrowAsArgument(error: unknown): never {
  if (error instanceof VouchError && error.code === 'malformed') {
    throw new VouchError('invalid-argument', error.message, error.details, { cause: error });
  }
  throw error;
}

/** CanonicalRecord describes one record kind kept as canonical JSON: its name, bounds, and both directions. */
export interface CanonicalRecord<T> {
  /** what names the record in errors ("tenant record"). */
  readonly what: string;
  readonly maxBytes: number;
  readonly maxDepth: number;
  /** toJson builds the JSON value to encode; it may assume nothing about `value`'s validity. */
  toJson(value: T): unknown;
  /** read validates a parsed value, naming every bad field (`malformed`). */
  read(value: JsonValue): T;
}

/**
 * formatCanonicalRecord returns a record's canonical JSON. It validates by reading its own output,
 * so a bad field is refused with the parser's message as `invalid-argument`; `too-large` over the bound.
 */
export function formatCanonicalRecord<T>(kind: CanonicalRecord<T>, value: T): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = formatCanonicalJson(kind.toJson(value));
    kind.read(parseJson(bytes, { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: kind.maxDepth }));
  } catch (error) {
    rethrowAsArgument(error);
  }
  if (bytes.length > kind.maxBytes) throw tooLarge(kind.what, kind.maxBytes);
  return bytes;
}

/**
 * parseCanonicalRecord reads a record: `too-large` over the bound, `malformed` naming every bad
 * field, or for bytes that are not the one canonical encoding of what they say.
 */
export function parseCanonicalRecord<T>(kind: CanonicalRecord<T>, bytes: Uint8Array): T {
  if (bytes.length > kind.maxBytes) throw tooLarge(kind.what, kind.maxBytes);
  const value = kind.read(parseJson(bytes, { maxBytes: kind.maxBytes, maxDepth: kind.maxDepth }));
  if (!equalBytes(formatCanonicalRecord(kind, value), bytes)) {
    throw malformed(`${kind.what} is not in canonical JSON`, '$');
  }
  return value;
}
