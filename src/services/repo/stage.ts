/**
 * Staging targets for the next release (docs/updates.md, "Published files"): a product archive
 * from a `vouch build` output folder as `products/NAME/VERSION/FILE`, a full rule database as a
 * bundle `rules/NAME/NAME-VERSION.vdb` (from a database folder, or the `.vdb` output of a
 * conveyer build, whose provenance then names the bundle's SHA-256), and record-level deltas `rules/NAME/NAME-FROM-TO.vdelta`
 * from the previous full database (and from any older base asked for: a cumulative delta). Each
 * target gets its `custom.vouch` (kind, name, version, the SHA-256 of each evidence file, or for
 * a delta the full database it must produce); evidence files (provenance, rebuild attestations,
 * a source review: DSSE envelopes of at most 64 KiB) are staged beside the targets.
 *
 * Staging checks shapes, not trust: an evidence file must parse as a DSSE envelope, a database
 * must open against its manifest, and a delta must reproduce its result here; whether the
 * evidence is good enough is the approver's decision (approve.ts).
 *
 * Crash story: content goes first, into content-addressed files (`staged/targets/<sha256>`,
 * `staged/evidence/<sha256>.json`), which a retry rewrites identically; the staged index is
 * replaced last (the commit point), so a crash leaves at most unreferenced staged files.
 * LIMIT: a target is read into memory whole (bounded by {@link maxTargetBytes}).
 */

import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseEnvelope } from '../../core/attest/index.ts';
import { equalBytes } from '../../core/bytes/index.ts';
import { VouchError } from '../../core/errors.ts';
import type { JsonObject } from '../../core/json/index.ts';
import { packDatabaseBundle, unpackDatabaseBundle } from '../../core/rules/bundle.ts';
import { type DatabaseFiles, openDatabase, type RuleDatabase } from '../../core/rules/database.ts';
import { applyDelta, diffDatabases } from '../../core/rules/delta.ts';
import { readDatabase } from '../rules/compile.ts';
import {
  listFiles,
  maxEvidenceBytes,
  type RepoPaths,
  readConfig,
  readFileBounded,
  readRequired,
  readStagedIndex,
  repoPaths,
  type StagedIndex,
  type StagedTarget,
  sha256Hex,
  writeDurable,
  writeStagedIndex,
} from './layout.ts';
import { currentTargets, type TargetEntry, targetFilePath } from './published.ts';

/** maxTargetBytes bounds one staged target file (1 GiB). */
export const maxTargetBytes = 1 << 30;

/** provenanceName and its proof are the files `vouch build` writes into its output folder. */
export const provenanceName = 'provenance.dsse.json';

const segmentPattern = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** StagedEntry is a target staged by one call: its path and TUF target info. */
export interface StagedEntry {
  readonly path: string;
  readonly target: StagedTarget;
}

/** EvidenceFiles are paths of evidence to stage with a target. */
export interface EvidenceFiles {
  /** rebuilds are rebuild attestations (`vouch rebuild` writes rebuild.dsse.json). */
  readonly rebuilds?: readonly string[];
  /** review is a source review statement, signed by the reviewers. */
  readonly review?: string;
}

/** StageProductOptions say which build output to stage. */
export interface StageProductOptions extends EvidenceFiles {
  /** buildDir is a `vouch build` output folder: one NAME-VERSION.tar.gz and provenance.dsse.json. */
  readonly buildDir: string;
  /** name and version override what the archive's file name says. */
  readonly name?: string;
  readonly version?: string;
}

/**
 * stageProduct stages the archive of a build output folder as `products/NAME/VERSION/FILE`, with
 * its provenance (and `provenance.dsse.json.tlog-proof` when present), the rebuild attestations
 * and the review as evidence. NAME and VERSION come from the archive name `NAME-VERSION.tar.gz`
 * split before the first `-` followed by a digit, unless given. Throws `not-found` for a missing
 * file, `invalid-argument` for a folder without exactly one archive or a bad name, `malformed`
 * for evidence that is not a DSSE envelope.
 */
