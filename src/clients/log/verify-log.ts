/**
 * A whole-log audit of a C2SP tiled log (https://c2sp.org/tlog-tiles) at one verified
 * checkpoint: every hash tile and every entry bundle the tree consists of is fetched once and
 * checked, which recomputes the root from all of them. This is what `vouch log verify` runs, and
 * what a monitor or mirror runs before it trusts a copy.
 *
 * The walk goes top-down, depth first. First the right edge — the partial tile of every level —
 * must lead to the checkpoint root; that authenticates each edge tile in full (tile-reader.ts).
 * Then, from each edge tile, highest level first, every hash of an authenticated tile is checked
 * to be the hash of the full tile it names one level down, which is then authenticated in turn
 * and walked the same way; each level-0 tile's entry bundle must hold entries with exactly its
 * leaf hashes. Every full tile is the child of exactly one hash one level up, so this visits every
 * tile once and reaches level-0 tiles in index order. Depth first keeps one tile per level (plus
 * a bounded read-ahead) in memory, whatever the log's size, and a tile is checked against an
 * already authenticated parent before it is offered to the fetcher's cache — verify, then persist.
 *
 * It does not check the checkpoint's signature (the caller opened it) nor consistency with an
 * earlier checkpoint (LogClient.checkConsistency).
 */

import { equalBytes } from '../../core/bytes/index.ts';
import { invariant, VouchError } from '../../core/errors.ts';
import { emptyRoot } from '../../core/merkle/index.ts';
import type { Checkpoint } from '../../core/tlog/checkpoint.ts';
import {
  entryBundleTile,
  formatTilePath,
  fullTileWidth,
  type HashTile,
  hashTile,
} from '../../core/tlog/tile-path.ts';
import { planTileEdge } from '../../core/tlog/tiles.ts';
import { inOrderAhead } from './ahead.ts';
import type { TileFetcher } from './fetcher.ts';
import {
  checkBundleAgainstTile,
  checkTileAgainstParent,
  checkTileEdge,
  type FetchedBundle,
  readEntryBundle,
  readHashTile,
} from './tile-reader.ts';

/** LogProgress counts what an audit has checked so far. */
export interface LogProgress {
  /** tiles counts hash tiles checked, of every level. */
  readonly tiles: number;
  /** entries counts entries checked against their leaf hashes. */
  readonly entries: bigint;
}

/** VerifyLogOptions tunes {@link verifyLogTiles}. */
export interface VerifyLogOptions {
  /** ahead is how many tiles (with their bundles) are fetched ahead of the check (default 8). */
  readonly ahead?: number;
  /** onProgress is called after each level-0 tile and its bundle have been checked. */
  readonly onProgress?: (progress: LogProgress) => void;
}

/** LogVerification is the result of an audit that found nothing wrong. */
export interface LogVerification extends LogProgress {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Uint8Array;
}

/**
 * verifyLogTiles audits the log behind `fetcher` against `checkpoint` (already verified by the
 * caller); see the module comment. It throws `bad-proof` for a hash tile that does not match,
 * `bad-digest` for an entry that does not match its leaf hash, `not-found` for a missing tile or
 * bundle, and the fetcher's errors as they come — each naming the path at fault.
 */
export async function verifyLogTiles(
  fetcher: TileFetcher,
  checkpoint: Checkpoint,
  options: VerifyLogOptions = {},
): Promise<LogVerification> {
  const { size, root } = checkpoint;
  const ahead = options.ahead ?? 8;
  let tiles = 0;
  let entries = 0n;
  const done = (): LogVerification =>
    Object.freeze({ origin: checkpoint.origin, size, root: root.slice(), tiles, entries });
  if (size === 0n) {
    if (!equalBytes(root, emptyRoot())) {
      throw new VouchError('bad-proof', 'the checkpoint of the empty log does not have the empty root', {
        field: 'root',
      });
    }
    return done();
  }

  const edge = planTileEdge(size);
  const edgeData = (await Promise.all(edge.map((tile) => readHashTile(fetcher, tile)))).map((f) => f.data);
  checkTileEdge(size, root, edge, edgeData);

  const loadChild = async (child: HashTile): Promise<Loaded> => {
    const [fetched, bundle] = await Promise.all([
      readHashTile(fetcher, child),
      child.level === 0 ? readEntryBundle(fetcher, entryBundleTile(child.index, child.width)) : undefined,
    ]);
    return { data: fetched.data, bundle };
  };

  // visit walks the subtree below an authenticated tile.
  const visit = async (tile: HashTile, data: Uint8Array, bundle?: FetchedBundle): Promise<void> => {
    tiles++;
    if (tile.level === 0) {
      const bundleTile = entryBundleTile(tile.index, tile.width);
      const checked = bundle ?? (await readEntryBundle(fetcher, bundleTile));
      checkBundleAgainstTile(checked.entries, tile, data);
      if (checked.bytes !== undefined) await fetcher.save?.(formatTilePath(bundleTile), checked.bytes);
      entries += BigInt(tile.width);
      options.onProgress?.(Object.freeze({ tiles, entries }));
      return;
    }
    for await (const [child, loaded] of inOrderAhead(childrenOf(tile), loadChild, ahead)) {
      checkTileAgainstParent(child, loaded.data, tile, data);
      await fetcher.save?.(formatTilePath(child), loaded.data);
      await visit(child, loaded.data, loaded.bundle);
    }
  };

  for (let i = edge.length - 1; i >= 0; i--) await visit(edge[i] as HashTile, edgeData[i] as Uint8Array);
  invariant(entries === size, 'the audit did not cover every entry');
  return done();
}

interface Loaded {
  readonly data: Uint8Array;
  readonly bundle: FetchedBundle | undefined;
}

// childrenOf lists the full tiles one level down whose hashes `tile` holds, in order.
function* childrenOf(tile: HashTile): Generator<HashTile> {
  for (let i = 0; i < tile.width; i++) {
    yield hashTile(tile.level - 1, tile.index * BigInt(fullTileWidth) + BigInt(i), fullTileWidth);
  }
}
