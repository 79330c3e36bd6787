/**
 * The repository folder of docs/updates.md ("Published files"): `repo.json` (the configuration),
 * `staged/` (target files and evidence waiting for a release, and `staged/index.json` listing
 * them), `pending/` (metadata being signed by several parties) and `public/` (the only folder a
 * web server serves). This module names every path, reads and writes `repo.json` and the staged
 * index, and holds the small file helpers the other repository modules share: bounded reads and
 * durable writes (storage/fs/durable.ts), so that a crash leaves each file old or new, never torn.
 *
 * It does not sign or verify anything; see the module of each operation for its crash story.
 */

import { lstat, open, readdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatHex } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { malformed, tooLarge, VouchError } from '../../core/errors.ts';
import {
  formatJson,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseJson,
} from '../../core/json/index.ts';
import { mkdirDurable, writeFileDurable } from '../../storage/fs/durable.ts';

/** repoConfigType is the `_type` of repo.json. */
export const repoConfigType = 'https://vouch.example/repository/v1';

/** TopRole names a TUF top-level role. */
export type TopRole = 'root' | 'targets' | 'snapshot' | 'timestamp';

/** topRoles lists the top-level roles in the order TUF documents them. */
export const topRoles: readonly TopRole[] = Object.freeze(['root', 'targets', 'snapshot', 'timestamp']);

/** Expiries are each role's metadata lifetime in days. */
export type Expiries = Readonly<Record<TopRole, number>>;

/** defaultExpiries are docs/updates.md's defaults: 365, 90, 7 and 1 days. */
export const defaultExpiries: Expiries = Object.freeze({ root: 365, targets: 90, snapshot: 7, timestamp: 1 });

/** maxExpiryDays bounds a configured lifetime (ten years). */
export const maxExpiryDays = 3650;

/**
 * RepoConfig is repo.json. `keyNames` maps a TUF key ID to the human name of its key (the key
 * file's or vkey's name), so that refusals can say who has not signed; the keys and thresholds
 * themselves are in the root metadata, which is the authority.
 */
export interface RepoConfig {
  readonly name: string;
  readonly expires: Expiries;
  /** release is the vendor's release key as a signed-note vkey (one of the two targets keys). */
  readonly release: string;
  /** approver is the supervisor's approver key as a signed-note vkey (the other targets key). */
  readonly approver: string;
  readonly keyNames: Readonly<Record<string, string>>;
}

/** maxConfigBytes bounds repo.json. */
export const maxConfigBytes = 1 << 20;
/** maxMetadataBytes bounds every metadata file the repository reads back (tuf-js' targets cap). */
export const maxMetadataBytes = 5_000_000;
/** maxEvidenceBytes bounds one evidence file (one DSSE envelope, the log's entry bound). */
export const maxEvidenceBytes = 64 * 1024;
/** maxIndexBytes bounds staged/index.json. */
export const maxIndexBytes = 16 << 20;

const repositoryNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** RepoPaths are the folders and files of one repository folder. */
export interface RepoPaths {
  readonly dir: string;
  readonly config: string;
  readonly staged: string;
  readonly stagedTargets: string;
  readonly stagedEvidence: string;
  readonly stagedIndex: string;
  readonly pending: string;
  readonly public: string;
  readonly publicTargets: string;
  readonly publicEvidence: string;
  readonly publicLog: string;
}

/** repoPaths names the files of the repository folder `dir`. */
export function repoPaths(dir: string): RepoPaths {
  const staged = join(dir, 'staged');
  const pub = join(dir, 'public');
  return Object.freeze({
    dir,
    config: join(dir, 'repo.json'),
    staged,
    stagedTargets: join(staged, 'targets'),
    stagedEvidence: join(staged, 'evidence'),
    stagedIndex: join(staged, 'index.json'),
    pending: join(dir, 'pending'),
    public: pub,
    publicTargets: join(pub, 'targets'),
    publicEvidence: join(pub, 'evidence'),
    publicLog: join(pub, 'log'),
  });
}

/** isRepositoryName reports whether `name` may name a repository (it appears in release records). */
export function isRepositoryName(name: string): boolean {
  return repositoryNamePattern.test(name);
}

/** formatRepoConfig returns repo.json's bytes (deterministic JSON, one trailing newline). */
export function formatRepoConfig(config: RepoConfig): Uint8Array {
  return jsonFile({
    _type: repoConfigType,
    name: config.name,
    expires: { ...config.expires },
    release: config.release,
    approver: config.approver,
    keyNames: { ...config.keyNames },
  });
}

