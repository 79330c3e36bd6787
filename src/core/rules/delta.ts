/**
 * Record-level deltas between two rule databases, in the spirit of ClamAV's CDIFF scripts
 * (https://docs.clamav.net/faq/faq-cvd.html) but keyed by record identity instead of line
 * numbers, and committing to both ends: a delta names the SHA-256 of the base manifest it applies
 * to and of the manifest it must produce.
 *
 * Encoding: one canonical JSON object (OLPC canonical JSON; re-encoding must give the same bytes):
 *
 *     {"allow":{"added":[HEX...],"removed":[HEX...]},
 *      "base":HEX, "header":{"created":S,"engine":{"max":M,"min":N},"name":NAME,"version":V},
 *      "hashes":{"added":[LINE...],"removed":[LINE...]},   LINE = "sha256:size:name" as in .hsb
 *      "result":HEX, "type":"vouch-rules-delta/v1",
 *      "yara":{"added":[{"content":BASE64,"name":F}...],"removed":[F...],"replaced":[...]}}
 *
 * Every list is sorted (by its string, or by `name`) without repeats. Hash records are identified
 * by (sha256, size): a renamed signature is one removal and one addition. A removed record must
 * be in the base with the same name, an added one must not be; YARA files are opaque named blobs,
 * added (new name), replaced (existing name) or removed. Applying first checks the base digest,
 * then rebuilds the database deterministically and refuses any result whose manifest digest is
 * not `result`. A cumulative delta is simply a delta from an older base. This module does not
 * sign deltas and does no I/O. LIMIT: a delta is held in memory as JSON; about 100 bytes per
 * changed hash record, bounded by {@link maxDeltaBytes}.
 */

import { formatBase64, formatHex, parseBase64, parseHex } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { malformed, tooLarge, VouchError } from '../errors.ts';
import { formatCanonicalJson, isJsonArray, isJsonObject, type JsonValue, parseJson } from '../json/index.ts';
import {
  assembleDatabase,
  type DatabaseFiles,
  type DatabaseHeader,
  maxYaraFileBytes,
  openDatabase,
} from './database.ts';
import { diffHashDb, spliceHashDb } from './hashdb-edit.ts';
import { manifestFileName } from './manifest.ts';
import {
  checkKeys,
  formatHashSignature,
  type HashSignature,
  isSignatureName,
  isYaraFileName,
  parseEngineRange,
  parseHashLine,
} from './source.ts';

/** deltaType is the `type` field of every delta. */
export const deltaType = 'vouch-rules-delta/v1';
/** maxDeltaBytes caps an encoded delta (256 MiB). */
export const maxDeltaBytes = 256 << 20;
/** maxDeltaEntries caps each list of a delta. */
export const maxDeltaEntries = 1 << 24;

/** YaraFile is one named YARA member. */
export interface YaraFile {
  readonly name: string;
  readonly content: Uint8Array;
}

/** RulesDelta is a parsed delta. */
export interface RulesDelta {
  /** base is the SHA-256 of the manifest the delta applies to. */
  readonly base: Uint8Array;
  /** result is the SHA-256 of the manifest the delta must produce. */
  readonly result: Uint8Array;
  readonly header: DatabaseHeader;
  readonly hashesAdded: readonly HashSignature[];
  readonly hashesRemoved: readonly HashSignature[];
  readonly allowAdded: readonly Uint8Array[];
  readonly allowRemoved: readonly Uint8Array[];
  readonly yaraAdded: readonly YaraFile[];
  readonly yaraReplaced: readonly YaraFile[];
  readonly yaraRemoved: readonly string[];
}

