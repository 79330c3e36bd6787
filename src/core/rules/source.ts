/**
 * The rules source layout: the text files an analyst edits, parsed into typed, frozen records.
 *
 * A source folder holds `rules.json` (metadata: `{"name": NAME, "engine": {"min": N, "max": M}}`,
 * engine functionality levels as integers, no other keys; the compiler adds the YARA-X version to
 * the database's engine range, see {@link EngineRange}), any number of `*.hsb` hash signature
 * files, an optional `allow.sha256` allow-list and any number of `*.yar` YARA files. Hash lines are
 * ClamAV `.hsb` lines (https://docs.clamav.net/manual/Signatures/HashSignatures.html) restricted
 * to one spelling: `SHA256:SIZE:NAME` with 64 lowercase hex digits, SIZE a canonical decimal or
 * `*` (any size), NAME of 1 to 128 characters from ClamAV's allowed set `[A-Za-z0-9._-]`. Lines
 * end with LF (a CR is refused; the last line may lack its LF); empty lines and lines starting
 * with `#` are skipped (an export to ClamAV writes neither). The allow-list is one lowercase
 * SHA-256 per line with the same comment rules.
 *
 * Duplicates are refused, not merged: a name used twice (in any `.hsb` file of the source), and a
 * (hash, size) pair listed twice even under different names — a file must map to one detection
 * name, and the pair is the record's identity in deltas. The same hash with `*` and with an exact
 * size are two records. The trailing ClamAV `:minFL` field, SHA-1 and MD5 hashes are not
 * supported. This module does not read folders (services/rules does) and does not look at YARA
 * text beyond its file name.
 */

import { toText } from '../bytes/index.ts';
import { malformed, tooLarge, VouchError } from '../errors.ts';
import { isJsonObject, type JsonValue, parseJson } from '../json/index.ts';

/** HashSize is a file size in bytes, or `'*'` for a signature that matches any size. */
export type HashSize = number | '*';

/** HashSignature is one parsed `.hsb` line. */
export interface HashSignature {
  readonly digest: Uint8Array;
  readonly size: HashSize;
  readonly name: string;
}

/**
 * EngineRange says which engines can use a database: the inclusive range of Vouch engine
 * functionality levels it is built for and, for a database with YARA files, the YARA-X version
 * that validated them (recorded by the compiler, never written in `rules.json`).
 */
export interface EngineRange {
  readonly min: number;
  readonly max: number;
  /** yaraX is the YARA-X version (`MAJOR.MINOR.PATCH`) the YARA files compiled with, if any. */
  readonly yaraX?: string;
}

/** RulesMetadata is the parsed `rules.json`. */
export interface RulesMetadata {
  readonly name: string;
  readonly engine: EngineRange;
}

/** SourceLimits bounds what the source parsers accept. */
export interface SourceLimits {
  /** maxFileBytes is the largest single source file. */
  readonly maxFileBytes: number;
  /** maxHashes is the most hash signatures in one source (all files together). */
  readonly maxHashes: number;
  /** maxAllow is the most allow-list entries. */
  readonly maxAllow: number;
}

/** defaultSourceLimits are the limits used when none are given: 1 GiB files, 16 Mi hashes. */
export const defaultSourceLimits: SourceLimits = Object.freeze({
  maxFileBytes: 1 << 30,
  maxHashes: 1 << 24,
  maxAllow: 1 << 24,
});

/** maxNameLength is the longest signature or database name accepted. */
export const maxNameLength = 128;

/** namePattern is ClamAV's allowed signature-name alphabet. */
const namePattern = /^[A-Za-z0-9._-]{1,128}$/;
const digestPattern = /^[0-9a-f]{64}$/;

/** isSignatureName reports whether `name` is a valid signature (or database) name. */
export function isSignatureName(name: string): boolean {
  return namePattern.test(name);
}

/** isYaraFileName reports whether `name` is a valid YARA member file name (`NAME.yar`). */
export function isYaraFileName(name: string): boolean {
  return name.endsWith('.yar') && isSignatureName(name) && name !== '.yar';
}

