/**
 * The site gateway on PostgreSQL survives losing its database mid-stream (issue 8: "a PostgreSQL
 * restart during ingestion is survived the same way"): four clients stream batches over HTTP to
 * an in-process gateway whose site store is PostgreSQL (a fresh schema at DATABASE_URL) while the
 * database connections are cut; failed batches get 503 with Retry-After and are resent; at the
 * end every batch is acknowledged and every event is stored exactly once, no batch in part.
 *
 * Two ways to cut: always (with DATABASE_URL), `pg_terminate_backend` on this test's own
 * connections only (tagged with an application_name), which no other user of the server
 * notices; and with VOUCH_PG_RESTART_TEST=1, a real `pg_ctlcluster 15 main restart`, which drops
 * every client of the server — so the test first checks pg_stat_activity and skips when any
 * other client is connected.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { formatTelemetryBatch, type TelemetryBatch } from '../../src/core/sites/index.ts';
import { type RunningServer, serve } from '../../src/faces/http/http.ts';
import { createSiteHandler } from '../../src/faces/http/site.ts';
import { Gateway } from '../../src/services/site/ingest.ts';
import { openSite, testingOnlySiteFolder } from '../../src/services/site/site.ts';
import { openPgPool } from '../../src/storage/postgres/pool.ts';
import { testingOnlyPgPool } from '../../src/storage/postgres/testing.ts';
import { sleep } from './log-fault.ts';

const appName = 'vouch-site-fault-test';
const db = testingOnlyPgPool();
const eventsPerBatch = 50;
const batchCount = 60;

const batchOf = (tag: string, i: number): TelemetryBatch => ({
  batchId: `fault-${tag}-${String(i).padStart(8, '0')}`,
  tenant: 'bravo',
  endpoint: 'bravo-1',
  events: Array.from({ length: eventsPerBatch }, (_, j) => ({
    kind: 'update' as const,
    time: '2025-01-01T00:00:00Z',
    target: `rules/db-${j}`,
    to: String(i),
    outcome: 'ok' as const,
  })),
});

if ('skip' in db) {
  test('site on PostgreSQL: losing the database mid-stream', { skip: db.skip }, () => undefined);
} else {
  const url = process.env.DATABASE_URL as string;
  const tagged = `${url}${url.includes('?') ? '&' : '?'}application_name=${appName}`;
  const adminName = `${appName}-admin`;
  const schemas: string[] = [];
  const work = await mkdtemp(join(tmpdir(), 'vouch-site-pg-fault-'));
  // This test's own connections are all tagged, so the safety check can tell them from others'.
  await db.pool.end();
  const admin = openPgPool(`${url}${url.includes('?') ? '&' : '?'}application_name=${adminName}`, 2);
  after(async () => {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    await admin.end();
    await rm(work, { recursive: true, force: true });
  });

  /** stream sends every batch with 4 clients, resending on 503/429/connection loss; `cut` runs once mid-stream. */
  const stream = async (tag: string, cut: () => Promise<void>): Promise<{ retries: number; dir: string }> => {
    const schema = `t_site_fault_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    const dir = join(work, tag);
    const { tokens } = await testingOnlySiteFolder(dir, {
      site: 'ru-mow',
      database: tagged,
      databaseSchema: schema,
      tenants: [{ id: 'bravo', country: 'BR' }],
      endpoints: [{ tenant: 'bravo', endpoint: 'bravo-1' }],
    });
    const site = await openSite(dir);
    let server: RunningServer | undefined;
    try {
      server = await serve(createSiteHandler({ gateway: new Gateway(site) }), { host: '127.0.0.1', port: 0 });
      const base = `${server.url}/`;
      const queue = [...Array(batchCount).keys()];
      let retries = 0;
      let sent = 0;
      let cutting: Promise<void> | undefined;
      const client = async (): Promise<void> => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const body = formatTelemetryBatch(batchOf(tag, i));
          for (let attempt = 0; ; attempt++) {
            assert.ok(attempt < 200, `batch ${i} was never acknowledged`);
            const response = await fetch(new URL('v1/telemetry', base), {
              method: 'POST',
              headers: { authorization: `Bearer ${tokens['bravo-1']}` },
              body,
            }).catch(() => undefined);
            const status = response?.status;
            await response?.text();
            if (status === 200) break;
            assert.ok(
              status === undefined || status === 503 || status === 429,
              `unexpected status ${status}`,
            );
            retries++;
            await sleep(50); // the retry's backoff, as an agent honours Retry-After
          }
          if (++sent === batchCount / 3) cutting = cut();
        }
      };
      await Promise.all([client(), client(), client(), client()]);
      await cutting;
      // Every batch once, every event once, no batch in part.
      assert.equal(await site.store.countEvents('bravo'), batchCount * eventsPerBatch);
      const events = await site.store.readEvents('bravo', { limit: 100_000 });
      assert.equal(new Set(events.map((e) => e.eventId)).size, batchCount * eventsPerBatch);
      return { retries, dir };
    } finally {
      if (server !== undefined) {
        server.server.closeAllConnections();
        await server.close();
      }
      await site.close();
    }
  };

  test('site on PostgreSQL: its connections cut mid-stream, every batch is stored exactly once', async (t) => {
    const { retries } = await stream('cut', async () => {
      const killed = await admin.query(
        'SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1',
        [appName],
      );
      t.diagnostic(`terminated ${killed.rows[0]?.n} connections of the gateway`);
    });
    t.diagnostic(`resent ${retries} requests`);
  });

  const restart = process.env.VOUCH_PG_RESTART_TEST === '1';
  test(
    'site on PostgreSQL: a server restart mid-stream is survived, every batch stored exactly once',
    restart ? {} : { skip: 'set VOUCH_PG_RESTART_TEST=1 to restart the shared PostgreSQL server' },
    async (t) => {
      const others = await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND application_name NOT IN ($1, $2)`,
        [appName, adminName],
      );
      const n = Number(others.rows[0]?.n ?? 0);
      t.diagnostic(`client connections of others on the server: ${n}`);
      if (n > 0) {
        t.skip('other clients are connected to the PostgreSQL server; restarting it would break them');
        return;
      }
      const { retries } = await stream('restart', async () => {
        // Asynchronously, so the clients keep sending while the server goes down and comes back.
        await promisify(execFile)('pg_ctlcluster', ['15', 'main', 'restart'], { timeout: 60_000 });
        t.diagnostic('pg_ctlcluster 15 main restart done');
      });
      t.diagnostic(`resent ${retries} requests`);
    },
  );
}
