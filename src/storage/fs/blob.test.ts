import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { testBlobStore } from '../conformance/conformance.ts';
import { FsBlobStore } from './blob.ts';

const dir = mkdtempSync(join(tmpdir(), 'vouch-fs-blob-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

testBlobStore('fs', async () => new FsBlobStore(join(dir, `store-${n++}`)));

test('fs blob store: keys are files at their paths, so the folder can be served as is', async () => {
  const root = join(dir, 'served');
  const store = new FsBlobStore(root);
  await store.put('tile/0/x001/002.p/5', new Uint8Array([1, 2, 3]));
  assert.deepEqual(
    new Uint8Array(readFileSync(join(root, 'tile/0/x001/002.p/5'))),
    new Uint8Array([1, 2, 3]),
  );
});

test('fs blob store: publish replaces a mutable head atomically and leaves no temporary files', async () => {
  const root = join(dir, 'published');
  const store = new FsBlobStore(root);
  await store.publish('checkpoint', new TextEncoder().encode('one\n'));
  await store.publish('checkpoint', new TextEncoder().encode('two\n'));
  assert.equal(readFileSync(join(root, 'checkpoint'), 'utf8'), 'two\n');
  assert.deepEqual(readdirSync(root), ['checkpoint']);
});
