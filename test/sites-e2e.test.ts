/**
 * Issue 8's "Done when", end to end with the real command line as a user runs it: two data sites
 * (`ch-zrh`, `ru-mow`) and the supervisor's two witnesses run on one machine (127.0.0.1 only),
 * as child processes. The sites share one signed site registry whose URLs are the gateways' real
 * addresses; each site has an access ledger (`vouch log init --dir SITE/ledger`) witnessed by
 * both witnesses under a 2-of-2 policy.
 *
 * A tenant in Japan (registered at ch-zrh) and one in Brazil (at ru-mow), each also recorded
 * `--elsewhere` at the other site, send telemetry batches over HTTP: a batch sent to the wrong
 * site is refused with 421 naming the right one and nothing of it is stored; at the right site it
 * is stored, and a retry is a duplicate. With the servers stopped, both SQLite stores are opened
 * directly: Japan's events exist only at ch-zrh, Brazil's only at ru-mow, the ru-mow store has no
 * row at all for the Japanese tenant, and no file of the ru-mow folder holds its batch id. Then a
 * privacy officer in Switzerland exports the Japanese tenant's data (ledgered), an officer
 * located in Russia is denied (ledgered too), and the customer's `my-access` file verifies
 * offline against the ledger key and the 2-of-2 witness policy — and fails against a stricter
 * policy, an impostor witness or another ledger key. The same holds at ru-mow for the Brazilian
 * tenant, and both ledgers verify as a whole (`vouch log verify`) with the witness quorum.
 *
 * The gateways' ports are chosen before the registry is signed (bind port 0, read, release), so a
 * port taken in between by another process fails the start loudly; it is not retried.
 */

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SqliteSiteStore } from '../src/storage/sqlite/sqlite-site.ts';
import { type RunningVouch, runVouch, startVouchServer, stopAll, vouchOk } from './support/processes.ts';

const sites = ['ch-zrh', 'ru-mow'] as const;
type SiteName = (typeof sites)[number];
const folderOf: Record<SiteName, string> = { 'ch-zrh': 'ch', 'ru-mow': 'ru' };
const jp = { tenant: 'sakura-kk', country: 'JP', endpoint: 'jp-host-1', home: 'ch-zrh' } as const;
const br = { tenant: 'ipe-ltda', country: 'BR', endpoint: 'br-host-1', home: 'ru-mow' } as const;
type Tenant = typeof jp | typeof br;

let dir = '';
const urls = {} as Record<SiteName, string>;
const ledgerVkeys = {} as Record<SiteName, string>;
const policyFiles = {} as Record<SiteName, string>;
const witnesses: { vkey: string; url: string }[] = [];
/** tokens[site][tenant] is the tenant's endpoint credential at that site. */
const tokens = { 'ch-zrh': {}, 'ru-mow': {} } as Record<SiteName, Record<string, string>>;
const gateways = {} as Record<SiteName, RunningVouch>;
const servers: RunningVouch[] = [];
/** batches[tenant] is the batch id the tenant sent. */
const batches: Record<string, string> = {};

/** args splits a command line at spaces; arguments holding spaces go in `tail`. */
function args(line: string, tail: readonly string[]): string[] {
  return [...line.split(' '), ...tail];
}

/** vouch runs `vouch LINE TAIL...` in the test folder; it must succeed. */
function vouch(line: string, ...tail: string[]): string {
  return vouchOk(args(line, tail), dir);
}

/** vouchFails runs `vouch LINE TAIL...`, which must exit with `code`, and returns its stderr. */
function vouchFails(code: number, line: string, ...tail: string[]): string {
  const run = runVouch(args(line, tail), dir);
  assert.equal(run.status, code, `vouch ${line} exited ${run.status}: ${run.stdout}${run.stderr}`);
  return run.stderr;
}

function newKey(name: string, file: string): string {
  return vouch(`key generate --type ed25519 --name ${name} --out ${file} --unencrypted`).trim();
}

/** witnessPolicy is a C2SP tlog-policy: the ledger key and every listed witness required. */
function witnessPolicy(ledgerVkey: string, list: readonly { vkey: string; url: string }[]): string {
  const names = list.map((_, i) => `w${i + 1}`);
  return [
    `log ${ledgerVkey}`,
    ...list.map((w, i) => `witness ${names[i]} ${w.vkey} ${w.url}`),
    `group every all ${names.join(' ')}`,
    'quorum every',
    '',
  ].join('\n');
}