export async function stageProduct(dir: string, options: StageProductOptions): Promise<StagedEntry> {
  const paths = repoPaths(dir);
  await readConfig(paths);
  const archives = (await listFiles(options.buildDir)).filter((n) => n.endsWith('.tar.gz'));
  if (archives.length !== 1)
    throw new VouchError(
      'invalid-argument',
      `${options.buildDir} must hold exactly one NAME-VERSION.tar.gz (found ${archives.length})`,
      { field: options.buildDir },
    );
  const file = archives[0] as string;
  const stem = file.slice(0, -'.tar.gz'.length);
  const split = /-[0-9]/.exec(stem);
  const name = options.name ?? (split === null ? stem : stem.slice(0, split.index));
  const version = options.version ?? (split === null ? '' : stem.slice(split.index + 1));
  checkSegment(name, 'product name');
  checkSegment(version, 'product version');
  checkSegment(file, 'archive name');
  const archive = await readRequired(join(options.buildDir, file), maxTargetBytes, 'the archive');
  const provenancePath = join(options.buildDir, provenanceName);
  const provenance = await stageEvidence(paths, provenancePath, true);
  const rebuilds: string[] = [];
  for (const path of options.rebuilds ?? []) rebuilds.push(await stageEvidence(paths, path, false));
  const review = options.review === undefined ? undefined : await stageEvidence(paths, options.review, false);
  const custom = {
    vouch: {
      kind: 'product',
      name,
      version,
      evidence: { provenance, rebuilds, ...(review === undefined ? {} : { review }) },
    },
  };
  const entry = await stageTargetBytes(paths, `products/${name}/${version}/${file}`, archive, custom);
  const index = await readStagedIndex(paths);
  await writeStagedIndex(
    paths,
    withTargets(index, [entry], [provenance, ...rebuilds, ...(review === undefined ? [] : [review])]),
  );
  return entry;
}

/** StageRulesOptions say which rule database to stage and which deltas to make. */
export interface StageRulesOptions extends EvidenceFiles {
  /** databaseDir is a rule database folder (`vouch rules compile --out`). */
  readonly databaseDir: string;
  /** provenance is the signed provenance whose subjects include the bundle's SHA-256. */
  readonly provenance?: string;
  /** deltaFrom lists older full versions to make cumulative deltas from, besides the previous one. */
  readonly deltaFrom?: readonly number[];
}

/**
 * stageRules stages a rule database as the bundle `rules/NAME/NAME-VERSION.vdb` with its
 * evidence, then a delta to it from the highest older full version of NAME staged or published,
 * and one from each `deltaFrom` version (which must exist and be older). Each delta is applied
 * here and must reproduce the bundle. Returns the full target first, then the deltas. Throws
 * `invalid-argument` when the version is not newer than every staged or published one of NAME,
 * `not-found` for a missing `deltaFrom` base.
 */
export async function stageRules(dir: string, options: StageRulesOptions): Promise<readonly StagedEntry[]> {
  const paths = repoPaths(dir);
  await readConfig(paths);
  const { files, database } = await readDatabase(options.databaseDir);
  return stageDatabase(paths, files, database, options, false);
}

/** StageRulesBuildOptions say which conveyer build of a rule database to stage. */
export interface StageRulesBuildOptions extends EvidenceFiles {
  /**
   * buildDir is a `vouch build` output folder whose archive holds exactly one `*.vdb` file (a
   * `vouch rules pack` bundle) and whose `provenance.dsse.json` therefore names its SHA-256.
   */
  readonly buildDir: string;
  /** deltaFrom lists older full versions to make cumulative deltas from, besides the previous one. */
  readonly deltaFrom?: readonly number[];
}

/**
 * stageRulesBuild stages the rule database a conveyer build produced: the single `.vdb` member of
 * the build's `NAME-VERSION.tar.gz`, with the build's provenance (and its tlog-proof when present)
 * as evidence, then deltas as {@link stageRules} does. The bundle must be in its one canonical
 * spelling (what `vouch rules pack` writes), so the staged target is byte for byte the file the
 * provenance names. Throws `invalid-argument` for a folder without exactly one archive or an
 * archive without exactly one `.vdb`, `malformed` for a bad archive or bundle, `bad-digest` for
 * a bundle member that does not match its manifest.
 */
export async function stageRulesBuild(
  dir: string,
  options: StageRulesBuildOptions,
): Promise<readonly StagedEntry[]> {
  const paths = repoPaths(dir);
  await readConfig(paths);
  const archives = (await listFiles(options.buildDir)).filter((n) => n.endsWith('.tar.gz'));
  if (archives.length !== 1)
    throw new VouchError(
      'invalid-argument',
      `${options.buildDir} must hold exactly one NAME-VERSION.tar.gz (found ${archives.length})`,
      { field: options.buildDir },
    );
  const archivePath = join(options.buildDir, archives[0] as string);
  const archive = await readRequired(archivePath, maxTargetBytes, 'the archive');
  const bundles = readTarFiles(gunzipBounded(archive, archivePath), archivePath).filter((f) =>
    f.name.endsWith('.vdb'),
  );
  const only = bundles[0];
  if (bundles.length !== 1 || only === undefined)
    throw new VouchError(
      'invalid-argument',
      `${archivePath} must hold exactly one rule database bundle *.vdb (found ${bundles.length}); build it with vouch rules pack`,
      { field: archivePath },
    );
  const files = unpackDatabaseBundle(only.bytes);
  if (!equalBytes(packDatabaseBundle(files), only.bytes))
    throw new VouchError(
      'malformed',
      `${only.name} in ${archivePath} is not in the canonical bundle form vouch rules pack writes`,
      { field: only.name },
    );
  return stageDatabase(
    paths,
    files,
    openDatabase(files),
    { ...options, provenance: join(options.buildDir, provenanceName) },
    true,
  );
}

