/**
 * Benchmark fixtures made of tiles: a log folder with entry bundles for the tile-read benchmark,
 * and a cached 10,000,000-leaf tiled tree (hash tiles only) for the inclusion-proof benchmark.
 * Both go through the sequencer's own pure code — `integrate` and `appendToTileEdge` — so the
 * bytes are those a real log would serve. Files are written without fsync: they are fixtures,
 * not what is measured.
 *
 * The tree cache lives under the system's temporary folder, named by its size, and is built into
 * a scratch folder renamed into place once complete, so a crash or a concurrent run never leaves
 * a half-built cache that looks valid. On reuse its `tree.json` marker and the root recomputed
 * from its right-edge tiles must agree, else it is rebuilt.
 */

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { equalBytes, formatHex, parseHex } from '../../src/core/bytes/index.ts';
import { formatTilePath } from '../../src/core/tlog/tile-path.ts';
import { appendToTileEdge, planTileEdge, rootFromTileEdge, toTileEdge } from '../../src/core/tlog/tiles.ts';
import { emptyLogEdge, integrate, type LogFile } from '../../src/services/log/integrate.ts';
import { benchEntry } from './log-folder.ts';

async function writeFiles(root: string, files: readonly LogFile[]): Promise<void> {
  const directories = new Set(files.map((file) => dirname(join(root, file.path))));
  for (const directory of directories) await mkdir(directory, { recursive: true });
  // A bounded number of writes at once keeps file descriptors well under any ulimit.
  for (let at = 0; at < files.length; at += 64) {
    await Promise.all(files.slice(at, at + 64).map((file) => writeFile(join(root, file.path), file.data)));
  }
}

/** TileReadFolder describes a log folder written by {@link writeLogFolder}. */
export interface TileReadFolder {
  readonly dir: string;
  /** tilePaths are every full hash tile (all levels); bundlePaths every full entry bundle. */
  readonly tilePaths: readonly string[];
  readonly bundlePaths: readonly string[];
}

/**
 * writeLogFolder writes into `dir` the tiles and entry bundles of a log of `size` entries of
 * `entrySize` bytes each (see benchEntry), as the sequencer would in batches of 4,096.
 */
export async function writeLogFolder(dir: string, size: number, entrySize: number): Promise<TileReadFolder> {
  let edge = emptyLogEdge();
  const tilePaths: string[] = [];
  const bundlePaths: string[] = [];
  for (let at = 0; at < size; at += 4096) {
    const entries = Array.from({ length: Math.min(4096, size - at) }, (_, i) =>
      benchEntry(at + i, entrySize),
    );
    const result = integrate(edge, entries);
    await writeFiles(dir, result.files);
    edge = result.edge;
    for (const file of result.files) {
      if (file.path.includes('.p/')) continue;
      (file.path.startsWith('tile/entries/') ? bundlePaths : tilePaths).push(file.path);
    }
  }
  return { dir, tilePaths, bundlePaths };
}

/** TileTree is a cached tiled tree: its folder (holding `tile/...`), size and root. */
export interface TileTree {
  readonly dir: string;
  readonly size: bigint;
  readonly root: Uint8Array;
}

const treeFormat = 'vouch-bench-tile-tree-1';

/**
 * syntheticLeafHash is leaf i of a cached tree: 32 bytes holding i, big-endian, and a fixed
 * pattern. Any 32 bytes are a valid leaf hash, and these cost nothing to make or to recompute.
 */
export function syntheticLeafHash(i: bigint): Uint8Array {
  const hash = new Uint8Array(32).fill(0xa5);
  new DataView(hash.buffer).setBigUint64(0, i);
  return hash;
}

/**
 * ensureTileTree returns the cached tiled tree of `size` leaves (syntheticLeafHash 0..size-1),
 * building it first when it is missing or does not check out; `say` hears about a build.
 */
export async function ensureTileTree(size: bigint, say: (line: string) => void): Promise<TileTree> {
  const dir = join(tmpdir(), `vouch-bench-tile-tree-${size}`);
  const cached = await checkTileTree(dir, size);
  if (cached !== undefined) return cached;
  say(`bench: building a ${size.toLocaleString('en-US')}-leaf tiled tree in ${dir} (once; reused later)`);
  const scratch = `${dir}.building-${process.pid}-${Date.now()}`;
  await rm(scratch, { recursive: true, force: true });
  try {
    let edge = toTileEdge(0n, []);
    let root = rootFromTileEdge(edge);
    const chunk = 65_536n;
    for (let at = 0n; at < size; at += chunk) {
      const end = at + chunk < size ? at + chunk : size;
      const leaves: Uint8Array[] = [];
      for (let i = at; i < end; i++) leaves.push(syntheticLeafHash(i));
      const appended = appendToTileEdge(edge, leaves);
      // Only full tiles are kept along the way; the partial tiles of the final size come last.
      const full = appended.tiles.filter((t) => t.tile.width === 256);
      await writeFiles(
        scratch,
        full.map((t) => ({ path: formatTilePath(t.tile), data: t.data })),
      );
      edge = appended.edge;
      root = appended.root;
    }
    await writeFiles(
      scratch,
      edge.tiles.map((t) => ({ path: formatTilePath(t.tile), data: t.data })),
    );
    const marker = { format: treeFormat, size: size.toString(), root: formatHex(root) };
    await writeFile(join(scratch, 'tree.json'), `${JSON.stringify(marker)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(scratch, dir);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    // A concurrent run may have put a complete tree in place first; use it if it checks out.
    const other = await checkTileTree(dir, size);
    if (other !== undefined) return other;
    throw error;
  }
  const built = await checkTileTree(dir, size);
  if (built === undefined)
    throw new Error(`bench: the tiled tree in ${dir} does not check out after building`);
  return built;
}

async function checkTileTree(dir: string, size: bigint): Promise<TileTree | undefined> {
  try {
    const marker = JSON.parse(await readFile(join(dir, 'tree.json'), 'utf8')) as Record<string, unknown>;
    if (marker['format'] !== treeFormat || marker['size'] !== size.toString()) return undefined;
    const root = parseHex(String(marker['root']));
    const edgeData = await Promise.all(planTileEdge(size).map((t) => readFile(join(dir, formatTilePath(t)))));
    if (!equalBytes(rootFromTileEdge(toTileEdge(size, edgeData)), root)) return undefined;
    return { dir, size, root };
  } catch {
    return undefined;
  }
}
