/**
 * Record-level edits of compiled hash tables (format in hashdb.ts), done as merges of sorted
 * sequences directly on the table bytes: {@link diffHashDb} walks two tables once and decodes only
 * the records that differ, and {@link spliceHashDb} copies unchanged records byte for byte while
 * inserting and removing the edited ones. Both are linear in the table size and allocate per
 * changed record only, which matters for 1,000,000-record tables with 1 % churn. A record's
 * identity is (digest, size); a changed name is a removal plus an addition. This module does not
 * encode deltas (delta.ts does).
 */

import { VouchError } from '../errors.ts';
import {
  allocateHashDb,
  allowDigestAt,
  compareDigestAt,
  compareDigests,
  compareRecordAt,
  compareRecords,
  copyHashRecord,
  formatHashDb,
  type HashDb,
  hashDbHeaderLength,
  hashDbRecordLength,
  hashRecordAt,
  nameLengthAt,
  parseHashDb,
  sameNameAt,
  writeHashRecord,
} from './hashdb.ts';
import { formatHashSignature, type HashSignature, isSignatureName } from './source.ts';

/** HashDbChanges lists what differs between two tables; every list is in table order. */
export interface HashDbChanges {
  readonly added: readonly HashSignature[];
  readonly removed: readonly HashSignature[];
  readonly allowAdded: readonly Uint8Array[];
  readonly allowRemoved: readonly Uint8Array[];
}

/** diffHashDb returns the records and allow entries of `b` not in `a` (added) and of `a` not in `b` (removed). */
export function diffHashDb(a: HashDb, b: HashDb): HashDbChanges {
  const added: HashSignature[] = [];
  const removed: HashSignature[] = [];
  let i = 0;
  let j = 0;
  while (i < a.recordCount || j < b.recordCount) {
    const c = i >= a.recordCount ? 1 : j >= b.recordCount ? -1 : compareRecordAt(a, i, b, j);
    if (c < 0) removed.push(hashRecordAt(a, i++));
    else if (c > 0) added.push(hashRecordAt(b, j++));
    else {
      if (!sameNameAt(a, i, b, j)) {
        removed.push(hashRecordAt(a, i));
        added.push(hashRecordAt(b, j));
      }
      i++;
      j++;
    }
  }
  const allowAdded: Uint8Array[] = [];
  const allowRemoved: Uint8Array[] = [];
  i = 0;
  j = 0;
  while (i < a.allowCount || j < b.allowCount) {
    const c =
      i >= a.allowCount
        ? 1
        : j >= b.allowCount
          ? -1
          : compareDigestAt(allowDigestAt(a, i), 0, allowDigestAt(b, j), 0);
    if (c < 0) allowRemoved.push(allowDigestAt(a, i++).slice());
    else if (c > 0) allowAdded.push(allowDigestAt(b, j++).slice());
    else {
      i++;
      j++;
    }
  }
  return Object.freeze({ added, removed, allowAdded, allowRemoved });
}

function misfit(what: string, field: string): VouchError {
  return new VouchError('malformed', `delta does not fit the base: ${what}`, { field });
}

/**
 * spliceHashDb returns the canonical bytes of `base` with `changes` applied. A removed record
 * must be in the base with the same name, an added one (or allow entry) must not be; each
 * violation is `malformed` naming the record. The result's names are checked to be unique.
 */
