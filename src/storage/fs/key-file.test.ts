import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type KeyFileInfo, maxKeyFileSize, sealKeyFile } from '../../core/crypto/keyfile.ts';
import { generateKey } from '../../core/crypto/keys.ts';
import { type ErrorCode, isVouchError } from '../../core/errors.ts';
import { keyFileMode, readKeyFile, readKeyFileBytes, writeKeyFile } from './key-file.ts';

let dir = '';
const material = generateKey('ed25519');
let encrypted: Uint8Array = new Uint8Array(0);
let unencrypted: Uint8Array = new Uint8Array(0);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vouch-key-file-'));
  encrypted = await sealKeyFile(material, 'example.com/log', 'pass', { scrypt: { log2N: 10, r: 8, p: 1 } });
  unencrypted = await sealKeyFile(material, 'example.com/log', undefined);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isVouchError(error, code), String(error));
    assert.match(error.message, message);
    return true;
  });
}

test('writes with mode 0600 and reads back, encrypted or not', async () => {
  for (const [name, file, passphrase] of [
    ['enc.key', encrypted, 'pass'],
    ['plain.key', unencrypted, undefined],
  ] as const) {
    const path = join(dir, name);
    await writeKeyFile(path, file);
    assert.equal((await stat(path)).mode & 0o777, keyFileMode);
    assert.deepEqual(await readKeyFileBytes(path), file);
    const opened = await readKeyFile(path, passphrase);
    assert.equal(opened.name, 'example.com/log');
    assert.deepEqual(opened.material.pkcs8, material.pkcs8);
  }
});

test('a passphrase function is asked only for encrypted files', async () => {
  const asked: KeyFileInfo[] = [];
  const ask = async (info: KeyFileInfo) => {
    asked.push(info);
    return 'pass';
  };
  await writeKeyFile(join(dir, 'ask-enc.key'), encrypted);
  await writeKeyFile(join(dir, 'ask-plain.key'), unencrypted);
  await readKeyFile(join(dir, 'ask-plain.key'), ask);
  assert.equal(asked.length, 0);
  await readKeyFile(join(dir, 'ask-enc.key'), ask);
  assert.deepEqual(
    asked.map((i) => i.name),
    ['example.com/log'],
  );
  await rejectsWith(
    readKeyFile(join(dir, 'ask-enc.key'), async () => 'wrong'),
    'wrong-passphrase',
    /wrong passphrase/,
  );
  await rejectsWith(
    readKeyFile(join(dir, 'ask-enc.key'), async () => undefined),
    'bad-key',
    /encrypted/,
  );
});

test('never overwrites an existing file unless asked to', async () => {
  const path = join(dir, 'exists.key');
  await writeFile(path, 'precious');
  await assert.rejects(writeKeyFile(path, unencrypted), (error: unknown) => {
    assert.ok(isVouchError(error, 'invalid-argument'));
    assert.equal(error.details.exists, true);
    assert.match(error.message, /already exists/);
    return true;
  });
  assert.equal(await readFile(path, 'utf8'), 'precious');
  await writeKeyFile(path, unencrypted, { replace: true });
  assert.deepEqual(new Uint8Array(await readFile(path)), unencrypted);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
});

test('a missing directory is reported by the key file path', async () => {
  await rejectsWith(
    writeKeyFile(join(dir, 'no-such-dir', 'k.key'), unencrypted),
    'not-found',
    /the directory of .*no-such-dir\/k\.key does not exist/,
  );
});

test('refuses to write bytes that are not a key file', async () => {
  await rejectsWith(
    writeKeyFile(join(dir, 'junk.key'), new Uint8Array(10)),
    'bad-key',
    /not a Vouch key file/,
  );
  await assert.rejects(stat(join(dir, 'junk.key')), { code: 'ENOENT' });
});

test('refuses key files that others may access, and non-files', async () => {
  const path = join(dir, 'perm.key');
  await writeKeyFile(path, encrypted);
  for (const mode of [0o640, 0o604, 0o644, 0o660, 0o601, 0o610]) {
    await chmod(path, mode);
    await rejectsWith(
      readKeyFile(path, 'pass'),
      'bad-key',
      /accessible by other users \(mode 0\d\d\d\); run chmod 600/,
    );
  }
  for (const mode of [0o400, 0o600, 0o700]) {
    await chmod(path, mode);
    assert.equal((await readKeyFile(path, 'pass')).name, 'example.com/log');
  }
  await mkdir(join(dir, 'a-directory.key'));
  await rejectsWith(readKeyFileBytes(join(dir, 'a-directory.key')), 'bad-key', /not a regular file/);
  await rejectsWith(readKeyFileBytes(join(dir, 'missing.key')), 'bad-key', /no key file at/);
});

test('refuses oversized and truncated files', async () => {
  const big = join(dir, 'big.key');
  await writeFile(big, new Uint8Array(maxKeyFileSize + 1), { mode: 0o600 });
  await rejectsWith(readKeyFileBytes(big), 'bad-key', /larger than 65536 bytes/);
  const exact = join(dir, 'exact.key');
  await writeFile(exact, new Uint8Array(maxKeyFileSize), { mode: 0o600 });
  assert.equal((await readKeyFileBytes(exact)).length, maxKeyFileSize);
  const truncated = join(dir, 'truncated.key');
  await writeFile(truncated, unencrypted.subarray(0, unencrypted.length - 5), { mode: 0o600 });
  await rejectsWith(readKeyFile(truncated, undefined), 'bad-key', /truncated/);
});

test('leaves no temporary files behind', async () => {
  const names = await readdir(dir);
  assert.deepEqual(
    names.filter((n) => n.startsWith('.')),
    [],
  );
});
