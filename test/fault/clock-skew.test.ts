/**
 * Clocks skewed by hours (issue 10, faults), through each component's own clock injection point
 * (no production clock is changed):
 *
 * - the agent (`updateOnce`'s `now`, the TUF reference time of §5.1): six hours ahead or behind,
 *   even thirty days behind, it still installs (the timestamp role lasts a day and TUF has no
 *   not-before — so an agent whose clock runs behind detects a freeze late); two days ahead,
 *   past the timestamp's expiry, it fails closed — attack `freeze`, a message naming the expiry,
 *   nothing installed — and with its clock right again it installs;
 * - a witness (`Witness`'s `now`, its cosignature timestamps) six hours ahead or behind: the log
 *   counts its cosignature (the log does not judge witness time), a client checking freshness
 *   (`openCheckpoint` with `freshness`, one hour) refuses the one six hours old, naming it stale,
 *   and accepts the one from the future — LIMIT recorded in bench/FAULTS.md: freshness bounds
 *   only the age, so a witness whose clock runs ahead keeps its cosignatures "fresh" longer;
 * - the site gateway (`Gateway`'s `now`, used for policy decisions) six hours ahead or behind:
 *   it stores telemetry as usual — event times are the agents', checked for form, not for skew.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openCheckpoint } from '../../src/clients/log/client.ts';
import { toBytes } from '../../src/core/bytes/index.ts';
import { isVouchError } from '../../src/core/errors.ts';
import { verifierSet } from '../../src/core/note/index.ts';
import { formatTelemetryBatch } from '../../src/core/sites/index.ts';
import { createCheckpointVerifier, createCosignatureVerifier } from '../../src/core/tlog/cosignature.ts';
import { parsePolicy } from '../../src/core/tlog/policy.ts';
import { evaluateQuorum } from '../../src/core/tlog/quorum.ts';
import { type RunningServer, serve } from '../../src/faces/http/http.ts';
import { createWitnessHandler } from '../../src/faces/http/witness.ts';
import { Log } from '../../src/services/log/log.ts';
import { WitnessCollector } from '../../src/services/log/witnesses.ts';
import { Gateway } from '../../src/services/site/ingest.ts';
import { openSite, testingOnlySiteFolder } from '../../src/services/site/site.ts';
import { Witness } from '../../src/services/witness/witness.ts';
import { MemoryBlobStore, MemoryCasStore } from '../../src/storage/memory/memory.ts';
import { openSqlite } from '../../src/storage/sqlite/database.ts';
import { SqliteSequenceStore } from '../../src/storage/sqlite/sqlite-sequence.ts';
import { makeParty } from '../support/fault-world.ts';
import { startUpdateFixture, type UpdateFixture } from '../support/update-fixture.ts';

const hourMs = 3_600_000;
let work = '';
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  if (work !== '') await rm(work, { recursive: true, force: true });
});

test('clock skew: an agent hours off still installs; two days ahead it fails closed naming the expiry', async (t) => {
  const fx: UpdateFixture = await startUpdateFixture();
  closers.push(() => fx.close());
  await fx.releaseProduct('hello', '1.0.0');
  await fx.releaseRules('main', 1, 20);
  for (const skew of [6 * hourMs, -6 * hourMs, -30 * 24 * hourMs]) {
    const agent = await fx.makeAgent();
    const status = await fx.update(agent, { now: () => Date.now() + skew });
    assert.equal(status.outcome, 'installed', `skew ${skew / hourMs} h: ${JSON.stringify(status.error)}`);
    assert.equal(status.installed['product-hello']?.version, '1.0.0');
    t.diagnostic(`agent clock ${skew / hourMs} h off: installed`);
  }
  const agent = await fx.makeAgent();
  const ahead = await fx.update(agent, { now: () => Date.now() + 48 * hourMs });
  assert.equal(ahead.outcome, 'failed');
  assert.equal(ahead.error?.attack, 'freeze', JSON.stringify(ahead.error));
  assert.match(ahead.error?.message ?? '', /expire/i, 'the refusal names the expiry');
  assert.deepEqual(ahead.installed, {}, 'nothing is installed with a clock past the expiry');
  t.diagnostic(`agent clock 48 h ahead: ${ahead.error?.message}`);
  const fixed = await fx.update(agent);
  assert.equal(fixed.outcome, 'installed', JSON.stringify(fixed.error));
});

test('clock skew: a witness hours off is counted by the log; a freshness check refuses the stale one only', async () => {
  work = await mkdtemp(join(tmpdir(), 'vouch-clock-skew-'));
  const log = await makeParty(work, 'log.key', 'example.com/clock-skew');
  const skews = { behind: -6n * 3600n, ahead: 6n * 3600n, right: 0n };
  const urls: Record<string, string> = {};
  const vkeys: Record<string, string> = {};
  for (const [name, skew] of Object.entries(skews)) {
    const party = await makeParty(work, `${name}.key`, `${name}.clock-skew.example`);
    const witness = new Witness({
      name: party.name,
      keys: [party.signer],
      logs: (o) => (o === log.name ? verifierSet([createCheckpointVerifier(log.vkey)]) : undefined),
      store: new MemoryCasStore(),
      now: () => BigInt(Math.floor(Date.now() / 1000)) + skew,
    });
    const server: RunningServer = await serve(createWitnessHandler({ witness }), {
      host: '127.0.0.1',
      port: 0,
      log: () => undefined,
    });
    closers.push(async () => {
      server.server.closeAllConnections();
      await server.close();
    });
    urls[name] = `${server.url}/`;
    vkeys[name] = party.cosignerVkey;
  }
  const names = Object.keys(skews);
  const policy = parsePolicy(
    toBytes(
      [
        `log ${log.vkey}`,
        ...names.map((n) => `witness ${n} ${vkeys[n]} ${urls[n]}`),
        `group quorum all ${names.join(' ')}`,
        'quorum quorum',
        '',
      ].join('\n'),
    ),
  );
  const files = new MemoryBlobStore();
  const collector = new WitnessCollector({
    witnesses: names.map((n) => ({
      name: n,
      verifier: createCosignatureVerifier(vkeys[n] as string),
      url: urls[n] as string,
    })),
    isQuorum: (cosigned) => evaluateQuorum(policy, cosigned).met,
    files,
  });
  const running = await Log.open({
    origin: log.name,
    signer: log.noteSigner,
    files,
    checkpoint: new MemoryCasStore().cell('log/checkpoint'),
    sequence: new SqliteSequenceStore(openSqlite(':memory:'), log.name),
    batchAgeMs: 1,
    cosign: (note) => collector.cosign(note),
  });
  closers.push(() => running.close());
  const added = await running.add(toBytes('an entry cosigned by skewed witnesses'));
  // Without freshness, all three count: the log does not judge a witness's clock.
  const opened = openCheckpoint(added.checkpoint, { policy });
  assert.deepEqual(
    opened.cosigners.map((c) => c.witness),
    names,
  );
  const now = BigInt(Math.floor(Date.now() / 1000));
  const stamp = (n: string): bigint => opened.cosigners.find((c) => c.witness === n)?.timestamp ?? 0n;
  assert.ok(now - stamp('behind') >= 6n * 3600n - 60n, 'the witness behind stamps six hours ago');
  assert.ok(stamp('ahead') - now >= 6n * 3600n - 60n, 'the witness ahead stamps six hours on');
  // With one hour of freshness, the cosignature six hours old is stale and named.
  assert.throws(
    () => openCheckpoint(added.checkpoint, { policy, freshness: { now, maxAge: 3600n } }),
    (e: unknown) => isVouchError(e, 'policy-unmet') && /"behind" \(stale\)/.test(e.message),
  );
  // Under a 2-of-3 policy the same checkpoint is fresh enough: the stale one is left out, not fatal.
  const twoOfThree = parsePolicy(
    toBytes(
      [
        `log ${log.vkey}`,
        ...names.map((n) => `witness ${n} ${vkeys[n]}`),
        `group quorum 2 ${names.join(' ')}`,
        'quorum quorum',
        '',
      ].join('\n'),
    ),
  );
  const fresh = openCheckpoint(added.checkpoint, { policy: twoOfThree, freshness: { now, maxAge: 3600n } });
  assert.deepEqual(
    fresh.cosigners.map((c) => c.witness),
    ['ahead', 'right'],
  );
});

test('clock skew: a site gateway hours off stores telemetry as usual', async () => {
  if (work === '') work = await mkdtemp(join(tmpdir(), 'vouch-clock-skew-'));
  for (const [label, skew] of [
    ['ahead', 6 * hourMs],
    ['behind', -6 * hourMs],
  ] as const) {
    const dir = join(work, `site-${label}`);
    const { tokens } = await testingOnlySiteFolder(dir, {
      site: 'ru-mow',
      tenants: [{ id: 'bravo', country: 'BR' }],
      endpoints: [{ tenant: 'bravo', endpoint: 'bravo-1' }],
    });
    const site = await openSite(dir);
    closers.push(() => site.close());
    const gateway = new Gateway(site, { now: () => Date.now() + skew });
    const credential = await gateway.authenticate(`Bearer ${tokens['bravo-1']}`);
    const body = formatTelemetryBatch({
      batchId: `clock-skew-batch-${label}`,
      tenant: 'bravo',
      endpoint: 'bravo-1',
      events: [
        {
          kind: 'detection',
          time: `${new Date().toISOString().slice(0, 19)}Z`,
          sha256: 'a'.repeat(64),
          signature: 'Test.Sig',
          database: 'main',
          databaseVersion: '1',
        },
      ],
    });
    const ack = await gateway.processTelemetry(credential, body);
    assert.equal(ack.status, 'stored', `gateway clock ${label}`);
    assert.equal(await site.store.countEvents('bravo'), 1);
  }
});
