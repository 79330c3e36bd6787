/**
 * The demo's staff access: a staff member located in Russia asks for the Japanese tenant's data
 * and is denied by policy (the denial is ledgered); a privacy officer in Switzerland requests an
 * export, the Japanese customer approves it with its own key, and the export happens at ch-zrh,
 * recorded in the ledger before any data is released; at ru-mow its own officer exports the
 * Brazilian tenant's data. Both exports are read back to check that each agent's update reports
 * and telemetry landed at its tenant's site. Last, the customer fetches its access record and
 * verifies it offline against the ledger key and the 2-of-2 witness policy.
 */

import { existsSync, readFileSync } from 'node:fs';
import type { Demo } from './runner.ts';
import { brazil, japan, type Step, type Tenant, type World } from './world.ts';

const why = ['--justification', 'customer data request under contract'];
const heidi = ['--as', 'heidi', '--employer', 'Vouch AG', '--office', 'CH', '--location', 'CH'];

async function denied(demo: Demo, _world: World): Promise<string> {
  demo.say("A staff member in Russia asks for the Japanese tenant's data: denied by policy, and ledgered");
  const [refused] = await demo.vouchAll([
    {
      args: [
        'site',
        'export',
        'ch',
        '--tenant',
        japan.tenant,
        '--out',
        'denied.jsonl',
        '--as',
        'ivan',
        '--employer',
        'Vouch AG',
        '--office',
        'CH',
        '--location',
        'RU',
        ...why,
        '--ticket',
        'PRIV-7',
      ],
      expectExit: 1,
    },
  ]);
  const policy = demo.expect(
    refused?.output ?? '',
    /export of tenant sakura-kk.s data at ch-zrh is denied: forbid: ([\w-]+)/,
    'the denial does not name the forbidding policy',
  )[1];
  if (existsSync(demo.path('denied.jsonl'))) demo.fail('a denied export wrote data');
  return `denied (forbid: ${policy}), no data written`;
}

/**
 * checkExport reads an export file and checks that it holds the tenant agent's update reports and
 * its EICAR detection, and returns a description of what it holds.
 */
function checkExport(demo: Demo, world: World, t: Tenant, file: string): string {
  const lines = readFileSync(demo.path(file), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const events = lines.map((l) => (JSON.parse(l) as { event: Record<string, unknown> }).event);
  const updates = events.filter((e) => e['kind'] === 'update');
  const detections = events.filter((e) => e['kind'] === 'detection');
  if (updates.length === 0)
    demo.fail(`${file} holds no update report of ${t.agent}: it did not land at ${t.home}`);
  const wanted = world.detections.get(t.tenant) ?? [];
  for (const d of wanted) {
    if (!detections.some((e) => e['sha256'] === d.sha256 && e['signature'] === d.signature))
      demo.fail(`${file} lacks ${t.agent}'s detection of ${d.path}: its telemetry did not land at ${t.home}`);
  }
  demo.log(
    `  ${file}: ${events.length} events of ${t.tenant} at ${t.home}: ${updates.length} update reports, ${detections.length} detections\n`,
  );
  return `${updates.length} update reports, ${detections.length} detection${detections.length === 1 ? '' : 's'}`;
}

async function approvedExport(demo: Demo, world: World): Promise<string> {
  demo.say('A privacy officer in Switzerland requests an export; the Japanese customer approves it');
  world.requestId = (
    await demo.vouch([
      'access',
      'request',
      'ch',
      '--tenant',
      japan.tenant,
      ...heidi,
      '--role',
      'privacy-officer',
      '--action',
      'export',
      '--purpose',
      'customer-export',
      ...why,
      '--ticket',
      'PRIV-7',
      '--scope',
      'telemetry',
      '--out',
      'sakura-request.json',
    ])
  ).trim();
  await demo.vouch([
    'access',
    'approve',
    '--request',
    'sakura-request.json',
    '--key',
    'sakura-approver.key',
    '--out',
    'sakura-approval.json',
  ]);
  world.approvals.push('sakura-approval.json');
  await demo.vouch([
    'access',
    'approve',
    'ch',
    '--tenant',
    japan.tenant,
    '--id',
    world.requestId,
    '--approval',
    'sakura-approval.json',
  ]);
  demo.say(
    'The export happens at ch-zrh, under the approval, recorded in the ledger before any data is released',
  );
  await demo.vouch([
    'site',
    'export',
    'ch',
    '--tenant',
    japan.tenant,
    '--out',
    'sakura.jsonl',
    ...heidi,
    ...why,
    '--ticket',
    'PRIV-7',
    '--request',
    world.requestId,
  ]);
  return `approved by the customer; ch-zrh holds the Japanese agent's ${checkExport(demo, world, japan, 'sakura.jsonl')}`;
}

async function homeExport(demo: Demo, world: World): Promise<string> {
  demo.say("At ru-mow, its own privacy officer exports the Brazilian tenant's data: home data, read at home");
  await demo.vouch([
    'site',
    'export',
    'ru',
    '--tenant',
    brazil.tenant,
    '--out',
    'ipe.jsonl',
    '--as',
    'olga',
    '--employer',
    'Vouch RU',
    '--office',
    'RU',
    '--location',
    'RU',
    ...why,
    '--ticket',
    'PRIV-8',
  ]);
  return `ru-mow holds the Brazilian agent's ${checkExport(demo, world, brazil, 'ipe.jsonl')}`;
}

async function myAccess(demo: Demo, world: World): Promise<string> {
  demo.say('The customer fetches its access record and verifies it offline: ledger key and 2-of-2 witnesses');
  const ch = world.siteOf('ch-zrh');
  await demo.vouch(['site', 'my-access', 'ch', '--tenant', japan.tenant, '--out', 'sakura-access.json']);
  const [verified] = await demo.vouchAll([
    {
      args: [
        'site',
        'verify-access',
        'sakura-access.json',
        '--tenant',
        japan.tenant,
        '--ledger-vkey',
        ch.ledgerVkey,
        '--policy',
        ch.policy,
      ],
    },
  ]);
  const entries = demo.expect(
    verified?.output ?? '',
    /verified (\d+) entries of tenant sakura-kk in ledger\.ch-zrh\.vouch\.example, cosigned by w1, w2/,
    'the access record did not verify under both witnesses',
  )[1];
  return `${entries} ledger entries verified, cosigned by w1 and w2`;
}

/** accessChapter is staff access to customer data, under policy, approval and the ledger. */
export const accessChapter: readonly Step[] = [
  { title: 'Staff located in Russia are denied the Japanese data', run: denied },
  { title: "A Swiss privacy officer exports it with the Japanese customer's approval", run: approvedExport },
  { title: "ru-mow's officer exports the Brazilian data at home", run: homeExport },
  { title: 'The Japanese customer verifies its access record offline', run: myAccess },
];
