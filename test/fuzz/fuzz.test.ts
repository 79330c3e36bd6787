/**
 * The short fuzzing run for CI: every target of ./targets.ts for VOUCH_FUZZ_RUNS inputs (default
 * 300; the whole suite takes a few seconds), from a fresh fast-check seed each run unless
 * VOUCH_FUZZ_SEED fixes one. A failure prints the shrunk input as base64 and the command that
 * replays it. The long run is scripts/fuzz.ts (`npm run fuzz`).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCrash, runTarget, targets } from './targets.ts';

const runs = Number(process.env['VOUCH_FUZZ_RUNS'] ?? 300);
const seedText = process.env['VOUCH_FUZZ_SEED'];
const seed = seedText === undefined ? undefined : Number(seedText);

test('fuzz: VOUCH_FUZZ_RUNS and VOUCH_FUZZ_SEED are integers', () => {
  assert.ok(Number.isSafeInteger(runs) && runs > 0, `VOUCH_FUZZ_RUNS=${process.env['VOUCH_FUZZ_RUNS']}`);
  assert.ok(seed === undefined || Number.isSafeInteger(seed), `VOUCH_FUZZ_SEED=${seedText}`);
});

test('fuzz: target names are unique', () => {
  assert.equal(new Set(targets.map((t) => t.name)).size, targets.length);
});

for (const target of targets) {
  test(`fuzz ${target.name}: a value or a VouchError, never another throw or a slow call; round trips hold`, async () => {
    const result = await runTarget(target, { runs, ...(seed === undefined ? {} : { seed }) });
    if (result.crash !== undefined) assert.fail(formatCrash(target.name, result.crash));
    assert.equal(result.runs, runs);
  });
}
