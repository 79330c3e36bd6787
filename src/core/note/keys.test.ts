import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, formatBase64, parseBase64, toBytes } from '../bytes/index.ts';
import { generateKey, sha256 } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import {
  computeKeyId,
  formatKeyId,
  formatSignerKey,
  formatVerifierKey,
  isValidKeyName,
  parseSignerKey,
  parseVerifierKey,
  readUint32,
  signatureTypes,
  toCosignatureV1Key,
  verifierKeyOf,
} from './keys.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));
const peter = vectors.signedNote.peterNeumann;
const tessera = vectors.signedNote.tesseraTestLog;
const witness = vectors.cosignatureV1;

test('vectors: each Go skey derives the published vkey (the base64 parts contain "+")', () => {
  for (const [skey, vkey] of [
    [peter.skey, peter.vkey],
    [tessera.skey, tessera.vkey],
    [witness.skey, witness.vkeyType01],
  ] as const) {
    assert.ok(
      skey.split('+').length > 5 || vkey.split('+').length > 3,
      'the vector exercises a "+" in base64',
    );
    const signer = parseSignerKey(skey);
    const key = parseVerifierKey(vkey);
    assert.equal(signer.name, key.name);
    assert.equal(signer.keyId, key.keyId);
    assert.deepEqual(signer.material.publicKey, key.publicKey);
    assert.equal(formatVerifierKey(key), vkey);
    assert.equal(formatSignerKey(signer.name, signer.material), skey);
  }
});

test('vectors: the C2SP example vkey parses and re-formats byte for byte', () => {
  const key = parseVerifierKey(vectors.signedNote.c2spExample.vkey);
  assert.equal(key.name, 'example.com/foo');
  assert.equal(formatKeyId(key.keyId), '530d903a');
  assert.equal(key.type, signatureTypes.ed25519);
  assert.equal(formatVerifierKey(key), vectors.signedNote.c2spExample.vkey);
});

test('vectors: a type 0x01 witness key maps to type 0x04 with a different key ID', () => {
  const type01 = parseVerifierKey(witness.vkeyType01);
  const type04 = parseVerifierKey(witness.vkeyType04);
  assert.equal(formatKeyId(type01.keyId), '55ee4561');
  assert.equal(formatKeyId(type04.keyId), '9b3fb2d5');
  assert.deepEqual(type01.publicKey, type04.publicKey);
  assert.deepEqual(toCosignatureV1Key(type01), type04);
  assert.equal(toCosignatureV1Key(type04), type04);
  assert.equal(formatVerifierKey(toCosignatureV1Key(type01)), witness.vkeyType04);
});

test('computeKeyId is SHA-256(name || 0x0A || type || key)[:4], except ECDSA: SHA-256(DER SPKI)[:4]', () => {
  const ed = generateKey('ed25519').publicKey;
  const expected = readUint32(sha256(toBytes('n'), Uint8Array.of(0x0a, 0x01), ed));
  assert.equal(computeKeyId('n', 0x01, ed), expected);
  assert.notEqual(computeKeyId('n', 0x04, ed), expected);
  const spki = generateKey('ecdsa-p256').publicKey;
  assert.equal(computeKeyId('a', 0x02, spki), readUint32(sha256(spki)));
  assert.equal(computeKeyId('a', 0x02, spki), computeKeyId('b', 0x02, spki), 'the name is not hashed');
});

test('vkeys of every supported type round-trip', () => {
  const rows = [
    { name: 'ed25519 note key', type: signatureTypes.ed25519, key: generateKey('ed25519').publicKey },
    { name: 'ecdsa legacy key', type: signatureTypes.ecdsa, key: generateKey('ecdsa-p256').publicKey },
    { name: 'cosignature/v1 key', type: signatureTypes.cosignatureV1, key: generateKey('ed25519').publicKey },
    {
      name: 'ml-dsa-44 key',
      type: signatureTypes.mlDsa44Cosignature,
      key: generateKey('ml-dsa-44').publicKey,
    },
  ];
  for (const row of rows) {
    const vkey = formatVerifierKey({ name: 'example.com/k', type: row.type, publicKey: row.key });
    const key = parseVerifierKey(vkey);
    assert.equal(key.type, row.type, row.name);
    assert.deepEqual(key.publicKey, row.key, row.name);
    assert.deepEqual(verifierKeyOf('example.com/k', row.type, row.key), key, row.name);
    assert.equal(formatVerifierKey(key), vkey, row.name);
  }
});

