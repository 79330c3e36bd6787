/**
 * The index math shared by the RFC 6962 / RFC 9162 §2.1 algorithms
 * (https://www.rfc-editor.org/rfc/rfc9162#section-2.1): tree-size bounds, the split point k of
 * MTH, complete-subtree coordinates, and the ranges whose hashes make up a root, an inclusion proof
 * (PATH) or a consistency proof (SUBPROOF). Everything is `bigint` because JavaScript's bitwise
 * operators truncate to 32 bits. No hashing happens here; plan.ts, prove.ts and verify.ts build on
 * these walks so that the three agree on proof shape by construction.
 */

import { invariant, VouchError } from '../errors.ts';

/** maxTreeSize is the largest tree size the math accepts, 2^64 - 1 (sizes travel as uint64). */
export const maxTreeSize = (1n << 64n) - 1n;

/**
 * SubtreeCoordinate names a complete (perfect) subtree by its height and position: the hash of
 * leaves [index·2^level, (index+1)·2^level). Level 0 holds leaf hashes. These are the hashes a log
 * stores (in tiles or elsewhere); `level` is 0..63.
 */
export interface SubtreeCoordinate {
  readonly level: number;
  readonly index: bigint;
}

/** LeafRange is the half-open range of leaves [start, end) whose Merkle hash one proof element is. */
export interface LeafRange {
  readonly start: bigint;
  readonly end: bigint;
}

/**
 * assertTreeSize throws `invalid-argument` naming `field` unless 0 ≤ value ≤ 2^64 - 1. Sizes and
 * indexes that arrive from outside are range-checked here once, so the math below can trust them.
 */
export function assertTreeSize(value: bigint, field: string): void {
  if (typeof value !== 'bigint' || value < 0n || value > maxTreeSize) {
    throw new VouchError('invalid-argument', `${field} must be a bigint in [0, 2^64)`, { field });
  }
}

/** bitLength returns the number of bits needed to write n ≥ 0 (0 for 0). */
export function bitLength(n: bigint): number {
  let bits = 0;
  let rest = n;
  while (rest >= 1n << 32n) {
    rest >>= 32n;
    bits += 32;
  }
  return bits + (32 - Math.clz32(Number(rest)));
}

/** splitPoint returns k, the largest power of two strictly below n (n ≥ 2): MTH splits D[n] at k. */
export function splitPoint(n: bigint): bigint {
  invariant(n >= 2n, 'splitPoint of a tree with fewer than two leaves');
  return 1n << BigInt(bitLength(n - 1n) - 1);
}

/**
 * rangeCoordinates returns the complete subtrees that make up leaves [start, end), largest first,
 * appending to `out`. The greedy cut (largest power of two that fits) is the RFC 6962 MTH split
 * for every range this module produces, because each such range starts on a multiple of its
 * leading chunk; a range that does not is a bug and throws `invariant`.
 */
export function rangeCoordinates(
  start: bigint,
  end: bigint,
  out: SubtreeCoordinate[] = [],
): SubtreeCoordinate[] {
  let lo = start;
  while (lo < end) {
    const level = bitLength(end - lo) - 1;
    const width = 1n << BigInt(level);
    invariant(lo % width === 0n, 'subtree range is not aligned');
    out.push(Object.freeze({ level, index: lo >> BigInt(level) }));
    lo += width;
  }
  return out;
}

/**
 * inclusionRanges returns the leaf ranges whose hashes form the RFC 6962 §2.1.1 PATH of leaf
 * `index` in a tree of `size` leaves, in proof order (the leaf's sibling first, the root's child
 * last). Requires 0 ≤ index < size.
 */
export function inclusionRanges(index: bigint, size: bigint): LeafRange[] {
  invariant(index >= 0n && index < size, 'inclusion index out of range');
  const ranges: LeafRange[] = [];
  let lo = 0n;
  let hi = size;
  // Walk from the root down to the leaf; each step records the subtree not taken.
  while (hi - lo > 1n) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      ranges.push({ start: lo + k, end: hi });
      hi = lo + k;
    } else {
      ranges.push({ start: lo, end: lo + k });
      lo += k;
    }
  }
  return ranges.reverse();
}

/**
 * consistencyRanges returns the leaf ranges whose hashes form the RFC 6962 §2.1.2 SUBPROOF
 * between trees of `size1` and `size2` leaves, in proof order. Requires 0 < size1 ≤ size2; the
 * proof for size1 == size2 is empty.
 */
export function consistencyRanges(size1: bigint, size2: bigint): LeafRange[] {
  invariant(size1 > 0n && size1 <= size2, 'consistency sizes out of range');
  const ranges: LeafRange[] = [];
  let lo = 0n;
  let hi = size2;
  // SUBPROOF(m, D[lo:hi], b): walk down until the old tree's right edge is a complete node.
  while (size1 !== hi) {
    const k = splitPoint(hi - lo);
    if (size1 <= lo + k) {
      ranges.push({ start: lo + k, end: hi });
      hi = lo + k;
    } else {
      ranges.push({ start: lo, end: lo + k });
      lo += k;
    }
  }
  // b is false once the walk has stepped right at least once: the verifier does not know this
  // node's hash, so the proof carries it. When lo is 0 the node is the whole old tree (b true).
  if (lo !== 0n) ranges.push({ start: lo, end: hi });
  return ranges.reverse();
}
