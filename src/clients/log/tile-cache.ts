/**
 * An on-disk cache for a log client, after golang/mod's `TileReader.SaveTiles`: verify, then
 * persist. {@link CachingTileFetcher} answers reads of full hash tiles and full entry bundles from
 * a folder and stores such a file only when the client calls `save` — which it does only after
 * checking the file against a signed checkpoint. Full tiles and bundles are immutable in
 * tlog-tiles (https://c2sp.org/tlog-tiles), so a verified one never goes stale; partial tiles and
 * bundles change as the log grows, and are neither stored nor answered. The checkpoint is never
 * answered from the cache either: {@link readLatestCheckpoint} and {@link saveLatestCheckpoint}
 * keep the last verified one apart, as the state a client checks the next checkpoint's
 * consistency against (rollback and fork defence).
 *
 * Files go through the blob store's durable, write-once puts (storage/fs), so a crash leaves a
 * complete file or none. A cached file is not trusted on read: the client verifies it like one
 * from the network. LIMIT: a cache file that was corrupted on disk therefore makes verification
 * fail (closed) until the cache folder is removed; it is not healed automatically.
 */

import { VouchError } from '../../core/errors.ts';
import { fullTileWidth } from '../../core/tlog/tile-path.ts';
import { FsBlobStore } from '../../storage/fs/blob.ts';
import { checkFileSize, checkpointPath, fileLimits, type TileFetcher } from './fetcher.ts';

/** latestCheckpointKey is the cache file holding the last verified checkpoint note. */
export const latestCheckpointKey = 'latest-checkpoint';

/**
 * CachingTileFetcher decorates `inner` with a cache folder `dir` (created on first save). `get`
 * answers full tiles and bundles from the folder when present, else asks `inner`; `save` stores
 * full tiles and bundles and ignores every other path. A different file already cached under the
 * same path is a `conflict` (two verified views of one immutable tile: a fork, or a corrupted cache).
 */
export class CachingTileFetcher implements TileFetcher {
  readonly inner: TileFetcher;
  readonly dir: string;
  readonly #store: FsBlobStore;

  constructor(inner: TileFetcher, dir: string) {
    this.inner = inner;
    this.dir = dir;
    this.#store = new FsBlobStore(dir);
  }

  async get(path: string): Promise<Uint8Array | undefined> {
    if (isImmutable(path)) {
      const cached = await this.#store.get(path);
      if (cached !== undefined) {
        checkFileSize(path, fileLimits(path), cached.length);
        return cached;
      }
    }
    return this.inner.get(path);
  }

  async save(path: string, data: Uint8Array): Promise<void> {
    if (!isImmutable(path)) return;
    checkFileSize(path, fileLimits(path), data.length);
    await this.#store.put(path, data);
  }
}

/**
 * isImmutable reports whether `path` names a full hash tile or a full entry bundle — the only
 * files of the read API that never change once published.
 */
export function isImmutable(path: string): boolean {
  if (path === checkpointPath) return false;
  try {
    return fileLimits(path).tile?.width === fullTileWidth;
  } catch {
    return false;
  }
}

/**
 * readLatestCheckpoint returns the checkpoint note saved in the cache folder `dir`, or undefined
 * if none was saved. Its bytes are as saved and must be opened (verified) again before use.
 */
export async function readLatestCheckpoint(dir: string): Promise<Uint8Array | undefined> {
  const bytes = await new FsBlobStore(dir).get(latestCheckpointKey);
  if (bytes !== undefined) checkFileSize(latestCheckpointKey, fileLimits(checkpointPath), bytes.length);
  return bytes;
}

/**
 * saveLatestCheckpoint durably replaces the saved checkpoint with `note`. Call it only with a
 * checkpoint that verified and was found consistent with the one saved before.
 */
export async function saveLatestCheckpoint(dir: string, note: Uint8Array): Promise<void> {
  if (note.length === 0) throw new VouchError('invalid-argument', 'an empty checkpoint cannot be saved');
  await new FsBlobStore(dir).publish(latestCheckpointKey, note);
}
