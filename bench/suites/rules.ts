/**
 * Rule database figures from issue 6 ("Performance"), each against a same-run baseline:
 * loading a database of 1,000,000 hashes with `readDatabase` (read, digest check, validation)
 * against `clamscan` loading the same hashes exported as `.hsb` (its run on an empty file minus its
 * run with a one-signature database); scan throughput of `scanPaths` with that database over a
 * generated corpus of mixed files against `clamscan` (container scanning off) on the same corpus,
 * each tool's load time subtracted; the same with 2,000 YARA rules of 20,000 strings against
 * `yara -r` and `clamscan` (rules-yara.ts); and the size of the delta for 1% churn against the
 * full database and against `xdelta3` between the two hash tables. Fixtures live under os.tmpdir(),
 * are kept between runs and are checked (manifest digests, counts, corpus sizes) before reuse.
 * In quick mode the sizes shrink and a missing `clamscan` or `xdelta3` only drops its figure; in
 * a full run they are required. LIMIT: clamscan is timed as a whole process, so its figures
 * include process start-up that the in-process Vouch figures do not.
 */

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatHex } from '../../src/core/bytes/index.ts';
import { buildDatabase, type DatabaseFiles } from '../../src/core/rules/database.ts';
import { diffDatabases } from '../../src/core/rules/delta.ts';
import { hashDbFileName } from '../../src/core/rules/manifest.ts';
import type { HashSignature } from '../../src/core/rules/source.ts';
import { readDatabase, writeDatabase } from '../../src/services/rules/compile.ts';
import { exportClamav } from '../../src/services/rules/export.ts';
import { scanPaths } from '../../src/services/scanner/scan.ts';
import { durationMs, type Figure, type Suite } from '../lib.ts';
import { yaraScanFigures } from './rules-yara.ts';

const run = promisify(execFile);
const suite = 'rules';
const mib = 1 << 20;
/** planted is how many corpus files are also in the database, so both scanners must detect them. */
const planted = 4;
const fileSizes = [1024, 16 * 1024, 200 * 1024, 3 * mib];
const clamFlags = [
  '--no-summary',
  '--infected',
  '--scan-archive=no',
  '--scan-pe=no',
  '--scan-elf=no',
  '--scan-ole2=no',
  '--scan-pdf=no',
  '--scan-html=no',
  '--scan-mail=no',
  '--scan-swf=no',
  '--scan-xmldocs=no',
  '--scan-hwp3=no',
];

interface Params {
  readonly hashes: number;
  readonly corpusBytes: number;
}

interface Fixture {
  readonly dir: string;
  readonly db: string;
  readonly hsb: string;
  readonly oneHsb: string;
  readonly empty: string;
  readonly corpus: string;
}

function digestOf(...parts: (string | Uint8Array)[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** syntheticRecord is record `i` of a generated database (`tag` separates the churned additions). */
function syntheticRecord(tag: string, i: number): HashSignature {
  return { digest: digestOf(tag, String(i)), size: 1 + (i % 100_000), name: `Bench.${tag}.${i}` };
}

function corpusFile(i: number, size: number): Uint8Array {
  const kind = i % 3;
  if (kind === 0) return new Uint8Array(randomBytes(size));
  if (kind === 1) {
    const line = new TextEncoder().encode(`line ${i}: the quick brown fox jumps over the lazy dog\n`);
    const out = new Uint8Array(size);
    for (let at = 0; at < size; at += line.length) out.set(line.subarray(0, size - at), at);
    return out;
  }
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at++) out[at] = (at * 31 + i) & 0xff;
  return out;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function corpusSize(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

/** fixtureIsValid checks a cached fixture: marker, verified database, record count, corpus and exports. */
async function fixtureIsValid(f: Fixture, params: Params): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(join(f.dir, 'fixture.json'), 'utf8')) as Params;
    if (marker.hashes !== params.hashes || marker.corpusBytes !== params.corpusBytes) return false;
    const { database } = await readDatabase(f.db);
    if (database.hashDb.recordCount !== params.hashes + planted) return false;
    if ((await corpusSize(f.corpus)) !== params.corpusBytes) return false;
    return (await stat(f.hsb)).size > 0 && (await exists(f.oneHsb)) && (await exists(f.empty));
  } catch {
    return false;
  }
}

