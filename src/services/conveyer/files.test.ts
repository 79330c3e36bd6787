import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { readOutputs } from './files.ts';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-files-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('readOutputs reads declared files and folders under the output root', async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'dist', 'lib'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'app'), 'app\n', { mode: 0o755 });
  writeFileSync(join(dir, 'dist', 'lib', 'a.txt'), 'a\n');
  const files = await readOutputs(dir, ['dist/app', 'dist/lib']);
  assert.deepEqual(
    files.map((f) => [f.path, f.executable, new TextDecoder().decode(f.bytes)]),
    [
      ['dist/app', true, 'app\n'],
      ['dist/lib/a.txt', false, 'a\n'],
    ],
  );
});

// Security review S-1: a build step (inside the sandbox) could make an output's parent folder a
// symbolic link to a folder of the builder's host; the conveyer reads outputs outside the
// sandbox, so the link must be refused, not followed into the released archive.
test('readOutputs refuses a symbolic link among the folders leading to an output', async (t) => {
  const dir = scratch(t);
  const secret = join(dir, 'builder-keys');
  mkdirSync(secret);
  writeFileSync(join(secret, 'builder.key'), 'not for the archive\n');
  const out = join(dir, 'out');
  mkdirSync(join(out, 'real'), { recursive: true });
  symlinkSync(secret, join(out, 'dist'));
  symlinkSync(secret, join(out, 'real', 'nested'));
  for (const output of ['dist/builder.key', 'dist', 'real/nested/builder.key']) {
    await assert.rejects(
      readOutputs(out, [output]),
      (error) => isVouchError(error, 'invalid-argument'),
      `output ${output} must be refused`,
    );
  }
});

test('readOutputs refuses an output under a missing folder or a file', async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'file'), 'x');
  for (const output of ['missing/app', 'file/app']) {
    await assert.rejects(readOutputs(dir, [output]), (error) => isVouchError(error, 'invalid-argument'));
  }
});