/** parseRepoConfig reads repo.json, throwing `malformed` naming the field for anything unexpected. */
export function parseRepoConfig(bytes: Uint8Array): RepoConfig {
  const value = parseJson(bytes, { maxBytes: maxConfigBytes, maxDepth: 4 });
  if (!isJsonObject(value)) throw malformed('repo.json is not a JSON object', '$');
  if (value['_type'] !== repoConfigType) throw malformed(`repo.json _type is not ${repoConfigType}`, '_type');
  const name = value['name'];
  if (typeof name !== 'string' || !isRepositoryName(name))
    throw malformed('repo.json name is invalid', 'name');
  const expiresValue = value['expires'];
  if (!isJsonObject(expiresValue)) throw malformed('repo.json expires is not an object', 'expires');
  const expires: Record<string, number> = {};
  for (const role of topRoles) {
    const days = expiresValue[role];
    if (typeof days !== 'number' || !Number.isSafeInteger(days) || days < 1 || days > maxExpiryDays)
      throw malformed(`repo.json expires.${role} is not 1 to ${maxExpiryDays} days`, `expires.${role}`);
    expires[role] = days;
  }
  const release = value['release'];
  const approver = value['approver'];
  if (typeof release !== 'string') throw malformed('repo.json release is not a vkey', 'release');
  if (typeof approver !== 'string') throw malformed('repo.json approver is not a vkey', 'approver');
  const namesValue = value['keyNames'];
  if (!isJsonObject(namesValue)) throw malformed('repo.json keyNames is not an object', 'keyNames');
  const keyNames: Record<string, string> = {};
  for (const [id, keyName] of Object.entries(namesValue)) {
    if (typeof keyName !== 'string') throw malformed('repo.json key name is not a string', `keyNames.${id}`);
    keyNames[id] = keyName;
  }
  return Object.freeze({
    name,
    expires: Object.freeze(expires as Record<TopRole, number>),
    release,
    approver,
    keyNames: Object.freeze(keyNames),
  });
}

/** readConfig reads and parses repo.json of a repository folder (`not-found` when there is none). */
export async function readConfig(paths: RepoPaths): Promise<RepoConfig> {
  const bytes = await readFileBounded(paths.config, maxConfigBytes);
  if (bytes === undefined)
    throw new VouchError('not-found', `${paths.dir} is not a repository (no repo.json)`, {
      field: paths.config,
    });
  return parseRepoConfig(bytes);
}

/** StagedTarget is one target waiting for the next targets version: its TUF target info and its file. */
export interface StagedTarget {
  readonly length: number;
  readonly sha256: string;
  /** custom is the target's `custom` object (with `vouch`, docs/updates.md). */
  readonly custom: JsonObject;
}

/**
 * StagedIndex lists what `staged/` holds: targets by path (their bytes are
 * `staged/targets/<sha256>`) and evidence files by SHA-256 (`staged/evidence/<sha256>.json`),
 * including evidence not named by any target (the approver's VSAs).
 */
export interface StagedIndex {
  readonly targets: Readonly<Record<string, StagedTarget>>;
  readonly evidence: readonly string[];
}

/** emptyIndex is the index of an empty `staged/`. */
export const emptyIndex: StagedIndex = Object.freeze({
  targets: Object.freeze({}),
  evidence: Object.freeze([]),
});

const hex64 = /^[0-9a-f]{64}$/;

/** readStagedIndex reads staged/index.json, or returns the empty index when there is none. */
export async function readStagedIndex(paths: RepoPaths): Promise<StagedIndex> {
  const bytes = await readFileBounded(paths.stagedIndex, maxIndexBytes);
  if (bytes === undefined) return emptyIndex;
  const value = parseJson(bytes, { maxBytes: maxIndexBytes, maxDepth: 32 });
  if (!isJsonObject(value) || !isJsonObject(value['targets']) || !Array.isArray(value['evidence']))
    throw malformed('staged/index.json is not {targets, evidence}', '$');
  const targets: Record<string, StagedTarget> = {};
  for (const [path, entry] of Object.entries(value['targets'] as JsonObject)) {
    if (
      !isJsonObject(entry) ||
      typeof entry['length'] !== 'number' ||
      typeof entry['sha256'] !== 'string' ||
      !hex64.test(entry['sha256']) ||
      !isJsonObject(entry['custom'])
    )
      throw malformed('staged/index.json has a bad target entry', `targets.${path}`);
    targets[path] = Object.freeze({
      length: entry['length'],
      sha256: entry['sha256'],
      custom: entry['custom'],
    });
  }
  const evidence: string[] = [];
  for (const digest of value['evidence'] as readonly JsonValue[]) {
    if (typeof digest !== 'string' || !hex64.test(digest))
      throw malformed('staged/index.json has a bad evidence digest', 'evidence');
    evidence.push(digest);
  }
  return Object.freeze({ targets: Object.freeze(targets), evidence: Object.freeze(evidence) });
}

