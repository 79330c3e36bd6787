import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { type CliIo, processIo, readInput } from './io.ts';

test('readInput reads a file up to its limit and refuses one byte more, before reading it whole', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-io-'));
  const io: CliIo = processIo();
  try {
    const file = join(dir, 'input');
    const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => i % 251);
    await writeFile(file, bytes);
    assert.deepEqual(await readInput(file, io, 200_000), bytes);
    await assert.rejects(readInput(file, io, 199_999), (e) => isVouchError(e, 'too-large'));
    await writeFile(file, new Uint8Array(0));
    assert.equal((await readInput(file, io, 10)).length, 0);
    // A device that reports no size is read in growing chunks, still bounded.
    await assert.rejects(readInput('/dev/zero', io, 100_000), (e) => isVouchError(e, 'too-large'));
    await assert.rejects(
      readInput(join(dir, 'missing'), io, 10),
      (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
