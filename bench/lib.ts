/**
 * The benchmark harness: each figure is measured beside a baseline in the same run, on the same
 * machine, and reported as medians with the ratio. Benchmarks never fail on timing; they are
 * for reading, not for gating CI.
 */

import { performance } from 'node:perf_hooks';

/** Figure is one measured quantity with the baseline it is judged against. */
export interface Figure {
  /** suite groups related figures in RESULTS.md. */
  readonly suite: string;
  readonly name: string;
  /** unit of `value` and `baseline.value`, for example "ops/s" or "ms". */
  readonly unit: string;
  /** higherIsBetter says how to read the ratio (throughput vs latency). */
  readonly higherIsBetter: boolean;
  readonly value: number;
  readonly baseline: { readonly name: string; readonly value: number };
  /** goal, if any, is the target stated in the issue that asked for the figure. */
  readonly goal?: string;
  readonly note?: string;
}

/** Suite is one benchmark module's entry point. */
export interface Suite {
  readonly name: string;
  run(options: SuiteOptions): Promise<Figure[]>;
}

/** SuiteOptions: `quick` shrinks every workload so the whole run finishes in seconds (used in CI). */
export interface SuiteOptions {
  readonly quick: boolean;
}

/**
 * opsPerSecond runs `body` (which performs `opsPerCall` operations) repeatedly for about
 * `seconds`, in `rounds` rounds, and returns the median rate over rounds. A warm-up round is
 * discarded so the JIT has settled.
 */
export async function opsPerSecond(
  body: () => unknown | Promise<unknown>,
  {
    opsPerCall = 1,
    seconds = 0.5,
    rounds = 5,
  }: { opsPerCall?: number; seconds?: number; rounds?: number } = {},
): Promise<number> {
  const rates: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    let ops = 0;
    const start = performance.now();
    const deadline = start + (seconds * 1000) / rounds;
    let now = start;
    do {
      const r = body();
      if (r instanceof Promise) await r;
      ops += opsPerCall;
      now = performance.now();
    } while (now < deadline);
    if (round > 0) rates.push((ops * 1000) / (now - start));
  }
  return median(rates);
}

/** durationMs runs `body` `rounds` times (after one warm-up) and returns the median wall time in ms. */
export async function durationMs(body: () => unknown | Promise<unknown>, rounds = 3): Promise<number> {
  const times: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const start = performance.now();
    const r = body();
    if (r instanceof Promise) await r;
    if (round > 0) times.push(performance.now() - start);
  }
  return median(times);
}

/** median of a non-empty list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** ratio expresses a figure against its baseline so that above 1 is always better. */
export function ratio(figure: Figure): number {
  return figure.higherIsBetter ? figure.value / figure.baseline.value : figure.baseline.value / figure.value;
}
