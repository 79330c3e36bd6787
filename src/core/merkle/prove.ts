/**
 * Direct RFC 6962 §2.1 proof generation over an in-memory list of leaf hashes
 * (https://www.rfc-editor.org/rfc/rfc6962#section-2.1): MTH, PATH (§2.1.1) and PROOF/SUBPROOF
 * (§2.1.2) written as the RFC's recursive definitions. It is the textbook reference the
 * plan/compute path (plan.ts) is tested against, and serves small trees held in memory. It does
 * not scale: each proof hashes O(size) nodes. LIMIT: lists are JavaScript arrays, so sizes stay
 * below 2^32; logs prove from stored hashes with plan.ts instead.
 */

import { VouchError } from '../errors.ts';
import { emptyRoot, hashSize, nodeHash } from './hash.ts';

/**
 * merkleTreeHash returns MTH(D[size]) of the first `size` leaf hashes (all of them by default),
 * by the RFC's recursive definition. It throws `invalid-argument` if size exceeds the list and
 * `malformed` if a needed hash is not 32 bytes.
 */
export function merkleTreeHash(
  leafHashes: readonly Uint8Array[],
  size = BigInt(leafHashes.length),
): Uint8Array {
  const n = checkedSize(leafHashes, size, 'size');
  return n === 0 ? emptyRoot() : mth(leafHashes, 0, n);
}

/**
 * proveInclusion returns PATH(index, D[size]): the inclusion proof of leaf `index` in the tree of
 * the first `size` leaf hashes (all of them by default). It throws `invalid-argument` unless
 * index < size ≤ leafHashes.length.
 */
export function proveInclusion(
  leafHashes: readonly Uint8Array[],
  index: bigint,
  size = BigInt(leafHashes.length),
): Uint8Array[] {
  const n = checkedSize(leafHashes, size, 'size');
  if (typeof index !== 'bigint' || index < 0n || index >= size) {
    throw new VouchError('invalid-argument', `leaf index ${index} is not in a tree of size ${size}`, {
      field: 'index',
    });
  }
  return path(leafHashes, Number(index), 0, n);
}

/**
 * proveConsistency returns PROOF(size1, D[size2]): the consistency proof between the trees of the
 * first `size1` and `size2` leaf hashes. It throws `invalid-argument` unless
 * 0 < size1 ≤ size2 ≤ leafHashes.length (RFC 6962 defines no proof from the empty tree).
 */
export function proveConsistency(
  leafHashes: readonly Uint8Array[],
  size1: bigint,
  size2: bigint,
): Uint8Array[] {
  const n = checkedSize(leafHashes, size2, 'size2');
  if (typeof size1 !== 'bigint' || size1 <= 0n || size1 > size2) {
    throw new VouchError('invalid-argument', `no consistency proof exists from size ${size1} to ${size2}`, {
      field: 'size1',
    });
  }
  return subproof(leafHashes, Number(size1), 0, n, true);
}

function checkedSize(leafHashes: readonly Uint8Array[], size: bigint, field: string): number {
  if (typeof size !== 'bigint' || size < 0n || size > BigInt(leafHashes.length)) {
    throw new VouchError('invalid-argument', `${field} must be between 0 and the number of leaves`, {
      field,
    });
  }
  return Number(size);
}

// k: the largest power of two strictly below n (n ≥ 2), in 32-bit arithmetic (n < 2^32).
function split(n: number): number {
  return 2 ** (31 - Math.clz32(n - 1));
}

// MTH(D[lo:hi]) for hi - lo ≥ 1.
function mth(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  if (hi - lo === 1) {
    const leaf = leaves[lo] as Uint8Array;
    if (leaf.length !== hashSize) {
      throw new VouchError('malformed', 'leaf hash is not 32 bytes', { field: `leafHashes[${lo}]` });
    }
    return leaf.slice();
  }
  const k = split(hi - lo);
  return nodeHash(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

// PATH(m, D[lo:hi]) with lo ≤ m < hi.
function path(leaves: readonly Uint8Array[], m: number, lo: number, hi: number): Uint8Array[] {
  if (hi - lo === 1) return [];
  const k = split(hi - lo);
  if (m < lo + k) return [...path(leaves, m, lo, lo + k), mth(leaves, lo + k, hi)];
  return [...path(leaves, m, lo + k, hi), mth(leaves, lo, lo + k)];
}

// SUBPROOF(m, D[lo:hi], b) with lo < m ≤ hi, where m counts leaves from 0.
function subproof(
  leaves: readonly Uint8Array[],
  m: number,
  lo: number,
  hi: number,
  b: boolean,
): Uint8Array[] {
  if (m === hi) return b ? [] : [mth(leaves, lo, hi)];
  const k = split(hi - lo);
  if (m <= lo + k) return [...subproof(leaves, m, lo, lo + k, b), mth(leaves, lo + k, hi)];
  return [...subproof(leaves, m, lo + k, hi, false), mth(leaves, lo, lo + k)];
}
