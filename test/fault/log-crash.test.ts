/**
 * The log's crash test (issue 3): `vouch log serve` runs as a child process on an embedded log
 * folder while eight clients add distinct entries concurrently over HTTP and one more polls the
 * checkpoint; the server is killed with SIGKILL at seeded random moments and restarted. The
 * kills land during load (20 to 400 ms into it), during the very first start-up, during a
 * start-up that may be recovering sequenced but unintegrated entries, and while idle.
 *
 * After every kill the folder at rest, and after every restart the server over HTTP, must hold
 * (test/fault/log-fault.ts, LogHistory.check): every acknowledged entry at its acknowledged
 * index, a checkpoint signed by the log key and consistent with every checkpoint published
 * before, every tile verifying, and no entry twice. At the end the server stops on SIGTERM and
 * `vouch log verify` checks the folder.
 *
 * The seed is printed as a test diagnostic; VOUCH_FAULT_SEED repeats a run. SIGKILL loses no
 * page cache, so this tests process crashes, not power loss (that is the fsync discipline of
 * storage/fs/durable.ts and SQLite's synchronous=FULL). It runs the embedded mode only: the
 * child's environment has no DATABASE_URL.
 *
 * A killed server's embedded lease is a process lock the operating system drops at once, so each
 * restart must be sequencing straight away: the test waits for no lease to expire.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FolderTileFetcher } from '../../src/clients/log/folder-fetcher.ts';
import { HttpTileFetcher } from '../../src/clients/log/http-fetcher.ts';
import { createCheckpointVerifier } from '../../src/core/tlog/cosignature.ts';
import {
  addLoad,
  faultSeed,
  killAllChildren,
  type LoadStats,
  LogHistory,
  type ServerProcess,
  seededRandom,
  sleep,
  startServer,
  vouchBin,
} from './log-fault.ts';

const origin = 'example.com/crash-test';
const seed = faultSeed();
const random = seededRandom(seed);
const between = (low: number, high: number): number => Math.floor(low + random() * (high - low));

let work: string | undefined;
after(async () => {
  killAllChildren();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

// The children's environment: the embedded store (no DATABASE_URL), and no test-runner context.
const childEnv: NodeJS.ProcessEnv = { ...process.env };
delete childEnv.DATABASE_URL;
delete childEnv.NODE_TEST_CONTEXT;

/** runVouch runs the CLI to completion (killing it after 30 s) and returns its exit code and output. */
function runVouch(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vouchBin, ...args], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

type Trial = 'first-start' | 'load' | 'restart' | 'idle';