test('isValidKeyName follows signed-note: non-empty, no Unicode space, no "+"', () => {
  const rows: [string, string, boolean][] = [
    ['url', 'example.com/log', true],
    ['unicode letters', 'пример.рф/лог', true],
    ['empty', '', false],
    ['space', 'a b', false],
    ['no-break space', 'a\u00a0b', false],
    ['ideographic space', 'a\u3000b', false],
    ['line separator', 'a\u2028b', false],
    ['plus', 'a+b', false],
    ['tab', 'a\tb', false],
    ['control', 'a\u0001b', false],
    ['C1 control', 'a\u0085b', false],
    ['DEL', 'a\u007fb', false],
    ['lone surrogate', 'a\ud800', false],
  ];
  for (const [name, value, valid] of rows) assert.equal(isValidKeyName(value), valid, name);
});

const ed = parseVerifierKey(peter.vkey).publicKey; // fixed, so the rows below are deterministic
const goodVkey = formatVerifierKey({ name: 'k', type: 0x01, publicKey: ed });
const [goodName, goodId, goodKey] = [goodVkey.slice(0, 1), goodVkey.slice(2, 10), goodVkey.slice(11)];
const vkeyWith = (type: number, key: Uint8Array, name = 'k'): string =>
  `${name}+${formatKeyId(computeKeyId(name, type, key))}+${formatBase64(concatBytes(Uint8Array.of(type), key))}`;

test('parseVerifierKey refuses malformed vkeys with a named error', () => {
  const rows: { name: string; vkey: string; code: string }[] = [
    { name: 'empty', vkey: '', code: 'bad-key' },
    { name: 'no plus', vkey: 'abc', code: 'bad-key' },
    { name: 'one plus', vkey: `${goodName}+${goodId}`, code: 'bad-key' },
    { name: 'empty name', vkey: `+${goodId}+${goodKey}`, code: 'bad-key' },
    { name: 'name with space', vkey: vkeyWith(1, ed, 'a b'), code: 'bad-key' },
    { name: 'uppercase key id', vkey: `${goodName}+${goodId.toUpperCase()}+${goodKey}`, code: 'bad-key' },
    { name: 'short key id', vkey: `${goodName}+${goodId.slice(1)}+${goodKey}`, code: 'bad-key' },
    { name: 'non-hex key id', vkey: `${goodName}+zzzzzzzz+${goodKey}`, code: 'bad-key' },
    { name: 'key id mismatch', vkey: `${goodName}+00000000+${goodKey}`, code: 'bad-key' },
    { name: 'other name, same key id', vkey: `x+${goodId}+${goodKey}`, code: 'bad-key' },
    {
      name: 'missing padding',
      vkey: stripPadding(vkeyWith(2, generateKey('ecdsa-p256').publicKey)),
      code: 'bad-key',
    },
    {
      name: 'last key character changed',
      vkey: vkeyWith(1, ed).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
      code: 'bad-key',
    },
    {
      name: 'base64url alphabet',
      vkey: `${goodName}+${goodId}+${goodKey.replace(/\+/g, '-')}x`,
      code: 'bad-key',
    },
    { name: 'empty key', vkey: `${goodName}+${goodId}+`, code: 'bad-key' },
    { name: 'reserved type 0x03', vkey: vkeyWith(3, ed), code: 'bad-key' },
    { name: 'rfc6962 type 0x05', vkey: vkeyWith(5, ed), code: 'bad-key' },
    { name: 'ed25519 key of 31 bytes', vkey: vkeyWith(1, ed.subarray(1)), code: 'bad-key' },
    {
      name: 'cosignature key of 33 bytes',
      vkey: vkeyWith(4, concatBytes(ed, Uint8Array.of(0))),
      code: 'bad-key',
    },
    { name: 'ml-dsa-44 key of 1311 bytes', vkey: vkeyWith(6, new Uint8Array(1311)), code: 'bad-key' },
    { name: 'ecdsa key not DER', vkey: vkeyWith(2, ed), code: 'bad-key' },
    { name: 'ecdsa key of another curve', vkey: vkeyWith(2, p384Spki()), code: 'bad-key' },
    {
      name: 'ecdsa key truncated',
      vkey: vkeyWith(2, generateKey('ecdsa-p256').publicKey.subarray(0, 60)),
      code: 'bad-key',
    },
    { name: 'over-long', vkey: `${goodName}+${goodId}+${'A'.repeat(5000)}`, code: 'too-large' },
  ];
  for (const row of rows) {
    assert.throws(
      () => parseVerifierKey(row.vkey),
      (e) => isVouchError(e, row.code as 'bad-key'),
      row.name,
    );
  }
});

function stripPadding(vkey: string): string {
  assert.ok(vkey.endsWith('='));
  return vkey.replace(/=+$/, '');
}

function p384Spki(): Uint8Array {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
}

