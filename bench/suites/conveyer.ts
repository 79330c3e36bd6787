/**
 * The build conveyer's own overhead per build of examples/hello: `runBuild` end to end (input
 * check, sandbox, packing, manifest, provenance and its signature, durable writes) against the
 * same step run bare with execFile(`/bin/sh build.sh`) in the same run, rounds interleaved. The
 * overhead is the difference of the medians (goal from issue 5: under 100 ms). The sandbox probe
 * is timed on its own line, since a long-running conveyer probes once, not per build.
 * LIMIT: the provenance is not yet appended to a log, so there is no log-append line.
 */

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { createSigner, generateKey } from '../../src/core/crypto/index.ts';
import { runBuild } from '../../src/services/conveyer/build.ts';
import { probeSandbox } from '../../src/services/conveyer/sandbox.ts';
import { type Figure, median, type Suite } from '../lib.ts';

const run = promisify(execFile);
const example = resolve(import.meta.dirname, '../../examples/hello');
const epoch = 1_700_000_000;

export const conveyer: Suite = {
  name: 'conveyer',
  async run({ quick }) {
    const rounds = quick ? 1 : 10;
    const signer = createSigner('bench', generateKey('ed25519'));
    const work = await mkdtemp(join(tmpdir(), 'vouch-bench-conveyer-'));
    try {
      const probeStart = performance.now();
      const probe = await probeSandbox();
      const probeMs = performance.now() - probeStart;

      let n = 0;
      const bare = async () => {
        const out = join(work, `bare-${n++}`);
        await mkdir(out);
        await run('/bin/sh', ['build.sh'], {
          cwd: example,
          env: {
            PATH: '/usr/bin:/bin',
            HOME: work,
            TZ: 'UTC',
            LC_ALL: 'C.UTF-8',
            SOURCE_DATE_EPOCH: String(epoch),
            VOUCH_SRC: example,
            VOUCH_OUT: out,
            VOUCH_INPUTS: join(example, 'vendor'),
          },
        });
      };
      const conveyed = async () => {
        await runBuild({
          recipePath: join(example, 'recipe.json'),
          sourceDir: example,
          outDir: join(work, `build-${n++}`),
          signer,
          builderId: 'https://vouch.example/builders/bench',
          sourceDateEpoch: epoch,
          probe,
        });
      };
      const timed = async (body: () => Promise<void>) => {
        const start = performance.now();
        await body();
        return performance.now() - start;
      };
      // One warm-up of each, then interleaved rounds so drift hits both alike.
      await bare();
      await conveyed();
      const bareTimes: number[] = [];
      const buildTimes: number[] = [];
      for (let i = 0; i < rounds; i++) {
        bareTimes.push(await timed(bare));
        buildTimes.push(await timed(conveyed));
      }
      const bareMs = median(bareTimes);
      const buildMs = median(buildTimes);
      const figures: Figure[] = [
        {
          suite: 'Build conveyer',
          name: `build of examples/hello (${probe.isolation}, hermetic: ${probe.hermetic})`,
          unit: 'ms',
          higherIsBetter: false,
          value: buildMs,
          baseline: { name: 'the same step bare (execFile /bin/sh build.sh)', value: bareMs },
          goal: 'overhead under 100 ms',
          note: `overhead per build ${(buildMs - bareMs).toFixed(1)} ms (median of ${rounds} rounds each)`,
        },
        {
          suite: 'Build conveyer',
          name: `sandbox probe (${probe.isolation})`,
          unit: 'ms',
          higherIsBetter: false,
          value: probeMs,
          baseline: { name: 'the same step bare', value: bareMs },
          note: 'once per conveyer process, not per build',
        },
      ];
      return figures;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};
