/**
 * C2SP tlog-tiles coordinates and paths (https://c2sp.org/tlog-tiles): a hash tile
 * `tile/<L>/<N>[.p/<W>]` holds up to 256 consecutive Merkle hashes of level 8·L, and an entry
 * bundle `tile/entries/<N>[.p/<W>]` holds the entries whose leaf hashes level-0 tile N holds. N
 * is written in groups of three digits, every group but the last prefixed with `x`
 * (1234067 → `x001/x234/067`); `.p/<W>` marks a partial tile of W < 256 hashes.
 *
 * Parsing accepts only the one canonical spelling (the check golang/mod's ParseTilePath makes by
 * re-formatting): no leading zeros in L or W, exactly three digits per group, no leading `x000`
 * group, L in 0..63, W in 1..255, N below 2^64, no empty, `..` or doubled segments. The path
 * is relative: the caller strips its URL prefix and the leading slash. Every rejection is a
 * `malformed` VouchError with field `tile path`, so an HTTP face can answer 404 for all of them.
 * This module does no tile math (tiles.ts) and does not know tile heights other than 8 (sumdb's
 * `tile/8/...` paths are a different spelling).
 */

import { invariant, malformed, VouchError } from '../errors.ts';

/** tileHeight is the number of Merkle levels one tile spans; C2SP fixes it at 8. */
export const tileHeight = 8;

/** fullTileWidth is the number of hashes (or entries) in a full tile, 2^tileHeight. */
export const fullTileWidth = 256;

/** maxTileLevel is the highest tile level a path may name. */
export const maxTileLevel = 63;

/** maxTilePathLength bounds a path before it is parsed; the longest canonical path is 52 characters. */
export const maxTilePathLength = 64;

/**
 * HashTile names a tile of Merkle hashes: hashes [index·256, index·256 + width) of tree level
 * 8·level. `width` is 1..256; 256 is a full tile, anything less a partial one.
 */
export interface HashTile {
  readonly kind: 'hash';
  readonly level: number;
  readonly index: bigint;
  readonly width: number;
}

/** EntryBundleTile names an entry bundle: entries [index·256, index·256 + width), width 1..256. */
export interface EntryBundleTile {
  readonly kind: 'entries';
  readonly index: bigint;
  readonly width: number;
}

/** Tile is anything a `tile/...` path can name. */
export type Tile = HashTile | EntryBundleTile;

const maxTileIndex = (1n << 64n) - 1n;

/**
 * hashTile returns the frozen coordinates of a hash tile, or throws `invalid-argument` unless
 * level is an integer in 0..63, index a bigint in [0, 2^64) and width an integer in 1..256.
 */
export function hashTile(level: number, index: bigint, width: number): HashTile {
  if (!Number.isInteger(level) || level < 0 || level > maxTileLevel) {
    throw new VouchError('invalid-argument', `tile level must be an integer in 0..${maxTileLevel}`, {
      field: 'level',
    });
  }
  checkIndexAndWidth(index, width);
  return Object.freeze({ kind: 'hash', level, index, width });
}

/** entryBundleTile returns the frozen coordinates of an entry bundle, checked like {@link hashTile}. */
export function entryBundleTile(index: bigint, width: number): EntryBundleTile {
  checkIndexAndWidth(index, width);
  return Object.freeze({ kind: 'entries', index, width });
}

/** formatTilePath spells a tile's canonical path, `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`. */
export function formatTilePath(tile: Tile): string {
  const checked =
    tile.kind === 'hash'
      ? hashTile(tile.level, tile.index, tile.width)
      : entryBundleTile(tile.index, tile.width);
  const level = checked.kind === 'hash' ? String(checked.level) : 'entries';
  const partial = checked.width === fullTileWidth ? '' : `.p/${checked.width}`;
  return `tile/${level}/${formatTileIndex(checked.index)}${partial}`;
}

/** formatTileIndex spells N in three-digit groups, `x` before all but the last: 1000 → `x001/000`. */
export function formatTileIndex(index: bigint): string {
  invariant(index >= 0n, 'negative tile index');
  let rest = index / 1000n;
  let out = (index % 1000n).toString().padStart(3, '0');
  while (rest > 0n) {
    out = `x${(rest % 1000n).toString().padStart(3, '0')}/${out}`;
    rest /= 1000n;
  }
  return out;
}

// One regular expression for the shape; the numeric ranges and the leading-group rule are
// checked after it. Each piece is anchored and unambiguous (an `x` starts every non-final
// group), so matching is linear in the (already bounded) length.
const tilePathPattern =
  /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/){0,6})([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/**
 * parseTilePath parses a canonical tile path (without any URL prefix or leading slash) into frozen
 * tile coordinates, or throws `malformed` (field `tile path`) for anything else — see the module
 * comment for the rules. `formatTilePath(parseTilePath(p)) === p` for every accepted path.
 */
export function parseTilePath(path: string): Tile {
  if (typeof path !== 'string' || path.length > maxTilePathLength) throw badPath();
  const match = tilePathPattern.exec(path);
  if (match === null) throw badPath();
  const [, levelText = '', groupText = '', lastGroup = '', widthText] = match;
  const groups =
    groupText === ''
      ? []
      : groupText
          .slice(0, -1)
          .split('/')
          .map((g) => g.slice(1));
  if (groups[0] === '000') throw badPath();
  const index = BigInt([...groups, lastGroup].join(''));
  const width = widthText === undefined ? fullTileWidth : Number(widthText);
  if (index > maxTileIndex || (widthText !== undefined && width >= fullTileWidth)) throw badPath();
  let tile: Tile;
  if (levelText === 'entries') {
    tile = entryBundleTile(index, width);
  } else {
    const level = Number(levelText);
    if (level > maxTileLevel) throw badPath();
    tile = hashTile(level, index, width);
  }
  invariant(formatTilePath(tile) === path, 'tile path parse and format disagree');
  return tile;
}

function checkIndexAndWidth(index: bigint, width: number): void {
  if (typeof index !== 'bigint' || index < 0n || index > maxTileIndex) {
    throw new VouchError('invalid-argument', 'tile index must be a bigint in [0, 2^64)', { field: 'index' });
  }
  if (!Number.isInteger(width) || width < 1 || width > fullTileWidth) {
    throw new VouchError('invalid-argument', `tile width must be an integer in 1..${fullTileWidth}`, {
      field: 'width',
    });
  }
}

function badPath(): VouchError {
  return malformed('not a canonical tile path', 'tile path');
}
