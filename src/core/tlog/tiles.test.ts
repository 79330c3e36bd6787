import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatHex, toBytes } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import { RightEdge } from '../merkle/edge.ts';
import { leafHash } from '../merkle/hash.ts';
import {
  computeConsistency,
  computeInclusion,
  computeRoot,
  planConsistency,
  planInclusion,
  planRoot,
} from '../merkle/plan.ts';
import { merkleTreeHash } from '../merkle/prove.ts';
import type { SubtreeCoordinate } from '../merkle/subtree.ts';
import { verifyConsistency, verifyInclusion } from '../merkle/verify.ts';
import { formatTilePath, type HashTile, hashTile } from './tile-path.ts';
import {
  appendToTileEdge,
  hashesFromTiles,
  hashFromTile,
  newTiles,
  planTileEdge,
  rootFromTileEdge,
  type TileData,
  type TileEdge,
  tileForCoordinate,
  tilesForCoordinates,
  toTileEdge,
  treeTiles,
} from './tiles.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));
const emptyEdge = toTileEdge(0n, []);

// The 70000-entry tree of the selfTrees vectors, built in batches that stop at the sizes the vectors
// name, keeping every tile ever written and the root at each stop.
const total = 70000;
const entryLeaves = Array.from({ length: total }, (_, i) => leafHash(toBytes(`entry-${i}`)));
// store keeps the widest version written of each tile, keyed by level and index.
const store = new Map<string, Uint8Array>();
const storeKey = (tile: HashTile) => `${tile.level}/${tile.index}`;
const rootsAt = new Map<number, Uint8Array>();
let built: TileEdge = emptyEdge;
for (const stop of [1, 255, 256, 257, 1000, 65535, 65536, 65537, total]) {
  const result = appendToTileEdge(built, entryLeaves.slice(Number(built.size), stop));
  assert.deepEqual(
    result.tiles.map((t) => t.tile),
    newTiles(built.size, BigInt(stop)),
  );
  for (const { tile, data } of result.tiles) store.set(storeKey(tile), data);
  rootsAt.set(stop, result.root);
  built = result.edge;
}

// fetch plays a tile server that has the tiles of every size published above: a partial tile it
// never wrote is served as the prefix of the widest version it has (as a client falls back to the
// full tile). It also checks each request is a tile the size implies.
function fetch(tiles: readonly HashTile[], size: bigint): TileData[] {
  return tiles.map((tile) => {
    const implied = (size >> BigInt(8 * tile.level)) - tile.index * 256n;
    assert.equal(
      tile.width,
      implied >= 256n ? 256 : Number(implied),
      `width of ${formatTilePath(tile)} at ${size}`,
    );
    const data = store.get(storeKey(tile));
    assert.ok(data !== undefined && data.length >= tile.width * 32, `no tile ${formatTilePath(tile)}`);
    return { tile, data: data.subarray(0, tile.width * 32) };
  });
}

function readHashes(coordinates: readonly SubtreeCoordinate[], size: bigint): Uint8Array[] {
  return hashesFromTiles(coordinates, size, fetch(tilesForCoordinates(coordinates, size), size));
}

test('treeTiles matches the tlog-tiles vectors for sizes 70000 and 256', () => {
  for (const [size, want] of [
    [70000n, vectors.tiles.size70000],
    [256n, vectors.tiles.size256],
  ] as const) {
    const got = treeTiles(size).map((level) => ({
      level: level.level,
      full: Number(level.fullTiles),
      partialWidth: level.partial?.width ?? 0,
      partialPath: level.partial === undefined ? null : formatTilePath(level.partial),
    }));
    assert.deepEqual(got, want, `size ${size}`);
  }
  assert.deepEqual(treeTiles(0n), []);
  assert.deepEqual(planTileEdge(70000n).map(formatTilePath), [
    'tile/0/273.p/112',
    'tile/1/001.p/17',
    'tile/2/000.p/1',
  ]);
});

