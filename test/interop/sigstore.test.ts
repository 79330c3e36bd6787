/**
 * Interop: a release exported as a Sigstore bundle v0.3 with a trusted root for the Vouch release
 * log, verified by sigstore-js (`@sigstore/verify` 4.1.3, an independent implementation) and by
 * our own verifier. The log is a real Vouch log (sequencer and HTTP face) on 127.0.0.1: an in-toto
 * statement is signed as DSSE with Ed25519 (and ECDSA P-256), its Rekor dsse/0.0.1 body is appended
 * with the client's addAndProve among other entries, and the bundle is built from the C2SP
 * tlog-proof the client returns. The signer's public key reaches sigstore-js through the key
 * finder, as `verify-bundle --key` does; `timestampThreshold: 0`, since a Vouch log makes no SET
 * (docs/sigstore.md). Each attack — a tampered payload, the wrong log key, a proof for another
 * entry — must be refused by both verifiers.
 */

import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, test } from 'node:test';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import {
  Verifier as SigstoreVerifier,
  toSignedEntity,
  toTrustMaterial,
  VerificationError,
} from '@sigstore/verify';
import { addAndProve } from '../../src/clients/log/add.ts';
import {
  buildSigstoreBundle,
  buildTrustedRoot,
  verifySigstoreBundle,
} from '../../src/core/attest/sigstore.ts';
import { formatBase64, toBytes, toText } from '../../src/core/bytes/index.ts';
import { publicKeySpki } from '../../src/core/crypto/index.ts';
import { isVouchError } from '../../src/core/errors.ts';
import { createCheckpointVerifier } from '../../src/core/tlog/cosignature.ts';
import { parseTlogProof } from '../../src/core/tlog/proof.ts';
import { type MemoryLog, startMemoryLog } from '../support/memory-log.ts';
import { logKeyFor, type SignedRelease, signRelease, statementFor } from '../support/sigstore-fixture.ts';

let log: MemoryLog;
before(async () => {
  log = await startMemoryLog('release-log.vouch.example');
});
after(() => log.close());

interface Exported {
  readonly release: SignedRelease;
  readonly bundle: Uint8Array;
  readonly trustedRoot: Uint8Array;
  readonly proof: Uint8Array;
  readonly index: bigint;
}

/** exportRelease signs a statement, logs its body on the real log (after `before` other entries) and exports it. */
async function exportRelease(name: string, keyType: 'ed25519' | 'ecdsa-p256', before = 0): Promise<Exported> {
  const logKey = createCheckpointVerifier(log.vkey);
  for (let i = 0; i < before; i++) await addAndProve(log.url, toBytes(`${name}-filler-${i}`), { logKey });
  const release = await signRelease(statementFor(name, `${name} bytes`), keyType);
  const logged = await addAndProve(log.url, release.body, { logKey });
  const bundle = buildSigstoreBundle({
    envelope: release.envelope,
    body: release.body,
    proof: logged.proof,
    logKey: log.vkey,
    signer: release.verifier,
  });
  const trustedRoot = buildTrustedRoot({ logKey: log.vkey, validFrom: '2026-01-01T00:00:00Z' });
  return { release, bundle, trustedRoot, proof: logged.proof, index: logged.ack.index };
}

/** sigstoreVerify runs @sigstore/verify on the bundle with the trusted root and the signer key by hint. */
function sigstoreVerify(bundle: Uint8Array, trustedRoot: Uint8Array, release: SignedRelease): void {
  const keyDetails =
    release.signer.keyType === 'ed25519'
      ? PublicKeyDetails.PKIX_ED25519
      : PublicKeyDetails.PKIX_ECDSA_P256_SHA_256;
  const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(toText(trustedRoot))), {
    [release.signer.keyId]: {
      rawBytes: Buffer.from(publicKeySpki(release.signer.keyType, release.signer.publicKey)),
      keyDetails,
      validFor: undefined,
    },
  });
  const verifier = new SigstoreVerifier(trust, {
    tlogThreshold: 1,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(toText(bundle)))));
}

