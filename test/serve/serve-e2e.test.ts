/**
 * `vouch serve` end to end, as an operator runs it (issue 9): one vouch.yaml with a log, a
 * witness of that log, an update repository and a data site, each created with the real `vouch`
 * init commands; then `vouch serve --config vouch.yaml` as a child process on 127.0.0.1 port 0.
 * Through the one listener: /healthz and /readyz; a log entry added under /log/ and the
 * checkpoint read back; that checkpoint cosigned by the witness under /witness/ and read from
 * its monitoring path; a repository file under /repo/; a telemetry batch stored under /site/;
 * /metrics counting exactly those requests, and JSON-line request logs; and SIGTERM ending the
 * process with exit code 0 after it closed its services.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { commands } from '../../src/faces/cli/commands/index.ts';
import { type RunningVouch, runVouch, startVouchServer, stopAll, vouchOk } from '../support/processes.ts';

let dir = '';
let server: RunningVouch | undefined;
let base = '';
let token = '';
const origin = 'log.serve.example';
let checkpoint = '';

function vouch(...args: string[]): string {
  return vouchOk(args, dir);
}

function newKey(name: string, file: string): string {
  return vouch('key', 'generate', '--type', 'ed25519', '--name', name, '--out', file, '--unencrypted').trim();
}

const serveMain = join(import.meta.dirname, 'serve-main.ts');
const serveInTable = commands.some((c) => c.name === 'serve');

/** runServe runs `vouch serve ARGS...` to completion (it must fail fast). */
function runServe(args: readonly string[]): { status: number; stderr: string } {
  if (serveInTable) return runVouch(['serve', ...args], dir);
  const r = spawnSync(process.execPath, [serveMain, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, VOUCH_PASSPHRASE: '', DATABASE_URL: '' },
  });
  return { status: r.status ?? -1, stderr: r.stderr };
}

