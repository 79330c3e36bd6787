import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  inTotoType,
  type LoggedRelease,
  loggedRelease,
  logKeyFor,
  proveInTree,
  signRelease,
  statementFor,
} from '../../../test/support/sigstore-fixture.ts';
import { formatBase64, formatHex, parseBase64, toBytes, toText } from '../bytes/index.ts';
import { createSigner, createVerifier, formatPublicKeyPem, generateKey, sha256 } from '../crypto/index.ts';
import { type ErrorCode, isVouchError } from '../errors.ts';
import { formatVerifierKey, parseNote, signatureTypes } from '../note/index.ts';
import { parseTlogProof } from '../tlog/proof.ts';
import { formatEnvelope, signEnvelope } from './dsse.ts';
import {
  buildSigstoreBundle,
  buildTrustedRoot,
  bundleMediaType,
  formatRekorDsseBody,
  maxBundleBytes,
  parseRekorDsseBody,
  rekorDsseBody,
  sigstoreLogId,
  trustedRootMediaType,
  verifySigstoreBundle,
} from './sigstore.ts';

type Json = Record<string, unknown>;

/** set assigns one field of a JSON copy (a statement, so test tables stay lint-clean). */
function set(object: unknown, key: string, value: unknown): void {
  (object as Json)[key] = value;
}

function bundleOf(release: LoggedRelease): Uint8Array {
  return buildSigstoreBundle({
    envelope: release.envelope,
    body: release.body,
    proof: release.proof,
    logKey: release.log.vkey,
    signer: release.verifier,
  });
}

function verify(release: LoggedRelease, bytes: Uint8Array) {
  return verifySigstoreBundle(bytes, { logKey: release.log.vkey, signer: release.verifier });
}

function refuses(fn: () => unknown, code: ErrorCode, field?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, code, `${error.message} (${String(error.details.field)})`);
    if (field !== undefined) assert.match(String(error.details.field), field);
    return true;
  });
}

/** mutate returns the bundle with `change` applied to a JSON copy of it. */
function mutate(
  bytes: Uint8Array,
  change: (bundle: Json, entry: Json, proof: Json, envelope: Json) => void,
): Uint8Array {
  const bundle = JSON.parse(toText(bytes)) as Json;
  const material = bundle['verificationMaterial'] as Json;
  const entry = (material['tlogEntries'] as Json[])[0] as Json;
  change(bundle, entry, entry['inclusionProof'] as Json, bundle['dsseEnvelope'] as Json);
  return toBytes(JSON.stringify(bundle));
}

/** withLoggedBody replaces the bundle's entry with `body`, honestly logged at index 1 of a fresh tree of the same log. */
async function withLoggedBody(
  release: LoggedRelease,
  bytes: Uint8Array,
  body: Uint8Array,
): Promise<Uint8Array> {
  const proof = parseTlogProof(await proveInTree([toBytes('other'), body, toBytes('more')], 1, release.log));
  const text = toText(proof.checkpoint);
  const lines = text.split('\n');
  return mutate(bytes, (_bundle, entry, inclusion) => {
    entry['logIndex'] = '1';
    entry['canonicalizedBody'] = formatBase64(body);
    inclusion['logIndex'] = '1';
    inclusion['treeSize'] = lines[1];
    inclusion['rootHash'] = lines[2];
    inclusion['hashes'] = proof.proof.map((h) => formatBase64(h));
    inclusion['checkpoint'] = { envelope: text };
  });
}

/** bodyJson returns the release's body as JSON for editing; reformat with JSON.stringify (keys keep their order). */
function bodyJson(release: LoggedRelease): Json {
  return JSON.parse(toText(release.body)) as Json;
}

