import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHex, parseHex } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { ed25519Pkcs8FromSeed, ed25519SeedFromPkcs8 } from './ed25519-seed.ts';
import { createSigner, createVerifier, generateKey, importPrivateKey } from './keys.ts';

test('ed25519SeedFromPkcs8 reads the seed of a key Node generated, and the PKCS #8 form round-trips', () => {
  const material = generateKey('ed25519');
  const seed = ed25519SeedFromPkcs8(material.pkcs8);
  assert.equal(seed.length, 32);
  assert.deepEqual(ed25519Pkcs8FromSeed(seed), material.pkcs8);
});

test('ed25519Pkcs8FromSeed gives a key Node imports, with the RFC 8032 public key', async () => {
  // RFC 8032 §7.1 TEST 1.
  const seed = parseHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const material = importPrivateKey('ed25519', ed25519Pkcs8FromSeed(seed));
  assert.equal(
    formatHex(material.publicKey),
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  );
  const signature = await createSigner('t', material).sign(new Uint8Array());
  assert.ok(createVerifier('ed25519', material.publicKey).verify(new Uint8Array(), signature));
});

test('ed25519 seed conversions refuse other shapes with bad-key', () => {
  const rows: { name: string; run: () => unknown }[] = [
    { name: 'short seed', run: () => ed25519Pkcs8FromSeed(new Uint8Array(31)) },
    { name: 'long seed', run: () => ed25519Pkcs8FromSeed(new Uint8Array(33)) },
    { name: 'empty pkcs8', run: () => ed25519SeedFromPkcs8(new Uint8Array()) },
    { name: 'ecdsa pkcs8', run: () => ed25519SeedFromPkcs8(generateKey('ecdsa-p256').pkcs8) },
    {
      name: 'wrong prefix byte',
      run: () => {
        const bytes = ed25519Pkcs8FromSeed(new Uint8Array(32));
        bytes[11] = 0x71; // id-Ed448
        return ed25519SeedFromPkcs8(bytes);
      },
    },
  ];
  for (const row of rows) assert.throws(row.run, (e) => isVouchError(e, 'bad-key'), row.name);
});
