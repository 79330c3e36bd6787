/**
 * Installed versions and the atomic swap. Each installed target name (a product or a rule
 * database, keyed `<kind>-<name>`) has a folder:
 *
 *     installed/<key>/current.json      the pointer: current version and the previous one
 *     installed/<key>/current           a symbolic link to the current version's folder
 *     installed/<key>/versions/<v>/     one folder per kept version (current and previous)
 *
 * Crash story of an install, in order: (1) stage — write every file of the new version into a
 * fresh `.staging-*` folder, fsync each file and the folder; (2) rename the staging folder to
 * `versions/<v>` and fsync `versions/`; (3) write `current.json` with the durable helper
 * (temp, fsync, rename, fsync) — COMMIT POINT: before it the old version is current and the new
 * folder is an unreferenced leftover, after it the new one is; (4) swap the `current` link the
 * same way (a new link renamed over the old one); (5) delete version folders that are neither
 * current nor previous. A crash after (3) but before (4) leaves a stale link that the next
 * commit or {@link InstallStore.repair} fixes; `current.json` is authoritative. Leftover staging
 * and version folders are removed by the next commit. Rolling back swaps current and previous
 * the same way and PINS the key: `current.json` records the version rolled back from, and update
 * runs skip the key (reporting it) until targets offer a newer version than that one, or the
 * operator unpins it ({@link InstallStore.unpin}, `vouch agent rollback --unpin`).
 */

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { toBytes } from '../../core/bytes/index.ts';
import { describeUntrusted, malformed, VouchError } from '../../core/errors.ts';
import { isJsonObject, type JsonObject, parseJson } from '../../core/json/index.ts';
import { mkdirDurable, syncDirectory, writeFileDurable } from '../../storage/fs/durable.ts';
import { readStateFile } from './state.ts';
import { compareVersions } from './targets.ts';

/** InstallKind is what an installed target is. */
export type InstallKind = 'product' | 'rules';

/** InstalledVersion describes one installed version of a target name. */
export interface InstalledVersion {
  readonly kind: InstallKind;
  readonly name: string;
  /** version is the target's `custom.vouch.version` (a rule database's is a decimal integer). */
  readonly version: string;
  /** target is the TUF target path it was installed from. */
  readonly target: string;
  readonly length: number;
  /** sha256 is the hex digest of the target file (for a rule database, of its bundle). */
  readonly sha256: string;
  /** folder is the version's folder name under `versions/`. */
  readonly folder: string;
  /** installedAt is an ISO date. */
  readonly installedAt: string;
  /** via says how it was obtained: the full target or a delta from the previous version. */
  readonly via: 'full' | 'delta';
}

/** Pin records a rollback: the version rolled back from, which update runs will not reinstall. */
export interface Pin {
  /** from is the version rolled back from; only a newer version than it is installed. */
  readonly from: string;
  /** sha256 is the SHA-256 of the target rolled back from. */
  readonly sha256: string;
  /** at is when the rollback happened (ISO 8601). */
  readonly at: string;
}

/** InstalledRecord is `current.json`. */
export interface InstalledRecord {
  readonly current: InstalledVersion;
  readonly previous?: InstalledVersion;
  /** pinned is set by a rollback to an older version (see the module comment). */
  readonly pinned?: Pin;
}

/** StagedVersion is a new version written and made durable but not yet current. */
export interface StagedVersion {
  readonly key: string;
  /** dir is its folder (already under `versions/`). */
  readonly dir: string;
  readonly folder: string;
}

const folderPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * versionFolder returns the folder name of a target version: `<version>-<first 12 hex of its
 * sha256>`, with `+` (allowed in versions, not in folder names) written as `_` (never in a
 * version), so distinct versions keep distinct names. Throws `malformed` for anything else unsafe.
 */
export function versionFolder(version: string, sha256: string): string {
  const folder = `${version.replaceAll('+', '_')}-${sha256.slice(0, 12)}`;
  if (!folderPattern.test(folder)) throw malformed('bad version folder name', folder);
  return folder;
}

const maxRecordBytes = 16 * 1024;

/** installKey returns the folder name of a target name: `<kind>-<name>`, or throws `malformed`. */
export function installKey(kind: InstallKind, name: string): string {
  if (!folderPattern.test(name)) {
    throw malformed(
      `target name ${JSON.stringify(describeUntrusted(name))} is not a safe folder name`,
      'name',
    );
  }
  return `${kind}-${name}`;
}

