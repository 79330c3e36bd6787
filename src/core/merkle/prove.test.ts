import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { formatHex, parseHex } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { merkleTreeHash, proveConsistency, proveInclusion } from './prove.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));
const leaves: Uint8Array[] = vectors.rfc6962.leafHashes.map((h: string) => parseHex(h));

test('merkleTreeHash gives the RFC 6962 reference roots', () => {
  vectors.rfc6962.rootsBySize0to8.forEach((want: string, size: number) => {
    assert.equal(formatHex(merkleTreeHash(leaves, BigInt(size))), want, `size ${size}`);
  });
  assert.equal(formatHex(merkleTreeHash(leaves)), vectors.rfc6962.rootsBySize0to8[8]);
});

test('proveInclusion gives the RFC 6962 reference audit paths', () => {
  const cases = Object.entries(vectors.rfc6962.inclusion_index_at_size) as [string, string[]][];
  assert.equal(cases.length, 7);
  for (const [name, want] of cases) {
    const [index, size] = name.split('@').map(BigInt) as [bigint, bigint];
    assert.deepEqual(proveInclusion(leaves, index, size).map(formatHex), want, name);
  }
});

test('proveConsistency gives the RFC 6962 reference consistency proofs', () => {
  const cases = Object.entries(vectors.rfc6962.consistency_m_to_n) as [string, string[]][];
  assert.equal(cases.length, 8);
  for (const [name, want] of cases) {
    const [size1, size2] = name.split('->').map(BigInt) as [bigint, bigint];
    assert.deepEqual(proveConsistency(leaves, size1, size2).map(formatHex), want, name);
  }
});

test('direct proofs refuse impossible arguments with invalid-argument', () => {
  const rows = [
    { name: 'index = size', run: () => proveInclusion(leaves, 3n, 3n) },
    { name: 'index > size', run: () => proveInclusion(leaves, 5n, 3n) },
    { name: 'negative index', run: () => proveInclusion(leaves, -1n, 3n) },
    { name: 'inclusion in empty tree', run: () => proveInclusion(leaves, 0n, 0n) },
    { name: 'size beyond the list', run: () => proveInclusion(leaves, 0n, 9n) },
    { name: 'root beyond the list', run: () => merkleTreeHash(leaves, 9n) },
    { name: 'consistency from 0', run: () => proveConsistency(leaves, 0n, 3n) },
    { name: 'consistency backwards', run: () => proveConsistency(leaves, 4n, 3n) },
    { name: 'consistency beyond the list', run: () => proveConsistency(leaves, 1n, 9n) },
  ];
  for (const row of rows) assert.throws(row.run, (e) => isVouchError(e, 'invalid-argument'), row.name);
  assert.throws(
    () => merkleTreeHash([new Uint8Array(32), new Uint8Array(5)]),
    (e) => isVouchError(e, 'malformed'),
  );
});
