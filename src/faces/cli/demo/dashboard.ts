/**
 * `vouch demo --serve`: after the story, run `vouch serve --config DIR/vouch.yaml` as a child
 * process (its request log goes to DIR/serve.log), wait until its `GET /readyz` answers 200
 * (bounded), print the dashboard's address, and keep it up until SIGINT or SIGTERM; then stop
 * the child gracefully and return. The listen address is written into vouch.yaml.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VouchError } from '../../../core/errors.ts';
import { parseListen } from '../args.ts';
import { untilStopped } from '../io.ts';
import { vouchRoot } from './runner.ts';
import { writeServeConfig } from './summary.ts';

/** readyTimeoutMs bounds the wait for `/readyz`. */
const readyTimeoutMs = 30_000;

/** stopGraceMs is how long the child may take to stop after SIGTERM before it is killed. */
const stopGraceMs = 15_000;

/** serveDashboard runs the dashboard for the demo's world in `dir` until a signal; see the module comment. */
export async function serveDashboard(
  dir: string,
  listen: string,
  write: (text: string) => void,
): Promise<void> {
  const { host, port } = parseListen(listen);
  const vouchJs = join(vouchRoot, 'bin', 'vouch.js');
  const config = writeServeConfig(dir, listen);
  const args = [vouchJs, 'serve', '--config', config];
  const logFile = join(dir, 'serve.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const probeHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const base = `http://${probeHost.includes(':') ? `[${probeHost}]` : probeHost}:${port}`;
  const stopped = untilStopped();
  try {
    await waitReady(`${base}/readyz`, exited, logFile);
  } catch (error) {
    await stop(child, exited);
    throw error;
  }
  const shown = host.includes(':') ? `[${host}]` : host;
  write(`Dashboard: http://${shown}:${port}/dashboard/ (Ctrl-C to stop)\n`);
  const why = await Promise.race([
    stopped.then(() => 'signal' as const),
    exited.then(() => 'exited' as const),
  ]);
  if (why === 'exited') {
    throw new VouchError('unavailable', `demo: vouch serve stopped on its own; see ${logFile}`);
  }
  await stop(child, exited);
}

async function waitReady(url: string, exited: Promise<number | null>, logFile: string): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (gone) break;
    try {
      const answer = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = `${answer.status} ${(await answer.text()).trim().slice(0, 300)}`;
      if (answer.status === 200) return;
    } catch {
      last = 'no answer';
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-10).join('\n  ');
  throw new VouchError(
    'unavailable',
    `demo: vouch serve ${gone ? 'exited' : `was not ready within ${readyTimeoutMs / 1000} s`} (${url}: ${last}); ${logFile}:\n  ${tail}`,
  );
}

/** stop ends the child: it has usually had the terminal's SIGINT already; else SIGTERM, then SIGKILL. */
async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const within = (ms: number): Promise<boolean> =>
    Promise.race([
      exited.then(() => true),
      new Promise<boolean>((done) => setTimeout(() => done(false), ms).unref()),
    ]);
  if (await within(1_000)) return;
  child.kill('SIGTERM');
  if (await within(stopGraceMs)) return;
  child.kill('SIGKILL');
  await exited;
}
