/**
 * A bounded pipeline that runs tasks concurrently but hands their results back strictly in the
 * order the items were pulled, so that a scan's output does not depend on which file (or which
 * YARA worker) finishes first. Two bounds keep memory flat however long the source: at most
 * `concurrency` tasks run at once (a running scan task may hold a whole file), and at most
 * `window` items are pulled but not yet delivered (a finished task waits there, holding only its
 * result, while an earlier one runs). The source is pulled lazily, one item at a time, only when
 * both bounds leave room, and a finished head is delivered before the next pull, so with a
 * concurrency of 1 the source never runs ahead of what has been reported.
 *
 * It deliberately does not cancel running tasks when something fails: a task's failure, or a
 * throw from `deliver`, is thrown to the caller when its turn comes (earlier results are
 * delivered first); the pipeline then stops pulling and closes the source, and tasks still
 * running finish on their own with their outcomes dropped. (clients/log/ahead.ts `inOrderAhead`
 * is the same idea for a synchronous source and one bound; services cannot import clients.)
 */

import { VouchError } from '../../core/errors.ts';

/** OrderedBounds bound {@link runInOrder}. */
export interface OrderedBounds {
  /** concurrency is how many tasks may run at once (an integer ≥ 1). */
  readonly concurrency: number;
  /** window is how many items may be pulled and not yet delivered (an integer ≥ 1; raised to `concurrency`). */
  readonly window: number;
}

/** Pending is one pulled item: its result once known, or the task still running. */
interface Pending<R> {
  settled: boolean;
  failed: boolean;
  value: R | undefined;
  error: unknown;
}

/**
 * runInOrder pulls `source` and calls `run` on each item. A `run` that returns a promise is a task
 * and counts against `bounds.concurrency` until it settles; any other return value is a result at
 * once, which takes no task slot (a scan uses that for entries the walk itself reports). Each
 * result is passed to `deliver` in pull order, as soon as it and every earlier one are known.
 * Resolves when the source is exhausted and everything has been delivered; rejects with the
 * first failure in pull order (of `run`, `deliver` or the source). Throws `invalid-argument` for
 * bounds that are not positive integers.
 */
export async function runInOrder<T, R>(
  source: AsyncIterator<T>,
  run: (item: T) => R | Promise<R>,
  deliver: (result: R) => void,
  bounds: OrderedBounds,
): Promise<void> {
  const { concurrency } = bounds;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new VouchError('invalid-argument', 'the concurrency bound must be a positive integer', {
      field: 'concurrency',
    });
  if (!Number.isSafeInteger(bounds.window) || bounds.window < 1)
    throw new VouchError('invalid-argument', 'the window bound must be a positive integer', {
      field: 'window',
    });
  const window = Math.max(bounds.window, concurrency);
  const pending: Pending<R>[] = [];
  let running = 0;
  let exhausted = false;
  // wake is set while the loop waits for a running task to settle.
  let wake: (() => void) | undefined;
  const settle = (entry: Pending<R>, failed: boolean, value: R | undefined, error: unknown): void => {
    entry.settled = true;
    entry.failed = failed;
    entry.value = value;
    entry.error = error;
    running--;
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  try {
    for (;;) {
      // Deliver every finished result at the head, in order.
      for (let head = pending[0]; head?.settled === true; head = pending[0]) {
        pending.shift();
        if (head.failed) throw head.error;
        deliver(head.value as R);
      }
      if (!exhausted && running < concurrency && pending.length < window) {
        const next = await source.next();
        if (next.done === true) {
          exhausted = true;
          continue;
        }
        const entry: Pending<R> = { settled: false, failed: false, value: undefined, error: undefined };
        pending.push(entry);
        let outcome: R | Promise<R>;
        try {
          outcome = run(next.value);
        } catch (error) {
          entry.settled = true;
          entry.failed = true;
          entry.error = error;
          continue;
        }
        if (outcome instanceof Promise) {
          running++;
          outcome.then(
            (value) => settle(entry, false, value, undefined),
            (error: unknown) => settle(entry, true, undefined, error),
          );
        } else {
          entry.settled = true;
          entry.value = outcome;
        }
        continue;
      }
      if (pending.length === 0) return;
      // The head is still running, and no more may start: wait for any task to settle.
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } catch (error) {
    if (!exhausted) await source.return?.();
    throw error;
  }
}
