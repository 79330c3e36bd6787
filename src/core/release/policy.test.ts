import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatHex, toBytes, toText } from '../bytes/index.ts';
import { createSigner, generateKey, type Signer, sha256 } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import { formatVerifierKey, signatureTypes } from '../note/index.ts';
import { createCosigner } from '../tlog/cosignature.ts';
import { maxReleasePolicyKeys, parseReleasePolicy, trustedKeyOf } from './policy.ts';
import { testingOnlyBuilderId, testingOnlyReleaseFixture } from './testing.ts';

const fx = await testingOnlyReleaseFixture();
const { bytes: goodBytes } = fx.policyFor();
const good = JSON.parse(toText(goodBytes));

function edited(edit: (p: typeof good) => void): Uint8Array {
  const copy = structuredClone(good);
  edit(copy);
  return toBytes(JSON.stringify(copy));
}

test('parseReleasePolicy reads builders, rebuilders, review and the log', () => {
  const policy = parseReleasePolicy(goodBytes);
  assert.equal(policy.sha256, formatHex(sha256(goodBytes)));
  assert.deepEqual(
    policy.builders.map((b) => [b.id, b.keys.map((k) => k.name), b.allowNonHermetic]),
    [
      [testingOnlyBuilderId, ['ch-zrh.build.vouch.example'], false],
      ['https://us-sfo.build.vouch.example', ['us-sfo.build.vouch.example'], false],
    ],
  );
  assert.deepEqual(
    [policy.rebuilders.required, policy.rebuilders.threshold, policy.rebuilders.keys.length],
    [true, 2, 3],
  );
  assert.deepEqual(
    [policy.review.required, policy.review.threshold, policy.review.keys.length],
    [true, 1, 2],
  );
  assert.equal(policy.log.origin, 'log.vouch.example/release');
  assert.deepEqual(
    policy.log.policy.witnesses.map((w) => w.name),
    ['a', 'b'],
  );
  assert.equal(policy.log.policy.quorum, 'both');
  assert.equal(policy.rebuilders.keys[0]?.verifier.keyId, fx.rebuilders[0]?.keyId);
});

test('a policy that requires neither rebuilds nor review may list no keys', () => {
  const policy = parseReleasePolicy(
    edited((p) => {
      p.rebuilders = { required: false, keys: [], threshold: 0 };
      p.review = { required: false, keys: [], threshold: 0 };
    }),
  );
  assert.equal(policy.rebuilders.keys.length, 0);
});

