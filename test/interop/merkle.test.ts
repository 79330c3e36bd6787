/**
 * Cross-check of Vouch's RFC 6962 Merkle math and C2SP tiles against golang.org/x/mod/sumdb/tlog,
 * the Go checksum database's implementation (Debian: golang-go + golang-golang-x-mod-dev). A small
 * Go program (test/interop/go/merkle) computes leaf hashes, roots, inclusion and consistency
 * proofs and tile bytes for a random tree; we compute the same through plan/fetch/compute over our
 * own tiles and compare byte for byte. Without `go` the test is skipped, unless CI is set.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatBase64 } from '../../src/core/bytes/index.ts';
import { RightEdge } from '../../src/core/merkle/edge.ts';
import { leafHash } from '../../src/core/merkle/hash.ts';
import {
  computeConsistency,
  computeInclusion,
  computeRoot,
  planConsistency,
  planInclusion,
  planRoot,
} from '../../src/core/merkle/plan.ts';
import type { SubtreeCoordinate } from '../../src/core/merkle/subtree.ts';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/verify.ts';
import { formatTilePath } from '../../src/core/tlog/tile-path.ts';
import {
  appendToTileEdge,
  hashesFromTiles,
  tilesForCoordinates,
  toTileEdge,
} from '../../src/core/tlog/tiles.ts';

const goDir = join(import.meta.dirname, 'go', 'merkle');
const gopath = process.env.VOUCH_GO_XMOD_PATH ?? '/usr/share/gocode';

interface Answer {
  leafHashes: string[];
  roots: string[];
  inclusion: string[][];
  consistency: string[][];
  tiles: Record<string, string>;
}

// mulberry32: a tiny seeded generator, so a failure reproduces.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function missingGo(): string | undefined {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) return 'go is not installed';
  if (!existsSync(join(gopath, 'src/golang.org/x/mod/sumdb/tlog'))) {
    return `golang.org/x/mod is not under ${gopath} (install golang-golang-x-mod-dev or set VOUCH_GO_XMOD_PATH)`;
  }
  return undefined;
}

test('Merkle roots, proofs and tiles agree with golang.org/x/mod/sumdb/tlog', (t) => {
  const missing = missingGo();
  if (missing !== undefined) {
    assert.ok(process.env.CI === undefined, `CI must run the Go cross-check, but ${missing}`);
    t.skip(`${missing}; skipping the Go cross-check`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'vouch-go-merkle-'));
  try {
    const env = {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: `${gopath}:${work}`,
      GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'vouch-go-cache'),
      GOFLAGS: '',
    };
    const bin = join(work, 'merkle');
    const build = spawnSync('go', ['build', '-o', bin, '.'], {
      cwd: goDir,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(build.status, 0, `go build failed: ${build.stderr}`);

    // A random tree large enough for level-2 tiles, with entries of 0..40 random bytes.
    const next = random(20260601);
    const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
    const size = pick(65537, 67000);
    const entries = Array.from({ length: size }, () =>
      Uint8Array.from({ length: pick(0, 40) }, () => pick(0, 255)),
    );
    const rootSizes = [1, 2, 255, 256, 257, 65535, 65536, 65537, size];
    for (let i = 0; i < 100; i++) rootSizes.push(pick(1, size));
    rootSizes.sort((a, b) => a - b);
    const inclusion: [number, number][] = [];
    const consistency: [number, number][] = [[size, size]];
    for (let i = 0; i < 300; i++) {
      const n = pick(1, size);
      inclusion.push([pick(0, n - 1), n]);
      const m = pick(1, size);
      consistency.push(m <= n ? [m, n] : [n, m]);
    }
    const request = {
      entries: entries.map(formatBase64),
      roots: rootSizes,
      inclusion,
      consistency,
      tilesAt: size,
    };
    const run = spawnSync(bin, [], {
      input: JSON.stringify(request),
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 1 << 28,
    });
    assert.equal(run.status, 0, `the Go program failed: ${run.stderr}`);
    const go: Answer = JSON.parse(run.stdout);

    const leaves = entries.map(leafHash);
    assert.deepEqual(go.leafHashes, leaves.map(formatBase64), 'leaf hashes');

    // Our tiles for the whole tree; a narrower partial tile is a prefix of the widest one.
    const built = appendToTileEdge(toTileEdge(0n, []), leaves);
    const widest = new Map(built.tiles.map(({ tile, data }) => [`${tile.level}/${tile.index}`, data]));
    const read = (coordinates: readonly SubtreeCoordinate[], n: bigint) =>
      hashesFromTiles(
        coordinates,
        n,
        tilesForCoordinates(coordinates, n).map((tile) => ({
          tile,
          data: (widest.get(`${tile.level}/${tile.index}`) ?? new Uint8Array()).subarray(0, tile.width * 32),
        })),
      );

    const edge = new RightEdge();
    rootSizes.forEach((n, i) => {
      while (edge.size < BigInt(n)) edge.append(leaves[Number(edge.size)] as Uint8Array);
      const size = BigInt(n);
      assert.equal(formatBase64(edge.root()), go.roots[i], `root of ${n} (RightEdge)`);
      assert.equal(
        formatBase64(computeRoot(size, read(planRoot(size), size))),
        go.roots[i],
        `root of ${n} (tiles)`,
      );
    });
    const rootOf = (n: bigint) => computeRoot(n, read(planRoot(n), n));

    inclusion.forEach(([index, n], i) => {
      const [leaf, size] = [BigInt(index), BigInt(n)];
      const proof = computeInclusion(leaf, size, read(planInclusion(leaf, size), size));
      assert.deepEqual(proof.map(formatBase64), go.inclusion[i], `inclusion ${index}@${n}`);
      verifyInclusion(leaves[index] as Uint8Array, leaf, size, proof, rootOf(size));
    });
    consistency.forEach(([m, n], i) => {
      const [size1, size2] = [BigInt(m), BigInt(n)];
      const proof = computeConsistency(size1, size2, read(planConsistency(size1, size2), size2));
      assert.deepEqual(proof.map(formatBase64), go.consistency[i], `consistency ${m}->${n}`);
      verifyConsistency(size1, size2, proof, rootOf(size1), rootOf(size2));
    });

    for (const { tile, data } of built.tiles) {
      assert.equal(go.tiles[formatTilePath(tile)], formatBase64(data), formatTilePath(tile));
    }
    const goPaths = Object.keys(go.tiles);
    assert.ok(goPaths.length > built.tiles.length, 'Go also lists the narrower partial tiles');
    for (const path of goPaths) {
      const match = /^tile\/(\d+)\/(.*?)(?:\.p\/(\d+))?$/.exec(path);
      assert.ok(match !== null, path);
      const [, level, index, width] = match;
      const n = BigInt((index ?? '').replaceAll('x', '').replaceAll('/', ''));
      const ours = widest.get(`${level}/${n}`) ?? new Uint8Array();
      assert.equal(formatBase64(ours.subarray(0, Number(width ?? 256) * 32)), go.tiles[path], path);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
