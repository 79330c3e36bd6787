import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { toBytes } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import {
  aeadOverhead,
  aeadVersion,
  generateDataKey,
  importAeadKey,
  open,
  seal,
  sealMany,
  unwrapKey,
  wrapKey,
} from './aead.ts';

const key = Uint8Array.from({ length: 32 }, (_, i) => i);
const aad = toBytes('tenant=acme site=ch-zrh');

test('seal writes version, 12-byte nonce, ciphertext and 16-byte tag; open reverses it', () => {
  const plaintext = toBytes('a detection event');
  const sealed = seal(key, plaintext, aad);
  assert.equal(sealed.length, plaintext.length + aeadOverhead);
  assert.equal(aeadOverhead, 29);
  assert.equal(sealed[0], aeadVersion);
  assert.deepEqual(open(key, sealed, aad), plaintext);
  assert.ok(Object.getPrototypeOf(sealed) === Uint8Array.prototype, 'no Buffer leaks out');
});

test('two seals of the same plaintext use fresh nonces', () => {
  const a = seal(key, toBytes('x'), aad);
  const b = seal(key, toBytes('x'), aad);
  assert.notDeepEqual(a.subarray(1, 13), b.subarray(1, 13));
});

test('every single-bit change of a sealed value, and a changed key or AAD, is refused as bad-digest', () => {
  const sealed = seal(key, toBytes('telemetry'), aad);
  const rows: [string, Uint8Array, Uint8Array, Uint8Array][] = [];
  for (let i = 1; i < sealed.length; i++) {
    const tampered = new Uint8Array(sealed);
    tampered[i] = (tampered[i] as number) ^ 0x01;
    const region = i < 13 ? 'nonce' : i < sealed.length - 16 ? 'ciphertext' : 'tag';
    rows.push([`${region} byte ${i}`, key, tampered, aad]);
  }
  const otherKey = new Uint8Array(key);
  otherKey[0] = 99;
  rows.push(['other key', otherKey, sealed, aad]);
  rows.push(['other aad', key, sealed, toBytes('tenant=acme site=ru-mow')]);
  rows.push(['empty aad', key, sealed, new Uint8Array()]);
  rows.push(['truncated tag', key, sealed.subarray(0, sealed.length - 1), aad]);
  for (const [name, k, s, a] of rows) {
    assert.throws(
      () => open(k, s, a),
      (e: unknown) => isVouchError(e, 'bad-digest'),
      name,
    );
  }
});

test('open refuses a short value and an unknown version as malformed, a bad key as bad-key', () => {
  const sealed = seal(key, toBytes('x'), aad);
  const v2 = new Uint8Array(sealed);
  v2[0] = 2;
  assert.throws(
    () => open(key, v2, aad),
    (e: unknown) => isVouchError(e, 'malformed'),
  );
  assert.throws(
    () => open(key, sealed.subarray(0, 28), aad),
    (e: unknown) => isVouchError(e, 'malformed'),
  );
  assert.throws(
    () => seal(key.subarray(0, 16), toBytes('x'), aad),
    (e: unknown) => isVouchError(e, 'bad-key'),
  );
  assert.throws(
    () => open(new Uint8Array(33), sealed, aad),
    (e: unknown) => isVouchError(e, 'bad-key'),
  );
});

test('an empty plaintext seals and opens', () => {
  const sealed = seal(key, new Uint8Array(), aad);
  assert.equal(sealed.length, aeadOverhead);
  assert.deepEqual(open(key, sealed, aad), new Uint8Array());
});

