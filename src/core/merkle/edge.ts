/**
 * Streaming RFC 6962 roots (https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1): a
 * {@link RightEdge} keeps only the hashes of the complete subtrees that make up leaves [0, size)
 * (a "compact range" anchored at 0, at most 64 hashes), so appending a leaf costs one hash on
 * average and the root of every intermediate size is available in O(log size). Its hashes are
 * exactly those `planRoot(size)` names, in the same order, so a log can resume from stored hashes
 * without re-reading the tree. It does not store leaves and cannot produce proofs.
 */

import { VouchError } from '../errors.ts';
import { emptyRoot, hashSize, nodeHash } from './hash.ts';
import { assertTreeSize, bitLength, maxTreeSize } from './subtree.ts';

/**
 * RightEdge accumulates leaf hashes and yields the root of the tree built so far. It owns copies
 * of the hashes it is given; mutating the caller's arrays afterwards does not affect it.
 */
export class RightEdge {
  // hashes[i] is the root of a complete subtree of 2^levels[i] leaves; levels strictly decrease,
  // and the subtrees tile [0, size) from left to right.
  readonly #hashes: Uint8Array[] = [];
  readonly #levels: number[] = [];
  #size = 0n;

  /**
   * RightEdge.fromHashes resumes a tree of `size` leaves from the hashes of `planRoot(size)`, in
   * that order. It throws `invalid-argument` if the count does not match the size and `malformed`
   * if a hash is not 32 bytes; it cannot tell whether the hashes are the right ones — compare
   * `root()` with a trusted root for that.
   */
  static fromHashes(size: bigint, hashes: readonly Uint8Array[]): RightEdge {
    assertTreeSize(size, 'size');
    const edge = new RightEdge();
    for (let level = bitLength(size) - 1; level >= 0; level--) {
      if (((size >> BigInt(level)) & 1n) === 1n) edge.#levels.push(level);
    }
    if (hashes.length !== edge.#levels.length) {
      throw new VouchError(
        'invalid-argument',
        `a tree of size ${size} has ${edge.#levels.length} edge hashes, got ${hashes.length}`,
        { field: 'hashes', size },
      );
    }
    hashes.forEach((hash, i) => {
      if (hash.length !== hashSize) {
        throw new VouchError('malformed', 'edge hash is not 32 bytes', { field: `hashes[${i}]` });
      }
      edge.#hashes.push(hash.slice());
    });
    edge.#size = size;
    return edge;
  }

  /** size is the number of leaves appended so far (or resumed from). */
  get size(): bigint {
    return this.#size;
  }

  /** append adds one leaf hash (32 bytes, else `malformed`) at index `size`. */
  append(leafHash: Uint8Array): void {
    if (leafHash.length !== hashSize) throw new VouchError('malformed', 'leaf hash is not 32 bytes');
    if (this.#size === maxTreeSize)
      throw new VouchError('too-large', 'the tree is full', { size: this.#size });
    let hash = leafHash;
    let level = 0;
    // Merge equal-height neighbours: appending leaf number `size` completes one subtree per
    // trailing one bit of `size`.
    while (this.#levels.length > 0 && this.#levels[this.#levels.length - 1] === level) {
      this.#levels.pop();
      hash = nodeHash(this.#hashes.pop() as Uint8Array, hash);
      level++;
    }
    this.#hashes.push(hash === leafHash ? leafHash.slice() : hash);
    this.#levels.push(level);
    this.#size++;
  }

  /** root returns the RFC 6962 root of the leaves so far (SHA-256("") for none). */
  root(): Uint8Array {
    const last = this.#hashes.length - 1;
    if (last < 0) return emptyRoot();
    let root = this.#hashes[last] as Uint8Array;
    for (let i = last - 1; i >= 0; i--) root = nodeHash(this.#hashes[i] as Uint8Array, root);
    return root === this.#hashes[last] ? root.slice() : root;
  }

  /** hashes returns copies of the edge hashes, in the order `planRoot(size)` lists their coordinates. */
  hashes(): Uint8Array[] {
    return this.#hashes.map((hash) => hash.slice());
  }
}

/** rootFromLeafHashes returns the RFC 6962 root of `leafHashes` (each 32 bytes, else `malformed`). */
export function rootFromLeafHashes(leafHashes: Iterable<Uint8Array>): Uint8Array {
  const edge = new RightEdge();
  for (const hash of leafHashes) edge.append(hash);
  return edge.root();
}
