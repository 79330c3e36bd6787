/**
 * The benchmarks still run: `npm run bench -- --quick` shrinks every workload, and each figure
 * must come with a positive baseline measured in the same run. Timing is never asserted.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ratio } from '../bench/lib.ts';
import { suites } from '../bench/suites/index.ts';

test('every benchmark suite runs in quick mode and reports figures with baselines', async () => {
  for (const suite of suites) {
    const figures = await suite.run({ quick: true });
    assert.ok(figures.length > 0, `${suite.name} reported no figures`);
    for (const figure of figures) {
      assert.ok(figure.value > 0 && Number.isFinite(figure.value), `${figure.name}: value ${figure.value}`);
      assert.ok(figure.baseline.value > 0, `${figure.name}: baseline ${figure.baseline.value}`);
      assert.ok(Number.isFinite(ratio(figure)));
    }
  }
});
