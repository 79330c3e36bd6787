import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { isVouchError } from '../errors.ts';
import {
  entryBundleTile,
  formatTileIndex,
  formatTilePath,
  hashTile,
  maxTilePathLength,
  parseTilePath,
  type Tile,
} from './tile-path.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));
const maxIndex = (1n << 64n) - 1n;

test('formatTileIndex matches the tlog-tiles index encoding vectors', () => {
  for (const [index, want] of Object.entries(vectors.tiles.indexEncoding)) {
    assert.equal(formatTileIndex(BigInt(index)), want, index);
  }
});

test('canonical paths parse to their tiles and format back', () => {
  const rows: { path: string; tile: Tile }[] = [
    { path: 'tile/0/000', tile: hashTile(0, 0n, 256) },
    { path: 'tile/0/273.p/112', tile: hashTile(0, 273n, 112) },
    { path: 'tile/1/001.p/17', tile: hashTile(1, 1n, 17) },
    { path: 'tile/2/000.p/1', tile: hashTile(2, 0n, 1) },
    { path: 'tile/0/000.p/255', tile: hashTile(0, 0n, 255) },
    { path: 'tile/63/999', tile: hashTile(63, 999n, 256) },
    { path: 'tile/10/x001/000', tile: hashTile(10, 1000n, 256) },
    { path: 'tile/3/x001/x234/067.p/5', tile: hashTile(3, 1234067n, 5) },
    { path: 'tile/0/x018/x446/x744/x073/x709/x551/615', tile: hashTile(0, maxIndex, 256) },
    { path: 'tile/entries/000', tile: entryBundleTile(0n, 256) },
    { path: 'tile/entries/x001/x234/067.p/1', tile: entryBundleTile(1234067n, 1) },
  ];
  for (const row of rows) {
    assert.deepEqual(parseTilePath(row.path), row.tile, row.path);
    assert.equal(formatTilePath(row.tile), row.path, row.path);
    assert.ok(Object.isFrozen(parseTilePath(row.path)));
  }
});

test('non-canonical and malformed paths are rejected with malformed', () => {
  const rows: { name: string; path: string }[] = [
    { name: 'empty', path: '' },
    { name: 'prefix only', path: 'tile/' },
    { name: 'no index', path: 'tile/0' },
    { name: 'empty index', path: 'tile/0/' },
    { name: 'leading slash', path: '/tile/0/000' },
    { name: 'trailing slash', path: 'tile/0/000/' },
    { name: 'doubled slash', path: 'tile//0/000' },
    { name: 'doubled slash in index', path: 'tile/0/x001//000' },
    { name: 'dot-dot level', path: 'tile/../000' },
    { name: 'dot-dot index', path: 'tile/0/../000' },
    { name: 'dot index', path: 'tile/0/./000' },
    { name: 'upper-case prefix', path: 'Tile/0/000' },
    { name: 'level with leading zero', path: 'tile/00/000' },
    { name: 'level 01', path: 'tile/01/000' },
    { name: 'level 64', path: 'tile/64/000' },
    { name: 'level 100', path: 'tile/100/000' },
    { name: 'negative level', path: 'tile/-1/000' },
    { name: 'sumdb data level', path: 'tile/data/000' },
    { name: 'sumdb height segment', path: 'tile/8/0/000' },
    { name: 'two-digit group', path: 'tile/0/00' },
    { name: 'four-digit group', path: 'tile/0/0000' },
    { name: 'bare decimal', path: 'tile/0/1234' },
    { name: 'leading zero group', path: 'tile/0/x000/001' },
    { name: 'missing x', path: 'tile/0/001/000' },
    { name: 'x on last group', path: 'tile/0/x001' },
    { name: 'x on every group', path: 'tile/0/x001/x000' },
    { name: 'upper-case X', path: 'tile/0/X001/000' },
    { name: 'short inner group', path: 'tile/0/x01/000' },
    { name: 'plus sign', path: 'tile/0/+12' },
    { name: 'exponent', path: 'tile/0/1e2' },
    { name: 'non-ASCII digits', path: 'tile/0/\u0660\u0660\u0660' },
    { name: 'width 0', path: 'tile/0/000.p/0' },
    { name: 'width 256', path: 'tile/0/000.p/256' },
    { name: 'width 999', path: 'tile/0/000.p/999' },
    { name: 'width leading zero', path: 'tile/0/000.p/01' },
    { name: 'empty width', path: 'tile/0/000.p/' },
    { name: 'no width', path: 'tile/0/000.p' },
    { name: 'width then slash', path: 'tile/0/000.p/5/' },
    { name: 'partial marker mid-index', path: 'tile/0/x001.p/000' },
    { name: 'entries full width', path: 'tile/entries/000.p/256' },
    { name: 'entries upper-case', path: 'tile/Entries/000' },
    { name: 'index 2^64', path: 'tile/0/x018/x446/x744/x073/x709/x551/616' },
    { name: 'eight groups', path: 'tile/0/x001/x000/x000/x000/x000/x000/x000/000' },
    { name: 'leading space', path: ' tile/0/000' },
    { name: 'trailing newline', path: 'tile/0/000\n' },
    { name: 'query string', path: 'tile/0/000?x=1' },
    { name: 'over the length cap', path: `tile/0/${'x001/'.repeat(20)}000` },
    { name: 'huge input', path: 'tile/0/'.padEnd(1 << 20, '0') },
  ];
  for (const row of rows) {
    assert.throws(
      () => parseTilePath(row.path),
      (e) => isVouchError(e, 'malformed') && e.details.field === 'tile path',
      row.name,
    );
  }
});