async function prepare(params: Params): Promise<Fixture> {
  const dir = join(tmpdir(), `vouch-bench-rules-${params.hashes}-${params.corpusBytes}`);
  const f: Fixture = {
    dir,
    db: join(dir, 'db'),
    hsb: join(dir, 'clamav', 'vouch.hsb'),
    oneHsb: join(dir, 'one.hsb'),
    empty: join(dir, 'empty.txt'),
    corpus: join(dir, 'corpus'),
  };
  if (await fixtureIsValid(f, params)) return f;
  await rm(dir, { recursive: true, force: true });
  await mkdir(f.corpus, { recursive: true });
  const records: HashSignature[] = [];
  let filled = 0;
  for (let i = 0; filled < params.corpusBytes; i++) {
    const size = Math.min(fileSizes[i % fileSizes.length] as number, params.corpusBytes - filled);
    const bytes = corpusFile(i, size);
    await writeFile(join(f.corpus, `file-${String(i).padStart(6, '0')}.bin`), bytes);
    if (i < planted) records.push({ digest: digestOf(bytes), size, name: `Bench.Planted.${i}` });
    filled += size;
  }
  for (let i = 0; i < params.hashes; i++) records.push(syntheticRecord('Base', i));
  await writeDatabase(f.db, databaseOf(records));
  await exportClamav(f.db, join(dir, 'clamav'));
  await writeFile(f.oneHsb, `${formatHex(digestOf('one'))}:3:Bench.One\n`);
  await writeFile(f.empty, 'x');
  await writeFile(join(dir, 'fixture.json'), JSON.stringify(params));
  return f;
}

function databaseOf(hashes: readonly HashSignature[]): DatabaseFiles {
  return buildDatabase({
    name: 'bench',
    version: 1,
    created: 1_700_000_000,
    engine: { min: 1, max: 1 },
    hashes,
    allow: [],
    yara: new Map(),
  });
}

async function hasTool(name: string, args: readonly string[]): Promise<boolean> {
  return run(name, args).then(
    () => true,
    () => false,
  );
}

/** clamscan runs clamscan and returns how many files it reported infected (exit 1 is a detection). */
async function clamscan(db: string, target: string): Promise<number> {
  try {
    await run('clamscan', [...clamFlags, '-r', '-d', db, target], { maxBuffer: 64 * mib });
    return 0;
  } catch (error) {
    const e = error as { code?: unknown; stdout?: unknown };
    if (e.code !== 1 || typeof e.stdout !== 'string') throw error;
    return e.stdout.split('\n').filter((l) => l.endsWith(' FOUND')).length;
  }
}

