/**
 * The gateway's ingest suite, run on SQLite and (with DATABASE_URL; always on CI) PostgreSQL:
 * residency routing (a Japanese tenant's batch at ru-mow is refused with ch-zrh's address and
 * nothing is stored; a Brazilian tenant's is stored, sealed and opens), idempotent retries, a
 * reused batch id, schema errors naming fields, a credential used for another tenant, a
 * policy deny naming the policy, agent reports, and an erased tenant.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatHex, toBytes } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { formatCanonicalJson } from '../../core/json/index.ts';
import {
  formatMigrationRecord,
  formatTelemetryEvent,
  openEvent,
  parseTelemetryBatch,
  type TelemetryBatch,
  telemetryBatchDigest,
} from '../../core/sites/index.ts';
import { testingOnlyPgPool } from '../../storage/postgres/testing.ts';
import { batchDigest, Gateway, refusalOf } from './ingest.ts';
import { openSite, testingOnlySiteFolder } from './site.ts';

const sha = (i: number): string => i.toString(16).padStart(64, '0');

/** testBatch builds a batch of `n` detection events. */
export function testBatch(
  tenant: string,
  endpoint: string,
  batchId: string,
  n: number,
  salt = 0,
): TelemetryBatch {
  return {
    batchId,
    tenant,
    endpoint,
    events: Array.from({ length: n }, (_, i) => ({
      kind: 'detection' as const,
      time: `2025-01-01T12:${String(i % 60).padStart(2, '0')}:00Z`,
      sha256: sha(i + salt),
      signature: 'Win.Test.EICAR',
      database: 'main',
      databaseVersion: '62',
    })),
  };
}

const work = await mkdtemp(join(tmpdir(), 'vouch-site-ingest-'));
after(() => rm(work, { recursive: true, force: true }));

interface Backend {
  readonly name: string;
  readonly database?: () => { database: string; databaseSchema: string };
  readonly skip?: string;
}

const pg = testingOnlyPgPool();
const schemas: string[] = [];
if (!('skip' in pg)) {
  after(async () => {
    for (const s of schemas) await pg.pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await pg.pool.end();
  });
}
const backends: Backend[] = [
  { name: 'sqlite' },
  'skip' in pg
    ? { name: 'postgres', skip: pg.skip }
    : {
        name: 'postgres',
        database: () => {
          const schema = `t_ingest_${randomBytes(6).toString('hex')}`;
          schemas.push(schema);
          return { database: process.env.DATABASE_URL as string, databaseSchema: schema };
        },
      },
];

let n = 0;
async function ruMow(backend: Backend) {
  const dir = join(work, `ru-${n++}`);
  const { tokens } = await testingOnlySiteFolder(dir, {
    site: 'ru-mow',
    ...(backend.database?.() ?? {}),
    neutralUrl: 'http://127.0.0.1:9002/',
    homeUrl: 'http://127.0.0.1:9001/',
    tenants: [
      { id: 'bravo', country: 'BR' },
      { id: 'jpco', country: 'JP', elsewhere: true },
    ],
    endpoints: [
      { tenant: 'bravo', endpoint: 'bravo-1' },
      { tenant: 'jpco', endpoint: 'jpco-1' },
    ],
  });
  const site = await openSite(dir);
  const gateway = new Gateway(site);
  const bravo = await gateway.authenticate(`Bearer ${tokens['bravo-1']}`);
  const jpco = await gateway.authenticate(`Bearer ${tokens['jpco-1']}`);
  return { dir, site, gateway, bravo, jpco, tokens };
}