test('formatTilePath refuses coordinates outside the spec', () => {
  const rows: { name: string; tile: Tile }[] = [
    { name: 'level 64', tile: { kind: 'hash', level: 64, index: 0n, width: 1 } },
    { name: 'level -1', tile: { kind: 'hash', level: -1, index: 0n, width: 1 } },
    { name: 'level 1.5', tile: { kind: 'hash', level: 1.5, index: 0n, width: 1 } },
    { name: 'width 0', tile: { kind: 'hash', level: 0, index: 0n, width: 0 } },
    { name: 'width 257', tile: { kind: 'entries', index: 0n, width: 257 } },
    { name: 'negative index', tile: { kind: 'entries', index: -1n, width: 1 } },
    { name: 'index 2^64', tile: { kind: 'hash', level: 0, index: 1n << 64n, width: 1 } },
  ];
  for (const row of rows) {
    assert.throws(
      () => formatTilePath(row.tile),
      (e) => isVouchError(e, 'invalid-argument'),
      row.name,
    );
  }
});

test('property: parse(format(tile)) is the tile', () => {
  const tile = fc.oneof(
    fc.record({
      kind: fc.constant('hash' as const),
      level: fc.integer({ min: 0, max: 63 }),
      index: fc.bigInt({ min: 0n, max: maxIndex }),
      width: fc.integer({ min: 1, max: 256 }),
    }),
    fc.record({
      kind: fc.constant('entries' as const),
      index: fc.oneof(fc.bigInt({ min: 0n, max: 5000n }), fc.bigInt({ min: 0n, max: maxIndex })),
      width: fc.integer({ min: 1, max: 256 }),
    }),
  );
  fc.assert(
    fc.property(tile, (t) => {
      const path = formatTilePath(t);
      assert.ok(path.length <= maxTilePathLength);
      assert.deepEqual(parseTilePath(path), { ...t });
    }),
    { seed: 1, numRuns: 2000 },
  );
});

// The fuzz claim: any string yields a tile or our `malformed` error — never another throw (an
// `invariant` from the parse/format cross-check would be a bug) — and accepted paths are canonical.
test('fuzz: random and mutated paths give a canonical tile or malformed, never another error', () => {
  const seeds = ['tile/0/000', 'tile/1/x001/x234/067.p/5', 'tile/entries/273.p/112', 'tile/63/x018/x446/615'];
  const alphabet = fc.constantFrom(...'tile/entries0123456789x.p/.-_ X'.split(''));
  const edit = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('insert', 'delete', 'replace'),
    char: alphabet,
  });
  const mutated = fc
    .tuple(fc.constantFrom(...seeds), fc.array(edit, { maxLength: 4 }))
    .map(([base, edits]) => {
      let s = base;
      for (const e of edits) {
        const at = s.length === 0 ? 0 : e.at % (s.length + 1);
        if (e.kind === 'insert') s = s.slice(0, at) + e.char + s.slice(at);
        else if (e.kind === 'delete') s = s.slice(0, at) + s.slice(at + 1);
        else s = s.slice(0, at) + e.char + s.slice(at + 1);
      }
      return s;
    });
  const input = fc.oneof(
    mutated,
    fc.string({ maxLength: 60 }),
    fc.array(alphabet, { maxLength: 60 }).map((cs) => `tile/${cs.join('')}`),
  );
  let accepted = 0;
  fc.assert(
    fc.property(input, (path) => {
      let tile: Tile;
      try {
        tile = parseTilePath(path);
      } catch (e) {
        assert.ok(isVouchError(e, 'malformed'), `unexpected error for ${JSON.stringify(path)}: ${e}`);
        return;
      }
      accepted++;
      assert.equal(formatTilePath(tile), path);
    }),
    { seed: 42, numRuns: 20000 },
  );
  assert.ok(accepted > 100, `the fuzzer should also produce valid paths (got ${accepted})`);
});
