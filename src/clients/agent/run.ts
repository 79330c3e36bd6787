/**
 * `agent run`: update runs one after another, forever or a bounded number of times, stoppable.
 * After a success the next run is one interval later plus a random jitter (so a fleet of
 * endpoints does not hit the repository in lockstep); after a failure it is sooner, with
 * exponential backoff — the first retry after one minute (or the interval, if shorter), doubling
 * with each further failure up to the configured cap — plus jitter; when the repository answered
 * 429/503 with `Retry-After`, the next run is no sooner than that (up to the cap). Stopping (the
 * signal, from SIGINT/SIGTERM) interrupts a wait at once and an update at its next request; the
 * loop then returns. Clock, randomness and sleeping are injected so tests run without waiting.
 */

import type { AgentStatus } from './status.ts';

/** RunTiming is the loop's schedule, in milliseconds. */
export interface RunTiming {
  readonly intervalMs: number;
  readonly jitterMs: number;
  readonly maxBackoffMs: number;
}

/** RunLoopOptions configures {@link runLoop}. */
export interface RunLoopOptions {
  /** update runs one update and returns its status (it records failures; it should not throw). */
  readonly update: (signal: AbortSignal) => Promise<AgentStatus>;
  readonly timing: RunTiming;
  /** maxRuns stops after that many runs (default: unbounded). */
  readonly maxRuns?: number;
  readonly signal: AbortSignal;
  /** random returns a number in [0, 1) (default Math.random). */
  readonly random?: () => number;
  /** sleep waits `ms` or until the signal aborts (default: a timer). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** onRun is told each run's status and the delay before the next. */
  readonly onRun?: (status: AgentStatus, nextDelayMs: number | undefined) => void;
}

/** firstBackoffMs is the delay before the first retry after a failure, when the interval is longer. */
export const firstBackoffMs = 60_000;

/**
 * nextDelay returns the wait in milliseconds after a run with this status: see the module comment.
 * `random` is a number in [0, 1).
 */
export function nextDelay(status: AgentStatus, timing: RunTiming, random: number): number {
  const jitter = Math.floor(random * timing.jitterMs);
  if (status.outcome !== 'failed') return timing.intervalMs + jitter;
  const failures = Math.max(1, status.consecutiveFailures);
  const base = Math.min(firstBackoffMs, timing.intervalMs);
  const backoff = Math.min(timing.maxBackoffMs, base * 2 ** Math.min(failures - 1, 40));
  const retryAfter = Math.min(timing.maxBackoffMs, status.retryAfterMs ?? 0);
  return Math.max(backoff, retryAfter) + jitter;
}

/** runLoop runs updates until `maxRuns` or the signal; it returns the number of runs made. */
export async function runLoop(options: RunLoopOptions): Promise<number> {
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;
  let runs = 0;
  while (!options.signal.aborted) {
    const status = await options.update(options.signal);
    runs++;
    const last = options.maxRuns !== undefined && runs >= options.maxRuns;
    const delay = last ? undefined : nextDelay(status, options.timing, random());
    options.onRun?.(status, delay);
    if (delay === undefined || options.signal.aborted) break;
    await sleep(delay, options.signal);
  }
  return runs;
}

/** abortableSleep resolves after `ms`, or at once when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
