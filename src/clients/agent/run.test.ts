import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextDelay, runLoop } from './run.ts';
import type { AgentStatus } from './status.ts';

const timing = { intervalMs: 3_600_000, jitterMs: 300_000, maxBackoffMs: 21_600_000 };

function status(
  outcome: AgentStatus['outcome'],
  consecutiveFailures = 0,
  retryAfterMs?: number,
): AgentStatus {
  return {
    startedAt: '',
    finishedAt: '',
    outcome,
    metadata: {},
    installed: {},
    changed: [],
    requests: 0,
    bytes: 0,
    ms: 0,
    consecutiveFailures,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

test('nextDelay: interval plus jitter after a success', () => {
  assert.equal(nextDelay(status('unchanged'), timing, 0), 3_600_000);
  assert.equal(nextDelay(status('installed'), timing, 0.5), 3_750_000);
});

test('nextDelay: exponential backoff after failures, capped', () => {
  assert.equal(nextDelay(status('failed', 1), timing, 0), 60_000);
  assert.equal(nextDelay(status('failed', 2), timing, 0), 120_000);
  assert.equal(nextDelay(status('failed', 5), timing, 0), 960_000);
  assert.equal(nextDelay(status('failed', 100), timing, 0), 21_600_000);
});

test('nextDelay: Retry-After is honoured up to the cap', () => {
  assert.equal(nextDelay(status('failed', 1, 600_000), timing, 0), 600_000);
  assert.equal(nextDelay(status('failed', 1, 10 ** 12), timing, 0), 21_600_000);
});

test('runLoop: bounded by maxRuns, sleeping the computed delays', async () => {
  const slept: number[] = [];
  const outcomes: AgentStatus[] = [status('failed', 1), status('failed', 2), status('installed')];
  let i = 0;
  const runs = await runLoop({
    update: async () => outcomes[i++] ?? status('unchanged'),
    timing,
    maxRuns: 3,
    signal: new AbortController().signal,
    random: () => 0,
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
  assert.equal(runs, 3);
  assert.deepEqual(slept, [60_000, 120_000]);
});

test('runLoop: the stop signal ends the loop during a wait', async () => {
  const controller = new AbortController();
  let runs = 0;
  const done = runLoop({
    update: async () => {
      runs++;
      return status('unchanged');
    },
    timing,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 20);
  assert.equal(await done, 1);
  assert.equal(runs, 1);
});