test('log crash: SIGKILL at random moments never loses an acknowledged entry nor forks the log', {
  timeout: 120_000,
}, async (t) => {
  t.diagnostic(`seed ${seed} (repeat with VOUCH_FAULT_SEED=${seed})`);
  const started = Date.now();
  work = await mkdtemp(join(tmpdir(), 'vouch-crash-'));
  const dir = join(work, 'log');
  const keyPath = join(work, 'log.key');
  const keygen = await runVouch([
    'key',
    'generate',
    '--type',
    'ed25519',
    '--name',
    origin,
    '--out',
    keyPath,
    '--unencrypted',
  ]);
  assert.equal(keygen.code, 0, keygen.stderr);
  const vkey = keygen.stdout.trim();
  const init = await runVouch([
    'log',
    'init',
    '--dir',
    dir,
    '--origin',
    origin,
    '--key',
    keyPath,
    '--batch-age-ms',
    '5',
  ]);
  assert.equal(init.code, 0, init.stderr);
  assert.equal(init.stdout.trim(), vkey);

  const history = new LogHistory(createCheckpointVerifier(vkey));
  const folder = new FolderTileFetcher(join(dir, 'tiles'));
  await history.check(folder, 'after init');

  const start = async (): Promise<ServerProcess> => {
    return startServer([vouchBin, 'log', 'serve', '--dir', dir, '--listen', '127.0.0.1:0'], childEnv);
  };
  // serving waits until the server serves, and requires that it took the lease and opened the
  // log: a server that refuses to sequence after a crash has failed to recover.
  const serving = async (server: ServerProcess, label: string): Promise<string> => {
    const url = await server.serving;
    const opened = server.lines.some((line) => line.includes(`log ${origin}: sequencing from size `));
    assert.ok(opened, `${label}: the restarted server does not sequence:\n${server.lines.join('\n')}`);
    return url;
  };
  const assertRunning = (server: ServerProcess, label: string): void => {
    const { exitCode, signalCode } = server.child;
    assert.ok(
      exitCode === null && signalCode === null,
      `${label}: the server died by itself:\n${server.lines.join('\n')}`,
    );
  };
  const report = (line: string): void => t.diagnostic(line);
  const trials: Trial[] = ['first-start', 'load', 'load', 'restart', 'load', 'load', 'load', 'idle'];
  for (const [n, kind] of trials.entries()) {
    const label = `trial ${n} (${kind})`;
    const server = await start();
    if (kind === 'first-start' || kind === 'restart') {
      // Start-up takes a few hundred milliseconds; kill somewhere inside it.
      const wait = between(20, 300);
      await sleep(wait);
      const before = server.lines.some((line) => line.includes('serving log'));
      await server.kill();
      report(`${label}: killed ${wait} ms after spawn, ${before ? 'after' : 'before'} serving`);
    } else {
      const url = await serving(server, label);
      const { checkpoint } = await history.check(new HttpTileFetcher(url), `${label} after restart`);
      let stop = false;
      let wait = 0;
      let stats: LoadStats;
      if (kind === 'load') {
        wait = between(20, 400);
        const killing = sleep(wait).then(async () => {
          assertRunning(server, label);
          await server.kill();
          stop = true;
        });
        stats = await addLoad(url, history, { label, perClient: 400, stopped: () => stop });
        await killing;
      } else {
        stats = await addLoad(url, history, { label, perClient: 10 });
        assert.equal(stats.acked, stats.sent, `${label}: every add to a healthy server is acknowledged`);
        wait = between(20, 200);
        await sleep(wait);
        assertRunning(server, label);
        await server.kill();
      }
      report(
        `${label}: size ${checkpoint.size} at start, killed after ${wait} ms; sent ${stats.sent}, ` +
          `acked ${stats.acked}, 503 ${stats.pushedBack}, failed ${stats.failed}`,
      );
    }
    const rest = await history.check(folder, `${label} at rest after the kill`);
    report(
      `${label}: at rest size ${rest.checkpoint.size}, unacknowledged in the log ${rest.unacknowledged}`,
    );
  }

  // A last start: the log recovers, takes more entries, verifies, and stops cleanly on SIGTERM.
  const server = await start();
  const url = await serving(server, 'final restart');
  await history.check(new HttpTileFetcher(url), 'final restart');
  const stats = await addLoad(url, history, { label: 'final', perClient: 5 });
  assert.equal(stats.acked, 8 * 5, 'every add to a healthy server is acknowledged');
  const final = await history.check(new HttpTileFetcher(url), 'final');
  server.child.kill('SIGTERM');
  assert.deepEqual(await server.exited, { code: 0, signal: null }, server.lines.join('\n'));
  await history.check(folder, 'final at rest');

  const verify = await runVouch(['log', 'verify', '--log', join(dir, 'tiles'), '--vkey', vkey]);
  assert.equal(verify.code, 0, verify.stderr);
  const verified = JSON.parse(verify.stdout) as { size?: unknown; ok?: unknown };
  assert.equal(verified.ok, true);
  assert.equal(verified.size, Number(final.checkpoint.size));
  assert.ok(history.acks.length > 0, 'some entries were acknowledged');
  report(
    `final size ${final.checkpoint.size}, acknowledged ${history.acks.length}, checkpoints seen ` +
      `${history.seen.size}, ${Date.now() - started} ms`,
  );
});