async function stageDatabase(
  paths: RepoPaths,
  files: DatabaseFiles,
  database: RuleDatabase,
  options: Omit<StageRulesOptions, 'databaseDir'>,
  provenanceProof: boolean,
): Promise<readonly StagedEntry[]> {
  const { name, version } = database.manifest;
  checkSegment(name, 'database name');
  const bundle = packDatabaseBundle(files);
  const resultPath = rulesPath(name, version);
  const current = await currentTargets(paths);
  const older = new Map<number, TargetEntry>();
  for (const [path, entry] of current) {
    const vouch = entry.custom['vouch'] as JsonObject | undefined;
    if (vouch?.['kind'] !== 'rules' || vouch['name'] !== name) continue;
    const v = Number(vouch['version']);
    if (v >= version && path !== resultPath)
      throw new VouchError(
        'invalid-argument',
        `rule database ${name} version ${v} is already staged or published; stage a newer version than ${version}`,
        { field: path },
      );
    if (v < version) older.set(v, entry);
  }
  const evidence: string[] = [];
  const provenance =
    options.provenance === undefined
      ? undefined
      : await stageEvidence(paths, options.provenance, provenanceProof);
  const rebuilds: string[] = [];
  for (const path of options.rebuilds ?? []) rebuilds.push(await stageEvidence(paths, path, false));
  const review = options.review === undefined ? undefined : await stageEvidence(paths, options.review, false);
  evidence.push(
    ...(provenance === undefined ? [] : [provenance]),
    ...rebuilds,
    ...(review === undefined ? [] : [review]),
  );
  const entries: StagedEntry[] = [];
  entries.push(
    await stageTargetBytes(paths, resultPath, bundle, {
      vouch: {
        kind: 'rules',
        name,
        version: String(version),
        evidence: {
          ...(provenance === undefined ? {} : { provenance }),
          rebuilds,
          ...(review === undefined ? {} : { review }),
        },
      },
    }),
  );
  const bases = new Set<number>(options.deltaFrom ?? []);
  const previous = Math.max(0, ...older.keys());
  if (previous > 0) bases.add(previous);
  for (const from of [...bases].sort((a, b) => a - b)) {
    const base = older.get(from);
    if (base === undefined)
      throw new VouchError(
        'not-found',
        `no full rule database ${name} version ${from} is staged or published to make a delta from`,
        {
          field: '--delta-from',
        },
      );
    const baseFiles = unpackDatabaseBundle(await readTargetBytes(paths, base));
    const delta = diffDatabases(baseFiles, files);
    const result = applyDelta(baseFiles, delta);
    if (!equalBytes(packDatabaseBundle(result), bundle))
      throw new VouchError(
        'invariant',
        `internal error: the delta from ${from} does not reproduce ${resultPath}`,
      );
    entries.push(
      await stageTargetBytes(paths, `rules/${name}/${name}-${from}-${version}.vdelta`, delta, {
        vouch: {
          kind: 'rules-delta',
          name,
          version: String(version),
          delta: { from, to: version, result: resultPath },
        },
      }),
    );
  }
  const index = await readStagedIndex(paths);
  await writeStagedIndex(paths, withTargets(index, entries, evidence));
  return entries;
}

/** rulesPath is the target path of full database NAME version V. */
export function rulesPath(name: string, version: number): string {
  return `rules/${name}/${name}-${version}.vdb`;
}

/**
 * stageEvidenceBytes stages one evidence file (a DSSE envelope of at most 64 KiB) and returns its
 * SHA-256; `proof`, when given, is kept beside it as its tlog-proof. Used for VSAs by approve.ts.
 */
export async function stageEvidenceBytes(
  paths: RepoPaths,
  bytes: Uint8Array,
  proof?: Uint8Array,
): Promise<string> {
  parseEnvelope(bytes);
  const digest = sha256Hex(bytes);
  await writeDurable(join(paths.stagedEvidence, `${digest}.json`), bytes);
  if (proof !== undefined) await writeDurable(join(paths.stagedEvidence, `${digest}.json.tlog-proof`), proof);
  return digest;
}

