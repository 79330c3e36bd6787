/**
 * The sequence-store conformance suite (contract in ../sequence.ts): consecutive indices,
 * all-or-nothing batches, deduplication, reads of pruned ranges, and the lease — including two
 * stores on one database sequencing concurrently, which must never share an index.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256 } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import type { SequenceStore } from '../sequence.ts';

const entry = (text: string): Uint8Array => new TextEncoder().encode(text);
const hashes = (entries: readonly Uint8Array[]): Uint8Array[] =>
  entries.map((e) => sha256(new Uint8Array([0]), e));

/** SequenceStoreFactory opens a store for a log; two calls with the same log share state. */
export type SequenceStoreFactory = (log: string) => Promise<SequenceStore>;

/** testSequenceStore registers the sequence-store contract tests; `fresh` returns a new, unused log name. */
export function testSequenceStore(driver: string, open: SequenceStoreFactory, fresh: () => string): void {
  test(`${driver} sequence: indices are consecutive across batches and entries read back`, async () => {
    const store = await open(fresh());
    assert.equal(await store.next(), 0n);
    const a = [entry('a'), entry('b'), entry('c')];
    const first = await store.sequence(a, hashes(a), { dedup: false });
    assert.deepEqual(first.indices, [0n, 1n, 2n]);
    const b = [entry('d'), entry('a')];
    const second = await store.sequence(b, hashes(b), { dedup: false });
    assert.deepEqual(second.indices, [3n, 4n]);
    assert.deepEqual(second.duplicates, [false, false]);
    assert.equal(await store.next(), 5n);
    assert.deepEqual(await store.read(1n, 3), [entry('b'), entry('c'), entry('d')]);
    const empty = await store.sequence([], [], { dedup: false });
    assert.deepEqual(empty.indices, []);
  });

  test(`${driver} sequence: dedup keeps the first index, within and across batches`, async () => {
    const store = await open(fresh());
    const a = [entry('x'), entry('y'), entry('x')];
    const first = await store.sequence(a, hashes(a), { dedup: true });
    assert.deepEqual(first.indices, [0n, 1n, 0n]);
    assert.deepEqual(first.duplicates, [false, false, true]);
    const b = [entry('y'), entry('z')];
    const second = await store.sequence(b, hashes(b), { dedup: true });
    assert.deepEqual(second.indices, [1n, 2n]);
    assert.deepEqual(second.duplicates, [true, false]);
    assert.equal(await store.next(), 3n);
  });

  test(`${driver} sequence: reading pruned or unsequenced entries is not-found`, async () => {
    const store = await open(fresh());
    const a = [entry('1'), entry('2'), entry('3'), entry('4')];
    await store.sequence(a, hashes(a), { dedup: false });
    await store.prune(2n);
    await assert.rejects(store.read(1n, 2), (e) => isVouchError(e, 'not-found'));
    await assert.rejects(store.read(3n, 2), (e) => isVouchError(e, 'not-found'));
    assert.deepEqual(await store.read(2n, 2), [entry('3'), entry('4')]);
    assert.equal(await store.next(), 4n, 'pruning never rewinds the next index');
  });

  test(`${driver} sequence: two stores on one log sequencing concurrently never share an index`, async () => {
    const log = fresh();
    const [one, two] = [await open(log), await open(log)];
    const batches = Array.from({ length: 10 }, (_, i) => [entry(`p${i}a`), entry(`p${i}b`)]);
    const results = await Promise.all(
      batches.map((batch, i) => (i % 2 === 0 ? one : two).sequence(batch, hashes(batch), { dedup: false })),
    );
    const all = results.flatMap((r) => r.indices).sort((x, y) => (x < y ? -1 : 1));
    assert.deepEqual(
      all,
      Array.from({ length: 20 }, (_, i) => BigInt(i)),
    );
    for (const r of results)
      assert.equal(r.indices[1], (r.indices[0] as bigint) + 1n, 'a batch is contiguous');
  });

  test(`${driver} sequence: logs are independent`, async () => {
    const [a, b] = [await open(fresh()), await open(fresh())];
    await a.sequence([entry('only a')], hashes([entry('only a')]), { dedup: true });
    assert.equal(await b.next(), 0n);
    const r = await b.sequence([entry('only a')], hashes([entry('only a')]), { dedup: true });
    assert.deepEqual(r.duplicates, [false]);
  });

  test(`${driver} sequence: the lease has one holder until it expires or is released`, async () => {
    const log = fresh();
    const [one, two] = [await open(log), await open(log)];
    assert.equal(await one.lease('one', 60_000), true);
    assert.equal(await two.lease('two', 60_000), false);
    assert.equal(await one.lease('one', 60_000), true, 'renewal by the holder');
    await one.release('one');
    assert.equal(await two.lease('two', 1), true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await one.lease('one', 60_000), true, 'an expired lease is taken over');
    assert.equal(await two.lease('two', 60_000), false);
  });
}
