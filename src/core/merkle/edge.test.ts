import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { formatHex, parseHex, toBytes } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { RightEdge, rootFromLeafHashes } from './edge.ts';
import { leafHash } from './hash.ts';
import { computeRoot, planRoot } from './plan.ts';
import { merkleTreeHash } from './prove.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));

function leaves(prefix: string, n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(toBytes(`${prefix}${i}`)));
}

test('RightEdge gives the RFC 6962 reference roots of sizes 0 to 8 as it grows', () => {
  const edge = new RightEdge();
  const want: string[] = vectors.rfc6962.rootsBySize0to8;
  assert.equal(formatHex(edge.root()), want[0]);
  vectors.rfc6962.leafHashes.forEach((hash: string, i: number) => {
    edge.append(parseHex(hash));
    assert.equal(edge.size, BigInt(i + 1));
    assert.equal(formatHex(edge.root()), want[i + 1], `size ${i + 1}`);
  });
});

test('rootFromLeafHashes matches the self-generated "leaf <i>" roots', () => {
  const all = leaves('leaf ', 40);
  for (const [size, want] of Object.entries(vectors.selfTrees.leaf_i_roots.roots)) {
    assert.equal(formatHex(rootFromLeafHashes(all.slice(0, Number(size)))), want, `size ${size}`);
  }
});

test('RightEdge gives the self-generated "entry-<i>" roots up to 70000 leaves', () => {
  const v = vectors.selfTrees.entry_i;
  const want = new Map<number, string>([
    [256, v.root256],
    [1000, v.root1000],
    [65536, v.root65536],
    [65537, v.root65537],
    [70000, v.root70000],
  ]);
  const edge = new RightEdge();
  for (let i = 0; i < 70000; i++) {
    edge.append(leafHash(toBytes(`entry-${i}`)));
    const root = want.get(i + 1);
    if (root !== undefined) assert.equal(formatHex(edge.root()), root, `size ${i + 1}`);
  }
});

test('RightEdge agrees with MTH at every size to 300, and its hashes are the planRoot hashes', () => {
  const all = leaves('x', 300);
  const edge = new RightEdge();
  for (let n = 0; n <= all.length; n++) {
    const want = merkleTreeHash(all, BigInt(n));
    assert.deepEqual(edge.root(), want, `size ${n}`);
    assert.equal(edge.hashes().length, planRoot(BigInt(n)).length);
    assert.deepEqual(computeRoot(BigInt(n), edge.hashes()), want);
    const resumed = RightEdge.fromHashes(BigInt(n), edge.hashes());
    assert.deepEqual(resumed.root(), want);
    if (n < all.length) {
      resumed.append(all[n] as Uint8Array);
      assert.deepEqual(resumed.root(), merkleTreeHash(all, BigInt(n + 1)), `resumed at ${n}`);
      edge.append(all[n] as Uint8Array);
    }
  }
});

test('RightEdge owns its hashes', () => {
  const leaf = new Uint8Array(32);
  const edge = new RightEdge();
  edge.append(leaf);
  const root = edge.root();
  leaf[0] = 1;
  assert.deepEqual(edge.root(), root);
  edge.root().fill(7);
  edge.hashes()[0]?.fill(7);
  assert.deepEqual(edge.root(), root);
});

test('RightEdge refuses bad input without changing state', () => {
  const edge = new RightEdge();
  edge.append(new Uint8Array(32));
  const root = edge.root();
  assert.throws(
    () => edge.append(new Uint8Array(31)),
    (e) => isVouchError(e, 'malformed'),
  );
  assert.equal(edge.size, 1n);
  assert.deepEqual(edge.root(), root);
  const rows = [
    {
      name: 'too few hashes',
      run: () => RightEdge.fromHashes(3n, [new Uint8Array(32)]),
      code: 'invalid-argument',
    },
    {
      name: 'too many hashes',
      run: () => RightEdge.fromHashes(0n, [new Uint8Array(32)]),
      code: 'invalid-argument',
    },
    { name: 'short hash', run: () => RightEdge.fromHashes(1n, [new Uint8Array(3)]), code: 'malformed' },
    { name: 'negative size', run: () => RightEdge.fromHashes(-1n, []), code: 'invalid-argument' },
    {
      name: 'size 2^64',
      run: () => RightEdge.fromHashes(1n << 64n, [new Uint8Array(32)]),
      code: 'invalid-argument',
    },
  ] as const;
  for (const row of rows) assert.throws(row.run, (e) => isVouchError(e, row.code), row.name);
});

test('RightEdge resumes near the top of the uint64 range and stops at 2^64 - 1', () => {
  const max = (1n << 64n) - 1n;
  const edge = RightEdge.fromHashes(
    max - 1n,
    planRoot(max - 1n).map(() => new Uint8Array(32)),
  );
  edge.append(new Uint8Array(32));
  assert.equal(edge.size, max);
  assert.equal(edge.hashes().length, 64);
  assert.throws(
    () => edge.append(new Uint8Array(32)),
    (e) => isVouchError(e, 'too-large'),
  );
});
