/**
 * Tile reads over HTTP on loopback (issue 3, Performance): GETs per second of random full hash
 * tiles and of random full entry bundles through the log's read handler (createLogHandler over an
 * FsBlobStore, behind serve()) against a bare node:http file server serving the same files from
 * the same folder, loaded the same way in the same run. Both servers run in child processes.
 */

import { type Figure, median, type Suite } from '../lib.ts';
import { withServerPair } from '../support/child.ts';
import { interleave } from '../support/interleave.ts';
import { closedLoop, type LoadTarget } from '../support/load.ts';
import { makeTempDir, removeDir } from '../support/log-folder.ts';
import { createRandom } from '../support/random.ts';
import { writeLogFolder } from '../support/tile-folder.ts';

const entrySize = 256;
const concurrency = 64;
const suiteName = 'Transparency log: tile reads over HTTP';

interface Plan {
  readonly size: number;
  readonly rounds: number;
  readonly timing: { readonly warmupSeconds: number; readonly seconds: number; readonly maxRequests: number };
}

interface Kind {
  readonly what: string;
  readonly paths: readonly string[];
  readonly bytes: number;
}

/** reads measures GETs/s of random files of one kind, the log handler and the bare server in alternating rounds. */
async function reads(mirror: LoadTarget, bare: LoadTarget, kind: Kind, plan: Plan): Promise<Figure> {
  const { what, paths, bytes } = kind;
  // The same seed gives both servers the same sequence of paths in each round.
  const load = (target: LoadTarget, round: number) => {
    const random = createRandom(0x7e1e + round);
    return closedLoop(target, {
      ...plan.timing,
      concurrency,
      next: () => ({ method: 'GET', path: `/${paths[random.below(paths.length)] as string}` }),
    });
  };
  const runs = await interleave(
    plan.rounds,
    (round) => load(mirror, round),
    (round) => load(bare, round),
  );
  const failed = [...runs.measured, ...runs.baseline].reduce((sum, r) => sum + r.failed, 0);
  return {
    suite: suiteName,
    name: `GETs/s of random ${what}`,
    unit: 'GETs/s',
    higherIsBetter: true,
    value: median(runs.measured.map((r) => r.rate)),
    baseline: { name: 'bare node:http file server', value: median(runs.baseline.map((r) => r.rate)) },
    note:
      `${concurrency} keep-alive clients over ${paths.length.toLocaleString('en-US')} files of ` +
      `${bytes.toLocaleString('en-US')} bytes in a ${plan.size.toLocaleString('en-US')}-entry log, page cache ` +
      `warm, median of ${plan.rounds} rounds.` +
      (failed === 0 ? '' : ` ${failed} requests failed.`),
  };
}

export const logTiles: Suite = {
  name: 'log-tiles',
  async run({ quick }) {
    const plan: Plan = quick
      ? { size: 8_192, rounds: 1, timing: { warmupSeconds: 0.05, seconds: 0.2, maxRequests: 50_000 } }
      : { size: 262_144, rounds: 5, timing: { warmupSeconds: 0.3, seconds: 1, maxRequests: 1_000_000 } };
    const dir = await makeTempDir('tiles');
    try {
      const folder = await writeLogFolder(dir, plan.size, entrySize);
      return await withServerPair(
        { mode: 'mirror', args: [dir] },
        { mode: 'bare-files', args: [dir] },
        async (mirror, bare) => [
          await reads(mirror, bare, { what: 'full hash tiles', paths: folder.tilePaths, bytes: 8192 }, plan),
          await reads(
            mirror,
            bare,
            { what: 'full entry bundles', paths: folder.bundlePaths, bytes: 256 * (2 + entrySize) },
            plan,
          ),
        ],
      );
    } finally {
      await removeDir(dir);
    }
  },
};
