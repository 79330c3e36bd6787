import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toBytes } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { leafHash, nodeHash } from './hash.ts';
import {
  computeConsistency,
  computeInclusion,
  computeRoot,
  planConsistency,
  planInclusion,
  planRoot,
} from './plan.ts';
import { merkleTreeHash, proveConsistency, proveInclusion } from './prove.ts';
import type { SubtreeCoordinate } from './subtree.ts';

const maxSize = 100;
const leaves = Array.from({ length: maxSize }, (_, i) => leafHash(toBytes(`leaf ${i}`)));

// The store a log would keep: the hash of every complete subtree of the 100-leaf tree, by level.
const store: Uint8Array[][] = [leaves];
for (let level = 1; (store[level - 1]?.length ?? 0) >= 2; level++) {
  const below = store[level - 1] as Uint8Array[];
  const row: Uint8Array[] = [];
  for (let i = 0; i + 1 < below.length; i += 2)
    row.push(nodeHash(below[i] as Uint8Array, below[i + 1] as Uint8Array));
  store.push(row);
}

// fetch plays the caller's part: it also checks that a plan for a tree of `size` leaves only names
// subtrees that are complete in that tree (a log holding only that tree could serve them).
function fetch(plan: readonly SubtreeCoordinate[], size: number): Uint8Array[] {
  return plan.map(({ level, index }) => {
    assert.ok(
      (index + 1n) << BigInt(level) <= BigInt(size),
      `subtree ${level}/${index} is not in size ${size}`,
    );
    const hash = store[level]?.[Number(index)];
    assert.ok(hash !== undefined);
    return hash;
  });
}

test('plan/compute gives the same roots as MTH for every size 0..100', () => {
  for (let n = 0; n <= maxSize; n++) {
    const size = BigInt(n);
    const plan = planRoot(size);
    assert.equal(plan.length, n.toString(2).replaceAll('0', '').length, `one hash per set bit of ${n}`);
    assert.deepEqual(computeRoot(size, fetch(plan, n)), merkleTreeHash(leaves, size), `size ${n}`);
  }
});

test('plan/compute gives the same inclusion proofs as PATH for every index of every size 1..100', () => {
  for (let n = 1; n <= maxSize; n++) {
    for (let i = 0; i < n; i++) {
      const [index, size] = [BigInt(i), BigInt(n)];
      const proof = computeInclusion(index, size, fetch(planInclusion(index, size), n));
      assert.deepEqual(proof, proveInclusion(leaves, index, size), `${i}@${n}`);
    }
  }
});

test('plan/compute gives the same consistency proofs as PROOF for every pair of sizes 1..100', () => {
  for (let n = 1; n <= maxSize; n++) {
    for (let m = 1; m <= n; m++) {
      const [size1, size2] = [BigInt(m), BigInt(n)];
      const proof = computeConsistency(size1, size2, fetch(planConsistency(size1, size2), n));
      assert.deepEqual(proof, proveConsistency(leaves, size1, size2), `${m}->${n}`);
    }
  }
});

test('plans stay short for trees near 2^64', () => {
  const big = (1n << 64n) - 1n;
  assert.equal(planRoot(big).length, 64);
  for (const index of [0n, 1n, big / 2n, big - 2n, big - 1n]) {
    assert.ok(planInclusion(index, big).length <= 2 * 64, `inclusion ${index}`);
  }
  for (const size1 of [1n, 3n, big / 3n, big - 1n]) {
    assert.ok(planConsistency(size1, big).length <= 2 * 64, `consistency ${size1}`);
  }
});

test('plan and compute refuse impossible arguments', () => {
  const h = new Uint8Array(32);
  const rows = [
    { name: 'index = size', run: () => planInclusion(5n, 5n), code: 'invalid-argument' },
    { name: 'inclusion in empty tree', run: () => planInclusion(0n, 0n), code: 'invalid-argument' },
    { name: 'negative index', run: () => planInclusion(-1n, 5n), code: 'invalid-argument' },
    { name: 'size 2^64', run: () => planRoot(1n << 64n), code: 'invalid-argument' },
    { name: 'consistency from 0', run: () => planConsistency(0n, 5n), code: 'invalid-argument' },
    { name: 'consistency backwards', run: () => planConsistency(6n, 5n), code: 'invalid-argument' },
    { name: 'too few hashes', run: () => computeRoot(3n, [h]), code: 'invalid-argument' },
    { name: 'too many hashes', run: () => computeRoot(0n, [h]), code: 'invalid-argument' },
    { name: 'short hash', run: () => computeRoot(1n, [new Uint8Array(31)]), code: 'malformed' },
    { name: 'short proof hash', run: () => computeInclusion(0n, 2n, [new Uint8Array(0)]), code: 'malformed' },
    { name: 'wrong count', run: () => computeConsistency(1n, 3n, [h]), code: 'invalid-argument' },
  ] as const;
  for (const row of rows) assert.throws(row.run, (e) => isVouchError(e, row.code), row.name);
});

test('computed proofs do not alias the fetched hashes', () => {
  const hashes = fetch(planInclusion(0n, 2n), 2);
  const proof = computeInclusion(0n, 2n, hashes);
  proof[0]?.fill(0);
  assert.deepEqual(hashes[0], leaves[1]);
});
