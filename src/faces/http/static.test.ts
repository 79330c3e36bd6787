import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { testingOnlyRequest } from './http.ts';
import { createStaticHandler, staticPathSegments } from './static.ts';

let dir: string;
let root: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vouch-static-'));
  root = join(dir, 'public');
  await mkdir(join(root, 'targets', 'products'), { recursive: true });
  await writeFile(join(root, 'timestamp.json'), '{"signed":{}}');
  await writeFile(join(root, '3.targets.json'), '{"v":3}');
  await writeFile(join(root, 'targets', 'products', 'ab12.hello.tar.gz'), 'archive');
  await writeFile(join(dir, 'secret.key'), 'not for the web');
  await symlink(join(dir, 'secret.key'), join(root, 'escape.json'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('static paths: plain safe segments only', () => {
  assert.deepEqual(staticPathSegments('/targets/products/ab12.hello.tar.gz'), [
    'targets',
    'products',
    'ab12.hello.tar.gz',
  ]);
  for (const bad of [
    '',
    'timestamp.json',
    '/',
    '/../secret.key',
    '/targets/../../secret.key',
    '/.hidden',
    '/targets//x',
    '/a%2f..%2fsecret.key',
    '/a\\b',
    `/${'a/'.repeat(40)}x`,
  ]) {
    assert.equal(staticPathSegments(bad), undefined, bad);
  }
});

test('serves files with cache rules: timestamp.json uncached, the rest immutable', async () => {
  const handler = createStaticHandler({ root });
  const timestamp = await handler(testingOnlyRequest('GET', '/timestamp.json'));
  assert.equal(timestamp.status, 200);
  assert.equal(timestamp.headers?.['cache-control'], 'no-cache');
  assert.equal(timestamp.headers?.['content-type'], 'application/json');
  const targets = await handler(testingOnlyRequest('GET', '/3.targets.json'));
  assert.equal(new TextDecoder().decode(targets.body as Uint8Array), '{"v":3}');
  assert.match(targets.headers?.['cache-control'] ?? '', /immutable/);
  const archive = await handler(testingOnlyRequest('GET', '/targets/products/ab12.hello.tar.gz'));
  assert.equal(archive.headers?.['content-type'], 'application/octet-stream');
  const head = await handler(testingOnlyRequest('HEAD', '/3.targets.json'));
  assert.equal(head.status, 200);
  assert.equal((head.body as Uint8Array).length, 0);
});

test('refuses what is not a file under the root', async () => {
  const handler = createStaticHandler({ root });
  for (const path of [
    '/../secret.key',
    '/escape.json',
    '/targets',
    '/missing.json',
    '/targets/../3.targets.json',
  ]) {
    assert.equal((await handler(testingOnlyRequest('GET', path))).status, 404, path);
  }
  assert.equal((await handler(testingOnlyRequest('POST', '/3.targets.json'))).status, 405);
});

test('refuses files over the size bound', async () => {
  const handler = createStaticHandler({ root, maxFileBytes: 3 });
  await assert.rejects(handler(testingOnlyRequest('GET', '/3.targets.json')), { code: 'too-large' });
});
