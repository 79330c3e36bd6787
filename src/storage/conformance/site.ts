/**
 * The site-store conformance suite (contract in ../site.ts), run by every driver's test: tenant
 * registration and its refusals, batch idempotency (a retry is a duplicate, a reused id with
 * other content a conflict, a bad batch stores nothing), reads in (time, event id) order with
 * kind and time filters, tenant isolation, erasure, and two stores on one database storing the
 * same batch at once — exactly one stores it.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import type { SiteStore, StoredEvent, StoredTenant } from '../site.ts';

/** SiteStoreFactory opens a store on the database `name`; two calls with one name share state. */
export type SiteStoreFactory = (name: string) => Promise<SiteStore>;

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const tenantOf = (id: string, key = 'key-1'): StoredTenant => ({
  tenant: id,
  record: bytes(`{"id":"${id}"}`),
  wrappedKey: bytes(key),
  erasedAt: undefined,
});

/** batchOf builds `count` events of a batch: kinds cycle detection/update/sample, times descend. */
const batchOf = (tenant: string, batchId: string, count: number, salt = ''): StoredEvent[] =>
  Array.from({ length: count }, (_, i) => ({
    tenant,
    eventId: `${batchId}.${i}`,
    kind: ['detection', 'update', 'sample'][i % 3] as string,
    time: 1_000 - i,
    sealed: bytes(`${tenant}/${batchId}/${i}${salt}`),
  }));

const digest = (text: string): Uint8Array => bytes(text.padEnd(32, '.'));

