/**
 * The site gateway's ingestion (issue 8, Performance), each figure beside a baseline measured in
 * the same run, with batches of 1,000 events sent by 4 concurrent clients over HTTP on loopback to
 * a gateway in a child process (services/site/ingest.ts behind faces/http/site.ts, as `vouch site
 * serve` runs it): (1) events per second with AES-256-GCM sealing, the Cedar decision and the
 * durable acknowledgement (SQLite synchronous=FULL, one transaction per batch) against (a) plain
 * `storeBatch` inserts of the same rows with the same driver in process — the storage limit — and
 * (2) the same against (b) the same HTTP path with encryption and policy switched off
 * (`benchmarkOnly`, never in a deployment) — the cost of the protections. The same figures on
 * PostgreSQL when DATABASE_URL is set. A note gives where one batch's time goes in process.
 *
 * Run alone: `node bench/suites/site-ingest.ts [--quick]`. It does not measure ledgered reads,
 * agent reports, or TLS.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseHex } from '../../src/core/bytes/index.ts';
import { formatCanonicalJson } from '../../src/core/json/index.ts';
import {
  formatTelemetryBatch,
  formatTelemetryEvent,
  parseTelemetryBatch,
  parseTime,
  sealEvent,
  sealEvents,
  type TelemetryBatch,
  telemetryBatchDigest,
} from '../../src/core/sites/index.ts';
import { batchDigest, Gateway } from '../../src/services/site/ingest.ts';
import { openSite, testingOnlySiteFolder } from '../../src/services/site/site.ts';
import { openPgPool } from '../../src/storage/postgres/pool.ts';
import type { StoredEvent } from '../../src/storage/site.ts';
import { type Figure, median, type Suite } from '../lib.ts';

const suiteName = 'Site ingest';
const eventsPerBatch = 1000;
const concurrency = 4;

const src = (...parts: string[]): string =>
  pathToFileURL(join(import.meta.dirname, '..', '..', 'src', ...parts)).href;

// The gateway child: opens the site folder, builds the gateway (with protections switched off
// only when VOUCH_BENCH_UNPROTECTED=1), serves it and logs its URL.
const childScript = `
import { openSite } from ${JSON.stringify(src('services', 'site', 'site.ts'))};
import { Gateway } from ${JSON.stringify(src('services', 'site', 'ingest.ts'))};
import { createSiteHandler } from ${JSON.stringify(src('faces', 'http', 'site.ts'))};
import { serve } from ${JSON.stringify(src('faces', 'http', 'http.ts'))};
const site = await openSite(process.env.VOUCH_BENCH_DIR);
const off = process.env.VOUCH_BENCH_UNPROTECTED === '1';
const gateway = new Gateway(site, off ? { benchmarkOnly: { encryption: false, policy: false } } : {});
const server = await serve(createSiteHandler({ gateway }), { host: '127.0.0.1', port: 0 });
process.stderr.write('serving site at ' + server.url + '/\\n');
process.on('SIGTERM', async () => { await server.close(); await site.close(); process.exit(0); });
`;

function batchOf(id: string): TelemetryBatch {
  return {
    batchId: id,
    tenant: 'bravo',
    endpoint: 'bravo-1',
    events: Array.from({ length: eventsPerBatch }, (_, j) => ({
      kind: 'detection' as const,
      time: `2025-01-01T${String(j % 24).padStart(2, '0')}:${String(j % 60).padStart(2, '0')}:00Z`,
      sha256: randomBytes(32).toString('hex'),
      signature: `Win.Trojan.Agent-${j % 97}`,
      database: 'main',
      databaseVersion: '62',
    })),
  };
}

interface Gw {
  readonly child: ChildProcess;
  readonly url: string;
}

async function startGateway(dir: string, unprotected: boolean, databaseUrl: string | undefined): Promise<Gw> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VOUCH_BENCH_DIR: dir,
    VOUCH_BENCH_UNPROTECTED: unprotected ? '1' : '0',
  };
  delete env.NODE_TEST_CONTEXT;
  if (databaseUrl === undefined) delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['--input-type=module', '-e', childScript], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${log}`)), 30_000);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk;
      const m = /serving site at (http:\/\/\S+\/)/.exec(log);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited ${code}: ${log}`));
    });
  });
  return { child, url };
}

async function stopGateway(gw: Gw): Promise<void> {
  if (gw.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => gw.child.once('exit', () => resolve()));
  gw.child.kill('SIGTERM');
  await exited;
}

function post(agent: Agent, url: string, token: string, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('v1/telemetry', url),
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/** httpRate sends `bodies` with `concurrency` clients and returns events per second. */
async function httpRate(url: string, token: string, bodies: readonly Uint8Array[]): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const queue = [...bodies];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let body = queue.shift(); body !== undefined; body = queue.shift()) {
        const status = await post(agent, url, token, body);
        if (status !== 200) throw new Error(`the gateway answered ${status}`);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return (bodies.length * eventsPerBatch) / seconds;
}

