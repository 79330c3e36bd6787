/**
 * Interop: the conveyer's DSSE envelopes (build provenance and rebuild attestation) checked by an
 * independent implementation in Python. Debian's in-toto 1.3.1 cannot help here: its
 * `in-toto-verify` and `Metablock` read only the legacy link/layout metadata, with no DSSE
 * envelope or Statement v1 support. So the signatures are checked with python3-securesystemslib's
 * `SSlibKey.verify_signature` over the DSSE pre-authentication encoding (written from the DSSE
 * protocol text, as securesystemslib 0.26 has no DSSE module), and the in-toto Statement's
 * subjects are checked against files on disk with Python's hashlib. Skipped when
 * python3-securesystemslib or bubblewrap is missing, except on CI (env CI), where it fails.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { formatHex } from '../../src/core/bytes/index.ts';
import { createSigner, createVerifier, generateKey } from '../../src/core/crypto/index.ts';
import { buildOutputNames, runBuild } from '../../src/services/conveyer/build.ts';
import { rebuildAttestationName, runRebuild } from '../../src/services/conveyer/rebuild.ts';
import { probeSandbox } from '../../src/services/conveyer/sandbox.ts';

const python = '/usr/bin/python3';
// Verifies the one signature of the envelope argv[1] with the Ed25519 key (keyid argv[2], hex
// argv[3]), requires an in-toto Statement v1, and checks each NAME=PATH pair in argv[4:]: the
// subject NAME has the SHA-256 of the file PATH. Prints the predicate type and result.
const script = `
import base64, hashlib, json, sys
from securesystemslib.signer import SSlibKey, Signature
env = json.load(open(sys.argv[1]))
key = SSlibKey(sys.argv[2], 'ed25519', 'ed25519', {'public': sys.argv[3]})
payload = base64.b64decode(env['payload'], validate=True)
t = env['payloadType'].encode()
assert env['payloadType'] == 'application/vnd.in-toto+json', env['payloadType']
pae = b'DSSEv1 %d %s %d %s' % (len(t), t, len(payload), payload)
assert len(env['signatures']) == 1
for s in env['signatures']:
    key.verify_signature(Signature(s['keyid'], base64.b64decode(s['sig']).hex()), pae)
st = json.loads(payload)
assert st['_type'] == 'https://in-toto.io/Statement/v1', st['_type']
subjects = {s['name']: s['digest']['sha256'] for s in st['subject']}
for pair in sys.argv[4:]:
    name, path = pair.split('=', 1)
    assert subjects[name] == hashlib.sha256(open(path, 'rb').read()).hexdigest(), name
print(st['predicateType'], st['predicate'].get('result', '-'))
`;

function missingPython(): string | false {
  try {
    execFileSync(python, ['-c', 'import securesystemslib.signer'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'python3-securesystemslib is not installed for /usr/bin/python3';
  }
}

const probe = await probeSandbox();
const reason =
  missingPython() || (probe.isolation === 'bwrap' ? false : `no bwrap isolation (${probe.notes.join('; ')})`);
// On CI both are installed by .ci/run, so a missing one there is a failure, never a skip.
const skip = reason !== false && !process.env.CI ? reason : false;

const work = mkdtempSync(join(tmpdir(), 'vouch-in-toto-'));
after(() => rmSync(work, { recursive: true, force: true }));

function check(envelope: string, keyId: string, publicKey: Uint8Array, subjects: string[]): string {
  return execFileSync(python, ['-c', script, envelope, keyId, formatHex(publicKey), ...subjects], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('securesystemslib verifies the provenance and the rebuild attestation', { skip }, async () => {
  assert.equal(reason, false, `required on CI: ${reason}`);
  const builderKey = generateKey('ed25519');
  const builder = createSigner('ch-zrh', builderKey);
  const rebuilderKey = generateKey('ed25519');
  const rebuilder = createSigner('de-ber', rebuilderKey);
  const source = join(work, 'src');
  cpSync(resolve(import.meta.dirname, '../../examples/hello'), source, { recursive: true });
  const out = join(work, 'build');
  const built = await runBuild({
    recipePath: join(source, 'recipe.json'),
    sourceDir: source,
    outDir: out,
    signer: builder,
    builderId: 'https://vouch.example/builders/ch-zrh',
    sourceDateEpoch: 1_700_000_000,
    probe,
  });
  const provenancePath = join(out, buildOutputNames.provenance);
  assert.equal(
    check(provenancePath, builder.keyId, builder.publicKey, [
      `${built.archiveName}=${join(out, built.archiveName)}`,
    ]),
    'https://slsa.dev/provenance/v1 -\n',
  );

  const rebuilt = await runRebuild({
    provenancePath,
    builderKeys: [createVerifier('ed25519', builderKey.publicKey)],
    sourceDir: source,
    outDir: join(work, 'rebuild'),
    signer: rebuilder,
    rebuilderId: 'https://vouch.example/rebuilders/de-ber',
    probe,
  });
  const attestation = join(work, 'rebuild', rebuildAttestationName);
  assert.equal(
    check(attestation, rebuilder.keyId, rebuilder.publicKey, [`provenance.dsse.json=${provenancePath}`]),
    `https://vouch.example/attestations/rebuild/v1 ${rebuilt.result}\n`,
  );

  // The independent verifier refuses the wrong key and a changed payload.
  assert.throws(() => check(attestation, builder.keyId, builder.publicKey, []));
  const envelope = JSON.parse(readFileSync(attestation, 'utf8'));
  const payload = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  payload.predicate.result = 'mismatch';
  envelope.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
  writeFileSync(attestation, JSON.stringify(envelope));
  assert.throws(() => check(attestation, rebuilder.keyId, rebuilder.publicKey, []));
});
