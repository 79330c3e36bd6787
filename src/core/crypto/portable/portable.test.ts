/**
 * Tests of the browser build of core/crypto against Node's: SHA-2 against FIPS 180-4 example
 * vectors and node:crypto, Ed25519 verification against RFC 8032 §7.1 and against
 * `crypto.verify(null, ...)` on random and crafted inputs (small-order and mixed-order points,
 * non-canonical encodings, S out of range), export parity with `../index.ts`, and the rule that
 * nothing in portable/ imports Node.
 */

import assert from 'node:assert/strict';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as nodeCryptoSign,
  verify as nodeCryptoVerify,
} from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatHex, parseHex, toBytes } from '../../bytes/index.ts';
import { isVouchError } from '../../errors.ts';
import type * as NodeCrypto from '../index.ts';
import { testingOnlyEd25519 as group, verifyEd25519 } from './ed25519.ts';
import * as portable from './index.ts';
import { sha256, sha512 } from './sha2.ts';

const hex = (bytes: Uint8Array): string => formatHex(bytes);
const fromHex = (text: string): Uint8Array => parseHex(text, 'test vector');

// --- SHA-2 ---

const message448 = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq';
const message896 =
  'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu';

// FIPS 180-4 example results (NIST CSRC "Examples with Intermediate Values" and the long-message vectors).
const shaVectors: readonly { name: string; message: Uint8Array; sha256: string; sha512: string }[] = [
  {
    name: 'empty',
    message: new Uint8Array(0),
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    sha512:
      'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
  },
  {
    name: '"abc"',
    message: toBytes('abc'),
    sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    sha512:
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  },
  {
    name: '448-bit message',
    message: toBytes(message448),
    sha256: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    sha512:
      '204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445',
  },
  {
    name: '896-bit message',
    message: toBytes(message896),
    sha256: 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    sha512:
      '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909',
  },
  {
    name: "one million 'a'",
    message: new Uint8Array(1_000_000).fill(0x61),
    sha256: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    sha512:
      'e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b',
  },
];

function nodeDigest(algorithm: 'sha256' | 'sha512', parts: readonly Uint8Array[]): string {
  const h = createHash(algorithm);
  for (const part of parts) h.update(part);
  return h.digest('hex');
}

test('SHA-256 and SHA-512 give the FIPS 180-4 example digests', () => {
  for (const v of shaVectors) {
    assert.equal(hex(sha256(v.message)), v.sha256, `SHA-256 ${v.name}`);
    assert.equal(hex(sha512(v.message)), v.sha512, `SHA-512 ${v.name}`);
  }
  // the million 'a' fed in uneven parts crosses every buffering path
  const million = (shaVectors.at(-1) as (typeof shaVectors)[number]).message;
  const parts = [
    million.subarray(0, 1),
    million.subarray(1, 130),
    million.subarray(130, 999_937),
    million.subarray(999_937),
  ];
  assert.equal(hex(sha256(...parts)), shaVectors.at(-1)?.sha256);
  assert.equal(hex(sha512(...parts)), shaVectors.at(-1)?.sha512);
  assert.equal(hex(sha256()), shaVectors[0]?.sha256, 'no parts is the empty message');
  assert.equal(hex(sha512()), shaVectors[0]?.sha512, 'no parts is the empty message');
});

// Lengths around the padding and block boundaries of both functions, and anything up to 1 KiB.
const boundaryLength = fc.oneof(
  fc.constantFrom(0, 1, 55, 56, 57, 63, 64, 65, 111, 112, 113, 119, 120, 127, 128, 129, 191, 192, 255, 256),
  fc.integer({ min: 0, max: 1024 }),
);

test('SHA-256 and SHA-512 agree with node:crypto on random inputs of random lengths', () => {
  fc.assert(
    fc.property(
      boundaryLength.chain((length) => fc.uint8Array({ minLength: length, maxLength: length })),
      (message) => {
        assert.equal(hex(sha256(message)), nodeDigest('sha256', [message]));
        assert.equal(hex(sha512(message)), nodeDigest('sha512', [message]));
      },
    ),
    { numRuns: 500 },
  );
});

