// Key objects, key IDs, parsing, formatting, signing and threshold counting of TUF metadata.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TestRepository } from '../../../test/support/tuf-repo.ts';
import { formatHex, toBytes, toText } from '../bytes/index.ts';
import { createSigner, generateKey, sha256 } from '../crypto/index.ts';
import { VouchError } from '../errors.ts';
import { formatCanonicalJson, type JsonObject } from '../json/index.ts';
import {
  addSignature,
  formatMetadata,
  formatTufDate,
  metadataFileName,
  parseEnvelope,
  parseMetadata,
  parsePublicKeyPem,
  parseTufDate,
  parseTufKey,
  type RoleName,
  signMetadata,
  targetFileName,
  targetsSigned,
  tufKeyForSigner,
  tufKeyId,
  tufKeyObject,
  verifyThreshold,
} from './index.ts';

const now = 1_750_000_000;

test('key objects and spec-correct key IDs for Ed25519 and ECDSA P-256', () => {
  const ed = createSigner('ed', generateKey('ed25519'));
  const { keyid, key } = tufKeyForSigner(ed);
  assert.equal(
    JSON.stringify(key),
    `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"${formatHex(ed.publicKey)}"}}`,
  );
  const canonical = `{"keytype":"ed25519","keyval":{"public":"${formatHex(ed.publicKey)}"},"scheme":"ed25519"}`;
  assert.equal(keyid, formatHex(sha256(toBytes(canonical))));
  // Extra fields (x-tuf-on-ci-keyowner) do not change the key ID.
  assert.equal(tufKeyId({ ...key, 'x-owner': 'me' }), keyid);

  const ec = createSigner('ec', generateKey('ecdsa-p256'));
  const ecKey = tufKeyObject('ecdsa-p256', ec.publicKey);
  assert.equal(ecKey.keytype, 'ecdsa');
  assert.equal(ecKey.scheme, 'ecdsa-sha2-nistp256');
  const pem = (ecKey.keyval as JsonObject).public as string;
  assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
  assert.deepEqual(parsePublicKeyPem(pem), ec.publicKey);
  assert.deepEqual(parsePublicKeyPem(pem.replace(/\n/g, '\r\n')), ec.publicKey);
  assert.throws(() => parsePublicKeyPem(pem.replace('PUBLIC', 'PRIVATE')), { code: 'malformed' });
  assert.throws(() => tufKeyObject('ml-dsa-44', new Uint8Array(1312)), { code: 'invalid-argument' });
});

test('ECDSA and Ed25519 signatures verify through parsed key objects; unknown types never count', async () => {
  for (const type of ['ed25519', 'ecdsa-p256'] as const) {
    const signer = createSigner(type, generateKey(type));
    const { keyid, key } = tufKeyForSigner(signer);
    const signed = targetsSigned({ version: 1, expires: now, targets: {} });
    const signatures = await signMetadata(signed, [signer]);
    const keys = new Map([[keyid, parseTufKey(key, 'k')]]);
    assert.deepEqual(
      verifyThreshold(signed, signatures, keys, { keyids: [keyid], threshold: 1 }, { role: 't' }).signedBy,
      [keyid],
    );
  }
  const rsa = parseTufKey({ keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: 'x' } }, 'k');
  assert.equal(rsa.verifier, undefined);
  assert.throws(() => parseTufKey({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'zz' } }, 'k'), {
    code: 'malformed',
  });
});

test('one key listed under two key IDs counts once', async () => {
  const signer = createSigner('a', generateKey('ed25519'));
  const { keyid, key } = tufKeyForSigner(signer);
  const signed = targetsSigned({ version: 1, expires: now, targets: {} });
  const [sig] = await signMetadata(signed, [signer]);
  assert.ok(sig);
  const parsed = parseTufKey(key, 'k');
  const keys = new Map([
    [keyid, parsed],
    ['alias', parsed],
  ]);
  assert.throws(
    () =>
      verifyThreshold(
        signed,
        [sig, { keyid: 'alias', sig: sig.sig }],
        keys,
        { keyids: [keyid, 'alias'], threshold: 2 },
        {
          role: 'targets',
        },
      ),
    (e: unknown) => e instanceof VouchError && e.code === 'policy-unmet' && e.details.got === 1,
  );
});

test('signMetadata refuses a key twice; addSignature keeps others and replaces the same key', async () => {
  const a = createSigner('a', generateKey('ed25519'));
  const b = createSigner('b', generateKey('ed25519'));
  const signed = targetsSigned({ version: 1, expires: now, targets: {} });
  await assert.rejects(signMetadata(signed, [a, a]), { code: 'invalid-argument' });
  const one = { signed, signatures: await signMetadata(signed, [a]) };
  const two = await addSignature(one, b);
  assert.deepEqual(
    two.signatures.map((s) => s.keyid),
    [tufKeyForSigner(a).keyid, tufKeyForSigner(b).keyid],
  );
  const again = await addSignature(
    { signed, signatures: [{ keyid: tufKeyForSigner(b).keyid, sig: '00' }, ...one.signatures] },
    b,
  );
  assert.equal(again.signatures.length, 2);
  assert.notEqual(again.signatures[0]?.sig, '00');
});

test('dates are YYYY-MM-DDTHH:MM:SSZ exactly', () => {
  assert.equal(formatTufDate(0), '1970-01-01T00:00:00Z');
  assert.equal(parseTufDate('2030-01-01T00:00:00Z'), 1_893_456_000);
  for (const bad of [
    '2030-01-01T00:00:00.5Z',
    '2030-02-30T00:00:00Z',
    '2030-01-01 00:00:00Z',
    '2030-01-01T00:00:00+00:00',
  ]) {
    assert.throws(() => parseTufDate(bad), { code: 'malformed' }, bad);
  }
  assert.throws(() => formatTufDate(1.5), { code: 'invalid-argument' });
});

