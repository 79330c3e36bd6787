/**
 * `vouch agent` end to end through its command module: init from files, one update reported to
 * a loopback site with the tenant credential, status (human and JSON), `run --once`, rollback,
 * and a refused init over an existing state folder.
 */

import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { agentCommand } from '../../src/faces/cli/commands/agent.ts';
import { reportError } from '../../src/faces/cli/io.ts';
import { captureIo } from '../support/log-fixture.ts';
import { repositoryName, startUpdateFixture, type UpdateFixture } from '../support/update-fixture.ts';

let fx: UpdateFixture;
let agent = '';
let siteUrl = '';
let closeSite: () => Promise<void> = async () => undefined;
const reports: { headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];

before(async () => {
  fx = await startUpdateFixture();
  await fx.releaseProduct('hello', '1.0.0');
  await fx.releaseRules('main', 1, 20);
  const site = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      reports.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(req.url === '/v1/agent-reports' && req.method === 'POST' ? 202 : 404).end();
    });
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  closeSite = () => new Promise<void>((resolve) => site.close(() => resolve()));
});

after(async () => {
  await fx.close();
  await closeSite();
});

async function vouchAgent(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  let code: number;
  try {
    code = await agentCommand.run(args, io.io);
  } catch (error) {
    code = reportError(error, io.io);
  }
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

test('init, update with a report to the site, status', async () => {
  const files = await mkdtemp(join(fx.dir, 'cli-'));
  agent = join(files, 'state');
  await writeFile(join(files, 'root.json'), await readFile(join(fx.publicDir, '1.root.json')));
  await writeFile(join(files, 'policy.json'), fx.releasePolicy);
  await writeFile(join(files, 'credential'), 'tenant-token-123\n', { mode: 0o600 });
  const args = [
    'init',
    '--dir',
    agent,
    '--root',
    join(files, 'root.json'),
    '--release-policy',
    join(files, 'policy.json'),
    '--repository',
    fx.server.url,
    '--repository-name',
    repositoryName,
    '--want',
    'products/hello/',
    '--want',
    'rules/main/',
    '--site',
    siteUrl,
    '--credential',
    join(files, 'credential'),
  ];
  const init = await vouchAgent(...args);
  assert.equal(init.code, 0, init.stderr);
  const again = await vouchAgent(...args);
  assert.equal(again.code, 4, 'a second init over the same folder is refused');

  const update = await vouchAgent('update', '--dir', agent, '--json');
  assert.equal(update.code, 0, update.stdout);
  const status = JSON.parse(update.stdout);
  assert.equal(status.outcome, 'installed');
  assert.equal(status.report.ok, true);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]?.headers.authorization, 'Bearer tenant-token-123');
  assert.equal(reports[0]?.body.outcome, 'installed');
  assert.ok(!JSON.stringify(reports[0]?.body).includes('tenant-token-123'));

  const human = await vouchAgent('status', '--dir', agent);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /installed:\s+product-hello 1\.0\.0/);
  assert.match(human.stdout, /report:\s+sent/);
});

test('run --once: one unchanged run, then stops', async () => {
  const run = await vouchAgent('run', '--dir', agent, '--once');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /unchanged/);
  assert.equal(run.stdout.trim().split('\n').length, 1);
});

test('a refused update exits 1 naming the attack; rollback restores the previous version', async () => {
  await fx.releaseProduct('hello', '1.1.0');
  const ok = await vouchAgent('update', '--dir', agent);
  assert.equal(ok.code, 0, ok.stdout);
  await fx.craft({ log: 'none' });
  const refused = await vouchAgent('update', '--dir', agent);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /attack: unlogged/);
  const back = await vouchAgent('rollback', '--dir', agent, '--target', 'product-hello');
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /1\.0\.0 is current again/);
  const json = JSON.parse((await vouchAgent('status', '--dir', agent, '--json')).stdout);
  assert.equal(json.error.attack, 'unlogged');
});

test('rollback pins: status shows it, the next update skips it, --unpin ends it', async () => {
  const status = await vouchAgent('status', '--dir', agent);
  assert.match(
    status.stdout,
    /installed:\s+product-hello 1\.0\.0 \(previous 1\.1\.0\) \[pinned: rolled back from 1\.1\.0\]/,
  );
  // The repository serves a logged release again; the pinned product is skipped, not an error.
  await fx.releaseProduct('other', '1.0.0');
  const skipped = await vouchAgent('update', '--dir', agent);
  assert.equal(skipped.code, 0, skipped.stdout);
  assert.match(skipped.stdout, /pinned:\s+product-hello stays at 1\.0\.0, not updated to 1\.1\.0/);
  const unpin = await vouchAgent('rollback', '--dir', agent, '--target', 'product-hello', '--unpin');
  assert.equal(unpin.code, 0, unpin.stderr);
  assert.match(unpin.stdout, /not pinned/);
  const update = await vouchAgent('update', '--dir', agent, '--json');
  assert.equal(update.code, 0, update.stdout);
  const json = JSON.parse(update.stdout);
  assert.deepEqual(json.changed, ['product-hello']);
  assert.equal(json.installed['product-hello'].version, '1.1.0');
});
