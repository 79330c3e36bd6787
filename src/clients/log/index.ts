/** The log client: fetchers for the tlog-tiles read API and a client that verifies everything it reads. */
export { inOrderAhead } from './ahead.ts';
export {
  LogClient,
  type LogClientOptions,
  type LogEntry,
  type OpenedCheckpoint,
  openCheckpoint,
} from './client.ts';
export {
  checkFileSize,
  checkpointPath,
  type FileLimits,
  fileLimits,
  maxCheckpointBytes,
  type TileFetcher,
} from './fetcher.ts';
export { FolderTileFetcher, type FolderTileFetcherOptions } from './folder-fetcher.ts';
export { HttpTileFetcher, type HttpTileFetcherOptions } from './http-fetcher.ts';
export { type OpenTileFetcherOptions, openTileFetcher } from './open-fetcher.ts';
export {
  CachingTileFetcher,
  isImmutable,
  latestCheckpointKey,
  readLatestCheckpoint,
  saveLatestCheckpoint,
} from './tile-cache.ts';
export {
  checkBundleAgainstTile,
  checkTileAgainstParent,
  checkTileEdge,
  type FetchedBundle,
  type FetchedTile,
  fullTileHash,
  parentTile,
  readEntryBundle,
  readHashTile,
} from './tile-reader.ts';
export {
  type LogProgress,
  type LogVerification,
  type VerifyLogOptions,
  verifyLogTiles,
} from './verify-log.ts';
