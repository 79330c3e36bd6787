/**
 * The JSON value model shared by the parser, the canonical encoder and every JSON format in core
 * (TUF metadata, DSSE envelopes, in-toto statements), plus the field-path notation their errors
 * use. Values are the plain JavaScript shapes `JSON.parse` would give, so callers read them
 * without wrappers; parsed values are deeply frozen. This module does no parsing or encoding.
 */

import { describeUntrusted } from '../errors.ts';

/** JsonValue is any JSON value: null, a boolean, a number, a string, an array or an object. */
export type JsonValue = null | boolean | number | string | JsonArray | JsonObject;

/** JsonArray is a JSON array. Parsed arrays are frozen. */
export type JsonArray = readonly JsonValue[];

/** JsonObject is a JSON object with string keys; parsed objects are frozen plain objects. */
export type JsonObject = { readonly [key: string]: JsonValue };

/** FieldPath is the list of keys and indexes from the root of a document to one value. */
export type FieldPath = readonly (string | number)[];

/** isJsonObject reports whether a JSON value is an object (not an array, not null). */
export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** isJsonArray reports whether a JSON value is an array. */
export function isJsonArray(value: JsonValue | undefined): value is JsonArray {
  return Array.isArray(value);
}

const plainKey = /^[A-Za-z_$][A-Za-z0-9_$-]{0,39}$/;

/**
 * formatFieldPath renders a path for error details: `signatures[2].keyid`, `$` for the root.
 * Keys that are not short identifiers are shown as a sanitised quoted excerpt (`["a b"]`), so an
 * attacker-chosen key never reaches a message or a log verbatim.
 */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (plainKey.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `["${describeUntrusted(segment).replace(/["\\]/g, '?')}"]`;
  }
  return out === '' ? '$' : out;
}
