/**
 * The agent's happy paths against a real repository (services/repo) served over loopback: first
 * install of a product and a rule database, the no-change check (exactly two requests, under
 * 4 KB), a rule database updated by delta, a product update keeping the previous version, and a
 * root rotation followed.
 */

import assert from 'node:assert/strict';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readDatabase } from '../../src/services/rules/compile.ts';
import { startUpdateFixture, type UpdateFixture } from '../support/update-fixture.ts';

let fx: UpdateFixture;
let agent = '';

before(async () => {
  fx = await startUpdateFixture();
  await fx.releaseProduct('hello', '1.0.0');
  await fx.releaseRules('main', 1, 50);
  agent = await fx.makeAgent();
});

after(() => fx.close());

test('first install: product and rule database, every metadata version and evidence logged', async () => {
  const status = await fx.update(agent, { testLoad: undefined });
  assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
  assert.deepEqual([...status.changed].sort(), ['product-hello', 'rules-main']);
  assert.equal(status.installed['product-hello']?.version, '1.0.0');
  assert.equal(status.installed['rules-main']?.version, '1');
  const archive = await readFile(
    join(agent, 'installed', 'product-hello', 'current', 'hello-1.0.0.tar.gz'),
    'utf8',
  );
  assert.match(archive, /hello 1.0.0/);
  const db = await readDatabase(join(agent, 'installed', 'rules-main', 'current'));
  assert.equal(db.database.manifest.version, 1);
  const persisted = JSON.parse(await readFile(join(agent, 'metadata', 'timestamp.json'), 'utf8'));
  assert.equal(persisted.signed.version, status.metadata.timestamp);
});

test('no change: exactly the root probe and the timestamp, under 4 KB', async () => {
  const before = fx.server.requests.length;
  const status = await fx.update(agent);
  assert.equal(status.outcome, 'unchanged', JSON.stringify(status.error));
  assert.deepEqual(fx.server.requests.slice(before), ['2.root.json', 'timestamp.json']);
  assert.equal(status.requests, 2);
  assert.ok(status.bytes < 4096, `${status.bytes} bytes`);
});

test('a rule database update by delta', async () => {
  await fx.releaseRules('main', 2, 60);
  const before = fx.server.requests.length;
  const status = await fx.update(agent);
  assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
  assert.deepEqual(status.changed, ['rules-main']);
  assert.equal(status.deltaFailures, undefined);
  const fetched = fx.server.requests.slice(before);
  assert.ok(
    fetched.some((p) => p.endsWith('.main-1-2.vdelta')),
    fetched.join(' '),
  );
  assert.ok(!fetched.some((p) => p.endsWith('.main-2.vdb')), 'the full database is not downloaded');
  const record = JSON.parse(await readFile(join(agent, 'installed', 'rules-main', 'current.json'), 'utf8'));
  assert.equal(record.current.version, '2');
  assert.equal(record.current.via, 'delta');
  assert.equal(record.previous.version, '1');
  const db = await readDatabase(join(agent, 'installed', 'rules-main', 'current'));
  assert.equal(db.database.manifest.version, 2);
});

test('a product update keeps the previous version', async () => {
  await fx.releaseProduct('hello', '1.1.0');
  const status = await fx.update(agent);
  assert.equal(status.outcome, 'installed', JSON.stringify(status.error));
  assert.deepEqual(status.installed['product-hello'], {
    version: '1.1.0',
    target: 'products/hello/1.1.0/hello-1.1.0.tar.gz',
    previous: '1.0.0',
  });
  const link = await readlink(join(agent, 'installed', 'product-hello', 'current'));
  assert.match(link, /^versions\/1\.1\.0-/);
});

test('a root rotation is followed', async () => {
  const { result } = await fx.rotateRoot(
    [fx.parties.roots[0]?.signer, fx.parties.roots[1]?.signer].filter((s) => s !== undefined),
  );
  assert.equal(result.root, 2);
  const status = await fx.update(agent);
  assert.notEqual(status.outcome, 'failed', JSON.stringify(status.error));
  assert.equal(status.metadata.root, 2);
  const root = JSON.parse(await readFile(join(agent, 'metadata', 'root.json'), 'utf8'));
  assert.equal(root.signed.version, 2);
});
