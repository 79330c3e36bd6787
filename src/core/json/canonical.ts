/**
 * Canonical JSON as TUF signs it (OLPC, http://wiki.laptop.org/go/Canonical_JSON, and
 * securesystemslib `formats.encode_canonical`), and its sibling, deterministic compact JSON.
 *
 * Canonical JSON: no whitespace; object keys sorted; integers only; strings are UTF-8 with only
 * `\` and `"` escaped, so control characters such as a newline are emitted raw and the output is
 * not always valid RFC 8259 JSON. It exists only to produce the bytes that get signed or hashed.
 * Keys are sorted by Unicode code point, which is UTF-8 byte order: what the OLPC text ("strings
 * are uninterpreted bytes"), securesystemslib (Python `sorted` over `str`) and go-securesystemslib
 * do. `@tufjs/canonical-json` sorts by UTF-16 code unit instead (`Array.prototype.sort`); the
 * two orders differ only when, at the first differing position, one key has a character in
 * U+E000..U+FFFF and the other a character above U+FFFF. We follow securesystemslib there.
 *
 * Values are refused with `invalid-argument` rather than silently changed: floats, NaN,
 * infinities and integers beyond ±(2^53 − 1) (they would not survive `JSON.parse` in a peer),
 * `bigint` (no peer in JavaScript can read it back exactly; callers carry such values as
 * decimal strings), `undefined`, functions, symbols, array holes, symbol-keyed properties,
 * non-plain objects (Date, Map, Uint8Array, class instances), strings with lone surrogates
 * (not encodable as UTF-8), cycles, and nesting deeper than {@link maxEncodeDepth}. `-0` is
 * written as `0`, as every peer does. This module does not parse; see `parse.ts`.
 */

import { toBytes } from '../bytes/index.ts';
import { tooLarge, VouchError } from '../errors.ts';
import { formatFieldPath } from './value.ts';

/** maxEncodeDepth is the deepest nesting of arrays and objects the encoders accept. */
export const maxEncodeDepth = 512;

/**
 * formatCanonicalJson returns the OLPC canonical JSON encoding of `value` as UTF-8 bytes,
 * identical to securesystemslib's `encode_canonical(value).encode('utf-8')`. It throws an
 * `invalid-argument` VouchError naming the field path of the first value canonical JSON cannot
 * represent (see the module comment), or `too-large` past {@link maxEncodeDepth}.
 */
export function formatCanonicalJson(value: unknown): Uint8Array {
  return encode(value, 'canonical JSON', quoteCanonical, true);
}

/**
 * formatJson returns compact RFC 8259 JSON for `value` with object keys in the same code-point
 * order as {@link formatCanonicalJson}, so equal values always give equal bytes. Unlike canonical
 * JSON it escapes control characters (the output always parses) and it accepts any finite
 * number, written as `JSON.stringify` writes it. Use it for payloads signed as opaque bytes,
 * such as DSSE. It refuses the same non-JSON values as the canonical encoder.
 */
export function formatJson(value: unknown): Uint8Array {
  return encode(value, 'JSON', JSON.stringify, false);
}

/**
 * compareCodePoints orders two well-formed strings by Unicode code point (equivalently, by their
 * UTF-8 bytes). Comparing UTF-16 code units is the same except that surrogates (U+D800..U+DFFF,
 * which only occur in pairs encoding characters above U+FFFF) must sort after U+E000..U+FFFF;
 * shifting the units as below restores that without decoding the strings.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixUp(x) - fixUp(y);
  }
  return a.length - b.length;
}

function fixUp(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000; // surrogates above everything in the BMP
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

function quoteCanonical(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function encode(
  root: unknown,
  what: string,
  quote: (text: string) => string,
  integersOnly: boolean,
): Uint8Array {
  const parts: string[] = [];
  const path: (string | number)[] = [];
  const ancestors = new Set<object>();

  const refuse: (reason: string) => never = (reason) => {
    throw new VouchError('invalid-argument', `${what} cannot encode ${reason}`, {
      field: formatFieldPath(path),
    });
  };

  const walk = (value: unknown, depth: number): void => {
    switch (typeof value) {
      case 'string':
        if (!value.isWellFormed()) refuse('a string with a lone surrogate');
        parts.push(quote(value));
        return;
      case 'boolean':
        parts.push(value ? 'true' : 'false');
        return;
      case 'number':
        if (integersOnly ? !Number.isSafeInteger(value) : !Number.isFinite(value)) {
          refuse(integersOnly ? 'a number that is not a safe integer' : 'a non-finite number');
        }
        parts.push(Object.is(value, -0) ? '0' : JSON.stringify(value));
        return;
      case 'object':
        break;
      default:
        refuse(`a value of type ${typeof value}`);
    }
    if (value === null) {
      parts.push('null');
      return;
    }
    const object = value as object;
    if (depth >= maxEncodeDepth) throw tooLarge(`${what} nesting`, maxEncodeDepth, formatFieldPath(path));
    if (ancestors.has(object)) refuse('a cycle');
    ancestors.add(object);
    if (Array.isArray(object)) walkArray(object, depth);
    else walkObject(object, depth);
    ancestors.delete(object);
  };

  const walkArray = (array: readonly unknown[], depth: number): void => {
    parts.push('[');
    for (let i = 0; i < array.length; i++) {
      if (i > 0) parts.push(',');
      path.push(i);
      if (!(i in array)) refuse('an array hole');
      walk(array[i], depth + 1);
      path.pop();
    }
    parts.push(']');
  };

  const walkObject = (object: object, depth: number): void => {
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) refuse('an object that is not a plain object');
    if (Object.getOwnPropertySymbols(object).length > 0) refuse('a symbol-keyed property');
    const record = object as Record<string, unknown>;
    const keys = Object.keys(record);
    for (const key of keys) {
      if (!key.isWellFormed()) refuse('a key with a lone surrogate');
    }
    keys.sort(compareCodePoints);
    parts.push('{');
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (i > 0) parts.push(',');
      path.push(key);
      parts.push(quote(key), ':');
      walk(record[key], depth + 1);
      path.pop();
    }
    parts.push('}');
  };

  walk(root, 0);
  return toBytes(parts.join(''));
}