/** freePort binds port 0 on 127.0.0.1, reads the port the kernel chose and releases it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** batchOf is a telemetry batch with one event of each kind, as docs/sites.md shows it. */
function batchOf(t: Tenant, batchId: string): string {
  return JSON.stringify({
    batchId,
    tenant: t.tenant,
    endpoint: t.endpoint,
    events: [
      {
        kind: 'detection',
        time: '2025-03-01T08:00:00Z',
        sha256: 'a'.repeat(64),
        signature: 'Win.Test.EICAR',
        database: 'main',
        databaseVersion: '62',
      },
      {
        kind: 'update',
        time: '2025-03-01T08:01:00Z',
        target: 'rules/main',
        from: '62',
        to: '61',
        outcome: 'refused',
        attack: 'rollback',
      },
      {
        kind: 'sample',
        sha256: 'b'.repeat(64),
        size: 2048,
        fileType: 'pe32',
        firstSeen: '2025-03-01T08:05:00Z',
        name: `${t.tenant}-invoice.exe`,
      },
    ],
  });
}

/** send posts a batch to a site's gateway with the tenant's credential at that site. */
async function send(
  site: SiteName,
  t: Tenant,
  body: string,
): Promise<{ status: number; location: string | null; json: Record<string, unknown> }> {
  const response = await fetch(`${urls[site]}v1/telemetry`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens[site][t.tenant]}`, 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await response.json()) as Record<string, unknown>;
  return { status: response.status, location: response.headers.get('location'), json };
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vouch-sites-e2e-'));

  // The supervisor: two witnesses, each witnessing both sites' access ledgers.
  for (const site of sites) {
    ledgerVkeys[site] = newKey(`ledger.${site}.vouch.example`, `ledger-${site}.key`);
  }
  for (const n of [1, 2]) {
    const name = `witness${n}.supervisor.example`;
    newKey(name, `w${n}.key`);
    const vkey = vouch(`witness init --dir w${n} --name ${name} --key w${n}.key`).trim();
    for (const site of sites) {
      vouch(`witness add-log --dir w${n} --origin ledger.${site}.vouch.example --vkey`, ledgerVkeys[site]);
    }
    const server = await startVouchServer(
      ['witness', 'serve', '--dir', `w${n}`, '--listen', '127.0.0.1:0'],
      dir,
    );
    servers.push(server);
    witnesses.push({ vkey, url: server.url });
  }

  // Two sites from one signed registry that names their real loopback addresses.
  for (const site of sites) urls[site] = `http://127.0.0.1:${await freePort()}/`;
  const listen = (site: SiteName): string => new URL(urls[site]).host;
  const registryVkey = newKey('site-registry.vouch.example', 'registry.key');
  const printed = vouch(
    `site init ch --site ch-zrh --registry-key registry.key --neutral-url ${urls['ch-zrh']} --home-url ${urls['ru-mow']} --listen ${listen('ch-zrh')}`,
  );
  assert.equal(printed.trim(), registryVkey);
  vouch(
    `site init ru --site ru-mow --registry ch/registry.json --listen ${listen('ru-mow')} --registry-vkey`,
    registryVkey,
  );

  // Each site's access ledger, witnessed 2-of-2.
  for (const site of sites) {
    policyFiles[site] = `witnesses-${site}.txt`;
    writeFileSync(join(dir, policyFiles[site]), witnessPolicy(ledgerVkeys[site], witnesses));
    vouch(
      `log init --dir ${folderOf[site]}/ledger --origin ledger.${site}.vouch.example --key ledger-${site}.key --policy ${policyFiles[site]}`,
    );
  }

  // The tenants: each registered at its site, recorded elsewhere for redirects, with a credential at both.
  for (const t of [jp, br]) {
    for (const site of sites) {
      const elsewhere = site === t.home ? '' : ' --elsewhere';
      const said = vouch(
        `site add-tenant ${folderOf[site]} --tenant ${t.tenant} --country ${t.country}${elsewhere}`,
      );
      assert.match(said, site === t.home ? /registered at/ : new RegExp(`its data lives at ${t.home}`));
      tokens[site][t.tenant] = vouch(
        `site add-endpoint ${folderOf[site]} --tenant ${t.tenant} --endpoint ${t.endpoint}`,
      ).trim();
    }
  }
  // A tenant is never registered at another site than its country's.
  assert.match(vouchFails(2, 'site add-tenant ru --tenant other-kk --country JP'), /maps to site ch-zrh/);

  for (const site of sites) {
    gateways[site] = await startVouchServer(['site', 'serve', folderOf[site]], dir);
    servers.push(gateways[site]);
    assert.equal(gateways[site].url, urls[site], `${site} serves at its registry URL`);
  }
});

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  stopAll();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test("telemetry goes by the tenant's site: 421 elsewhere, stored at home, retries are duplicates", async () => {
  for (const t of [jp, br]) {
    const other: SiteName = t.home === 'ch-zrh' ? 'ru-mow' : 'ch-zrh';
    const batchId = randomUUID();
    batches[t.tenant] = batchId;
    const body = batchOf(t, batchId);

    const misdirected = await send(other, t, body);
    assert.equal(misdirected.status, 421, JSON.stringify(misdirected.json));
    assert.equal(misdirected.json['site'], t.home);
    assert.equal(misdirected.json['url'], urls[t.home]);
    assert.equal(misdirected.location, urls[t.home]);

    const stored = await send(t.home, t, body);
    assert.equal(stored.status, 200, JSON.stringify(stored.json));
    assert.deepEqual(stored.json, { batchId, status: 'stored', count: 3 });

    const retried = await send(t.home, t, body);
    assert.equal(retried.status, 200, JSON.stringify(retried.json));
    assert.deepEqual(retried.json, { batchId, status: 'duplicate', count: 3 });

    // Resent to the wrong site after it was stored: still refused there, never copied.
    assert.equal((await send(other, t, body)).status, 421);
  }
  // The same batch id with other content is a conflict, not an overwrite.
  const reused = batchOf(jp, batches[jp.tenant] ?? '').replace('Win.Test.EICAR', 'Win.Test.Other');
  assert.equal((await send('ch-zrh', jp, reused)).status, 409);
  // One tenant's credential cannot send another tenant's batch.
  assert.equal((await send('ru-mow', jp, batchOf(br, randomUUID()))).status, 403);
});

