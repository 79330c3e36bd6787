/**
 * The short, bounded load run of CI (issue 10, Load): each HTTP service — the log's `POST add`,
 * the witness's `POST add-checkpoint`, the repository's static files, the site gateway's
 * `POST /v1/telemetry` — as its `vouch ... serve` child process on 127.0.0.1:0, measured
 * closed-loop for about a second, then driven open-loop at twice that rate for 2.5 s (and at
 * twice that again when nothing was shed, at most twice). Each must shed with 429 or 503 carrying
 * `Retry-After`, answer nothing but 2xx, 429 and 503, drop no request, keep its peak resident
 * set under its bound, and lose nothing it acknowledged (read back afterwards through the log's
 * tiles, the witness's monitoring endpoint, the served bytes, the site's store).
 * `node bench/load/run.ts` runs the full-length version and writes bench/LOAD.md.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quickPlan, type ServiceReport } from '../../bench/load/drive.ts';
import { runLogLoad } from '../../bench/load/log.ts';
import { problems } from '../../bench/load/report.ts';
import { runSiteLoad } from '../../bench/load/site.ts';
import { runStaticLoad } from '../../bench/load/static.ts';
import { runWitnessLoad } from '../../bench/load/witness.ts';

function check(report: ServiceReport): void {
  assert.deepEqual(problems(report), []);
  const shedding = report.measured.phases.find((p) => p.tally.shed > 0);
  assert.ok(shedding !== undefined, `${report.service} shed nothing`);
  assert.equal(shedding.tally.shedWithRetryAfter, shedding.tally.shed);
  for (const phase of report.measured.phases) {
    for (const status of phase.tally.statuses.keys()) {
      assert.ok(status < 500 || status === 503, `${report.service} answered ${status}`);
    }
  }
  assert.ok(report.acknowledged > 0, `${report.service} acknowledged nothing`);
  assert.equal(report.lost, 0);
}

test('the log sheds POST add past its capacity and loses no acknowledged entry', async () => {
  check(await runLogLoad(quickPlan));
});

test('the witness sheds add-checkpoint past its capacity and keeps every cosigned size', async () => {
  check(await runWitnessLoad(quickPlan, { logs: 512, steps: 24 }));
});

test('the repository sheds file reads past its capacity and serves only exact bytes', async () => {
  check(await runStaticLoad(quickPlan));
});

test('the site gateway sheds telemetry past its capacity and stores every acknowledged event', async () => {
  check(await runSiteLoad(quickPlan));
});