test('tiles built from the "entry-<i>" leaves match the selfTrees vectors', () => {
  const v = vectors.selfTrees.entry_i;
  const digest = (tile: HashTile) => {
    const data = store.get(storeKey(tile));
    assert.equal(data?.length, tile.width * 32);
    return formatHex(sha256(data ?? new Uint8Array()));
  };
  assert.equal(digest(hashTile(0, 0n, 256)), v.tile0_000_sha256);
  assert.equal(digest(hashTile(1, 0n, 256)), v.tile1_000_sha256);
  assert.equal(digest(hashTile(1, 1n, 17)), v.tile1_001p17_sha256);
  for (const [size, want] of [
    [256, v.root256],
    [1000, v.root1000],
    [65536, v.root65536],
    [65537, v.root65537],
    [total, v.root70000],
  ] as const) {
    assert.equal(formatHex(rootsAt.get(size) ?? new Uint8Array()), want, `root ${size}`);
  }
  assert.equal(rootFromTileEdge(built).length, 32);
  assert.deepEqual(rootFromTileEdge(built), rootsAt.get(total));
});

test('roots read through tiles match a RightEdge at random sizes up to 70000', () => {
  const sizes = [0, 1, 2, 255, 256, 257, 511, 512, 65535, 65536, 65537, 69999, total];
  for (let i = 1; i <= 40; i++) sizes.push(((i * 2654435761) % total) + 1); // spread, but reproducible
  sizes.sort((a, b) => a - b);
  const edge = new RightEdge();
  for (const size of sizes) {
    while (edge.size < BigInt(size)) edge.append(entryLeaves[Number(edge.size)] as Uint8Array);
    const n = BigInt(size);
    assert.deepEqual(computeRoot(n, readHashes(planRoot(n), n)), edge.root(), `size ${size}`);
  }
});

test('every stored hash every proof of sizes 1..100 needs reads correctly through tiles', () => {
  // The hash of every complete subtree of the first 100 leaves, by level, computed directly.
  const levels: Uint8Array[][] = [entryLeaves.slice(0, 100)];
  for (let level = 1; level < 7; level++) {
    const below = levels[level - 1] as Uint8Array[];
    levels.push(
      below.flatMap((_, i) =>
        i % 2 === 1 ? [] : i + 1 < below.length ? [merkleTreeHash(below.slice(i, i + 2))] : [],
      ),
    );
  }
  for (let n = 1; n <= 100; n++) {
    const size = BigInt(n);
    for (let i = 0; i < n; i++) {
      for (const plan of [planInclusion(BigInt(i), size), planConsistency(BigInt(i + 1), size)]) {
        const want = plan.map(({ level, index }) => levels[level]?.[Number(index)]);
        assert.deepEqual(readHashes(plan, size), want, `${i} of ${n}`);
      }
    }
  }
});

test('property: proofs read through tiles of the 70000-entry tree verify', () => {
  // Roots through tiles too; the test above checks those against a RightEdge.
  const root = (n: number) => computeRoot(BigInt(n), readHashes(planRoot(BigInt(n)), BigInt(n)));
  const size = fc.integer({ min: 1, max: total });
  fc.assert(
    fc.property(size, size, fc.nat(), (a, b, pick) => {
      const [m, n] = a <= b ? [a, b] : [b, a];
      const size2 = BigInt(n);
      const index = BigInt(pick % n);
      const proof = computeInclusion(index, size2, readHashes(planInclusion(index, size2), size2));
      verifyInclusion(entryLeaves[pick % n] as Uint8Array, index, size2, proof, root(n));
      const size1 = BigInt(m);
      const consistency = computeConsistency(size1, size2, readHashes(planConsistency(size1, size2), size2));
      verifyConsistency(size1, size2, consistency, root(m), root(n));
    }),
    { seed: 70000, numRuns: 300 },
  );
});

