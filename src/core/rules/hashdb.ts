/**
 * The compiled hash table (`hashes.vhdb`): SHA-256 hash signatures and the allow-list in a
 * binary, pre-sorted form that is validated in one linear pass and then searched in place, with
 * no text parsing at load time. ClamAV re-parses millions of `.hsb` text lines on every start
 * (about 0.9 s per million); this format replaces that with a bounds and order check.
 *
 * Layout, all integers little-endian:
 *
 *     header   64 bytes: "VOUCHHDB", u32 format version (1), u32 header length (64),
 *              u32 record count, u32 records offset, u32 allow count, u32 allow offset,
 *              u32 names offset, u32 names length, 24 zero bytes
 *     records  count × 44 bytes: digest[32], u64 size (2^64 − 1 = any size), u32 name offset
 *     allow    count × 32 bytes: digest
 *     names    per record, in record order: u8 length, then that many bytes of [A-Za-z0-9._-]
 *
 * The sections follow each other with no gap and the file ends with the names table, so there is
 * exactly one encoding of a set of records: records are sorted by (digest, size) with the
 * wildcard last, strictly (no duplicate identity); the allow-list is sorted strictly. Integrity
 * against tampering comes from the manifest's SHA-256, not from this file. Sizes are at most
 * 2^53 − 1 and names 1 to 128 bytes. LIMIT: the parser does not check that names are unique (it
 * would cost a hash set per load); the compiler and the delta applier guarantee it. LIMIT: Node
 * cannot mmap, so a loader reads the whole table (about 72 MB per million records) into memory.
 */

import { invariant, malformed, tooLarge, VouchError } from '../errors.ts';
import { formatHashSignature, type HashSignature, type HashSize, isSignatureName } from './source.ts';

/** hashDbMagic is the first 8 bytes of a compiled hash table. */
export const hashDbMagic = 'VOUCHHDB';
/** hashDbVersion is the format version this module reads and writes. */
export const hashDbVersion = 1;
const headerLength = 64;
const recordLength = 44;
const wildcardHigh = 0xffffffff;
/** maxHashDbRecords caps records and allow entries so every offset fits in a u32. */
export const maxHashDbRecords = 40_000_000;

/** HashDb is a validated compiled hash table; `bytes` is owned by it and must not be changed. */
export interface HashDb {
  readonly bytes: Uint8Array;
  /** view is a DataView over `bytes`, made once so lookups do not allocate. */
  readonly view: DataView;
  readonly recordCount: number;
  readonly allowCount: number;
}

/** compareRecords orders records by digest, then size with the wildcard last: the table order. */
export function compareRecords(a: HashSignature, b: HashSignature): number {
  for (let i = 0; i < 32; i++) {
    const d = (a.digest[i] as number) - (b.digest[i] as number);
    if (d !== 0) return d;
  }
  if (a.size === b.size) return 0;
  if (a.size === '*') return 1;
  if (b.size === '*') return -1;
  return a.size - b.size;
}

function prefixOf(digest: Uint8Array): number {
  return (
    (((digest[0] as number) << 24) |
      ((digest[1] as number) << 16) |
      ((digest[2] as number) << 8) |
      (digest[3] as number)) >>>
    0
  );
}

/** sortRecords sorts by (digest, size), comparing a u32 prefix first to keep the comparator cheap. */
function sortRecords(records: readonly HashSignature[]): HashSignature[] {
  const prefixes = new Float64Array(records.length);
  for (let i = 0; i < records.length; i++) prefixes[i] = prefixOf((records[i] as HashSignature).digest);
  const order = Array.from({ length: records.length }, (_, i) => i);
  order.sort((a, b) => {
    const d = (prefixes[a] as number) - (prefixes[b] as number);
    return d !== 0 ? d : compareRecords(records[a] as HashSignature, records[b] as HashSignature);
  });
  return order.map((i) => records[i] as HashSignature);
}