/**
 * parseHashSize reads the SIZE field: a canonical decimal up to 2^53 − 1, or `*`; throws
 * `malformed` naming `field`.
 */
export function parseHashSize(text: string, field: string): HashSize {
  if (text === '*') return '*';
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text))
    throw malformed('hash size is not a canonical decimal or *', field);
  const size = Number(text);
  if (!Number.isSafeInteger(size)) throw malformed('hash size is out of range', field);
  return size;
}

/** formatHashSignature renders a record as its one `.hsb` line, without the newline. */
export function formatHashSignature(signature: HashSignature): string {
  let hex = '';
  for (const b of signature.digest) hex += b.toString(16).padStart(2, '0');
  return `${hex}:${signature.size}:${signature.name}`;
}

/**
 * parseHashLine reads one `SHA256:SIZE:NAME` line (no newline) or throws `malformed` naming
 * `field` (for example `a.hsb line 3`).
 */
export function parseHashLine(line: string, field: string): HashSignature {
  const parts = line.split(':');
  if (parts.length !== 3) throw malformed('hash line is not SHA256:SIZE:NAME', field);
  const [hex, sizeText, name] = parts as [string, string, string];
  if (!digestPattern.test(hex)) throw malformed('hash is not 64 lowercase hex digits (SHA-256)', field);
  const size = parseHashSize(sizeText, field);
  if (!isSignatureName(name)) throw malformed('signature name must be 1-128 of [A-Za-z0-9._-]', field);
  return Object.freeze({ digest: decodeDigest(hex), size, name });
}

function nibble(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

/** decodeDigest decodes 64 lowercase hex digits already checked by `digestPattern`. */
function decodeDigest(hex: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++)
    out[i] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
  return out;
}

function* contentLines(bytes: Uint8Array, file: string, limits: SourceLimits): Generator<[string, string]> {
  if (bytes.length > limits.maxFileBytes) throw tooLarge(`source file ${file}`, limits.maxFileBytes, file);
  const text = toText(bytes, file);
  if (text.includes('\r')) throw malformed('source lines must end with LF, not CR LF', file);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '' || line.startsWith('#')) continue;
    yield [line, `${file} line ${i + 1}`];
  }
}

/** HashFile is one named `.hsb` file of a source. */
export interface HashFile {
  readonly file: string;
  readonly bytes: Uint8Array;
}

/**
 * parseHashFiles reads every `.hsb` file of a source, in the order given, and returns all records.
 * It throws `malformed` for a bad line or a duplicate (name, or hash and size), naming the file
 * and line and, for a duplicate, the first occurrence; `too-large` over the limits.
 */
export function parseHashFiles(
  files: readonly HashFile[],
  limits: SourceLimits = defaultSourceLimits,
): readonly HashSignature[] {
  const out: HashSignature[] = [];
  const byName = new Map<string, string>();
  const byKey = new Map<string, string>();
  for (const { file, bytes } of files) {
    for (const [line, field] of contentLines(bytes, file, limits)) {
      if (out.length >= limits.maxHashes) throw tooLarge('hash signature count', limits.maxHashes, field);
      const signature = parseHashLine(line, field);
      const nameSeen = byName.get(signature.name);
      if (nameSeen !== undefined) throw duplicate(`signature name is already used at ${nameSeen}`, field);
      const key = line.slice(0, line.lastIndexOf(':'));
      const keySeen = byKey.get(key);
      if (keySeen !== undefined) throw duplicate(`hash and size are already listed at ${keySeen}`, field);
      byName.set(signature.name, field);
      byKey.set(key, field);
      out.push(signature);
    }
  }
  return Object.freeze(out);
}

/**
 * parseAllowList reads `allow.sha256`: one lowercase SHA-256 per line; throws `malformed` for a
 * bad or repeated line, naming the file and line.
 */
