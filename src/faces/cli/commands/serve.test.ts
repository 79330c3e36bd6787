import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCommand } from '../../../../test/support/cli.ts';
import { parseServeConfig } from '../../../core/config/serve-config.ts';
import { testingOnlyRequest } from '../../http/http.ts';
import { createRouter, stripPrefix } from '../../http/router.ts';
import type { CliIo } from '../io.ts';
import { serveCommand, startServe } from './serve.ts';

let work = '';
let logged = '';
const io: CliIo = {
  env: {},
  stdinIsTerminal: false,
  readStdin: async () => new Uint8Array(),
  stdout: () => undefined,
  stderr: (text) => {
    logged += text;
  },
};

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'vouch-serve-'));
  await mkdir(join(work, 'reports'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

const config = (text: string) => parseServeConfig(new TextEncoder().encode(text), 'vouch.yaml');

test('stripPrefix and createRouter: prefixes, bare-prefix redirects, the fallback', async () => {
  const echo = stripPrefix('/site/', async (r) => ({ status: 200, body: r.path }));
  const router = createRouter([{ name: 'site', prefix: '/site/', handler: echo }], async () => ({
    status: 418,
  }));
  const answer = await router(testingOnlyRequest('GET', '/site/v1/telemetry?x=1'));
  assert.equal(answer.body, '/v1/telemetry');
  assert.equal((await router(testingOnlyRequest('GET', '/site/'))).body, '/');
  const bare = await router(testingOnlyRequest('GET', '/site'));
  assert.equal(bare.status, 308);
  assert.equal(bare.headers?.['location'], '/site/');
  assert.equal((await router(testingOnlyRequest('GET', '/sites/x'))).status, 418);
  assert.equal((await echo(testingOnlyRequest('GET', '/other/'))).status, 404);
});

test('the dashboard is served under /dashboard/, and readyz reports a missing reports folder (the reason only in the log)', async () => {
  const instance = await startServe(config('listen: 127.0.0.1:0\ndashboard:\n  reports: reports\n'), {
    baseDir: work,
    io,
  });
  try {
    const page = await fetch(`${instance.url}/dashboard/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Vouch — transparency center<\/title>/);
    const world = (await (await fetch(`${instance.url}/dashboard/data/world.json`)).json()) as {
      reports: unknown[];
    };
    assert.deepEqual(world.reports, []);
    assert.equal((await fetch(`${instance.url}/readyz`)).status, 200);
  } finally {
    await instance.close();
  }
  const missing = await startServe(config('listen: 127.0.0.1:0\ndashboard:\n  reports: gone\n'), {
    baseDir: work,
    io,
  });
  try {
    const ready = await fetch(`${missing.url}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { ready: boolean; services: Record<string, string> };
    assert.equal(body.ready, false);
    assert.equal(body.services['dashboard'], 'not ready');
    assert.doesNotMatch(JSON.stringify(body), /gone/); // no paths to unauthenticated callers
    assert.match(logged, /not ready: dashboard: dashboard\.reports .*gone is not a folder/);
    assert.equal((await fetch(`${missing.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${missing.url}/metrics`)).status, 200);
  } finally {
    await missing.close();
  }
});

test('metrics: false turns /metrics off', async () => {
  const instance = await startServe(config('listen: 127.0.0.1:0\nmetrics: false\ndashboard:\n'), {
    baseDir: work,
    io,
  });
  try {
    assert.equal((await fetch(`${instance.url}/metrics`)).status, 404);
  } finally {
    await instance.close();
  }
});

test('shutdown lets an in-flight request finish, within the grace period', async () => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered: () => void = () => undefined;
  const inside = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const instance = await startServe(config('listen: 127.0.0.1:0\nshutdown_grace_seconds: 30\ndashboard:\n'), {
    baseDir: work,
    io,
    dashboard: () => async () => {
      entered();
      await held;
      return { status: 200, body: 'finished\n' };
    },
  });
  const slow = fetch(`${instance.url}/dashboard/slow`);
  await inside;
  let closed = false;
  const closing = instance.close().then(() => {
    closed = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closed, false, 'close waits for the open request');
  release();
  const response = await slow;
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'finished\n');
  await closing;
  assert.equal(closed, true);
});

test('shutdown cuts a request that outlives the grace period', async () => {
  let entered: () => void = () => undefined;
  const inside = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const instance = await startServe(config('listen: 127.0.0.1:0\nshutdown_grace_seconds: 1\ndashboard:\n'), {
    baseDir: work,
    io,
    dashboard: () => () => {
      entered();
      return new Promise(() => undefined); // never answers
    },
  });
  const stuck = fetch(`${instance.url}/dashboard/stuck`).then(
    () => 'answered',
    () => 'cut',
  );
  await inside;
  const started = Date.now();
  await instance.close();
  const took = Date.now() - started;
  assert.ok(took >= 900 && took < 5_000, `closed after ${took} ms`);
  assert.equal(await stuck, 'cut');
  assert.match(logged, /still open after 1 s/);
});

test('vouch serve refuses a bad configuration naming the file and key, before opening anything', async () => {
  const file = join(work, 'bad.yaml');
  await writeFile(file, 'listen: 127.0.0.1:0\nlog:\n  dir: log\n  datbase_url: x\n');
  const run = await runCommand(serveCommand, ['--config', file]);
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /bad\.yaml: log\.datbase_url: expected no such key \(expected dir, database_url\)/,
  );
  const missing = await runCommand(serveCommand, []);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing --config/);
  const folder = join(work, 'nolog.yaml');
  await writeFile(folder, 'listen: 127.0.0.1:0\nlog:\n  dir: no-such-log\n');
  const absent = await runCommand(serveCommand, ['--config', folder]);
  assert.notEqual(absent.code, 0);
});

test('examples/vouch.yaml parses, and docs/serve.md shows it as it is', async () => {
  const root = join(import.meta.dirname, '..', '..', '..', '..');
  const example = await readFile(join(root, 'examples', 'vouch.yaml'), 'utf8');
  const parsed = config(example);
  assert.deepEqual(parsed.listen, { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(
    ['log', 'witness', 'repository', 'site', 'dashboard'].map((k) => k in parsed),
    [true, true, true, true, true],
  );
  const docs = await readFile(join(root, 'docs', 'serve.md'), 'utf8');
  assert.ok(docs.includes(`\`\`\`yaml\n${example}\`\`\``), 'docs/serve.md embeds examples/vouch.yaml');
});