function ours(bundle: Uint8Array, release: SignedRelease, logVkey = log.vkey) {
  return verifySigstoreBundle(bundle, { logKey: logVkey, signer: release.verifier });
}

function sigstoreRefuses(fn: () => void, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(
      error instanceof VerificationError,
      `expected a sigstore VerificationError, got ${String(error)}`,
    );
    assert.equal(error.code, code, error.message);
    return true;
  });
}

function oursRefuses(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isVouchError(error), String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

test('sigstore-js verifies an exported release (Ed25519 and ECDSA P-256 signers), and so do we', async () => {
  for (const [keyType, fillers] of [
    ['ed25519', 3],
    ['ecdsa-p256', 2],
  ] as const) {
    const exported = await exportRelease(`agent-${keyType}`, keyType, fillers);
    assert.ok(
      exported.index >= BigInt(fillers),
      'the release is not the first entry, so the proof has hashes',
    );
    sigstoreVerify(exported.bundle, exported.trustedRoot, exported.release);
    const verified = ours(exported.bundle, exported.release);
    assert.equal(verified.logIndex, exported.index);
    assert.deepEqual(verified.payload, statementFor(`agent-${keyType}`, `agent-${keyType} bytes`));
    // Re-serialized by sigstore-js's own proto3 JSON writer (which drops zero values), it still verifies.
    const reserialized = toBytes(
      JSON.stringify(bundleToJSON(bundleFromJSON(JSON.parse(toText(exported.bundle))))),
    );
    assert.equal(ours(reserialized, exported.release).logIndex, exported.index);
  }
});

test("sigstore-js's default timestamp threshold needs a time source a Vouch log does not give", async () => {
  const { release, bundle, trustedRoot } = await exportRelease('timestamps', 'ed25519');
  const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(toText(trustedRoot))), () => ({
    publicKey: createPublicKey({
      key: Buffer.from(publicKeySpki('ed25519', release.signer.publicKey)),
      format: 'der',
      type: 'spki',
    }),
    validFor: () => true,
  }));
  const entity = toSignedEntity(bundleFromJSON(JSON.parse(toText(bundle))));
  sigstoreRefuses(() => new SigstoreVerifier(trust).verify(entity), 'TIMESTAMP_ERROR');
  new SigstoreVerifier(trust, { ctlogThreshold: 0, timestampThreshold: 0 }).verify(entity);
});

test('a tampered payload is refused by sigstore-js and by us', async () => {
  const { release, bundle, trustedRoot } = await exportRelease('tamper', 'ed25519', 1);
  const json = JSON.parse(toText(bundle)) as { dsseEnvelope: { payload: string } };
  json.dsseEnvelope.payload = formatBase64(statementFor('tamper', 'evil bytes'));
  const tampered = toBytes(JSON.stringify(json));
  sigstoreRefuses(() => sigstoreVerify(tampered, trustedRoot, release), 'TLOG_BODY_ERROR');
  oursRefuses(() => ours(tampered, release), 'bad-signature');
});

test('a trusted root for another log key is refused by sigstore-js and by us', async () => {
  const { release, bundle } = await exportRelease('wrong-log', 'ed25519');
  // Same name as the real log, another key: the checkpoint's key hint and signature do not match.
  const impostor = logKeyFor(log.origin);
  const otherRoot = buildTrustedRoot({ logKey: impostor.vkey, validFrom: '2026-01-01T00:00:00Z' });
  sigstoreRefuses(() => sigstoreVerify(bundle, otherRoot, release), 'TLOG_INCLUSION_PROOF_ERROR');
  oursRefuses(() => ours(bundle, release, impostor.vkey), 'policy-unmet');
  // A bundle whose entry claims the impostor's log ID (so sigstore-js picks that log) still fails its checkpoint.
  const json = JSON.parse(toText(bundle)) as {
    verificationMaterial: { tlogEntries: { logId: { keyId: string } }[] };
  };
  const rootJson = JSON.parse(toText(otherRoot)) as { tlogs: { logId: { keyId: string } }[] };
  const entry = json.verificationMaterial.tlogEntries[0];
  const otherId = rootJson.tlogs[0]?.logId.keyId;
  assert.ok(entry !== undefined && otherId !== undefined);
  entry.logId.keyId = otherId;
  const relabelled = toBytes(JSON.stringify(json));
  sigstoreRefuses(() => sigstoreVerify(relabelled, otherRoot, release), 'TLOG_INCLUSION_PROOF_ERROR');
  oursRefuses(() => ours(relabelled, release, impostor.vkey), 'no-trusted-signature');
});

