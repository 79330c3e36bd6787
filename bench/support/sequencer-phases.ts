/**
 * Where a sequencing round's time goes: `node bench/support/sequencer-phases.ts [BATCH] [SECONDS]`
 * runs a real Log (as the log-sequencer suite does) with its stores wrapped in timing decorators,
 * and prints the median duration of each step of a round — the SQLite sequence commit, the gap
 * before the tile writes (integration), the tile and bundle writes, signing, the checkpoint swap,
 * the checkpoint publish, the prune, and the gap until the next round (acknowledgements and the
 * next adds). It is an investigation aid for the sequencer (src/services/log/log.ts), not a suite:
 * its numbers are not written to RESULTS.md. Gaps are main-thread work between awaited steps.
 */

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Log } from '../../src/services/log/log.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';
import { openSqlite } from '../../src/storage/sqlite/database.ts';
import { SqliteCasStore } from '../../src/storage/sqlite/sqlite-cas.ts';
import { SqliteSequenceStore } from '../../src/storage/sqlite/sqlite-sequence.ts';
import { median } from '../lib.ts';
import { benchEntry, benchOrigin, logSigner, makeTempDir, removeDir } from './log-folder.ts';

/** Span is one timed call of a store method. */
interface Span {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** timed wraps every method of `target` so each call (sync or async) is recorded as a span named `prefix.method`. */
function timed<T extends object>(target: T, prefix: string, spans: Span[]): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const start = performance.now();
        const record = (): void => {
          spans.push({ name: `${prefix}.${String(property)}`, start, end: performance.now() });
        };
        const result: unknown = value.apply(object, args);
        if (result instanceof Promise) return result.finally(record);
        record();
        return result;
      };
    },
  });
}

/** roundSteps splits the spans into rounds (one per sequence commit) and measures each step. */
function roundSteps(spans: readonly Span[]): Map<string, number[]> {
  const steps = new Map<string, number[]>();
  const note = (step: string, ms: number): void => {
    steps.set(step, [...(steps.get(step) ?? []), ms]);
  };
  const commits = spans.filter((s) => s.name === 'sequence.sequence').sort((a, b) => a.start - b.start);
  for (let r = 0; r + 1 < commits.length; r++) {
    const commit = commits[r] as Span;
    const nextRound = (commits[r + 1] as Span).start;
    const inRound = spans.filter((s) => s.start >= commit.start && s.start < nextRound);
    const one = (name: string): Span | undefined => inRound.find((s) => s.name === name);
    const puts = inRound.filter((s) => s.name === 'files.put');
    const [next, replace, publish, prune] = [
      one('sequence.next'),
      one('checkpoint.replace'),
      one('files.publish'),
      one('sequence.prune'),
    ];
    if (next === undefined || replace === undefined || publish === undefined || prune === undefined) continue;
    if (puts.length === 0) continue;
    const putsStart = Math.min(...puts.map((s) => s.start));
    const putsEnd = Math.max(...puts.map((s) => s.end));
    note('sequence commit (SQLite, on the event loop)', commit.end - commit.start);
    note('integration (gap before the writes)', putsStart - next.end);
    note('tile and bundle writes (all files, wall time)', putsEnd - putsStart);
    note('files written', puts.length);
    note('signing (gap before the swap)', replace.start - putsEnd);
    note('checkpoint swap (SQLite, on the event loop)', replace.end - replace.start);
    note('checkpoint publish (durable file)', publish.end - publish.start);
    note('prune (SQLite, on the event loop)', prune.end - prune.start);
    note('acknowledgements and next adds (gap)', nextRound - prune.end);
    note('whole round', nextRound - commit.start);
  }
  return steps;
}

async function main(): Promise<void> {
  const batchSize = Number(process.argv[2] ?? '256');
  const seconds = Number(process.argv[3] ?? '3');
  const dir = await makeTempDir('phases');
  const spans: Span[] = [];
  const db = openSqlite(join(dir, 'state.db'));
  try {
    const log = await Log.open({
      origin: benchOrigin,
      signer: logSigner(),
      files: timed(new FsBlobStore(join(dir, 'tiles')), 'files', spans),
      checkpoint: timed(new SqliteCasStore(db).cell('log/checkpoint'), 'checkpoint', spans),
      sequence: timed(new SqliteSequenceStore(db, benchOrigin), 'sequence', spans),
      batchSize,
      batchAgeMs: 50,
    });
    const entries = Array.from({ length: 4096 }, (_, i) => benchEntry(i, 256));
    const end = performance.now() + seconds * 1000;
    let added = 0;
    await Promise.all(
      Array.from({ length: 4 * batchSize }, async () => {
        while (performance.now() < end) await log.add(entries[added++ % entries.length] as Uint8Array);
      }),
    );
    await log.close();
    const steps = roundSteps(spans);
    const rounds = steps.get('whole round')?.length ?? 0;
    const files = median(steps.get('files written') ?? [0]);
    steps.delete('files written');
    process.stdout.write(
      `batch ${batchSize}: ${added} entries, ${rounds} complete rounds, ${files} files a round; median ms per round:\n`,
    );
    for (const [step, values] of steps)
      process.stdout.write(`  ${median(values).toFixed(3).padStart(8)}  ${step}\n`);
  } finally {
    db.close();
    await removeDir(dir);
  }
}

if (import.meta.main) await main();