test('each store holds only its own tenants: nothing of Japan at ru-mow, nothing of Brazil at ch-zrh', async () => {
  // The gateways stopped, the stores are read directly, as an auditor of each site would.
  await Promise.all(sites.map((site) => gateways[site].stop()));
  const expected: Record<SiteName, { here: Tenant; away: Tenant }> = {
    'ch-zrh': { here: jp, away: br },
    'ru-mow': { here: br, away: jp },
  };
  for (const site of sites) {
    const { here, away } = expected[site];
    const store = SqliteSiteStore.open(join(dir, folderOf[site], 'site.db'));
    try {
      assert.deepEqual(
        (await store.listTenants()).map((t) => t.tenant),
        [here.tenant],
        `${site} stores only ${here.tenant}`,
      );
      assert.equal(await store.getTenant(away.tenant), undefined, `${site} has a row for ${away.tenant}`);
      assert.equal(await store.countEvents(away.tenant), 0);
      assert.equal((await store.readEvents(away.tenant, { limit: 10 })).length, 0);
      const batchId = batches[here.tenant] ?? '';
      assert.equal(await store.countEvents(here.tenant), 3);
      assert.deepEqual(
        (await store.readEvents(here.tenant, { limit: 10 })).map((e) => e.eventId).sort(),
        [0, 1, 2].map((i) => `${batchId}.${i}`),
      );
    } finally {
      await store.close();
    }
    // No file of the site's folder (database, WAL, ledger) holds the other tenant's batch id.
    const needle = Buffer.from(batches[away.tenant] ?? 'missing');
    for (const file of filesUnder(join(dir, folderOf[site]))) {
      assert.equal(readFileSync(file).includes(needle), false, `${file} holds ${away.tenant}'s batch id`);
    }
  }
});