test('a bundle round-trips: built, verified, payload and log position returned', async () => {
  for (const keyType of ['ed25519', 'ecdsa-p256'] as const) {
    const release = await loggedRelease(keyType);
    const bytes = bundleOf(release);
    assert.deepEqual(bytes, bundleOf(release), 'building is deterministic');
    const verified = verify(release, bytes);
    assert.equal(verified.payloadType, inTotoType);
    assert.deepEqual(verified.payload, statementFor('vouch-agent-1.2.3.tar', 'release bytes'));
    assert.equal(verified.logIndex, 2n);
    assert.equal(verified.checkpoint.size, 5n);
    assert.equal(verified.checkpoint.origin, release.log.origin);
    assert.equal(verified.keyHint, release.signer.keyId);
    assert.deepEqual(verified.envelope, formatEnvelope(release.envelope));
    assert.equal(verified.note.verified.length, 1);

    const json = JSON.parse(toText(bytes)) as Json;
    assert.equal(json['mediaType'], bundleMediaType);
    const entry = ((json['verificationMaterial'] as Json)['tlogEntries'] as Json[])[0] as Json;
    assert.deepEqual(entry['kindVersion'], { kind: 'dsse', version: '0.0.1' });
    assert.equal(entry['integratedTime'], '0');
    assert.deepEqual(parseBase64(entry['canonicalizedBody'] as string), release.body);
    assert.deepEqual(
      parseBase64((entry['logId'] as Json)['keyId'] as string),
      sigstoreLogId(release.log.vkey),
    );
    assert.deepEqual((json['verificationMaterial'] as Json)['publicKey'], { hint: release.signer.keyId });
  }
});

test('rekorDsseBody is the canonical Rekor dsse/0.0.1 body binding envelope, payload, signature and key', async () => {
  const release = await loggedRelease();
  const payload = statementFor('vouch-agent-1.2.3.tar', 'release bytes');
  const sig = release.envelope.signatures[0]?.sig ?? new Uint8Array();
  const pem = formatPublicKeyPem('ed25519', release.signer.publicKey);
  const expected =
    '{"apiVersion":"0.0.1","kind":"dsse","spec":{' +
    `"envelopeHash":{"algorithm":"sha256","value":"${formatHex(sha256(formatEnvelope(release.envelope)))}"},` +
    `"payloadHash":{"algorithm":"sha256","value":"${formatHex(sha256(payload))}"},` +
    `"signatures":[{"signature":"${formatBase64(sig)}","verifier":"${formatBase64(toBytes(pem))}"}]}}`;
  assert.equal(toText(release.body), expected);
  const parsed = parseRekorDsseBody(release.body);
  assert.equal(parsed.verifierPem, pem);
  assert.deepEqual(formatRekorDsseBody(parsed), release.body);
});

test('rekorDsseBody refuses envelopes a Sigstore bundle cannot carry or the key did not sign', async () => {
  const release = await signRelease(statementFor('a', 'b'));
  const other = createSigner('other', generateKey('ed25519'));
  const twice = await signEnvelope(inTotoType, toBytes('{}'), [release.signer, other]);
  refuses(() => rekorDsseBody(twice, release.verifier), 'invalid-argument', /signatures/);
  refuses(() => rekorDsseBody(release.envelope, createVerifier('ed25519', other.publicKey)), 'bad-signature');
  const mlDsa = createSigner('pq', generateKey('ml-dsa-44'));
  const pqEnvelope = await signEnvelope(inTotoType, toBytes('{}'), [mlDsa]);
  refuses(() => rekorDsseBody(pqEnvelope, createVerifier('ml-dsa-44', mlDsa.publicKey)), 'invalid-argument');
});

test('parseRekorDsseBody accepts one spelling only', async () => {
  const release = await loggedRelease();
  const json = bodyJson(release);
  refuses(() => parseRekorDsseBody(toBytes(JSON.stringify(json, null, 1))), 'malformed', /^\$$/);
  refuses(() => parseRekorDsseBody(toBytes(JSON.stringify({ ...json, extra: 1 }))), 'malformed');
  refuses(
    () => parseRekorDsseBody(toBytes(JSON.stringify({ ...json, kind: 'hashedrekord' }))),
    'invalid-argument',
  );
  refuses(
    () => parseRekorDsseBody(toBytes(JSON.stringify({ ...json, apiVersion: '0.0.2' }))),
    'invalid-argument',
  );
  const spec = json['spec'] as Json;
  const sigs = spec['signatures'] as Json[];
  const withTwo = { ...json, spec: { ...spec, signatures: [sigs[0], sigs[0]] } };
  refuses(() => parseRekorDsseBody(toBytes(JSON.stringify(withTwo))), 'malformed', /spec\.signatures/);
  const upperHex = {
    ...json,
    spec: { ...spec, payloadHash: { algorithm: 'sha256', value: 'AB'.repeat(32) } },
  };
  refuses(() => parseRekorDsseBody(toBytes(JSON.stringify(upperHex))), 'malformed', /payloadHash\.value/);
  refuses(() => parseRekorDsseBody(new Uint8Array(64 * 1024 + 1)), 'too-large');
});

