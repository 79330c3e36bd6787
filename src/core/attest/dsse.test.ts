import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, formatBase64, parseBase64, parseHex, toBytes, toText } from '../bytes/index.ts';
import {
  createSigner,
  createVerifier,
  generateKey,
  importPrivateKey,
  type KeyType,
  keyTypes,
  type Signer,
} from '../crypto/index.ts';
import { isVouchError, type VouchError } from '../errors.ts';
import {
  appendSignatures,
  type Envelope,
  envelopeToJson,
  formatEnvelope,
  pae,
  parseEnvelope,
  signEnvelope,
  verifyEnvelope,
} from './dsse.ts';

function signer(keyType: KeyType, name: string = keyType): Signer {
  return createSigner(name, generateKey(keyType));
}

const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((name) => signer('ed25519', name)) as [
  Signer,
  Signer,
  Signer,
];
const verifierOf = (s: Signer) => createVerifier(s.keyType, s.publicKey);
const [aliceKey, bobKey, carolKey] = [alice, bob, carol].map(verifierOf) as [
  ReturnType<typeof verifierOf>,
  ReturnType<typeof verifierOf>,
  ReturnType<typeof verifierOf>,
];
const payloadType = 'application/vnd.vouch.test+json';
const payload = toBytes('{"hello":"world"}');

// Edit an envelope's JSON form and parse it back, to build envelopes a signer would not.
type EnvelopeJson = { payload: string; payloadType: string; signatures: { keyid?: string; sig: string }[] };
function edit(envelope: Envelope, change: (json: EnvelopeJson) => void): Envelope {
  const json = JSON.parse(toText(formatEnvelope(envelope))) as EnvelopeJson;
  change(json);
  return parseEnvelope(toBytes(JSON.stringify(json)));
}

function isCode(code: VouchError['code']) {
  return (e: unknown) => isVouchError(e, code);
}

test('pae encodes exactly per the DSSE protocol', async (t) => {
  const rows: readonly { name: string; type: string; body: Uint8Array; expected: Uint8Array }[] = [
    {
      name: 'protocol.md test vector',
      type: 'http://example.com/HelloWorld',
      body: toBytes('hello world'),
      expected: toBytes('DSSEv1 29 http://example.com/HelloWorld 11 hello world'),
    },
    {
      name: 'sigstore-js core vector',
      type: 'text/plain',
      body: toBytes('Hello, World!'),
      expected: toBytes('DSSEv1 10 text/plain 13 Hello, World!'),
    },
    { name: 'empty type and body', type: '', body: new Uint8Array(0), expected: toBytes('DSSEv1 0  0 ') },
    {
      name: 'lengths count UTF-8 bytes, not characters',
      type: 'application/vnd.é+json',
      body: toBytes('ü'),
      expected: toBytes('DSSEv1 23 application/vnd.é+json 2 ü'),
    },
    {
      name: 'binary body with spaces, newlines and NUL',
      type: 't',
      body: new Uint8Array([0x20, 0x0a, 0x00, 0xff]),
      expected: concatBytes(toBytes('DSSEv1 1 t 4 '), new Uint8Array([0x20, 0x0a, 0x00, 0xff])),
    },
    {
      name: 'multi-digit lengths without leading zeros',
      type: 'x'.repeat(100),
      body: new Uint8Array(1000),
      expected: concatBytes(toBytes(`DSSEv1 100 ${'x'.repeat(100)} 1000 `), new Uint8Array(1000)),
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => assert.deepEqual(pae(row.type, row.body), row.expected));
  }
  await t.test('a payload type with a lone surrogate is refused', () => {
    assert.throws(() => pae('a\ud800', new Uint8Array(0)), isCode('invalid-argument'));
  });
});

