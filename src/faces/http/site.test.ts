/**
 * The site gateway's HTTP face, in process (hono-style requests): statuses and JSON bodies for
 * a stored batch and its retry, 401, 413, 400 naming fields, 421 with the right site's URL and
 * nothing stored, 429 with Retry-After while the in-flight slots are taken, agent reports and
 * /healthz.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { toBytes } from '../../core/bytes/index.ts';
import { formatTelemetryBatch, maxTelemetryBatchBytes, type TelemetryBatch } from '../../core/sites/index.ts';
import { Gateway } from '../../services/site/ingest.ts';
import { openSite, type Site, testingOnlySiteFolder } from '../../services/site/site.ts';
import type { BatchReceipt, SiteStore, StoredEvent } from '../../storage/site.ts';
import { SqliteSiteStore } from '../../storage/sqlite/sqlite-site.ts';
import type { HttpResponse } from './http.ts';
import { testingOnlyRequest } from './http.ts';
import { createSiteHandler } from './site.ts';

const work = await mkdtemp(join(tmpdir(), 'vouch-site-http-'));
after(() => rm(work, { recursive: true, force: true }));

const batchOf = (tenant: string, endpoint: string, batchId: string, n: number): TelemetryBatch => ({
  batchId,
  tenant,
  endpoint,
  events: Array.from({ length: n }, (_, i) => ({
    kind: 'sample' as const,
    sha256: i.toString(16).padStart(64, 'a'),
    size: 1000 + i,
    fileType: 'pe32',
    firstSeen: '2025-02-01T00:00:00Z',
    name: `file-${i}.exe`,
  })),
});

/** GatedStore delegates to a store and holds storeBatch until the test opens the gate. */
class GatedStore implements SiteStore {
  readonly inner: SiteStore;
  #waiting: (() => void)[] = [];
  held = 0;
  closed = true;
  constructor(inner: SiteStore) {
    this.inner = inner;
  }
  open(): void {
    this.closed = false;
    for (const go of this.#waiting.splice(0)) go();
  }
  putTenant = (t: Parameters<SiteStore['putTenant']>[0]) => this.inner.putTenant(t);
  getTenant = (t: string) => this.inner.getTenant(t);
  listTenants = () => this.inner.listTenants();
  readEvents = (t: string, o: Parameters<SiteStore['readEvents']>[1]) => this.inner.readEvents(t, o);
  countEvents = (t: string) => this.inner.countEvents(t);
  eraseTenant = (t: string, at: number) => this.inner.eraseTenant(t, at);
  close = () => this.inner.close();
  async storeBatch(
    tenant: string,
    id: string,
    digest: Uint8Array,
    events: readonly StoredEvent[],
  ): Promise<BatchReceipt> {
    if (this.closed) {
      this.held++;
      await new Promise<void>((go) => this.#waiting.push(go));
    }
    return this.inner.storeBatch(tenant, id, digest, events);
  }
}

let n = 0;
async function ruMow(
  maxInFlight = 8,
): Promise<{ site: Site; tokens: Record<string, string>; gated: GatedStore }> {
  const dir = join(work, `ru-${n++}`);
  const { tokens } = await testingOnlySiteFolder(dir, {
    site: 'ru-mow',
    neutralUrl: 'https://ch-zrh.example.org/',
    tenants: [
      { id: 'bravo', country: 'BR' },
      { id: 'jpco', country: 'JP', elsewhere: true },
    ],
    endpoints: [
      { tenant: 'bravo', endpoint: 'bravo-1' },
      { tenant: 'jpco', endpoint: 'jpco-1' },
    ],
    maxInFlight,
  });
  const gated = new GatedStore(SqliteSiteStore.open(join(dir, 'site.db')));
  gated.open();
  return { site: await openSite(dir, { testingOnlyStore: gated }), tokens, gated };
}

const post = (path: string, token: string | undefined, body: Uint8Array | string) =>
  testingOnlyRequest('POST', path, body, token === undefined ? {} : { authorization: `Bearer ${token}` });

const bodyOf = (r: HttpResponse): Record<string, unknown> =>
  JSON.parse(typeof r.body === 'string' ? r.body : new TextDecoder().decode(r.body));

test('site http: a batch is acknowledged once durable; a retry is a duplicate; a reused id is 409', async () => {
  const { site, tokens } = await ruMow();
  try {
    const handler = createSiteHandler({ gateway: new Gateway(site) });
    const batch = formatTelemetryBatch(batchOf('bravo', 'bravo-1', 'batch-http-000001', 4));
    const first = await handler(post('/v1/telemetry', tokens['bravo-1'], batch));
    assert.equal(first.status, 200);
    assert.deepEqual(bodyOf(first), { batchId: 'batch-http-000001', status: 'stored', count: 4 });
    const again = await handler(post('/v1/telemetry', tokens['bravo-1'], batch));
    assert.deepEqual(bodyOf(again), { batchId: 'batch-http-000001', status: 'duplicate', count: 4 });
    const other = formatTelemetryBatch(batchOf('bravo', 'bravo-1', 'batch-http-000001', 3));
    const conflict = await handler(post('/v1/telemetry', tokens['bravo-1'], other));
    assert.equal(conflict.status, 409);
    assert.equal(bodyOf(conflict)['error'], 'conflict');
    assert.equal(await site.store.countEvents('bravo'), 4);
  } finally {
    await site.close();
  }
});

test('site http: 401 without a valid token, 413 over 1 MiB, 400 naming the fields, 405, 404', async () => {
  const { site, tokens } = await ruMow();
  try {
    const handler = createSiteHandler({ gateway: new Gateway(site) });
    const batch = formatTelemetryBatch(batchOf('bravo', 'bravo-1', 'batch-http-000002', 1));
    for (const token of [undefined, 'wrong', `${tokens['bravo-1']}x`]) {
      const r = await handler(post('/v1/telemetry', token, batch));
      assert.equal(r.status, 401);
      assert.equal(r.headers?.['www-authenticate'], 'Bearer');
      assert.equal(bodyOf(r)['error'], 'unauthenticated');
    }
    const big = await handler(
      post('/v1/telemetry', tokens['bravo-1'], new Uint8Array(maxTelemetryBatchBytes + 1)),
    );
    assert.equal(big.status, 413);
    const bad = JSON.parse(new TextDecoder().decode(batch));
    bad.events[0].size = -1;
    bad.events[0].extra = true;
    const malformed = await handler(post('/v1/telemetry', tokens['bravo-1'], JSON.stringify(bad)));
    assert.equal(malformed.status, 400);
    const fields = bodyOf(malformed)['fields'] as string[];
    assert.ok(fields.includes('events[0].size') && fields.includes('events[0].extra'), String(fields));
    assert.equal((await handler(post('/v1/telemetry', tokens['bravo-1'], 'not json'))).status, 400);
    assert.equal((await handler(testingOnlyRequest('GET', '/v1/telemetry'))).status, 405);
    assert.equal((await handler(testingOnlyRequest('GET', '/nope'))).status, 404);
    const health = await handler(testingOnlyRequest('GET', '/healthz'));
    assert.deepEqual(bodyOf(health), { site: 'ru-mow', inFlight: 0 });
    assert.equal(await site.store.countEvents('bravo'), 0);
  } finally {
    await site.close();
  }
});

test("site http: a Japanese tenant's batch at ru-mow is 421 with ch-zrh's URL, and ru-mow stores nothing", async () => {
  const { site, tokens } = await ruMow();
  try {
    const handler = createSiteHandler({ gateway: new Gateway(site) });
    const batch = formatTelemetryBatch(batchOf('jpco', 'jpco-1', 'batch-http-000003', 5));
    const r = await handler(post('/v1/telemetry', tokens['jpco-1'], batch));
    assert.equal(r.status, 421);
    assert.equal(r.headers?.['location'], 'https://ch-zrh.example.org/');
    assert.deepEqual(bodyOf(r), {
      error: 'misdirected',
      message: "tenant jpco's data is stored at site ch-zrh, not ru-mow",
      site: 'ch-zrh',
      url: 'https://ch-zrh.example.org/',
    });
    assert.deepEqual(
      (await site.store.listTenants()).map((t) => t.tenant),
      ['bravo'],
    );
    assert.equal(await site.store.countEvents('jpco'), 0);
    // The agent report path routes the same way.
    const report = await handler(
      post(
        '/v1/agent-reports',
        tokens['jpco-1'],
        '{"finishedAt":"2025-01-01T00:00:00Z","outcome":"unchanged","metadata":{},"installed":{},"changed":[]}',
      ),
    );
    assert.equal(report.status, 421);
    assert.equal(await site.store.countEvents('jpco'), 0);
  } finally {
    await site.close();
  }
});

test('site http: beyond maxInFlight batches the gateway answers 429 with Retry-After, then recovers', async () => {
  const { site, tokens, gated } = await ruMow(2);
  try {
    const handler = createSiteHandler({ gateway: new Gateway(site) });
    gated.closed = true;
    const send = (i: number) =>
      handler(
        post(
          '/v1/telemetry',
          tokens['bravo-1'],
          formatTelemetryBatch(batchOf('bravo', 'bravo-1', `batch-busy-00000${i}`, 2)),
        ),
      );
    const a = send(1);
    const b = send(2);
    // Both admitted requests reach the store and wait there (bounded wait, no sleeps).
    for (let i = 0; i < 1000 && gated.held < 2; i++) await new Promise((r) => setImmediate(r));
    assert.equal(gated.held, 2);
    const refused = await send(3);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers?.['retry-after'], '1');
    assert.equal(bodyOf(refused)['error'], 'busy');
    gated.open();
    assert.equal((await a).status, 200);
    assert.equal((await b).status, 200);
    assert.equal((await send(3)).status, 200, 'accepted again once the queue drained');
    assert.equal(await site.store.countEvents('bravo'), 6);
  } finally {
    await site.close();
  }
});

test('site http: an agent report is stored as update events', async () => {
  const { site, tokens } = await ruMow();
  try {
    const handler = createSiteHandler({ gateway: new Gateway(site) });
    const body = toBytes(
      JSON.stringify({
        startedAt: '2025-03-01T10:00:00.000Z',
        finishedAt: '2025-03-01T10:00:01.000Z',
        outcome: 'up-to-date',
        metadata: { timestamp: 3 },
        installed: {},
        changed: [],
        requests: 1,
        bytes: 10,
        ms: 1000,
        consecutiveFailures: 0,
      }),
    );
    const r = await handler(post('/v1/agent-reports', tokens['bravo-1'], body));
    assert.equal(r.status, 200);
    assert.equal(bodyOf(r)['status'], 'stored');
    assert.equal((await site.store.readEvents('bravo', { kind: 'update', limit: 5 })).length, 1);
  } finally {
    await site.close();
  }
});