interface Plan {
  readonly batchesPerRound: number;
  readonly rounds: number;
}

interface Measured {
  readonly protectedRate: number;
  readonly unprotectedRate: number;
  readonly plainRate: number;
}

let folderCount = 0;

async function measure(
  work: string,
  plan: Plan,
  database: { url: string; schema: () => string } | undefined,
): Promise<Measured> {
  const bodiesFor = (tag: string): Uint8Array[][] =>
    Array.from({ length: plan.rounds + 1 }, (_, r) =>
      Array.from({ length: plan.batchesPerRound }, (_, i) =>
        formatTelemetryBatch(batchOf(`${tag}-${r}-${String(i).padStart(8, '0')}`)),
      ),
    );
  const folder = async (): Promise<{ dir: string; token: string }> => {
    const dir = join(work, `site-${folderCount++}`);
    const { tokens } = await testingOnlySiteFolder(dir, {
      site: 'ru-mow',
      ...(database === undefined ? {} : { database: database.url, databaseSchema: database.schema() }),
      tenants: [{ id: 'bravo', country: 'BR' }],
      endpoints: [{ tenant: 'bravo', endpoint: 'bravo-1' }],
    });
    return { dir, token: tokens['bravo-1'] as string };
  };

  // Both gateways run side by side and their rounds alternate (on, off; then off, on), so that
  // machine noise hits both alike; round 0 of each warms up.
  const [onFolder, offFolder] = [await folder(), await folder()];
  const onGateway = await startGateway(onFolder.dir, false, database?.url);
  const on: number[] = [];
  const off: number[] = [];
  try {
    const offGateway = await startGateway(offFolder.dir, true, database?.url);
    try {
      const onBodies = bodiesFor('ingest-on');
      const offBodies = bodiesFor('ingest-off');
      for (let r = 0; r <= plan.rounds; r++) {
        const runOn = async () => {
          const rate = await httpRate(onGateway.url, onFolder.token, onBodies[r] as Uint8Array[]);
          if (r > 0) on.push(rate);
        };
        const runOff = async () => {
          const rate = await httpRate(offGateway.url, offFolder.token, offBodies[r] as Uint8Array[]);
          if (r > 0) off.push(rate);
        };
        if (r % 2 === 0) {
          await runOn();
          await runOff();
        } else {
          await runOff();
          await runOn();
        }
      }
    } finally {
      await stopGateway(offGateway);
    }
  } finally {
    await stopGateway(onGateway);
  }

  // (a) The same rows through the same driver: seal outside the clock, time storeBatch only.
  const { dir } = await folder();
  const site = await openSite(dir);
  const plain: number[] = [];
  try {
    const key = await site.dataKey('bravo');
    for (let r = 0; r <= plan.rounds; r++) {
      const rows = Array.from({ length: plan.batchesPerRound }, (_, i) => {
        const batch = batchOf(`plain-${r}-${String(i).padStart(8, '0')}`);
        const events: StoredEvent[] = batch.events.map((event, j) => {
          const eventId = `${batch.batchId}.${j}`;
          return {
            tenant: 'bravo',
            eventId,
            kind: event.kind,
            time: parseTime(event.kind === 'sample' ? event.firstSeen : event.time),
            sealed: sealEvent(key, { tenant: 'bravo', site: 'ru-mow', eventId }, formatTelemetryEvent(event)),
          };
        });
        return { id: batch.batchId, digest: parseHex(telemetryBatchDigest(batch)), events };
      });
      const start = performance.now();
      for (const b of rows) await site.store.storeBatch('bravo', b.id, b.digest, b.events);
      const rate = (plan.batchesPerRound * eventsPerBatch * 1000) / (performance.now() - start);
      if (r > 0) plain.push(rate);
    }
  } finally {
    await site.close();
  }
  return { protectedRate: median(on), unprotectedRate: median(off), plainRate: median(plain) };
}

