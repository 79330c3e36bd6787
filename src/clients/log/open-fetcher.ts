/**
 * Choosing the {@link TileFetcher} for a `--log` argument: an http(s) URL is read over HTTP, and
 * anything else is taken as a folder holding a copy of the log, so every command that reads a
 * log works against a server, a mirror, a CDN or a synced folder alike. It does not contact the
 * log.
 */

import { VouchError } from '../../core/errors.ts';
import type { TileFetcher } from './fetcher.ts';
import { FolderTileFetcher } from './folder-fetcher.ts';
import { HttpTileFetcher, type HttpTileFetcherOptions } from './http-fetcher.ts';
import { CachingTileFetcher } from './tile-cache.ts';

/** OpenTileFetcherOptions configures {@link openTileFetcher}. */
export interface OpenTileFetcherOptions extends HttpTileFetcherOptions {
  /** cacheDir, when set, keeps verified full tiles and bundles there (see tile-cache.ts). */
  readonly cacheDir?: string;
}

/**
 * openTileFetcher returns the fetcher for `location`: an {@link HttpTileFetcher} for an `http:`
 * or `https:` URL, else a {@link FolderTileFetcher} for a folder path; wrapped in a
 * {@link CachingTileFetcher} when `cacheDir` is set. It throws `invalid-argument` for an unusable
 * URL or an empty location.
 */
export function openTileFetcher(location: string, options: OpenTileFetcherOptions = {}): TileFetcher {
  if (location === '')
    throw new VouchError('invalid-argument', 'the log location is empty', { field: 'log' });
  const fetcher: TileFetcher = /^https?:\/\//i.test(location)
    ? new HttpTileFetcher(location, options)
    : new FolderTileFetcher(location, options);
  return options.cacheDir === undefined ? fetcher : new CachingTileFetcher(fetcher, options.cacheDir);
}
