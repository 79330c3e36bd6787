/**
 * C2SP tlog-tiles math (https://c2sp.org/tlog-tiles): which tiles a tree of a given size consists
 * of, which tiles hold the stored hashes a Merkle plan names, how to read such a hash out of tile
 * bytes, and how to build tiles from leaf hashes. A level-L tile holds hashes of Merkle level 8·L;
 * a stored hash at level 8·L + k (k < 8) is the root of 2^k consecutive hashes of one tile row.
 * A tree of size s has, at level L, floor(s / 256^(L+1)) full tiles and one partial tile of width
 * floor(s / 256^L) mod 256 when that is not 0; partial tiles are never hashed into the level above.
 *
 * Pure: callers fetch and store tile bytes. Tile bytes are trusted here only for their length;
 * whether they are genuine shows when a root or proof computed from them is verified against a
 * signed checkpoint. Entry bundles follow level-0 tiles index for index (see entry-bundle.ts).
 */

import { malformed, VouchError } from '../errors.ts';
import { hashSize, nodeHash } from '../merkle/hash.ts';
import { computeRoot, planRoot } from '../merkle/plan.ts';
import { assertTreeSize, maxTreeSize, type SubtreeCoordinate } from '../merkle/subtree.ts';
import { formatTilePath, fullTileWidth, type HashTile, hashTile, tileHeight } from './tile-path.ts';

/** TileData pairs a hash tile with its bytes: `width` hashes of 32 bytes, concatenated. */
export interface TileData {
  readonly tile: HashTile;
  readonly data: Uint8Array;
}

/** LevelTiles describes one level of a tiled tree: its full tiles and its partial tile, if any. */
export interface LevelTiles {
  readonly level: number;
  /** fullTiles counts the full tiles of this level; they have indexes 0..fullTiles-1. */
  readonly fullTiles: bigint;
  /** partial is the level's partial tile at this size, or undefined when the level ends on a full tile. */
  readonly partial: HashTile | undefined;
}

/**
 * treeTiles lists, per level from 0 up, the tiles a tree of `size` leaves consists of (nothing for
 * size 0). Example: 70000 → level 0: 273 full + `0/273.p/112`, level 1: 1 full + `1/001.p/17`,
 * level 2: `2/000.p/1`.
 */
export function treeTiles(size: bigint): LevelTiles[] {
  assertTreeSize(size, 'size');
  const levels: LevelTiles[] = [];
  for (let level = 0; size >> levelShift(level) > 0n; level++) {
    const count = size >> levelShift(level);
    const width = Number(count % 256n);
    const fullTiles = count / 256n;
    levels.push(
      Object.freeze({
        level,
        fullTiles,
        partial: width === 0 ? undefined : hashTile(level, fullTiles, width),
      }),
    );
  }
  return levels;
}

/**
 * newTiles lists the tiles a log writes when its tree grows from `oldSize` to `newSize` leaves:
 * every tile that became full, then the partial tiles of `newSize` whose width changed, level by
 * level. Partial tiles of sizes in between are not listed — clients may fetch only partial tiles
 * implied by a published checkpoint. Level-0 entries double as the entry bundles to write.
 */
export function newTiles(oldSize: bigint, newSize: bigint): HashTile[] {
  assertTreeSize(oldSize, 'oldSize');
  assertTreeSize(newSize, 'newSize');
  if (oldSize > newSize)
    throw new VouchError('invalid-argument', 'a tree cannot shrink', { field: 'newSize' });
  const tiles: HashTile[] = [];
  for (let level = 0; newSize >> levelShift(level) > 0n; level++) {
    const oldCount = oldSize >> levelShift(level);
    const newCount = newSize >> levelShift(level);
    if (oldCount === newCount) continue;
    for (let index = oldCount / 256n; index < newCount / 256n; index++) {
      tiles.push(hashTile(level, index, fullTileWidth));
    }
    if (newCount % 256n !== 0n) tiles.push(hashTile(level, newCount / 256n, Number(newCount % 256n)));
  }
  return tiles;
}

/**
 * tileForCoordinate returns the tile, as published for a tree of `size` leaves, that holds the
 * stored hash `coordinate`: the full tile when the tree has it, else that size's partial tile. It
 * throws `invalid-argument` if the subtree is not complete in that tree.
 */
export function tileForCoordinate(coordinate: SubtreeCoordinate, size: bigint): HashTile {
  assertTreeSize(size, 'size');
  const { tileLevel, tileIndex } = locate(coordinate);
  if ((coordinate.index + 1n) << BigInt(coordinate.level) > size) {
    throw new VouchError('invalid-argument', 'the subtree is not complete in a tree of this size', {
      field: 'coordinate',
      size,
    });
  }
  const available = (size >> levelShift(tileLevel)) - tileIndex * 256n;
  return hashTile(tileLevel, tileIndex, available >= 256n ? fullTileWidth : Number(available));
}