// protocol.md "Test Vectors": ECDSA P-256 key (X, Y, d in decimal) and its signature over the
// PAE of "hello world", as raw r‖s (IEEE P1363). core/crypto speaks DER, so the test converts.
const specX = 46950820868899156662930047687818585632848591499744589407958293238635476079160n;
const specY = 5640078356564379163099075877009565129882514886557779369047442380624545832820n;
const specD = 97358161215184420915383655311931858321456579547487070936769975997791359926199n;
const specEnvelope = `{"payload": "aGVsbG8gd29ybGQ=",
 "payloadType": "http://example.com/HelloWorld",
 "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}`;

const uint256 = (n: bigint) => parseHex(n.toString(16).padStart(64, '0'));
const specSpki = concatBytes(
  parseHex('3059301306072a8648ce3d020106082a8648ce3d03010703420004'),
  uint256(specX),
  uint256(specY),
);

function p1363ToDer(sig: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let v = bytes.subarray(i);
    if (((v[0] as number) & 0x80) !== 0) v = concatBytes(new Uint8Array([0]), v);
    return concatBytes(new Uint8Array([0x02, v.length]), v);
  };
  const body = concatBytes(integer(sig.subarray(0, 32)), integer(sig.subarray(32)));
  return concatBytes(new Uint8Array([0x30, body.length]), body);
}