test('every field of the bundle is bound: tampering is refused with the field named', async () => {
  const release = await loggedRelease();
  const bytes = bundleOf(release);
  const otherKey = logKeyFor('another-log.example');
  const cases: [string, (b: Json, e: Json, p: Json, env: Json) => void, ErrorCode, RegExp][] = [
    [
      'media type v0.1',
      (b) => set(b, 'mediaType', 'application/vnd.dev.sigstore.bundle+json;version=0.1'),
      'invalid-argument',
      /mediaType/,
    ],
    [
      'hint',
      (b) => set(b['verificationMaterial'] as Json, 'publicKey', { hint: 'someone-else' }),
      'invalid-argument',
      /hint/,
    ],
    [
      'certificate',
      (b) => set(b['verificationMaterial'] as Json, 'certificate', { rawBytes: 'AAAA' }),
      'invalid-argument',
      /verificationMaterial/,
    ],
    [
      'message signature',
      (b) => {
        b['messageSignature'] = { signature: 'AAAA' };
        delete b['dsseEnvelope'];
      },
      'invalid-argument',
      /dsseEnvelope/,
    ],
    ['entry log index', (_b, e) => set(e, 'logIndex', '3'), 'bad-proof', /inclusionProof\.logIndex/],
    ['proof log index', (_b, _e, p) => set(p, 'logIndex', '3'), 'bad-proof', /inclusionProof\.logIndex/],
    [
      'both log indexes',
      (_b, e, p) => {
        e['logIndex'] = '3';
        p['logIndex'] = '3';
      },
      'bad-proof',
      /hashes/,
    ],
    ['log index not canonical', (_b, e) => set(e, 'logIndex', '02'), 'malformed', /logIndex/],
    [
      'log id',
      (_b, e) => set(e, 'logId', { keyId: formatBase64(sigstoreLogId(otherKey.vkey)) }),
      'policy-unmet',
      /logId/,
    ],
    [
      'kind',
      (_b, e) => set(e, 'kindVersion', { kind: 'hashedrekord', version: '0.0.1' }),
      'invalid-argument',
      /kindVersion/,
    ],
    ['integrated time', (_b, e) => set(e, 'integratedTime', 'soon'), 'malformed', /integratedTime/],
    [
      'root hash',
      (_b, _e, p) => set(p, 'rootHash', formatBase64(new Uint8Array(32))),
      'bad-proof',
      /rootHash/,
    ],
    ['tree size', (_b, _e, p) => set(p, 'treeSize', '6'), 'bad-proof', /rootHash/],
    [
      'a proof hash',
      (_b, _e, p) => set(p['hashes'], '0', formatBase64(new Uint8Array(32))),
      'bad-proof',
      /hashes/,
    ],
    ['a proof hash dropped', (_b, _e, p) => void (p['hashes'] as string[]).pop(), 'bad-proof', /hashes/],
    [
      'checkpoint size line',
      (_b, _e, p) => {
        const c = p['checkpoint'] as Json;
        c['envelope'] = (c['envelope'] as string).replace('\n5\n', '\n6\n');
      },
      'bad-signature',
      /checkpoint/,
    ],
    [
      'canonicalized body',
      (_b, e) => set(e, 'canonicalizedBody', formatBase64(toBytes(`${toText(release.body)} `))),
      'bad-proof',
      /hashes/,
    ],
    [
      'payload',
      (_b, _e, _p, env) => set(env, 'payload', formatBase64(toBytes('{"_type":"evil"}'))),
      'bad-signature',
      /dsseEnvelope/,
    ],
    [
      'payload type',
      (_b, _e, _p, env) => set(env, 'payloadType', 'text/plain'),
      'bad-signature',
      /dsseEnvelope/,
    ],
    [
      'signature',
      (_b, _e, _p, env) => {
        const sig = parseBase64(((env['signatures'] as Json[])[0] as Json)['sig'] as string);
        sig[0] = (sig[0] ?? 0) ^ 1;
        ((env['signatures'] as Json[])[0] as Json)['sig'] = formatBase64(sig);
      },
      'bad-signature',
      /dsseEnvelope/,
    ],
    [
      'keyid',
      (_b, _e, _p, env) => set((env['signatures'] as Json[])[0] as Json, 'keyid', 'another'),
      'invalid-argument',
      /hint/,
    ],
    [
      'second signature',
      (_b, _e, _p, env) => void (env['signatures'] as Json[]).push({ sig: 'AAAA' }),
      'invalid-argument',
      /dsseEnvelope\.signatures/,
    ],
    [
      'no entries',
      (b) => set(b['verificationMaterial'] as Json, 'tlogEntries', []),
      'malformed',
      /tlogEntries/,
    ],
    [
      'two entries',
      (b) => {
        const list = (b['verificationMaterial'] as Json)['tlogEntries'] as Json[];
        list.push(list[0] as Json);
      },
      'malformed',
      /tlogEntries/,
    ],
  ];
  for (const [name, change, code, field] of cases) {
    await test(name, () => refuses(() => verify(release, mutate(bytes, change)), code, field));
  }
  // Untouched, the JSON round trip still verifies (so each refusal above is the change's).
  verify(
    release,
    mutate(bytes, () => undefined),
  );
});