/** startServe starts `vouch serve` (or test/serve/serve-main.ts until `serve` is in the CLI's table). */
async function startServe(args: readonly string[]): Promise<RunningVouch> {
  if (serveInTable) return startVouchServer(['serve', ...args], dir);
  const child: ChildProcess = spawn(process.execPath, [serveMain, ...args], {
    cwd: dir,
    env: { ...process.env, VOUCH_PASSPHRASE: '', DATABASE_URL: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vouch serve did not start: ${log}`)), 20_000);
    child.stderr?.on('data', () => {
      const match = /serving [^\n]* at (http:\/\/[^\s"]+\/)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`vouch serve exited ${code}: ${log}`));
    });
  });
  return {
    url,
    child,
    stderr: () => log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function request(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; type: string | null }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vouch-serve-e2e-'));
  // The log, and a witness that follows it.
  const logVkey = newKey(origin, 'log.key');
  assert.equal(
    vouch(
      'log',
      'init',
      '--dir',
      'log',
      '--origin',
      origin,
      '--key',
      'log.key',
      '--batch-age-ms',
      '50',
    ).trim(),
    logVkey,
  );
  newKey('witness.serve.example', 'witness.key');
  vouch('witness', 'init', '--dir', 'witness', '--name', 'witness.serve.example', '--key', 'witness.key');
  vouch('witness', 'add-log', '--dir', 'witness', '--origin', origin, '--vkey', logVkey);
  // An update repository (nothing published yet; one file is put in its public folder).
  newKey('root.serve.example', 'root.key');
  const releaseVkey = newKey('release.serve.example', 'release.key');
  const approverVkey = newKey('approver.serve.example', 'approver.key');
  newKey('snapshot.serve.example', 'snapshot.key');
  newKey('timestamp.serve.example', 'timestamp.key');
  vouch(
    'repo',
    'init',
    'repo',
    '--name',
    'serve-test',
    '--root-key',
    'root.key',
    '--root-threshold',
    '1',
    '--release-vkey',
    releaseVkey,
    '--approver-vkey',
    approverVkey,
    '--snapshot-key',
    'snapshot.key',
    '--timestamp-key',
    'timestamp.key',
  );
  writeFileSync(join(dir, 'repo', 'public', 'hello.txt'), 'hello from the repository\n');
  // A data site with one tenant and one endpoint credential.
  vouch('site', 'init', 'site', '--site', 'ch-zrh', '--registry-key', 'root.key');
  vouch('site', 'add-tenant', 'site', '--tenant', 'sakura-kk', '--country', 'JP');
  token = vouch('site', 'add-endpoint', 'site', '--tenant', 'sakura-kk', '--endpoint', 'jp-host-1').trim();

  writeFileSync(
    join(dir, 'vouch.yaml'),
    [
      '# vouch serve, end-to-end test',
      'listen: 127.0.0.1:0',
      'metrics: true',
      'shutdown_grace_seconds: 5',
      'log:',
      '  dir: log',
      'witness:',
      '  dir: witness',
      'repository:',
      '  dir: repo',
      'site:',
      '  dir: site',
      'dashboard:',
      '',
    ].join('\n'),
  );
  server = await startServe(['--config', 'vouch.yaml']);
  base = server.url.replace(/\/$/, '');
});

after(async () => {
  await server?.stop();
  stopAll();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('a bad configuration is refused naming the file and the key', () => {
  writeFileSync(join(dir, 'bad.yaml'), 'listen: 127.0.0.1:0\nsite:\n  dir: 5\n');
  writeFileSync(join(dir, 'tabs.yaml'), 'listen: 127.0.0.1:0\nsite:\n\tdir: site\n');
  const bad = runServe(['--config', 'bad.yaml']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad\.yaml: site\.dir: expected a folder path/);
  const tabs = runServe(['--config', 'tabs.yaml']);
  assert.equal(tabs.status, 2);
  assert.match(tabs.stderr, /tabs\.yaml:3:1: a tab/);
  const missing = runServe(['--config', 'nowhere.yaml']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /the configuration file nowhere\.yaml does not exist/);
});

test('healthz and readyz', async () => {
  const health = await request('GET', '/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(JSON.parse(health.text), { status: 'ok' });
  const ready = await request('GET', '/readyz');
  assert.equal(ready.status, 200, ready.text);
  assert.deepEqual(JSON.parse(ready.text), {
    ready: true,
    services: { log: 'ready', witness: 'ready', repository: 'ready', site: 'ready', dashboard: 'ready' },
  });
  const index = await request('GET', '/');
  assert.deepEqual(JSON.parse(index.text).services, {
    log: '/log/',
    witness: '/witness/',
    repository: '/repo/',
    site: '/site/',
    dashboard: '/dashboard/',
  });
});

test('the log under /log/: add an entry, read the checkpoint', async () => {
  const added = await request('POST', '/log/add', 'first entry\n');
  assert.equal(added.status, 200, added.text);
  const ack = JSON.parse(added.text) as { index: number; checkpoint: string };
  assert.equal(ack.index, 0);
  const read = await request('GET', '/log/checkpoint');
  assert.equal(read.status, 200);
  assert.ok(read.text.startsWith(`${origin}\n1\n`), read.text);
  checkpoint = read.text;
  assert.equal((await request('GET', '/log/tile/0/000')).status, 404, 'a full tile does not exist yet');
  assert.equal((await request('GET', '/log/tile/0/000.p/1')).status, 200);
  assert.equal((await request('GET', '/checkpoint')).status, 404, 'the log is only under its prefix');
});

test('the witness under /witness/: cosign the checkpoint, then read it back', async () => {
  assert.ok(checkpoint !== '', 'the log test ran first');
  const cosigned = await request('POST', '/witness/add-checkpoint', `old 0\n\n${checkpoint}`);
  assert.equal(cosigned.status, 200, cosigned.text);
  assert.match(cosigned.text, /^— witness\.serve\.example /);
  const hash = createHash('sha256').update(origin).digest('hex');
  const latest = await request('GET', `/witness/${hash}/checkpoint`);
  assert.equal(latest.status, 200);
  assert.ok(latest.text.startsWith(checkpoint.split('\n\n')[0] as string));
  assert.match(latest.text, /— witness\.serve\.example /);
  // The same request again is a conflict: the witness already holds size 1.
  assert.equal((await request('POST', '/witness/add-checkpoint', `old 0\n\n${checkpoint}`)).status, 409);
});

test('the repository under /repo/ serves its public folder only', async () => {
  const file = await request('GET', '/repo/hello.txt');
  assert.equal(file.status, 200);
  assert.equal(file.text, 'hello from the repository\n');
  assert.equal((await request('GET', '/repo/../repo.json')).status, 404);
  assert.equal((await request('GET', '/repo/%2e%2e/repo.json')).status, 404);
  assert.equal((await request('GET', '/repo')).status, 404); // fetch follows the 308 to /repo/, which has no index
});

test('the site gateway under /site/ stores a telemetry batch', async () => {
  const batchId = randomUUID();
  const batch = JSON.stringify({
    batchId,
    tenant: 'sakura-kk',
    endpoint: 'jp-host-1',
    events: [
      {
        kind: 'detection',
        time: '2025-03-01T08:00:00Z',
        sha256: 'a'.repeat(64),
        signature: 'Win.Test.EICAR',
        database: 'main',
        databaseVersion: '62',
      },
    ],
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const stored = await request('POST', '/site/v1/telemetry', batch, headers);
  assert.equal(stored.status, 200, stored.text);
  assert.deepEqual(JSON.parse(stored.text), { batchId, status: 'stored', count: 1 });
  const unauthenticated = await request('POST', '/site/v1/telemetry', batch, {
    'content-type': 'application/json',
  });
  assert.equal(unauthenticated.status, 401);
  const dashboard = await request('GET', '/dashboard/');
  assert.equal(dashboard.status, 200);
  assert.match(dashboard.text, /<script type="module" src="app\/faces\/dashboard\/app\.js">/);
});

test('/metrics counts those requests and the log size; requests are logged as JSON lines', async () => {
  const metrics = await request('GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.equal(metrics.type, 'text/plain; version=0.0.4; charset=utf-8');
  const text = metrics.text;
  const value = (line: string): number => {
    const found = text.split('\n').find((l) => l.startsWith(`${line} `));
    assert.ok(found !== undefined, `${line} in\n${text}`);
    return Number(found.slice(line.length + 1));
  };
  assert.equal(value('vouch_http_requests_total{service="log",method="POST",code="2xx"}'), 1);
  assert.equal(value('vouch_http_requests_total{service="log",method="GET",code="2xx"}'), 2);
  assert.equal(value('vouch_http_requests_total{service="witness",method="POST",code="2xx"}'), 1);
  assert.equal(value('vouch_http_requests_total{service="witness",method="POST",code="4xx"}'), 1);
  assert.equal(value('vouch_http_requests_total{service="site",method="POST",code="2xx"}'), 1);
  assert.equal(value('vouch_http_requests_total{service="site",method="POST",code="4xx"}'), 1);
  assert.equal(value('vouch_http_requests_total{service="healthz",method="GET",code="2xx"}'), 1);
  assert.equal(value('vouch_log_tree_size'), 1);
  assert.equal(value('vouch_log_sequencing'), 1);
  assert.equal(value('vouch_site_tenants'), 1);
  assert.ok(value('vouch_http_request_duration_seconds_count{service="log"}') >= 4);
  assert.ok(value('process_resident_memory_bytes') > 0);
  assert.match(text, /# TYPE vouch_http_request_duration_seconds histogram\n/);
  assert.match(text, /# HELP vouch_http_requests_total /);

  const lines = (server?.stderr() ?? '')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const add = lines.find((l) => l['msg'] === 'request' && l['path'] === '/log/add');
  assert.ok(add !== undefined);
  assert.equal(add['status'], 200);
  assert.equal(add['service'], 'log');
  assert.equal(typeof add['ms'], 'number');
});

test('SIGTERM: the services close and the process exits 0', async () => {
  const running = server;
  assert.ok(running !== undefined);
  const exited = new Promise<number | null>((resolve) => running.child.once('exit', (code) => resolve(code)));
  running.child.kill('SIGTERM');
  assert.equal(await exited, 0, running.stderr());
  assert.match(running.stderr(), /"msg":"shutting down"/);
  assert.match(running.stderr(), /"msg":"stopped"/);
  await assert.rejects(fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) }));
});