test('SHA-256 and SHA-512 agree with node:crypto on multi-part inputs', () => {
  fc.assert(
    fc.property(
      fc.array(
        boundaryLength.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        { maxLength: 6 },
      ),
      (parts) => {
        assert.equal(hex(sha256(...parts)), nodeDigest('sha256', parts));
        assert.equal(hex(sha512(...parts)), nodeDigest('sha512', parts));
      },
    ),
    { numRuns: 300 },
  );
});

test('SHA-2 digests are plain Uint8Arrays the caller owns', () => {
  const message = toBytes('abc');
  const a = sha256(message);
  const b = sha512(message);
  assert.equal(Object.getPrototypeOf(a), Uint8Array.prototype);
  assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
  assert.deepEqual([a.length, b.length], [32, 64]);
  assert.equal(hex(message), '616263', 'the input is not written');
});

test('hashing 1 MiB takes well under 50 ms (printed, not asserted)', () => {
  const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
  for (const [name, f] of [
    ['SHA-256', sha256],
    ['SHA-512', sha512],
  ] as const) {
    f(big); // warm up the JIT
    const start = performance.now();
    f(big);
    console.log(`${name} of 1 MiB: ${(performance.now() - start).toFixed(1)} ms`);
  }
});

// --- Ed25519 ---

const pkcs8Prefix = fromHex('302e020100300506032b657004220420');

function nodePublicKey(seed: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([pkcs8Prefix, seed]), format: 'der', type: 'pkcs8' });
  const { x } = createPublicKey(key).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(x as string, 'base64url'));
}

function nodeSign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([pkcs8Prefix, seed]), format: 'der', type: 'pkcs8' });
  return new Uint8Array(nodeCryptoSign(null, message, key));
}

/** nodeVerify is what keys.ts does: Node's Ed25519 verify, any exception being a bad signature. */
function nodeVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
      format: 'jwk',
    });
    return nodeCryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** agree asserts that the pure verifier and Node give the same answer, and returns it. */
function agree(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, what: string): boolean {
  const expected = nodeVerify(publicKey, message, signature);
  assert.equal(verifyEd25519(publicKey, message, signature), expected, `${what}: Node says ${expected}`);
  if (publicKey.length === 32) {
    assert.equal(portable.createVerifier('ed25519', publicKey).verify(message, signature), expected, what);
  }
  return expected;
}

const test1024Message = [
  '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1',
  'e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d',
  '658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a',
  '7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e',
  '06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10',
  '3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1',
  '85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d',
  '502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270',
  '88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b',
  'eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba',
  'b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b',
  'e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7',
  '51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d',
  'cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df',
  'f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7',
  '984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4',
  '88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09',
  '43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f',
  'b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161',
  '0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d',
  'b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca',
  'c60c905c15fc910840b94c00a0b9d0',
].join('');

