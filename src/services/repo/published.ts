/**
 * Reading the repository's state back: the latest published metadata of each role in `public/`,
 * the pending root and targets in `pending/`, and the set of current targets (what the last
 * published targets lists, with what `staged/` adds or replaces). Metadata is parsed with
 * core/tuf and the published root chain is trusted as the repository's own output: this module
 * does not re-verify what the repository itself published (publish.ts verified it first).
 */

import { join } from 'node:path';
import { VouchError } from '../../core/errors.ts';
import type { JsonObject } from '../../core/json/index.ts';
import {
  type Metadata,
  maxBytesFor,
  parseMetadata,
  type RoleName,
  targetFileName,
} from '../../core/tuf/metadata.ts';
import {
  latestVersion,
  maxMetadataBytes,
  type RepoPaths,
  readFileBounded,
  readStagedIndex,
} from './layout.ts';

/** pendingFile is the file of a role's metadata being signed (`pending/root.json`, ...). */
export function pendingFile(paths: RepoPaths, role: RoleName): string {
  return join(paths.pending, `${role}.json`);
}

/** readPending returns the parsed pending metadata of `role`, or undefined when there is none. */
export async function readPending<R extends RoleName>(
  paths: RepoPaths,
  role: R,
): Promise<Metadata<R> | undefined> {
  const bytes = await readFileBounded(pendingFile(paths, role), maxMetadataBytes);
  return bytes === undefined ? undefined : parseMetadata(role, bytes, maxMetadataBytes);
}

/**
 * readPublished returns the latest published metadata of `role` (`timestamp.json` for
 * timestamp, the highest `N.ROLE.json` otherwise), or undefined when none is published.
 */
export async function readPublished<R extends RoleName>(
  paths: RepoPaths,
  role: R,
): Promise<Metadata<R> | undefined> {
  if (role === 'timestamp') {
    const bytes = await readFileBounded(join(paths.public, 'timestamp.json'), maxBytesFor('timestamp'));
    return bytes === undefined ? undefined : parseMetadata(role, bytes);
  }
  const version = await latestVersion(paths.public, role);
  if (version === 0) return undefined;
  const bytes = await readFileBounded(join(paths.public, `${version}.${role}.json`), maxMetadataBytes);
  if (bytes === undefined)
    throw new VouchError('invariant', `internal error: ${version}.${role}.json vanished`);
  return parseMetadata(role, bytes, maxMetadataBytes);
}

/**
 * effectiveRoot is the root that governs the next release: the pending root when a rotation is
 * being signed (it is published together with the release), else the latest published one.
 * Throws `not-found` when the folder has neither (not initialised).
 */
export async function effectiveRoot(paths: RepoPaths): Promise<Metadata<'root'>> {
  const root = (await readPending(paths, 'root')) ?? (await readPublished(paths, 'root'));
  if (root === undefined)
    throw new VouchError('not-found', `${paths.dir} has no root metadata: run vouch repo init first`, {
      field: paths.dir,
    });
  return root;
}

/** TargetEntry is a current target: its path, length, SHA-256, custom JSON and where its bytes are. */
export interface TargetEntry {
  readonly path: string;
  readonly length: number;
  readonly sha256: string;
  readonly custom: JsonObject;
  /** staged is true when the bytes are in `staged/targets/`, false when published. */
  readonly staged: boolean;
}

/**
 * currentTargets lists the targets of the next targets version: every target of the latest
 * published targets, replaced or extended by the staged ones, sorted by path.
 */
export async function currentTargets(paths: RepoPaths): Promise<Map<string, TargetEntry>> {
  const out = new Map<string, TargetEntry>();
  const published = await readPublished(paths, 'targets');
  for (const [path, target] of published?.fields.targets ?? []) {
    const sha256 = target.hashes['sha256'];
    if (sha256 === undefined)
      throw new VouchError('invariant', `internal error: published target ${path} has no sha256`);
    const custom = (target.custom ?? {}) as JsonObject;
    out.set(path, Object.freeze({ path, length: target.length, sha256, custom, staged: false }));
  }
  const index = await readStagedIndex(paths);
  for (const [path, target] of Object.entries(index.targets)) {
    out.set(
      path,
      Object.freeze({
        path,
        length: target.length,
        sha256: target.sha256,
        custom: target.custom,
        staged: true,
      }),
    );
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** targetFilePath is where a published target's bytes live: `public/targets/<dirs>/<sha256>.<basename>`. */
export function targetFilePath(paths: RepoPaths, path: string, sha256: string): string {
  return join(paths.publicTargets, targetFileName(path, sha256));
}

/** evidenceOf returns the evidence digests a target's `custom.vouch` names (provenance, rebuilds, review). */
export function evidenceOf(custom: JsonObject | undefined): string[] {
  const vouch = custom?.['vouch'];
  if (vouch === undefined || vouch === null || typeof vouch !== 'object' || Array.isArray(vouch)) return [];
  const evidence = (vouch as JsonObject)['evidence'];
  if (evidence === undefined || evidence === null || typeof evidence !== 'object' || Array.isArray(evidence))
    return [];
  const e = evidence as JsonObject;
  const out: string[] = [];
  if (typeof e['provenance'] === 'string') out.push(e['provenance']);
  if (Array.isArray(e['rebuilds'])) for (const r of e['rebuilds']) if (typeof r === 'string') out.push(r);
  if (typeof e['review'] === 'string') out.push(e['review']);
  return out;
}