function sortedStrings(values: Iterable<string>): string[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * diffDatabases computes the delta that turns database `from` into database `to` (both are
 * opened and verified first) and returns its canonical bytes.
 */
export function diffDatabases(from: DatabaseFiles, to: DatabaseFiles): Uint8Array {
  const a = openDatabase(from);
  const b = openDatabase(to);
  const changes = diffHashDb(a.hashDb, b.hashDb);
  const yaraAdded: { content: string; name: string }[] = [];
  const yaraReplaced: { content: string; name: string }[] = [];
  for (const [name, content] of b.yara) {
    const old = a.yara.get(name);
    if (old === undefined) yaraAdded.push({ content: formatBase64(content), name });
    else if (formatHex(sha256(old)) !== formatHex(sha256(content)))
      yaraReplaced.push({ content: formatBase64(content), name });
  }
  const { manifest } = b;
  return formatCanonicalJson({
    allow: {
      added: sortedStrings(changes.allowAdded.map(formatHex)),
      removed: sortedStrings(changes.allowRemoved.map(formatHex)),
    },
    base: formatHex(a.manifestDigest),
    header: {
      created: manifest.created,
      engine: { ...manifest.engine },
      name: manifest.name,
      version: manifest.version,
    },
    hashes: {
      added: sortedStrings(changes.added.map(formatHashSignature)),
      removed: sortedStrings(changes.removed.map(formatHashSignature)),
    },
    result: formatHex(b.manifestDigest),
    type: deltaType,
    yara: {
      added: yaraAdded,
      removed: sortedStrings([...a.yara.keys()].filter((n) => !b.yara.has(n))),
      replaced: yaraReplaced,
    },
  });
}

function stringList(value: JsonValue | undefined, field: string): string[] {
  if (!isJsonArray(value)) throw malformed('expected an array', field);
  if (value.length > maxDeltaEntries) throw tooLarge('delta list', maxDeltaEntries, field);
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (typeof item !== 'string') throw malformed('expected a string', `${field}[${i}]`);
    const previous = out[i - 1];
    if (previous !== undefined && !(previous < item))
      throw malformed('list not sorted or has repeats', `${field}[${i}]`);
    out.push(item);
  }
  return out;
}

function yaraList(value: JsonValue | undefined, field: string): YaraFile[] {
  if (!isJsonArray(value)) throw malformed('expected an array', field);
  if (value.length > maxDeltaEntries) throw tooLarge('delta list', maxDeltaEntries, field);
  const out: YaraFile[] = [];
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    const at = `${field}[${i}]`;
    if (!isJsonObject(item)) throw malformed('expected {content, name}', at);
    checkKeys(item, ['content', 'name'], at);
    if (typeof item.name !== 'string' || !isYaraFileName(item.name))
      throw malformed('bad YARA file name', `${at}.name`);
    if (typeof item.content !== 'string') throw malformed('content must be base64', `${at}.content`);
    const content = parseBase64(item.content, `${at}.content`);
    if (content.length > maxYaraFileBytes) throw tooLarge('YARA file', maxYaraFileBytes, at);
    const previous = out[i - 1];
    if (previous !== undefined && !(previous.name < item.name))
      throw malformed('list not sorted or has repeats', at);
    out.push(Object.freeze({ name: item.name, content }));
  }
  return out;
}

function digestField(value: JsonValue | undefined, field: string): Uint8Array {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value))
    throw malformed('expected 64 lowercase hex digits', field);
  return parseHex(value);
}

/**
 * parseDelta reads delta bytes: canonical JSON with exactly the documented keys, sorted lists and
 * valid records. Throws `malformed` naming the field, or `too-large`; nothing else.
 */