test('a logged body that does not bind the envelope or the key is refused', async () => {
  const release = await loggedRelease();
  const bytes = bundleOf(release);
  const spec = () => bodyJson(release)['spec'] as Json;
  const rebody = (change: (spec: Json) => void): Uint8Array => {
    const json = bodyJson(release);
    const s = spec();
    change(s);
    json['spec'] = s;
    return toBytes(JSON.stringify(json));
  };
  const otherPem = formatPublicKeyPem('ed25519', createSigner('x', generateKey('ed25519')).publicKey);
  const cases: [string, Uint8Array, ErrorCode, RegExp][] = [
    [
      'envelope hash',
      rebody((s) => set(s, 'envelopeHash', { algorithm: 'sha256', value: '00'.repeat(32) })),
      'bad-digest',
      /envelopeHash/,
    ],
    [
      'payload hash',
      rebody((s) => set(s, 'payloadHash', { algorithm: 'sha256', value: '00'.repeat(32) })),
      'bad-digest',
      /payloadHash/,
    ],
    [
      'signature',
      rebody((s) =>
        set(s, 'signatures', [
          {
            signature: formatBase64(new Uint8Array(64)),
            verifier: (s['signatures'] as Json[])[0]?.['verifier'],
          },
        ]),
      ),
      'bad-digest',
      /signature/,
    ],
    [
      'verifier key',
      rebody((s) =>
        set(s, 'signatures', [
          {
            signature: (s['signatures'] as Json[])[0]?.['signature'],
            verifier: formatBase64(toBytes(otherPem)),
          },
        ]),
      ),
      'policy-unmet',
      /verifier/,
    ],
    ['spacing', toBytes(JSON.stringify(bodyJson(release), null, 2)), 'malformed', /canonicalizedBody/],
    [
      'the envelope bytes themselves',
      formatEnvelope(release.envelope),
      'invalid-argument',
      /canonicalizedBody/,
    ],
  ];
  for (const [name, body, code, field] of cases) {
    const tampered = await withLoggedBody(release, bytes, body);
    await test(name, () => refuses(() => verify(release, tampered), code, field));
  }
  // The same substitution with the honest body verifies.
  verify(release, await withLoggedBody(release, bytes, release.body));
});

test('the wrong log key, the wrong signer and a proof for another entry are refused', async () => {
  const release = await loggedRelease();
  const bytes = bundleOf(release);
  const impostor = logKeyFor(release.log.origin); // same name, another key
  refuses(
    () => verifySigstoreBundle(bytes, { logKey: impostor.vkey, signer: release.verifier }),
    'policy-unmet',
    /logId/,
  );
  refuses(
    () => verifySigstoreBundle(bytes, { logKey: logKeyFor('other.example').vkey, signer: release.verifier }),
    'policy-unmet',
  );
  const stranger = createVerifier('ed25519', createSigner('s', generateKey('ed25519')).publicKey);
  refuses(() => verifySigstoreBundle(bytes, { logKey: release.log.vkey, signer: stranger }), 'bad-signature');
  refuses(
    () =>
      verifySigstoreBundle(bytes, {
        logKey: release.log.vkey,
        signer: release.verifier,
        payloadType: 'text/plain',
      }),
    'invalid-argument',
    /payloadType/,
  );

  const otherProof = await proveInTree(release.entries, 1, release.log);
  refuses(
    () =>
      buildSigstoreBundle({
        envelope: release.envelope,
        body: release.body,
        proof: otherProof,
        logKey: release.log.vkey,
        signer: release.verifier,
      }),
    'bad-proof',
  );
  const foreignLog = logKeyFor('foreign.example');
  const foreignProof = await proveInTree(release.entries, 2, foreignLog);
  refuses(
    () =>
      buildSigstoreBundle({
        envelope: release.envelope,
        body: release.body,
        proof: foreignProof,
        logKey: release.log.vkey,
        signer: release.verifier,
      }),
    'no-trusted-signature',
  );
  // A checkpoint by an impostor key of the log's name and a matching log ID claim.
  const impostorProof = await proveInTree(release.entries, 2, impostor);
  refuses(
    () =>
      buildSigstoreBundle({
        envelope: release.envelope,
        body: release.body,
        proof: impostorProof,
        logKey: release.log.vkey,
        signer: release.verifier,
      }),
    'no-trusted-signature',
  );

  const second = await loggedRelease('ed25519', release.log);
  refuses(
    () =>
      buildSigstoreBundle({
        envelope: release.envelope,
        body: second.body,
        proof: second.proof,
        logKey: release.log.vkey,
        signer: release.verifier,
      }),
    'bad-digest',
  );
  refuses(
    () =>
      buildSigstoreBundle({
        envelope: release.envelope,
        body: release.body,
        proof: release.proof,
        logKey: release.log.vkey,
        signer: release.verifier,
        keyHint: 'not-the-keyid',
      }),
    'invalid-argument',
    /keyHint/,
  );
  refuses(() => verify(release, new Uint8Array(maxBundleBytes + 1)), 'too-large');
});

