/**
 * The log's sequencer alone, in process (issue 3, Performance): entries integrated per second
 * with durable tiles, entry bundles and checkpoint — a real Log on a temporary folder (tiles as
 * files through FsBlobStore, sequencing state and checkpoint cell in SQLite with synchronous=FULL)
 * fed by many concurrent add() calls — against appending the same bytes to one file with an fsync
 * per batch of the same size, the disk's own limit for that batch size. The two are measured in
 * alternating rounds (see support/interleave.ts).
 */

import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { concatBytes } from '../../src/core/bytes/index.ts';
import { formatEntryBundle } from '../../src/core/tlog/entry-bundle.ts';
import type { Log } from '../../src/services/log/log.ts';
import { type Figure, median, type Suite } from '../lib.ts';
import { interleave } from '../support/interleave.ts';
import { benchEntry, makeTempDir, openFolderLog, removeDir } from '../support/log-folder.ts';

const entrySize = 256;
const suiteName = 'Transparency log: sequencer, in process';

interface Window {
  readonly warmupSeconds: number;
  readonly seconds: number;
}

/**
 * integrationRate keeps `concurrency` add() calls in flight on `log` for one window and returns
 * the entries acknowledged per second inside it; it returns once every call has settled.
 */
async function integrationRate(
  log: Log,
  entries: readonly Uint8Array[],
  concurrency: number,
  window: Window,
): Promise<number> {
  const measureFrom = performance.now() + window.warmupSeconds * 1000;
  const end = measureFrom + window.seconds * 1000;
  let added = 0;
  let acknowledged = 0;
  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      await log.add(entries[added++ % entries.length] as Uint8Array);
      const now = performance.now();
      if (now >= measureFrom && now < end) acknowledged++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return (acknowledged * 1000) / (end - measureFrom);
}

/** appendRate appends `batch` to `file` with an fsync each time for one window; entries per second. */
async function appendRate(file: FileHandle, batch: Uint8Array, batchSize: number, window: Window) {
  const measureFrom = performance.now() + window.warmupSeconds * 1000;
  const end = measureFrom + window.seconds * 1000;
  let appended = 0;
  for (let now = performance.now(); now < end; now = performance.now()) {
    await file.write(batch);
    await file.sync();
    if (now >= measureFrom) appended += batchSize;
  }
  // Start the next round on an empty file, so the run never fills the disk.
  await file.truncate(0);
  return (appended * 1000) / (performance.now() - measureFrom);
}

export const logSequencer: Suite = {
  name: 'log-sequencer',
  async run({ quick }) {
    const rounds = quick ? 1 : 5;
    const window: Window = quick ? { warmupSeconds: 0.05, seconds: 0.2 } : { warmupSeconds: 0.2, seconds: 1 };
    const entries = Array.from({ length: 4096 }, (_, i) => benchEntry(i, entrySize));
    const figures: Figure[] = [];
    for (const batchSize of [256, 1024]) {
      // The bytes the log's entry bundles hold for one batch, 256 entries per bundle.
      const batch = concatBytes(
        ...Array.from({ length: batchSize / 256 }, (_, b) =>
          formatEntryBundle(entries.slice(b * 256, (b + 1) * 256)),
        ),
      );
      const dir = await makeTempDir('sequencer');
      try {
        const opened = await openFolderLog(join(dir, 'log'), { batchSize, batchAgeMs: 50 });
        const file = await open(join(dir, 'append'), 'a');
        try {
          const rates = await interleave(
            rounds,
            () => integrationRate(opened.log, entries, 4 * batchSize, window),
            () => appendRate(file, batch, batchSize, window),
          );
          figures.push({
            suite: suiteName,
            name: `entries integrated/s, batch ${batchSize}`,
            unit: 'entries/s',
            higherIsBetter: true,
            value: median(rates.measured),
            baseline: { name: `append ${batchSize} entries + fsync`, value: median(rates.baseline) },
            goal: '≥ 0.25 × baseline',
            note:
              `${entrySize}-byte entries, ${4 * batchSize} add() calls in flight, median of ${rounds} rounds ` +
              'alternating with the baseline. A round commits the batch in SQLite, writes tiles and bundles ' +
              'durably (temporary file, fsync, link, directory fsync), signs the checkpoint, swaps it in ' +
              'SQLite, publishes the checkpoint file durably and prunes; the baseline appends the same ' +
              'framed bytes to one file with one fsync per batch.',
          });
        } finally {
          await file.close();
          await opened.close();
        }
      } finally {
        await removeDir(dir);
      }
    }
    return figures;
  },
};
