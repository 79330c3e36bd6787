/**
 * The metadata half of an update run: TUF's client workflow (spec §5) driven over HTTP, with
 * every decision left to core/tuf's {@link TrustedMetadata} state machine. This module only
 * fetches what the state machine asks for, with the caps it implies:
 *
 * 1. load the persisted metadata folder (root.json, timestamp.json, snapshot.json, targets.json);
 * 2. probe `N+1.root.json` until the repository answers 404 or 403 (§5.3.3), at most
 *    `maxRootRotations` times, then finish the root chain (freeze, fast-forward recovery);
 * 3. fetch `timestamp.json`; when its version is the trusted one, reuse the persisted snapshot
 *    and targets — the no-change check is exactly those two requests;
 * 4. otherwise fetch `V.snapshot.json` and `V.targets.json` (consistent snapshots) with the
 *    lengths the referrer gives as caps.
 *
 * It returns what to persist if the run succeeds, and every root, snapshot and targets file
 * trusted for the first time, which the caller must find in the release log. Nothing is written.
 */

import { equalBytes } from '../../core/bytes/index.ts';
import { VouchError } from '../../core/errors.ts';
import type { TargetFile } from '../../core/tuf/metadata.ts';
import { metadataFileName } from '../../core/tuf/metadata.ts';
import { TrustedMetadata } from '../../core/tuf/trusted.ts';
import type { AgentLimits } from './config.ts';
import type { AgentFetcher } from './fetcher.ts';
import type { TopLevelRole, TrustedFiles } from './state.ts';

/** NewFile is a metadata file trusted for the first time: its published name and exact bytes. */
export interface NewFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** RefreshResult is the outcome of the metadata steps. */
export interface RefreshResult {
  /** unchanged is true when the timestamp was the trusted one (nothing new on the server). */
  readonly unchanged: boolean;
  /** versions are the trusted versions of the four roles after the refresh. */
  readonly versions: Record<string, number>;
  /** newlyTrusted lists new roots (oldest first), then new targets and new snapshot. */
  readonly newlyTrusted: readonly NewFile[];
  /** targets are the trusted targets, by path. */
  readonly targets: ReadonlyMap<string, TargetFile>;
  /** persist is what to write to the metadata folder once the whole run succeeded. */
  readonly persist: Partial<Record<TopLevelRole, Uint8Array>>;
  /** trusted is the state machine, for target lookups. */
  readonly trusted: TrustedMetadata;
}

/** RefreshOptions are the caps and the reference time of the run. */
export interface RefreshOptions {
  readonly limits: AgentLimits;
  /** nowSeconds is the run's fixed reference time (§5.1). */
  readonly nowSeconds: number;
}

/** refreshMetadata runs the metadata steps (see the module comment) or throws core/tuf's refusal. */
export async function refreshMetadata(
  fetcher: AgentFetcher,
  files: TrustedFiles,
  options: RefreshOptions,
): Promise<RefreshResult> {
  const { limits } = options;
  const tufLimits = {
    rootBytes: limits.maxRootBytes,
    timestampBytes: limits.maxTimestampBytes,
    snapshotBytes: limits.maxSnapshotBytes,
    targetsBytes: limits.maxTargetsBytes,
    maxRootRotations: limits.maxRootRotations,
  };
  const trusted = TrustedMetadata.load(files, options.nowSeconds, tufLimits);
  const newlyTrusted: NewFile[] = [];

  // §5.3: the root chain. One probe past the last rotation allowed lets the state machine
  // refuse a chain that is too long rather than silently stopping.
  for (let i = 0; i <= limits.maxRootRotations; i++) {
    const name = `${trusted.root.fields.version + 1}.root.json`;
    const result = await fetcher.get(name, limits.maxRootBytes, name);
    if (!result.found) break;
    const { metadata } = trusted.updateRoot(result.data);
    newlyTrusted.push({
      name: metadataFileName('root', metadata.fields.version, true),
      bytes: metadata.bytes,
    });
  }
  trusted.finishRoots();

  // §5.4: the timestamp.
  const timestampBytes = await fetcher.getFound('timestamp.json', limits.maxTimestampBytes, 'timestamp.json');
  const timestamp = trusted.updateTimestamp(timestampBytes);
  const unchanged = !timestamp.isNew && trusted.reuseSnapshot() && trusted.reuseTargets();

  let newTargets: NewFile | undefined;
  let newSnapshot: NewFile | undefined;
  if (!unchanged) {
    const consistent = trusted.root.fields.consistentSnapshot;
    // §5.5: the snapshot, capped by the length the timestamp gives (the state machine checks it).
    const snapshotMeta = timestamp.metadata.fields.snapshot;
    const snapshotName = metadataFileName('snapshot', snapshotMeta.version, consistent);
    const snapshotBytes = await fetcher.getFound(
      snapshotName,
      Math.min(limits.maxSnapshotBytes, snapshotMeta.length ?? limits.maxSnapshotBytes),
      snapshotName,
    );
    const snapshot = trusted.updateSnapshot(snapshotBytes);
    if (snapshot.isNew) newSnapshot = { name: snapshotName, bytes: snapshot.metadata.bytes };

    // §5.6: targets.
    const targetsMeta = snapshot.metadata.fields.meta.get('targets.json');
    const targetsVersion = targetsMeta?.version ?? 0;
    const targetsName = metadataFileName('targets', targetsVersion, consistent);
    const targetsBytes = await fetcher.getFound(
      targetsName,
      Math.min(limits.maxTargetsBytes, targetsMeta?.length ?? limits.maxTargetsBytes),
      targetsName,
    );
    const targets = trusted.updateTargets(targetsBytes);
    if (targets.isNew) newTargets = { name: targetsName, bytes: targets.metadata.bytes };
  }
  if (newTargets !== undefined) newlyTrusted.push(newTargets);
  if (newSnapshot !== undefined) newlyTrusted.push(newSnapshot);

  const finalTargets = trusted.targets;
  if (finalTargets === undefined)
    throw new VouchError('invariant', 'internal error: no trusted targets after a refresh');
  const persisted = trusted.persisted();
  const persist: Partial<Record<TopLevelRole, Uint8Array>> = {};
  for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
    const now = persisted[role];
    const before = files[role];
    if (now !== undefined && (before === undefined || !equalBytes(now, before))) persist[role] = now;
  }
  return {
    unchanged,
    versions: {
      root: trusted.root.fields.version,
      timestamp: trusted.timestamp?.fields.version ?? 0,
      snapshot: trusted.snapshot?.fields.version ?? 0,
      targets: finalTargets.fields.version,
    },
    newlyTrusted,
    targets: finalTargets.fields.targets,
    persist,
    trusted,
  };
}
