/**
 * The agent's state folder: where each file lives, and reading and writing the small ones.
 *
 *     config.json              the configuration (config.ts)
 *     release-policy.json      what a release needs (core/release): builders, rebuilders,
 *                              reviewers, and the release log's key with its witness quorum
 *     metadata/                trusted TUF metadata, unversioned names as in tuf-conformance's
 *       root.json timestamp.json snapshot.json targets.json     client layout
 *     installed/<key>/         one folder per installed target name (install.ts)
 *     status.json              the last run's outcome (status.ts)
 *
 * Every write goes through storage/fs's durable helper (temp file, fsync, rename, fsync the
 * folder). Trusted metadata is written only at the end of a run that verified everything
 * ("verify, then persist"), timestamp last: a crash while persisting leaves a mix of old and new
 * files, each of which was verified, and the next run starts from the root it finds and
 * re-verifies the rest against it — the TUF state machine refuses anything inconsistent, so the
 * worst case is a run that fetches again.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeUntrusted, VouchError } from '../../core/errors.ts';
import { mkdirDurable, writeFileDurable } from '../../storage/fs/durable.ts';
import { type AgentConfig, maxConfigBytes, parseAgentConfig } from './config.ts';

/** TopLevelRole names the four metadata files the agent keeps. */
export type TopLevelRole = 'root' | 'timestamp' | 'snapshot' | 'targets';

/** topLevelRoles lists them in the order a run persists them (timestamp last). */
export const topLevelRoles: readonly TopLevelRole[] = Object.freeze([
  'root',
  'targets',
  'snapshot',
  'timestamp',
]);

/** StatePaths are the paths of a state folder's files. */
export interface StatePaths {
  readonly dir: string;
  readonly config: string;
  readonly releasePolicy: string;
  readonly metadata: string;
  readonly installed: string;
  readonly status: string;
}

/** statePaths returns the paths of the state folder `dir`. */
export function statePaths(dir: string): StatePaths {
  return Object.freeze({
    dir,
    config: join(dir, 'config.json'),
    releasePolicy: join(dir, 'release-policy.json'),
    metadata: join(dir, 'metadata'),
    installed: join(dir, 'installed'),
    status: join(dir, 'status.json'),
  });
}

/** metadataPath returns the path of a trusted metadata file. */
export function metadataPath(paths: StatePaths, role: TopLevelRole): string {
  return join(paths.metadata, `${role}.json`);
}

/**
 * readStateFile reads a file of the state folder of at most `limit` bytes, or undefined when it
 * does not exist; `too-large` over the limit.
 */
export async function readStateFile(path: string, limit: number): Promise<Uint8Array | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
  if (bytes.length > limit) {
    throw new VouchError('too-large', `${describeUntrusted(path)} exceeds the limit of ${limit}`, {
      field: path,
      limit,
    });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** readRequiredStateFile is {@link readStateFile} for a file that must exist (`not-found` naming it). */
export async function readRequiredStateFile(path: string, limit: number): Promise<Uint8Array> {
  const bytes = await readStateFile(path, limit);
  if (bytes === undefined) {
    throw new VouchError(
      'not-found',
      `${describeUntrusted(path)} is missing: is this an agent state folder?`,
      {
        field: path,
      },
    );
  }
  return bytes;
}

/** readConfig reads and parses config.json. */
export async function readConfig(paths: StatePaths): Promise<AgentConfig> {
  return parseAgentConfig(await readRequiredStateFile(paths.config, maxConfigBytes));
}

/** writeStateFile writes a state file durably, creating its folder if needed. */
export async function writeStateFile(path: string, bytes: Uint8Array): Promise<void> {
  await writeFileDurable(path, bytes);
}

/** ensureStateFolders creates `metadata/` and `installed/` durably when missing. */
export async function ensureStateFolders(paths: StatePaths): Promise<void> {
  await mkdirDurable(paths.metadata);
  await mkdirDurable(paths.installed);
}

/** TrustedFiles are the persisted metadata files' bytes; root is required, the rest optional. */
export interface TrustedFiles {
  readonly root: Uint8Array;
  readonly timestamp?: Uint8Array;
  readonly snapshot?: Uint8Array;
  readonly targets?: Uint8Array;
}

/** readTrustedFiles reads metadata/*.json with the configured caps. */
export async function readTrustedFiles(
  paths: StatePaths,
  limits: AgentConfig['limits'],
): Promise<TrustedFiles> {
  // Read concurrently: each is a separate small file, and a no-change check is mostly waiting.
  const [root, timestamp, snapshot, targets] = await Promise.all([
    readRequiredStateFile(metadataPath(paths, 'root'), limits.maxRootBytes),
    readStateFile(metadataPath(paths, 'timestamp'), limits.maxTimestampBytes),
    readStateFile(metadataPath(paths, 'snapshot'), limits.maxSnapshotBytes),
    readStateFile(metadataPath(paths, 'targets'), limits.maxTargetsBytes),
  ]);
  return {
    root,
    ...(timestamp === undefined ? {} : { timestamp }),
    ...(snapshot === undefined ? {} : { snapshot }),
    ...(targets === undefined ? {} : { targets }),
  };
}

/**
 * persistTrustedFiles writes the metadata files that changed, root first and timestamp last (see
 * the module comment for the crash story).
 */
export async function persistTrustedFiles(
  paths: StatePaths,
  files: Partial<Record<TopLevelRole, Uint8Array>>,
): Promise<void> {
  for (const role of topLevelRoles) {
    const bytes = files[role];
    if (bytes !== undefined) await writeFileDurable(metadataPath(paths, role), bytes);
  }
}
