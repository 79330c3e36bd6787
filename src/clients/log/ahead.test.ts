import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { inOrderAhead } from './ahead.ts';

// A loader whose loads finish in the order the test releases them.
function gatedLoader() {
  let inFlight = 0;
  let maxInFlight = 0;
  const started: number[] = [];
  const gates = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  const load = (item: number): Promise<string> => {
    started.push(item);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<string>((resolve, reject) => {
      gates.set(item, {
        resolve: (v) => {
          inFlight--;
          resolve(v);
        },
        reject: (e) => {
          inFlight--;
          reject(e);
        },
      });
    });
  };
  return { load, started, gates, maxInFlight: () => maxInFlight };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('results come back in order whatever order loads finish in, within the window', async () => {
  const { load, gates, maxInFlight } = gatedLoader();
  const got: [number, string][] = [];
  const consumer = (async () => {
    for await (const pair of inOrderAhead([0, 1, 2, 3, 4, 5, 6, 7], load, 3)) got.push(pair);
  })();
  for (const order of [2, 1, 0, 5, 4, 3, 7, 6]) {
    while (!gates.has(order)) await tick();
    gates.get(order)?.resolve(`v${order}`);
    await tick();
  }
  await consumer;
  assert.deepEqual(
    got,
    [0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i, `v${i}`]),
  );
  assert.ok(maxInFlight() <= 3, `at most 3 in flight, saw ${maxInFlight()}`);
});

test('a failed load surfaces at its turn, and nothing escapes unhandled', async () => {
  const { load, gates } = gatedLoader();
  const got: number[] = [];
  const consumer = (async () => {
    for await (const [item] of inOrderAhead([0, 1, 2, 3], load, 2)) got.push(item);
  })();
  while (!gates.has(1)) await tick();
  gates.get(1)?.reject(new Error('boom'));
  await tick();
  gates.get(0)?.resolve('ok');
  await assert.rejects(consumer, /boom/);
  assert.deepEqual(got, [0]);
});

test('the window must be a positive integer', async () => {
  const run = async (window: number) => {
    for await (const _ of inOrderAhead([1], async (x) => x, window)) {
      // nothing
    }
  };
  await assert.rejects(run(0), (e) => isVouchError(e, 'invalid-argument'));
  await assert.rejects(run(1.5), (e) => isVouchError(e, 'invalid-argument'));
  await run(1);
});

test('an infinite source is read lazily', async () => {
  function* naturals() {
    for (let i = 0; ; i++) yield i;
  }
  const got: number[] = [];
  for await (const [item] of inOrderAhead(naturals(), async (x) => x, 4)) {
    got.push(item);
    if (got.length === 10) break;
  }
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