/** writeStagedIndex replaces staged/index.json durably (targets sorted by path, evidence sorted). */
export async function writeStagedIndex(paths: RepoPaths, index: StagedIndex): Promise<void> {
  const targets: Record<string, JsonObject> = {};
  for (const path of Object.keys(index.targets).sort()) {
    const t = index.targets[path] as StagedTarget;
    targets[path] = { length: t.length, sha256: t.sha256, custom: t.custom };
  }
  await mkdirDurable(paths.staged);
  await writeFileDurable(
    paths.stagedIndex,
    jsonFile({ targets, evidence: [...new Set(index.evidence)].sort() }),
    {
      mode: 0o644,
    },
  );
}

/** jsonFile encodes a value as deterministic JSON followed by a newline. */
export function jsonFile(value: unknown): Uint8Array {
  const body = formatJson(value);
  const out = new Uint8Array(body.length + 1);
  out.set(body);
  out[body.length] = 0x0a;
  return out;
}

/** sha256Hex is the lowercase hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return formatHex(sha256(bytes));
}

/**
 * readFileBounded reads a regular file of at most `limit` bytes, returning undefined when it does
 * not exist. A larger file is `too-large`; a symbolic link or other special file `invalid-argument`.
 */
export async function readFileBounded(path: string, limit: number): Promise<Uint8Array | undefined> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!info.isFile())
    throw new VouchError('invalid-argument', `${path} is not a regular file`, { field: path });
  if (info.size > limit) throw tooLarge(path, limit, path);
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(Math.min(Number(info.size), limit) + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) throw tooLarge(path, limit, path);
      if (total === buffer.length) break;
    }
    return buffer.slice(0, total);
  } finally {
    await handle.close();
  }
}

/** readRequired is {@link readFileBounded} for a file that must exist (`not-found` otherwise). */
export async function readRequired(path: string, limit: number, what: string): Promise<Uint8Array> {
  const bytes = await readFileBounded(path, limit);
  if (bytes === undefined) throw new VouchError('not-found', `${what} is missing (${path})`, { field: path });
  return bytes;
}

/** writeDurable creates the parent folders and writes `bytes` at `path` durably (mode 0644). */
export async function writeDurable(path: string, bytes: Uint8Array): Promise<void> {
  await mkdirDurable(dirname(path));
  await writeFileDurable(path, bytes, { mode: 0o644 });
}

/**
 * writeImmutable writes a file that, once published, never changes: identical bytes already
 * there are fine (a retried publish), different bytes are `conflict` and nothing is written.
 */
export async function writeImmutable(path: string, bytes: Uint8Array, limit: number): Promise<void> {
  const existing = await readFileBounded(path, limit);
  if (existing !== undefined) {
    if (sha256Hex(existing) === sha256Hex(bytes)) return;
    throw new VouchError(
      'conflict',
      `${path} already exists with other content; published files never change`,
      {
        field: path,
      },
    );
  }
  await writeDurable(path, bytes);
}

/** listFiles returns the names in a folder, or an empty list when it does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw error;
  }
}

/** removeIfPresent deletes a file, ignoring one that is already gone. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
}

/**
 * latestVersion returns the highest N of the files `N.<role>.json` in `dir`, or 0 when there is
 * none. Only canonical decimals count.
 */
export async function latestVersion(dir: string, role: TopRole): Promise<number> {
  let best = 0;
  const pattern = new RegExp(`^([1-9][0-9]{0,14})\\.${role}\\.json$`);
  for (const name of await listFiles(dir)) {
    const match = pattern.exec(name);
    if (match !== null) best = Math.max(best, Number(match[1]));
  }
  return best;
}