/** testSiteStore registers the site-store contract tests; `fresh` returns an unused database name. */
export function testSiteStore(driver: string, open: SiteStoreFactory, fresh: () => string): void {
  test(`${driver} site: tenants register, re-register with the same key, and refuse another key`, async () => {
    const store = await open(fresh());
    try {
      assert.equal(await store.getTenant('acme'), undefined);
      await store.putTenant(tenantOf('acme'));
      await store.putTenant(tenantOf('bravo'));
      const updated = { ...tenantOf('acme'), record: bytes('{"id":"acme","v":2}') };
      await store.putTenant(updated);
      const got = await store.getTenant('acme');
      assert.deepEqual(got, { ...updated, erasedAt: undefined });
      await assert.rejects(store.putTenant(tenantOf('acme', 'key-2')), (e) => isVouchError(e, 'conflict'));
      await assert.rejects(store.putTenant({ ...tenantOf('charlie'), wrappedKey: undefined }), (e) =>
        isVouchError(e, 'invalid-argument'),
      );
      assert.deepEqual(
        (await store.listTenants()).map((t) => t.tenant),
        ['acme', 'bravo'],
      );
    } finally {
      await store.close();
    }
  });

  test(`${driver} site: a batch stores once; a retry is a duplicate; a reused id with other content conflicts`, async () => {
    const store = await open(fresh());
    try {
      await store.putTenant(tenantOf('acme'));
      const events = batchOf('acme', 'batch-0000000001', 5);
      assert.deepEqual(await store.storeBatch('acme', 'batch-0000000001', digest('a'), events), {
        status: 'stored',
        count: 5,
      });
      assert.deepEqual(await store.storeBatch('acme', 'batch-0000000001', digest('a'), events), {
        status: 'duplicate',
        count: 5,
      });
      await assert.rejects(
        store.storeBatch(
          'acme',
          'batch-0000000001',
          digest('b'),
          batchOf('acme', 'batch-0000000001', 5, 'x'),
        ),
        (e) => isVouchError(e, 'conflict'),
      );
      assert.equal(await store.countEvents('acme'), 5);
      const read = await store.readEvents('acme', { limit: 100 });
      assert.deepEqual(
        read.map((e) => e.eventId),
        [
          'batch-0000000001.4',
          'batch-0000000001.3',
          'batch-0000000001.2',
          'batch-0000000001.1',
          'batch-0000000001.0',
        ],
      );
      assert.deepEqual(read[4], events[0]);
    } finally {
      await store.close();
    }
  });

  test(`${driver} site: a bad batch or an unknown tenant stores nothing`, async () => {
    const store = await open(fresh());
    try {
      await store.putTenant(tenantOf('acme'));
      const foreign = batchOf('acme', 'batch-0000000002', 3);
      foreign[2] = { ...(foreign[2] as StoredEvent), tenant: 'bravo' };
      await assert.rejects(store.storeBatch('acme', 'batch-0000000002', digest('c'), foreign), (e) =>
        isVouchError(e, 'invalid-argument'),
      );
      const repeated = batchOf('acme', 'batch-0000000002', 3);
      repeated[1] = { ...(repeated[1] as StoredEvent), eventId: 'batch-0000000002.0' };
      await assert.rejects(store.storeBatch('acme', 'batch-0000000002', digest('c'), repeated), (e) =>
        isVouchError(e, 'invalid-argument'),
      );
      await assert.rejects(store.storeBatch('acme', 'batch-0000000002', digest('c'), []), (e) =>
        isVouchError(e, 'invalid-argument'),
      );
      await assert.rejects(
        store.storeBatch('nobody', 'batch-0000000002', digest('c'), batchOf('nobody', 'batch-0000000002', 1)),
        (e) => isVouchError(e, 'not-found'),
      );
      assert.equal(await store.countEvents('acme'), 0);
      assert.equal(await store.countEvents('nobody'), 0);
      // The refused id is still free.
      const good = batchOf('acme', 'batch-0000000002', 3);
      assert.equal((await store.storeBatch('acme', 'batch-0000000002', digest('c'), good)).status, 'stored');
    } finally {
      await store.close();
    }
  });

  test(`${driver} site: reads filter by kind and time, honour the limit, and never cross tenants`, async () => {
    const store = await open(fresh());
    try {
      await store.putTenant(tenantOf('acme'));
      await store.putTenant(tenantOf('bravo'));
      await store.storeBatch(
        'acme',
        'batch-000000000a',
        digest('a'),
        batchOf('acme', 'batch-000000000a', 12),
      );
      await store.storeBatch('acme', 'batch-000000000b', digest('b'), batchOf('acme', 'batch-000000000b', 3));
      await store.storeBatch(
        'bravo',
        'batch-000000000a',
        digest('a'),
        batchOf('bravo', 'batch-000000000a', 4),
      );
      assert.equal(await store.countEvents('acme'), 15);
      assert.equal(await store.countEvents('bravo'), 4);
      // Same batch id at two tenants: two batches.
      const bravo = await store.readEvents('bravo', { limit: 100 });
      assert.ok(
        bravo.every((e) => e.tenant === 'bravo' && new TextDecoder().decode(e.sealed).startsWith('bravo/')),
      );
      const detections = await store.readEvents('acme', { kind: 'detection', limit: 100 });
      assert.ok(detections.length === 5 && detections.every((e) => e.kind === 'detection'));
      // Equal times order by event id, compared bytewise.
      const range = await store.readEvents('acme', { from: 990, to: 1000, limit: 100 });
      assert.deepEqual(
        range.map((e) => [e.time, e.eventId]),
        [
          [990, 'batch-000000000a.10'],
          [991, 'batch-000000000a.9'],
          [992, 'batch-000000000a.8'],
          [993, 'batch-000000000a.7'],
          [994, 'batch-000000000a.6'],
          [995, 'batch-000000000a.5'],
          [996, 'batch-000000000a.4'],
          [997, 'batch-000000000a.3'],
          [998, 'batch-000000000a.2'],
          [998, 'batch-000000000b.2'],
          [999, 'batch-000000000a.1'],
          [999, 'batch-000000000b.1'],
        ],
      );
      const limited = await store.readEvents('acme', { from: 1000, limit: 1 });
      assert.deepEqual(
        limited.map((e) => e.eventId),
        ['batch-000000000a.0'],
      );
      await assert.rejects(store.readEvents('acme', { limit: 0 }), (e) =>
        isVouchError(e, 'invalid-argument'),
      );
      assert.deepEqual(await store.readEvents('nobody', { limit: 10 }), []);
    } finally {
      await store.close();
    }
  });

  test(`${driver} site: erasure deletes the key and events, keeps the first time, and refuses later batches`, async () => {
    const store = await open(fresh());
    try {
      await store.putTenant(tenantOf('acme'));
      await store.putTenant(tenantOf('bravo'));
      await store.storeBatch('acme', 'batch-0000000003', digest('a'), batchOf('acme', 'batch-0000000003', 4));
      await store.storeBatch(
        'bravo',
        'batch-0000000003',
        digest('a'),
        batchOf('bravo', 'batch-0000000003', 2),
      );
      await store.eraseTenant('acme', 1_700_000_000);
      await store.eraseTenant('acme', 1_800_000_000);
      const erased = await store.getTenant('acme');
      assert.equal(erased?.wrappedKey, undefined);
      assert.equal(erased?.erasedAt, 1_700_000_000);
      assert.equal(await store.countEvents('acme'), 0);
      assert.deepEqual(await store.readEvents('acme', { limit: 10 }), []);
      assert.equal(await store.countEvents('bravo'), 2, 'another tenant is untouched');
      await assert.rejects(
        store.storeBatch('acme', 'batch-0000000003', digest('a'), batchOf('acme', 'batch-0000000003', 4)),
        (e) => isVouchError(e, 'not-found'),
      );
      await assert.rejects(store.putTenant(tenantOf('acme')), (e) => isVouchError(e, 'conflict'));
      await assert.rejects(store.eraseTenant('nobody', 1), (e) => isVouchError(e, 'not-found'));
    } finally {
      await store.close();
    }
  });

  test(`${driver} site: two stores on one database storing one batch at once store it exactly once`, async () => {
    const name = fresh();
    const [one, two] = [await open(name), await open(name)];
    try {
      await one.putTenant(tenantOf('acme'));
      const receipts = await Promise.all(
        Array.from({ length: 6 }, (_, i) => {
          const id = `batch-race-000000${i % 3}`;
          return (i % 2 === 0 ? one : two).storeBatch('acme', id, digest(id), batchOf('acme', id, 50));
        }),
      );
      assert.equal(receipts.filter((r) => r.status === 'stored').length, 3);
      assert.equal(receipts.filter((r) => r.status === 'duplicate').length, 3);
      assert.equal(await two.countEvents('acme'), 150);
    } finally {
      await one.close();
      await two.close();
    }
  });
}
