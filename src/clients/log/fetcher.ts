/**
 * Fetching the files of a C2SP tiled log (https://c2sp.org/tlog-tiles): the small
 * {@link TileFetcher} interface every log client reads through, and the size bound each kind of file
 * gets before a byte of it is looked at. The implementations live beside it:
 * `http-fetcher.ts` (global fetch, timeouts, bounded retries), `folder-fetcher.ts` (a copy of a
 * log folder on disk) and `tile-cache.ts` (an on-disk cache of verified full tiles).
 *
 * A fetcher only moves bytes and enforces sizes; it verifies nothing. Whether the bytes are the
 * log's is decided by the client (client.ts) against a signed checkpoint. Only the read API's
 * paths are accepted — `checkpoint` and canonical `tile/...` paths — so no caller can make a
 * fetcher read outside the log. `open-fetcher.ts` picks the implementation for a `--log` value.
 */

import { malformed, tooLarge, VouchError } from '../../core/errors.ts';
import { defaultNoteLimits } from '../../core/note/index.ts';
import { maxEntryBundleSize, maxEntrySize } from '../../core/tlog/entry-bundle.ts';
import { fullTileWidth, parseTilePath, type Tile } from '../../core/tlog/tile-path.ts';

/**
 * TileFetcher reads files of one log by their path under the log's prefix (`checkpoint`,
 * `tile/0/x001/234`, `tile/entries/005.p/7`). `get` resolves to the bytes, or undefined when the
 * log does not have the file (HTTP 404, no such file); it rejects with `unavailable` when the log
 * could not be reached, `too-large` or `malformed` when the file breaks its size bound (see
 * {@link fileLimits}), and `invalid-argument` for a path outside the read API.
 *
 * `save`, when present, is called by the client with a file it has verified against a signed
 * checkpoint, and only then (golang/mod's `TileReader.SaveTiles`): a caching fetcher stores it.
 */
export interface TileFetcher {
  get(path: string): Promise<Uint8Array | undefined>;
  save?(path: string, data: Uint8Array): Promise<void>;
}

/** checkpointPath is the path of a log's checkpoint under its prefix. */
export const checkpointPath = 'checkpoint';

/** maxCheckpointBytes bounds a fetched checkpoint note: the signed-note parser's own 1 MiB limit. */
export const maxCheckpointBytes = defaultNoteLimits.maxBytes;

/**
 * FileLimits is the size bound of one file of the read API: the checkpoint at most 1 MiB, a hash
 * tile exactly width·32 bytes, an entry bundle at most width·65537 bytes (and at most the
 * fetcher's configured bundle bound).
 */
export interface FileLimits {
  /** tile is the parsed tile path, or undefined for the checkpoint. */
  readonly tile: Tile | undefined;
  /** maxBytes is the largest body accepted; a longer one is `too-large`. */
  readonly maxBytes: number;
  /** exactBytes, when set, is the only length accepted; a shorter body is `malformed`. */
  readonly exactBytes?: number;
}

/**
 * fileLimits returns the size bound of the file at `path`, or throws `invalid-argument` when the
 * path is neither `checkpoint` nor a canonical tile path. `maxBundleBytes` lowers the bound of
 * entry bundles for logs known to hold small entries.
 */
export function fileLimits(path: string, maxBundleBytes: number = maxEntryBundleSize): FileLimits {
  if (path === checkpointPath) return { tile: undefined, maxBytes: maxCheckpointBytes };
  let tile: Tile;
  try {
    tile = parseTilePath(path);
  } catch {
    throw new VouchError('invalid-argument', 'not a path of the tlog-tiles read API', { field: 'path' });
  }
  if (tile.kind === 'hash') return { tile, maxBytes: tile.width * 32, exactBytes: tile.width * 32 };
  const widest = tile.width === fullTileWidth ? maxEntryBundleSize : tile.width * (2 + maxEntrySize);
  return { tile, maxBytes: Math.min(widest, maxBundleBytes) };
}

/**
 * checkFileSize throws `too-large` when `length` exceeds the bound of `limits`, and `malformed`
 * when the bound is exact and `length` differs; the message names `path`, never the content.
 */
export function checkFileSize(path: string, limits: FileLimits, length: number): void {
  if (length > limits.maxBytes) throw tooLarge(`${path} from the log`, limits.maxBytes, path);
  if (limits.exactBytes !== undefined && length !== limits.exactBytes) {
    throw malformed(`${path} from the log has ${length} bytes, not ${limits.exactBytes}`, path);
  }
}