/** breakdown times the steps of one 1,000-event batch in process (ms, median of `rounds`). */
async function breakdown(work: string, rounds: number): Promise<string> {
  const dir = join(work, `site-${folderCount++}`);
  const { tokens } = await testingOnlySiteFolder(dir, {
    site: 'ru-mow',
    tenants: [{ id: 'bravo', country: 'BR' }],
    endpoints: [{ tenant: 'bravo', endpoint: 'bravo-1' }],
  });
  const site = await openSite(dir);
  try {
    const gateway = new Gateway(site);
    const credential = await gateway.authenticate(`Bearer ${tokens['bravo-1']}`);
    const key = await site.dataKey('bravo');
    const steps: Record<string, number[]> = {
      parse: [],
      format: [],
      digest: [],
      seal: [],
      policy: [],
      store: [],
      total: [],
    };
    for (let r = 0; r <= rounds; r++) {
      const body = formatTelemetryBatch(batchOf(`split-${r}-00000000`));
      const t0 = performance.now();
      const batch = parseTelemetryBatch(body);
      const t1 = performance.now();
      const plain = batch.events.map((e) => formatCanonicalJson(e));
      const t2 = performance.now();
      const digest = batchDigest(batch, plain);
      const t3 = performance.now();
      const sealed = sealEvents(
        key,
        { tenant: 'bravo', site: 'ru-mow' },
        plain.map((plaintext, j) => ({ eventId: `${batch.batchId}.${j}`, plaintext })),
      );
      const events = sealed.map((bytes, j) => ({
        tenant: 'bravo',
        eventId: `${batch.batchId}.${j}`,
        kind: 'detection',
        time: 0,
        sealed: bytes,
      }));
      const t4 = performance.now();
      site.policy.decide({
        principal: { type: 'Endpoint', id: 'bravo-1', tenant: 'bravo' },
        action: 'ingest',
        resource: {
          type: 'TenantData',
          kind: 'telemetry',
          tenant: {
            id: 'bravo',
            contractCountry: 'BR',
            residency: 'home',
            site: 'ru-mow',
            approvalRequired: false,
          },
        },
        context: { site: { id: 'ru-mow', country: 'RU' }, now: new Date() },
      });
      const t5 = performance.now();
      await site.store.storeBatch('bravo', batch.batchId, digest, events);
      const t6 = performance.now();
      const whole = formatTelemetryBatch(batchOf(`whole-${r}-00000000`));
      const t7 = performance.now();
      await gateway.processTelemetry(credential, whole);
      const t8 = performance.now();
      if (r === 0) continue;
      steps['parse']?.push(t1 - t0);
      steps['format']?.push(t2 - t1);
      steps['digest']?.push(t3 - t2);
      steps['seal']?.push(t4 - t3);
      steps['policy']?.push(t5 - t4);
      steps['store']?.push(t6 - t5);
      steps['total']?.push(t8 - t7);
    }
    return Object.entries(steps)
      .map(([name, values]) => `${name} ${median(values).toFixed(1)} ms`)
      .join(', ');
  } finally {
    await site.close();
  }
}

function figures(backend: string, m: Measured, split: string | undefined): Figure[] {
  return [
    {
      suite: suiteName,
      name: `${backend}: events/s over HTTP, sealed + Cedar + durable ack (batches of 1,000)`,
      unit: 'events/s',
      higherIsBetter: true,
      value: m.protectedRate,
      baseline: { name: `plain storeBatch inserts of the same rows, same driver`, value: m.plainRate },
      ...(backend === 'SQLite' ? { goal: '≥ 20,000 events/s' } : {}),
      ...(split === undefined ? {} : { note: `one batch in process: ${split}` }),
    },
    {
      suite: suiteName,
      name: `${backend}: events/s over HTTP with the protections, vs the same path without them`,
      unit: 'events/s',
      higherIsBetter: true,
      value: m.protectedRate,
      baseline: {
        name: 'same HTTP path, encryption and policy off (benchmarkOnly)',
        value: m.unprotectedRate,
      },
      goal: 'ratio ≥ 0.67',
    },
  ];
}

/** siteIngest is the suite; see the module comment. */
export const siteIngest: Suite = {
  name: 'site-ingest',
  async run({ quick }) {
    const plan: Plan = quick ? { batchesPerRound: 4, rounds: 1 } : { batchesPerRound: 30, rounds: 3 };
    const work = await mkdtemp(join(tmpdir(), 'vouch-bench-site-'));
    const out: Figure[] = [];
    try {
      const split = await breakdown(work, quick ? 1 : 5);
      out.push(...figures('SQLite', await measure(work, plan, undefined), split));
      const url = process.env.DATABASE_URL;
      if (url !== undefined && url !== '') {
        const schemas: string[] = [];
        try {
          const m = await measure(work, plan, {
            url,
            schema: () => {
              const s = `bench_site_${randomBytes(6).toString('hex')}`;
              schemas.push(s);
              return s;
            },
          });
          out.push(...figures('PostgreSQL', m, undefined));
        } finally {
          const pool = openPgPool(url, 1);
          for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
          await pool.end();
        }
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return out;
  },
};

if (import.meta.main) {
  const result = await siteIngest.run({ quick: process.argv.includes('--quick') });
  for (const f of result) {
    process.stdout.write(
      `${f.name}: ${Math.round(f.value)} ${f.unit} vs ${f.baseline.name}: ${Math.round(f.baseline.value)} (ratio ${(f.value / f.baseline.value).toFixed(2)})${f.note === undefined ? '' : `\n  ${f.note}`}\n`,
    );
  }
}