test('an envelope without keyid takes the hint given', async () => {
  const signer = createSigner('release-key', generateKey('ed25519'));
  const verifier = createVerifier('ed25519', signer.publicKey);
  const envelope = await signEnvelope(inTotoType, statementFor('a', 'b'), [{ signer, keyid: '' }]);
  const body = rekorDsseBody(envelope, verifier);
  const log = logKeyFor();
  const proof = await proveInTree([body], 0, log);
  refuses(
    () => buildSigstoreBundle({ envelope, body, proof, logKey: log.vkey, signer: verifier }),
    'invalid-argument',
    /keyHint/,
  );
  const bytes = buildSigstoreBundle({
    envelope,
    body,
    proof,
    logKey: log.vkey,
    signer: verifier,
    keyHint: 'release-key',
  });
  assert.equal(verifySigstoreBundle(bytes, { logKey: log.vkey, signer: verifier }).keyHint, 'release-key');
});

test('the trusted root names the log by its note key ID, SPKI key and a base URL holding its name', async () => {
  const release = await loggedRelease();
  const root = JSON.parse(
    toText(buildTrustedRoot({ logKey: release.log.vkey, validFrom: '2026-01-01T00:00:00Z' })),
  ) as Json;
  assert.equal(root['mediaType'], trustedRootMediaType);
  const tlog = (root['tlogs'] as Json[])[0] as Json;
  assert.equal(tlog['baseUrl'], `https://${release.log.origin}`);
  assert.equal(tlog['hashAlgorithm'], 'SHA2_256');
  const logId = parseBase64((tlog['logId'] as Json)['keyId'] as string);
  assert.deepEqual(tlog['checkpointKeyId'], tlog['logId']);
  // The checkpoint's signature line starts with the log ID's first 4 bytes (the key hint).
  const note = parseNote(parseTlogProof(release.proof).checkpoint);
  assert.equal(note.signatures[0]?.keyId, Number.parseInt(formatHex(logId.subarray(0, 4)), 16));
  const publicKey = tlog['publicKey'] as Json;
  assert.equal(publicKey['keyDetails'], 'PKIX_ED25519');
  assert.deepEqual(publicKey['validFor'], { start: '2026-01-01T00:00:00Z' });
  assert.equal(parseBase64(publicKey['rawBytes'] as string).length, 44); // Ed25519 SPKI DER

  refuses(
    () =>
      buildTrustedRoot({
        logKey: release.log.vkey,
        baseUrl: 'https://elsewhere.example',
        validFrom: '2026-01-01T00:00:00Z',
      }),
    'invalid-argument',
    /baseUrl/,
  );
  refuses(
    () => buildTrustedRoot({ logKey: release.log.vkey, validFrom: '2026-01-01' }),
    'invalid-argument',
    /validFrom/,
  );
  const ecdsa = createSigner('ec-log', generateKey('ecdsa-p256'));
  const ecdsaVkey = formatVerifierKey({
    name: 'ec-log',
    type: signatureTypes.ecdsa,
    publicKey: ecdsa.publicKey,
  });
  refuses(() => buildTrustedRoot({ logKey: ecdsaVkey, validFrom: '2026-01-01T00:00:00Z' }), 'bad-key');
});