/** compareDigests orders 32-byte digests bytewise. */
export function compareDigests(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * formatHashDb compiles records and allow-list digests into the canonical bytes: the same sets
 * in any order give the same bytes. Throws `malformed` on a duplicate identity or allow entry,
 * `invalid-argument` for a record no parser would return (bad name, digest not 32 bytes),
 * `too-large` over {@link maxHashDbRecords}.
 */
export function formatHashDb(records: readonly HashSignature[], allow: readonly Uint8Array[]): Uint8Array {
  if (records.length > maxHashDbRecords) throw tooLarge('hash signature count', maxHashDbRecords);
  if (allow.length > maxHashDbRecords) throw tooLarge('allow-list count', maxHashDbRecords);
  const sorted = sortRecords(records);
  const sortedAllow = [...allow].sort(compareDigests);
  let namesLength = 0;
  for (let i = 0; i < sorted.length; i++) {
    const record = sorted[i] as HashSignature;
    if (record.digest.length !== 32 || !isSignatureName(record.name))
      throw new VouchError('invalid-argument', `hash record ${i} has a bad digest length or name`);
    if (i > 0 && compareRecords(sorted[i - 1] as HashSignature, record) === 0)
      throw malformed(`duplicate hash and size: ${formatHashSignature(record)}`);
    namesLength += 1 + record.name.length;
  }
  for (let i = 1; i < sortedAllow.length; i++)
    if (compareDigests(sortedAllow[i - 1] as Uint8Array, sortedAllow[i] as Uint8Array) === 0)
      throw malformed('duplicate allow-list hash');
  const { out, view, allowOffset, namesOffset } = allocateHashDb(
    sorted.length,
    sortedAllow.length,
    namesLength,
  );
  let nameAt = namesOffset;
  for (let i = 0; i < sorted.length; i++)
    nameAt = writeHashRecord(out, view, headerLength + i * recordLength, nameAt, sorted[i] as HashSignature);
  for (let i = 0; i < sortedAllow.length; i++) out.set(sortedAllow[i] as Uint8Array, allowOffset + i * 32);
  return out;
}

/** hashDbHeaderLength and hashDbRecordLength are the fixed sizes of the layout above. */
export const hashDbHeaderLength = headerLength;
export const hashDbRecordLength = recordLength;

/** HashDbBuffer is a new, header-filled table to be filled in by its writer. */
export interface HashDbBuffer {
  readonly out: Uint8Array;
  readonly view: DataView;
  readonly allowOffset: number;
  readonly namesOffset: number;
}

/**
 * allocateHashDb returns a zeroed buffer for a table of the given shape with its header written;
 * the caller writes records in order with {@link writeHashRecord}, then the allow-list.
 */
export function allocateHashDb(recordCount: number, allowCount: number, namesLength: number): HashDbBuffer {
  if (recordCount > maxHashDbRecords) throw tooLarge('hash signature count', maxHashDbRecords);
  if (allowCount > maxHashDbRecords) throw tooLarge('allow-list count', maxHashDbRecords);
  const allowOffset = headerLength + recordCount * recordLength;
  const namesOffset = allowOffset + allowCount * 32;
  const total = namesOffset + namesLength;
  invariant(total <= 0xffffffff, 'hash table under 4 GiB');
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = hashDbMagic.charCodeAt(i);
  view.setUint32(8, hashDbVersion, true);
  view.setUint32(12, headerLength, true);
  view.setUint32(16, recordCount, true);
  view.setUint32(20, headerLength, true);
  view.setUint32(24, allowCount, true);
  view.setUint32(28, allowOffset, true);
  view.setUint32(32, namesOffset, true);
  view.setUint32(36, namesLength, true);
  return { out, view, allowOffset, namesOffset };
}

/**
 * writeHashRecord writes `record` at byte `at` with its name at `nameAt`, and returns where the
 * next name goes. The name must be valid (ASCII), which callers have checked.
 */
export function writeHashRecord(
  out: Uint8Array,
  view: DataView,
  at: number,
  nameAt: number,
  record: HashSignature,
): number {
  out.set(record.digest, at);
  if (record.size === '*') {
    view.setUint32(at + 32, wildcardHigh, true);
    view.setUint32(at + 36, wildcardHigh, true);
  } else {
    view.setUint32(at + 32, record.size % 0x100000000, true);
    view.setUint32(at + 36, Math.floor(record.size / 0x100000000), true);
  }
  view.setUint32(at + 40, nameAt, true);
  const name = record.name;
  out[nameAt] = name.length;
  for (let c = 0; c < name.length; c++) out[nameAt + 1 + c] = name.charCodeAt(c);
  return nameAt + 1 + name.length;
}

function fail(what: string, field: string): VouchError {
  return new VouchError('malformed', `hash table: ${what}`, { field });
}

/**
 * parseHashDb validates a compiled hash table in one linear pass (header, exact section bounds,
 * strict record order, size range, name offsets and characters, strict allow order) and returns
 * a handle that searches `bytes` in place. It throws `malformed` naming the bad field (for
 * example `record 12 order`) or `too-large`; never anything else. `bytes` must not change after.
 */
export function parseHashDb(bytes: Uint8Array, maxBytes = 0xffffffff): HashDb {
  if (bytes.length > maxBytes) throw tooLarge('hash table', maxBytes);
  if (bytes.length < headerLength) throw fail('truncated header', 'header');
  for (let i = 0; i < 8; i++)
    if (bytes[i] !== hashDbMagic.charCodeAt(i)) throw fail('not a Vouch hash table (bad magic)', 'magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => view.getUint32(at, true);
  if (u32(8) !== hashDbVersion) throw fail(`unsupported format version ${u32(8)}`, 'version');
  if (u32(12) !== headerLength) throw fail('bad header length', 'header length');
  for (let i = 40; i < headerLength; i++) if (bytes[i] !== 0) throw fail('reserved bytes not zero', 'header');
  const recordCount = u32(16);
  const allowCount = u32(24);
  if (recordCount > maxHashDbRecords || allowCount > maxHashDbRecords)
    throw fail('count too large', 'header');
  const recordsOffset = headerLength;
  const allowOffset = recordsOffset + recordCount * recordLength;
  const namesOffset = allowOffset + allowCount * 32;
  if (u32(20) !== recordsOffset) throw fail('bad records offset', 'records offset');
  if (u32(28) !== allowOffset) throw fail('bad allow offset', 'allow offset');
  if (u32(32) !== namesOffset) throw fail('bad names offset', 'names offset');
  if (namesOffset + u32(36) !== bytes.length)
    throw fail('length does not match header (truncated?)', 'length');
  let nameAt = namesOffset;
  for (let r = 0; r < recordCount; r++) {
    const at = recordsOffset + r * recordLength;
    const low = u32(at + 32);
    const high = u32(at + 36);
    if (high !== wildcardHigh || low !== wildcardHigh) {
      if (high > 0x1fffff) throw fail('size out of range', `record ${r} size`);
    }
    if (r > 0 && compareAt(bytes, at - recordLength, at, view) >= 0)
      throw fail('records not strictly sorted', `record ${r} order`);
    if (u32(at + 40) !== nameAt) throw fail('name offset out of sequence', `record ${r} name`);
    if (nameAt >= bytes.length) throw fail('name past end', `record ${r} name`);
    const length = bytes[nameAt] as number;
    if (length === 0 || length > 128 || nameAt + 1 + length > bytes.length)
      throw fail('bad name length', `record ${r} name`);
    for (let i = nameAt + 1; i <= nameAt + length; i++) {
      const c = bytes[i] as number;
      const ok =
        (c >= 0x30 && c <= 0x39) ||
        (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x61 && c <= 0x7a) ||
        c === 0x2e ||
        c === 0x5f ||
        c === 0x2d;
      if (!ok) throw fail('bad name character', `record ${r} name`);
    }
    nameAt += 1 + length;
  }
  if (nameAt !== bytes.length) throw fail('names table has trailing bytes', 'names');
  for (let a = 1; a < allowCount; a++) {
    const at = allowOffset + a * 32;
    if (compareDigestAt(bytes, at - 32, bytes, at) >= 0)
      throw fail('allow-list not strictly sorted', `allow ${a}`);
  }
  return Object.freeze({ bytes, view, recordCount, allowCount });
}

/** compareDigestAt compares the 32-byte digests at `aAt` in `a` and `bAt` in `b`. */
export function compareDigestAt(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[aAt + i] as number) - (b[bAt + i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** compareAt orders two records in one table: digest, then u64 size. */
function compareAt(bytes: Uint8Array, aAt: number, bAt: number, view: DataView): number {
  const d = compareDigestAt(bytes, aAt, bytes, bAt);
  if (d !== 0) return d;
  const high = view.getUint32(aAt + 36, true) - view.getUint32(bAt + 36, true);
  if (high !== 0) return high;
  return view.getUint32(aAt + 32, true) - view.getUint32(bAt + 32, true);
}

function readName(db: HashDb, at: number): string {
  const nameAt = db.view.getUint32(at + 40, true);
  const length = db.bytes[nameAt] as number;
  // Names are validated ASCII, so bytes are code units; 8 at a time keeps string building cheap.
  let name = '';
  let i = nameAt + 1;
  const end = nameAt + 1 + length;
  const b = db.bytes;
  for (; i + 8 <= end; i += 8)
    name += String.fromCharCode(
      b[i] as number,
      b[i + 1] as number,
      b[i + 2] as number,
      b[i + 3] as number,
      b[i + 4] as number,
      b[i + 5] as number,
      b[i + 6] as number,
      b[i + 7] as number,
    );
  for (; i < end; i++) name += String.fromCharCode(b[i] as number);
  return name;
}

function readSize(db: HashDb, at: number): HashSize {
  const low = db.view.getUint32(at + 32, true);
  const high = db.view.getUint32(at + 36, true);
  return high === wildcardHigh && low === wildcardHigh ? '*' : high * 0x100000000 + low;
}

/** lowerBound returns the first index in [0, count) whose 32-byte digest at `offset + i*stride` is ≥ digest. */
function lowerBound(db: HashDb, offset: number, stride: number, count: number, digest: Uint8Array): number {
  // The first four bytes read as one big-endian u32 order the same way as the bytes, so most
  // steps of the search cost one read and one integer comparison.
  const prefix = prefixOf(digest);
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = offset + mid * stride;
    const p = db.view.getUint32(at, false);
    if (p < prefix || (p === prefix && compareDigestAt(db.bytes, at, digest, 0) < 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * lookupHash returns the names of the signatures matching a file with SHA-256 `digest` and
 * `size` bytes: the exact-size record first, then the any-size record; empty when none match.
 */
export function lookupHash(db: HashDb, digest: Uint8Array, size: number): readonly string[] {
  if (digest.length !== 32) return [];
  let i = lowerBound(db, headerLength, recordLength, db.recordCount, digest);
  const out: string[] = [];
  for (; i < db.recordCount; i++) {
    const at = headerLength + i * recordLength;
    if (compareDigestAt(db.bytes, at, digest, 0) !== 0) break;
    const recordSize = readSize(db, at);
    if (recordSize === size || recordSize === '*') out.push(readName(db, at));
  }
  return out;
}

/** isAllowed reports whether `digest` is on the database's allow-list. */
export function isAllowed(db: HashDb, digest: Uint8Array): boolean {
  if (digest.length !== 32) return false;
  const offset = headerLength + db.recordCount * recordLength;
  const i = lowerBound(db, offset, 32, db.allowCount, digest);
  return i < db.allowCount && compareDigestAt(db.bytes, offset + i * 32, digest, 0) === 0;
}

/** hashRecordAt decodes record `index` of a validated table (the digest is a copy). */
export function hashRecordAt(db: HashDb, index: number): HashSignature {
  const at = headerLength + index * recordLength;
  return Object.freeze({
    digest: db.bytes.slice(at, at + 32),
    size: readSize(db, at),
    name: readName(db, at),
  });
}

/**
 * compareRecordAt compares record `i` of `a` with record `j` of `b` by identity (digest, then
 * size), without decoding either.
 */
export function compareRecordAt(a: HashDb, i: number, b: HashDb, j: number): number {
  const aAt = headerLength + i * recordLength;
  const bAt = headerLength + j * recordLength;
  const d = compareDigestAt(a.bytes, aAt, b.bytes, bAt);
  if (d !== 0) return d;
  const high = a.view.getUint32(aAt + 36, true) - b.view.getUint32(bAt + 36, true);
  if (high !== 0) return high;
  return a.view.getUint32(aAt + 32, true) - b.view.getUint32(bAt + 32, true);
}

/** sameNameAt reports whether record `i` of `a` and record `j` of `b` have the same name. */
export function sameNameAt(a: HashDb, i: number, b: HashDb, j: number): boolean {
  const aName = a.view.getUint32(headerLength + i * recordLength + 40, true);
  const bName = b.view.getUint32(headerLength + j * recordLength + 40, true);
  const length = a.bytes[aName] as number;
  if (length !== b.bytes[bName]) return false;
  for (let k = 1; k <= length; k++) if (a.bytes[aName + k] !== b.bytes[bName + k]) return false;
  return true;
}

/** copyHashRecord copies record `index` of `db` to byte `at` of a new table, and returns the next name offset. */
export function copyHashRecord(
  db: HashDb,
  index: number,
  out: HashDbBuffer,
  at: number,
  nameAt: number,
): number {
  const from = headerLength + index * recordLength;
  out.out.set(db.bytes.subarray(from, from + 40), at);
  out.view.setUint32(at + 40, nameAt, true);
  const name = db.view.getUint32(from + 40, true);
  const length = db.bytes[name] as number;
  out.out.set(db.bytes.subarray(name, name + 1 + length), nameAt);
  return nameAt + 1 + length;
}

/** nameLengthAt returns the byte length of record `index`'s name. */
export function nameLengthAt(db: HashDb, index: number): number {
  return db.bytes[db.view.getUint32(headerLength + index * recordLength + 40, true)] as number;
}

/** allowDigestAt returns allow-list entry `index` as a view into the table (do not modify). */
export function allowDigestAt(db: HashDb, index: number): Uint8Array {
  const at = headerLength + db.recordCount * recordLength + index * 32;
  return db.bytes.subarray(at, at + 32);
}

/** readHashRecords decodes every record of a validated table, in table order. */
export function readHashRecords(db: HashDb): readonly HashSignature[] {
  const out: HashSignature[] = [];
  for (let i = 0; i < db.recordCount; i++) {
    const at = headerLength + i * recordLength;
    out.push(
      Object.freeze({ digest: db.bytes.slice(at, at + 32), size: readSize(db, at), name: readName(db, at) }),
    );
  }
  return out;
}

/** readAllowList decodes the allow-list of a validated table, sorted. */
export function readAllowList(db: HashDb): readonly Uint8Array[] {
  const offset = headerLength + db.recordCount * recordLength;
  const out: Uint8Array[] = [];
  for (let i = 0; i < db.allowCount; i++) out.push(db.bytes.slice(offset + i * 32, offset + i * 32 + 32));
  return out;
}
