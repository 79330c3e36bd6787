/**
 * The update repository under SIGKILL (issue 10, faults), on a real repository written by
 * services/repo with a witnessed release log (test/support/update-fixture.ts):
 *
 * - `vouch repo serve` (a child process) is killed at a seeded random moment while a fresh agent
 *   updates from it. The agent either completes or fails closed: outcome `failed` with code
 *   `unavailable` and a message naming the connection failure, and nothing half-installed (every
 *   installed key has a complete current version; a failed first run installs nothing). Once the
 *   server is back on its port, the next update installs everything.
 * - `vouch repo publish` (publish-child.ts: the CLI's publishRepository with the test's log) is
 *   killed mid-publish — at a random moment, or just before or after the release log answers its
 *   k-th append — for three successive releases. After every kill an agent that updates from the
 *   public folder sees either the previous release or the new one, complete, and never fails; a
 *   re-run of the publish completes the release (or finds it already published), and the agent
 *   then installs it; a fresh agent installs the final state from scratch.
 *
 * The seed is printed; VOUCH_FAULT_SEED repeats a run.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AgentStatus } from '../../src/clients/agent/status.ts';
import { preparePendingTargets, signPending } from '../../src/services/repo/pending.ts';
import { stageProduct } from '../../src/services/repo/stage.ts';
import { readDatabase } from '../../src/services/rules/compile.ts';
import { freePort } from '../support/fault-world.ts';
import { type RunningVouch, startVouchServer, stopAll } from '../support/processes.ts';
import { makeProductBuild, writeKey } from '../support/release-fixture.ts';
import { startUpdateFixture, type UpdateFixture } from '../support/update-fixture.ts';
import { faultSeed, seededRandom, sleep } from './log-fault.ts';

const seed = faultSeed();
const random = seededRandom(seed);
const between = (low: number, high: number): number => Math.floor(low + random() * (high - low));

const fixtures: UpdateFixture[] = [];
const children = new Set<ChildProcess>();
after(async () => {
  stopAll();
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const fx of fixtures) await fx.close();
});

const childEnv: NodeJS.ProcessEnv = { ...process.env };
delete childEnv.DATABASE_URL;
delete childEnv.NODE_TEST_CONTEXT;

/**
 * checkInstalled asserts the agent's folder holds, for every key its status lists, a complete
 * current version (the product archive of that version, a rule database that opens), and for no
 * other key a current pointer.
 */
async function checkInstalled(agent: string, status: AgentStatus, label: string): Promise<void> {
  for (const [key, summary] of Object.entries(status.installed)) {
    const current = join(agent, 'installed', key, 'current');
    if (key === 'product-hello') {
      const archive = await readFile(join(current, `hello-${summary.version}.tar.gz`), 'utf8');
      assert.match(archive, new RegExp(`hello ${summary.version.replaceAll('.', '\\.')}\\n`), label);
    } else {
      const db = await readDatabase(current);
      assert.equal(String(db.database.manifest.version), summary.version, label);
    }
  }
  const keys = await readdir(join(agent, 'installed')).catch(() => [] as string[]);
  for (const key of keys) {
    if (key.startsWith('.')) continue;
    const pointer = await stat(join(agent, 'installed', key, 'current.json')).catch(() => undefined);
    assert.equal(
      pointer !== undefined,
      key in status.installed,
      `${label}: ${key} has a current pointer the status does not list (or the reverse)`,
    );
  }
}

test('repo serve: SIGKILL while an agent updates fails it closed with a clear error; nothing half-installed; the next update installs', {
  timeout: 60_000,
}, async (t) => {
  t.diagnostic(`seed ${seed} (repeat with VOUCH_FAULT_SEED=${seed})`);
  const fx = await startUpdateFixture();
  fixtures.push(fx);
  await fx.releaseProduct('hello', '1.0.0');
  await fx.releaseRules('main', 1, 20);
  const port = await freePort();
  const start = (): Promise<RunningVouch> =>
    startVouchServer(['repo', 'serve', fx.repo, '--listen', `127.0.0.1:${port}`], fx.dir);
  let server = await start();
  const outcomes: string[] = [];
  for (let trial = 0; trial < 4; trial++) {
    const agent = await fx.makeAgent({ repository: `http://127.0.0.1:${port}/` });
    const killAt = between(0, 60);
    const updating = fx.update(agent);
    await sleep(killAt);
    server.child.kill('SIGKILL');
    await once(server.child, 'exit');
    const status = await updating;
    const label = `trial ${trial} (killed ${killAt} ms in)`;
    if (status.outcome === 'failed') {
      assert.equal(status.error?.code, 'unavailable', `${label}: ${JSON.stringify(status.error)}`);
      assert.match(
        status.error?.message ?? '',
        /ECONNREFUSED|ECONNRESET|fetch failed|socket|connect|terminated|closed/i,
        `${label}: the message does not name the connection failure: ${status.error?.message}`,
      );
      assert.deepEqual(status.changed, [], `${label}: a failed run reports no change`);
    }
    await checkInstalled(agent, status, `${label} after the kill`);
    outcomes.push(status.outcome === 'failed' ? `failed (${status.error?.message})` : status.outcome);
    server = await start();
    const again = await fx.update(agent);
    assert.notEqual(
      again.outcome,
      'failed',
      `${label}: the update after the restart: ${JSON.stringify(again.error)}`,
    );
    assert.equal(again.installed['product-hello']?.version, '1.0.0');
    assert.equal(again.installed['rules-main']?.version, '1');
    await checkInstalled(agent, again, `${label} after the restart`);
    t.diagnostic(`${label}: ${outcomes.at(-1)}; then ${again.outcome}`);
  }
  await server.stop();
});

