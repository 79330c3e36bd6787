import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { maxCredentialBytes, readCredential } from './report.ts';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-report-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('readCredential returns the trimmed token of an owner-only file', async (t) => {
  const file = join(scratch(t), 'credential');
  writeFileSync(file, 'vouch-et-abc_DEF-123\n', { mode: 0o600 });
  assert.equal(await readCredential(file), 'vouch-et-abc_DEF-123');
});

// Security review S-2: the bearer token file was read whole whatever its size and whatever its
// permissions; now it is bounded and must not be accessible by the group or others.
test('readCredential refuses a credential file others can access', {
  skip: process.platform === 'win32',
}, async (t) => {
  const file = join(scratch(t), 'credential');
  writeFileSync(file, 'vouch-et-abc\n', { mode: 0o600 });
  for (const mode of [0o644, 0o640, 0o604, 0o620]) {
    chmodSync(file, mode);
    await assert.rejects(readCredential(file), (error) => {
      assert.ok(isVouchError(error, 'bad-key'));
      assert.match(error.message, /chmod 600/);
      assert.doesNotMatch(error.message, /vouch-et-abc/);
      return true;
    });
  }
});

test('readCredential reads at most its limit and refuses a larger file', async (t) => {
  const dir = scratch(t);
  const exact = join(dir, 'exact');
  writeFileSync(exact, 'x'.repeat(maxCredentialBytes), { mode: 0o600 });
  assert.equal((await readCredential(exact)).length, maxCredentialBytes);
  const large = join(dir, 'large');
  writeFileSync(large, 'x'.repeat(maxCredentialBytes * 64), { mode: 0o600 });
  await assert.rejects(readCredential(large), (error) => isVouchError(error, 'too-large'));
});

test('readCredential refuses a folder and a file that is not one printable token', async (t) => {
  const dir = scratch(t);
  await assert.rejects(readCredential(dir), (error) => isVouchError(error, 'bad-key'));
  const spaced = join(dir, 'spaced');
  writeFileSync(spaced, 'two words\n', { mode: 0o600 });
  await assert.rejects(readCredential(spaced), (error) => isVouchError(error, 'malformed'));
});
