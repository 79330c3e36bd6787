/**
 * Test support: `vouch` as a user runs it — one-shot commands, and servers as child processes
 * whose URL is read from their "serving ... at URL/" log line. Every server started here is
 * killed by {@link stopAll}, which suites call in an `after` hook.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const vouchJs = join(import.meta.dirname, '..', '..', 'bin', 'vouch.js');
const children = new Set<ChildProcess>();

/** vouchEnv is the environment children get: no passphrase prompt, no ambient database. */
function vouchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, VOUCH_PASSPHRASE: '' };
  delete env.DATABASE_URL;
  return env;
}

/** runVouch runs one command to completion and returns its exit status and output. */
export function runVouch(
  args: readonly string[],
  cwd: string,
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [vouchJs, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: vouchEnv(),
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** vouchOk runs a command that must succeed and returns its standard output. */
export function vouchOk(args: readonly string[], cwd: string): string {
  const r = runVouch(args, cwd);
  assert.equal(r.status, 0, `vouch ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** RunningVouch is a server started by {@link startVouchServer}. */
export interface RunningVouch {
  readonly url: string;
  readonly child: ChildProcess;
  /** stderr is everything the server has logged so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** startVouchServer starts `vouch ARGS...` and resolves once it logs "serving ... at URL/". */
export async function startVouchServer(args: readonly string[], cwd: string): Promise<RunningVouch> {
  const child = spawn(process.execPath, [vouchJs, ...args], {
    cwd,
    env: vouchEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`vouch ${args.join(' ')} did not start: ${log}`)),
      20_000,
    );
    const check = (): void => {
      const match = /serving [^\n]* at (http:\/\/[^\s"]+\/)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`vouch ${args.join(' ')} exited ${code}: ${log}`));
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

/** stopAll kills every server still running. */
export function stopAll(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
}
