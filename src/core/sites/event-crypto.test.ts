import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toBytes, toText } from '../bytes/index.ts';
import { generateDataKey } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import {
  eventAad,
  openEvent,
  sealEvent,
  sealedEventOverhead,
  tenantKeyAad,
  unwrapTenantKey,
  wrapTenantKey,
} from './event-crypto.ts';

const eventId = '3f1c2a9e-8b4d-4c6e-9f0a-1b2c3d4e5f60.7';
const ref = { tenant: 'acme', site: 'ch-zrh', eventId };

test('the associated data is canonical JSON of tenant, site and event id', () => {
  assert.equal(
    toText(eventAad(ref)),
    `{"_type":"https://vouch.example/event-aad/v1","event":"${eventId}","site":"ch-zrh","tenant":"acme"}`,
  );
  assert.equal(
    toText(tenantKeyAad({ tenant: 'acme', site: 'ch-zrh' })),
    '{"_type":"https://vouch.example/tenant-key-aad/v1","site":"ch-zrh","tenant":"acme"}',
  );
  const bad: [string, typeof ref][] = [
    ['tenant', { ...ref, tenant: 'Acme' }],
    ['site', { ...ref, site: 'uk-lon' }],
    ['eventId', { ...ref, eventId: 'x' }],
  ];
  for (const [field, r] of bad) {
    assert.throws(
      () => eventAad(r),
      (e: unknown) => isVouchError(e, 'invalid-argument') && e.details.field === field,
      field,
    );
  }
});

test('a sealed event opens only under its own tenant, site, event id and key', () => {
  const key = generateDataKey();
  const plaintext = toBytes('{"kind":"detection"}');
  const sealed = sealEvent(key, ref, plaintext);
  assert.equal(sealed.length, plaintext.length + sealedEventOverhead);
  assert.deepEqual(openEvent(key, ref, sealed), plaintext);
  const moved: [string, typeof ref][] = [
    ['other tenant', { ...ref, tenant: 'globex' }],
    ['other site', { ...ref, site: 'ru-mow' }],
    ['other event', { ...ref, eventId: '3f1c2a9e-8b4d-4c6e-9f0a-1b2c3d4e5f60.8' }],
  ];
  for (const [name, r] of moved) {
    assert.throws(
      () => openEvent(key, r, sealed),
      (e: unknown) => isVouchError(e, 'bad-digest'),
      name,
    );
  }
  assert.throws(
    () => openEvent(generateDataKey(), ref, sealed),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
  const flipped = new Uint8Array(sealed);
  flipped[5] = (flipped[5] as number) ^ 0x80; // inside the nonce
  assert.throws(
    () => openEvent(key, ref, flipped),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
});

test('a wrapped tenant key unwraps only for its site and tenant under the site key', () => {
  const kek = generateDataKey();
  const dek = generateDataKey();
  const wrapped = wrapTenantKey(kek, dek, { tenant: 'acme', site: 'ch-zrh' });
  assert.deepEqual(unwrapTenantKey(kek, wrapped, { tenant: 'acme', site: 'ch-zrh' }), dek);
  assert.throws(
    () => unwrapTenantKey(kek, wrapped, { tenant: 'acme', site: 'ru-mow' }),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
  assert.throws(
    () => unwrapTenantKey(kek, wrapped, { tenant: 'globex', site: 'ch-zrh' }),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
  // An event AAD and a key AAD never coincide, so a wrapped key is not an event and vice versa.
  assert.throws(
    () => openEvent(kek, ref, wrapped),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
});
