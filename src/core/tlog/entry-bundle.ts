/**
 * C2SP tlog-tiles entry bundles (https://c2sp.org/tlog-tiles, "Log Entries"): the bytes served at
 * `tile/entries/<N>[.p/<W>]`, the concatenation of each entry as a big-endian uint16 length followed
 * by that many bytes, for entries N·256 .. N·256 + W - 1. So an entry is at most 65535 bytes and a
 * bundle holds 1..256 entries.
 *
 * Empty entries are allowed: the format can carry them and RFC 6962 hashes them like any other
 * (the reference tree's first leaf is empty); whether a log accepts an empty submission is its own
 * policy, not this codec's. The parser needs the entry count the tile path implies, because a
 * bundle does not state it; HTTP gzip is the transport's business.
 */

import { malformed, tooLarge, VouchError } from '../errors.ts';
import { fullTileWidth } from './tile-path.ts';

/** maxEntrySize is the largest entry a bundle can hold, the uint16 maximum. */
export const maxEntrySize = 65535;

/** maxEntryBundleSize is the largest possible bundle: 256 entries of 65535 bytes with their prefixes. */
export const maxEntryBundleSize = fullTileWidth * (2 + maxEntrySize);

/**
 * formatEntryBundle encodes 1..256 entries as an entry bundle. It throws `invalid-argument` for
 * another count and `too-large` for an entry over 65535 bytes.
 */
export function formatEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  checkCount(entries.length);
  let length = 0;
  entries.forEach((entry, i) => {
    if (entry.length > maxEntrySize) throw tooLarge('entry', maxEntrySize, `entries[${i}]`);
    length += 2 + entry.length;
  });
  const out = new Uint8Array(length);
  let offset = 0;
  for (const entry of entries) {
    out[offset] = entry.length >> 8;
    out[offset + 1] = entry.length & 0xff;
    out.set(entry, offset + 2);
    offset += 2 + entry.length;
  }
  return out;
}

/**
 * parseEntryBundle decodes a bundle that must hold exactly `count` entries (the tile path's width,
 * 1..256, else `invalid-argument`). It throws `too-large` if `bytes` exceeds `maxBytes` (checked
 * first) and `malformed` if the bundle is truncated or has bytes after the last entry. The result
 * is a frozen array of copies.
 */
export function parseEntryBundle(
  bytes: Uint8Array,
  count: number,
  maxBytes: number = maxEntryBundleSize,
): readonly Uint8Array[] {
  if (bytes.length > maxBytes) throw tooLarge('entry bundle', maxBytes);
  checkCount(count);
  const entries: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 2 > bytes.length) throw malformed('entry bundle is truncated', `entries[${i}]`);
    const length = ((bytes[offset] as number) << 8) | (bytes[offset + 1] as number);
    const end = offset + 2 + length;
    if (end > bytes.length) throw malformed('entry bundle is truncated', `entries[${i}]`);
    entries.push(bytes.slice(offset + 2, end));
    offset = end;
  }
  if (offset !== bytes.length) throw malformed('entry bundle has data after its last entry');
  return Object.freeze(entries);
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > fullTileWidth) {
    throw new VouchError('invalid-argument', `an entry bundle holds 1..${fullTileWidth} entries`, {
      field: 'count',
    });
  }
}