test('property: appending in any batches gives the same tiles, edge and roots as one append', () => {
  const leaves = entryLeaves.slice(0, 3000);
  const whole = appendToTileEdge(emptyEdge, leaves);
  const wholeTiles = new Map(whole.tiles.map((t) => [formatTilePath(t.tile), t.data]));
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 12 }), (cuts) => {
      let edge = emptyEdge;
      const written = new Map<string, Uint8Array>();
      const check = new RightEdge();
      for (const cut of [...cuts, leaves.length]) {
        const end = Math.min(leaves.length, Number(edge.size) + cut);
        const batch = leaves.slice(Number(edge.size), end);
        const before = edge;
        const result = appendToTileEdge(edge, batch);
        assert.deepEqual(
          result.tiles.map((t) => t.tile),
          newTiles(before.size, BigInt(end)),
        );
        assert.equal(before.size, edge.size, 'the old edge is unchanged');
        for (const t of result.tiles) written.set(formatTilePath(t.tile), t.data);
        for (const leaf of batch) check.append(leaf);
        assert.deepEqual(result.root, check.root());
        // Resuming from the stored partial tiles gives the same edge.
        const resumed = toTileEdge(
          BigInt(end),
          planTileEdge(BigInt(end)).map((t) => written.get(formatTilePath(t)) ?? new Uint8Array()),
        );
        assert.deepEqual(resumed, result.edge);
        edge = result.edge;
      }
      for (const [path, data] of wholeTiles) {
        if (path.includes('.p/')) continue; // earlier partial widths differ by design
        assert.deepEqual(written.get(path), data, path);
      }
      assert.deepEqual(edge, whole.edge);
    }),
    { seed: 256, numRuns: 40 },
  );
});

