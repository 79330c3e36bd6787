/**
 * A running site sees `tenants.json` and `endpoints.json` change (issue 8 security review): a
 * token removed from the credentials is refused (the HTTP face's 401) once the next check is
 * due, a migration recorded for a tenant the gateway already served redirects it (421) with
 * nothing stored, a token issued by another process is accepted, and a file that stops parsing
 * fails lookups closed until it parses again. The checks run at most once a second; the tests
 * drive an injected clock, and one uses the real clock with a single 1.1 s wait.
 */

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isVouchError } from '../../core/errors.ts';
import { formatMigrationRecord, type TelemetryBatch } from '../../core/sites/index.ts';
import { formatEndpoints, parseEndpoints, parseTenantDirectory, writeSiteFile } from './config.ts';
import { Gateway, refusalOf } from './ingest.ts';
import { openSite, type Site, testingOnlySiteFolder } from './site.ts';

const work = await mkdtemp(join(tmpdir(), 'vouch-site-reload-'));
after(() => rm(work, { recursive: true, force: true }));

const batch = (tenant: string, endpoint: string, batchId: string, n: number): TelemetryBatch => ({
  batchId,
  tenant,
  endpoint,
  events: Array.from({ length: n }, (_, i) => ({
    kind: 'detection' as const,
    time: `2025-01-01T12:${String(i % 60).padStart(2, '0')}:00Z`,
    sha256: i.toString(16).padStart(64, '0'),
    signature: 'Win.Test.EICAR',
    database: 'main',
    databaseVersion: '62',
  })),
});

/** Clock is an injected millisecond clock the test moves by hand. */
class Clock {
  ms = 1_750_000_000_000;
  readonly now = (): number => this.ms;
}

let n = 0;
async function ruMow(clock?: Clock): Promise<{ dir: string; site: Site; tokens: Record<string, string> }> {
  const dir = join(work, `ru-${n++}`);
  const { tokens } = await testingOnlySiteFolder(dir, {
    site: 'ru-mow',
    neutralUrl: 'https://ch-zrh.example.org/',
    tenants: [{ id: 'bravo', country: 'BR' }],
    endpoints: [
      { tenant: 'bravo', endpoint: 'bravo-1' },
      { tenant: 'bravo', endpoint: 'bravo-2' },
    ],
  });
  const site = await openSite(dir, clock === undefined ? {} : { now: clock.now });
  return { dir, site, tokens };
}

/** refusedAs asserts a rejection carries the gateway refusal `reason`. */
const refusedAs =
  (reason: string) =>
  (error: unknown): boolean => {
    assert.equal(refusalOf(error), reason, String(error));
    return true;
  };

/** migrateBravo records an approved migration of bravo from ru-mow to ch-zrh, as an operator would. */
async function migrateBravo(dir: string): Promise<void> {
  const path = join(dir, 'tenants.json');
  const directory = JSON.parse(await readFile(path, 'utf8'));
  directory.migrations.push(
    JSON.parse(
      new TextDecoder().decode(
        formatMigrationRecord({
          tenant: 'bravo',
          from: 'ru-mow',
          to: 'ch-zrh',
          reason: 'customer asked for Swiss hosting',
          registryVersion: 1,
          approvals: ['alice', 'bob'],
          time: '2099-01-01T00:00:00Z',
        }),
      ),
    ),
  );
  const bytes = new TextEncoder().encode(JSON.stringify(directory));
  parseTenantDirectory(bytes); // the file the gateway will read is a valid directory
  await writeSiteFile(path, bytes);
}

