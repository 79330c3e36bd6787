/**
 * The demo's endpoints: an agent of the Japanese tenant and one of the Brazilian tenant install
 * the product and rule database v1 (after the TUF, log, witness and release-policy checks) and
 * report each run to their tenant's site (`agent init --site --credential`); each scans a sample
 * folder generated here (the EICAR test file included) with the installed database; and each
 * sends the detections as telemetry (DESIGN.md "The data flow"): the Japanese batch sent to
 * ru-mow by mistake is answered 421 naming ch-zrh, and lands there. That the reports landed at
 * the right site is checked later by reading each site's data (./access-chapter.ts).
 */

import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleText } from './rules-chapter.ts';
import type { Demo } from './runner.ts';
import { brazil, type Detection, japan, type Step, type Tenant, type World } from './world.ts';

/** The EICAR anti-virus test file: harmless, and every scanner reports it. */
const eicar = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

async function install(demo: Demo, world: World): Promise<string> {
  demo.say(
    "Agents in Japan and Brazil install what was built, logged, witnessed, rebuilt and approved, and report to their tenant's site",
  );
  const init = (t: Tenant): string[] => {
    const home = world.siteOf(t.home);
    return [
      'agent',
      'init',
      '--dir',
      t.agent,
      '--root',
      'repo/public/1.root.json',
      '--release-policy',
      'release-policy.json',
      '--repository',
      world.repoUrl,
      '--repository-name',
      'vouch-demo',
      '--want',
      'products/hello/',
      '--want',
      'rules/demo/',
      '--site',
      home.url,
      '--credential',
      world.credentials.get(`${t.home}/${t.tenant}`) ?? '',
    ];
  };
  await demo.vouchAll([japan, brazil].map((t) => ({ args: init(t) })));
  const runs = await demo.vouchAll(
    [japan, brazil].map((t) => ({ args: ['agent', 'update', '--dir', t.agent] })),
  );
  for (const [i, t] of [japan, brazil].entries()) {
    const out = runs[i]?.stdout ?? '';
    demo.expect(out, /installed: +product-hello 1\.0\.0 \[new\]/, `${t.agent} did not install the product`);
    demo.expect(out, /installed: +rules-demo 1 \[new\]/, `${t.agent} did not install rules v1`);
    demo.expect(out, /report: +sent /, `${t.agent}'s report was not taken by ${t.home}`);
  }
  demo.say('Checking again costs two small requests when nothing changed');
  const again = await demo.vouch(['agent', 'update', '--dir', japan.agent]);
  const requests = demo.expect(
    again,
    /unchanged, \d+ ms, (\d+) requests/,
    'the second check was not "unchanged"',
  )[1];
  return `installed; reports taken by ${japan.home} and ${brazil.home}; a re-check costs ${requests} requests`;
}

async function scan(demo: Demo, world: World): Promise<string> {
  demo.say(
    'Each agent scans a generated sample folder with its installed rule database and finds the EICAR test file',
  );
  mkdirSync(demo.path('samples'), { recursive: true });
  writeFileSync(demo.path('samples', 'eicar.com'), eicar);
  writeFileSync(demo.path('samples', 'notes.txt'), 'an ordinary file\n');
  for (const n of [2, 3]) writeFileSync(demo.path('samples', `sample-${n}.bin`), sampleText(n));
  const results = await demo.vouchAll(
    [japan, brazil].map((t) => ({
      args: ['scan', '--db', join(t.agent, 'installed', 'rules-demo', 'current'), '--no-progress', 'samples'],
      expectExit: 1,
    })),
  );
  for (const [i, t] of [japan, brazil].entries()) {
    const lines = (results[i]?.stdout ?? '').split('\n').filter((l) => l.startsWith('{"path"'));
    const detections = lines.map((l) => JSON.parse(l) as Detection);
    if (!detections.some((d) => d.path === 'samples/eicar.com' && d.signature === 'Eicar-Test-Signature'))
      demo.fail(`${t.agent}'s scan did not find the EICAR test file`);
    world.detections.set(t.tenant, detections);
  }
  const count = world.detections.get(japan.tenant)?.length ?? 0;
  return `EICAR found on both endpoints (${count} detection${count === 1 ? '' : 's'} each with v1)`;
}