// RFC 8032 §7.1, TEST 1, 2, 3, 1024 and SHA(abc): secret key, public key, message, signature.
const rfc8032Vectors: readonly {
  name: string;
  secret: string;
  publicKey: string;
  message: string;
  signature: string;
}[] = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST 1024',
    secret: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    publicKey: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    message: test1024Message,
    signature:
      '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
  },
  {
    name: 'TEST SHA(abc)',
    secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message:
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    signature:
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

test('Ed25519 verifies the RFC 8032 §7.1 test vectors, as Node does', () => {
  for (const v of rfc8032Vectors) {
    const publicKey = fromHex(v.publicKey);
    const message = fromHex(v.message);
    const signature = fromHex(v.signature);
    assert.equal(hex(nodePublicKey(fromHex(v.secret))), v.publicKey, `${v.name}: the vector's key pair`);
    assert.equal(agree(publicKey, message, signature, v.name), true, v.name);
    const wrong = Uint8Array.from(message.length === 0 ? [0] : message);
    wrong[wrong.length - 1] = (wrong[wrong.length - 1] as number) ^ 1;
    assert.equal(agree(publicKey, wrong, signature, `${v.name}, other message`), false);
  }
  assert.equal(fromHex(test1024Message).length, 1023);
});

const L = group.order;
const P = group.prime;

function littleEndian(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function littleEndianValue(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number);
  return v;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

function withS(signature: Uint8Array, s: bigint): Uint8Array {
  const out = Uint8Array.from(signature);
  out.set(littleEndian(s), 32);
  return out;
}

test('Ed25519 agrees with Node on random keys and messages, valid and with one bit flipped', () => {
  let valid = 0;
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.nat(),
      (seed, message, pick) => {
        const publicKey = nodePublicKey(seed);
        const signature = nodeSign(seed, message);
        if (agree(publicKey, message, signature, 'valid')) valid++;
        if (message.length > 0)
          agree(publicKey, flipBit(message, pick % (message.length * 8)), signature, 'message');
        agree(publicKey, message, flipBit(signature, pick % 256), 'R');
        agree(publicKey, message, flipBit(signature, 256 + (pick % 256)), 'S');
        agree(flipBit(publicKey, pick % 256), message, signature, 'key');
        agree(publicKey, message, withS(signature, littleEndianValue(signature.subarray(32)) + L), 'S + L');
      },
    ),
    { numRuns: 60 },
  );
  assert.equal(valid, 60, 'every unaltered signature verifies');
});

test('Ed25519 refuses S out of range and wrong lengths, as Node does', () => {
  const seed = new Uint8Array(32).fill(7);
  const publicKey = nodePublicKey(seed);
  const message = toBytes('range');
  const signature = nodeSign(seed, message);
  const s = littleEndianValue(signature.subarray(32));
  const cases: readonly [string, Uint8Array, Uint8Array][] = [
    ['S = L', publicKey, withS(signature, L)],
    ['S = S + L', publicKey, withS(signature, s + L)],
    ['S = S + 2L', publicKey, withS(signature, s + 2n * L)],
    ['S = 2^256 - 1', publicKey, withS(signature, 2n ** 256n - 1n)],
    ['signature of 63 bytes', publicKey, signature.subarray(0, 63)],
    ['signature of 65 bytes', publicKey, Uint8Array.from([...signature, 0])],
    ['empty signature', publicKey, new Uint8Array(0)],
    ['key of 31 bytes', publicKey.subarray(0, 31), signature],
    ['key of 33 bytes', Uint8Array.from([...publicKey, 0]), signature],
  ];
  for (const [name, key, sig] of cases) assert.equal(agree(key, message, sig, name), false, name);
  assert.equal(verifyEd25519(publicKey, message, withS(signature, s)), true, 'the unaltered S');
});

// Crafted signatures. With A = [a]B + T for a small-order point T, a signature (R, S) with
// R = [r]B - [j]T and S = r + k·a verifies by the cofactorless equation exactly when
// k ≡ j modulo the order of T, so grinding r (or the message) until that holds gives a
// signature that only the extra checks can refuse.

const identity = littleEndian(1n);

// The eight points of order dividing 8: multiples of an order-8 point found as [L]Q.
const torsion: readonly Uint8Array[] = (() => {
  for (let y = 2n; ; y++) {
    const q = littleEndian(y);
    if (!group.decodes(q)) continue;
    const t = group.combine(0n, L, q) as Uint8Array;
    if (hex(group.combine(0n, 4n, t) as Uint8Array) === hex(identity)) continue;
    return Array.from({ length: 8 }, (_, i) => group.combine(0n, BigInt(i), t) as Uint8Array);
  }
})();

function challenge(R: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return littleEndianValue(sha512(R, publicKey, message)) % L;
}

/**
 * forge returns a signature of `message` under the key bytes `keyBytes`, which encode (possibly
 * non-canonically) the point [a]B + T; R = [r]B - [j]T for the first r found with k ≡ j.
 */
