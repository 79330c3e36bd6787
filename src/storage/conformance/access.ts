/**
 * The access-store conformance suite (contract in ../access.ts): the per-tenant ledger index
 * (idempotent, conflicting bytes refused, all-or-none batches, pages by index, tenants never
 * mixed), the monotonic watermark, and access requests with their approvals (stored once,
 * approved once, listed newest first). Every driver passes it; `fresh` gives names no other
 * run uses, so the suite can share a real PostgreSQL database with other tests.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import type { AccessStore } from '../access.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** AccessStoreFactory opens a store for a ledger name; two calls with one name share state. */
export type AccessStoreFactory = (ledger: string) => Promise<AccessStore>;

/** testAccessStore registers the contract tests; `fresh` returns a new lowercase name (a tenant or ledger). */
export function testAccessStore(driver: string, open: AccessStoreFactory, fresh: () => string): void {
  const requestId = (): string => `req-${fresh().replace(/[^a-z0-9]/g, '')}-0000000000`.slice(0, 64);

  test(`${driver} access: ledger index rows are per tenant, in index order, paged`, async () => {
    const store = await open(fresh());
    const a = fresh();
    const b = fresh();
    await store.indexLedger([
      { tenant: a, index: 0n, entry: bytes('a0') },
      { tenant: b, index: 1n, entry: bytes('b1') },
      { tenant: a, index: 5n, entry: bytes('a5') },
      { tenant: a, index: 2n, entry: bytes('a2') },
    ]);
    const rows = await store.ledgerEntries(a, { limit: 10 });
    assert.deepEqual(
      rows.map((r) => [r.tenant, r.index, new TextDecoder().decode(r.entry)]),
      [
        [a, 0n, 'a0'],
        [a, 2n, 'a2'],
        [a, 5n, 'a5'],
      ],
    );
    assert.deepEqual(
      (await store.ledgerEntries(a, { from: 1n, limit: 1 })).map((r) => r.index),
      [2n],
    );
    assert.deepEqual(
      (await store.ledgerEntries(b, { limit: 10 })).map((r) => r.index),
      [1n],
    );
    assert.deepEqual(await store.ledgerEntries(fresh(), { limit: 10 }), []);
    await store.close();
  });

  test(`${driver} access: indexing is idempotent, and other bytes are a conflict with nothing stored`, async () => {
    const store = await open(fresh());
    const t = fresh();
    await store.indexLedger([{ tenant: t, index: 3n, entry: bytes('x') }]);
    await store.indexLedger([{ tenant: t, index: 3n, entry: bytes('x') }]);
    await assert.rejects(
      store.indexLedger([
        { tenant: t, index: 4n, entry: bytes('y') },
        { tenant: t, index: 3n, entry: bytes('other') },
      ]),
      (e) => isVouchError(e, 'conflict'),
    );
    assert.deepEqual(
      (await store.ledgerEntries(t, { limit: 10 })).map((r) => r.index),
      [3n],
      'a batch with a conflict stores none of its rows',
    );
    await store.close();
  });

  test(`${driver} access: ledgers are separate and the watermark only rises`, async () => {
    const one = fresh();
    const store = await open(one);
    const other = await open(fresh());
    const t = fresh();
    await store.indexLedger([{ tenant: t, index: 0n, entry: bytes('x') }]);
    assert.deepEqual(await other.ledgerEntries(t, { limit: 10 }), []);
    assert.equal(await store.ledgerWatermark(), 0n);
    await store.advanceLedgerWatermark(7n);
    await store.advanceLedgerWatermark(3n);
    assert.equal(await store.ledgerWatermark(), 7n);
    assert.equal(await other.ledgerWatermark(), 0n);
    const again = await open(one);
    assert.equal(await again.ledgerWatermark(), 7n, 'the watermark is durable state, shared by opens');
    await Promise.all([store.close(), other.close(), again.close()]);
  });

  test(`${driver} access: bad arguments are refused before touching the medium`, async () => {
    const store = await open(fresh());
    await assert.rejects(store.ledgerEntries('Bad Tenant', { limit: 1 }), (e) =>
      isVouchError(e, 'invalid-argument'),
    );
    await assert.rejects(store.ledgerEntries(fresh(), { limit: 0 }), (e) =>
      isVouchError(e, 'invalid-argument'),
    );
    await assert.rejects(store.indexLedger([{ tenant: fresh(), index: -1n, entry: bytes('x') }]), (e) =>
      isVouchError(e, 'invalid-argument'),
    );
    await assert.rejects(store.indexLedger([{ tenant: fresh(), index: 0n, entry: new Uint8Array(0) }]), (e) =>
      isVouchError(e, 'invalid-argument'),
    );
    await assert.rejects(store.getRequest(fresh(), 'short'), (e) => isVouchError(e, 'invalid-argument'));
    await store.close();
  });

  test(`${driver} access: a request is stored once and approved once`, async () => {
    const store = await open(fresh());
    const t = fresh();
    const id = requestId();
    assert.equal(await store.getRequest(t, id), undefined);
    await store.putRequest({ tenant: t, id, request: bytes('{"r":1}'), created: 100 });
    await store.putRequest({ tenant: t, id, request: bytes('{"r":1}'), created: 100 });
    await assert.rejects(store.putRequest({ tenant: t, id, request: bytes('{"r":2}'), created: 100 }), (e) =>
      isVouchError(e, 'conflict'),
    );
    const stored = await store.getRequest(t, id);
    assert.equal(stored?.approval, undefined);
    assert.equal(stored?.created, 100);
    assert.deepEqual(stored?.request, bytes('{"r":1}'));

    await assert.rejects(store.approveRequest(t, requestId(), bytes('sig'), 150), (e) =>
      isVouchError(e, 'not-found'),
    );
    await store.approveRequest(t, id, bytes('approval'), 150);
    await store.approveRequest(t, id, bytes('approval'), 160);
    await assert.rejects(store.approveRequest(t, id, bytes('another'), 170), (e) =>
      isVouchError(e, 'conflict'),
    );
    const approved = await store.getRequest(t, id);
    assert.deepEqual(approved?.approval, bytes('approval'));
    assert.equal(approved?.approvedAt, 150, 'the first approval time stays');
    assert.equal(await store.getRequest(fresh(), id), undefined, 'requests are per tenant');
    await store.close();
  });

  test(`${driver} access: requests list newest first, per tenant or all`, async () => {
    const store = await open(fresh());
    const t = fresh();
    const u = fresh();
    const ids = [requestId(), requestId(), requestId()];
    await store.putRequest({ tenant: t, id: ids[0] as string, request: bytes('0'), created: 10 });
    await store.putRequest({ tenant: t, id: ids[1] as string, request: bytes('1'), created: 30 });
    await store.putRequest({ tenant: u, id: ids[2] as string, request: bytes('2'), created: 20 });
    assert.deepEqual(
      (await store.listRequests({ tenant: t, limit: 10 })).map((r) => r.id),
      [ids[1], ids[0]],
    );
    assert.deepEqual(
      (await store.listRequests({ tenant: t, limit: 1 })).map((r) => r.id),
      [ids[1]],
    );
    const all = (await store.listRequests({ limit: 10_000 })).filter((r) => r.tenant === t || r.tenant === u);
    assert.deepEqual(
      all.map((r) => r.id),
      [ids[1], ids[2], ids[0]],
    );
    await store.close();
  });
}
