/**
 * Starting and stopping the benchmark servers of server-child.ts as child processes. A child is
 * given a bounded time to come up and to stop; past that it is killed by its process id, so a
 * benchmark never leaves a server behind, even when it fails half-way.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { ChildMessage, ChildMode } from './server-child.ts';

const script = join(import.meta.dirname, 'server-child.ts');
const startTimeoutMs = 20_000;
const stopTimeoutMs = 20_000;

/** ServerChild is a running server child: its base URL (no trailing slash) and how to stop it. */
export interface ServerChild {
  readonly url: string;
  /** stop asks the child to close its server (and log) and waits for it to exit; it kills it past a deadline. */
  stop(): Promise<void>;
}

/**
 * startServerChild forks server-child.ts in `mode` with `args` and resolves once it listens.
 * Set VOUCH_BENCH_CHILD_ARGS (for example `--cpu-prof --cpu-prof-dir=/tmp/prof`) to pass Node
 * options to the child when investigating where its time goes.
 */
export async function startServerChild(mode: ChildMode, args: readonly string[] = []): Promise<ServerChild> {
  const extra = process.env['VOUCH_BENCH_CHILD_ARGS'];
  const child = fork(script, [mode, ...args], {
    execArgv: extra === undefined || extra === '' ? [] : extra.split(' '),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`bench: the ${mode} server did not start`)),
        startTimeoutMs,
      );
      child.once('message', (message: ChildMessage) => {
        clearTimeout(timer);
        if ('ready' in message) resolve(message.ready);
        else reject(new Error(`bench: the ${mode} server failed: ${message.failed}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bench: the ${mode} server exited with ${code}`));
      });
    });
    return { url, stop: () => stopChild(child, exited) };
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (child.connected) child.send('stop');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), stopTimeoutMs);
  });
  const outcome = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** ChildSpec names a server child to start: its mode and arguments. */
export interface ChildSpec {
  readonly mode: ChildMode;
  readonly args?: readonly string[];
}

/**
 * withServerPair starts two server children side by side (the measured server and its baseline),
 * runs `body` with them, and stops both afterwards, whether `body` returns or throws.
 */
export async function withServerPair<T>(
  first: ChildSpec,
  second: ChildSpec,
  body: (first: ServerChild, second: ServerChild) => Promise<T>,
): Promise<T> {
  const started = await Promise.allSettled([
    startServerChild(first.mode, first.args),
    startServerChild(second.mode, second.args),
  ]);
  try {
    const [a, b] = started;
    if (a?.status !== 'fulfilled') throw a?.reason;
    if (b?.status !== 'fulfilled') throw b?.reason;
    return await body(a.value, b.value);
  } finally {
    for (const s of started) if (s.status === 'fulfilled') await s.value.stop();
  }
}