test('wrapKey and unwrapKey round-trip a data key bound to its AAD', () => {
  const kek = generateDataKey();
  const dek = generateDataKey();
  assert.equal(dek.length, 32);
  assert.notDeepEqual(kek, dek);
  const wrapped = wrapKey(kek, dek, aad);
  assert.equal(wrapped.length, 61);
  assert.deepEqual(unwrapKey(kek, wrapped, aad), dek);
  assert.throws(
    () => unwrapKey(kek, wrapped, toBytes('tenant=other')),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
  assert.throws(
    () => unwrapKey(generateDataKey(), wrapped, aad),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
  assert.throws(
    () => wrapKey(kek, dek.subarray(0, 31), aad),
    (e: unknown) => isVouchError(e, 'bad-key'),
  );
  // A sealed value that authenticates but is not a 32-byte key is refused.
  assert.throws(
    () => unwrapKey(kek, seal(kek, new Uint8Array(16), aad), aad),
    (e: unknown) => isVouchError(e, 'bad-key'),
  );
});

test('property: open(seal(p, aad), aad) = p, and any other aad fails', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 512 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 64 }),
      (plaintext, a, b) => {
        const sealed = seal(key, plaintext, a);
        assert.deepEqual(open(key, sealed, a), plaintext);
        if (!(a.length === b.length && a.every((x, i) => x === b[i]))) {
          assert.throws(
            () => open(key, sealed, b),
            (e: unknown) => isVouchError(e, 'bad-digest'),
          );
        }
      },
    ),
    { seed: 8, numRuns: 200 },
  );
});

test('property: open of arbitrary bytes gives our typed error, never another throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      try {
        open(key, bytes, aad);
        assert.fail('random bytes opened');
      } catch (e) {
        assert.ok(isVouchError(e, 'malformed') || isVouchError(e, 'bad-digest'), String(e));
      }
    }),
    { seed: 9, numRuns: 300 },
  );
});