/** InstallStore manages `installed/` (see the module comment). */
export class InstallStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** read returns the record of `key`, or undefined when nothing is installed under it. */
  async read(key: string): Promise<InstalledRecord | undefined> {
    const bytes = await readStateFile(join(this.dir, key, 'current.json'), maxRecordBytes);
    return bytes === undefined ? undefined : parseRecord(bytes);
  }

  /** list returns every installed record by key. */
  async list(): Promise<Map<string, InstalledRecord>> {
    const out = new Map<string, InstalledRecord>();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return out;
      throw error;
    }
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const record = await this.read(name);
      if (record !== undefined) out.set(name, record);
    }
    return out;
  }

  /** currentDir returns the folder of the current version of `key`, or undefined. */
  async currentDir(key: string): Promise<string | undefined> {
    const record = await this.read(key);
    return record === undefined ? undefined : this.versionDir(key, record.current.folder);
  }

  /** versionDir returns the folder of a version of `key`. */
  versionDir(key: string, folder: string): string {
    return join(this.dir, key, 'versions', folder);
  }

  /**
   * stage writes `files` (relative path → bytes; folders are created) as a new version of `key`
   * named `folder`, durably, under `versions/`. An existing folder of that name (a leftover of
   * an interrupted run, never the current or previous one) is replaced. When `folder` is the
   * current or previous version and `sha256` is the SHA-256 recorded for it, that folder is
   * reused as is (after a rollback, the version rolled back from is the previous one); with
   * another or no `sha256` it is `conflict`.
   */
  async stage(
    key: string,
    folder: string,
    files: ReadonlyMap<string, Uint8Array>,
    sha256?: string,
  ): Promise<StagedVersion> {
    if (!folderPattern.test(folder)) throw malformed('bad version folder name', folder);
    const keyDir = join(this.dir, key);
    await mkdirDurable(join(keyDir, 'versions'));
    const record = await this.read(key);
    const inUse = [record?.current, record?.previous].find((v) => v?.folder === folder);
    if (inUse !== undefined) {
      if (sha256 !== undefined && inUse.sha256 === sha256) {
        return { key, dir: this.versionDir(key, folder), folder };
      }
      throw new VouchError('conflict', `version folder ${folder} of ${key} is in use`, { field: folder });
    }
    const staging = join(keyDir, `.staging-${randomBytes(6).toString('hex')}`);
    await mkdir(staging);
    try {
      const dirs = new Set<string>([staging]);
      for (const [path, bytes] of files) {
        if (path.split('/').some((s) => s === '' || s === '.' || s === '..') || path.startsWith('/')) {
          throw malformed('bad installed file path', path);
        }
        const full = join(staging, path);
        await mkdir(dirname(full), { recursive: true });
        dirs.add(dirname(full));
        await writeSynced(full, bytes);
      }
      for (const dir of dirs) await syncDirectory(dir);
      const target = this.versionDir(key, folder);
      await rm(target, { recursive: true, force: true });
      await rename(staging, target);
      await syncDirectory(join(keyDir, 'versions'));
      return { key, dir: target, folder };
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  /** discard removes a staged version that will not be committed. */
  async discard(staged: StagedVersion): Promise<void> {
    const record = await this.read(staged.key);
    if (record?.current.folder === staged.folder || record?.previous?.folder === staged.folder) return;
    await rm(staged.dir, { recursive: true, force: true });
  }

  /**
   * commit makes a staged version current, keeping the old current as previous (see the module
   * comment for the order), and returns the new record.
   */
  async commit(staged: StagedVersion, version: InstalledVersion): Promise<InstalledRecord> {
    const old = await this.read(staged.key);
    const record: InstalledRecord =
      old === undefined ? { current: version } : { current: version, previous: old.current };
    await this.#swap(staged.key, record);
    return record;
  }

  /**
   * rollback makes the previous version current again (and the current one previous). Going
   * back to an older version pins the key to it (see the module comment); `at` is the time.
   */
  async rollback(key: string, at: Date = new Date()): Promise<InstalledRecord> {
    const old = await this.read(key);
    if (old?.previous === undefined) {
      throw new VouchError('not-found', `${key} has no previous version to roll back to`, { field: key });
    }
    const older = compareVersions(old.previous.version, old.current.version) < 0;
    const pinned: Pin = { from: old.current.version, sha256: old.current.sha256, at: at.toISOString() };
    const record: InstalledRecord = {
      current: old.previous,
      previous: old.current,
      ...(older ? { pinned } : {}),
    };
    await this.#swap(key, record);
    return record;
  }

  /**
   * unpin removes the pin of `key`, so the next update installs the newest version again; it
   * returns the record, unchanged when it was not pinned.
   */
  async unpin(key: string): Promise<InstalledRecord> {
    const old = await this.read(key);
    if (old === undefined)
      throw new VouchError('not-found', `nothing is installed as ${key}`, { field: key });
    if (old.pinned === undefined) return old;
    const record: InstalledRecord =
      old.previous === undefined
        ? { current: old.current }
        : { current: old.current, previous: old.previous };
    await writeFileDurable(join(this.dir, key, 'current.json'), formatRecord(record));
    return record;
  }

  /** repair points the `current` link at the version `current.json` names. */
  async repair(key: string): Promise<void> {
    const record = await this.read(key);
    if (record !== undefined) await this.#link(key, record.current.folder);
  }

  async #swap(key: string, record: InstalledRecord): Promise<void> {
    const keyDir = join(this.dir, key);
    await writeFileDurable(join(keyDir, 'current.json'), formatRecord(record)); // COMMIT POINT
    await this.#link(key, record.current.folder);
    const keep = new Set([record.current.folder, record.previous?.folder]);
    for (const name of await readdir(join(keyDir, 'versions'))) {
      if (!keep.has(name)) await rm(join(keyDir, 'versions', name), { recursive: true, force: true });
    }
    for (const name of await readdir(keyDir)) {
      if (name.startsWith('.staging-')) await rm(join(keyDir, name), { recursive: true, force: true });
    }
  }

  async #link(key: string, folder: string): Promise<void> {
    const keyDir = join(this.dir, key);
    const temp = join(keyDir, `.current-${randomBytes(6).toString('hex')}`);
    await symlink(join('versions', folder), temp);
    await rename(temp, join(keyDir, 'current'));
    await syncDirectory(keyDir);
  }
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** formatRecord encodes current.json. */
export function formatRecord(record: InstalledRecord): Uint8Array {
  return toBytes(`${JSON.stringify(record, null, 2)}\n`);
}

