import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, formatBase64, toBytes, toText } from '../bytes/index.ts';
import { type ErrorCode, isVouchError } from '../errors.ts';
import { sha256 } from './hash.ts';
import {
  defaultScryptParams,
  inspectKeyFile,
  maxKeyFileSize,
  openKeyFile,
  type ScryptParams,
  sealKeyFile,
} from './keyfile.ts';
import { generateKey, type KeyType, keyTypes, type PrivateKeyMaterial } from './keys.ts';

// Cheap scrypt parameters keep the tests fast; one test below uses the defaults.
const cheap: ScryptParams = { log2N: 10, r: 8, p: 1 };
const passphrase = 'correct horse battery staple';

const materials = new Map<KeyType, PrivateKeyMaterial>(keyTypes.map((type) => [type, generateKey(type)]));

function material(type: KeyType): PrivateKeyMaterial {
  const m = materials.get(type);
  assert.ok(m);
  return m;
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

function throwsWith(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

/** edit rewrites a key file's text with `change` and recomputes its checksum line. */
function edit(file: Uint8Array, change: (text: string) => string): Uint8Array {
  const text = toText(file);
  const body = change(text.slice(0, text.lastIndexOf('checksum: ')));
  const signed = toBytes(body);
  return concatBytes(signed, toBytes(`checksum: ${formatBase64(sha256(signed))}\n`));
}

test('round trips every key type, encrypted and not', async () => {
  for (const type of keyTypes) {
    for (const secret of [passphrase, undefined]) {
      const m = material(type);
      const file = await sealKeyFile(m, 'example.com/log', secret, { scrypt: cheap });
      const opened = await openKeyFile(file, secret);
      assert.equal(opened.name, 'example.com/log');
      assert.equal(opened.material.keyType, type);
      assert.deepEqual(opened.material.pkcs8, m.pkcs8);
      assert.deepEqual(opened.material.publicKey, m.publicKey);
      assert.ok(Object.isFrozen(opened));
      const info = inspectKeyFile(file);
      assert.deepEqual(info, {
        name: 'example.com/log',
        keyType: type,
        publicKey: m.publicKey,
        scrypt: secret === undefined ? undefined : cheap,
      });
      assert.ok(file.length < maxKeyFileSize / 8, `${type} file is ${file.length} bytes`);
    }
  }
});

test('an unencrypted file has one spelling; an encrypted one a fresh salt and nonce', async () => {
  const m = material('ed25519');
  const a = await sealKeyFile(m, 'k', undefined);
  assert.deepEqual(await sealKeyFile(m, 'k', undefined), a);
  assert.match(toText(a), /^vouch-key-file v1\nname: k\ntype: ed25519\npublic-key: \S+\nencryption: none\n/);
  const x = await sealKeyFile(m, 'k', passphrase, { scrypt: cheap });
  const y = await sealKeyFile(m, 'k', passphrase, { scrypt: cheap });
  assert.notDeepEqual(x, y);
});

test('the default scrypt parameters are written and read back', async () => {
  const file = await sealKeyFile(material('ed25519'), 'k', passphrase);
  assert.match(toText(file), /\nscrypt: log2n=17 r=8 p=1\n/);
  assert.deepEqual(inspectKeyFile(file).scrypt, defaultScryptParams);
  assert.equal((await openKeyFile(file, passphrase)).name, 'k');
});

test('a wrong or missing passphrase is refused', async () => {
  const file = await sealKeyFile(material('ecdsa-p256'), 'k', passphrase, { scrypt: cheap });
  await rejectsWith(openKeyFile(file, 'Correct horse battery staple'), 'wrong-passphrase');
  await rejectsWith(openKeyFile(file, ''), 'wrong-passphrase');
  await assert.rejects(openKeyFile(file, undefined), (error: unknown) => {
    assert.ok(isVouchError(error, 'bad-key'));
    assert.equal(error.details.encrypted, true);
    assert.match(error.message, /encrypted and no passphrase/);
    return true;
  });
});

test('every truncation of a key file is refused as bad-key', async () => {
  for (const secret of [passphrase, undefined]) {
    const file = await sealKeyFile(material('ed25519'), 'example.com/log', secret, { scrypt: cheap });
    for (let length = 0; length < file.length; length++) {
      await rejectsWith(openKeyFile(file.subarray(0, length), passphrase), 'bad-key');
    }
  }
});

test('a flipped bit or byte anywhere is refused as bad-key, before any key derivation', async () => {
  const files = [
    await sealKeyFile(material('ed25519'), 'example.com/log', passphrase),
    await sealKeyFile(material('ed25519'), 'example.com/log', undefined),
    await sealKeyFile(material('ecdsa-p256'), 'example.com/log', undefined),
    await sealKeyFile(material('ml-dsa-44'), 'example.com/log', passphrase),
  ];
  const started = performance.now();
  for (const file of files) {
    for (let i = 0; i < file.length; i++) {
      for (const mask of [0x01, 0x20, 0x80, 0xff]) {
        const damaged = new Uint8Array(file);
        damaged[i] = (damaged[i] as number) ^ mask;
        await rejectsWith(openKeyFile(damaged, passphrase), 'bad-key');
      }
    }
  }
  // With default scrypt parameters even one derivation would take about as long as all of this.
  assert.ok(performance.now() - started < 5000);
});

test('authenticated header fields cannot be changed, even with a fixed-up checksum', async () => {
  const a = await sealKeyFile(material('ed25519'), 'example.com/a', passphrase, { scrypt: cheap });
  const other = generateKey('ed25519');
  const b = await sealKeyFile(other, 'example.com/b', passphrase, { scrypt: cheap });
  const publicKeyOf = (file: Uint8Array) => /\npublic-key: (\S+)\n/.exec(toText(file))?.[1] ?? '';
  const rows: { name: string; file: Uint8Array }[] = [
    { name: 'renamed', file: edit(a, (t) => t.replace('name: example.com/a', 'name: example.com/b')) },
    { name: 'public key swapped', file: edit(a, (t) => t.replace(publicKeyOf(a), publicKeyOf(b))) },
    { name: 'scrypt cost lowered', file: edit(a, (t) => t.replace('log2n=10', 'log2n=11')) },
    {
      name: 'salt replaced',
      file: edit(a, (t) => t.replace(/\nsalt: \S+\n/, `\nsalt: ${formatBase64(new Uint8Array(16))}\n`)),
    },
  ];
  for (const row of rows) {
    await rejectsWith(openKeyFile(row.file, passphrase), 'wrong-passphrase', undefined).catch(
      (e: unknown) => {
        throw new Error(`${row.name}: ${String(e)}`);
      },
    );
  }
});

test('an unencrypted private key must match the header', async () => {
  const plainFile = await sealKeyFile(material('ed25519'), 'k', undefined);
  const other = generateKey('ed25519');
  const swapped = edit(plainFile, (t) =>
    t.replace(/\npublic-key: \S+\n/, `\npublic-key: ${formatBase64(other.publicKey)}\n`),
  );
  await rejectsWith(openKeyFile(swapped, undefined), 'bad-key', /does not match the public key/);
  const wrongType = edit(plainFile, (t) =>
    t
      .replace('type: ed25519', 'type: ecdsa-p256')
      .replace(/\npublic-key: \S+\n/, `\npublic-key: ${formatBase64(material('ecdsa-p256').publicKey)}\n`),
  );
  await rejectsWith(openKeyFile(wrongType, undefined), 'bad-key', /expected a ecdsa-p256 key, found ed25519/);
});

test('foreign and malformed files are refused with a reason', async () => {
  const good = await sealKeyFile(material('ed25519'), 'k', undefined);
  const goodText = toText(good);
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const random = new Uint8Array(300).map((_, i) => (i * 197 + 13) & 0xff);
  const rows: { name: string; file: Uint8Array; message: RegExp }[] = [
    { name: 'empty', file: new Uint8Array(0), message: /empty/ },
    { name: 'PEM', file: toBytes(pem), message: /not a Vouch key file \(it is PEM/ },
    { name: 'random bytes', file: random, message: /^not a Vouch key file$/ },
    { name: 'JSON', file: toBytes('{"name":"k"}\n'), message: /^not a Vouch key file$/ },
    { name: 'later version', file: toBytes(goodText.replace('v1', 'v2')), message: /unsupported version/ },
    { name: 'magic prefix', file: toBytes('vouch-key'), message: /truncated/ },
    {
      name: 'too large',
      file: concatBytes(good, new Uint8Array(maxKeyFileSize)),
      message: /larger than 65536 bytes/,
    },
    { name: 'CRLF', file: toBytes(goodText.replaceAll('\n', '\r\n')), message: /CRLF/ },
    {
      name: 'no checksum',
      file: toBytes(goodText.slice(0, goodText.indexOf('checksum: '))),
      message: /no checksum/,
    },
    { name: 'CRLF, fixed checksum', file: edit(good, (t) => t.replace('\n', '\r\n')), message: /CRLF/ },
    { name: 'type CR', file: edit(good, (t) => t.replace('ed25519\n', 'ed25519\r\n')), message: /type/ },
    { name: 'unknown type', file: edit(good, (t) => t.replace('ed25519', 'rsa')), message: /type/ },
    { name: 'bad name', file: edit(good, (t) => t.replace('name: k', 'name: a+b')), message: /name/ },
    { name: 'no name', file: edit(good, (t) => t.replace('name: k\n', '')), message: /name field/ },
    {
      name: 'fields out of order',
      file: edit(good, (t) => t.replace('name: k\ntype: ed25519', 'type: ed25519\nname: k')),
      message: /name field/,
    },
    {
      name: 'unknown encryption',
      file: edit(good, (t) => t.replace('none', 'rot13')),
      message: /encryption/,
    },
    { name: 'extra line', file: edit(good, (t) => `${t}comment: hi\n`), message: /unexpected line/ },
    {
      name: 'non-canonical base64',
      file: edit(good, (t) => t.replace(/(\npublic-key: \S+)=\n/, '$1\n')),
      message: /not canonical base64/,
    },
    {
      name: 'short public key',
      file: edit(good, (t) => t.replace(/\npublic-key: \S+\n/, '\npublic-key: AAAA\n')),
      message: /not a valid ed25519 key/,
    },
    {
      name: 'private key not PKCS #8',
      file: edit(good, (t) => t.replace(/\nprivate-key: \S+\n/, '\nprivate-key: AAAA\n')),
      message: /PKCS #8/,
    },
  ];
  for (const row of rows) {
    await assert.rejects(openKeyFile(row.file, undefined), (error: unknown) => {
      assert.ok(isVouchError(error, 'bad-key'), `${row.name}: ${String(error)}`);
      assert.match(error.message, row.message, row.name);
      return true;
    });
  }
});

test('scrypt parameters out of bounds are refused before deriving anything', async () => {
  const file = await sealKeyFile(material('ed25519'), 'k', passphrase, { scrypt: cheap });
  const rows: { name: string; params: string }[] = [
    { name: 'absurd N', params: 'log2n=62 r=8 p=1' },
    { name: 'N over 2^20', params: 'log2n=21 r=1 p=1' },
    { name: 'N under 2^10', params: 'log2n=9 r=8 p=1' },
    { name: 'memory over 256 MiB', params: 'log2n=19 r=8 p=1' },
    { name: 'work over the cap', params: 'log2n=17 r=8 p=3' },
    { name: 'r too large', params: 'log2n=10 r=999 p=1' },
    { name: 'p too large', params: 'log2n=10 r=1 p=17' },
    { name: 'r zero', params: 'log2n=10 r=0 p=1' },
    { name: 'leading zero', params: 'log2n=010 r=8 p=1' },
    { name: 'huge digits', params: 'log2n=99999999999999999999 r=8 p=1' },
    { name: 'reordered', params: 'r=8 log2n=10 p=1' },
  ];
  for (const row of rows) {
    const bad = edit(file, (t) => t.replace('log2n=10 r=8 p=1', row.params));
    const started = performance.now();
    await assert.rejects(openKeyFile(bad, passphrase), (error: unknown) => {
      assert.ok(isVouchError(error, 'bad-key'), `${row.name}: ${String(error)}`);
      assert.match(error.message, /scrypt/, row.name);
      return true;
    });
    assert.ok(performance.now() - started < 100, row.name);
  }
  // The largest accepted cost still opens (only the tag check fails, after derivation).
  const edge = edit(file, (t) => t.replace('log2n=10 r=8 p=1', 'log2n=10 r=32 p=16'));
  await rejectsWith(openKeyFile(edge, passphrase), 'wrong-passphrase');
});

test('sealKeyFile refuses bad names, empty passphrases, bad parameters and mismatched keys', async () => {
  const m = material('ed25519');
  const names = [
    '',
    'a b',
    'a+b',
    'a\nb',
    'a\tb',
    'a\u00a0b',
    'a\u2028b',
    '\ud800',
    'x'.repeat(1025),
    'a\u007fb',
  ];
  for (const name of names) {
    await rejectsWith(sealKeyFile(m, name, undefined), 'invalid-argument', /key name/);
  }
  assert.ok(await sealKeyFile(m, 'x'.repeat(1024), undefined));
  assert.ok(await sealKeyFile(m, 'ключ.example/日志', undefined));
  await rejectsWith(sealKeyFile(m, 'k', ''), 'invalid-argument', /passphrase is empty/);
  for (const scrypt of [
    { log2N: 30, r: 8, p: 1 },
    { log2N: 10, r: 0, p: 1 },
    { log2N: 10.5, r: 8, p: 1 },
  ]) {
    await rejectsWith(sealKeyFile(m, 'k', passphrase, { scrypt }), 'invalid-argument', /scrypt/);
  }
  const mismatched = { ...m, publicKey: generateKey('ed25519').publicKey };
  await rejectsWith(sealKeyFile(mismatched, 'k', undefined), 'bad-key');
});

test('inspectKeyFile: random and mutated input gives a value or a VouchError, never another throw', async () => {
  const good = await sealKeyFile(material('ed25519'), 'example.com/log', passphrase, { scrypt: cheap });
  const mutated = fc
    .tuple(fc.nat(good.length - 1), fc.nat(good.length), fc.uint8Array({ maxLength: 8 }))
    .map(([at, cut, insert]) => concatBytes(good.subarray(0, at), insert, good.subarray(Math.max(at, cut))));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated), (bytes) => {
      try {
        inspectKeyFile(bytes);
      } catch (error) {
        if (!isVouchError(error)) throw error;
      }
    }),
    { seed: 20260601, numRuns: 2000 },
  );
  throwsWith(() => inspectKeyFile(good.subarray(1)), 'bad-key');
});
