import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseHex, toBytes } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { leafHash } from './hash.ts';
import { merkleTreeHash, proveConsistency, proveInclusion } from './prove.ts';
import {
  consistencyProofLength,
  inclusionProofLength,
  maxConsistencyProofLength,
  maxInclusionProofLength,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './verify.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));
const rfcLeaves: Uint8Array[] = vectors.rfc6962.leafHashes.map((h: string) => parseHex(h));
const rfcRoots: Uint8Array[] = vectors.rfc6962.rootsBySize0to8.map((h: string) => parseHex(h));

const maxSize = 100;
const leaves = Array.from({ length: 300 }, (_, i) => leafHash(toBytes(`leaf ${i}`)));
const roots = Array.from({ length: leaves.length + 1 }, (_, n) => merkleTreeHash(leaves, BigInt(n)));

function root(n: number | bigint): Uint8Array {
  return roots[Number(n)] as Uint8Array;
}

function flipped(hash: Uint8Array, bit: number): Uint8Array {
  const out = hash.slice();
  out[(bit >> 3) % 32] = (out[(bit >> 3) % 32] as number) ^ (1 << (bit & 7));
  return out;
}

function withFlip(proof: readonly Uint8Array[], at: number, bit: number): Uint8Array[] {
  return proof.map((h, i) => (i === at ? flipped(h, bit) : h));
}

const badProof = (e: unknown) => isVouchError(e, 'bad-proof');

test('the RFC 6962 reference proofs verify', () => {
  for (const [name, hex] of Object.entries(vectors.rfc6962.inclusion_index_at_size) as [string, string[]][]) {
    const [index, size] = name.split('@').map(BigInt) as [bigint, bigint];
    verifyInclusion(
      rfcLeaves[Number(index)] as Uint8Array,
      index,
      size,
      hex.map((h) => parseHex(h)),
      rfcRoots[Number(size)] as Uint8Array,
    );
  }
  for (const [name, hex] of Object.entries(vectors.rfc6962.consistency_m_to_n) as [string, string[]][]) {
    const [size1, size2] = name.split('->').map(BigInt) as [bigint, bigint];
    const proof = hex.map((h) => parseHex(h));
    verifyConsistency(
      size1,
      size2,
      proof,
      rfcRoots[Number(size1)] as Uint8Array,
      rfcRoots[Number(size2)] as Uint8Array,
    );
  }
});

test('every inclusion proof of every size 1..100 verifies, and fails with any proof hash corrupted', () => {
  for (let n = 1; n <= maxSize; n++) {
    const size = BigInt(n);
    for (let i = 0; i < n; i++) {
      const index = BigInt(i);
      const leaf = leaves[i] as Uint8Array;
      const proof = proveInclusion(leaves, index, size);
      assert.equal(proof.length, inclusionProofLength(index, size));
      verifyInclusion(leaf, index, size, proof, root(n));
      assert.deepEqual(rootFromInclusionProof(leaf, index, size, proof), root(n));
      for (let j = 0; j < proof.length; j++) {
        const bad = withFlip(proof, j, (i * 31 + j * 7) % 256);
        assert.throws(
          () => verifyInclusion(leaf, index, size, bad, root(n)),
          badProof,
          `${i}@${n} hash ${j}`,
        );
      }
      assert.throws(() => verifyInclusion(flipped(leaf, i), index, size, proof, root(n)), badProof);
      assert.throws(() => verifyInclusion(leaf, index, size, proof, flipped(root(n), n)), badProof);
    }
  }
});

test('every consistency proof between sizes 1..100 verifies, and fails with any proof hash corrupted', () => {
  for (let n = 1; n <= maxSize; n++) {
    for (let m = 1; m <= n; m++) {
      const [size1, size2] = [BigInt(m), BigInt(n)];
      const proof = proveConsistency(leaves, size1, size2);
      assert.equal(proof.length, consistencyProofLength(size1, size2));
      verifyConsistency(size1, size2, proof, root(m), root(n));
      assert.deepEqual(rootFromConsistencyProof(size1, size2, proof, root(m)), root(n));
      for (let j = 0; j < proof.length; j++) {
        const bad = withFlip(proof, j, (m * 31 + j * 7) % 256);
        assert.throws(
          () => verifyConsistency(size1, size2, bad, root(m), root(n)),
          badProof,
          `${m}->${n} #${j}`,
        );
      }
      assert.throws(() => verifyConsistency(size1, size2, proof, flipped(root(m), n), root(n)), badProof);
      assert.throws(() => verifyConsistency(size1, size2, proof, root(m), flipped(root(n), m)), badProof);
    }
  }
});

test('bad inclusion proofs are rejected with bad-proof and a reason', () => {
  const h = leaves[0] as Uint8Array;
  const proof = proveInclusion(leaves, 2n, 5n);
  const rows: { name: string; run: () => unknown; reason: RegExp }[] = [
    // transparency-dev/merkle "empty root and leaf": zero-length values are rejected, never compared.
    {
      name: 'empty leaf and root',
      run: () => verifyInclusion(new Uint8Array(0), 0n, 1n, [], new Uint8Array(0)),
      reason: /32-byte/,
    },
    { name: 'empty root', run: () => verifyInclusion(h, 0n, 1n, [], new Uint8Array(0)), reason: /root/ },
    {
      name: '33-byte leaf',
      run: () => verifyInclusion(new Uint8Array(33), 0n, 1n, [], root(1)),
      reason: /leafHash/,
    },
    {
      name: 'short proof hash',
      run: () =>
        verifyInclusion(
          leaves[2] as Uint8Array,
          2n,
          5n,
          [proof[0] as Uint8Array, new Uint8Array(31), proof[2] as Uint8Array],
          root(5),
        ),
      reason: /proof\[1\]/,
    },
    { name: 'index = size', run: () => verifyInclusion(h, 5n, 5n, proof, root(5)), reason: /not in a tree/ },
    { name: 'index > size', run: () => verifyInclusion(h, 9n, 5n, proof, root(5)), reason: /not in a tree/ },
    { name: 'empty tree', run: () => verifyInclusion(h, 0n, 0n, [], root(0)), reason: /not in a tree/ },
    {
      name: 'extra hash',
      run: () => verifyInclusion(leaves[2] as Uint8Array, 2n, 5n, [...proof, h], root(5)),
      reason: /has 4 hashes, want 3/,
    },
    {
      name: 'missing hash',
      run: () => verifyInclusion(leaves[2] as Uint8Array, 2n, 5n, proof.slice(1), root(5)),
      reason: /has 2 hashes, want 3/,
    },
    {
      name: 'proof for size 1 not empty',
      run: () => verifyInclusion(h, 0n, 1n, [h], root(1)),
      reason: /has 1 hashes, want 0/,
    },
    {
      name: '65 hashes',
      run: () => verifyInclusion(h, 0n, 1n << 63n, Array(65).fill(h), root(1)),
      reason: /too long/,
    },
    {
      name: 'wrong leaf',
      run: () => verifyInclusion(h, 2n, 5n, proof, root(5)),
      reason: /does not lead to the root/,
    },
    {
      name: 'wrong index',
      run: () => verifyInclusion(leaves[2] as Uint8Array, 3n, 5n, proof, root(5)),
      reason: /does not lead/,
    },
  ];
  for (const row of rows) {
    assert.throws(row.run, (e) => badProof(e) && row.reason.test((e as Error).message), row.name);
  }
});

test('bad consistency proofs are rejected with bad-proof and a reason', () => {
  const proof = proveConsistency(leaves, 3n, 7n);
  const h = leaves[0] as Uint8Array;
  const rows: { name: string; run: () => unknown; reason: RegExp }[] = [
    { name: 'from size 0', run: () => verifyConsistency(0n, 5n, [], root(0), root(5)), reason: /empty tree/ },
    {
      name: 'from size 0 to 0',
      run: () => verifyConsistency(0n, 0n, [], root(0), root(0)),
      reason: /empty tree/,
    },
    {
      name: 'size1 > size2',
      run: () => verifyConsistency(7n, 3n, proof, root(7), root(3)),
      reason: /larger/,
    },
    {
      name: 'same size, non-empty proof',
      run: () => verifyConsistency(5n, 5n, [h], root(5), root(5)),
      reason: /has 1 hashes, want 0/,
    },
    {
      name: 'same size, different roots',
      run: () => verifyConsistency(5n, 5n, [], root(5), root(6)),
      reason: /same tree size but different roots/,
    },
    {
      name: 'empty root1',
      run: () => verifyConsistency(3n, 7n, proof, new Uint8Array(0), root(7)),
      reason: /root1/,
    },
    {
      name: 'empty root2',
      run: () => verifyConsistency(3n, 7n, proof, root(3), new Uint8Array(0)),
      reason: /root2/,
    },
    {
      name: 'short proof hash',
      run: () => verifyConsistency(3n, 7n, [new Uint8Array(0), ...proof.slice(1)], root(3), root(7)),
      reason: /proof\[0\]/,
    },
    {
      name: 'empty proof for growth',
      run: () => verifyConsistency(3n, 7n, [], root(3), root(7)),
      reason: /has 0 hashes, want 4/,
    },
    {
      name: 'extra hash',
      run: () => verifyConsistency(3n, 7n, [...proof, h], root(3), root(7)),
      reason: /has 5 hashes/,
    },
    {
      name: '66 hashes',
      run: () => verifyConsistency(3n, 7n, Array(66).fill(h), root(3), root(7)),
      reason: /too long/,
    },
    {
      name: 'wrong old root',
      run: () => verifyConsistency(3n, 7n, proof, root(4), root(7)),
      reason: /old root/,
    },
    {
      name: 'wrong new root',
      run: () => verifyConsistency(3n, 7n, proof, root(3), root(8)),
      reason: /new root/,
    },
    {
      name: 'wrong old size',
      run: () => verifyConsistency(5n, 7n, proof, root(5), root(7)),
      reason: /root|hashes/,
    },
  ];
  for (const row of rows) {
    assert.throws(row.run, (e) => badProof(e) && row.reason.test((e as Error).message), row.name);
  }
  assert.throws(
    () => verifyConsistency(-1n, 5n, [], root(0), root(5)),
    (e) => isVouchError(e, 'invalid-argument'),
  );
  assert.throws(
    () => verifyInclusion(h, 0n, 1n << 64n, [], root(1)),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

test('proof lengths reach their maxima only at the top of the uint64 range', () => {
  const big = (1n << 64n) - 1n;
  assert.equal(inclusionProofLength(0n, big), maxInclusionProofLength);
  assert.equal(consistencyProofLength(3n, big), maxConsistencyProofLength);
  assert.equal(consistencyProofLength(3n, 1n << 63n), 64);
  for (const size1 of [1n, 2n, 5n, big / 3n, big / 2n, big - 2n]) {
    assert.ok(consistencyProofLength(size1, big) <= maxConsistencyProofLength);
    assert.ok(inclusionProofLength(size1, big) <= maxInclusionProofLength);
  }
});

// Sizes come from a signed checkpoint, not from the proof: the RFC 9162 algorithm accepts one path
// for several sizes when the hashing order is the same (leaf 0's proof for size 3 also "verifies"
// at size 4 against the size-3 root). So a changed size is tested against the real root of the
// changed size, which it must never match.
test('property: a random proof verifies; a flipped bit, changed index or changed size fails', () => {
  const treeSize = fc.integer({ min: 1, max: leaves.length });
  const inclusion = treeSize.chain((n) =>
    fc.record({ n: fc.constant(n), i: fc.integer({ min: 0, max: n - 1 }) }),
  );
  fc.assert(
    fc.property(
      inclusion,
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: leaves.length }),
      ({ n, i }, at, bit, other) => {
        const [index, size] = [BigInt(i), BigInt(n)];
        const leaf = leaves[i] as Uint8Array;
        const proof = proveInclusion(leaves, index, size);
        verifyInclusion(leaf, index, size, proof, root(n));
        if (proof.length > 0) {
          const bad = withFlip(proof, at % proof.length, bit % 256);
          assert.throws(() => verifyInclusion(leaf, index, size, bad, root(n)), badProof);
        }
        const j = (i + 1 + (at % n)) % n;
        if (j !== i) assert.throws(() => verifyInclusion(leaf, BigInt(j), size, proof, root(n)), badProof);
        if (other !== n) {
          assert.throws(() => verifyInclusion(leaf, index, BigInt(other), proof, root(other)), badProof);
        }
      },
    ),
    { seed: 6962, numRuns: 300 },
  );
  const sizes = fc.tuple(treeSize, treeSize).map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);
  fc.assert(
    fc.property(
      sizes,
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: leaves.length }),
      ([m, n], at, bit, other) => {
        const [size1, size2] = [BigInt(m), BigInt(n)];
        const proof = proveConsistency(leaves, size1, size2);
        verifyConsistency(size1, size2, proof, root(m), root(n));
        if (proof.length > 0) {
          const bad = withFlip(proof, at % proof.length, bit % 256);
          assert.throws(() => verifyConsistency(size1, size2, bad, root(m), root(n)), badProof);
        }
        for (const [m2, n2] of [
          [other, n],
          [m, other],
        ] as const) {
          if (m2 === m && n2 === n) continue;
          const run = () => verifyConsistency(BigInt(m2), BigInt(n2), proof, root(m2), root(n2));
          assert.throws(run, badProof, `${m}->${n} as ${m2}->${n2}`);
        }
      },
    ),
    { seed: 9162, numRuns: 300 },
  );
});