test('a token removed from endpoints.json is refused by the running gateway once a check is due', async () => {
  const clock = new Clock();
  const { dir, site, tokens } = await ruMow(clock);
  try {
    const gateway = new Gateway(site);
    const one = await gateway.authenticate(`Bearer ${tokens['bravo-1']}`);
    await gateway.ingest(one, batch('bravo', 'bravo-1', 'br-reload-000001', 3));
    const path = join(dir, 'endpoints.json');
    const kept = parseEndpoints(await readFile(path)).filter((c) => c.endpoint !== 'bravo-1');
    await writeSiteFile(path, formatEndpoints(kept));
    // Within the second since the last check the cached credentials answer (no stat per request).
    clock.ms += 999;
    assert.equal((await gateway.authenticate(`Bearer ${tokens['bravo-1']}`)).endpoint, 'bravo-1');
    clock.ms += 1;
    await assert.rejects(gateway.authenticate(`Bearer ${tokens['bravo-1']}`), refusedAs('unauthenticated'));
    assert.equal(await site.authenticate(tokens['bravo-1'] as string), undefined);
    // The other endpoint's token is untouched, and nothing more was stored.
    const two = await gateway.authenticate(`Bearer ${tokens['bravo-2']}`);
    assert.equal(two.endpoint, 'bravo-2');
    assert.equal(await site.store.countEvents('bravo'), 3);
  } finally {
    await site.close();
  }
});

test('a migration recorded after the gateway served a tenant redirects it (421) and nothing is stored', async () => {
  const clock = new Clock();
  const { dir, site, tokens } = await ruMow(clock);
  try {
    const gateway = new Gateway(site);
    const bravo = await gateway.authenticate(`Bearer ${tokens['bravo-1']}`);
    const first = await gateway.ingest(bravo, batch('bravo', 'bravo-1', 'br-reload-000001', 4));
    assert.equal(first.status, 'stored');
    await migrateBravo(dir);
    clock.ms += 1000;
    await assert.rejects(gateway.ingest(bravo, batch('bravo', 'bravo-1', 'br-reload-000002', 2)), (e) => {
      assert.equal(refusalOf(e), 'misdirected');
      assert.ok(isVouchError(e));
      assert.equal(e.details['site'], 'ch-zrh');
      assert.equal(e.details['url'], 'https://ch-zrh.example.org/');
      return true;
    });
    assert.equal(site.decide(site.tenants()[0] ?? assert.fail('no tenant')).source, 'migration');
    assert.equal(await site.store.countEvents('bravo'), 4);
  } finally {
    await site.close();
  }
});

test('with the real clock a migration takes effect within 1.1 s', async () => {
  const { dir, site, tokens } = await ruMow();
  try {
    const gateway = new Gateway(site);
    const bravo = await gateway.authenticate(`Bearer ${tokens['bravo-1']}`);
    await gateway.ingest(bravo, batch('bravo', 'bravo-1', 'br-reload-000001', 1));
    await migrateBravo(dir);
    await sleep(1100); // the interval is 1 s: the next lookup is due for a check
    await assert.rejects(
      gateway.ingest(bravo, batch('bravo', 'bravo-1', 'br-reload-000002', 1)),
      refusedAs('misdirected'),
    );
    assert.equal(await site.store.countEvents('bravo'), 1);
  } finally {
    await site.close();
  }
});

test('a token issued by another process is accepted once a check is due', async () => {
  const clock = new Clock();
  const { dir, site } = await ruMow(clock);
  try {
    const cli = await openSite(dir);
    let token: string;
    try {
      token = await cli.addEndpoint('bravo', 'bravo-3');
    } finally {
      await cli.close();
    }
    assert.equal(await site.authenticate(token), undefined);
    clock.ms += 1000;
    assert.equal((await site.authenticate(token))?.endpoint, 'bravo-3');
  } finally {
    await site.close();
  }
});

test('an endpoints.json that stops parsing fails lookups closed until it parses again', async () => {
  const clock = new Clock();
  const { dir, site, tokens } = await ruMow(clock);
  try {
    const token = tokens['bravo-1'] as string;
    const path = join(dir, 'endpoints.json');
    const good = await readFile(path);
    await writeFile(path, '{"endpoints": [');
    clock.ms += 1000;
    await assert.rejects(site.authenticate(token), (e) => isVouchError(e));
    // Still refused between checks: the old credentials are not used.
    clock.ms += 10;
    await assert.rejects(site.authenticate(token), (e) => isVouchError(e));
    await writeFile(path, good);
    clock.ms += 1000;
    assert.equal((await site.authenticate(token))?.endpoint, 'bravo-1');
  } finally {
    await site.close();
  }
});