/** readTargetBytes returns a current target's bytes from staged/ or public/, checked against its SHA-256. */
export async function readTargetBytes(paths: RepoPaths, entry: TargetEntry): Promise<Uint8Array> {
  const file = entry.staged
    ? join(paths.stagedTargets, entry.sha256)
    : targetFilePath(paths, entry.path, entry.sha256);
  const bytes = await readRequired(file, maxTargetBytes, `target ${entry.path}`);
  if (bytes.length !== entry.length || sha256Hex(bytes) !== entry.sha256)
    throw new VouchError(
      'bad-digest',
      `${file} does not match the SHA-256 ${entry.sha256} of target ${entry.path}`,
      {
        field: entry.path,
      },
    );
  return bytes;
}

async function stageEvidence(paths: RepoPaths, path: string, withProof: boolean): Promise<string> {
  const bytes = await readRequired(path, maxEvidenceBytes, `evidence ${basename(path)}`);
  const proof = withProof ? await readFileBounded(`${path}.tlog-proof`, 256 * 1024) : undefined;
  return stageEvidenceBytes(paths, bytes, proof);
}

async function stageTargetBytes(
  paths: RepoPaths,
  path: string,
  bytes: Uint8Array,
  custom: JsonObject,
): Promise<StagedEntry> {
  const sha256 = sha256Hex(bytes);
  await writeDurable(join(paths.stagedTargets, sha256), bytes);
  return { path, target: Object.freeze({ length: bytes.length, sha256, custom }) };
}

function withTargets(
  index: StagedIndex,
  entries: readonly StagedEntry[],
  evidence: readonly string[],
): StagedIndex {
  const targets = { ...index.targets };
  for (const entry of entries) targets[entry.path] = entry.target;
  return { targets, evidence: [...index.evidence, ...evidence] };
}

/** maxArchiveFiles bounds the entries read from a build archive. */
const maxArchiveFiles = 4096;

function gunzipBounded(bytes: Uint8Array, where: string): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: maxTargetBytes }));
  } catch (error) {
    throw new VouchError(
      'malformed',
      `${where} is not a gzip file within ${maxTargetBytes} bytes: ${String(error)}`,
      {
        field: where,
      },
    );
  }
}

/**
 * readTarFiles returns the regular files of a ustar archive (as the conveyer packs them: no pax
 * or GNU extensions), with names joined from the prefix and name fields. Folders are skipped;
 * any other entry type, a bad size or a truncated archive is `malformed`.
 */
function readTarFiles(tar: Uint8Array, where: string): { name: string; bytes: Uint8Array }[] {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const field = (header: Uint8Array, start: number, length: number): string => {
    const raw = header.subarray(start, start + length);
    const end = raw.indexOf(0);
    return decoder.decode(end === -1 ? raw : raw.subarray(0, end));
  };
  const files: { name: string; bytes: Uint8Array }[] = [];
  let offset = 0;
  for (let count = 0; ; count++) {
    if (count > maxArchiveFiles)
      throw new VouchError('too-large', `${where} has more than ${maxArchiveFiles} entries`, {
        field: where,
      });
    if (offset + 512 > tar.length)
      throw new VouchError('malformed', `${where} is truncated`, { field: where });
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return files;
    const name = [field(header, 345, 155), field(header, 0, 100)].filter((p) => p !== '').join('/');
    const sizeText = field(header, 124, 12).trim();
    if (!/^[0-7]{1,11}$/.test(sizeText))
      throw new VouchError('malformed', `${where}: entry ${name} has a bad size`, { field: name });
    const size = Number.parseInt(sizeText, 8);
    const type = String.fromCharCode(header[156] ?? 0);
    offset += 512;
    if (offset + size > tar.length)
      throw new VouchError('malformed', `${where}: entry ${name} is truncated`, { field: name });
    if (type === '0' || type === '\0') files.push({ name, bytes: tar.slice(offset, offset + size) });
    else if (type !== '5')
      throw new VouchError('malformed', `${where}: entry ${name} is not a file or folder (type ${type})`, {
        field: name,
      });
    offset += Math.ceil(size / 512) * 512;
  }
}

function checkSegment(value: string, what: string): void {
  if (!segmentPattern.test(value) || value.includes('..'))
    throw new VouchError(
      'invalid-argument',
      `the ${what} must be 1 to 128 of [A-Za-z0-9._+-], not starting with punctuation`,
      {
        field: what,
      },
    );
}