test('a prepared AeadKey seals and opens interchangeably with the raw key', () => {
  const raw = generateDataKey();
  const prepared = importAeadKey(raw);
  const a = seal(prepared, toBytes('x'), aad);
  assert.deepEqual(open(raw, a, aad), toBytes('x'));
  const b = seal(raw, toBytes('y'), aad);
  assert.deepEqual(open(prepared, b, aad), toBytes('y'));
  assert.throws(
    () => open(importAeadKey(generateDataKey()), a, aad),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
  const wrapped = wrapKey(prepared, key, aad);
  assert.deepEqual(unwrapKey(raw, wrapped, aad), key);
  assert.throws(
    () => importAeadKey(new Uint8Array(16)),
    (e: unknown) => isVouchError(e, 'bad-key'),
  );
  // Changing the bytes after import does not change the prepared key.
  raw.fill(0);
  assert.deepEqual(open(prepared, b, aad), toBytes('y'));
});

// An independent reading of layout version 1 with node:crypto, the AAD given in one piece.
function openDirectly(k: Uint8Array, sealed: Uint8Array, a: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('aes-256-gcm', k, sealed.subarray(1, 13), { authTagLength: 16 });
  decipher.setAAD(Uint8Array.of(1, ...a));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const body = decipher.update(sealed.subarray(13, sealed.length - 16));
  return new Uint8Array([...body, ...decipher.final()]);
}

test('seal and sealMany write layout version 1 exactly: node:crypto opens them with the AAD in one piece', () => {
  const plaintext = toBytes('{"kind":"detection"}');
  assert.deepEqual(openDirectly(key, seal(key, plaintext, aad), aad), plaintext);
  const [whole, parts] = sealMany(key, [
    { plaintext, aad },
    { plaintext, aad: [aad.subarray(0, 3), new Uint8Array(), aad.subarray(3, 10), aad.subarray(10)] },
  ]);
  assert.ok(whole !== undefined && parts !== undefined);
  assert.deepEqual(openDirectly(key, whole, aad), plaintext);
  assert.deepEqual(openDirectly(key, parts, aad), plaintext);
  // And open reads a value node:crypto sealed with the AAD in one piece.
  const nonce = Uint8Array.from({ length: 12 }, (_, i) => 200 + i);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  cipher.setAAD(Uint8Array.of(1, ...aad));
  const body = new Uint8Array([...cipher.update(plaintext), ...cipher.final()]);
  const direct = Uint8Array.of(1, ...nonce, ...body, ...cipher.getAuthTag());
  assert.deepEqual(open(key, direct, aad), plaintext);
});

test('sealMany seals a batch that open reads item by item, each with its own nonce', () => {
  const prepared = importAeadKey(key);
  const items = Array.from({ length: 1000 }, (_, i) => ({
    plaintext: toBytes(`event ${i} `.repeat(i % 7)),
    aad: toBytes(`tenant=acme event=${i}`),
  }));
  const sealed = sealMany(prepared, items);
  assert.equal(sealed.length, items.length);
  const nonces = new Set<string>();
  sealed.forEach((s, i) => {
    const item = items[i];
    assert.ok(item !== undefined);
    assert.equal(s.length, item.plaintext.length + aeadOverhead);
    assert.equal(s[0], aeadVersion);
    assert.ok(Object.getPrototypeOf(s) === Uint8Array.prototype, 'no Buffer leaks out');
    assert.deepEqual(open(key, s, item.aad), item.plaintext);
    nonces.add(Array.from(s.subarray(1, 13)).join(','));
  });
  assert.equal(nonces.size, items.length, 'every value has a distinct nonce');
  // The nonces are random, not a counter: not one pair of neighbours differs in the last byte only.
  const sameHead = sealed.slice(1).filter((s, i) => {
    const prev = sealed[i] as Uint8Array;
    return s.subarray(1, 12).every((b, j) => b === prev[1 + j]);
  });
  assert.equal(sameHead.length, 0);
  // Two batches of the same items share no nonce either.
  const again = sealMany(prepared, items);
  for (const s of again) assert.ok(!nonces.has(Array.from(s.subarray(1, 13)).join(',')));
  assert.deepEqual(sealMany(key, []), []);
});

test('sealMany: a tampered, swapped or re-keyed value is refused, and the others still open', () => {
  const items = [0, 1, 2].map((i) => ({ plaintext: toBytes(`telemetry ${i}`), aad: toBytes(`event=${i}`) }));
  const sealed = sealMany(key, items);
  const [a, b, c] = sealed;
  assert.ok(a !== undefined && b !== undefined && c !== undefined);
  for (let i = 1; i < b.length; i++) {
    const tampered = new Uint8Array(b);
    tampered[i] = (tampered[i] as number) ^ 0x01;
    assert.throws(
      () => open(key, tampered, items[1]?.aad ?? aad),
      (e: unknown) => isVouchError(e, 'bad-digest'),
      `byte ${i}`,
    );
  }
  // Another item's associated data (an event moved to another slot) or another key fails.
  assert.throws(
    () => open(key, b, items[0]?.aad ?? aad),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
  assert.throws(
    () => open(generateDataKey(), b, items[1]?.aad ?? aad),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
  // Writing into one result (they share a buffer) leaves its neighbours intact.
  b.fill(0);
  assert.deepEqual(open(key, a, items[0]?.aad ?? aad), items[0]?.plaintext);
  assert.deepEqual(open(key, c, items[2]?.aad ?? aad), items[2]?.plaintext);
  assert.throws(
    () => sealMany(key.subarray(0, 31), items),
    (e: unknown) => isVouchError(e, 'bad-key'),
  );
});

test('property: sealMany with the AAD split anywhere opens with the joined AAD', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ plaintext: fc.uint8Array({ maxLength: 300 }), aad: fc.uint8Array({ maxLength: 80 }) }),
        {
          maxLength: 8,
        },
      ),
      fc.nat(80),
      (items, cut) => {
        const split = items.map(({ plaintext, aad: a }) => ({
          plaintext,
          aad: [a.subarray(0, Math.min(cut, a.length)), a.subarray(Math.min(cut, a.length))],
        }));
        sealMany(key, split).forEach((s, i) => {
          assert.deepEqual(open(key, s, items[i]?.aad ?? aad), items[i]?.plaintext);
        });
      },
    ),
    { seed: 10, numRuns: 100 },
  );
});
