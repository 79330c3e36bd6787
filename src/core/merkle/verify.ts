/**
 * Verification of RFC 6962 inclusion and consistency proofs by the algorithms of RFC 9162
 * §2.1.3.2 and §2.1.4.2 (https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2). Every failure
 * throws a `bad-proof` VouchError whose message says which check failed. Every hash — leaf, roots
 * and each proof element — must be exactly 32 bytes or the proof is rejected before anything is
 * hashed or compared, and a proof must have exactly the length its sizes imply.
 *
 * Deliberately not handled: a consistency proof from size 0. RFC 6962 defines none and generic
 * verifiers (golang/mod CheckTree, transparency-dev/merkle) reject it, so this one does too. The
 * tlog-witness protocol instead accepts `old 0` with an empty proof (any tree extends the empty
 * one); a witness must special-case that before calling here.
 */

import { equalBytes } from '../bytes/index.ts';
import { VouchError } from '../errors.ts';
import { hashSize, nodeHash } from './hash.ts';
import { assertTreeSize, consistencyRanges, inclusionRanges } from './subtree.ts';

/** maxInclusionProofLength is the longest inclusion proof of any tree below 2^64 leaves (its height). */
export const maxInclusionProofLength = 64;

/**
 * maxConsistencyProofLength is the longest consistency proof of any trees below 2^64 leaves: the
 * tree height plus the one node the verifier does not know (reached e.g. from size 3 to 2^64 - 1).
 */
export const maxConsistencyProofLength = 65;

/**
 * inclusionProofLength returns how many hashes the inclusion proof of leaf `index` in a tree of
 * `size` leaves has. It throws `bad-proof` unless index < size.
 */
export function inclusionProofLength(index: bigint, size: bigint): number {
  assertTreeSize(index, 'index');
  assertTreeSize(size, 'size');
  if (index >= size) fail(`leaf index ${index} is not in a tree of size ${size}`, 'index');
  return inclusionRanges(index, size).length;
}

/**
 * consistencyProofLength returns how many hashes the consistency proof from `size1` to `size2`
 * leaves has (0 when equal). It throws `bad-proof` unless 0 < size1 ≤ size2.
 */
export function consistencyProofLength(size1: bigint, size2: bigint): number {
  assertTreeSize(size1, 'size1');
  assertTreeSize(size2, 'size2');
  if (size1 > size2) fail(`old size ${size1} is larger than new size ${size2}`, 'size1');
  if (size1 === 0n) {
    fail('a consistency proof from the empty tree is not defined (the caller special-cases size 0)', 'size1');
  }
  return consistencyRanges(size1, size2).length;
}

/**
 * rootFromInclusionProof returns the root implied by `proof` for leaf `index` with hash `leafHash`
 * in a tree of `size` leaves (RFC 9162 §2.1.3.2 steps 1–4). The result is trusted only once it
 * equals a root the caller trusts; {@link verifyInclusion} does that comparison.
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: bigint,
  size: bigint,
  proof: readonly Uint8Array[],
): Uint8Array {
  assertTreeSize(index, 'index');
  assertTreeSize(size, 'size');
  if (proof.length > maxInclusionProofLength) fail('inclusion proof is too long', 'proof');
  checkHash(leafHash, 'leafHash');
  checkProofHashes(proof);
  const want = inclusionProofLength(index, size);
  if (proof.length !== want) fail(`inclusion proof has ${proof.length} hashes, want ${want}`, 'proof');

  // 2.1.3.2: fn walks the leaf's position up the tree, sn the tree's last index.
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0n) fail('inclusion proof is too long', 'proof');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      // Skip the levels where this node is a lone right-edge child with nothing to hash in.
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail('inclusion proof is too short', 'proof');
  return r === leafHash ? r.slice() : r;
}

/**
 * verifyInclusion checks that `proof` proves leaf `index` with hash `leafHash` is in the tree of
 * `size` leaves whose root is `root`, or throws `bad-proof` saying why.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: bigint,
  size: bigint,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkHash(root, 'root');
  const computed = rootFromInclusionProof(leafHash, index, size, proof);
  if (!equalBytes(computed, root)) fail('inclusion proof does not lead to the root', 'root');
}

/**
 * rootFromConsistencyProof returns the root of the tree of `size2` leaves implied by `proof` and the
 * trusted root `root1` of the first `size1` leaves (RFC 9162 §2.1.4.2), after checking that the
 * proof also reproduces `root1`. Equal sizes need an empty proof and give back `root1`. The result
 * is trusted only once it equals a root the caller trusts ({@link verifyConsistency}).
 */
export function rootFromConsistencyProof(
  size1: bigint,
  size2: bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
): Uint8Array {
  assertTreeSize(size1, 'size1');
  assertTreeSize(size2, 'size2');
  if (proof.length > maxConsistencyProofLength) fail('consistency proof is too long', 'proof');
  checkHash(root1, 'root1');
  checkProofHashes(proof);
  const want = consistencyProofLength(size1, size2);
  if (proof.length !== want) fail(`consistency proof has ${proof.length} hashes, want ${want}`, 'proof');
  if (size1 === size2) return root1.slice();

  // 2.1.4.2 step 2: when size1 is a power of two the old root is a node of the new tree and the
  // proof leaves it out; put it back as the starting point.
  const path = (size1 & (size1 - 1n)) === 0n ? [root1, ...proof] : proof;
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) fail('consistency proof is too long', 'proof');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail('consistency proof is too short', 'proof');
  if (!equalBytes(fr, root1)) fail('consistency proof does not reproduce the old root', 'root1');
  // sr is a fresh hash: a proof between different sizes always hashes at least once.
  return sr;
}

/**
 * verifyConsistency checks that `proof` proves the tree of `size2` leaves with root `root2` extends
 * the tree of `size1` leaves with root `root1`, or throws `bad-proof` saying why. size1 == size2
 * requires an empty proof and equal roots; size1 == 0 is rejected (see the module comment).
 */
export function verifyConsistency(
  size1: bigint,
  size2: bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkHash(root2, 'root2');
  const computed = rootFromConsistencyProof(size1, size2, proof, root1);
  if (!equalBytes(computed, root2)) {
    fail(
      size1 === size2
        ? 'same tree size but different roots'
        : 'consistency proof does not lead to the new root',
      'root2',
    );
  }
}

function checkHash(hash: Uint8Array, field: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== hashSize)
    fail(`${field} is not a ${hashSize}-byte hash`, field);
}

function checkProofHashes(proof: readonly Uint8Array[]): void {
  proof.forEach((hash, i) => {
    checkHash(hash, `proof[${i}]`);
  });
}

function fail(reason: string, field: string): never {
  throw new VouchError('bad-proof', reason, { field });
}