test('file names for consistent snapshots', () => {
  assert.equal(metadataFileName('root', 3, false), '3.root.json');
  assert.equal(metadataFileName('timestamp', 3, true), 'timestamp.json');
  assert.equal(metadataFileName('targets', 3, true), '3.targets.json');
  assert.equal(metadataFileName('snapshot', 3, false), 'snapshot.json');
  assert.equal(targetFileName('rules/main/main-42.vdb', 'ab'), 'rules/main/ab.main-42.vdb');
  assert.equal(targetFileName('hello', 'ab'), 'ab.hello');
  assert.throws(() => targetFileName('/etc/passwd', 'ab'), { code: 'invalid-argument' });
  assert.throws(() => targetFileName('a/../b', 'ab'), { code: 'invalid-argument' });
});

test('parsing keeps unknown fields and checks type, spec version, version, expiry and hashes', async () => {
  const repo = await TestRepository.create(now);
  const env = parseEnvelope(repo.current('targets'), 1e6);
  const withExtra = { ...env.signed, x_future: { a: [1, 2] } };
  const signer = repo.keys.targets[0];
  assert.ok(signer);
  const bytes = formatMetadata(withExtra, await signMetadata(withExtra, [signer]), { pretty: false });
  const m = parseMetadata('targets', bytes);
  assert.deepEqual(formatCanonicalJson(m.signed), formatCanonicalJson(withExtra));
  assert.equal(toText(bytes).includes('\n'), false);

  const mutate = (role: RoleName, change: (s: Record<string, unknown>) => void): Uint8Array => {
    const e = parseEnvelope(repo.current(role), 1e6);
    const s = JSON.parse(JSON.stringify(e.signed)) as Record<string, unknown>;
    change(s);
    return formatMetadata(s as JsonObject, []);
  };
  const cases: [RoleName, (s: Record<string, unknown>) => void][] = [
    ['targets', (s) => (s._type = 'snapshot')],
    ['targets', (s) => (s.spec_version = '2.0.0')],
    ['targets', (s) => (s.spec_version = 'one')],
    ['targets', (s) => (s.version = 0)],
    ['targets', (s) => (s.expires = '2030-01-01')],
    ['timestamp', (s) => (s.meta = {})],
    ['snapshot', (s) => (s.meta = { 'role1.json': { version: 1 } })],
    ['snapshot', (s) => (s.meta = { 'targets.json': { version: 1, hashes: { sha256: 'AB' } } })],
    ['snapshot', (s) => (s.meta = { 'targets.json': { version: 1, hashes: { md5: '00' } } })],
    ['targets', (s) => (s.targets = { a: { length: -1, hashes: { sha256: '0'.repeat(64) } } })],
    ['targets', (s) => (s.targets = { a: { length: 1 } })],
    ['root', (s) => delete (s.roles as Record<string, unknown>).snapshot],
    ['root', (s) => ((s.roles as { root: { keyids: string[] } }).root.keyids = ['a', 'a'])],
    ['root', (s) => (s.consistent_snapshot = 'yes')],
  ];
  for (const [role, change] of cases) {
    assert.throws(() => parseMetadata(role, mutate(role, change)), { code: 'malformed' });
  }
  assert.throws(() => parseMetadata('targets', toBytes('{"signed":{},"signatures":[],"signed":{}}')), {
    code: 'malformed',
  });
  const many = `{"signed":{},"signatures":[${Array(257).fill('{"keyid":"a","sig":"00"}').join(',')}]}`;
  assert.throws(() => parseMetadata('targets', toBytes(many)), { code: 'too-large' });
});

test('property: any single-byte change to a metadata file fails to parse or verify', async () => {
  const repo = await TestRepository.create(now);
  repo.targets.set('rules/main/main-1.vdb', {
    bytes: toBytes('x'),
    custom: { vouch: { kind: 'rules', n: 'é' } },
  });
  await repo.publishAll();
  const root = parseMetadata('root', repo.root(1)).fields;
  const roles: RoleName[] = ['root', 'timestamp', 'snapshot', 'targets'];
  for (const role of roles) {
    const pretty = role === 'root' ? repo.root(1) : repo.current(role);
    const env = parseEnvelope(pretty, 1e6);
    const compact = formatMetadata(env.signed, env.signatures, { pretty: false });
    const verifies = (bytes: Uint8Array): boolean => {
      try {
        const m = parseMetadata(role, bytes);
        verifyThreshold(m.signed, m.signatures, root.keys, root.roles[role], { role });
        return true;
      } catch (e) {
        if (e instanceof VouchError) return false;
        throw e;
      }
    };
    assert.ok(verifies(compact) && verifies(pretty));
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const i = at % compact.length;
        const changed = new Uint8Array(compact);
        changed[i] = ((changed[i] as number) + delta) & 0xff;
        return !verifies(changed);
      }),
      { numRuns: 300 },
    );
    // In the pretty layout, whitespace between tokens is not signed; every other byte is.
    const isSpace = (b: number) => b === 0x20 || b === 0x0a;
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const i = at % pretty.length;
        const changed = new Uint8Array(pretty);
        changed[i] = ((changed[i] as number) + delta) & 0xff;
        fc.pre(!(isSpace(pretty[i] as number) && [0x20, 0x0a, 0x09, 0x0d].includes(changed[i] as number)));
        return !verifies(changed);
      }),
      { numRuns: 300 },
    );
  }
});
