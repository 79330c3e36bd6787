/**
 * Bounded read-ahead for a client that walks a log in order: start loading the next few items
 * while the current one is checked, and hand the results back strictly in order. At most
 * `window` loads are in flight or done but not yet handed out, so memory stays bounded however
 * long the walk. A load that fails is reported when its turn comes; loads started after a failure
 * still run, and their outcomes are dropped.
 */

import { VouchError } from '../../core/errors.ts';

/**
 * inOrderAhead yields `[item, await load(item)]` for each item of `items`, in order, with up to
 * `window` loads (an integer ≥ 1, else `invalid-argument`) running ahead of the consumer.
 */
export async function* inOrderAhead<T, R>(
  items: Iterable<T>,
  load: (item: T) => Promise<R>,
  window: number,
): AsyncGenerator<[T, R]> {
  if (!Number.isInteger(window) || window < 1) {
    throw new VouchError('invalid-argument', 'the read-ahead window must be a positive integer', {
      field: 'window',
    });
  }
  const source = items[Symbol.iterator]();
  const pending: { item: T; result: Promise<R> }[] = [];
  const fill = (): void => {
    while (pending.length < window) {
      const next = source.next();
      if (next.done === true) return;
      const result = load(next.value);
      // Mark the rejection handled now; it is re-thrown when the consumer reaches this item.
      result.catch(ignore);
      pending.push({ item: next.value, result });
    }
  };
  fill();
  for (let head = pending[0]; head !== undefined; head = pending[0]) {
    const value = await head.result;
    pending.shift();
    fill();
    yield [head.item, value];
  }
}

function ignore(): void {
  // Handled where the result is awaited.
}
