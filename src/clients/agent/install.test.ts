import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toBytes } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { type InstalledVersion, InstallStore, installKey, versionFolder } from './install.ts';

function version(v: string, folder: string): InstalledVersion {
  return {
    kind: 'product',
    name: 'hello',
    version: v,
    target: `products/hello/${v}/hello.tar.gz`,
    length: 5,
    sha256: '00'.repeat(32),
    folder,
    installedAt: '2026-01-01T00:00:00.000Z',
    via: 'full',
  };
}

test('install store: stage, commit, keep previous, roll back, clean up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-install-'));
  try {
    const store = new InstallStore(dir);
    const key = installKey('product', 'hello');
    assert.equal(await store.read(key), undefined);

    const s1 = await store.stage(key, '1.0.0', new Map([['hello.tar.gz', toBytes('one')]]));
    assert.equal(await store.read(key), undefined, 'staging alone installs nothing');
    await store.commit(s1, version('1.0.0', '1.0.0'));
    assert.equal((await store.read(key))?.current.version, '1.0.0');
    assert.equal(await readlink(join(dir, key, 'current')), join('versions', '1.0.0'));

    const s2 = await store.stage(key, '1.1.0', new Map([['sub/hello.tar.gz', toBytes('two')]]));
    await store.commit(s2, version('1.1.0', '1.1.0'));
    const s3 = await store.stage(key, '1.2.0', new Map([['hello.tar.gz', toBytes('three')]]));
    const record = await store.commit(s3, version('1.2.0', '1.2.0'));
    assert.equal(record.current.version, '1.2.0');
    assert.equal(record.previous?.version, '1.1.0');
    assert.deepEqual((await readdir(join(dir, key, 'versions'))).sort(), ['1.1.0', '1.2.0']);
    assert.equal(await readFile(join(dir, key, 'current', 'hello.tar.gz'), 'utf8'), 'three');

    const back = await store.rollback(key);
    assert.equal(back.current.version, '1.1.0');
    assert.equal(await readFile(join(dir, key, 'current', 'sub', 'hello.tar.gz'), 'utf8'), 'two');
    await assert.rejects(
      store.stage(key, '1.1.0', new Map()),
      (e) => isVouchError(e, 'conflict'),
      'the current folder is never overwritten',
    );
    const discarded = await store.stage(key, '9.9.9', new Map([['x', toBytes('x')]]));
    await store.discard(discarded);
    assert.deepEqual((await readdir(join(dir, key, 'versions'))).sort(), ['1.1.0', '1.2.0']);
    assert.deepEqual([...(await store.list()).keys()], [key]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('install store: unsafe names and paths are refused', async () => {
  assert.throws(
    () => installKey('rules', '../x'),
    (e) => isVouchError(e, 'malformed'),
  );
  const dir = await mkdtemp(join(tmpdir(), 'vouch-install-'));
  try {
    const store = new InstallStore(dir);
    await assert.rejects(store.stage('rules-main', '1', new Map([['../escape', toBytes('x')]])), (e) =>
      isVouchError(e, 'malformed'),
    );
    assert.deepEqual(await readdir(join(dir, 'rules-main')), ['versions']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('install store: rollback to an older version pins; unpin; a kept folder with the same sha256 is reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-install-'));
  try {
    const store = new InstallStore(dir);
    const key = installKey('product', 'hello');
    const sha = (n: string) => n.repeat(64);
    const v = (ver: string, folder: string, s: string): InstalledVersion => ({
      ...version(ver, folder),
      sha256: s,
    });
    await store.commit(
      await store.stage(key, 'a', new Map([['f', toBytes('1')]])),
      v('1.0.0', 'a', sha('1')),
    );
    await store.commit(
      await store.stage(key, 'b', new Map([['f', toBytes('2')]])),
      v('1.1.0', 'b', sha('2')),
    );

    const back = await store.rollback(key, new Date('2026-02-03T00:00:00Z'));
    assert.deepEqual(back.pinned, { from: '1.1.0', sha256: sha('2'), at: '2026-02-03T00:00:00.000Z' });
    assert.deepEqual((await store.read(key))?.pinned, back.pinned, 'the pin is recorded in current.json');

    // The previous folder is reused only for its own sha256.
    await assert.rejects(store.stage(key, 'b', new Map(), sha('9')), (e) => isVouchError(e, 'conflict'));
    const reused = await store.stage(key, 'b', new Map([['f', toBytes('other')]]), sha('2'));
    assert.equal(await readFile(join(reused.dir, 'f'), 'utf8'), '2', 'reused as is, not rewritten');
    await store.discard(reused);
    assert.equal(await readFile(join(reused.dir, 'f'), 'utf8'), '2', 'discarding a reused folder keeps it');

    const unpinned = await store.unpin(key);
    assert.equal(unpinned.pinned, undefined);
    assert.equal(unpinned.current.version, '1.0.0');
    assert.equal(unpinned.previous?.version, '1.1.0');
    // Rolling "back" to the newer version undoes the rollback: no pin.
    assert.equal((await store.rollback(key)).pinned, undefined);
    await assert.rejects(store.unpin('product-none'), (e) => isVouchError(e, 'not-found'));

    assert.equal(versionFolder('1.2.0+b1', sha('a')), `1.2.0_b1-${sha('a').slice(0, 12)}`);
    assert.notEqual(versionFolder('1.2.0+b1', sha('a')), versionFolder('1.2.0-b1', sha('a')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
