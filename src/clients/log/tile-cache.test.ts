import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir } from '../../../test/support/log-fixture.ts';
import { isVouchError } from '../../core/errors.ts';
import type { TileFetcher } from './fetcher.ts';
import {
  CachingTileFetcher,
  isImmutable,
  latestCheckpointKey,
  readLatestCheckpoint,
  saveLatestCheckpoint,
} from './tile-cache.ts';

describe('isImmutable', () => {
  const rows: { name: string; path: string; want: boolean }[] = [
    { name: 'full hash tile', path: 'tile/0/000', want: true },
    { name: 'full high tile', path: 'tile/2/x001/234', want: true },
    { name: 'full bundle', path: 'tile/entries/005', want: true },
    { name: 'partial hash tile', path: 'tile/0/000.p/5', want: false },
    { name: 'partial bundle', path: 'tile/entries/005.p/255', want: false },
    { name: 'checkpoint', path: 'checkpoint', want: false },
    { name: 'not a read-API path', path: 'tile/../x', want: false },
  ];
  for (const row of rows) test(row.name, () => assert.equal(isImmutable(row.path), row.want));
});

// A fetcher over a map that counts reads.
function mapFetcher(files: Record<string, Uint8Array>): TileFetcher & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async get(path) {
      reads.push(path);
      return files[path];
    },
  };
}

describe('CachingTileFetcher', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir();
  });
  after(() => removeDir(dir));

  const full = new Uint8Array(8192).fill(3);
  const partial = new Uint8Array(32).fill(4);

  test('stores only full tiles and bundles handed to save, and answers them from disk', async () => {
    const inner = mapFetcher({
      'tile/0/000': full,
      'tile/0/001.p/1': partial,
      checkpoint: new Uint8Array(3),
    });
    const cache = new CachingTileFetcher(inner, join(dir, 'a'));
    assert.deepEqual(await cache.get('tile/0/000'), full);
    assert.equal(inner.reads.length, 1);
    // Reading is not verifying: nothing is stored until save is called.
    await assert.rejects(stat(join(dir, 'a', 'tile/0/000')));
    await cache.save('tile/0/000', full);
    await cache.save('tile/0/001.p/1', partial);
    await cache.save('checkpoint', new Uint8Array(3));
    assert.deepEqual(await readdir(join(dir, 'a'), { recursive: true }), ['tile', 'tile/0', 'tile/0/000']);
    assert.deepEqual(await cache.get('tile/0/000'), full);
    assert.deepEqual(await cache.get('tile/0/001.p/1'), partial);
    await cache.get('checkpoint');
    assert.deepEqual(inner.reads, ['tile/0/000', 'tile/0/001.p/1', 'checkpoint']);
  });

  test('save refuses bytes of the wrong size', async () => {
    const cache = new CachingTileFetcher(mapFetcher({}), join(dir, 'b'));
    await assert.rejects(cache.save('tile/0/000', new Uint8Array(8191)), (e) => isVouchError(e, 'malformed'));
  });

  test('a different verified tile under the same path is a conflict', async () => {
    const cache = new CachingTileFetcher(mapFetcher({}), join(dir, 'c'));
    await cache.save('tile/1/000', full);
    await cache.save('tile/1/000', full);
    await assert.rejects(cache.save('tile/1/000', new Uint8Array(8192)), (e) => isVouchError(e, 'conflict'));
  });

  test('a cached file of the wrong size is refused', async () => {
    const cache = new CachingTileFetcher(mapFetcher({}), join(dir, 'd'));
    await cache.save('tile/0/002', full);
    await writeFile(join(dir, 'd', 'tile/0/002'), new Uint8Array(10));
    await assert.rejects(cache.get('tile/0/002'), (e) => isVouchError(e, 'malformed'));
  });
});

describe('latest checkpoint', () => {
  test('round-trips and is replaced', async () => {
    const dir = await makeTempDir();
    try {
      assert.equal(await readLatestCheckpoint(join(dir, 'none')), undefined);
      await saveLatestCheckpoint(dir, new Uint8Array([1, 2]));
      await saveLatestCheckpoint(dir, new Uint8Array([3]));
      assert.deepEqual(await readLatestCheckpoint(dir), new Uint8Array([3]));
      assert.deepEqual(await readdir(dir), [latestCheckpointKey]);
      await assert.rejects(saveLatestCheckpoint(dir, new Uint8Array()), (e) =>
        isVouchError(e, 'invalid-argument'),
      );
    } finally {
      await removeDir(dir);
    }
  });
});