export function parseAllowList(
  bytes: Uint8Array,
  file = 'allow.sha256',
  limits: SourceLimits = defaultSourceLimits,
): readonly Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Map<string, string>();
  for (const [line, field] of contentLines(bytes, file, limits)) {
    if (out.length >= limits.maxAllow) throw tooLarge('allow-list count', limits.maxAllow, field);
    if (!digestPattern.test(line)) throw malformed('allow-list line is not 64 lowercase hex digits', field);
    const first = seen.get(line);
    if (first !== undefined) throw duplicate(`hash is already allowed at ${first}`, field);
    seen.set(line, field);
    out.push(decodeDigest(line));
  }
  return Object.freeze(out);
}

/** maxEngineLevel is the largest engine functionality level. */
export const maxEngineLevel = 0x7fffffff;

/**
 * parseRulesMetadata reads `rules.json` (at most 64 KiB): exactly the keys `name` and `engine`
 * with `min` ≤ `max`. Throws `malformed` naming the field.
 */
export function parseRulesMetadata(bytes: Uint8Array, file = 'rules.json'): RulesMetadata {
  const value = parseJson(bytes, { maxBytes: 64 * 1024 });
  if (!isJsonObject(value)) throw malformed('metadata is not a JSON object', file);
  checkKeys(value, ['engine', 'name'], file);
  const name = value.name;
  if (typeof name !== 'string' || !isSignatureName(name))
    throw malformed('name must be 1-128 of [A-Za-z0-9._-]', `${file} name`);
  const engine = parseEngineRange(value.engine, `${file} engine`);
  if (engine.yaraX !== undefined)
    throw malformed(
      'engine.yaraX is recorded by the compiler, not set in rules.json',
      `${file} engine.yaraX`,
    );
  return Object.freeze({ name, engine });
}

/** versionPattern is a canonical `MAJOR.MINOR.PATCH`. */
const versionPattern = /^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$/;

/**
 * parseEngineVersion reads a `MAJOR.MINOR.PATCH` version (canonical decimals, each below 10^6, no
 * pre-release or build suffix) into its three numbers, or throws `malformed` naming `field`.
 */
export function parseEngineVersion(text: string, field: string): readonly [number, number, number] {
  const m = versionPattern.exec(text);
  if (m === null) throw malformed('engine version must be MAJOR.MINOR.PATCH', field);
  return Object.freeze([Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number]);
}

/**
 * parseEngineRange checks a JSON `{"min": N, "max": M}` engine range, with an optional
 * `"yaraX": "MAJOR.MINOR.PATCH"`.
 */
export function parseEngineRange(value: JsonValue | undefined, field: string): EngineRange {
  if (!isJsonObject(value)) throw malformed('engine must be an object {min, max}', field);
  checkKeys(value, value.yaraX === undefined ? ['max', 'min'] : ['max', 'min', 'yaraX'], field);
  const { min, max, yaraX } = value;
  if (!isLevel(min)) throw malformed('engine min must be an integer level', `${field}.min`);
  if (!isLevel(max)) throw malformed('engine max must be an integer level', `${field}.max`);
  if (min > max) throw malformed('engine min is above max', field);
  if (yaraX === undefined) return Object.freeze({ min, max });
  if (typeof yaraX !== 'string') throw malformed('engine yaraX must be a version string', `${field}.yaraX`);
  parseEngineVersion(yaraX, `${field}.yaraX`);
  return Object.freeze({ min, max, yaraX });
}

function isLevel(value: JsonValue | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= maxEngineLevel;
}

/** checkKeys refuses an object whose keys are not exactly `keys` (sorted). */
export function checkKeys(
  value: { readonly [key: string]: unknown },
  keys: readonly string[],
  field: string,
) {
  const actual = Object.keys(value).sort();
  if (actual.length !== keys.length || actual.some((k, i) => k !== keys[i]))
    throw malformed(`expected exactly the keys ${keys.join(', ')}`, field);
}

function duplicate(what: string, field: string): VouchError {
  return new VouchError('malformed', `duplicate: ${what}`, { field });
}
