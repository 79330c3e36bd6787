/**
 * The YARA half of issue 6's scan throughput figure, for the `rules` suite (rules.ts): `scanPaths`
 * with a database of 2,000 YARA rules holding 20,000 strings, over the suite's mixed corpus,
 * against Debian's `yara -r` and `clamscan` on the same rules exported with `vouch rules export
 * --yara`'s function. The rules are generated from a fixed seed, so every run scans for the same
 * strings; every pattern has a good fixed atom (they pass `vouch rules compile`), and they mix
 * plain, `nocase` and `wide` text, hex with wildcards, jumps and alternatives, and regular
 * expressions, all of which both tools were seen to match. A few rules also look for a text
 * that one text file of the corpus holds, so each tool must report exactly those files.
 *
 * Load time is excluded on every side: Vouch compiles the rules into its matcher before the
 * clock starts, and `yara` and `clamscan` are timed on the corpus minus their run on a 1-byte
 * file with the same rules. Whether clamscan can load the rules is measured, not assumed: if it
 * fails or loads fewer rules, the figure says "not loadable" with the reason and no value.
 * Both use their defaults: `yara` scans a folder with several threads, and Vouch runs YARA-X on
 * one worker thread per core (at most 8), reading two more files than workers at once, as
 * `vouch scan` does; `yara -p 1` is reported too.
 */

import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compileRules, readDatabase, writeDatabase } from '../../src/services/rules/compile.ts';
import { exportYara } from '../../src/services/rules/export.ts';
import { defaultYaraWorkers, startYaraMatcher } from '../../src/services/rules/yara.ts';
import { defaultScanLimits, scanPaths } from '../../src/services/scanner/scan.ts';
import { durationMs, type Figure } from '../lib.ts';
import { createRandom } from '../support/random.ts';

const run = promisify(execFile);
const mib = 1 << 20;

/** ruleCount and stringsPerRule give the 2,000 rules with 20,000 strings. */
const ruleCount = 2_000;
const stringsPerRule = 10;
/** plantedMax is the most rules that look for a text one corpus file holds. */
const plantedMax = 4;

const alphanumeric = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * generateRules returns the rules text: rule `Bench_Yara_N` has strings `$s0`..`$s9` and the
 * condition `any of them`; for each entry of `planted` (rule index → text), that rule's `$s0` is
 * the text instead of a random token.
 */
export function generateRules(planted: ReadonlyMap<number, string>): string {
  const random = createRandom(0x59a4a);
  const token = (n: number) =>
    Array.from({ length: n }, () => alphanumeric[random.below(alphanumeric.length)]).join('');
  // Hex bytes 01..FE without the filler bytes 20, 90 and CC: every run is a good atom.
  const hexRun = (n: number) =>
    Array.from({ length: n }, () => {
      for (;;) {
        const b = 1 + random.below(254);
        if (b !== 0x20 && b !== 0x90 && b !== 0xcc) return b.toString(16).toUpperCase().padStart(2, '0');
      }
    }).join(' ');
  const patterns = [
    () => `"${token(8 + random.below(9))}"`,
    () => `"${token(8 + random.below(9))}"`,
    () => `"${token(8 + random.below(9))}"`,
    () => `"${token(8 + random.below(9))}"`,
    () => `"${token(10)}" nocase`,
    () => `"${token(10)}" wide`,
    () => `{ ${hexRun(4)} ?? ?? ${hexRun(2)} }`,
    () => `{ ${hexRun(3)} [2-8] ${hexRun(4)} }`,
    () => `{ ${hexRun(4)} ( ${hexRun(2)} | ${hexRun(2)} ) ${hexRun(2)} }`,
    () => `/${token(6)}[0-9]{2,4}${token(3)}/`,
  ];
  const rules: string[] = [];
  for (let r = 0; r < ruleCount; r++) {
    const strings = patterns.slice(0, stringsPerRule).map((make, i) => {
      const value = make();
      const text = i === 0 ? planted.get(r) : undefined;
      return `    $s${i} = ${text === undefined ? value : JSON.stringify(text)}`;
    });
    rules.push(
      `rule Bench_Yara_${r} {\n  strings:\n${strings.join('\n')}\n  condition:\n    any of them\n}\n`,
    );
  }
  return rules.join('\n');
}