test('parseReleasePolicy names every bad field', () => {
  const cosignerKey = formatVerifierKey(createCosigner(fx.rebuilders[0] as Signer, { timestamp: 1n }));
  const rows: [string, (p: typeof good) => void, string[]][] = [
    [
      'unknown top-level field',
      (p) => {
        p.extra = 1;
      },
      ['extra'],
    ],
    [
      'misspelt requirement',
      (p) => {
        p.review.require = true;
        delete p.review.required;
      },
      ['review.require', 'review.required'],
    ],
    ['missing log', (p) => delete p.log, ['log']],
    [
      'wrong type',
      (p) => {
        p._type = 'x';
      },
      ['_type'],
    ],
    [
      'no builders',
      (p) => {
        p.builders = [];
      },
      ['builders'],
    ],
    [
      'builder without keys',
      (p) => {
        p.builders[0].keys = [];
      },
      ['builders[0].keys'],
    ],
    [
      'http builder id',
      (p) => {
        p.builders[0].id = 'http://ch-zrh.example';
      },
      ['builders[0].id'],
    ],
    [
      'duplicate builder id',
      (p) => {
        p.builders[1].id = p.builders[0].id;
      },
      ['builders[1].id'],
    ],
    [
      'key shared by two builders',
      (p) => {
        p.builders[1].keys = p.builders[0].keys;
      },
      ['builders[1].keys[0]'],
    ],
    [
      'builder key as rebuilder',
      (p) => p.rebuilders.keys.push(p.builders[0].keys[0]),
      ['rebuilders.keys[3]'],
    ],
    [
      'threshold above keys',
      (p) => {
        p.rebuilders.threshold = 4;
      },
      ['rebuilders.threshold'],
    ],
    [
      'required with threshold 0',
      (p) => {
        p.review.threshold = 0;
      },
      ['review.threshold'],
    ],
    [
      'string threshold',
      (p) => {
        p.review.threshold = '1';
      },
      ['review.threshold'],
    ],
    ['duplicate key', (p) => p.review.keys.push(p.review.keys[0]), ['review.keys[2]']],
    [
      'not a vkey',
      (p) => {
        p.review.keys[0] = 'nonsense';
      },
      ['review.keys[0]'],
    ],
    [
      'cosignature key',
      (p) => {
        p.review.keys[0] = cosignerKey;
      },
      ['review.keys[0]'],
    ],
    [
      'allowNonHermetic missing',
      (p) => delete p.builders[0].allowNonHermetic,
      ['builders[0].allowNonHermetic'],
    ],
    [
      'log line in the witness policy',
      (p) => {
        p.log.witnessPolicy = `log ${p.log.vkey}\nquorum none\n`;
      },
      ['log.witnessPolicy'],
    ],
    [
      'witness policy without quorum',
      (p) => {
        p.log.witnessPolicy = 'group g any\n';
      },
      ['log.witnessPolicy'],
    ],
    [
      'log key that is a witness',
      (p) => {
        p.log.vkey = p.log.witnessPolicy.split(' ')[2].split('\n')[0];
      },
      ['log.vkey'],
    ],
  ];
  for (const [name, edit, fields] of rows) {
    assert.throws(
      () => parseReleasePolicy(edited(edit)),
      (e: unknown) =>
        isVouchError(e, 'malformed') && assert.deepEqual(e.details.fields, fields) === undefined,
      name,
    );
  }
});

test('parseReleasePolicy bounds its input', () => {
  assert.throws(
    () =>
      parseReleasePolicy(
        edited((p) => {
          p.review.threshold = 1.5;
        }),
      ),
    (e: unknown) => isVouchError(e, 'malformed') && e.details.field === 'review.threshold',
  );
  assert.throws(
    () => parseReleasePolicy(new Uint8Array((1 << 20) + 1)),
    (e: unknown) => isVouchError(e, 'too-large'),
  );
  const many = Array.from({ length: maxReleasePolicyKeys + 1 }, (_, i) =>
    formatVerifierKey({ name: `k${i}`, type: signatureTypes.ed25519, publicKey: new Uint8Array(32).fill(i) }),
  );
  assert.throws(
    () =>
      parseReleasePolicy(
        edited((p) => {
          p.review.keys = many;
        }),
      ),
    (e: unknown) => isVouchError(e, 'too-large') && e.details.field === 'review.keys',
  );
});

test('trustedKeyOf accepts Ed25519, ECDSA and ML-DSA signing keys', () => {
  for (const keyType of ['ed25519', 'ecdsa-p256', 'ml-dsa-44'] as const) {
    const signer = createSigner('k', generateKey(keyType));
    const type =
      keyType === 'ed25519'
        ? signatureTypes.ed25519
        : keyType === 'ecdsa-p256'
          ? signatureTypes.ecdsa
          : signatureTypes.mlDsa44Cosignature;
    const key = trustedKeyOf(formatVerifierKey({ name: 'k', type, publicKey: signer.publicKey }));
    assert.ok(typeof key !== 'string', keyType);
    assert.equal(key.verifier.keyId, signer.keyId);
  }
});

test('parseReleasePolicy returns a policy or a typed error for any input', () => {
  const base = toText(goodBytes);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc
          .tuple(fc.nat({ max: base.length }), fc.nat({ max: 30 }), fc.string({ maxLength: 8 }))
          .map(([at, cut, insert]) => toBytes(base.slice(0, at) + insert + base.slice(at + cut))),
      ),
      (bytes) => {
        try {
          parseReleasePolicy(bytes);
        } catch (error) {
          if (!(error instanceof VouchError) || error.code === 'invariant') throw error;
        }
      },
    ),
    { seed: 99, numRuns: 500 },
  );
});
