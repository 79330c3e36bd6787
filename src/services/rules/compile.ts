/**
 * The rule compiler's file side: read a rules source folder (layout in core/rules/source.ts),
 * compile it into a database folder, read a database folder back, and write or apply deltas. The
 * formats and every check live in core/rules; this module only reads and writes files, through
 * writeFileDurable, and never overwrites an existing output.
 *
 * Crash story for a database folder: (1) create the folder (it must not exist); (2) write every
 * member durably; (3) write `manifest.json` last — the commit point. A folder without a manifest
 * is an interrupted build and {@link readDatabase} refuses it; a folder with one is complete,
 * because every member it names was durable before it was written. LIMIT: symbolic links and
 * special files in a source or database folder are refused, not followed.
 *
 * YARA files are compiled with YARA-X (rules/yara.ts) and refused, naming the file and quoting
 * the compiler, when they do not compile, and refused, naming the file, rule and pattern, when a
 * pattern lacks a good fixed atom (rules/yara-lint.ts) unless the caller allows slow rules. The
 * database keeps their sources, not compiled rules (scanners compile them at load), and its
 * manifest records the YARA-X version that validated them (`engine.yaraX`), so compiling the
 * same source twice gives identical bytes with the same YARA-X version, and different bytes with
 * another. {@link readDatabaseForScan} refuses a database that the running YARA-X may not run
 * (core/rules/manifest.ts `checkYaraEngine`).
 */

import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describeUntrusted, VouchError } from '../../core/errors.ts';
import {
  buildDatabase,
  type DatabaseFiles,
  openDatabase,
  type RuleDatabase,
} from '../../core/rules/database.ts';
import { applyDelta, diffDatabases, maxDeltaBytes } from '../../core/rules/delta.ts';
import { checkYaraEngine, hashDbFileName, manifestFileName } from '../../core/rules/manifest.ts';
import {
  defaultSourceLimits,
  type HashFile,
  isYaraFileName,
  parseAllowList,
  parseHashFiles,
  parseRulesMetadata,
} from '../../core/rules/source.ts';
import { mkdirDurable, syncDirectory, writeFileDurable } from '../../storage/fs/durable.ts';
import { compileYara, type YaraWarning, yaraEngineVersion } from './yara.ts';
import { describeSlowPattern, findSlowPatterns, type SlowPattern } from './yara-lint.ts';

/** maxDatabaseFileBytes caps one database member read from disk (just under 2 GiB, Node's limit). */
export const maxDatabaseFileBytes = 2 ** 31 - 1;

/** CompileOptions are the values a database gets besides its source. */
export interface CompileOptions {
  /** version is the database version, a positive integer. */
  readonly version: number;
  /** created is the build time in seconds since the epoch (SOURCE_DATE_EPOCH). */
  readonly created: number;
  /**
   * allowSlowRules accepts YARA patterns that lack a good fixed atom (they are then listed in the
   * {@link YaraCompileReport}); by default they are refused.
   */
  readonly allowSlowRules?: boolean;
  /**
   * onYaraCompiled, if given, receives the YARA-X version, compile time and warnings; it is not
   * called for a source without YARA files.
   */
  readonly onYaraCompiled?: (report: YaraCompileReport) => void;
}

/** YaraCompileReport says how the YARA files of a source compiled. */
export interface YaraCompileReport {
  readonly engineVersion: string;
  readonly files: number;
  readonly seconds: number;
  readonly warnings: readonly YaraWarning[];
  /** slowPatterns are the patterns without a good fixed atom that `allowSlowRules` let through. */
  readonly slowPatterns: readonly SlowPattern[];
}

/** maxListedSlowPatterns is how many slow patterns a refusal names before "and N more". */
const maxListedSlowPatterns = 10;

