/**
 * The conformance suite every storage driver must pass (model: golang/mod `storage.TestStorage`).
 * A driver's test file calls these with a factory for fresh, empty instances; the suite checks
 * the contracts written in ../blob.ts and ../cas.ts, including concurrent writers.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import type { BlobStore } from '../blob.ts';
import type { CasStore } from '../cas.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** testBlobStore registers the blob-store contract tests for a driver. */
export function testBlobStore(driver: string, open: () => Promise<BlobStore>): void {
  test(`${driver} blob store: missing key reads as undefined`, async () => {
    const store = await open();
    assert.equal(await store.get('tile/0/000'), undefined);
  });

  test(`${driver} blob store: put then get returns the same bytes`, async () => {
    const store = await open();
    await store.put('tile/0/000', bytes('hello'));
    assert.deepEqual(await store.get('tile/0/000'), bytes('hello'));
    await store.put('tile/entries/x001/000.p/7', new Uint8Array(0));
    assert.deepEqual(await store.get('tile/entries/x001/000.p/7'), new Uint8Array(0));
  });

  test(`${driver} blob store: a retried put of identical bytes succeeds`, async () => {
    const store = await open();
    await store.put('a/b', bytes('same'));
    await store.put('a/b', bytes('same'));
    assert.deepEqual(await store.get('a/b'), bytes('same'));
  });

  test(`${driver} blob store: a put of different bytes is a conflict and changes nothing`, async () => {
    const store = await open();
    await store.put('a/b', bytes('first'));
    await assert.rejects(store.put('a/b', bytes('second')), (e) => isVouchError(e, 'conflict'));
    assert.deepEqual(await store.get('a/b'), bytes('first'));
  });

  test(`${driver} blob store: the caller's buffer is not retained`, async () => {
    const store = await open();
    const value = bytes('mutable');
    await store.put('k', value);
    value[0] = 0;
    assert.deepEqual(await store.get('k'), bytes('mutable'));
  });

  test(`${driver} blob store: keys that could escape are refused`, async () => {
    const store = await open();
    for (const key of ['', '/abs', 'a//b', '../x', 'a/../b', 'a/./b', 'a/', 'a\\b', 'a\0b', 'é']) {
      await assert.rejects(store.put(key, bytes('x')), (e) => isVouchError(e, 'malformed'), key);
      await assert.rejects(store.get(key), (e) => isVouchError(e, 'malformed'), key);
    }
  });

  test(`${driver} blob store: concurrent puts to one key leave exactly one value`, async () => {
    const store = await open();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.put('race', bytes(`value ${i % 2}`))),
    );
    const stored = await store.get('race');
    assert.ok(stored !== undefined);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(isVouchError(r.reason, 'conflict'));
    }
    assert.ok(results.some((r) => r.status === 'fulfilled'));
  });
}

/** testCasStore registers the compare-and-swap contract tests for a driver. */
export function testCasStore(driver: string, open: () => Promise<CasStore>): void {
  test(`${driver} CAS: an empty cell reads undefined and accepts a first value only from undefined`, async () => {
    const cell = (await open()).cell('log/checkpoint');
    assert.equal(await cell.read(), undefined);
    await assert.rejects(cell.replace(bytes('x'), bytes('y')), (e) => isVouchError(e, 'conflict'));
    await cell.replace(undefined, bytes('v1'));
    assert.deepEqual(await cell.read(), bytes('v1'));
  });

  test(`${driver} CAS: replace needs the current value and reports it on conflict`, async () => {
    const cell = (await open()).cell('c');
    await cell.replace(undefined, bytes('v1'));
    await cell.replace(bytes('v1'), bytes('v2'));
    await assert.rejects(cell.replace(bytes('v1'), bytes('v3')), (e: unknown) => {
      assert.ok(isVouchError(e, 'conflict'));
      assert.deepEqual((e as { current?: Uint8Array }).current, bytes('v2'));
      return true;
    });
    await assert.rejects(cell.replace(undefined, bytes('v3')), (e) => isVouchError(e, 'conflict'));
    assert.deepEqual(await cell.read(), bytes('v2'));
  });

  test(`${driver} CAS: cells are independent`, async () => {
    const store = await open();
    await store.cell('a').replace(undefined, bytes('A'));
    assert.equal(await store.cell('b').read(), undefined);
  });

  test(`${driver} CAS: of concurrent swaps from one value exactly one wins`, async () => {
    const cell = (await open()).cell('race');
    await cell.replace(undefined, bytes('start'));
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => cell.replace(bytes('start'), bytes(`next ${i}`))),
    );
    const winners = results.filter((r) => r.status === 'fulfilled');
    assert.equal(winners.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(isVouchError(r.reason, 'conflict'));
    const final = await cell.read();
    assert.ok(final !== undefined && new TextDecoder().decode(final).startsWith('next '));
  });
}
