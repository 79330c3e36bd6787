/**
 * Integration: turning a batch of sequenced entries into the files of a C2SP tiled log
 * (https://c2sp.org/tlog-tiles) — level-0 and higher hash tiles, entry bundles — and the new
 * root. It is pure: it takes the log's right edge (the partial tiles and the entries of the
 * partial entry bundle) and returns the files to write and the new edge, so the sequencer can
 * drop the result if its checkpoint swap fails, and a restart can recompute exactly the same bytes
 * from the same sequenced entries.
 *
 * It does not sign, store or publish anything.
 */

import { leafHash } from '../../core/merkle/index.ts';
import { formatEntryBundle } from '../../core/tlog/entry-bundle.ts';
import { entryBundleTile, formatTilePath, fullTileWidth } from '../../core/tlog/tile-path.ts';
import { appendToTileEdge, type TileEdge, toTileEdge } from '../../core/tlog/tiles.ts';

/** LogEdge is what integration needs of the tree so far: its partial tiles and partial bundle. */
export interface LogEdge {
  readonly tiles: TileEdge;
  /** bundle holds the entries of the partial entry bundle, `size mod 256` of them. */
  readonly bundle: readonly Uint8Array[];
}

/** LogFile is one file to write: its path under the log prefix and its bytes. */
export interface LogFile {
  readonly path: string;
  readonly data: Uint8Array;
}

/** Integration is the result of {@link integrate}. */
export interface Integration {
  readonly edge: LogEdge;
  /** files are every tile and entry bundle that is new or grew, in no particular order. */
  readonly files: readonly LogFile[];
  readonly root: Uint8Array;
  /** leafHashes are the RFC 6962 hashes of the entries integrated, in order. */
  readonly leafHashes: readonly Uint8Array[];
}

/** emptyLogEdge is the edge of a log with no entries. */
export function emptyLogEdge(): LogEdge {
  return { tiles: toTileEdge(0n, []), bundle: [] };
}

/** integrate appends `entries` to the tree whose edge is `edge`; see the module comment. */
export function integrate(edge: LogEdge, entries: readonly Uint8Array[]): Integration {
  const leafHashes = entries.map(leafHash);
  const appended = appendToTileEdge(edge.tiles, leafHashes);
  const files: LogFile[] = appended.tiles.map(({ tile, data }) => ({ path: formatTilePath(tile), data }));

  // Entry bundles mirror level-0 tiles: bundle N holds entries [256 N, 256 N + width).
  const oldSize = edge.tiles.size;
  const firstBundle = oldSize / BigInt(fullTileWidth);
  const pending = [...edge.bundle, ...entries];
  for (const { tile } of appended.tiles) {
    if (tile.level !== 0) continue;
    const start = Number((tile.index - firstBundle) * BigInt(fullTileWidth));
    const bundle = formatEntryBundle(pending.slice(start, start + tile.width));
    files.push({ path: formatTilePath(entryBundleTile(tile.index, tile.width)), data: bundle });
  }
  const newSize = appended.edge.size;
  const keep = Number(newSize % BigInt(fullTileWidth));
  const bundle = keep === 0 ? [] : pending.slice(pending.length - keep);
  return { edge: { tiles: appended.edge, bundle }, files, root: appended.root, leafHashes };
}
