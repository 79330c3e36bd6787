/**
 * A strict, bounded JSON parser (RFC 8259, https://www.rfc-editor.org/rfc/rfc8259) for input
 * that carries signatures.
 *
 * `JSON.parse` silently keeps the last of two equal object keys, so one signed document can be
 * read two ways by two parsers; this parser refuses duplicate keys, lone surrogates (`"\ud800"`,
 * not valid Unicode, and not encodable when the value is re-signed), a byte-order mark, invalid
 * UTF-8 and anything after the value. It checks the size cap before reading a byte and a depth
 * cap while descending, runs in time linear in the input, and every error is a VouchError with
 * the field path where it happened. Unknown fields are kept, so re-encoding a parsed document
 * with `formatCanonicalJson` gives back the bytes its signer hashed.
 *
 * Numbers: by default only integer literals within ±(2^53 − 1) are accepted (canonical JSON has
 * no others, and Python peers read `1.0` or `1e2` as floats that `encode_canonical` refuses);
 * with `allowFloats` every JSON number is read as a binary64 double exactly as `JSON.parse` reads
 * it, rounding included. `-0` is read as `0`. Objects are frozen with a null prototype, so a
 * lookup with an attacker-chosen key such as `constructor` or `__proto__` finds only data.
 * This module does not validate any schema; callers check shapes with the field paths it uses.
 */

import { toText } from '../bytes/index.ts';
import { tooLarge, VouchError } from '../errors.ts';
import { maxEncodeDepth } from './canonical.ts';
import { formatFieldPath, type JsonObject, type JsonValue } from './value.ts';

/** ParseJsonOptions bounds what {@link parseJson} reads. */
export interface ParseJsonOptions {
  /** maxBytes is the largest input accepted, checked before decoding. */
  readonly maxBytes: number;
  /** maxDepth is the deepest nesting of arrays and objects accepted (default 64, at most 512). */
  readonly maxDepth?: number;
  /** allowFloats accepts fractions, exponents and unsafe integers as doubles (default false). */
  readonly allowFloats?: boolean;
}

/** defaultMaxDepth is the nesting limit {@link parseJson} applies when none is given. */
export const defaultMaxDepth = 64;

const numberPattern = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

const escapes: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/**
 * parseJson reads one JSON value from UTF-8 bytes and returns it deeply frozen. It throws
 * `too-large` (over `maxBytes` or `maxDepth`), `malformed` (syntax, duplicate key, lone
 * surrogate, disallowed number; details carry `field` and the character `offset`), or
 * `invalid-argument` for bad options. It never throws anything else.
 */
export function parseJson(bytes: Uint8Array, options: ParseJsonOptions): JsonValue {
  const { maxBytes, maxDepth = defaultMaxDepth, allowFloats = false } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new VouchError('invalid-argument', 'maxBytes must be a non-negative integer');
  }
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1 || maxDepth > maxEncodeDepth) {
    throw new VouchError('invalid-argument', `maxDepth must be an integer from 1 to ${maxEncodeDepth}`);
  }
  if (bytes.length > maxBytes) throw tooLarge('JSON document', maxBytes);
  const text = toText(bytes, 'JSON document');
  const path: (string | number)[] = [];
  let pos = 0;

  const fail: (what: string) => never = (what) => {
    throw new VouchError('malformed', `JSON ${what}`, { field: formatFieldPath(path), offset: pos });
  };

  const skipWhitespace = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      pos++;
    }
  };

  const expect = (char: string): void => {
    skipWhitespace();
    if (text[pos] !== char) fail(pos >= text.length ? 'ends early' : `expects '${char}'`);
    pos++;
  };

  // more consumes the ',' before another member and returns true, or returns false at `close`.
  const more = (close: string): boolean => {
    skipWhitespace();
    if (text[pos] === close) return false;
    if (text[pos] !== ',') fail(pos >= text.length ? 'ends early' : `expects ',' or '${close}'`);
    pos++;
    return true;
  };

  const readString = (): string => {
    pos++; // opening quote
    let out = '';
    let start = pos;
    for (;;) {
      if (pos >= text.length) fail('string is not terminated');
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c < 0x20) fail('string contains a raw control character');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      const e = text[pos + 1];
      if (e === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('string has a bad \\u escape');
        out += String.fromCharCode(Number.parseInt(hex, 16));
        pos += 6;
      } else {
        const decoded = e === undefined ? undefined : escapes[e];
        if (decoded === undefined) fail('string has a bad escape');
        out += decoded;
        pos += 2;
      }
      start = pos;
    }
    out += text.slice(start, pos);
    if (!out.isWellFormed()) fail('string contains a lone surrogate');
    pos++; // closing quote
    return out;
  };

  const readNumber = (): number => {
    numberPattern.lastIndex = pos;
    const match = numberPattern.exec(text);
    if (match === null) return fail('has an unexpected character');
    const literal = match[0];
    const isInteger = match[1] === undefined && match[2] === undefined;
    const value = Number(literal);
    if (!allowFloats) {
      if (!isInteger) fail('number is not an integer');
      if (!Number.isSafeInteger(value)) fail('integer is outside ±(2^53 - 1)');
    } else if (!Number.isFinite(value)) {
      fail('number is out of range');
    }
    pos += literal.length;
    return value === 0 ? 0 : value; // -0 reads as 0
  };

  const readLiteral = <T extends JsonValue>(word: string, value: T): T => {
    if (!text.startsWith(word, pos)) fail('has an unexpected character');
    pos += word.length;
    return value;
  };

  const readValue = (depth: number): JsonValue => {
    skipWhitespace();
    switch (text[pos]) {
      case '{':
        return readObject(depth);
      case '[':
        return readArray(depth);
      case '"':
        return readString();
      case 't':
        return readLiteral('true', true);
      case 'f':
        return readLiteral('false', false);
      case 'n':
        return readLiteral('null', null);
      case undefined:
        return fail('ends early');
      default:
        return readNumber();
    }
  };

  const enter = (depth: number): void => {
    if (depth >= maxDepth) {
      throw new VouchError('too-large', `JSON nesting exceeds the limit of ${maxDepth}`, {
        limit: maxDepth,
        field: formatFieldPath(path),
        offset: pos,
      });
    }
    pos++; // opening bracket
    skipWhitespace();
  };

  const readArray = (depth: number): JsonValue => {
    enter(depth);
    const out: JsonValue[] = [];
    if (text[pos] === ']') {
      pos++;
      return Object.freeze(out);
    }
    do {
      path.push(out.length);
      out.push(readValue(depth + 1));
      path.pop();
    } while (more(']'));
    pos++;
    return Object.freeze(out);
  };

  const readObject = (depth: number): JsonObject => {
    enter(depth);
    const out: Record<string, JsonValue> = Object.create(null);
    if (text[pos] === '}') {
      pos++;
      return Object.freeze(out);
    }
    do {
      skipWhitespace();
      if (text[pos] !== '"') fail(pos >= text.length ? 'ends early' : 'expects an object key');
      const key = readString();
      path.push(key);
      if (Object.hasOwn(out, key)) fail('object has a duplicate key');
      expect(':');
      out[key] = readValue(depth + 1);
      path.pop();
    } while (more('}'));
    pos++;
    return Object.freeze(out);
  };

  const value = readValue(0);
  skipWhitespace();
  if (pos !== text.length) fail('has data after the value');
  return value;
}
