/**
 * Plan, fetch, compute for RFC 6962 / RFC 9162 §2.1 roots and proofs
 * (https://www.rfc-editor.org/rfc/rfc9162#section-2.1). Each `planX` returns the complete-subtree
 * coordinates whose stored hashes the result needs; the caller fetches exactly those (from tiles,
 * see core/tlog/tiles.ts, or any other store) and passes them, in the same order, to the matching
 * pure `computeX`. Plans are short: at most about 2·64 coordinates for any tree below 2^64. This
 * module never reads storage and does not check that fetched hashes are genuine — a proof built
 * from wrong hashes simply fails verification.
 */

import { VouchError } from '../errors.ts';
import { emptyRoot, hashSize, nodeHash } from './hash.ts';
import {
  assertTreeSize,
  consistencyRanges,
  inclusionRanges,
  type LeafRange,
  rangeCoordinates,
  type SubtreeCoordinate,
} from './subtree.ts';

/** planRoot lists the stored hashes the root of a tree of `size` leaves needs (none for size 0). */
export function planRoot(size: bigint): SubtreeCoordinate[] {
  assertTreeSize(size, 'size');
  return rangeCoordinates(0n, size);
}

/**
 * computeRoot returns the root of a tree of `size` leaves from the hashes named by
 * `planRoot(size)`, in order. It throws `invalid-argument` on a wrong count and `malformed` on a
 * hash that is not 32 bytes.
 */
export function computeRoot(size: bigint, hashes: readonly Uint8Array[]): Uint8Array {
  assertTreeSize(size, 'size');
  if (size === 0n) {
    checkHashes(hashes, 0);
    return emptyRoot();
  }
  return computeRanges([{ start: 0n, end: size }], hashes)[0] as Uint8Array;
}

/**
 * planInclusion lists the stored hashes the inclusion proof of leaf `index` in a tree of `size`
 * leaves needs. It throws `invalid-argument` unless index < size.
 */
export function planInclusion(index: bigint, size: bigint): SubtreeCoordinate[] {
  return planRanges(checkedInclusionRanges(index, size));
}

/**
 * computeInclusion returns the RFC 6962 inclusion proof (audit path, leaf's sibling first) of leaf
 * `index` in a tree of `size` leaves from the hashes named by `planInclusion(index, size)`.
 */
export function computeInclusion(index: bigint, size: bigint, hashes: readonly Uint8Array[]): Uint8Array[] {
  return computeRanges(checkedInclusionRanges(index, size), hashes);
}

/**
 * planConsistency lists the stored hashes the consistency proof from `size1` to `size2` leaves
 * needs. It throws `invalid-argument` unless 0 < size1 ≤ size2: RFC 6962 defines no proof from the
 * empty tree (tlog-witness sends an empty proof for `old 0`; that special case is the caller's).
 */
export function planConsistency(size1: bigint, size2: bigint): SubtreeCoordinate[] {
  return planRanges(checkedConsistencyRanges(size1, size2));
}

/**
 * computeConsistency returns the RFC 6962 consistency proof from `size1` to `size2` leaves from
 * the hashes named by `planConsistency(size1, size2)`. Equal sizes give an empty proof.
 */
export function computeConsistency(
  size1: bigint,
  size2: bigint,
  hashes: readonly Uint8Array[],
): Uint8Array[] {
  return computeRanges(checkedConsistencyRanges(size1, size2), hashes);
}

function checkedInclusionRanges(index: bigint, size: bigint): LeafRange[] {
  assertTreeSize(index, 'index');
  assertTreeSize(size, 'size');
  if (index >= size) {
    throw new VouchError('invalid-argument', `leaf index ${index} is not in a tree of size ${size}`, {
      field: 'index',
      size,
    });
  }
  return inclusionRanges(index, size);
}

function checkedConsistencyRanges(size1: bigint, size2: bigint): LeafRange[] {
  assertTreeSize(size1, 'size1');
  assertTreeSize(size2, 'size2');
  if (size1 === 0n || size1 > size2) {
    throw new VouchError('invalid-argument', `no consistency proof exists from size ${size1} to ${size2}`, {
      field: 'size1',
    });
  }
  return consistencyRanges(size1, size2);
}

function planRanges(ranges: readonly LeafRange[]): SubtreeCoordinate[] {
  const out: SubtreeCoordinate[] = [];
  for (const range of ranges) rangeCoordinates(range.start, range.end, out);
  return out;
}

// computeRanges folds the fetched hashes back into one hash per range, consuming them in plan
// order. Within a range the coordinates are largest-first, so the range's hash is the right fold
// h0 · (h1 · (… · hn)) — the MTH recursion, with every left part a complete subtree.
function computeRanges(ranges: readonly LeafRange[], hashes: readonly Uint8Array[]): Uint8Array[] {
  const counts = ranges.map((range) => rangeCoordinates(range.start, range.end).length);
  checkHashes(
    hashes,
    counts.reduce((a, b) => a + b, 0),
  );
  const out: Uint8Array[] = [];
  let next = 0;
  for (const count of counts) {
    const last = next + count - 1;
    let hash = hashes[last] as Uint8Array;
    for (let i = last - 1; i >= next; i--) hash = nodeHash(hashes[i] as Uint8Array, hash);
    out.push(count === 1 ? hash.slice() : hash);
    next += count;
  }
  return out;
}

function checkHashes(hashes: readonly Uint8Array[], want: number): void {
  if (hashes.length !== want) {
    throw new VouchError('invalid-argument', `the plan needs ${want} hashes, got ${hashes.length}`, {
      field: 'hashes',
    });
  }
  hashes.forEach((hash, i) => {
    if (hash.length !== hashSize) {
      throw new VouchError('malformed', 'stored hash is not 32 bytes', { field: `hashes[${i}]` });
    }
  });
}