/**
 * tilesForCoordinates returns the distinct tiles (in first-use order) to fetch to read every
 * stored hash in `coordinates` for a tree of `size` leaves — the fetch step between a Merkle
 * `planX` and `computeX`. Partial tiles appear only with the width `size` implies. A server that
 * has replaced a partial tile by its full tile may answer with the full tile's first width·32 bytes.
 */
export function tilesForCoordinates(coordinates: readonly SubtreeCoordinate[], size: bigint): HashTile[] {
  const tiles = new Map<string, HashTile>();
  for (const coordinate of coordinates) {
    const tile = tileForCoordinate(coordinate, size);
    tiles.set(formatTilePath(tile), tile);
  }
  return [...tiles.values()];
}

/**
 * hashFromTile computes the stored hash `coordinate` from the bytes of the tile holding it. It
 * throws `malformed` unless `data` is exactly width·32 bytes, and `invalid-argument` if the
 * coordinate is not within the tile (a wrong tile or a too-narrow partial tile).
 */
export function hashFromTile(tile: HashTile, data: Uint8Array, coordinate: SubtreeCoordinate): Uint8Array {
  if (data.length !== tile.width * hashSize) {
    throw malformed(`tile data is not ${tile.width} hashes`, 'tile data');
  }
  const { tileLevel, tileIndex, start, count } = locate(coordinate);
  if (tileLevel !== tile.level || tileIndex !== tile.index || start + count > tile.width) {
    throw new VouchError('invalid-argument', 'the stored hash is not in this tile', { field: 'coordinate' });
  }
  return rowRoot(data, start, count);
}

/**
 * hashesFromTiles reads every stored hash in `coordinates` for a tree of `size` leaves from the
 * fetched tiles (those of {@link tilesForCoordinates}), in order, ready for a Merkle `computeX`.
 * It throws `invalid-argument` if a needed tile is missing from `fetched`.
 */
export function hashesFromTiles(
  coordinates: readonly SubtreeCoordinate[],
  size: bigint,
  fetched: readonly TileData[],
): Uint8Array[] {
  const byPath = new Map(fetched.map((entry) => [formatTilePath(entry.tile), entry.data]));
  return coordinates.map((coordinate) => {
    const tile = tileForCoordinate(coordinate, size);
    const data = byPath.get(formatTilePath(tile));
    if (data === undefined) {
      throw new VouchError('invalid-argument', 'a tile the plan needs was not fetched', { field: 'fetched' });
    }
    return hashFromTile(tile, data, coordinate);
  });
}

// locate finds where a stored hash lives: the tile level and index, and the run of `count`
// hashes of that tile's row, from `start`, whose root it is. With level = 8·L + k, the subtree
// covers row hashes [index·2^k, (index+1)·2^k) of level 8·L, all inside tile floor(index·2^k / 256)
// because 2^k divides 256.
function locate(coordinate: SubtreeCoordinate): {
  tileLevel: number;
  tileIndex: bigint;
  start: number;
  count: number;
} {
  const { level, index } = coordinate;
  if (!Number.isInteger(level) || level < 0 || level > 63 || typeof index !== 'bigint' || index < 0n) {
    throw new VouchError('invalid-argument', 'not a subtree coordinate', { field: 'coordinate' });
  }
  const k = level % tileHeight;
  const first = index << BigInt(k);
  return {
    tileLevel: (level - k) / tileHeight,
    tileIndex: first >> 8n,
    start: Number(first % 256n),
    count: 1 << k,
  };
}

// levelShift is the number of leaves one hash of tile level L covers, as a shift: 8·L.
function levelShift(level: number): bigint {
  return BigInt(tileHeight * level);
}

// rowRoot is the Merkle root of `count` (a power of two) consecutive hashes of a tile row.
function rowRoot(data: Uint8Array, start: number, count: number): Uint8Array {
  let row: Uint8Array[] = [];
  for (let i = start; i < start + count; i++) row.push(data.subarray(i * hashSize, (i + 1) * hashSize));
  while (row.length > 1) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) up.push(nodeHash(row[i] as Uint8Array, row[i + 1] as Uint8Array));
    row = up;
  }
  return (row[0] as Uint8Array).slice();
}

/**
 * TileEdge is the right edge of a tiled tree: its size and the bytes of its partial tiles (those
 * of {@link planTileEdge}), lowest level first. It is all a sequencer needs to extend the tree
 * without reading anything else. Frozen; its bytes are private copies.
 */
export interface TileEdge {
  readonly size: bigint;
  readonly tiles: readonly TileData[];
}

/** TileAppend is what {@link appendToTileEdge} returns. */
export interface TileAppend {
  /** edge is the right edge of the grown tree, to pass to the next append. */
  readonly edge: TileEdge;
  /** tiles are the tiles to write (as {@link newTiles} lists them), with their bytes. */
  readonly tiles: readonly TileData[];
  /** root is the RFC 6962 root of the grown tree. */
  readonly root: Uint8Array;
}

/** planTileEdge lists the partial tiles of a tree of `size` leaves, lowest level first: the tiles to read to resume it. */
export function planTileEdge(size: bigint): HashTile[] {
  return treeTiles(size).flatMap((level) => (level.partial === undefined ? [] : [level.partial]));
}