export function parseDelta(bytes: Uint8Array): RulesDelta {
  if (bytes.length > maxDeltaBytes) throw tooLarge('delta', maxDeltaBytes);
  const value = parseJson(bytes, { maxBytes: maxDeltaBytes });
  if (!isJsonObject(value)) throw malformed('delta is not an object', 'delta');
  checkKeys(value, ['allow', 'base', 'hashes', 'header', 'result', 'type', 'yara'], 'delta');
  if (value.type !== deltaType) throw malformed('unknown delta type', 'type');
  const { allow, hashes, header, yara } = value;
  if (!isJsonObject(allow)) throw malformed('expected an object', 'allow');
  checkKeys(allow, ['added', 'removed'], 'allow');
  if (!isJsonObject(hashes)) throw malformed('expected an object', 'hashes');
  checkKeys(hashes, ['added', 'removed'], 'hashes');
  if (!isJsonObject(yara)) throw malformed('expected an object', 'yara');
  checkKeys(yara, ['added', 'removed', 'replaced'], 'yara');
  if (!isJsonObject(header)) throw malformed('expected an object', 'header');
  checkKeys(header, ['created', 'engine', 'name', 'version'], 'header');
  const { name, version, created } = header;
  if (typeof name !== 'string' || !isSignatureName(name)) throw malformed('bad database name', 'header.name');
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)
    throw malformed('version must be a positive integer', 'header.version');
  if (typeof created !== 'number' || !Number.isSafeInteger(created) || created < 0)
    throw malformed('created must be seconds since the epoch', 'header.created');
  const hexes = (list: string[], field: string) => list.map((h, i) => digestField(h, `${field}[${i}]`));
  const lines = (list: string[], field: string) => list.map((l, i) => parseHashLine(l, `${field}[${i}]`));
  const yaraRemoved = stringList(yara.removed, 'yara.removed');
  yaraRemoved.forEach((n, i) => {
    if (!isYaraFileName(n)) throw malformed('bad YARA file name', `yara.removed[${i}]`);
  });
  const delta: RulesDelta = Object.freeze({
    base: digestField(value.base, 'base'),
    result: digestField(value.result, 'result'),
    header: Object.freeze({
      name,
      version,
      created,
      engine: parseEngineRange(header.engine, 'header.engine'),
    }),
    hashesAdded: lines(stringList(hashes.added, 'hashes.added'), 'hashes.added'),
    hashesRemoved: lines(stringList(hashes.removed, 'hashes.removed'), 'hashes.removed'),
    allowAdded: hexes(stringList(allow.added, 'allow.added'), 'allow.added'),
    allowRemoved: hexes(stringList(allow.removed, 'allow.removed'), 'allow.removed'),
    yaraAdded: yaraList(yara.added, 'yara.added'),
    yaraReplaced: yaraList(yara.replaced, 'yara.replaced'),
    yaraRemoved,
  });
  const again = formatCanonicalJson(value);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i]))
    throw malformed('delta is not in canonical JSON form', 'delta');
  return delta;
}

function conflict(what: string, field: string): VouchError {
  return new VouchError('malformed', `delta does not fit the base: ${what}`, { field });
}

/**
 * applyDelta applies delta bytes to the base database files and returns the resulting files. The
 * base is opened and verified; a base whose manifest digest is not the delta's `base` is refused
 * (`bad-digest`, naming both digests), as is a result whose manifest digest is not `result`. An
 * edit that does not fit the base (removing an absent record, adding a present one, a repeated
 * name) is `malformed`. The base files are not changed.
 */
export function applyDelta(base: DatabaseFiles, deltaBytes: Uint8Array): DatabaseFiles {
  const delta = parseDelta(deltaBytes);
  const db = openDatabase(base);
  if (formatHex(db.manifestDigest) !== formatHex(delta.base))
    throw new VouchError(
      'bad-digest',
      `delta applies to base manifest sha256 ${formatHex(delta.base)}, not to this database (${formatHex(db.manifestDigest)})`,
      { field: manifestFileName },
    );
  const hashTable = spliceHashDb(db.hashDb, {
    added: delta.hashesAdded,
    removed: delta.hashesRemoved,
    allowAdded: delta.allowAdded,
    allowRemoved: delta.allowRemoved,
  });
  const yara = new Map(db.yara);
  delta.yaraRemoved.forEach((n, i) => {
    if (!yara.delete(n)) throw conflict('removed YARA file is not in the base', `yara.removed[${i}]`);
  });
  delta.yaraReplaced.forEach((f, i) => {
    if (!yara.has(f.name)) throw conflict('replaced YARA file is not in the base', `yara.replaced[${i}]`);
    yara.set(f.name, f.content);
  });
  delta.yaraAdded.forEach((f, i) => {
    if (yara.has(f.name)) throw conflict('added YARA file is already in the base', `yara.added[${i}]`);
    yara.set(f.name, f.content);
  });
  const files = assembleDatabase(delta.header, hashTable, yara);
  const digest = sha256(files.get(manifestFileName) as Uint8Array);
  if (formatHex(digest) !== formatHex(delta.result))
    throw new VouchError(
      'bad-digest',
      `delta result has manifest sha256 ${formatHex(digest)}, expected ${formatHex(delta.result)}`,
      { field: manifestFileName },
    );
  return files;
}
