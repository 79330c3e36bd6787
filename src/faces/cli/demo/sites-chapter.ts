/**
 * The demo's data sites: the neutral site ch-zrh (Switzerland) and the home site ru-mow, from one
 * signed site registry, each with an access ledger (a log the supervisor's two witnesses
 * cosign), and two tenants: Sakura KK in Japan (data at ch-zrh, staff access only with its
 * approval) and Ipe Ltda in Brazil (data at ru-mow), each with an endpoint credential for its
 * agent. The gateways start here, before any agent runs, so agents can report; they reload
 * their tenant directory and credentials, so they start before the tenants are added.
 */

import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Demo } from './runner.ts';
import { brazil, japan, type SiteInfo, type Step, type Tenant, type World, witnessPolicy } from './world.ts';

/** freePort binds port 0 on 127.0.0.1, reads the port the kernel chose and releases it. */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') done(address.port);
        else fail(new Error('no port'));
      });
    });
  });
}

function ledgerOrigin(site: SiteInfo): string {
  return `ledger.${site.site}.vouch.example`;
}

async function sites(demo: Demo, world: World): Promise<string> {
  demo.say(
    "Customer data stays in its jurisdiction: each site's access ledger is cosigned by both witnesses",
  );
  for (const site of world.sites) {
    site.ledgerVkey = world.vkey(`ledger-${site.site}.key`);
    await demo.vouchAll(
      ['w1', 'w2'].map((w) => ({
        args: ['witness', 'add-log', '--dir', w, '--origin', ledgerOrigin(site), '--vkey', site.ledgerVkey],
      })),
    );
  }
  demo.say('Two sites, ch-zrh (neutral, Switzerland) and ru-mow (home), from one signed site registry');
  for (const site of world.sites) site.url = `http://127.0.0.1:${await freePort()}/`;
  const [ch, ru] = world.sites as [SiteInfo, SiteInfo];
  const registryVkey = (
    await demo.vouch([
      'site',
      'init',
      ch.folder,
      '--site',
      ch.site,
      '--registry-key',
      'registry.key',
      '--neutral-url',
      ch.url,
      '--home-url',
      ru.url,
      '--listen',
      new URL(ch.url).host,
    ])
  ).trim();
  if (registryVkey !== world.vkey('registry.key'))
    demo.fail('the site registry is not signed by the registry key');
  // A gateway reloads its tenant directory and credentials, so it starts before they are added.
  const chServed = demo.serve(['site', 'serve', ch.folder]);
  chServed.catch(() => undefined); // awaited below; a failure before that is not unhandled
  await demo.vouch([
    'site',
    'init',
    ru.folder,
    '--site',
    ru.site,
    '--registry',
    `${ch.folder}/registry.json`,
    '--registry-vkey',
    registryVkey,
    '--listen',
    new URL(ru.url).host,
  ]);
  const ruServed = demo.serve(['site', 'serve', ru.folder]);
  ruServed.catch(() => undefined);
  for (const site of world.sites)
    writeFileSync(demo.path(site.policy), witnessPolicy(site.ledgerVkey, world));
  await demo.vouchAll(
    world.sites.map((site) => ({
      args: [
        'log',
        'init',
        '--dir',
        `${site.folder}/ledger`,
        '--origin',
        ledgerOrigin(site),
        '--key',
        `ledger-${site.site}.key`,
        '--policy',
        site.policy,
      ],
    })),
  );
  const served = await Promise.all([chServed, ruServed]);
  for (const [i, site] of world.sites.entries()) {
    if (served[i] !== site.url)
      demo.fail(`${site.site} serves at ${served[i]}, not at its registry URL ${site.url}`);
  }
  return 'ch-zrh and ru-mow serving, one registry, two witnessed ledgers';
}

/** register adds both tenants to one site's directory and issues each tenant's endpoint a credential there. */
async function register(demo: Demo, world: World, site: SiteInfo): Promise<void> {
  for (const t of [japan, brazil]) {
    const approval =
      t === japan
        ? ['--name', t.name, '--approval-vkey', world.vkey('sakura-approver.key'), '--approval-required']
        : [];
    const elsewhere = site.site === t.home ? [] : ['--elsewhere'];
    await demo.vouch([
      'site',
      'add-tenant',
      site.folder,
      '--tenant',
      t.tenant,
      '--country',
      t.country,
      ...approval,
      ...elsewhere,
    ]);
    const token = (
      await demo.vouch(
        ['site', 'add-endpoint', site.folder, '--tenant', t.tenant, '--endpoint', t.endpoint],
        0,
        {
          quiet: true,
        },
      )
    ).trim();
    const file = `${t.endpoint}.${site.site}.credential`;
    writeFileSync(demo.path(file), `${token}\n`, { mode: 0o600 });
    world.credentials.set(`${site.site}/${t.tenant}`, file);
    demo.log(`  (an endpoint credential for ${t.endpoint} at ${site.site}, shown once, kept in ${file})\n`);
  }
}

async function tenants(demo: Demo, world: World): Promise<string> {
  demo.say(
    'A tenant in Japan (data in Switzerland, access only with its approval) and one in Brazil (data at ru-mow)',
  );
  await Promise.all(world.sites.map((site) => register(demo, world, site)));
  const where = (t: Tenant): string => `${t.country} → ${t.home}`;
  return `tenants ${where(japan)}, ${where(brazil)}; 4 endpoint credentials`;
}

/** sitesChapter is the two data sites, their ledgers and their tenants. */
export const sitesChapter: readonly Step[] = [
  { title: 'Two data sites start from one signed registry, each ledger witnessed', run: sites },
  { title: 'Tenants in Japan and Brazil get endpoint credentials', run: tenants },
];
