/**
 * The servers `bench/load` drives: `vouch` itself, as an operator runs it, in a child process on
 * 127.0.0.1 port 0 (never another address), with its URL read from the "serving ... at URL/"
 * line it logs; one-shot `vouch` commands for the set-up; and a sampler of the child's memory
 * from /proc (Linux): resident set size every few milliseconds, and the kernel's own high-water
 * mark (VmHWM), which no sample can miss. A child is stopped with SIGTERM and, past a deadline,
 * SIGKILL — by its own process id, so no run leaves a server behind.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const vouchJs = join(import.meta.dirname, '..', '..', 'bin', 'vouch.js');
const startTimeoutMs = 30_000;
const stopTimeoutMs = 20_000;
const keptLogBytes = 64 * 1024;

function vouchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, VOUCH_PASSPHRASE: '' };
  delete env['DATABASE_URL'];
  return env;
}

/** vouch runs one `vouch` command in `cwd` to completion and returns its standard output; a failure throws. */
export function vouch(cwd: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [vouchJs, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: vouchEnv(),
  });
  if (r.status !== 0) throw new Error(`vouch ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** VouchServer is a running `vouch ... serve` child. */
export interface VouchServer {
  /** url is its base URL, without the trailing slash. */
  readonly url: string;
  readonly pid: number;
  /** log returns the last 64 KiB it logged. */
  log(): string;
  /** stop ends it (SIGTERM, then SIGKILL past 20 s) and resolves with its exit code or signal. */
  stop(): Promise<string>;
}

/** startVouch starts `vouch ARGS...` in `cwd` and resolves once it logs where it serves. */
export async function startVouch(cwd: string, args: readonly string[]): Promise<VouchServer> {
  const child: ChildProcess = spawn(process.execPath, [vouchJs, ...args], {
    cwd,
    env: vouchEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-keptLogBytes);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? String(code)));
  });
  const stop = async (): Promise<string> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), stopTimeoutMs);
    });
    const outcome = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') child.kill('SIGKILL');
    return exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`vouch ${args.join(' ')} did not start: ${log}`)),
        startTimeoutMs,
      );
      child.stderr?.on('data', () => {
        const match = /serving [^\n]* at (http:\/\/127\.0\.0\.1:\d+)\//.exec(log);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match[1] as string);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`vouch ${args.join(' ')} exited ${code}: ${log}`));
      });
    });
    return { url, pid: child.pid as number, log: () => log, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** MemorySample is what {@link sampleMemory} saw of a process. */
export interface MemorySample {
  /** peakRssKiB is the largest resident set sampled. */
  readonly peakRssKiB: number;
  /** highWaterKiB is the kernel's peak resident set of the process's whole life (VmHWM). */
  readonly highWaterKiB: number;
  readonly samples: number;
}

function statusKiB(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/** sampleMemory samples `pid`'s resident set every `intervalMs` until the returned `stop` is called. */
export function sampleMemory(pid: number, intervalMs = 50): { stop(): MemorySample } {
  let peak = statusKiB(pid, 'VmRSS');
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, statusKiB(pid, 'VmRSS'));
    samples++;
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, statusKiB(pid, 'VmRSS'));
      return { peakRssKiB: peak, highWaterKiB: statusKiB(pid, 'VmHWM'), samples: samples + 1 };
    },
  };
}

/**
 * fetchPatiently GETs `url`, waiting out 503 and 429 answers (their `Retry-After`, at most
 * 2 s each) up to 30 times: the checks after a run may meet a server still shedding its backlog.
 */
export async function fetchPatiently(url: string): Promise<{ status: number; bytes: Uint8Array }> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
    const bytes = new Uint8Array(await response.arrayBuffer());
    if ((response.status !== 503 && response.status !== 429) || attempt >= 30) {
      return { status: response.status, bytes };
    }
    const seconds = Number(response.headers.get('retry-after') ?? '1');
    await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 1000 * seconds)));
  }
}