/** parseRecord decodes current.json, or throws `malformed`. */
export function parseRecord(bytes: Uint8Array): InstalledRecord {
  const value = parseJson(bytes, { maxBytes: maxRecordBytes });
  if (!isJsonObject(value)) throw malformed('current.json is not an object');
  const current = parseVersion(value.current, 'current');
  const previous = value.previous === undefined ? undefined : parseVersion(value.previous, 'previous');
  const pinned = value.pinned === undefined ? undefined : parsePin(value.pinned);
  return Object.freeze({
    current,
    ...(previous === undefined ? {} : { previous }),
    ...(pinned === undefined ? {} : { pinned }),
  });
}

function parsePin(value: unknown): Pin {
  if (!isJsonObject(value as never)) throw malformed('pinned is not an object', 'pinned');
  const v = value as JsonObject;
  const { from, sha256, at } = v;
  if (typeof from !== 'string' || typeof sha256 !== 'string' || typeof at !== 'string') {
    throw malformed('pinned needs from, sha256 and at', 'pinned');
  }
  return Object.freeze({ from, sha256, at });
}

function parseVersion(value: unknown, field: string): InstalledVersion {
  if (!isJsonObject(value as never)) throw malformed('installed version is not an object', field);
  const v = value as JsonObject;
  const str = (k: string): string => {
    const s = v[k];
    if (typeof s !== 'string') throw malformed(`installed version has no ${k}`, `${field}.${k}`);
    return s;
  };
  const kind = str('kind');
  const via = str('via');
  if (kind !== 'product' && kind !== 'rules') throw malformed('bad installed kind', `${field}.kind`);
  if (via !== 'full' && via !== 'delta') throw malformed('bad installed via', `${field}.via`);
  const length = v.length;
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw malformed('bad installed length', `${field}.length`);
  }
  return Object.freeze({
    kind,
    name: str('name'),
    version: str('version'),
    target: str('target'),
    length,
    sha256: str('sha256'),
    folder: str('folder'),
    installedAt: str('installedAt'),
    via,
  });
}