/** slowRulesError is the refusal of a source whose YARA patterns lack good atoms. */
function slowRulesError(slow: readonly SlowPattern[]): VouchError {
  const listed = slow.slice(0, maxListedSlowPatterns).map(describeSlowPattern);
  const more = slow.length > listed.length ? `; and ${slow.length - listed.length} more` : '';
  return new VouchError(
    'malformed',
    `YARA rules lack a good fixed atom, which would slow every scan (compile with --allow-slow-rules to accept them): ${listed.join('; ')}${more}`,
    {
      field: slow[0]?.file ?? 'yara',
      fields: slow.map((p) => (p.line > 0 ? `${p.file} line ${p.line}` : p.file)),
    },
  );
}

/**
 * readBounded reads a regular file (never through a symbolic link) of at most `limit` bytes with
 * large positioned reads into one buffer: much faster than readFile's small chunks for a 70 MB
 * hash table, and the size and type are checked on the open descriptor, not on the path.
 */
async function readBounded(path: string, limit: number, what: string): Promise<Uint8Array> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new VouchError('malformed', `${what} is not a regular file`, { field: path });
    if (info.size > limit)
      throw new VouchError('too-large', `${what} exceeds the limit of ${limit}`, { field: path, limit });
    // One spare byte detects a file that grew since fstat.
    const out = new Uint8Array(info.size + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(out, filled, out.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === out.length)
        throw new VouchError('unavailable', `${what} changed while it was being read`, { field: path });
    }
    return out.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

async function listFiles(dir: string, what: string, allowYaraFolder = false): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries)
    if (!entry.isFile() && !(allowYaraFolder && entry.isDirectory() && entry.name === 'yara'))
      throw new VouchError('malformed', `${what}: ${describeUntrusted(entry.name)} is not a regular file`, {
        field: join(dir, entry.name),
      });
  return entries
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

/**
 * compileRules reads the source folder `src` and returns the database files. Every file must be
 * `rules.json`, `allow.sha256`, `NAME.hsb` or `NAME.yar`; anything else is refused, so a typo is
 * not silently skipped. Errors name the file and line; a YARA file that does not compile with
 * YARA-X is refused (`malformed`) with its name and the compiler's message, and YARA patterns
 * without a good fixed atom are refused (`malformed`, naming the file, line, rule, pattern and
 * reason of each, `details.fields` listing them all) unless `options.allowSlowRules` is set.
 */
export async function compileRules(src: string, options: CompileOptions): Promise<DatabaseFiles> {
  const names = await listFiles(src, 'rules source');
  const limit = defaultSourceLimits.maxFileBytes;
  const hashFiles: HashFile[] = [];
  const yara = new Map<string, Uint8Array>();
  let allow: readonly Uint8Array[] = [];
  let metadata: ReturnType<typeof parseRulesMetadata> | undefined;
  for (const name of names) {
    const path = join(src, name);
    if (name === 'rules.json') metadata = parseRulesMetadata(await readBounded(path, 64 * 1024, name), name);
    else if (name === 'allow.sha256') allow = parseAllowList(await readBounded(path, limit, name), name);
    else if (name.endsWith('.hsb'))
      hashFiles.push({ file: name, bytes: await readBounded(path, limit, name) });
    else if (isYaraFileName(name)) yara.set(name, await readBounded(path, limit, name));
    else
      throw new VouchError('malformed', `rules source: unexpected file ${describeUntrusted(name)}`, {
        field: path,
      });
  }
  if (metadata === undefined)
    throw new VouchError('not-found', 'rules source has no rules.json', { field: src });
  const hashes = parseHashFiles(hashFiles);
  let engine = metadata.engine;
  if (yara.size > 0) {
    const started = performance.now();
    const rules = compileYara(yara);
    const seconds = (performance.now() - started) / 1000;
    rules.close();
    const slowPatterns = findSlowPatterns(yara, rules.warnings);
    if (slowPatterns.length > 0 && options.allowSlowRules !== true) throw slowRulesError(slowPatterns);
    const engineVersion = yaraEngineVersion();
    engine = { ...engine, yaraX: engineVersion };
    options.onYaraCompiled?.({
      engineVersion,
      files: yara.size,
      seconds,
      warnings: rules.warnings,
      slowPatterns,
    });
  }
  return buildDatabase({
    ...metadata,
    engine,
    version: options.version,
    created: options.created,
    hashes,
    allow,
    yara,
  });
}

