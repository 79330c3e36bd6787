/**
 * Reading and checking the tiles of a C2SP tiled log (https://c2sp.org/tlog-tiles) for a client:
 * fetch a hash tile or an entry bundle with the partial-tile fallback, and the three checks that
 * authenticate tiles against a signed checkpoint — the right edge's partial tiles against the
 * checkpoint's root, a full tile against its hash in the tile above, and an entry bundle against
 * the leaf hashes of its level-0 tile.
 *
 * Why these checks suffice: the right edge (`planTileEdge`) is every partial tile of the tree,
 * and the root is computed from all of their hashes, so a matching root authenticates each of
 * them completely. Every full tile's hash is one hash of a tile one level up (full or partial),
 * and the top level holds only a partial tile; so a chain of parent checks ends at the edge
 * (golang/mod `tileHashReader`, tessera's client). Partial tiles may be deleted once the full
 * tile exists (tessera #672): then the full tile is fetched and its first W hashes (or entries)
 * used — they are authenticated the same way, but the rest of that full tile is not, so it is
 * never handed to a cache. Errors name the tile path at fault.
 */

import { equalBytes } from '../../core/bytes/index.ts';
import { invariant, malformed, VouchError } from '../../core/errors.ts';
import { hashSize, leafHash, rootFromLeafHashes } from '../../core/merkle/index.ts';
import { parseEntryBundle } from '../../core/tlog/entry-bundle.ts';
import {
  type EntryBundleTile,
  entryBundleTile,
  formatTilePath,
  fullTileWidth,
  type HashTile,
  hashTile,
  tileHeight,
} from '../../core/tlog/tile-path.ts';
import { rootFromTileEdge, tileForCoordinate, toTileEdge } from '../../core/tlog/tiles.ts';
import type { TileFetcher } from './fetcher.ts';

/** FetchedTile is a hash tile's bytes and whether they are the file at the tile's own path. */
export interface FetchedTile {
  readonly data: Uint8Array;
  /** own is false when a missing partial tile was read as a prefix of its full tile. */
  readonly own: boolean;
}

/**
 * readHashTile fetches `tile` and returns exactly width·32 bytes. When a partial tile is missing,
 * the full tile is fetched instead and its prefix returned (`own` false). It throws `not-found`
 * (field: the path) when neither exists, and `malformed` when the bytes have the wrong length.
 */
export async function readHashTile(fetcher: TileFetcher, tile: HashTile): Promise<FetchedTile> {
  const path = formatTilePath(tile);
  const data = await fetcher.get(path);
  if (data !== undefined) {
    checkLength(path, data, tile.width * hashSize);
    return { data, own: true };
  }
  if (tile.width < fullTileWidth) {
    const fullPath = formatTilePath(hashTile(tile.level, tile.index, fullTileWidth));
    const full = await fetcher.get(fullPath);
    if (full !== undefined) {
      checkLength(fullPath, full, fullTileWidth * hashSize);
      return { data: full.slice(0, tile.width * hashSize), own: false };
    }
  }
  throw new VouchError('not-found', `the log does not serve ${path}`, { field: path });
}

/** FetchedBundle is an entry bundle's entries and, when it was the file at its own path, its bytes. */
export interface FetchedBundle {
  readonly entries: readonly Uint8Array[];
  /** bytes are the file at the bundle's own path, or undefined when read from the full bundle. */
  readonly bytes: Uint8Array | undefined;
}

/**
 * readEntryBundle fetches the entry bundle `tile` and parses exactly its width of entries, with
 * the same fallback as {@link readHashTile} (the first W entries of the full bundle). It throws
 * `not-found` when neither exists, and the parser's `malformed`/`too-large` naming the path.
 */
export async function readEntryBundle(fetcher: TileFetcher, tile: EntryBundleTile): Promise<FetchedBundle> {
  const path = formatTilePath(tile);
  const bytes = await fetcher.get(path);
  if (bytes !== undefined) return { entries: parseBundle(path, bytes, tile.width), bytes };
  if (tile.width < fullTileWidth) {
    const fullPath = formatTilePath(entryBundleTile(tile.index, fullTileWidth));
    const full = await fetcher.get(fullPath);
    if (full !== undefined) {
      return { entries: parseBundle(fullPath, full, fullTileWidth).slice(0, tile.width), bytes: undefined };
    }
  }
  throw new VouchError('not-found', `the log does not serve ${path}`, { field: path });
}