test('repo publish: SIGKILL mid-publish never leaves a public folder an agent accepts wrongly; a re-run completes', {
  timeout: 90_000,
}, async (t) => {
  t.diagnostic(`seed ${seed} (repeat with VOUCH_FAULT_SEED=${seed})`);
  const fx = await startUpdateFixture();
  fixtures.push(fx);
  await fx.releaseProduct('hello', '1.0.0');
  await fx.releaseRules('main', 1, 20);
  const snapshotKey = await writeKey(fx.dir, fx.parties.snapshot);
  const timestampKey = await writeKey(fx.dir, fx.parties.timestamp);

  // The release log over loopback; `onAppend` lets a trial kill the publisher around an append.
  let appends = 0;
  let onAppend: ((n: number, phase: 'before' | 'after') => void) | undefined;
  const logServer = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const n = ++appends;
      onAppend?.(n, 'before');
      const proof = await fx.releaseLog.append(new Uint8Array(Buffer.concat(chunks)));
      res.writeHead(200).end(proof);
      onAppend?.(n, 'after');
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => logServer.listen(0, '127.0.0.1', resolve));
  const logUrl = `http://127.0.0.1:${(logServer.address() as AddressInfo).port}/append`;
  after(() => new Promise<void>((resolve) => logServer.close(() => resolve())));

  const publish = (): { child: ChildProcess; lines: () => string; exited: Promise<number | null> } => {
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, 'publish-child.ts'),
        fx.repo,
        snapshotKey,
        timestampKey,
        logUrl,
        String(fx.now),
      ],
      { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.add(child);
    let text = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    return { child, lines: () => text, exited };
  };

  const agent = await fx.makeAgent();
  const first = await fx.update(agent);
  assert.equal(first.outcome, 'installed', JSON.stringify(first.error));
  let installed = '1.0.0';
  let kills = 0;
  for (const [n, version] of ['1.0.1', '1.0.2', '1.0.3'].entries()) {
    const buildDir = join(fx.dir, 'builds', `crash-hello-${version}`);
    const build = await makeProductBuild(fx.parties, buildDir, 'hello', version);
    await stageProduct(fx.repo, { buildDir, rebuilds: [...build.rebuilds], review: build.review });
    await preparePendingTargets(fx.repo, fx.now);
    await signPending(fx.repo, 'targets', fx.parties.release.signer);
    await signPending(fx.repo, 'targets', fx.parties.approver.signer);
    const tries = 1 + (random() < 0.5 ? 1 : 0);
    for (let k = 0; k < tries; k++) {
      const run = publish();
      const label = `release ${version}, kill ${k}`;
      let how: string;
      appends = 0;
      if (random() < 0.5) {
        const at = between(1, 5);
        const phase = random() < 0.5 ? 'before' : 'after';
        how = `at append ${at} (${phase} the log answered)`;
        onAppend = (count, p) => {
          if (count === at && p === phase) run.child.kill('SIGKILL');
        };
      } else {
        const ms = between(0, 400);
        how = `${ms} ms after it started publishing`;
        onAppend = undefined;
        void (async () => {
          for (let i = 0; i < 500 && !run.lines().includes('publishing'); i++) await sleep(2);
          await sleep(ms);
          run.child.kill('SIGKILL');
        })();
      }
      const code = await run.exited;
      onAppend = undefined;
      // Whatever the kill left, an agent sees the previous release or the new one, complete.
      const status = await fx.update(agent);
      assert.notEqual(status.outcome, 'failed', `${label} ${how}: ${JSON.stringify(status.error)}`);
      const now = status.installed['product-hello']?.version;
      assert.ok(now === installed || now === version, `${label}: installed ${now}`);
      await checkInstalled(agent, status, label);
      installed = now as string;
      kills += code === null ? 1 : 0;
      t.diagnostic(
        `${label}: SIGKILL ${how}, ${code === null ? 'killed' : `exited ${code} first`}, ${appends} appends; agent: ${status.outcome} ${now}`,
      );
    }
    // The re-run completes the release, or finds it already published.
    const rerun = publish();
    const code = await rerun.exited;
    if (installed === version) {
      assert.ok(code === 0 || /nothing to publish/.test(rerun.lines()), rerun.lines());
    } else {
      assert.equal(code, 0, `the re-run of release ${version}: ${rerun.lines()}`);
    }
    const done = await fx.update(agent);
    assert.notEqual(done.outcome, 'failed', JSON.stringify(done.error));
    assert.equal(
      done.installed['product-hello']?.version,
      version,
      `release ${n} is installed after the re-run`,
    );
    await checkInstalled(agent, done, `release ${version} after the re-run`);
    installed = version;
  }
  const fresh = await fx.makeAgent();
  const all = await fx.update(fresh);
  assert.equal(all.outcome, 'installed', JSON.stringify(all.error));
  assert.equal(all.installed['product-hello']?.version, '1.0.3');
  await checkInstalled(fresh, all, 'a fresh agent');
  t.diagnostic(`${kills} publishes killed; the log holds ${fx.log.size} entries`);
});