function forge(a: bigint, T: Uint8Array, keyBytes: Uint8Array, message: Uint8Array, j = 0n): Uint8Array {
  for (let r = 1000n; ; r++) {
    const R = group.combine(r, 8n - j, T) as Uint8Array;
    const k = challenge(R, keyBytes, message);
    // T's order divides 8, so [k - j]T depends only on (k - j) mod 8
    if (hex(group.combine(0n, (((k - j) % 8n) + 8n) % 8n, T) as Uint8Array) !== hex(identity)) continue;
    const signature = new Uint8Array(64);
    signature.set(R, 0);
    signature.set(littleEndian((r + k * a) % L), 32);
    return signature;
  }
}

function withSignBit(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[31] = (out[31] as number) ^ 0x80;
  return out;
}

test('Ed25519 refuses small-order public keys, canonical or not, as Node does', () => {
  const message = toBytes('small-order key');
  for (const [i, T] of torsion.entries()) {
    const encodings: [string, Uint8Array][] = [
      [`torsion ${i}`, T],
      [`torsion ${i}, sign bit flipped`, withSignBit(T)],
    ];
    const y = littleEndianValue(T) & ((1n << 255n) - 1n);
    if (y + P < 2n ** 255n) {
      const nonCanonical = littleEndian(y + P);
      nonCanonical[31] = (nonCanonical[31] as number) | ((T[31] as number) & 0x80);
      encodings.push(
        [`torsion ${i}, y + p`, nonCanonical],
        [`torsion ${i}, y + p, sign flipped`, withSignBit(nonCanonical)],
      );
    }
    for (const [name, keyBytes] of encodings) {
      // forge from the point the bytes would denote to a lax decoder (x = 0 keeps its point when the sign flips)
      const point = group.decodes(keyBytes) ? keyBytes : T;
      assert.equal(agree(keyBytes, message, forge(0n, point, keyBytes, message), name), false, name);
    }
  }
});

test('Ed25519 accepts mixed-order public keys and R, as Node does', () => {
  for (const [i, T] of torsion.entries()) {
    const message = toBytes(`mixed ${i}`);
    const publicKey = group.combine(7n, 1n, T) as Uint8Array;
    assert.equal(agree(publicKey, message, forge(7n, T, publicKey, message), `key 7B + T${i}`), true);
    assert.equal(
      agree(publicKey, message, forge(7n, T, publicKey, message, 1n), `key 7B + T${i}, mixed R`),
      true,
    );
  }
});

test('Ed25519 refuses small-order R, as Node does', () => {
  const order8 = torsion[1] as Uint8Array;
  const publicKey = group.combine(7n, 1n, order8) as Uint8Array;
  for (let j = 0n; j < 8n; j++) {
    const R = group.combine(0n, 8n - j, order8) as Uint8Array; // R = -[j]T, so S = 7k when k ≡ j (mod 8)
    for (let n = 0; ; n++) {
      const message = toBytes(`small R ${j} ${n}`);
      const k = challenge(R, publicKey, message);
      if (k % 8n !== j) continue;
      const signature = new Uint8Array(64);
      signature.set(R, 0);
      signature.set(littleEndian((7n * k) % L), 32);
      assert.equal(agree(publicKey, message, signature, `R = -[${j}]T8`), false);
      break;
    }
  }
  // R the identity under a prime-order key: S = k·a makes [S]B - [k]A the identity.
  const primeKey = group.multiplyBase(7n);
  const message = toBytes('identity R');
  for (const [name, R] of [
    ['canonical identity R', identity],
    ['identity R with the sign bit', withSignBit(identity)],
    ['identity R as y = p + 1', littleEndian(P + 1n)],
  ] as const) {
    const signature = new Uint8Array(64);
    signature.set(R, 0);
    signature.set(littleEndian((7n * challenge(R, primeKey, message)) % L), 32);
    assert.equal(agree(primeKey, message, signature, name), false, name);
  }
});