/**
 * checkTileEdge checks that the partial tiles `tiles` of a tree of `size` leaves (the tiles of
 * `planTileEdge(size)`, in order, with their bytes) lead to `root`, or throws `bad-proof` naming
 * them: one of them is wrong, and the root cannot tell which.
 */
export function checkTileEdge(
  size: bigint,
  root: Uint8Array,
  tiles: readonly HashTile[],
  data: readonly Uint8Array[],
): void {
  const computed = rootFromTileEdge(toTileEdge(size, data));
  if (!equalBytes(computed, root)) {
    const paths = tiles.map(formatTilePath).join(', ');
    throw new VouchError('bad-proof', `the log's edge tiles ${paths} do not lead to the checkpoint root`, {
      field: paths,
    });
  }
}

/**
 * parentTile returns the tile, as published at tree size `size`, that holds the hash of the full
 * tile `tile`: hash number (index mod 256) of tile (level + 1, index / 256). It throws
 * `invalid-argument` when `tile` is not a full tile of that tree.
 */
export function parentTile(tile: HashTile, size: bigint): HashTile {
  if (tile.width !== fullTileWidth) {
    throw new VouchError('invalid-argument', 'only full tiles are hashed into the level above', {
      field: 'tile',
    });
  }
  return tileForCoordinate({ level: (tile.level + 1) * tileHeight, index: tile.index }, size);
}

/** fullTileHash returns the Merkle root of the 256 hashes of a full tile: its hash one level up. */
export function fullTileHash(data: Uint8Array): Uint8Array {
  invariant(data.length === fullTileWidth * hashSize, 'full tile of the wrong length');
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < fullTileWidth; i++) hashes.push(data.subarray(i * hashSize, (i + 1) * hashSize));
  return rootFromLeafHashes(hashes);
}

/**
 * checkTileAgainstParent checks that the full tile `tile` with bytes `data` hashes to its entry
 * in `parent` (whose bytes `parentData` the caller has authenticated), or throws `bad-proof`
 * naming the tile.
 */
export function checkTileAgainstParent(
  tile: HashTile,
  data: Uint8Array,
  parent: HashTile,
  parentData: Uint8Array,
): void {
  invariant(
    parent.level === tile.level + 1 && parent.index === tile.index / BigInt(fullTileWidth),
    'not the parent tile',
  );
  const position = Number(tile.index % BigInt(fullTileWidth));
  invariant(position < parent.width && parentData.length === parent.width * hashSize, 'parent too narrow');
  const want = parentData.subarray(position * hashSize, (position + 1) * hashSize);
  if (!equalBytes(fullTileHash(data), want)) {
    const path = formatTilePath(tile);
    throw new VouchError('bad-proof', `${path} does not match its hash in ${formatTilePath(parent)}`, {
      field: path,
    });
  }
}

/**
 * checkBundleAgainstTile checks that every entry of the bundle for level-0 tile `tile` has the
 * leaf hash `tileData` (authenticated by the caller) holds for it, or throws `bad-digest` naming
 * the entry's index and the bundle's path.
 */
export function checkBundleAgainstTile(
  entries: readonly Uint8Array[],
  tile: HashTile,
  tileData: Uint8Array,
): void {
  invariant(tile.level === 0 && entries.length === tile.width, 'bundle and tile differ in width');
  entries.forEach((entry, i) => {
    const want = tileData.subarray(i * hashSize, (i + 1) * hashSize);
    if (!equalBytes(leafHash(entry), want)) {
      const index = tile.index * BigInt(fullTileWidth) + BigInt(i);
      const path = formatTilePath(entryBundleTile(tile.index, tile.width));
      throw new VouchError(
        'bad-digest',
        `entry ${index} in ${path} does not match its leaf hash in ${formatTilePath(tile)}`,
        { field: path, index },
      );
    }
  });
}

function checkLength(path: string, data: Uint8Array, want: number): void {
  if (data.length !== want)
    throw malformed(`${path} from the log has ${data.length} bytes, not ${want}`, path);
}

function parseBundle(path: string, bytes: Uint8Array, count: number): readonly Uint8Array[] {
  try {
    return parseEntryBundle(bytes, count);
  } catch (error) {
    if (error instanceof VouchError && error.code !== 'invariant') {
      throw new VouchError(error.code, `${path} from the log: ${error.message}`, {
        ...error.details,
        field: path,
      });
    }
    throw error;
  }
}