/**
 * writeDatabase creates the folder `out` (which must not exist; its parent is created if
 * missing) and writes `files` into it, the manifest last. Throws `conflict` if `out` exists.
 */
export async function writeDatabase(out: string, files: DatabaseFiles): Promise<void> {
  const target = resolve(out);
  await mkdirDurable(dirname(target));
  try {
    await mkdir(target, { mode: 0o755 });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST')
      throw new VouchError('conflict', `output ${out} already exists; refusing to overwrite`, { field: out });
    throw error;
  }
  await syncDirectory(dirname(target));
  if ([...files.keys()].some((name) => name.startsWith('yara/'))) {
    await mkdir(join(target, 'yara'), { mode: 0o755 });
    await syncDirectory(target);
  }
  for (const [name, bytes] of files)
    if (name !== manifestFileName) await writeFileDurable(join(target, name), bytes, { exclusive: true });
  // Commit point: the manifest names members that are all durable by now.
  const manifest = files.get(manifestFileName);
  if (manifest === undefined) throw new VouchError('invariant', 'internal error: database without manifest');
  await writeFileDurable(join(target, manifestFileName), manifest, { exclusive: true });
}

/**
 * readDatabase reads every file of the database folder `dir` (the manifest, the hash table and
 * `yara/*`) and opens it: the result is verified against its manifest, or an error names the
 * member and the expected digest.
 */
export async function readDatabase(dir: string): Promise<{ files: DatabaseFiles; database: RuleDatabase }> {
  const files = new Map<string, Uint8Array>();
  const top = await listFiles(dir, 'rule database', true);
  if (!top.includes(manifestFileName))
    throw new VouchError(
      'not-found',
      `${dir} has no ${manifestFileName} (not a database, or an interrupted build)`,
      {
        field: dir,
      },
    );
  for (const name of top) {
    const limit = name === hashDbFileName ? maxDatabaseFileBytes : 64 << 20;
    files.set(name, await readBounded(join(dir, name), limit, name));
  }
  const yaraDir = join(dir, 'yara');
  const hasYara = await lstat(yaraDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (hasYara)
    for (const name of await listFiles(yaraDir, 'rule database yara folder'))
      files.set(`yara/${name}`, await readBounded(join(yaraDir, name), 64 << 20, `yara/${name}`));
  return { files, database: openDatabase(files) };
}

/**
 * readDatabaseForScan is {@link readDatabase} for a scanner: it also refuses (`policy-unmet`,
 * naming both versions) a database with YARA rules that this process's YARA-X may not run — not
 * validated by the same major version, or validated by a newer one, or not saying which.
 */
export async function readDatabaseForScan(
  dir: string,
): Promise<{ files: DatabaseFiles; database: RuleDatabase }> {
  const read = await readDatabase(dir);
  checkYaraEngine(read.database.manifest, yaraEngineVersion());
  return read;
}

/** writeNewFile writes `bytes` to `path` durably, refusing (`conflict`) to replace an existing file. */
export async function writeNewFile(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileDurable(path, bytes, { exclusive: true });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST')
      throw new VouchError('conflict', `output ${path} already exists; refusing to overwrite`, {
        field: path,
      });
    throw error;
  }
}

/** diffDatabaseFolders writes the delta from database folder `from` to `to` into the new file `out`. */
export async function diffDatabaseFolders(from: string, to: string, out: string): Promise<Uint8Array> {
  const a = await readDatabase(from);
  const b = await readDatabase(to);
  const delta = diffDatabases(a.files, b.files);
  await writeNewFile(out, delta);
  return delta;
}

/**
 * applyDeltaFile applies the delta file `delta` to database folder `base` and writes the verified
 * result into the new folder `out`; nothing is written unless the result's digest is the one the
 * delta commits to. `base` is never changed.
 */
export async function applyDeltaFile(base: string, delta: string, out: string): Promise<RuleDatabase> {
  const { files } = await readDatabase(base);
  const result = applyDelta(files, await readBounded(delta, maxDeltaBytes, 'delta'));
  const database = openDatabase(result);
  await writeDatabase(out, result);
  return database;
}
