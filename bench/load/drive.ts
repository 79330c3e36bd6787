/**
 * One load run of one service, the same for every service: measure its capacity with closed-loop
 * runs (the best rate of 2xx answers among a few concurrencies whose p99 stays under a bound),
 * then offer `multiplier` × that rate open-loop for a bounded time while sampling the server's
 * memory, and tally what came back. The drivers (log.ts, witness.ts, static.ts, site.ts) set the
 * service up, say what to send, record what was acknowledged, and check afterwards that none of
 * it was lost; this file only measures.
 */

import { type Answer, closedLoop, openLoop, percentile, type Shot, type Tally } from './generator.ts';
import { type MemorySample, sampleMemory } from './server.ts';

/** LoadPlan sizes a run: the CI test uses a short one, `bench/load/run.ts` the full one. */
export interface LoadPlan {
  /** concurrencies tried by the closed-loop capacity runs. */
  readonly concurrencies: readonly number[];
  readonly capacityWarmupSeconds: number;
  readonly capacitySeconds: number;
  /** maxCapacityP99Ms: a concurrency whose p99 is above this does not count as capacity ("sane latency"). */
  readonly maxCapacityP99Ms: number;
  /** multiplier × capacity is the offered open-loop rate. */
  readonly multiplier: number;
  readonly loadSeconds: number;
  /** maxSockets bounds the open loop's connections (and so what the server can see in flight). */
  readonly maxSockets: number;
  readonly timeoutMs: number;
  /** maxRate caps the offered rate (the generator shares the machine with the server). */
  readonly maxRate: number;
  /**
   * escalations: when the run at `multiplier` × capacity shed nothing (the capacity was measured
   * low on a noisy machine), it is followed by one at twice that rate, up to this many times.
   */
  readonly escalations: number;
}

/** fullPlan is `npm run load`'s plan: 10 s at 2× capacity per service. */
export const fullPlan: LoadPlan = {
  concurrencies: [16, 64, 256],
  capacityWarmupSeconds: 0.5,
  capacitySeconds: 3,
  maxCapacityP99Ms: 250,
  multiplier: 2,
  loadSeconds: 10,
  maxSockets: 4096,
  timeoutMs: 15_000,
  maxRate: 40_000,
  escalations: 2,
};

/** quickPlan is the CI plan: the same shape, about 2.5 s at 2× capacity per service. */
export const quickPlan: LoadPlan = {
  concurrencies: [32],
  capacityWarmupSeconds: 0.3,
  capacitySeconds: 1,
  maxCapacityP99Ms: 250,
  multiplier: 2,
  loadSeconds: 2.5,
  maxSockets: 4096,
  timeoutMs: 15_000,
  maxRate: 40_000,
  escalations: 2,
};

/** Target is what a driver hands {@link measure}: where, what to send, and who records answers. */
export interface Target {
  readonly url: string;
  /** pid is the server process, whose memory is sampled. */
  readonly pid: number;
  readonly next: (i: number) => Shot | undefined;
  readonly onAnswer: (shot: Shot, answer: Answer) => void;
}

/** Capacity is the closed-loop result chosen as the service's capacity. */
export interface Capacity {
  readonly rate: number;
  readonly concurrency: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** shed counts the 429 and 503 answers in the measuring window. */
  readonly shed: number;
}

/** Phase is one open-loop run: its offered rate, what came back, and the server's memory meanwhile. */
export interface Phase {
  readonly offeredRate: number;
  readonly seconds: number;
  readonly tally: Tally & { readonly elapsedMs: number };
  readonly memory: MemorySample;
}

/** Measured is everything {@link measure} found: the first phase is at `multiplier` × capacity. */
export interface Measured {
  readonly capacity: Capacity;
  readonly capacityRuns: readonly Capacity[];
  readonly phases: readonly Phase[];
}

/** measure runs the capacity runs, then the open loop at `multiplier` × capacity; see the module comment. */
export async function measure(target: Target, plan: LoadPlan): Promise<Measured> {
  const runs: Capacity[] = [];
  for (const concurrency of plan.concurrencies) {
    const run = await closedLoop({
      url: target.url,
      concurrency,
      warmupSeconds: plan.capacityWarmupSeconds,
      seconds: plan.capacitySeconds,
      maxRequests: 1_000_000,
      timeoutMs: plan.timeoutMs,
      next: target.next,
      onAnswer: target.onAnswer,
    });
    if (process.env['VOUCH_LOAD_DEBUG'] === '1')
      process.stderr.write(
        `capacity c=${concurrency} rate=${run.rate.toFixed(0)} p50=${percentile(run.latenciesMs, 50).toFixed(1)} p99=${percentile(run.latenciesMs, 99).toFixed(1)} statuses=${[...run.statuses]}\n`,
      );
    runs.push({
      rate: run.rate,
      concurrency,
      p50Ms: percentile(run.latenciesMs, 50),
      p99Ms: percentile(run.latenciesMs, 99),
      shed: run.shed,
    });
  }
  const sane = runs.filter((r) => r.p99Ms <= plan.maxCapacityP99Ms);
  const pool = sane.length > 0 ? sane : runs;
  const capacity = pool.reduce((best, r) => (r.rate > best.rate ? r : best));
  const phases: Phase[] = [];
  let offeredRate = Math.max(1, Math.min(plan.maxRate, Math.round(capacity.rate * plan.multiplier)));
  for (let round = 0; round <= plan.escalations; round++) {
    const memory = sampleMemory(target.pid);
    let sample: MemorySample | undefined;
    try {
      const tally = await openLoop({
        url: target.url,
        ratePerSecond: offeredRate,
        seconds: plan.loadSeconds,
        maxSockets: plan.maxSockets,
        timeoutMs: plan.timeoutMs,
        next: target.next,
        onAnswer: target.onAnswer,
      });
      sample = memory.stop();
      phases.push({ offeredRate, seconds: plan.loadSeconds, tally, memory: sample });
      if (tally.shed > 0 || offeredRate >= plan.maxRate) break;
    } finally {
      if (sample === undefined) memory.stop();
    }
    offeredRate = Math.min(plan.maxRate, offeredRate * 2);
  }
  return { capacity, capacityRuns: runs, phases };
}

/** ServiceReport is one service's row set in bench/LOAD.md. */
export interface ServiceReport {
  readonly service: string;
  /** endpoint is what was driven, such as `POST /add`. */
  readonly endpoint: string;
  readonly measured: Measured;
  /** acknowledged counts what the service acknowledged over the whole run (capacity runs included). */
  readonly acknowledged: number;
  /** what names the unit acknowledged and checked (entries, cosigned checkpoints, ...). */
  readonly what: string;
  /** lost counts acknowledged items not found afterwards; it must be 0. */
  readonly lost: number;
  /** memoryBoundKiB is the stated bound on the server's peak resident set. */
  readonly memoryBoundKiB: number;
  /** notes explain anything else (errors, skipped requests). */
  readonly notes: readonly string[];
}
