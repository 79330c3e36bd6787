import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { testBlobStore, testCasStore } from '../conformance/conformance.ts';
import { MemoryBlobStore, MemoryCasStore } from './memory.ts';

testBlobStore('memory', async () => new MemoryBlobStore());
testCasStore('memory', async () => new MemoryCasStore());

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

test('memory fault hooks: fail-before persists nothing, fail-after persists and still fails', async () => {
  const blobs = new MemoryBlobStore();
  blobs.faults = (_op, key) => (key === 'before' ? 'fail-before' : key === 'after' ? 'fail-after' : 'ok');
  await assert.rejects(blobs.put('before', bytes('x')), (e) => isVouchError(e, 'unavailable'));
  assert.equal(await blobs.get('before'), undefined);
  await assert.rejects(blobs.put('after', bytes('y')), (e) => isVouchError(e, 'unavailable'));
  assert.deepEqual(await blobs.get('after'), bytes('y'));

  const cas = new MemoryCasStore();
  cas.faults = () => 'fail-after';
  await assert.rejects(cas.cell('c').replace(undefined, bytes('z')), (e) => isVouchError(e, 'unavailable'));
  assert.deepEqual(await cas.cell('c').read(), bytes('z'));
});