test('the protocol.md test vector verifies', async (t) => {
  const verifier = createVerifier('ecdsa-p256', specSpki);
  const envelope = parseEnvelope(toBytes(specEnvelope));
  const [signature] = envelope.signatures;
  assert.ok(signature !== undefined && signature.keyid === '' && signature.sig.length === 64);

  await t.test('its P1363 signature is not accepted (core/crypto verifies DER)', () => {
    assert.throws(() => verifyEnvelope(envelope, [verifier], 1), isCode('policy-unmet'));
  });

  await t.test('the same signature as DER verifies over our PAE', () => {
    const der = formatBase64(p1363ToDer(signature.sig));
    const converted = parseEnvelope(toBytes(specEnvelope.replace(/"sig": "[^"]+"/, `"sig": "${der}"`)));
    const result = verifyEnvelope(converted, [verifier], 1, { payloadType: 'http://example.com/HelloWorld' });
    assert.equal(toText(result.payload), 'hello world');
    assert.deepEqual(result.verifiedKeyIds, [verifier.keyId]);
  });

  await t.test('the spec private key signs envelopes the spec public key verifies', async () => {
    const jwk = {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(uint256(specX)).toString('base64url'),
      y: Buffer.from(uint256(specY)).toString('base64url'),
      d: Buffer.from(uint256(specD)).toString('base64url'),
    };
    const pkcs8 = createPrivateKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
    const material = importPrivateKey('ecdsa-p256', new Uint8Array(pkcs8));
    assert.deepEqual(material.publicKey, specSpki);
    const signed = await signEnvelope('http://example.com/HelloWorld', toBytes('hello world'), [
      createSigner('spec', material),
    ]);
    assert.equal(toText(verifyEnvelope(signed, [verifier], 1).payload), 'hello world');
  });
});

test('sign, format, parse and verify round trip for every key type', async (t) => {
  for (const keyType of keyTypes) {
    await t.test(keyType, async () => {
      const s = signer(keyType);
      const envelope = await signEnvelope(payloadType, payload, [s]);
      const bytes = formatEnvelope(envelope);
      const parsed = parseEnvelope(bytes);
      assert.deepEqual(formatEnvelope(parsed), bytes);
      assert.equal(parsed.signatures[0]?.keyid, s.keyId);
      const result = verifyEnvelope(parsed, [verifierOf(s)], 1, { payloadType });
      assert.deepEqual(result.payload, payload);
      assert.deepEqual(result.verifiedKeyIds, [s.keyId]);
      assert.deepEqual(result.unverified, []);
      // A key of another type never verifies it.
      const other = signer(keyType === 'ed25519' ? 'ecdsa-p256' : 'ed25519');
      assert.throws(
        () => verifyEnvelope(parsed, [{ verifier: verifierOf(other), keyid: s.keyId }], 1),
        isCode('policy-unmet'),
      );
    });
  }
});

test('threshold counts distinct trusted keys', async (t) => {
  const both = await signEnvelope(payloadType, payload, [alice, bob]);
  const onlyAlice = await signEnvelope(payloadType, payload, [alice]);
  const aliceSig = onlyAlice.signatures[0];
  assert.ok(aliceSig !== undefined);
  const carolAsAlice = edit(await signEnvelope(payloadType, payload, [carol]), (j) => {
    for (const s of j.signatures) s.keyid = alice.keyId;
  });
  const rows: readonly {
    name: string;
    envelope: () => Envelope;
    verifiers: Parameters<typeof verifyEnvelope>[1];
    threshold: number;
    verified?: readonly string[];
    reasons: readonly string[];
  }[] = [
    {
      name: '2 of 3 signed, threshold 2',
      envelope: () => both,
      verifiers: [aliceKey, bobKey, carolKey],
      threshold: 2,
      verified: [alice.keyId, bob.keyId],
      reasons: [],
    },
    {
      name: '1 of 3 signed, threshold 2',
      envelope: () => onlyAlice,
      verifiers: [aliceKey, bobKey, carolKey],
      threshold: 2,
      reasons: [],
    },
    {
      name: 'one key signing twice counts once',
      envelope: () => edit(onlyAlice, (j) => j.signatures.push({ ...(j.signatures[0] as { sig: string }) })),
      verifiers: [aliceKey, bobKey],
      threshold: 2,
      reasons: ['duplicate-key'],
    },
    {
      name: 'one key signing twice under different hints counts once',
      envelope: () =>
        edit(onlyAlice, (j) => j.signatures.push({ keyid: '', sig: formatBase64(aliceSig.sig) })),
      verifiers: [aliceKey, bobKey],
      threshold: 2,
      reasons: ['duplicate-key'],
    },
    {
      name: 'an unknown keyid is tried against no one',
      envelope: () =>
        edit(onlyAlice, (j) => {
          for (const s of j.signatures) s.keyid = 'nobody';
        }),
      verifiers: [aliceKey],
      threshold: 1,
      reasons: ['unknown-key'],
    },
    {
      name: 'an empty keyid is tried against every key',
      envelope: () =>
        edit(both, (j) => {
          for (const s of j.signatures) delete s.keyid;
        }),
      verifiers: [carolKey, bobKey, aliceKey],
      threshold: 2,
      verified: [alice.keyId, bob.keyId],
      reasons: [],
    },
    {
      name: 'an untrusted signer with an empty keyid',
      envelope: () =>
        edit(both, (j) => {
          for (const s of j.signatures) s.keyid = '';
        }),
      verifiers: [carolKey],
      threshold: 1,
      reasons: ['bad-signature', 'bad-signature'],
    },
    {
      name: 'an untrusted signer claiming a trusted keyid',
      envelope: () => carolAsAlice,
      verifiers: [aliceKey],
      threshold: 1,
      reasons: ['bad-signature'],
    },
    {
      name: 'a trusted key under a custom hint',
      envelope: () =>
        edit(onlyAlice, (j) => {
          for (const s of j.signatures) s.keyid = 'release-key-1';
        }),
      verifiers: [{ verifier: aliceKey, keyid: 'release-key-1' }],
      threshold: 1,
      verified: [alice.keyId],
      reasons: [],
    },
    {
      name: 'one good signature among bad ones is reported alongside them',
      envelope: () =>
        edit(both, (j) =>
          j.signatures.unshift({ keyid: 'x', sig: 'AAAA' }, { keyid: bob.keyId, sig: 'AAAA' }),
        ),
      verifiers: [aliceKey, bobKey],
      threshold: 2,
      verified: [alice.keyId, bob.keyId],
      reasons: ['unknown-key', 'bad-signature'],
    },
    {
      name: 'no signatures at all',
      envelope: () =>
        edit(both, (j) => {
          j.signatures = [];
        }),
      verifiers: [aliceKey],
      threshold: 1,
      reasons: [],
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      const envelope = row.envelope();
      if (row.verified !== undefined) {
        const result = verifyEnvelope(envelope, row.verifiers, row.threshold);
        assert.deepEqual(result.verifiedKeyIds, row.verified);
        assert.deepEqual(
          result.unverified.map((u) => u.reason),
          row.reasons,
        );
        assert.deepEqual(result.payload, payload);
      } else {
        assert.throws(
          () => verifyEnvelope(envelope, row.verifiers, row.threshold),
          (e: unknown) =>
            isVouchError(e, 'policy-unmet') &&
            e.details.limit === row.threshold &&
            (e.details['unverified'] as { reason: string }[]).map((u) => u.reason).join() ===
              row.reasons.join(),
        );
      }
    });
  }
});

test('verifyEnvelope refuses impossible thresholds', async (t) => {
  const envelope = await signEnvelope(payloadType, payload, [alice]);
  const rows: readonly [string, number, Parameters<typeof verifyEnvelope>[1]][] = [
    ['zero', 0, [aliceKey]],
    ['negative', -1, [aliceKey]],
    ['fraction', 0.5, [aliceKey]],
    ['NaN', Number.NaN, [aliceKey]],
    ['more than the trusted keys', 2, [aliceKey]],
    ['one key listed twice is one key', 2, [aliceKey, { verifier: aliceKey, keyid: 'alias' }]],
    ['no trusted keys', 1, []],
  ];
  for (const [name, threshold, verifiers] of rows) {
    await t.test(name, () => {
      assert.throws(() => verifyEnvelope(envelope, verifiers, threshold), isCode('invalid-argument'));
    });
  }
});

test('tampering breaks verification', async (t) => {
  const envelope = await signEnvelope(payloadType, payload, [alice, bob]);
  const rows: readonly [string, (j: EnvelopeJson) => void][] = [
    [
      'payload changed',
      (j) => {
        j.payload = formatBase64(toBytes('{"hello":"World"}'));
      },
    ],
    [
      'payload extended',
      (j) => {
        j.payload = formatBase64(concatBytes(payload, toBytes(' ')));
      },
    ],
    [
      'payload type changed',
      (j) => {
        j.payloadType = 'application/vnd.vouch.other+json';
      },
    ],
    [
      'payload type case changed',
      (j) => {
        j.payloadType = j.payloadType.toUpperCase();
      },
    ],
    [
      'signature bit flipped',
      (j) => {
        for (const s of j.signatures) {
          const sig = parseBase64(s.sig);
          sig[5] = (sig[5] as number) ^ 1;
          s.sig = formatBase64(sig);
        }
      },
    ],
    [
      'signatures swapped between keyids',
      (j) => {
        const [a, b] = j.signatures;
        assert.ok(a !== undefined && b !== undefined);
        [a.keyid, b.keyid] = [b.keyid, a.keyid];
      },
    ],
  ];
  for (const [name, change] of rows) {
    await t.test(name, () => {
      assert.throws(
        () => verifyEnvelope(edit(envelope, change), [aliceKey, bobKey], 1),
        isCode('policy-unmet'),
      );
    });
  }
  await t.test('an unexpected payload type is refused after the signatures verify', () => {
    assert.throws(
      () => verifyEnvelope(envelope, [aliceKey], 1, { payloadType: 'application/vnd.in-toto+json' }),
      (e: unknown) => isVouchError(e, 'invalid-argument') && e.details.field === 'payloadType',
    );
  });
});

test('signing rules', async (t) => {
  await t.test('no signers', async () => {
    await assert.rejects(signEnvelope(payloadType, payload, []), isCode('invalid-argument'));
  });
  await t.test('the same key twice', async () => {
    await assert.rejects(
      signEnvelope(payloadType, payload, [alice, { signer: alice, keyid: 'other' }]),
      isCode('invalid-argument'),
    );
  });
  await t.test('more than 32 signers', async () => {
    const many = Array.from({ length: 33 }, () => signer('ed25519'));
    await assert.rejects(signEnvelope(payloadType, payload, many), isCode('invalid-argument'));
  });
  await t.test('a faulty signer is caught before the envelope leaves', async () => {
    const faulty: Signer = { ...alice, sign: async () => new Uint8Array(64) };
    await assert.rejects(signEnvelope(payloadType, payload, [faulty]), isCode('bad-signature'));
  });
  await t.test("a signer's own failure propagates", async () => {
    const offline: Signer = { ...alice, sign: () => Promise.reject(new Error('HSM offline')) };
    await assert.rejects(signEnvelope(payloadType, payload, [offline]), /HSM offline/);
  });
  await t.test('a custom keyid hint is written', async () => {
    const envelope = await signEnvelope(payloadType, payload, [{ signer: alice, keyid: 'release-key-1' }]);
    assert.equal(envelope.signatures[0]?.keyid, 'release-key-1');
  });
  await t.test('the caller may reuse its payload buffer after signing', async () => {
    const buffer = new Uint8Array(payload);
    const envelope = await signEnvelope(payloadType, buffer, [alice]);
    buffer.fill(0);
    assert.deepEqual(verifyEnvelope(envelope, [aliceKey], 1).payload, payload);
  });
  await t.test('appendSignatures adds a cosigner', async () => {
    const first = await signEnvelope(payloadType, payload, [alice]);
    const cosigned = await appendSignatures(first, [bob]);
    assert.deepEqual(verifyEnvelope(cosigned, [aliceKey, bobKey], 2).verifiedKeyIds, [
      alice.keyId,
      bob.keyId,
    ]);
    assert.equal(first.signatures.length, 1);
    await assert.rejects(appendSignatures(cosigned, [alice]), isCode('invalid-argument'));
  });
});

test('an envelope never exposes its payload before verification', async () => {
  const envelope = await signEnvelope(payloadType, payload, [alice]);
  assert.ok(Object.isFrozen(envelope));
  assert.deepEqual(Object.keys(envelope).sort(), ['payloadType', 'signatures']);
  assert.ok(!JSON.stringify(envelope).includes(formatBase64(payload)));
  assert.ok(!('payload' in envelope));
});

test('envelope JSON reading', async (t) => {
  const valid = toText(formatEnvelope(await signEnvelope(payloadType, payload, [alice])));
  const sig = formatBase64((parseEnvelope(toBytes(valid)).signatures[0] as { sig: Uint8Array }).sig);
  await t.test('unknown fields are ignored and a null keyid is unset', () => {
    const text = `{"payload":"${formatBase64(payload)}","payloadType":"${payloadType}","x-extra":{"deep":[1.5]},"signatures":[{"keyid":null,"sig":"${sig}","extension":{"kind":"x"}}]}`;
    const envelope = parseEnvelope(toBytes(text));
    assert.equal(envelope.signatures[0]?.keyid, '');
    assert.deepEqual(envelopeToJson(envelope)['signatures'], [{ sig }]);
    assert.deepEqual(verifyEnvelope(envelope, [aliceKey], 1).payload, payload);
  });
  await t.test('URL-safe base64, padded or not, is accepted', () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xfe, 0x01]);
    for (const encoded of ['-__-AQ==', '-__-AQ']) {
      const envelope = parseEnvelope(toBytes(`{"payload":"${encoded}","payloadType":"t","signatures":[]}`));
      assert.deepEqual(
        formatEnvelope(envelope),
        toBytes(`{"payload":"${formatBase64(bytes)}","payloadType":"t","signatures":[]}`),
      );
    }
  });

  const rows: readonly {
    name: string;
    text: string;
    code: 'malformed' | 'too-large';
    fields: readonly string[];
  }[] = [
    { name: 'not an object', text: '[]', code: 'malformed', fields: ['$'] },
    { name: 'empty object', text: '{}', code: 'malformed', fields: ['payloadType', 'payload', 'signatures'] },
    {
      name: 'wrong types',
      text: '{"payload":1,"payloadType":null,"signatures":{}}',
      code: 'malformed',
      fields: ['payloadType', 'payload', 'signatures'],
    },
    {
      name: 'payload not base64',
      text: '{"payload":"a","payloadType":"t","signatures":[]}',
      code: 'malformed',
      fields: ['payload'],
    },
    {
      name: 'payload with stray bits',
      text: '{"payload":"aGk=","payloadType":"t","signatures":[]}'.replace('aGk=', 'aGl='),
      code: 'malformed',
      fields: ['payload'],
    },
    {
      name: 'payload mixing alphabets',
      text: '{"payload":"+-AA","payloadType":"t","signatures":[]}',
      code: 'malformed',
      fields: ['payload'],
    },
    {
      name: 'standard base64 without padding',
      text: '{"payload":"+/8","payloadType":"t","signatures":[]}',
      code: 'malformed',
      fields: ['payload'],
    },
    {
      name: 'base64 with whitespace',
      text: '{"payload":"aGVs bG8=","payloadType":"t","signatures":[]}',
      code: 'malformed',
      fields: ['payload'],
    },
    {
      name: 'every bad signature is named',
      text: '{"payload":"","payloadType":"t","signatures":[1,{},{"sig":5},{"sig":"!!!!"},{"sig":"","keyid":7},{"sig":""}]}',
      code: 'malformed',
      fields: [
        'signatures[0]',
        'signatures[1].sig',
        'signatures[2].sig',
        'signatures[3].sig',
        'signatures[4].keyid',
      ],
    },
    {
      name: 'duplicate member',
      text: '{"payload":"","payload":"","payloadType":"t","signatures":[]}',
      code: 'malformed',
      fields: [],
    },
    {
      name: 'trailing garbage',
      text: '{"payload":"","payloadType":"t","signatures":[]}x',
      code: 'malformed',
      fields: [],
    },
    {
      name: 'too many signatures',
      text: `{"payload":"","payloadType":"t","signatures":[${Array(33).fill('{"sig":""}').join(',')}]}`,
      code: 'too-large',
      fields: [],
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      assert.throws(
        () => parseEnvelope(toBytes(row.text)),
        (e: unknown) =>
          isVouchError(e, row.code) &&
          (row.fields.length === 0 || (e.details.fields ?? []).join() === row.fields.join()),
      );
    });
  }
  await t.test('size cap is checked before parsing', () => {
    assert.throws(() => parseEnvelope(toBytes(valid), { maxBytes: valid.length - 1 }), isCode('too-large'));
  });
  await t.test('signature cap is configurable', () => {
    assert.throws(() => parseEnvelope(toBytes(valid), { maxSignatures: 0 }), isCode('too-large'));
  });
});