/** YaraBenchInput is what the rules suite shares with this part. */
export interface YaraBenchInput {
  readonly suite: string;
  readonly quick: boolean;
  readonly rounds: number;
  /** dir is a scratch folder of the suite's fixture; this part owns `dir/yara`. */
  readonly dir: string;
  readonly corpus: string;
  readonly corpusBytes: number;
  /** empty is a 1-byte file, for timing a tool's load alone. */
  readonly empty: string;
  /** clamscan runs clamscan (the suite's flags) with database `db` on `target`, returning files found. */
  readonly clamscan: ((db: string, target: string) => Promise<number>) | undefined;
}

async function hasYara(): Promise<boolean> {
  return run('yara', ['--version']).then(
    () => true,
    () => false,
  );
}

/**
 * yaraScan runs `yara -r` (with `-p 1` when `oneThread`) and returns how many (rule, file)
 * matches it printed.
 */
async function yaraScan(rules: string, target: string, oneThread = false): Promise<number> {
  const threads = oneThread ? ['-p', '1'] : [];
  const { stdout } = await run('yara', [...threads, '-r', rules, target], { maxBuffer: 64 * mib });
  return stdout.split('\n').filter((l) => l !== '').length;
}

/**
 * clamscanLoads reports whether clamscan loads all `expected` rules of the file `rules`: it runs
 * clamscan on `empty` with its summary and reads "Known viruses: N". Returns the reason if not.
 */
async function clamscanLoads(rules: string, empty: string, expected: number): Promise<string | undefined> {
  try {
    const { stdout } = await run('clamscan', ['-d', rules, empty], { maxBuffer: 16 * mib });
    const known = /Known viruses: (\d+)/.exec(stdout)?.[1];
    if (known === undefined) return 'no "Known viruses" line in its summary';
    if (Number(known) !== expected) return `loaded ${known} of ${expected} rules`;
    return undefined;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? error);
    const line = stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.split('\n')[0] ?? '';
    return `clamscan failed: ${line.trim().slice(0, 160)}`;
  }
}

/**
 * yaraScanFigures measures the YARA scan throughput of Vouch against `yara -r` and `clamscan`. In
 * quick mode a missing `yara` drops its figure; in a full run it is required.
 */
