import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toBytes, toText } from '../bytes/index.ts';
import { generateDataKey } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import {
  type EventRef,
  eventAad,
  openEvent,
  sealEvent,
  sealEvents,
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

test('sealEvents seals a batch that openEvent opens one by one, each bound to its own id', () => {
  const key = generateDataKey();
  const scope = { tenant: 'acme', site: 'ch-zrh' } as const;
  const batch = '3f1c2a9e-8b4d-4c6e-9f0a-1b2c3d4e5f60';
  const events = Array.from({ length: 1000 }, (_, i) => ({
    eventId: `${batch}.${i}`,
    plaintext: toBytes(`{"kind":"detection","n":${i}}`),
  }));
  const sealed = sealEvents(key, scope, events);
  assert.equal(sealed.length, events.length);
  const nonces = new Set<string>();
  sealed.forEach((s, i) => {
    const e = events[i];
    assert.ok(e !== undefined);
    assert.equal(s.length, e.plaintext.length + sealedEventOverhead);
    assert.deepEqual(openEvent(key, { ...scope, eventId: e.eventId }, s), e.plaintext);
    nonces.add(Array.from(s.subarray(1, 13)).join(','));
  });
  assert.equal(nonces.size, events.length, 'every event has a distinct nonce');
  const moved: [string, EventRef][] = [
    ['other event', { ...scope, eventId: `${batch}.1` }],
    ['other tenant', { tenant: 'globex', site: 'ch-zrh', eventId: `${batch}.0` }],
    ['other site', { tenant: 'acme', site: 'ru-mow', eventId: `${batch}.0` }],
  ];
  for (const [name, r] of moved) {
    assert.throws(
      () => openEvent(key, r, sealed[0] as Uint8Array),
      (e: unknown) => isVouchError(e, 'bad-digest'),
      name,
    );
  }
  const flipped = new Uint8Array(sealed[2] as Uint8Array);
  flipped[20] = (flipped[20] as number) ^ 0x01;
  assert.throws(
    () => openEvent(key, { ...scope, eventId: `${batch}.2` }, flipped),
    (e: unknown) => isVouchError(e, 'bad-digest'),
  );
});

test('sealEvents refuses a malformed tenant, site or event id before sealing anything', () => {
  const key = generateDataKey();
  const ok = { eventId, plaintext: toBytes('{}') };
  const bad: [string, () => unknown][] = [
    ['tenant', () => sealEvents(key, { tenant: 'Acme', site: 'ch-zrh' }, [ok])],
    ['site', () => sealEvents(key, { tenant: 'acme', site: 'uk-lon' }, [ok])],
    ['eventId', () => sealEvents(key, { tenant: 'acme', site: 'ch-zrh' }, [ok, { ...ok, eventId: 'a"b.1' }])],
  ];
  for (const [field, run] of bad) {
    assert.throws(
      run,
      (e: unknown) => isVouchError(e, 'invalid-argument') && e.details.field === field,
      field,
    );
  }
  assert.deepEqual(sealEvents(key, { tenant: 'acme', site: 'ch-zrh' }, []), []);
});