for (const backend of backends) {
  const t = (name: string, body: () => Promise<void>): void => {
    test(`${backend.name} ingest: ${name}`, backend.skip === undefined ? {} : { skip: backend.skip }, body);
  };

  t(
    "a Japanese tenant's batch at ru-mow is refused with ch-zrh's address and nothing is stored",
    async () => {
      const { site, gateway, jpco } = await ruMow(backend);
      try {
        const batch = testBatch('jpco', 'jpco-1', 'jp-batch-00000001', 10);
        await assert.rejects(gateway.ingest(jpco, batch), (e) => {
          assert.equal(refusalOf(e), 'misdirected');
          assert.ok(isVouchError(e));
          assert.equal(e.details['site'], 'ch-zrh');
          assert.equal(e.details['url'], 'http://127.0.0.1:9002/');
          return true;
        });
        // The ru-mow store holds no trace of the tenant: no key, no events, no batch.
        assert.deepEqual(
          (await site.store.listTenants()).map((x) => x.tenant),
          ['bravo'],
        );
        assert.equal(await site.store.countEvents('jpco'), 0);
        assert.deepEqual(await site.store.readEvents('jpco', { limit: 10 }), []);
        assert.equal(await site.store.countEvents('bravo'), 0);
      } finally {
        await site.close();
      }
    },
  );

  t("a Brazilian tenant's batch at ru-mow is stored sealed, once, and opens under its key", async () => {
    const { site, gateway, bravo } = await ruMow(backend);
    try {
      const batch = testBatch('bravo', 'bravo-1', 'br-batch-00000001', 25);
      assert.deepEqual(await gateway.ingest(bravo, batch), {
        batchId: batch.batchId,
        status: 'stored',
        count: 25,
      });
      assert.deepEqual(await gateway.ingest(bravo, batch), {
        batchId: batch.batchId,
        status: 'duplicate',
        count: 25,
      });
      assert.equal(await site.store.countEvents('bravo'), 25);
      const stored = await site.store.readEvents('bravo', { limit: 100 });
      const key = await site.dataKey('bravo');
      for (const e of stored) {
        const index = Number(e.eventId.split('.')[1]);
        const plain = formatTelemetryEvent(batch.events[index] as TelemetryBatch['events'][number]);
        assert.notDeepEqual(e.sealed.subarray(13, 13 + plain.length), plain, 'stored sealed, not in clear');
        assert.deepEqual(
          openEvent(key, { tenant: 'bravo', site: 'ru-mow', eventId: e.eventId }, e.sealed),
          plain,
        );
        assert.throws(
          () => openEvent(key, { tenant: 'bravo', site: 'ch-zrh', eventId: e.eventId }, e.sealed),
          (x) => isVouchError(x, 'bad-digest'),
        );
      }
      // A reused batch id with other content is a conflict, and stores nothing.
      await assert.rejects(
        gateway.ingest(bravo, testBatch('bravo', 'bravo-1', 'br-batch-00000001', 25, 1)),
        (e) => isVouchError(e, 'conflict'),
      );
      assert.equal(await site.store.countEvents('bravo'), 25);
    } finally {
      await site.close();
    }
  });

  t(
    'schema errors name every bad field, and a credential works only for its own tenant and endpoint',
    async () => {
      const { site, gateway, bravo, jpco } = await ruMow(backend);
      try {
        const bad = JSON.parse(JSON.stringify(testBatch('bravo', 'bravo-1', 'br-batch-00000002', 3)));
        bad.events[1].sha256 = 'xyz';
        delete bad.events[2].signature;
        await assert.rejects(gateway.processTelemetry(bravo, toBytes(JSON.stringify(bad))), (e) => {
          assert.ok(isVouchError(e, 'malformed'));
          // (core names a missing field twice; the set of fields is what matters here)
          assert.deepEqual(new Set(e.details.fields), new Set(['events[1].sha256', 'events[2].signature']));
          return true;
        });
        await assert.rejects(
          gateway.ingest(jpco, testBatch('bravo', 'bravo-1', 'br-batch-00000003', 1)),
          (e) => {
            assert.equal(refusalOf(e), 'credential-mismatch');
            return true;
          },
        );
        await assert.rejects(
          gateway.ingest(bravo, testBatch('bravo', 'bravo-2', 'br-batch-00000003', 1)),
          (e) => {
            assert.equal(refusalOf(e), 'credential-mismatch');
            return true;
          },
        );
        await assert.rejects(gateway.authenticate('Bearer nope'), (e) => refusalOf(e) === 'unauthenticated');
        await assert.rejects(gateway.authenticate(undefined), (e) => refusalOf(e) === 'unauthenticated');
        assert.equal(await site.store.countEvents('bravo'), 0);
      } finally {
        await site.close();
      }
    },
  );

  t('an agent report is stored as update events; the same report again is a duplicate', async () => {
    const { site, gateway, bravo } = await ruMow(backend);
    try {
      const report = toBytes(
        JSON.stringify({
          startedAt: '2025-03-01T10:00:00.000Z',
          finishedAt: '2025-03-01T10:00:01.250Z',
          outcome: 'installed',
          metadata: { root: 1, timestamp: 7, snapshot: 7, targets: 3 },
          installed: { 'rules/main': { version: '62', target: 'rules/main-62.db', previous: '61' } },
          changed: ['rules/main'],
          requests: 5,
          bytes: 1000,
          ms: 1250,
          consecutiveFailures: 0,
        }),
      );
      const ack = await gateway.processAgentReport(bravo, report);
      assert.equal(ack.status, 'stored');
      assert.equal(ack.count, 2);
      assert.equal((await gateway.processAgentReport(bravo, report)).status, 'duplicate');
      const events = await site.store.readEvents('bravo', { kind: 'update', limit: 10 });
      assert.equal(events.length, 2);
      const key = await site.dataKey('bravo');
      const opened = events.map((e) =>
        JSON.parse(
          new TextDecoder().decode(
            openEvent(key, { tenant: 'bravo', site: 'ru-mow', eventId: e.eventId }, e.sealed),
          ),
        ),
      );
      assert.deepEqual(opened, [
        {
          kind: 'update',
          time: '2025-03-01T10:00:01Z',
          target: 'repository/timestamp',
          to: '7',
          outcome: 'ok',
        },
        {
          kind: 'update',
          time: '2025-03-01T10:00:01Z',
          target: 'rules/main',
          from: '61',
          to: '62',
          outcome: 'ok',
        },
      ]);
      const refused = toBytes(
        JSON.stringify({
          finishedAt: '2025-03-02T10:00:00.000Z',
          outcome: 'failed',
          metadata: { timestamp: 7 },
          installed: {},
          changed: [],
          error: { code: 'policy-unmet', message: 'rollback', attack: 'rollback' },
        }),
      );
      assert.equal((await gateway.processAgentReport(bravo, refused)).count, 1);
      await assert.rejects(gateway.processAgentReport(bravo, toBytes('{"outcome":"maybe"}')), (e) =>
        isVouchError(e, 'malformed'),
      );
    } finally {
      await site.close();
    }
  });

  t('a neutral tenant migrated to ru-mow is denied by policy, naming it, and nothing is stored', async () => {
    const { dir, site, tokens } = await ruMow(backend);
    await site.close();
    // Record a (non-compliant) migration of jpco to ru-mow in the directory.
    const path = join(dir, 'tenants.json');
    const directory = JSON.parse(await readFile(path, 'utf8'));
    directory.migrations.push(
      JSON.parse(
        new TextDecoder().decode(
          formatMigrationRecord({
            tenant: 'jpco',
            from: 'ch-zrh',
            to: 'ru-mow',
            reason: 'test of a forbidden move',
            registryVersion: 1,
            approvals: ['alice', 'bob'],
            time: '2099-01-01T00:00:00Z',
          }),
        ),
      ),
    );
    await writeFile(path, JSON.stringify(directory));
    const reopened = await openSite(dir);
    try {
      const gateway = new Gateway(reopened);
      const jpco = await gateway.authenticate(`Bearer ${tokens['jpco-1']}`);
      await assert.rejects(gateway.ingest(jpco, testBatch('jpco', 'jpco-1', 'jp-batch-00000002', 2)), (e) => {
        assert.equal(refusalOf(e), 'policy-denied');
        assert.ok(isVouchError(e));
        assert.deepEqual(e.details['policies'], ['neutral-only-at-ch-zrh']);
        assert.equal(e.details['policyDigest'], reopened.policy.policyDigest);
        return true;
      });
      assert.equal(await reopened.store.countEvents('jpco'), 0);
    } finally {
      await reopened.close();
    }
  });

  t('an erased tenant is refused and nothing more is stored', async () => {
    const { site, gateway, bravo } = await ruMow(backend);
    try {
      await gateway.ingest(bravo, testBatch('bravo', 'bravo-1', 'br-batch-00000009', 2));
      await site.store.eraseTenant('bravo', 1_700_000_000);
      await assert.rejects(
        gateway.ingest(bravo, testBatch('bravo', 'bravo-1', 'br-batch-00000010', 2)),
        (e) => isVouchError(e, 'not-found'),
      );
      await assert.rejects(site.dataKey('bravo'), (e) => isVouchError(e, 'not-found'));
      assert.equal(await site.store.countEvents('bravo'), 0);
    } finally {
      await site.close();
    }
  });
}

