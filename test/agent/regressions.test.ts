/**
 * Regression tests for four bugs a security review of the agent found, each against a real
 * repository served over loopback:
 *
 * 1. after a rollback, the next run restaged the version rolled back from into its in-use
 *    folder and failed every run; a rollback now pins the key (skipped and reported, other keys
 *    update), a newer release or unpinning ends the pin, and the kept folder is reused;
 * 2. a new root with an unchanged timestamp was trusted before its release-log proof was
 *    required;
 * 3. overlapping wanted prefixes handled one install key twice in a run;
 * 4. a version with `+` build metadata could not be given a version folder.
 */

import assert from 'node:assert/strict';
import { readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { InstallStore, versionFolder } from '../../src/clients/agent/install.ts';
import { statePaths } from '../../src/clients/agent/state.ts';
import { toText } from '../../src/core/bytes/index.ts';
import type { JsonObject } from '../../src/core/json/index.ts';
import { releaseRecord } from '../../src/core/release/record.ts';
import { formatMetadata } from '../../src/core/tuf/metadata.ts';
import { signMetadata } from '../../src/core/tuf/sign.ts';
import { publicTargetPath, repositoryName, startUpdateFixture } from '../support/update-fixture.ts';

test('a rollback pins the key: skipped and reported, other keys update; unpin and newer releases end it', async () => {
  const fx = await startUpdateFixture();
  try {
    await fx.releaseProduct('hello', '1.0.0');
    await fx.releaseRules('main', 1, 20);
    const agent = await fx.makeAgent();
    assert.equal((await fx.update(agent)).outcome, 'installed');
    await fx.releaseProduct('hello', '1.1.0');
    assert.equal((await fx.update(agent)).outcome, 'installed');
    const store = new InstallStore(statePaths(agent).installed);
    const before = await store.read('product-hello');
    const folder110 = before?.current.folder ?? '';
    const inode110 = (await stat(store.versionDir('product-hello', folder110))).ino;

    const back = await store.rollback('product-hello');
    assert.equal(back.current.version, '1.0.0');
    assert.equal(back.pinned?.from, '1.1.0');

    // The run that used to fail with `conflict` skips the pinned key and reports it.
    let status = await fx.update(agent);
    assert.equal(status.outcome, 'up-to-date', JSON.stringify(status.error));
    assert.deepEqual(status.pinned, [
      { key: 'product-hello', version: '1.0.0', from: '1.1.0', newest: '1.1.0' },
    ]);
    assert.equal(status.installed['product-hello']?.version, '1.0.0');
    assert.equal(status.installed['product-hello']?.pinnedFrom, '1.1.0');

    // Other keys still update while it is pinned.
    await fx.releaseRules('main', 2, 25);
    status = await fx.update(agent);
    assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
    assert.deepEqual(status.changed, ['rules-main']);
    assert.equal(status.installed['rules-main']?.version, '2');
    assert.equal(status.installed['product-hello']?.version, '1.0.0');

    // Unpinned, the next run installs 1.1.0 again into the kept folder (reused, not rewritten).
    await store.unpin('product-hello');
    status = await fx.update(agent);
    assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
    assert.deepEqual(status.changed, ['product-hello']);
    assert.equal(status.pinned, undefined);
    const again = await store.read('product-hello');
    assert.equal(again?.current.version, '1.1.0');
    assert.equal(again?.current.folder, folder110);
    assert.equal(again?.previous?.version, '1.0.0');
    assert.equal(again?.pinned, undefined);
    assert.equal((await stat(store.versionDir('product-hello', folder110))).ino, inode110);
    assert.equal(
      await readlink(join(agent, 'installed', 'product-hello', 'current')),
      join('versions', folder110),
    );

    // Pinned again, a release newer than the version rolled back from is installed and ends the pin.
    await store.rollback('product-hello');
    await fx.releaseProduct('hello', '1.2.0');
    status = await fx.update(agent);
    assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
    assert.deepEqual(status.changed, ['product-hello']);
    const latest = await store.read('product-hello');
    assert.equal(latest?.current.version, '1.2.0');
    assert.equal(latest?.previous?.version, '1.0.0');
    assert.equal(latest?.pinned, undefined);
  } finally {
    await fx.close();
  }
});

test('an unlogged new root is refused even when the timestamp is unchanged; nothing is persisted', async () => {
  const fx = await startUpdateFixture();
  try {
    await fx.releaseProduct('hello', '1.0.0');
    await fx.releaseRules('main', 1, 20);
    const agent = await fx.makeAgent();
    assert.equal((await fx.update(agent)).outcome, 'installed');
    const root1 = await readFile(join(fx.publicDir, '1.root.json'));
    // Root version 2 with the same keys, validly signed by the root keys, but not in the log.
    const parsed = JSON.parse(toText(root1)) as { signed: JsonObject };
    const signed: JsonObject = { ...parsed.signed, version: 2 };
    const root2 = formatMetadata(
      signed,
      await signMetadata(
        signed,
        fx.parties.roots.map((r) => r.signer),
      ),
    );
    await writeFile(join(fx.publicDir, '2.root.json'), root2);

    const refused = await fx.update(agent);
    assert.equal(refused.outcome, 'failed');
    assert.equal(refused.error?.attack, 'unlogged', refused.error?.message);
    assert.equal(refused.metadata.root, 1);
    assert.deepEqual(await readFile(join(agent, 'metadata', 'root.json')), root1, 'root 2 was not persisted');

    // The same root with its log proof is followed: the refusal was the missing proof alone.
    const proof = await fx.releaseLog.append(
      releaseRecord({ repository: repositoryName, file: '2.root.json', bytes: root2 }),
    );
    await writeFile(join(fx.publicDir, 'log', '2.root.json.tlog-proof'), proof);
    const accepted = await fx.update(agent);
    assert.equal(accepted.outcome, 'unchanged', JSON.stringify(accepted.error));
    assert.equal(accepted.metadata.root, 2);
    // ...and kept: the next run starts from root 2 and probes for 3.
    assert.deepEqual(
      new Uint8Array(await readFile(join(agent, 'metadata', 'root.json'))),
      new Uint8Array(root2),
    );
  } finally {
    await fx.close();
  }
});

test('overlapping wanted prefixes install each key once, at the newest version across them', async () => {
  const fx = await startUpdateFixture();
  try {
    await fx.releaseProduct('hello', '1.0.0');
    const agent = await fx.makeAgent({ wanted: ['products/', 'products/hello/'] });
    let status = await fx.update(agent);
    assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
    assert.deepEqual(status.changed, ['product-hello']);
    await fx.releaseProduct('hello', '1.1.0');
    status = await fx.update(agent);
    assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
    assert.deepEqual(status.changed, ['product-hello'], 'one key, handled once');
    const store = new InstallStore(statePaths(agent).installed);
    const record = await store.read('product-hello');
    assert.equal(record?.current.version, '1.1.0');
    assert.equal(record?.previous?.version, '1.0.0', 'the previous version is kept');
    assert.equal((await store.rollback('product-hello')).current.version, '1.0.0');

    // Two prefixes listing one name at different versions: only the newest is installed, whatever
    // the order of the prefixes (before, each was committed and the last one won).
    // legacy/ lists hello 1.0.0's signed file again as an older version 0.9.0.
    const legacy = 'legacy/hello/0.9.0/hello-1.0.0.tar.gz';
    const original = 'products/hello/1.0.0/hello-1.0.0.tar.gz';
    const sha100 = record?.previous?.sha256 ?? '';
    await fx.craft({
      targets: (current) => {
        const info = current[original];
        const vouch = (info?.custom as { vouch?: JsonObject } | undefined)?.vouch;
        if (info === undefined || vouch === undefined) throw new Error('no 1.0.0 target');
        return { ...current, [legacy]: { ...info, custom: { vouch: { ...vouch, version: '0.9.0' } } } };
      },
      files: {
        [publicTargetPath(legacy, sha100)]: await readFile(
          join(fx.publicDir, publicTargetPath(original, sha100)),
        ),
      },
    });
    const fresh = await fx.makeAgent({ wanted: ['products/hello/', 'legacy/'] });
    status = await fx.update(fresh);
    assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
    assert.deepEqual(status.changed, ['product-hello']);
    const installed = await new InstallStore(statePaths(fresh).installed).read('product-hello');
    assert.equal(installed?.current.version, '1.1.0');
    assert.equal(installed?.previous, undefined, 'installed once, not twice');
  } finally {
    await fx.close();
  }
});

test('a version with + build metadata installs into a safe, distinct folder', async () => {
  const fx = await startUpdateFixture();
  try {
    await fx.releaseProduct('hello', '1.2.0+b1');
    const agent = await fx.makeAgent({ wanted: ['products/hello/'] });
    const status = await fx.update(agent);
    assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
    const record = await new InstallStore(statePaths(agent).installed).read('product-hello');
    assert.equal(record?.current.version, '1.2.0+b1');
    const sha = record?.current.sha256 ?? '';
    assert.equal(record?.current.folder, `1.2.0_b1-${sha.slice(0, 12)}`);
    assert.equal(
      await readlink(join(agent, 'installed', 'product-hello', 'current')),
      join('versions', `1.2.0_b1-${sha.slice(0, 12)}`),
    );
    assert.equal((await fx.update(agent)).outcome, 'unchanged');
    assert.notEqual(versionFolder('1.2.0+b1', sha), versionFolder('1.2.0-b1', sha));
  } finally {
    await fx.close();
  }
});
