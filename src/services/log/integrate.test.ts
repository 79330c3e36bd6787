import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatHex, toBytes } from '../../core/bytes/index.ts';
import { leafHash, merkleTreeHash } from '../../core/merkle/index.ts';
import { parseEntryBundle } from '../../core/tlog/entry-bundle.ts';
import { emptyLogEdge, integrate, type LogFile } from './integrate.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));
const sha256hex = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

function integrateInBatches(
  entries: readonly Uint8Array[],
  batchSizes: readonly number[],
): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let edge = emptyLogEdge();
  let at = 0;
  for (let b = 0; at < entries.length; b++) {
    const size = Math.max(1, batchSizes[b % batchSizes.length] ?? 1);
    const result = integrate(edge, entries.slice(at, at + size));
    for (const file of result.files) files.set(file.path, file.data);
    edge = result.edge;
    at += size;
    assert.equal(formatHex(result.root), formatHex(merkleTreeHash(entries.slice(0, at).map(leafHash))));
  }
  return files;
}

test('integrate: the entry-<i> vectors, tiles and bundles, batch by batch', () => {
  const entries = Array.from({ length: 1000 }, (_, i) => toBytes(`entry-${i}`));
  const files = integrateInBatches(entries, [1, 7, 256, 300, 13]);
  const v = vectors.selfTrees.entry_i;
  assert.equal(sha256hex(files.get('tile/0/000') as Uint8Array), v.tile0_000_sha256);
  const bundle = files.get('tile/entries/000') as Uint8Array;
  assert.equal(bundle.length, v.entries000_len);
  assert.equal(sha256hex(bundle), v.entries000_sha256);
  assert.ok(files.has('tile/entries/003.p/232'), 'the partial bundle of size 1000');
  assert.deepEqual(
    parseEntryBundle(files.get('tile/entries/003.p/232') as Uint8Array, 232)[0],
    toBytes('entry-768'),
  );
});

test('integrate: any batching yields the same files as one batch', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 6 }), (batches) => {
      const entries = Array.from({ length: 700 }, (_, i) => toBytes(`e${i}`));
      const one = integrateInBatches(entries, [entries.length]);
      const many = integrateInBatches(entries, batches);
      // Every file of the single batch appears identically among the batched writes.
      for (const [path, data] of one) assert.deepEqual(many.get(path), data, path);
    }),
    { seed: 0x10a, numRuns: 20 },
  );
});

test('integrate: an empty batch changes nothing', () => {
  const first = integrate(emptyLogEdge(), [toBytes('a')]);
  const again = integrate(first.edge, []);
  assert.deepEqual(again.files as LogFile[], []);
  assert.deepEqual(again.root, first.root);
});
