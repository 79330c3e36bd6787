/**
 * The log's write API over HTTP on loopback (issue 3, Performance): sustained adds per second
 * with durable acknowledgement from N concurrent keep-alive clients, and the add latency p50 and
 * p99 at 1,000 entries/s offered on an open-loop schedule — each against a bare node:http server
 * that reads the body and answers 200 with nothing else, loaded the same way in the same run.
 * The log server is a LogService on a fresh folder behind createLogHandler and serve(), wired as
 * `vouch log serve` wires it, with the default configuration (batches of 256, 10 ms batch age).
 * Both servers run in child processes, so the load generator does not share their event loop.
 */

import { type Figure, median, type Suite } from '../lib.ts';
import { withServerPair } from '../support/child.ts';
import { interleave } from '../support/interleave.ts';
import { closedLoop, type LoadRequest, type LoadTarget, openLoop, percentile } from '../support/load.ts';
import { benchEntry, makeTempDir, removeDir } from '../support/log-folder.ts';

const entrySize = 256;
const batchSize = 256;
const batchAgeMs = 10;
const suiteName = 'Transparency log: adds over HTTP';

const entries = Array.from({ length: 4096 }, (_, i) => benchEntry(i, entrySize));
const nextAdd = (i: number): LoadRequest => ({
  method: 'POST',
  path: '/add',
  body: entries[i % entries.length] as Uint8Array,
});

function failures(label: string, runs: readonly { readonly failed: number }[]): string {
  const failed = runs.reduce((sum, r) => sum + r.failed, 0);
  return failed === 0 ? '' : ` ${label}: ${failed} requests failed or were refused.`;
}

interface Plan {
  readonly rounds: number;
  readonly closed: { readonly warmupSeconds: number; readonly seconds: number; readonly maxRequests: number };
  readonly open: {
    readonly ratePerSecond: number;
    readonly warmupSeconds: number;
    readonly seconds: number;
    readonly maxSockets: number;
  };
}

/** throughput measures adds/s at `concurrency` clients, the log and the bare server in alternating rounds. */
async function throughput(
  log: LoadTarget,
  bare: LoadTarget,
  concurrency: number,
  plan: Plan,
): Promise<Figure> {
  const options = { ...plan.closed, concurrency, next: nextAdd };
  const runs = await interleave(
    plan.rounds,
    () => closedLoop(log, options),
    () => closedLoop(bare, options),
  );
  return {
    suite: suiteName,
    name: `adds/s acknowledged durably, ${concurrency} clients`,
    unit: 'adds/s',
    higherIsBetter: true,
    value: median(runs.measured.map((r) => r.rate)),
    baseline: {
      name: `bare node:http, ${concurrency} clients`,
      value: median(runs.baseline.map((r) => r.rate)),
    },
    goal: '≥ 10,000 adds/s and ≥ 0.5 × baseline',
    note:
      `${concurrency} keep-alive connections each POST a ${entrySize}-byte entry and wait for the answer ` +
      `(median of ${plan.rounds} rounds); the log batches up to ${batchSize} entries and waits up to ` +
      `${batchAgeMs} ms for a batch to fill.` +
      failures('log', runs.measured) +
      failures('bare', runs.baseline),
  };
}

/** latency measures p50 and p99 on an open-loop schedule, each request timed from when it was due. */
async function latency(log: LoadTarget, bare: LoadTarget, plan: Plan): Promise<Figure[]> {
  const options = { ...plan.open, next: nextAdd };
  const runs = await interleave(
    plan.rounds,
    () => openLoop(log, options),
    () => openLoop(bare, options),
  );
  const logMs = runs.measured.flatMap((r) => r.latenciesMs);
  const bareMs = runs.baseline.flatMap((r) => r.latenciesMs);
  const offered = `${plan.open.ratePerSecond.toLocaleString('en-US')}/s offered`;
  return [
    {
      suite: suiteName,
      name: `add latency p50 at ${offered}`,
      unit: 'ms',
      higherIsBetter: false,
      value: percentile(logMs, 50),
      baseline: { name: 'bare node:http p50, same schedule', value: percentile(bareMs, 50) },
      note:
        `${logMs.length.toLocaleString('en-US')} adds sent on a fixed schedule (open loop) in ${plan.rounds} ` +
        'rounds, each timed from when it was due to its durable acknowledgement.' +
        failures('log', runs.measured) +
        failures('bare', runs.baseline),
    },
    {
      suite: suiteName,
      name: `add latency p99 at ${offered}`,
      unit: 'ms',
      higherIsBetter: false,
      value: percentile(logMs, 99),
      baseline: { name: 'bare node:http p99, same schedule', value: percentile(bareMs, 99) },
      goal: '< 150 ms',
    },
  ];
}

export const logHttp: Suite = {
  name: 'log-http',
  async run({ quick }) {
    const plan: Plan = quick
      ? {
          // Long enough that a loaded CI machine (a first fsync can take a few hundred ms)
          // still completes some adds inside the window.
          rounds: 1,
          closed: { warmupSeconds: 0.3, seconds: 0.5, maxRequests: 50_000 },
          open: { ratePerSecond: 1000, warmupSeconds: 0.2, seconds: 0.3, maxSockets: 512 },
        }
      : {
          rounds: 5,
          closed: { warmupSeconds: 0.3, seconds: 1, maxRequests: 1_000_000 },
          open: { ratePerSecond: 1000, warmupSeconds: 0.2, seconds: 1, maxSockets: 512 },
        };
    const dir = await makeTempDir('http');
    try {
      return await withServerPair(
        { mode: 'log', args: [dir, String(batchSize), String(batchAgeMs)] },
        { mode: 'bare-sink' },
        async (log, bare) => [
          await throughput(log, bare, 256, plan),
          await throughput(log, bare, 64, plan),
          ...(await latency(log, bare, plan)),
        ],
      );
    } finally {
      await removeDir(dir);
    }
  },
};