export async function yaraScanFigures(input: YaraBenchInput): Promise<Figure[]> {
  const { suite, rounds, corpus } = input;
  const figures: Figure[] = [];
  const work = join(input.dir, 'yara');
  await rm(work, { recursive: true, force: true });
  const src = join(work, 'src');
  await mkdir(src, { recursive: true });

  // Plant a text that one text file holds (corpus file i with i % 3 === 1 repeats "line i: ...").
  const names = (await readdir(corpus)).sort();
  const textFiles = names.map((_, i) => i).filter((i) => i % 3 === 1);
  const step = Math.max(1, Math.floor(textFiles.length / plantedMax));
  const chosen = textFiles.filter((_, k) => k % step === 0).slice(0, plantedMax);
  const planted = new Map(chosen.map((file, k) => [k * 499, `line ${file}: the quick brown fox`]));
  await writeFile(join(src, 'rules.json'), '{"name":"bench-yara","engine":{"min":1,"max":1}}');
  await writeFile(join(src, 'bench.yar'), generateRules(planted));
  const db = join(work, 'db');
  let compileSeconds = 0;
  await writeDatabase(
    db,
    await compileRules(src, {
      version: 1,
      created: 1_700_000_000,
      onYaraCompiled: (r) => {
        compileSeconds = r.seconds;
      },
    }),
  );
  const exported = join(work, 'bench.yar');
  await exportYara(db, exported);

  const { database } = await readDatabase(db);
  const corpusMiB = input.corpusBytes / mib;
  const what = `${corpusMiB} MiB of mixed files, ${ruleCount.toLocaleString('en-US')} YARA rules with ${(ruleCount * stringsPerRule).toLocaleString('en-US')} strings`;
  const workers = defaultYaraWorkers();
  const matcher = await startYaraMatcher(database.yara, { workers });
  let vouchMs: number;
  try {
    let detected = 0;
    vouchMs = await durationMs(async () => {
      detected = 0;
      await scanPaths(
        database.hashDb,
        [corpus],
        (e) => {
          if (e.kind === 'detection' && e.detection.kind === 'yara') detected++;
          else throw new Error(`rules bench: unexpected scan event ${JSON.stringify(e)}`);
        },
        {
          yara: matcher,
          limits: { ...defaultScanLimits, concurrency: Math.max(defaultScanLimits.concurrency, workers + 2) },
        },
      );
    }, rounds);
    if (detected !== planted.size)
      throw new Error(`rules bench: vouch found ${detected} YARA matches, expected ${planted.size}`);
  } finally {
    await matcher.close();
  }
  const vouchRate = corpusMiB / (vouchMs / 1000);
  const rate = (ms: number) => (corpusMiB / (Math.max(ms, 0.001) / 1000)).toFixed(1);

  const haveYara = await hasYara();
  if (!haveYara && !input.quick) throw new Error('rules bench: yara is required for a full run');
  if (haveYara) {
    let found = 0;
    const total = await durationMs(async () => {
      found = await yaraScan(exported, corpus);
    }, rounds);
    if (found !== planted.size)
      throw new Error(`rules bench: yara found ${found} matches, expected ${planted.size}`);
    const load = await durationMs(() => yaraScan(exported, input.empty), rounds);
    const oneThread = await durationMs(() => yaraScan(exported, corpus, true), rounds);
    figures.push({
      suite,
      name: `scan ${what} (scanPaths)`,
      unit: 'MiB/s',
      higherIsBetter: true,
      value: vouchRate,
      baseline: { name: 'yara -r (Debian)', value: corpusMiB / (Math.max(total - load, 0.001) / 1000) },
      note: `rule load excluded on both sides (yara: ${total.toFixed(0)} ms total minus ${load.toFixed(0)} ms load${total <= load ? ', below the timing noise' : ''}; Vouch compiled the rules with YARA-X in ${(compileSeconds * 1000).toFixed(0)} ms before the clock); yara scans with several threads by default, Vouch's YARA-X with ${workers} worker${workers === 1 ? '' : 's'}; \`yara -p 1\`: ${rate(oneThread - load)} MiB/s`,
    });
  }

  if (input.clamscan !== undefined) {
    const clamscan = input.clamscan;
    const reason = await clamscanLoads(exported, input.empty, ruleCount);
    if (reason !== undefined)
      figures.push({
        suite,
        name: `scan ${what} (scanPaths, vs clamscan)`,
        unit: 'MiB/s',
        higherIsBetter: true,
        value: vouchRate,
        baseline: { name: `clamscan: not loadable (${reason})`, value: Number.NaN },
        goal: '≥ 1.5× clamscan',
      });
    else {
      // clamscan's YARA matching is slow (about 2 MiB/s measured): one round after the warm-up.
      const clamRounds = Math.min(rounds, 1);
      let found = 0;
      const total = await durationMs(async () => {
        found = await clamscan(exported, corpus);
      }, clamRounds);
      if (found !== planted.size)
        throw new Error(`rules bench: clamscan found ${found} files, expected ${planted.size}`);
      const load = await durationMs(() => clamscan(exported, input.empty), rounds);
      figures.push({
        suite,
        name: `scan ${what} (scanPaths, vs clamscan)`,
        unit: 'MiB/s',
        higherIsBetter: true,
        value: vouchRate,
        baseline: {
          name: 'clamscan with the .yar export, containers off',
          value: corpusMiB / (Math.max(total - load, 0.001) / 1000),
        },
        goal: '≥ 1.5× clamscan',
        note: `rule load excluded on both sides (clamscan: ${total.toFixed(0)} ms total minus ${load.toFixed(0)} ms load, ${clamRounds} round after a warm-up; it loaded all ${ruleCount} rules)`,
      });
    }
  }
  await rm(work, { recursive: true, force: true });
  return figures;
}
