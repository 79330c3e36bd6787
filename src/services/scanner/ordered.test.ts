import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isVouchError } from '../../core/errors.ts';
import { runInOrder } from './ordered.ts';

/** Kind is how item i is run: a result at once, a task that succeeds, or one that fails. */
type Kind = 'now' | 'ok' | 'fail';

test('property: results come in pull order within both bounds, whatever order tasks finish in', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(fc.constantFrom<Kind>('now', 'ok', 'ok', 'ok', 'fail'), { maxLength: 30 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 8 }),
      async (s, kinds, concurrency, window) => {
        let pulled = 0;
        let running = 0;
        let closed = false;
        const delivered: number[] = [];
        async function* source(): AsyncGenerator<number> {
          try {
            for (let i = 0; i < kinds.length; i++) {
              yield i;
              pulled++;
            }
          } finally {
            closed = true;
          }
        }
        const run = (i: number): number | Promise<number> => {
          // Counted on the pull that started it.
          assert.ok(i + 1 - delivered.length <= Math.max(window, concurrency), 'window exceeded');
          if (kinds[i] === 'now') return i;
          running++;
          assert.ok(running <= concurrency, `${running} tasks running, bound ${concurrency}`);
          return s.schedule(Promise.resolve(i)).then((value) => {
            running--;
            if (kinds[value] === 'fail') throw new Error(`task ${value} failed`);
            return value;
          });
        };
        const outcome = await s.waitFor(
          runInOrder(source(), run, (i) => delivered.push(i), { concurrency, window }).then(
            () => 'done',
            (error: unknown) => (error instanceof Error ? error.message : String(error)),
          ),
        );
        await s.waitAll();
        const failed = kinds.indexOf('fail');
        if (failed === -1) {
          assert.equal(outcome, 'done');
          assert.deepEqual(
            delivered,
            kinds.map((_, i) => i),
          );
        } else {
          assert.equal(outcome, `task ${failed} failed`);
          assert.deepEqual(
            delivered,
            Array.from({ length: failed }, (_, i) => i),
          );
        }
        assert.ok(closed, 'the source was not closed');
        assert.ok(pulled <= kinds.length);
      },
    ),
    { seed: 0x0deed, numRuns: 300 },
  );
});

test('with one task at a time the source is pulled only after the previous result is delivered', async () => {
  const log: string[] = [];
  async function* source(): AsyncGenerator<number> {
    for (let i = 0; i < 4; i++) {
      log.push(`pull ${i}`);
      yield i;
    }
  }
  await runInOrder(
    source(),
    (i) => (i % 2 === 0 ? Promise.resolve(i) : i),
    (i) => log.push(`deliver ${i}`),
    { concurrency: 1, window: 64 },
  );
  assert.deepEqual(log, [
    'pull 0',
    'deliver 0',
    'pull 1',
    'deliver 1',
    'pull 2',
    'deliver 2',
    'pull 3',
    'deliver 3',
  ]);
});

test('a throw from deliver or from run stops the pipeline and closes the source', async () => {
  for (const where of ['deliver', 'run'] as const) {
    let closed = false;
    async function* source(): AsyncGenerator<number> {
      try {
        for (let i = 0; i < 100; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const delivered: number[] = [];
    await assert.rejects(
      runInOrder(
        source(),
        (i) => {
          if (where === 'run' && i === 3) throw new Error('boom');
          return Promise.resolve(i);
        },
        (i) => {
          if (where === 'deliver' && i === 3) throw new Error('boom');
          delivered.push(i);
        },
        { concurrency: 2, window: 4 },
      ),
      /boom/,
    );
    assert.deepEqual(delivered, [0, 1, 2], where);
    assert.ok(closed, where);
  }
});

test('refuses bounds that are not positive integers', async () => {
  const empty = (async function* (): AsyncGenerator<number> {
    // No items.
  })();
  for (const bounds of [
    { concurrency: 0, window: 1 },
    { concurrency: 1, window: 0 },
    { concurrency: 1.5, window: 4 },
    { concurrency: 2, window: Number.POSITIVE_INFINITY },
  ])
    await assert.rejects(
      runInOrder(
        empty,
        (i: number) => i,
        () => undefined,
        bounds,
      ),
      (e) => isVouchError(e, 'invalid-argument'),
    );
});