export const rules: Suite = {
  name: 'rules',
  async run({ quick }) {
    const params: Params = quick
      ? { hashes: 10_000, corpusBytes: mib }
      : { hashes: 1_000_000, corpusBytes: 256 * mib };
    const rounds = quick ? 1 : 5;
    const f = await prepare(params);
    const figures: Figure[] = [];
    const hashCount = params.hashes.toLocaleString('en-US');

    const haveClam = await hasTool('clamscan', ['--version']);
    if (!haveClam && !quick) throw new Error('rules bench: clamscan is required for a full run');

    // 1. Loading the database.
    const loadMs = await durationMs(() => readDatabase(f.db), rounds);
    if (haveClam) {
      const clamTotal = await durationMs(() => clamscan(f.hsb, f.empty), rounds);
      const clamBare = await durationMs(() => clamscan(f.oneHsb, f.empty), rounds);
      figures.push({
        suite,
        name: `load ${hashCount} hashes (readDatabase)`,
        unit: 'ms',
        higherIsBetter: false,
        value: loadMs,
        baseline: { name: 'clamscan load of .hsb export', value: Math.max(clamTotal - clamBare, 0.001) },
        goal: 'under 300 ms (ClamAV ~900 ms)',
        note: `clamscan load = run on a 1-byte file with the export (${clamTotal.toFixed(0)} ms) minus with one signature (${clamBare.toFixed(0)} ms)`,
      });
    }

    // 2. Scan throughput.
    const { database } = await readDatabase(f.db);
    let detected = 0;
    const scanMs = await durationMs(async () => {
      detected = 0;
      await scanPaths(database.hashDb, [f.corpus], (e) => {
        if (e.kind === 'detection') detected++;
        else throw new Error(`rules bench: unexpected scan event ${e.kind}`);
      });
    }, rounds);
    if (detected !== planted) throw new Error(`rules bench: vouch detected ${detected}, expected ${planted}`);
    if (haveClam) {
      let clamDetected = 0;
      const clamScanTotal = await durationMs(async () => {
        clamDetected = await clamscan(f.hsb, f.corpus);
      }, rounds);
      if (clamDetected !== planted)
        throw new Error(`rules bench: clamscan detected ${clamDetected}, expected ${planted}`);
      const clamLoad = await durationMs(() => clamscan(f.hsb, f.empty), rounds);
      const corpusMiB = params.corpusBytes / mib;
      const clamScanMs = Math.max(clamScanTotal - clamLoad, 0.001);
      figures.push({
        suite,
        name: `scan ${corpusMiB} MiB of mixed files, ${hashCount} hashes (scanPaths)`,
        unit: 'MiB/s',
        higherIsBetter: true,
        value: corpusMiB / (scanMs / 1000),
        baseline: { name: 'clamscan, containers off', value: corpusMiB / (clamScanMs / 1000) },
        goal: '≥ 1.5× clamscan',
        note: `database load excluded on both sides (clamscan: ${clamScanTotal.toFixed(0)} ms total minus ${clamLoad.toFixed(0)} ms load); page cache warm`,
      });
    }

    // 2b. Scan throughput with YARA rules.
    figures.push(
      ...(await yaraScanFigures({
        suite,
        quick,
        rounds,
        dir: f.dir,
        corpus: f.corpus,
        corpusBytes: params.corpusBytes,
        empty: f.empty,
        clamscan: haveClam ? clamscan : undefined,
      })),
    );

    // 3. Delta size for 1% churn: the first 1% of records removed, as many new ones added.
    const { files } = await readDatabase(f.db);
    const churn = Math.max(1, Math.floor(params.hashes / 100));
    const next: HashSignature[] = [];
    for (let i = churn; i < params.hashes; i++) next.push(syntheticRecord('Base', i));
    for (let i = 0; i < churn; i++) next.push(syntheticRecord('Added', i));
    const nextFiles = databaseOf(next);
    const delta = diffDatabases(files, nextFiles);
    const fullBytes = [...nextFiles.values()].reduce((n, b) => n + b.length, 0);
    const kib = (n: number) => n / 1024;
    figures.push({
      suite,
      name: `delta for 1% churn of ${hashCount} hashes`,
      unit: 'KiB',
      higherIsBetter: false,
      value: kib(delta.length),
      baseline: { name: 'full database', value: kib(fullBytes) },
    });
    const haveXdelta = await hasTool('xdelta3', ['-V']);
    if (!haveXdelta && !quick) throw new Error('rules bench: xdelta3 is required for a full run');
    if (haveXdelta && !quick) {
      const work = join(f.dir, 'xdelta');
      await rm(work, { recursive: true, force: true });
      await mkdir(work);
      try {
        const oldTable = join(work, 'old.hdb');
        const newTable = join(work, 'new.hdb');
        const patch = join(work, 'patch.vcdiff');
        await writeFile(oldTable, files.get(hashDbFileName) ?? new Uint8Array());
        await writeFile(newTable, nextFiles.get(hashDbFileName) ?? new Uint8Array());
        await run('xdelta3', ['-e', '-9', '-f', '-s', oldTable, newTable, patch]);
        figures.push({
          suite,
          name: `delta for 1% churn of ${hashCount} hashes (vs xdelta3)`,
          unit: 'KiB',
          higherIsBetter: false,
          value: kib(delta.length),
          baseline: { name: 'xdelta3 -9 between hash tables', value: kib((await stat(patch)).size) },
        });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
    return figures;
  },
};