test('Ed25519 refuses undecodable and non-canonical keys, as Node does', () => {
  const seed = new Uint8Array(32).fill(9);
  const message = toBytes('encodings');
  const signature = nodeSign(seed, message);
  const keys: [string, Uint8Array][] = [
    ['all 0xff', new Uint8Array(32).fill(0xff)],
    ['y = p', littleEndian(P)],
    ['y = p - 1, sign bit (x = 0)', withSignBit(littleEndian(P - 1n))],
  ];
  for (let y = 2n; y < 19n; y++) {
    keys.push([`y = ${y}`, littleEndian(y)], [`y = ${y} + p`, littleEndian(y + P)]);
  }
  let undecodable = 0;
  for (const [name, key] of keys) {
    if (!group.decodes(key)) undecodable++;
    assert.equal(agree(key, message, signature, name), false, name);
  }
  assert.ok(undecodable > keys.length / 2, 'the table includes keys that are not points');
});

test('one Ed25519 verify takes (printed, not asserted)', () => {
  const v = rfc8032Vectors[3] as (typeof rfc8032Vectors)[number];
  const args = [fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)] as const;
  verifyEd25519(...args);
  const start = performance.now();
  const ok = verifyEd25519(...args);
  console.log(`Ed25519 verify of a 1023-byte message: ${(performance.now() - start).toFixed(2)} ms`);
  assert.equal(ok, true);
});

// --- the module as a whole ---

test('the portable module exports exactly what ../index.ts does, with the same constants', async () => {
  const node = (await import('../index.ts')) as Record<string, unknown>;
  const pure = (await import('./index.ts')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(pure), Object.keys(node));
  for (const name of Object.keys(node)) {
    assert.equal(typeof pure[name], typeof node[name], name);
    if (typeof node[name] !== 'function') assert.deepEqual(pure[name], node[name], name);
    else
      assert.equal(
        (pure[name] as () => unknown).length,
        (node[name] as () => unknown).length,
        `${name} arity`,
      );
  }
});

// The type checker holds the signatures to ../index.ts's. AEAD is left out: its AeadKey has an
// ECMAScript private field there, which makes the two classes distinct types by design.
type Comparable = Omit<
  typeof NodeCrypto,
  'AeadKey' | 'importAeadKey' | 'seal' | 'sealMany' | 'open' | 'wrapKey' | 'unwrapKey'
>;
const sameSignatures: Comparable = portable;
void sameSignatures;

test('Ed25519 keys, key IDs and SPKI match the Node build', async () => {
  const node = await import('../index.ts');
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (publicKey) => {
      assert.equal(
        hex(portable.publicKeySpki('ed25519', publicKey)),
        hex(node.publicKeySpki('ed25519', publicKey)),
      );
      assert.equal(portable.publicKeyId('ed25519', publicKey), node.publicKeyId('ed25519', publicKey));
      const a = portable.createVerifier('ed25519', publicKey);
      const b = node.createVerifier('ed25519', publicKey);
      assert.deepEqual([a.keyType, hex(a.publicKey), a.keyId], [b.keyType, hex(b.publicKey), b.keyId]);
    }),
    { numRuns: 50 },
  );
  for (const length of [0, 31, 33]) {
    const key = new Uint8Array(length);
    for (const f of [
      node.createVerifier,
      portable.createVerifier,
      node.publicKeySpki,
      portable.publicKeySpki,
    ]) {
      assert.throws(
        () => f('ed25519', key),
        (e) => isVouchError(e, 'bad-key'),
        `${f.name} of ${length} bytes`,
      );
    }
  }
  const key = new Uint8Array(32).fill(1);
  const verifier = portable.createVerifier('ed25519', key);
  key.fill(2);
  assert.equal(hex(verifier.publicKey), '01'.repeat(32), 'the verifier copies the key');
  assert.equal(verifier.verify(toBytes('m'), 'not bytes' as unknown as Uint8Array), false, 'never throws');
});

