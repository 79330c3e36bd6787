/**
 * A {@link TileFetcher} over a folder that holds a copy of a C2SP tiled log
 * (https://c2sp.org/tlog-tiles): `checkpoint` and `tile/...` files at their read-API paths, as a
 * log writes them or a mirror copies them. It lets every client check a log that was copied or
 * synced somewhere without a web server. The folder is read-only here; each read checks the
 * file's size against its bound (fetcher.ts) from `fstat` before reading it.
 */

import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { VouchError } from '../../core/errors.ts';
import { maxEntryBundleSize } from '../../core/tlog/entry-bundle.ts';
import { checkFileSize, fileLimits, type TileFetcher } from './fetcher.ts';

/** FolderTileFetcherOptions configures a {@link FolderTileFetcher}. */
export interface FolderTileFetcherOptions {
  /** maxEntryBundleBytes lowers the bound of an entry bundle (default: the format's maximum). */
  readonly maxEntryBundleBytes?: number;
}

/**
 * FolderTileFetcher reads a log's files under `dir`. A missing file (or folder) is undefined; any
 * other failure to read is `unavailable`. It has no `save`: it never writes.
 */
export class FolderTileFetcher implements TileFetcher {
  readonly dir: string;
  readonly #maxBundleBytes: number;

  constructor(dir: string, options: FolderTileFetcherOptions = {}) {
    this.dir = dir;
    this.#maxBundleBytes = options.maxEntryBundleBytes ?? maxEntryBundleSize;
  }

  async get(path: string): Promise<Uint8Array | undefined> {
    const limits = fileLimits(path, this.#maxBundleBytes);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(join(this.dir, path), 'r');
    } catch (error) {
      if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return undefined;
      throw unavailable(path, error);
    }
    try {
      let size: number;
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw new VouchError('unavailable', `${path} in the log folder is not a file`);
        size = info.size;
      } catch (error) {
        throw error instanceof VouchError ? error : unavailable(path, error);
      }
      checkFileSize(path, limits, size);
      const data = new Uint8Array(size);
      let read = 0;
      try {
        while (read < size) {
          const { bytesRead } = await handle.read(data, read, size - read, read);
          if (bytesRead === 0) break;
          read += bytesRead;
        }
      } catch (error) {
        throw unavailable(path, error);
      }
      // The file shrank while being read: report what is there, checked again.
      const bytes = read === size ? data : data.slice(0, read);
      checkFileSize(path, limits, bytes.length);
      return bytes;
    } finally {
      await handle.close();
    }
  }
}

function codeOf(error: unknown): unknown {
  return error instanceof Error ? (error as { code?: unknown }).code : undefined;
}

function unavailable(path: string, cause: unknown): VouchError {
  const code = codeOf(cause);
  return new VouchError(
    'unavailable',
    `reading ${path} from the log folder failed${typeof code === 'string' ? ` (${code})` : ''}`,
    { field: path },
    { cause },
  );
}
