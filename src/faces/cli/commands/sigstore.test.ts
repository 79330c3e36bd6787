/**
 * `vouch sigstore` in-process against a real log on 127.0.0.1: `body --log` appends the Rekor
 * dsse body and writes its tlog-proof, `export` writes the bundle and trusted root (which
 * sigstore-js accepts), `verify` prints what the bundle proves, and bad inputs exit with the
 * documented codes. The command is run directly, so the test does not depend on the command table.
 */

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier as SigstoreVerifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { runCommand } from '../../../../test/support/cli.ts';
import { type MemoryLog, startMemoryLog } from '../../../../test/support/memory-log.ts';
import { logKeyFor, signRelease, statementFor } from '../../../../test/support/sigstore-fixture.ts';
import { formatEnvelope } from '../../../core/attest/dsse.ts';
import { formatHex, toText } from '../../../core/bytes/index.ts';
import { publicKeySpki, sha256 } from '../../../core/crypto/index.ts';
import { formatVerifierKey, signatureTypes } from '../../../core/note/index.ts';
import { exitCodes } from '../io.ts';
import { sigstoreCommand } from './sigstore.ts';

let work: string;
let log: MemoryLog;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'vouch-sigstore-cli-'));
  log = await startMemoryLog('release-log.vouch.example');
});
after(async () => {
  await log.close();
  await rm(work, { recursive: true, force: true });
});

const vouch = (...args: string[]) => runCommand(sigstoreCommand, args);

test('body --log, export --trusted-root and verify, end to end; sigstore-js accepts the files', async () => {
  const statement = statementFor('vouch-agent-2.0.0.tar', 'agent bytes');
  const release = await signRelease(statement);
  const envelopePath = join(work, 'provenance.dsse.json');
  await writeFile(envelopePath, formatEnvelope(release.envelope));
  const signerVkey = formatVerifierKey({
    name: 'release-key',
    type: signatureTypes.ed25519,
    publicKey: release.signer.publicKey,
  });

  const body = await vouch(
    'body',
    '--envelope',
    envelopePath,
    '--signer-vkey',
    signerVkey,
    '--log',
    log.url,
    '--log-vkey',
    log.vkey,
  );
  assert.equal(body.code, exitCodes.ok, body.stderr);
  const bodyPath = `${envelopePath}.rekor.json`;
  assert.deepEqual(new Uint8Array(await readFile(bodyPath)), release.body);
  assert.match(
    body.stdout,
    new RegExp(`^body ${bodyPath} sha256 ${formatHex(sha256(release.body))}\nlogged index 0 in \\d+ ms\n$`),
  );

  const bundlePath = join(work, 'release.sigstore.json');
  const rootPath = join(work, 'trusted_root.json');
  const exported = await vouch(
    'export',
    '--envelope',
    envelopePath,
    '--body',
    bodyPath,
    '--signer-vkey',
    signerVkey,
    '--log-vkey',
    log.vkey,
    '--out',
    bundlePath,
    '--trusted-root',
    rootPath,
    '--valid-from',
    '2026-01-01T00:00:00Z',
  );
  assert.equal(exported.code, exitCodes.ok, exported.stderr);
  assert.equal(exported.stdout, `bundle ${bundlePath}\ntrusted-root ${rootPath}\n`);

  const payloadPath = join(work, 'payload.json');
  const verified = await vouch(
    'verify',
    '--bundle',
    bundlePath,
    '--signer-vkey',
    signerVkey,
    '--log-vkey',
    log.vkey,
    '--payload-out',
    payloadPath,
    '--payload-type',
    'application/vnd.in-toto+json',
  );
  assert.equal(verified.code, exitCodes.ok, verified.stderr);
  assert.deepEqual(JSON.parse(verified.stdout), {
    origin: log.origin,
    index: '0',
    size: '1',
    payloadType: 'application/vnd.in-toto+json',
    payloadSha256: formatHex(sha256(statement)),
    keyHint: release.signer.keyId,
  });
  assert.deepEqual(new Uint8Array(await readFile(payloadPath)), statement);

  // The same files, as a Sigstore user would check them.
  const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(toText(await readFile(rootPath)))), {
    [release.signer.keyId]: {
      rawBytes: Buffer.from(publicKeySpki('ed25519', release.signer.publicKey)),
      keyDetails: PublicKeyDetails.PKIX_ED25519,
      validFor: undefined,
    },
  });
  const bundle = bundleFromJSON(JSON.parse(toText(await readFile(bundlePath))));
  new SigstoreVerifier(trust, { ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));

  // Refusals: another log key (exit 1), a tampered bundle (exit 1), a missing flag (exit 2).
  const other = logKeyFor(log.origin);
  const wrongLog = await vouch(
    'verify',
    '--bundle',
    bundlePath,
    '--signer-vkey',
    signerVkey,
    '--log-vkey',
    other.vkey,
  );
  assert.equal(wrongLog.code, exitCodes.verificationFailed);
  assert.match(wrongLog.stderr, /another log/);
  const tamperedPath = join(work, 'tampered.json');
  const json = JSON.parse(toText(await readFile(bundlePath))) as { dsseEnvelope: { payloadType: string } };
  json.dsseEnvelope.payloadType = 'text/plain';
  await writeFile(tamperedPath, JSON.stringify(json));
  const tampered = await vouch(
    'verify',
    '--bundle',
    tamperedPath,
    '--signer-vkey',
    signerVkey,
    '--log-vkey',
    log.vkey,
  );
  assert.equal(tampered.code, exitCodes.verificationFailed);
  assert.match(tampered.stderr, /does not verify under the trusted signer key/);
  const missing = await vouch(
    'export',
    '--envelope',
    envelopePath,
    '--body',
    bodyPath,
    '--log-vkey',
    log.vkey,
    '--out',
    bundlePath,
  );
  assert.equal(missing.code, exitCodes.usage);
  assert.match(missing.stderr, /--signer-vkey/);
  const proofForOther = await vouch(
    'export',
    '--envelope',
    envelopePath,
    '--body',
    bodyPath,
    '--proof',
    `${bodyPath}.missing`,
    '--signer-vkey',
    signerVkey,
    '--log-vkey',
    log.vkey,
    '--out',
    join(work, 'never.json'),
  );
  assert.equal(proofForOther.code, exitCodes.unavailable); // ENOENT: the proof file is not there
  await assert.rejects(readFile(join(work, 'never.json')));
});