/**
 * toTileEdge builds the right edge of a tree of `size` leaves from the bytes of the tiles
 * `planTileEdge(size)` names, in order. It throws `invalid-argument` on a wrong count and
 * `malformed` on a wrong length; it does not check the bytes are genuine — compare
 * `rootFromTileEdge` with the checkpoint's root before trusting them.
 */
export function toTileEdge(size: bigint, data: readonly Uint8Array[]): TileEdge {
  const tiles = planTileEdge(size);
  if (data.length !== tiles.length) {
    throw new VouchError('invalid-argument', `a tree of size ${size} has ${tiles.length} partial tiles`, {
      field: 'data',
      size,
    });
  }
  return Object.freeze({
    size,
    tiles: Object.freeze(
      tiles.map((tile, i) => {
        const bytes = data[i] as Uint8Array;
        if (bytes.length !== tile.width * hashSize) {
          throw malformed(`tile data is not ${tile.width} hashes`, `data[${i}]`);
        }
        return Object.freeze({ tile, data: bytes.slice() });
      }),
    ),
  });
}

/** rootFromTileEdge returns the RFC 6962 root of the tree whose right edge is `edge`. */
export function rootFromTileEdge(edge: TileEdge): Uint8Array {
  const coordinates = planRoot(edge.size);
  return computeRoot(edge.size, hashesFromTiles(coordinates, edge.size, edge.tiles));
}

/**
 * appendToTileEdge appends `leafHashes` (each 32 bytes, else `malformed`) to the tree whose right
 * edge is `edge` (from {@link toTileEdge} or a previous append; one that does not hold exactly
 * the partial tiles of its size is `invalid-argument`) and returns the tiles to write, the new edge
 * and the new root. It is pure: `edge` is not changed, so a sequencer that loses its checkpoint
 * compare-and-swap simply drops the result. Cost: one node hash per leaf on average, plus the new
 * root (up to a few hundred hashes per call, from the partial tiles).
 */
export function appendToTileEdge(edge: TileEdge, leafHashes: readonly Uint8Array[]): TileAppend {
  const want = planTileEdge(edge.size).map(formatTilePath);
  const have = edge.tiles.map(({ tile, data }) =>
    data.length === tile.width * hashSize ? formatTilePath(tile) : '',
  );
  if (want.join() !== have.join()) {
    throw new VouchError('invalid-argument', 'the edge does not hold the partial tiles of its size', {
      field: 'edge',
    });
  }
  const newSize = edge.size + BigInt(leafHashes.length);
  if (newSize > maxTreeSize) throw new VouchError('too-large', 'the tree would exceed 2^64 - 1 leaves');
  leafHashes.forEach((hash, i) => {
    if (hash.length !== hashSize) throw malformed('leaf hash is not 32 bytes', `leafHashes[${i}]`);
  });

  // One row per tile level: the tile being filled at that level, as a full-size buffer.
  const rows: Row[] = [];
  const row = (level: number): Row => {
    let r = rows[level];
    if (r === undefined) {
      const index = edge.size >> levelShift(level + 1);
      r = { index, width: 0, data: new Uint8Array(fullTileWidth * hashSize), full: [], changed: false };
      rows[level] = r;
    }
    return r;
  };
  for (const { tile, data } of edge.tiles) {
    const r = row(tile.level);
    r.data.set(data);
    r.width = tile.width;
  }

  // A row that fills becomes a full tile, and its root is the next hash one level up.
  const push = (level: number, hash: Uint8Array): void => {
    const r = row(level);
    r.data.set(hash, r.width * hashSize);
    r.width++;
    r.changed = true;
    if (r.width === fullTileWidth) {
      r.full.push(Object.freeze({ tile: hashTile(level, r.index, fullTileWidth), data: r.data.slice() }));
      r.index++;
      r.width = 0;
      push(level + 1, rowRoot(r.data, 0, fullTileWidth));
    }
  };
  for (const hash of leafHashes) push(0, hash);

  const written: TileData[] = [];
  const edgeTiles: TileData[] = [];
  rows.forEach((r, level) => {
    written.push(...r.full);
    if (r.width === 0) return;
    const tile = hashTile(level, r.index, r.width);
    edgeTiles.push(Object.freeze({ tile, data: r.data.slice(0, r.width * hashSize) }));
    if (r.changed) written.push(Object.freeze({ tile, data: r.data.slice(0, r.width * hashSize) }));
  });
  const grown: TileEdge = Object.freeze({ size: newSize, tiles: Object.freeze(edgeTiles) });
  return Object.freeze({ edge: grown, tiles: Object.freeze(written), root: rootFromTileEdge(grown) });
}

interface Row {
  /** index is the tile index being filled; width the hashes it holds so far. */
  index: bigint;
  width: number;
  data: Uint8Array;
  /** full collects the tiles of this level completed by the append, in order. */
  full: TileData[];
  /** changed records whether the append added any hash at this level. */
  changed: boolean;
}