export function spliceHashDb(base: HashDb, changes: HashDbChanges): Uint8Array {
  const removed = [...changes.removed].sort(compareRecords);
  const added = [...changes.added].sort(compareRecords);
  for (const record of added)
    if (record.digest.length !== 32 || !isSignatureName(record.name))
      throw new VouchError('invalid-argument', 'added hash record has a bad digest length or name');
  for (let k = 1; k < added.length; k++)
    if (compareRecords(added[k - 1] as HashSignature, added[k] as HashSignature) === 0)
      throw misfit(
        `hash and size added twice: ${formatHashSignature(added[k] as HashSignature)}`,
        'hashes.added',
      );
  // Each edited record as a one-record table, so it compares with base records on bytes.
  const asTable = (record: HashSignature) => parseHashDb(formatHashDb([record], []));
  const removedTables = removed.map(asTable);
  const addedTables = added.map(asTable);
  // plan[k] >= 0 keeps base record plan[k]; plan[k] < 0 inserts added record -plan[k] - 1.
  const plan = new Int32Array(base.recordCount + added.length);
  let length = 0;
  let namesLength = 0;
  let i = 0;
  let r = 0;
  let a = 0;
  while (i < base.recordCount || a < added.length) {
    const removeProbe = removedTables[r];
    if (i < base.recordCount && removeProbe !== undefined) {
      const c = compareRecordAt(base, i, removeProbe, 0);
      if (c === 0) {
        if (!sameNameAt(base, i, removeProbe, 0))
          throw misfit(
            `removed record has another name in the base: ${formatHashSignature(removed[r] as HashSignature)}`,
            'hashes.removed',
          );
        i++;
        r++;
        continue;
      }
      if (c > 0)
        throw misfit(
          `removed record is not in the base: ${formatHashSignature(removed[r] as HashSignature)}`,
          'hashes.removed',
        );
    }
    const addProbe = addedTables[a];
    const c = addProbe === undefined ? -1 : i >= base.recordCount ? 1 : compareRecordAt(base, i, addProbe, 0);
    if (c === 0)
      throw misfit(
        `added record is already in the base: ${formatHashSignature(added[a] as HashSignature)}`,
        'hashes.added',
      );
    if (c > 0) {
      plan[length++] = -a - 1;
      namesLength += 1 + (added[a] as HashSignature).name.length;
      a++;
    } else {
      plan[length++] = i;
      namesLength += 1 + nameLengthAt(base, i);
      i++;
    }
  }
  if (r < removed.length)
    throw misfit(
      `removed record is not in the base: ${formatHashSignature(removed[r] as HashSignature)}`,
      'hashes.removed',
    );
  const allow = spliceAllow(base, changes);
  const out = allocateHashDb(length, allow.length, namesLength);
  let nameAt = out.namesOffset;
  const names = new SliceSet(out.out, length);
  for (let k = 0; k < length; k++) {
    const at = hashDbHeaderLength + k * hashDbRecordLength;
    const source = plan[k] as number;
    const start = nameAt;
    nameAt =
      source >= 0
        ? copyHashRecord(base, source, out, at, nameAt)
        : writeHashRecord(out.out, out.view, at, nameAt, added[-source - 1] as HashSignature);
    if (!names.add(start + 1, nameAt)) {
      const name = String.fromCharCode(...out.out.subarray(start + 1, nameAt));
      throw misfit(`signature name ${name} would be used twice`, 'hashes.added');
    }
  }
  for (let k = 0; k < allow.length; k++) out.out.set(allow[k] as Uint8Array, out.allowOffset + k * 32);
  return out.out;
}

function spliceAllow(base: HashDb, changes: HashDbChanges): Uint8Array[] {
  const removed = [...changes.allowRemoved].sort(compareDigests);
  const added = [...changes.allowAdded].sort(compareDigests);
  for (let k = 1; k < added.length; k++)
    if (compareDigests(added[k - 1] as Uint8Array, added[k] as Uint8Array) === 0)
      throw misfit('allow hash added twice', 'allow.added');
  const out: Uint8Array[] = [];
  let i = 0;
  let r = 0;
  let a = 0;
  while (i < base.allowCount || a < added.length) {
    const current = i < base.allowCount ? allowDigestAt(base, i) : undefined;
    const gone = removed[r];
    if (current !== undefined && gone !== undefined) {
      const c = compareDigests(current, gone);
      if (c === 0) {
        i++;
        r++;
        continue;
      }
      if (c > 0) throw misfit('removed allow hash is not in the base', 'allow.removed');
    }
    const next = added[a];
    const c = next === undefined ? -1 : current === undefined ? 1 : compareDigests(current, next);
    if (c === 0) throw misfit('added allow hash is already in the base', 'allow.added');
    if (c > 0) {
      out.push(next as Uint8Array);
      a++;
    } else {
      out.push(current as Uint8Array);
      i++;
    }
  }
  if (r < removed.length) throw misfit('removed allow hash is not in the base', 'allow.removed');
  return out;
}

/**
 * SliceSet is a set of byte strings that are slices of one buffer (the names table being
 * written), so checking a million names for uniqueness makes no string per name: open addressing
 * on a 32-bit FNV-1a hash, slices compared byte by byte only when hashes meet.
 */
class SliceSet {
  readonly #bytes: Uint8Array;
  readonly #slots: Int32Array; // 0 = empty, else 1 + index into #starts/#ends
  readonly #hashes: Uint32Array;
  readonly #starts: Int32Array;
  readonly #ends: Int32Array;
  readonly #mask: number;
  #count = 0;

  constructor(bytes: Uint8Array, capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.#bytes = bytes;
    this.#slots = new Int32Array(size);
    this.#hashes = new Uint32Array(size);
    this.#starts = new Int32Array(capacity);
    this.#ends = new Int32Array(capacity);
    this.#mask = size - 1;
  }

  /** add inserts bytes[start, end) and returns false when an equal slice is already present. */
  add(start: number, end: number): boolean {
    const bytes = this.#bytes;
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193);
    hash >>>= 0;
    for (let slot = hash & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const entry = this.#slots[slot] as number;
      if (entry === 0) {
        this.#starts[this.#count] = start;
        this.#ends[this.#count] = end;
        this.#slots[slot] = ++this.#count;
        this.#hashes[slot] = hash;
        return true;
      }
      if (this.#hashes[slot] === hash && this.#equal(entry - 1, start, end)) return false;
    }
  }

  #equal(index: number, start: number, end: number): boolean {
    const otherStart = this.#starts[index] as number;
    if ((this.#ends[index] as number) - otherStart !== end - start) return false;
    for (let i = 0; i < end - start; i++)
      if (this.#bytes[otherStart + i] !== this.#bytes[start + i]) return false;
    return true;
  }
}