test('a proof for another entry is refused by sigstore-js and by us', async () => {
  const first = await exportRelease('first', 'ed25519', 1);
  const second = await exportRelease('second', 'ed25519', 1);
  // The first release's envelope and body with the second entry's inclusion proof and index.
  const a = JSON.parse(toText(first.bundle)) as {
    verificationMaterial: { tlogEntries: Record<string, unknown>[] };
  };
  const b = JSON.parse(toText(second.bundle)) as {
    verificationMaterial: { tlogEntries: Record<string, unknown>[] };
  };
  const entryA = a.verificationMaterial.tlogEntries[0];
  const entryB = b.verificationMaterial.tlogEntries[0];
  assert.ok(entryA !== undefined && entryB !== undefined);
  entryA['inclusionProof'] = entryB['inclusionProof'];
  entryA['logIndex'] = entryB['logIndex'];
  const swapped = toBytes(JSON.stringify(a));
  sigstoreRefuses(
    () => sigstoreVerify(swapped, first.trustedRoot, first.release),
    'TLOG_INCLUSION_PROOF_ERROR',
  );
  oursRefuses(() => ours(swapped, first.release), 'bad-proof');
  // And the exporter refuses to build it in the first place.
  oursRefuses(
    () =>
      buildSigstoreBundle({
        envelope: first.release.envelope,
        body: first.release.body,
        proof: second.proof,
        logKey: log.vkey,
        signer: first.release.verifier,
      }),
    'bad-proof',
  );
});

test('what sigstore-js does not check, we do: a logged body naming another signer key', async () => {
  // sigstore-js compares only the signature and payload hash of a dsse/0.0.1 body; the body's
  // verifier key and envelope hash are ours to check (docs/sigstore.md).
  const exported = await exportRelease('verifier-swap', 'ed25519');
  const { release, trustedRoot } = exported;
  const other = await signRelease(statementFor('x', 'y'));
  const body = JSON.parse(toText(release.body)) as { spec: { signatures: { verifier: string }[] } };
  const otherBody = JSON.parse(toText(other.body)) as { spec: { signatures: { verifier: string }[] } };
  const sig = body.spec.signatures[0];
  const otherSig = otherBody.spec.signatures[0];
  assert.ok(sig !== undefined && otherSig !== undefined);
  sig.verifier = otherSig.verifier;
  const swappedBody = toBytes(JSON.stringify(body));
  const logged = await addAndProve(log.url, swappedBody, { logKey: createCheckpointVerifier(log.vkey) });
  const bundle = JSON.parse(toText(exported.bundle)) as {
    verificationMaterial: { tlogEntries: Record<string, unknown>[] };
  };
  const entry = bundle.verificationMaterial.tlogEntries[0];
  assert.ok(entry !== undefined);
  const proof = parseTlogProof(logged.proof);
  const checkpoint = toText(proof.checkpoint);
  const checkpointLines = checkpoint.split('\n');
  entry['logIndex'] = String(proof.index);
  entry['canonicalizedBody'] = formatBase64(swappedBody);
  entry['inclusionProof'] = {
    logIndex: String(proof.index),
    rootHash: checkpointLines[2],
    treeSize: checkpointLines[1],
    hashes: proof.proof.map((hash) => formatBase64(hash)),
    checkpoint: { envelope: checkpoint },
  };
  const forged = toBytes(JSON.stringify(bundle));
  sigstoreVerify(forged, trustedRoot, release); // accepted by sigstore-js
  oursRefuses(() => ours(forged, release), 'policy-unmet');
});
