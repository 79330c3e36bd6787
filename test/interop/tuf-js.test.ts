/**
 * Interop: metadata made by core/tuf's builders and signers, published under consistent-snapshot
 * names to a temp folder and served over loopback HTTP, is accepted by tuf-js's `Updater` (an
 * independent, conformance-tested TUF client), which downloads a hash-prefixed target with custom
 * fields after a root rotation 1→2. Tampered target bytes and a rotation missing the old root's
 * signature are refused by tuf-js. Every key ID and signature is also re-checked by Debian's
 * python3-securesystemslib (skipped when /usr/bin/python3 lacks it; required under CI).
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { Updater } from 'tuf-js';
import { toBytes } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey } from '../../src/core/crypto/index.ts';
import { TrustedMetadata } from '../../src/core/tuf/index.ts';
import { securesystemslibMissing, verifyWithSecuresystemslib } from '../support/securesystemslib.ts';
import { newSigner, TestRepository } from '../support/tuf-repo.ts';

const root = mkdtempSync(join(tmpdir(), 'vouch-tuf-js-'));
let server: Server;
let base = '';
let served = 'good';
const requests: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    requests.push(path);
    try {
      const body = readFileSync(join(root, served, path));
      res.writeHead(200, { 'content-length': body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
  rmSync(root, { recursive: true, force: true });
});

const target = 'rules/main/main-42.vdb';
const targetBytes = toBytes('rule database 42\n');
const custom = { vouch: { kind: 'rules', name: 'main', version: '42', note: 'é ü' } };

async function buildRepository(options: { skipOldRootSignature?: boolean } = {}): Promise<TestRepository> {
  const now = Math.floor(Date.now() / 1000);
  const repo = new TestRepository(now);
  // Targets needs the vendor (Ed25519) and the approver (ECDSA P-256, DER signatures).
  repo.keys.targets = [newSigner('vendor'), createSigner('approver', generateKey('ecdsa-p256'))];
  repo.thresholds.targets = 2;
  repo.targets.set(target, { bytes: targetBytes, custom });
  repo.targets.set('products/hello/1.0.0/hello.tar', { bytes: toBytes('hello') });
  await repo.publishRoot();
  const oldRoot = repo.keys.root;
  repo.keys.root = [newSigner('root-2a'), newSigner('root-2b')];
  repo.thresholds.root = 2;
  await repo.publishRoot(options.skipOldRootSignature ? { signers: repo.keys.root } : { extra: oldRoot });
  await repo.publishAll();
  return repo;
}

function writeRepository(name: string, repo: TestRepository): string {
  for (const [path, bytes] of repo.files) {
    const file = join(root, name, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  }
  return join(root, name);
}

function newUpdater(name: string, repo: TestRepository): Updater {
  const metadataDir = join(root, `${name}-client`, 'metadata');
  mkdirSync(metadataDir, { recursive: true });
  writeFileSync(join(metadataDir, 'root.json'), repo.root(1));
  served = name;
  return new Updater({
    metadataDir,
    metadataBaseUrl: base,
    targetDir: join(root, `${name}-client`, 'targets'),
    targetBaseUrl: `${base}/targets`,
    config: { fetchRetry: 0 },
  });
}

test('tuf-js accepts our repository, follows the root rotation and downloads the target', async () => {
  const repo = await buildRepository();
  writeRepository('good', repo);
  // Our own client agrees first.
  const ours = TrustedMetadata.fromRoot(repo.root(1), repo.now);
  ours.updateRoot(repo.root(2));
  ours.finishRoots();

  const updater = newUpdater('good', repo);
  requests.length = 0;
  await updater.refresh();
  assert.deepEqual(requests, [
    '/2.root.json',
    '/3.root.json',
    '/timestamp.json',
    '/1.snapshot.json',
    '/1.targets.json',
  ]);
  const info = await updater.getTargetInfo(target);
  assert.ok(info);
  assert.deepEqual(info.custom, custom);
  mkdirSync(join(root, 'good-client', 'targets'), { recursive: true });
  const file = await updater.downloadTarget(info);
  assert.deepEqual(new Uint8Array(readFileSync(file)), targetBytes);
  assert.ok(requests.at(-1)?.startsWith('/targets/rules/main/') && requests.at(-1)?.endsWith('.main-42.vdb'));
  // tuf-js persisted root v2.
  const persisted = JSON.parse(readFileSync(join(root, 'good-client', 'metadata', 'root.json'), 'utf8'));
  assert.equal(persisted.signed.version, 2);
});

test('tuf-js refuses a tampered target', async () => {
  const repo = await buildRepository();
  for (const [path, bytes] of repo.files) {
    if (path.startsWith('targets/rules/')) repo.files.set(path, toBytes('rule database 43\n'));
    else repo.files.set(path, bytes);
  }
  writeRepository('tampered', repo);
  const updater = newUpdater('tampered', repo);
  await updater.refresh();
  const info = await updater.getTargetInfo(target);
  assert.ok(info);
  mkdirSync(join(root, 'tampered-client', 'targets'), { recursive: true });
  await assert.rejects(updater.downloadTarget(info), /hash|length/i);
});

test('tuf-js refuses a root rotation without the old root threshold', async () => {
  const repo = await buildRepository({ skipOldRootSignature: true });
  writeRepository('unsigned-rotation', repo);
  const updater = newUpdater('unsigned-rotation', repo);
  await assert.rejects(updater.refresh(), /root was signed by 0\/1 keys/);
  // And so does ours.
  const ours = TrustedMetadata.fromRoot(repo.root(1), repo.now);
  assert.throws(() => ours.updateRoot(repo.root(2)), { code: 'no-trusted-signature' });
});

test('securesystemslib verifies every key ID and signature', {
  skip: securesystemslibMissing(),
}, async () => {
  const repo = await buildRepository();
  const dir = writeRepository('securesystemslib', repo);
  // root v1 (1) + root v2 by its own keys (2) and by v1's (1) + timestamp, snapshot (1 each) + targets (2).
  assert.deepEqual(verifyWithSecuresystemslib(dir), { roots: 2, files: 3, signatures: 8 });
  // A signature changed in one file is refused by it too.
  const timestamp = JSON.parse(readFileSync(join(dir, 'timestamp.json'), 'utf8'));
  const sig: string = timestamp.signatures[0].sig;
  timestamp.signatures[0].sig = `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}`;
  writeFileSync(join(dir, 'timestamp.json'), JSON.stringify(timestamp));
  assert.throws(() => verifyWithSecuresystemslib(dir), /securesystemslib refused/);
});