test("the gateway's digest and event encodings equal core's telemetryBatchDigest and formatTelemetryEvent", () => {
  const body = JSON.stringify({
    batchId: 'mixed-batch-000001',
    tenant: 'bravo',
    endpoint: 'host:17.a_b-c',
    events: [
      {
        kind: 'detection',
        time: '2025-01-01T00:00:00Z',
        sha256: sha(1),
        signature: 'Sig "quoted" \\ é',
        database: 'main',
        databaseVersion: '1',
      },
      { kind: 'update', time: '2025-01-01T00:00:00Z', target: 'rules/main', to: '2', outcome: 'ok' },
      {
        outcome: 'refused',
        kind: 'update',
        time: '2025-01-01T00:00:00Z',
        target: 'agent',
        from: '1',
        to: '2',
        attack: 'rollback',
      },
      { kind: 'sample', sha256: sha(2), size: 12, fileType: 'pe32', firstSeen: '2025-01-01T00:00:00Z' },
      {
        kind: 'sample',
        sha256: sha(3),
        size: 0,
        fileType: 'elf',
        firstSeen: '2025-01-01T00:00:00Z',
        name: 'ä b – \u{1F600}.exe',
      },
    ],
  });
  const batch = parseTelemetryBatch(toBytes(body));
  const canonical = batch.events.map((e) => formatCanonicalJson(e));
  assert.deepEqual(
    canonical,
    batch.events.map((e) => formatTelemetryEvent(e)),
  );
  assert.equal(formatHex(batchDigest(batch, canonical)), telemetryBatchDigest(batch));
});