test('what the browser build cannot do throws invalid-argument, naming the browser build', async () => {
  const notAvailable = (e: unknown): boolean =>
    isVouchError(e, 'invalid-argument') && /not available in the browser build/.test((e as Error).message);
  const key = new Uint8Array(32);
  for (const keyType of ['ecdsa-p256', 'ml-dsa-44'] as const) {
    assert.throws(() => portable.createVerifier(keyType, key), notAvailable, keyType);
    assert.throws(() => portable.publicKeySpki(keyType, key), notAvailable, keyType);
    assert.throws(() => portable.publicKeyId(keyType, key), notAvailable, keyType);
  }
  const material = { keyType: 'ed25519', pkcs8: key, publicKey: key } as const;
  const calls: [string, () => unknown][] = [
    ['formatPublicKeyPem', () => portable.formatPublicKeyPem('ed25519', key)],
    ['generateKey', () => portable.generateKey('ed25519')],
    ['importPrivateKey', () => portable.importPrivateKey('ed25519', key)],
    ['createSigner', () => portable.createSigner('name', material)],
    ['ed25519Pkcs8FromSeed', () => portable.ed25519Pkcs8FromSeed(key)],
    ['ed25519SeedFromPkcs8', () => portable.ed25519SeedFromPkcs8(key)],
    ['AeadKey.fromBytes', () => portable.AeadKey.fromBytes(key)],
    ['importAeadKey', () => portable.importAeadKey(key)],
    ['seal', () => portable.seal(key, key, key)],
    ['sealMany', () => portable.sealMany(key, [])],
    ['open', () => portable.open(key, key, key)],
    ['generateDataKey', () => portable.generateDataKey()],
    ['wrapKey', () => portable.wrapKey(key, key, key)],
    ['unwrapKey', () => portable.unwrapKey(key, key, key)],
    ['inspectKeyFile', () => portable.inspectKeyFile(key)],
  ];
  for (const [name, call] of calls) assert.throws(call, notAvailable, name);
  await assert.rejects(portable.sealKeyFile(material, 'name', undefined), notAvailable, 'sealKeyFile');
  await assert.rejects(portable.openKeyFile(key, undefined), notAvailable, 'openKeyFile');
  assert.deepEqual([portable.isKeyType('ed25519'), portable.isKeyType('rsa')], [true, false]);
  // Key names are pure rules (../key-name.ts), shared with the Node build: they work here.
  assert.deepEqual([portable.isValidKeyName('a.example'), portable.isValidKeyName('a+b')], [true, false]);
  assert.throws(
    () => portable.assertKeyName('with space'),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

test('no file in portable/ imports Node: values only from bytes, errors, key-name and its siblings; types also from the Node build', () => {
  const dir = import.meta.dirname;
  const allowed =
    /^(\.\.\/\.\.\/bytes\/index\.ts|\.\.\/\.\.\/errors\.ts|\.\.\/key-name\.ts|\.\/[a-z0-9-]+\.ts)$/;
  // Type-only imports and exports are erased when types are stripped: they load nothing.
  const typesOnly = /^\.\.\/(aead|keyfile|keys)\.ts$/;
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.deepEqual(files.sort(), ['ed25519.ts', 'index.ts', 'sha2.ts']);
  const importPattern =
    /(?:^|\n)\s*(import|export)(\s+type)?\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    const found = [...text.matchAll(importPattern)].map((m) => ({
      spec: (m[3] ?? m[4]) as string,
      typeOnly: m[2] !== undefined,
    }));
    assert.ok(found.length > 0 || file === 'sha2.ts', `${file} has imports the checker sees`);
    for (const { spec, typeOnly } of found) {
      if (typeOnly && typesOnly.test(spec)) continue;
      assert.match(spec, allowed, `${file} imports ${spec}`);
    }
    assert.doesNotMatch(text, /['"]node:|\brequire\(|\bBuffer\b|\bprocess\b/, `${file} uses Node`);
  }
});