test('fuzz: parseEnvelope and verifyEnvelope give a value or a VouchError', async () => {
  const envelope = await signEnvelope(payloadType, payload, [alice, { signer: bob, keyid: '' }]);
  const valid = formatEnvelope(envelope);
  const check = (bytes: Uint8Array) => {
    try {
      const parsed = parseEnvelope(bytes, { maxBytes: 4096 });
      verifyEnvelope(parsed, [aliceKey, bobKey], 1);
    } catch (e) {
      assert.ok(isVouchError(e), String(e));
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), { seed: 0xd55e01, numRuns: 1000 });
  const edits = fc.array(
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 255 })),
    {
      minLength: 1,
      maxLength: 3,
    },
  );
  fc.assert(
    fc.property(edits, (list) => {
      let bytes: Uint8Array = new Uint8Array(valid);
      for (const [at, kind, byte] of list) {
        const i = at % bytes.length;
        if (kind === 0) bytes = concatBytes(bytes.subarray(0, i), bytes.subarray(i + 1));
        else if (kind === 1)
          bytes = concatBytes(bytes.subarray(0, i), new Uint8Array([byte]), bytes.subarray(i));
        else bytes[i] = byte;
      }
      check(bytes);
    }),
    { seed: 0xd55e02, numRuns: 2000 },
  );
});

test('appendSignatures needs a signer', async () => {
  const envelope = await signEnvelope(payloadType, payload, [alice]);
  await assert.rejects(appendSignatures(envelope, []), isCode('invalid-argument'));
});