test('parseSignerKey refuses malformed skeys without echoing them', () => {
  const seed = parseBase64(peter.skey.split('+').slice(4).join('+')).subarray(1);
  const skeyWith = (prefix: string, name: string, id: string, payload: Uint8Array): string =>
    `${prefix}+${name}+${id}+${formatBase64(payload)}`;
  const rows: { name: string; skey: string }[] = [
    { name: 'empty', skey: '' },
    { name: 'three plus signs', skey: 'PRIVATE+KEY+PeterNeumann+c74f20a3' },
    { name: 'lowercase prefix', skey: peter.skey.replace('PRIVATE+KEY', 'private+key') },
    { name: 'vkey instead of skey', skey: peter.vkey },
    { name: 'key id mismatch', skey: peter.skey.replace('c74f20a3', 'c74f20a4') },
    { name: 'renamed', skey: peter.skey.replace('PeterNeumann', 'PeterNeumanx') },
    {
      name: 'type 0x04 seed',
      skey: skeyWith('PRIVATE+KEY', 'PeterNeumann', 'c74f20a3', concatBytes(Uint8Array.of(4), seed)),
    },
    {
      name: 'short seed',
      skey: skeyWith(
        'PRIVATE+KEY',
        'PeterNeumann',
        'c74f20a3',
        concatBytes(Uint8Array.of(1), seed.subarray(1)),
      ),
    },
    {
      name: 'bad name',
      skey: skeyWith('PRIVATE+KEY', 'Peter Neumann', 'c74f20a3', concatBytes(Uint8Array.of(1), seed)),
    },
  ];
  for (const row of rows) {
    assert.throws(
      () => parseSignerKey(row.skey),
      (e) => isVouchError(e, 'bad-key') && !e.message.includes(peter.skey.slice(-20)),
      row.name,
    );
  }
  assert.throws(
    () => formatSignerKey('k', generateKey('ml-dsa-44')),
    (e) => isVouchError(e, 'bad-key'),
  );
  assert.throws(
    () => toCosignatureV1Key(parseVerifierKey(vkeyWith(2, generateKey('ecdsa-p256').publicKey))),
    (e) => isVouchError(e, 'bad-key'),
  );
});

test('formatSignerKey of a fresh key parses back to the same key', () => {
  const material = generateKey('ed25519');
  const skey = formatSignerKey('example.com/fresh', material);
  const parsed = parseSignerKey(skey);
  assert.deepEqual(parsed.material.publicKey, material.publicKey);
  assert.deepEqual(parsed.material.pkcs8, material.pkcs8);
});

const edits = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('insert', 'delete', 'replace'),
    char: fc.constantFrom('+', ' ', '=', 'A', '/', '0', 'f', '\u2014', '\u00a0', '\n', '\u0000', 'é'),
  }),
  { minLength: 1, maxLength: 4 },
);

function mutate(base: string, list: readonly { at: number; kind: string; char: string }[]): string {
  let s = base;
  for (const { at, kind, char } of list) {
    const i = s.length === 0 ? 0 : at % s.length;
    if (kind === 'insert') s = s.slice(0, i) + char + s.slice(i);
    else if (kind === 'delete') s = s.slice(0, i) + s.slice(i + 1);
    else s = s.slice(0, i) + char + s.slice(i + 1);
  }
  return s;
}

function valueOrVouchError(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof VouchError)) throw error;
  }
}

test('fuzz: vkey and skey parsers return a value or a VouchError, and accepted vkeys are canonical', {
  timeout: 20_000,
}, () => {
  const vkeys = [peter.vkey, witness.vkeyType01, witness.vkeyType04, tessera.vkey, goodVkey];
  const inputs = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.tuple(fc.constantFrom(...vkeys), edits).map(([base, list]) => mutate(base, list)),
  );
  fc.assert(
    fc.property(inputs, (input) => {
      valueOrVouchError(() => {
        assert.equal(formatVerifierKey(parseVerifierKey(input)), input);
      });
    }),
    { seed: 0x5eed, numRuns: 2000 },
  );
  const skeys = [peter.skey, witness.skey, tessera.skey];
  fc.assert(
    fc.property(
      fc.tuple(fc.constantFrom(...skeys), edits).map(([base, list]) => mutate(base, list)),
      (input) => {
        valueOrVouchError(() => {
          const key = parseSignerKey(input);
          assert.equal(formatSignerKey(key.name, key.material), input);
        });
      },
    ),
    { seed: 0x5eed, numRuns: 500 },
  );
});

test('property: formatVerifierKey and parseVerifierKey round-trip any valid name', () => {
  const name = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => isValidKeyName(s));
  fc.assert(
    fc.property(name, fc.constantFrom(0x01, 0x04), (keyName, type) => {
      const vkey = formatVerifierKey({ name: keyName, type: type as 0x01 | 0x04, publicKey: ed });
      const key = parseVerifierKey(vkey);
      assert.equal(key.name, keyName);
      assert.equal(formatVerifierKey(key), vkey);
    }),
    { seed: 7, numRuns: 300 },
  );
});