test('exports are ledgered, staff in RU are denied Swiss-only data, and my-access verifies 2-of-2', () => {
  const why = ['--justification', 'customer data request under contract'];
  const exportJp = `site export ch --tenant ${jp.tenant} --ticket PRIV-7 --office CH`;
  const result = JSON.parse(
    vouch(`${exportJp} --out sakura.jsonl --as heidi --location CH --employer`, 'Vouch AG', ...why),
  ) as { tenant: string; events: number; ledger: string[] };
  assert.deepEqual(result, { tenant: jp.tenant, events: 3, out: 'sakura.jsonl', ledger: ['0'] });
  const exported = readFileSync(join(dir, 'sakura.jsonl'), 'utf8').trim().split('\n');
  assert.deepEqual(
    exported.map((line) => (JSON.parse(line) as { event: { kind: string } }).event.kind).sort(),
    ['detection', 'sample', 'update'],
  );
  assert.equal(statSync(join(dir, 'sakura.jsonl')).mode & 0o777, 0o600);

  // A privacy officer of the Swiss office, but physically in Russia: the data does not leave.
  const denied = vouchFails(
    1,
    `${exportJp} --out denied.jsonl --as ivan --location RU --employer`,
    'Vouch AG',
    ...why,
  );
  assert.match(
    denied,
    /export of tenant sakura-kk.s data at ch-zrh is denied: forbid: neutral-staff-located-in-ch/,
  );
  assert.equal(existsSync(join(dir, 'denied.jsonl')), false);

  // The customer gets its entries with proofs and checks them offline: both reads are on record.
  vouch(`site my-access ch --tenant ${jp.tenant} --out sakura-access.json`);
  const verifyJp = (vkey: string, policy: string): ReturnType<typeof runVouch> =>
    runVouch(
      args(`site verify-access sakura-access.json --tenant ${jp.tenant} --policy ${policy} --ledger-vkey`, [
        vkey,
      ]),
      dir,
    );
  const verified = verifyJp(ledgerVkeys['ch-zrh'], policyFiles['ch-zrh']);
  assert.equal(verified.status, 0, verified.stderr);
  const lines = verified.stdout.trim().split('\n');
  assert.equal(lines.length, 2, verified.stdout);
  assert.match(lines[0] ?? '', /^0\t\S+\tallow\tperson heidi \(privacy-officer, in CH\)\tcustomer-export\t/);
  assert.match(
    lines[1] ?? '',
    /^1\t\S+\tdeny\tperson ivan \(privacy-officer, in RU\)\tcustomer-export\t.*neutral-staff-located-in-ch/,
  );
  assert.match(
    verified.stderr,
    /verified 2 entries of tenant sakura-kk in ledger\.ch-zrh\.vouch\.example, cosigned by w1, w2/,
  );

  // At ru-mow, an officer in Russia exports the Brazilian tenant's data; its customer verifies
  // that site's ledger with the same witnesses.
  const exportBr = `site export ru --tenant ${br.tenant} --ticket PRIV-8 --out ipe.jsonl --as olga --office RU --location RU --employer`;
  assert.equal((JSON.parse(vouch(exportBr, 'Vouch RU', ...why)) as { events: number }).events, 3);
  vouch(`site my-access ru --tenant ${br.tenant} --out ipe-access.json`);
  const verifyBr = `site verify-access ipe-access.json --policy ${policyFiles['ru-mow']} --ledger-vkey`;
  const brLines = vouch(verifyBr, ledgerVkeys['ru-mow'], '--tenant', br.tenant);
  assert.match(
    brLines,
    /^0\t\S+\tallow\tperson olga \(privacy-officer, in RU\)\tcustomer-export\texport\ttelemetry[^\n]*\n$/,
  );
  // The customer names its tenant: a file never verifies for whoever it happens to be about.
  assert.match(vouchFails(2, verifyBr, ledgerVkeys['ru-mow']), /--tenant/);
  // One tenant's file is not accepted as another's.
  assert.match(
    vouchFails(1, `${verifyBr} ${ledgerVkeys['ru-mow']} --tenant ${jp.tenant}`),
    /for tenant ipe-ltda, not sakura-kk/,
  );

  // A stricter policy (a third witness that never cosigned, all three required) fails, and so
  // does an impostor in place of w2.
  newKey('witness3.supervisor.example', 'w3.key');
  const w3 = {
    vkey: vouch('witness init --dir w3 --name witness3.supervisor.example --key w3.key').trim(),
    url: 'http://127.0.0.1:9/',
  };
  writeFileSync(join(dir, 'stricter.txt'), witnessPolicy(ledgerVkeys['ch-zrh'], [...witnesses, w3]));
  const stricter = verifyJp(ledgerVkeys['ch-zrh'], 'stricter.txt');
  assert.equal(stricter.status, 1, stricter.stderr);
  assert.match(stricter.stderr, /quorum "every" is not met: .* 1 more of "w3"/);
  writeFileSync(join(dir, 'impostor.txt'), witnessPolicy(ledgerVkeys['ch-zrh'], [witnesses[0] ?? w3, w3]));
  const impostor = verifyJp(ledgerVkeys['ch-zrh'], 'impostor.txt');
  assert.equal(impostor.status, 1, impostor.stderr);
  assert.match(impostor.stderr, /quorum "every" is not met: .* 1 more of "w2"/);
  // Another key under the ledger's name (a forged ledger), or another site's ledger key, fails.
  const forgedKey = newKey('ledger.ch-zrh.vouch.example', 'forged-ledger.key');
  assert.equal(verifyJp(forgedKey, policyFiles['ch-zrh']).status, 1);
  assert.match(verifyJp(ledgerVkeys['ru-mow'], policyFiles['ch-zrh']).stderr, /from ledger ledger\.ch-zrh/);

  // Each ledger as a whole verifies with the witness quorum.
  for (const site of sites) {
    const report = vouch(`log verify --log ${folderOf[site]}/ledger/tiles --policy ${policyFiles[site]}`);
    assert.match(report, /"cosigners":\["w1","w2"\],"ok":true/, report);
  }
});