test('newTiles lists completed full tiles and the new partial tiles, level by level', () => {
  const paths = (a: bigint, b: bigint) => newTiles(a, b).map(formatTilePath);
  assert.deepEqual(paths(0n, 0n), []);
  assert.deepEqual(paths(5n, 5n), []);
  assert.deepEqual(paths(0n, 1n), ['tile/0/000.p/1']);
  assert.deepEqual(paths(1n, 256n), ['tile/0/000', 'tile/1/000.p/1']);
  assert.deepEqual(paths(256n, 257n), ['tile/0/001.p/1']);
  assert.deepEqual(paths(255n, 513n), ['tile/0/000', 'tile/0/001', 'tile/0/002.p/1', 'tile/1/000.p/2']);
  assert.equal(paths(0n, 70000n).length, 273 + 1 + 1 + 1 + 1);
  assert.throws(
    () => newTiles(5n, 4n),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

test('tileForCoordinate picks the full tile or the partial tile the size implies', () => {
  const rows: { name: string; coordinate: SubtreeCoordinate; size: bigint; path: string }[] = [
    { name: 'leaf in partial tile', coordinate: { level: 0, index: 5n }, size: 70000n, path: 'tile/0/000' },
    { name: 'last leaf', coordinate: { level: 0, index: 69999n }, size: 70000n, path: 'tile/0/273.p/112' },
    {
      name: 'level 3 in partial',
      coordinate: { level: 3, index: 8749n },
      size: 70000n,
      path: 'tile/0/273.p/112',
    },
    { name: 'level 8', coordinate: { level: 8, index: 272n }, size: 70000n, path: 'tile/1/001.p/17' },
    {
      name: 'level 12 in partial',
      coordinate: { level: 12, index: 16n },
      size: 70000n,
      path: 'tile/1/001.p/17',
    },
    { name: 'level 15 in full', coordinate: { level: 15, index: 1n }, size: 70000n, path: 'tile/1/000' },
    { name: 'level 16', coordinate: { level: 16, index: 0n }, size: 70000n, path: 'tile/2/000.p/1' },
    { name: 'level 8 in full tile', coordinate: { level: 8, index: 3n }, size: 70000n, path: 'tile/1/000' },
  ];
  for (const row of rows)
    assert.equal(formatTilePath(tileForCoordinate(row.coordinate, row.size)), row.path, row.name);
  const bad: { name: string; coordinate: SubtreeCoordinate; size: bigint }[] = [
    { name: 'leaf beyond size', coordinate: { level: 0, index: 70000n }, size: 70000n },
    { name: 'incomplete subtree', coordinate: { level: 5, index: 2187n }, size: 70000n },
    { name: 'level 64', coordinate: { level: 64, index: 0n }, size: 70000n },
    { name: 'negative index', coordinate: { level: 0, index: -1n }, size: 70000n },
    { name: 'fractional level', coordinate: { level: 0.5, index: 0n }, size: 70000n },
  ];
  for (const row of bad) {
    assert.throws(
      () => tileForCoordinate(row.coordinate, row.size),
      (e) => isVouchError(e, 'invalid-argument'),
      row.name,
    );
  }
});

test('hashFromTile checks the tile bytes and that the hash is in the tile', () => {
  const tile = hashTile(0, 273n, 112);
  const data = store.get(storeKey(tile)) ?? new Uint8Array();
  assert.deepEqual(hashFromTile(tile, data, { level: 0, index: 69999n }), entryLeaves[69999]);
  const rows = [
    {
      name: 'short data',
      run: () => hashFromTile(tile, data.subarray(1), { level: 0, index: 69999n }),
      code: 'malformed',
    },
    {
      name: 'long data',
      run: () => hashFromTile(tile, new Uint8Array(113 * 32), { level: 0, index: 69999n }),
      code: 'malformed',
    },
    {
      name: 'beyond width',
      run: () => hashFromTile(hashTile(0, 273n, 1), data.subarray(0, 32), { level: 0, index: 69889n }),
      code: 'invalid-argument',
    },
    {
      name: 'other tile',
      run: () => hashFromTile(tile, data, { level: 0, index: 5n }),
      code: 'invalid-argument',
    },
    {
      name: 'other level',
      run: () => hashFromTile(tile, data, { level: 8, index: 273n }),
      code: 'invalid-argument',
    },
  ] as const;
  for (const row of rows) assert.throws(row.run, (e) => isVouchError(e, row.code), row.name);
  assert.throws(
    () => hashesFromTiles([{ level: 0, index: 0n }], 10n, []),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

test('toTileEdge and appendToTileEdge refuse bad input', () => {
  const rows = [
    {
      name: 'missing tile',
      run: () => toTileEdge(300n, [new Uint8Array(44 * 32)]),
      code: 'invalid-argument',
    },
    { name: 'extra tile', run: () => toTileEdge(0n, [new Uint8Array(32)]), code: 'invalid-argument' },
    { name: 'wrong width', run: () => toTileEdge(3n, [new Uint8Array(2 * 32)]), code: 'malformed' },
    { name: 'negative size', run: () => toTileEdge(-1n, []), code: 'invalid-argument' },
    {
      name: 'short leaf',
      run: () => appendToTileEdge(emptyEdge, [new Uint8Array(32), new Uint8Array(31)]),
      code: 'malformed',
    },
  ] as const;
  for (const row of rows) assert.throws(row.run, (e) => isVouchError(e, row.code), row.name);
  const hand = (size: bigint, tiles: TileData[]) => () => appendToTileEdge({ size, tiles }, []);
  const edgeRows = [
    { name: 'edge missing its partial tile', run: hand(3n, []) },
    {
      name: 'edge with a tile too many',
      run: hand(0n, [{ tile: hashTile(0, 0n, 1), data: new Uint8Array(32) }]),
    },
    {
      name: 'edge tile of the wrong width',
      run: hand(3n, [{ tile: hashTile(0, 0n, 2), data: new Uint8Array(64) }]),
    },
    {
      name: 'edge tile with short data',
      run: hand(3n, [{ tile: hashTile(0, 0n, 3), data: new Uint8Array(64) }]),
    },
  ];
  for (const row of edgeRows) assert.throws(row.run, (e) => isVouchError(e, 'invalid-argument'), row.name);
  const result = appendToTileEdge(emptyEdge, []);
  assert.deepEqual(result.tiles, []);
  assert.deepEqual(result.root, computeRoot(0n, []));
});