test('export refuses a body for another envelope and writes nothing', async () => {
  const a = await signRelease(statementFor('a', 'a'));
  const b = await signRelease(statementFor('b', 'b'));
  const dir = await mkdtemp(join(work, 'mismatch-'));
  const envelopePath = join(dir, 'a.dsse.json');
  await writeFile(envelopePath, formatEnvelope(a.envelope));
  const vkeyA = formatVerifierKey({ name: 'a', type: signatureTypes.ed25519, publicKey: a.signer.publicKey });
  const vkeyB = formatVerifierKey({ name: 'b', type: signatureTypes.ed25519, publicKey: b.signer.publicKey });
  const bEnvelope = join(dir, 'b.dsse.json');
  await writeFile(bEnvelope, formatEnvelope(b.envelope));
  const logged = await vouch(
    'body',
    '--envelope',
    bEnvelope,
    '--signer-vkey',
    vkeyB,
    '--log',
    log.url,
    '--log-vkey',
    log.vkey,
  );
  assert.equal(logged.code, exitCodes.ok, logged.stderr);
  const out = join(dir, 'bundle.json');
  const result = await vouch(
    'export',
    '--envelope',
    envelopePath,
    '--body',
    `${bEnvelope}.rekor.json`,
    '--signer-vkey',
    vkeyA,
    '--log-vkey',
    log.vkey,
    '--out',
    out,
  );
  assert.equal(result.code, exitCodes.verificationFailed, result.stderr);
  assert.match(result.stderr, /signature is not the envelope's/);
  await assert.rejects(readFile(out));
  // The body command checks the signer: B's envelope is not A's key's.
  const wrongSigner = await vouch(
    'body',
    '--envelope',
    bEnvelope,
    '--signer-vkey',
    vkeyA,
    '--out',
    join(dir, 'x.json'),
  );
  assert.equal(wrongSigner.code, exitCodes.verificationFailed);
  const help = await vouch('verify', '--help');
  assert.equal(help.code, exitCodes.ok);
  assert.match(help.stdout, /vouch sigstore export/);
});