/** telemetryBatch turns one scan's detections into a telemetry batch (docs/sites.md). */
function telemetryBatch(t: Tenant, detections: readonly Detection[]): string {
  const now = `${new Date().toISOString().slice(0, 19)}Z`;
  return JSON.stringify({
    batchId: randomUUID(),
    tenant: t.tenant,
    endpoint: t.endpoint,
    events: [
      ...detections.map((d) => ({
        kind: 'detection',
        time: now,
        sha256: d.sha256,
        signature: d.signature,
        database: 'demo',
        databaseVersion: '1',
      })),
      ...detections.map((d) => ({
        kind: 'sample',
        sha256: d.sha256,
        size: d.size,
        fileType: 'text',
        firstSeen: now,
        name: d.path.split('/').pop(),
      })),
    ],
  });
}

/** postBatch sends a batch to a gateway as an agent would, logs the answer and returns it. */
async function postBatch(
  demo: Demo,
  site: string,
  url: string,
  credentialFile: string,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const token = readFileSync(demo.path(credentialFile), 'utf8').trim();
  const answer = await fetch(`${url}v1/telemetry`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  const text = await answer.text();
  const location = answer.headers.get('location');
  demo.log(
    `  POST ${url}v1/telemetry (${site}) -> ${answer.status}${location === null ? '' : ` Location: ${location}`} ${text.trim()}\n`,
  );
  try {
    return { status: answer.status, json: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return demo.fail(`${site} answered ${answer.status} with a body that is not JSON`);
  }
}

async function telemetry(demo: Demo, world: World): Promise<string> {
  const found = world.detections;
  const ch = world.siteOf('ch-zrh');
  const ru = world.siteOf('ru-mow');
  demo.say(
    'The Japanese agent reports its detections to ru-mow by mistake: 421, its data lives at ch-zrh; it resends there',
  );
  const jpBatch = telemetryBatch(japan, found.get(japan.tenant) ?? []);
  const wrong = await postBatch(
    demo,
    ru.site,
    ru.url,
    world.credentials.get(`ru-mow/${japan.tenant}`) ?? '',
    jpBatch,
  );
  if (wrong.status !== 421 || wrong.json['site'] !== 'ch-zrh' || wrong.json['url'] !== ch.url)
    demo.fail(`ru-mow answered ${wrong.status} to a Japanese batch, not 421 naming ch-zrh`);
  demo.log(`  ru-mow answers 421: tenant ${japan.tenant}'s data lives at ch-zrh, nothing stored\n`);
  const landed = await postBatch(
    demo,
    ch.site,
    ch.url,
    world.credentials.get(`ch-zrh/${japan.tenant}`) ?? '',
    jpBatch,
  );
  if (landed.status !== 200 || landed.json['status'] !== 'stored')
    demo.fail('ch-zrh did not store the batch');
  demo.say("The Brazilian agent's telemetry lands at ru-mow");
  const brLanded = await postBatch(
    demo,
    ru.site,
    ru.url,
    world.credentials.get(`ru-mow/${brazil.tenant}`) ?? '',
    telemetryBatch(brazil, found.get(brazil.tenant) ?? []),
  );
  if (brLanded.status !== 200 || brLanded.json['status'] !== 'stored')
    demo.fail('ru-mow did not store the batch');
  return `ru-mow answers 421 to the Japanese batch; stored at ch-zrh (${landed.json['count']} events) and ru-mow (${brLanded.json['count']})`;
}

/** agentsChapter is the two tenants' agents: install, scan, report. */
export const agentsChapter: readonly Step[] = [
  { title: 'Agents in Japan and Brazil install the product and rules v1, and report', run: install },
  { title: 'Each agent scans a generated sample folder (EICAR included)', run: scan },
  { title: "Each agent's telemetry lands at its tenant's site only", run: telemetry },
];
