/**
 * Sigstore interop for releases: a DSSE-signed attestation (build provenance) logged in a Vouch
 * log, exported as a Sigstore bundle v0.3 (sigstore/protobuf-specs `dev.sigstore.bundle.v1.Bundle`,
 * proto3 JSON) with a trusted root (`dev.sigstore.trustroot.v1.TrustedRoot`) that names the Vouch
 * log, so that sigstore-js (`@sigstore/verify`) verifies it with the signer's public key supplied
 * out of band; and our own verifier for such bundles, so no Vouch verifier depends on sigstore-js.
 *
 * What is logged. A Sigstore verifier reads the log entry (`canonicalizedBody`, whose RFC 6962 leaf
 * hash the inclusion proof starts from) as a Rekor entry body of a known kind, and compares it with
 * the bundle's envelope; sigstore-js 4.1.3 (`verify/dist/tlog/index.js`) parses it as JSON and
 * refuses anything whose `kind`/`apiVersion` is not `dsse` 0.0.1/0.0.2, `intoto` 0.0.2 or
 * `hashedrekord` 0.0.1/0.0.2 — so the envelope's own bytes, which `vouch build --log` logs, can
 * never verify there. A Sigstore-exportable release therefore logs the Rekor `dsse`/`0.0.1` body of
 * its envelope ({@link rekorDsseBody}): canonical JSON (sorted keys, no whitespace) of
 * `{"apiVersion":"0.0.1","kind":"dsse","spec":{"envelopeHash":{..sha256 hex..},
 * "payloadHash":{..},"signatures":[{"signature":b64,"verifier":b64(PEM)}]}}`. It is chosen over
 * the alternatives because: `envelopeHash` is the SHA-256 of the envelope's exact Vouch encoding
 * (`formatEnvelope`, the bytes of `provenance.dsse.json`), so the entry commits to everything the
 * envelope-bytes entry did; it keeps Ed25519 signers (Rekor v2 `hashedrekord` of a DSSE envelope
 * hashes the PAE, which needs Ed25519ph or ECDSA); and it names the signer key, so a monitor of the
 * log sees which key signed each release. `intoto`/0.0.2 would also do but double-encodes the
 * envelope for no gain. Rekor itself hashes the envelope JSON as submitted; ours is the canonical
 * Vouch spelling, which is what Vouch submits. The body is at most {@link maxRekorBodyBytes}.
 *
 * What sigstore-js checks, and what it does not (read from 4.1.3): for a `dsse`/`0.0.1` body only
 * that there is one signature, equal to the envelope's, and that `payloadHash` is the payload's
 * SHA-256 — not `envelopeHash`, and not that `verifier` is the key that verified the signature;
 * for the inclusion proof, that the entry's `logId` equals a trusted log's `checkpointKeyId` (else
 * `logId`), that ANY checkpoint signature line whose 4-byte key hint matches it and whose key name
 * is a substring of the log's `baseUrl` verifies, and that the proof leads from the body's leaf hash
 * to the checkpoint's root at the checkpoint's size — it ignores `inclusionProof.rootHash` and
 * `treeSize`. Time: an entry yields a timestamp only with an `inclusionPromise` (a Rekor v1 SET,
 * which a Vouch log does not make), so `integratedTime` is "0" and a verifier must set
 * `timestampThreshold: 0` — acceptable for a long-lived public key, which has no validity window
 * to check a time against. {@link verifySigstoreBundle} checks all of the above and what
 * sigstore-js skips: the full body (every field, and its canonical bytes), the verifier PEM against
 * the trusted signer key, the envelope hash, the proof's root hash and tree size against the
 * checkpoint, the hint against the envelope's keyid, and that the checkpoint is signed by the log
 * key named like its origin. Witness cosignatures on the checkpoint are carried through and
 * returned, unchecked: a quorum policy is the caller's (core/tlog/quorum.ts), as sigstore-js
 * ignores them.
 *
 * Keys: the signer is Ed25519 or ECDSA P-256 (DER signatures), the algorithms Sigstore's
 * `PublicKeyDetails` define stably; the log key is a signed-note Ed25519 vkey (type 0x01), whose
 * full 32-byte note key ID `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)` is both the bundle's `logId` and the
 * trusted root's `logId`/`checkpointKeyId` — its first 4 bytes are the key hint in the checkpoint's
 * signature line, as for Sigstore's own Ed25519 logs. This module is pure: callers read files and
 * supply times.
 */

import {
  equalBytes,
  formatBase64,
  formatHex,
  parseBase64,
  parseDecimal,
  parseHex,
  toBytes,
  toText,
} from '../bytes/index.ts';
import { formatPublicKeyPem, publicKeySpki, sha256, type Verifier } from '../crypto/index.ts';
import { isVouchError, tooLarge, VouchError } from '../errors.ts';
import {
  formatJson,
  isJsonArray,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseJson,
} from '../json/index.ts';
import { leafHash, maxInclusionProofLength } from '../merkle/index.ts';
import {
  createNoteVerifier,
  type OpenedNote,
  parseNote,
  parseVerifierKey,
  signatureTypes,
  type VerifierKey,
  verifierSet,
} from '../note/index.ts';
import { type Checkpoint, parseCheckpoint } from '../tlog/checkpoint.ts';
import { checkTlogProof, maxTlogProofBytes, parseTlogProof, type TlogProof } from '../tlog/proof.ts';
import { type Envelope, envelopeFromJson, envelopeToJson, formatEnvelope, verifyEnvelope } from './dsse.ts';

/** bundleMediaType is the media type of the bundles {@link buildSigstoreBundle} writes. */
export const bundleMediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/**
 * acceptedBundleMediaTypes are the media types {@link verifySigstoreBundle} reads: v0.3 in both
 * spellings, and v0.2, which has the same shape for a public-key bundle. v0.1 bundles carry only
 * inclusion promises, which a Vouch log does not make.
 */
export const acceptedBundleMediaTypes: readonly string[] = Object.freeze([
  bundleMediaType,
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
]);

/** trustedRootMediaType is the trusted root version that defines `checkpointKeyId`. */
export const trustedRootMediaType = 'application/vnd.dev.sigstore.trustedroot.v0.2+json';

/** rekorDsseKind and rekorDsseVersion name the Rekor entry type a Sigstore-exportable release logs. */
export const rekorDsseKind = 'dsse';
export const rekorDsseVersion = '0.0.1';

/** maxRekorBodyBytes bounds a log entry body: one signature and one PEM key fit in 2 KiB. */
export const maxRekorBodyBytes = 64 * 1024;

/** maxBundleBytes bounds a bundle: a 4 MiB envelope in base64, the body and a proof fit. */
export const maxBundleBytes = 8 << 20;

/** maxKeyHintLength bounds the public-key hint (and the envelope keyid it must equal). */
export const maxKeyHintLength = 256;

/** RekorDsseBody is a parsed `dsse`/`0.0.1` entry body with one signature. */
export interface RekorDsseBody {
  /** envelopeHash is the SHA-256 of the envelope's Vouch encoding. */
  readonly envelopeHash: Uint8Array;
  /** payloadHash is the SHA-256 of the DSSE payload. */
  readonly payloadHash: Uint8Array;
  readonly signature: Uint8Array;
  /** verifierPem is the signer's public key as a PEM "PUBLIC KEY" block. */
  readonly verifierPem: string;
}

/**
 * rekorDsseBody returns the canonical `dsse`/`0.0.1` body bytes to log for `envelope`, which must
 * carry exactly one signature, made by `signer` (Ed25519 or ECDSA P-256). It checks the signature
 * first — no body is made for an envelope the named key did not sign — and throws
 * `invalid-argument` for another signature count or key type, `bad-signature` when the signature
 * does not verify.
 */
export function rekorDsseBody(envelope: Envelope, signer: Verifier): Uint8Array {
  const payload = verifiedPayload(envelope, signer);
  return formatRekorDsseBody({
    envelopeHash: sha256(formatEnvelope(envelope)),
    payloadHash: sha256(payload),
    signature: onlySignature(envelope).sig,
    verifierPem: signerPem(signer),
  });
}

/** formatRekorDsseBody spells a body in its one canonical form (sorted keys, no whitespace). */
export function formatRekorDsseBody(body: RekorDsseBody): Uint8Array {
  return formatJson({
    apiVersion: rekorDsseVersion,
    kind: rekorDsseKind,
    spec: {
      envelopeHash: { algorithm: 'sha256', value: formatHex(body.envelopeHash) },
      payloadHash: { algorithm: 'sha256', value: formatHex(body.payloadHash) },
      signatures: [
        { signature: formatBase64(body.signature), verifier: formatBase64(toBytes(body.verifierPem)) },
      ],
    },
  });
}

/**
 * parseRekorDsseBody reads a `dsse`/`0.0.1` body with exactly one signature, or throws
 * `too-large` over {@link maxRekorBodyBytes}, `invalid-argument` for another kind or version, and
 * `malformed` naming the field for anything else, including a body that is not in the canonical
 * spelling {@link formatRekorDsseBody} gives (so one entry has one spelling).
 */
export function parseRekorDsseBody(bytes: Uint8Array): RekorDsseBody {
  if (bytes.length > maxRekorBodyBytes) throw tooLarge('Rekor dsse entry body', maxRekorBodyBytes);
  const value = parseJson(bytes, { maxBytes: maxRekorBodyBytes });
  const root = object(value, '$', bodyWhat);
  if (root['kind'] !== rekorDsseKind || root['apiVersion'] !== rekorDsseVersion) {
    throw new VouchError(
      'invalid-argument',
      `the log entry is not a Rekor ${rekorDsseKind}/${rekorDsseVersion} body`,
      {
        field: 'kind',
      },
    );
  }
  const spec = object(root['spec'], 'spec', bodyWhat);
  const signatures = spec['signatures'];
  if (!isJsonArray(signatures) || signatures.length !== 1) {
    throw bad('it must carry exactly one signature', 'spec.signatures', bodyWhat);
  }
  const entry = object(signatures[0], 'spec.signatures[0]', bodyWhat);
  const pemBytes = base64Field(entry, 'verifier', 'spec.signatures[0]', 4096, bodyWhat);
  const body: RekorDsseBody = Object.freeze({
    envelopeHash: sha256Field(spec, 'envelopeHash'),
    payloadHash: sha256Field(spec, 'payloadHash'),
    signature: base64Field(entry, 'signature', 'spec.signatures[0]', 4096, bodyWhat),
    verifierPem: toText(pemBytes, 'verifier PEM'),
  });
  if (!equalBytes(formatRekorDsseBody(body), bytes)) {
    throw bad('not in canonical form (an unknown field, key order or spacing)', '$', bodyWhat);
  }
  return body;
}

/** LogKeyInput is the release log's key: a signed-note vkey string or a parsed one. */
export type LogKeyInput = string | VerifierKey;

/**
 * sigstoreLogId returns the 32-byte log ID Sigstore files use for a Vouch log key: the full
 * signed-note key ID hash SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). It throws `bad-key` for a key
 * that is not an Ed25519 note key (type 0x01).
 */
export function sigstoreLogId(logKey: LogKeyInput): Uint8Array {
  const key = ed25519LogKey(logKey);
  return sha256(toBytes(key.name), Uint8Array.of(0x0a, key.type), key.publicKey);
}

/** TrustedRootInput describes the release log for {@link buildTrustedRoot}. */
export interface TrustedRootInput {
  readonly logKey: LogKeyInput;
  /**
   * baseUrl is the log's URL; it must contain the key name (the checkpoint origin), which is how
   * sigstore-js matches a checkpoint signature to the log. Default: `https://<key name>`.
   */
  readonly baseUrl?: string;
  /** validFrom is when the log key came into use, RFC 3339 UTC (`2026-01-01T00:00:00Z`). */
  readonly validFrom: string;
  /** operator optionally names who runs the log (trusted root v0.2). */
  readonly operator?: string;
}

/**
 * buildTrustedRoot returns trusted_root.json bytes with one transparency log, the release log:
 * its SPKI public key (PKIX_ED25519), SHA-256 leaves, and its note key ID as `logId` and
 * `checkpointKeyId`. No CAs, CT logs or TSAs: bundles carry a public-key hint and the signer key is
 * supplied out of band. It throws `bad-key` for a log key of another type and `invalid-argument`
 * for a base URL without the key name, or a `validFrom` that is not RFC 3339 UTC.
 */
export function buildTrustedRoot(input: TrustedRootInput): Uint8Array {
  const key = ed25519LogKey(input.logKey);
  const baseUrl = input.baseUrl ?? `https://${key.name}`;
  if (baseUrl.length > 2048 || !baseUrl.includes(key.name)) {
    throw new VouchError(
      'invalid-argument',
      `the trusted root's base URL must contain the log key name ${key.name}, or sigstore-js matches no checkpoint signature`,
      { field: 'baseUrl' },
    );
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(input.validFrom)) {
    throw new VouchError(
      'invalid-argument',
      'validFrom must be an RFC 3339 UTC time such as 2026-01-01T00:00:00Z',
      {
        field: 'validFrom',
      },
    );
  }
  const logId = { keyId: formatBase64(sigstoreLogId(key)) };
  const tlog: Record<string, JsonValue> = {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: formatBase64(publicKeySpki('ed25519', key.publicKey)),
      keyDetails: 'PKIX_ED25519',
      validFor: { start: input.validFrom },
    },
    logId,
    checkpointKeyId: logId,
  };
  if (input.operator !== undefined) tlog['operator'] = input.operator;
  return formatJson({
    mediaType: trustedRootMediaType,
    tlogs: [tlog],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
}

/** BundleInput is what {@link buildSigstoreBundle} assembles. */
export interface BundleInput {
  /** envelope is the signed attestation, with exactly one signature. */
  readonly envelope: Envelope;
  /** body is the logged entry, {@link rekorDsseBody} of `envelope`. */
  readonly body: Uint8Array;
  /** proof is the entry's C2SP tlog-proof bytes (`vouch build --log` writes `FILE.tlog-proof`). */
  readonly proof: Uint8Array;
  readonly logKey: LogKeyInput;
  /** signer is the key that signed the envelope; the bundle is checked against it before it is returned. */
  readonly signer: Verifier;
  /** keyHint is the bundle's public-key hint; default the envelope signature's keyid, which it must equal when both are set. */
  readonly keyHint?: string;
}

/**
 * buildSigstoreBundle assembles a bundle v0.3 (compact JSON bytes) from a logged envelope: the
 * public-key hint, one `dsse`/`0.0.1` tlog entry (log index, log ID, `integratedTime` "0", the
 * inclusion proof with root hash, tree size, hashes and the checkpoint note, and the body) and
 * the envelope. It fails closed: the result is verified with {@link verifySigstoreBundle} before it
 * is returned, so a body for another envelope, a proof for another entry or from another log, or
 * a signature the signer did not make throws as it would for a verifier.
 */
export function buildSigstoreBundle(input: BundleInput): Uint8Array {
  if (input.proof.length > maxTlogProofBytes) throw tooLarge('tlog-proof', maxTlogProofBytes);
  const proof: TlogProof = parseTlogProof(input.proof);
  const signature = onlySignature(input.envelope);
  const hint = input.keyHint ?? signature.keyid;
  if (hint === '' || hint.length > maxKeyHintLength) {
    throw new VouchError(
      'invalid-argument',
      `a bundle needs a public-key hint of 1 to ${maxKeyHintLength} characters (the envelope's keyid is empty)`,
      { field: 'keyHint' },
    );
  }
  if (signature.keyid !== '' && signature.keyid !== hint) {
    throw new VouchError(
      'invalid-argument',
      "the public-key hint must equal the envelope signature's keyid",
      {
        field: 'keyHint',
      },
    );
  }
  const note = toText(proof.checkpoint, 'checkpoint');
  const checkpoint = parseCheckpoint(parseNote(proof.checkpoint).text);
  const index = proof.index.toString();
  const bundle = {
    mediaType: bundleMediaType,
    verificationMaterial: {
      publicKey: { hint },
      tlogEntries: [
        {
          logIndex: index,
          logId: { keyId: formatBase64(sigstoreLogId(input.logKey)) },
          kindVersion: { kind: rekorDsseKind, version: rekorDsseVersion },
          integratedTime: '0',
          inclusionProof: {
            logIndex: index,
            rootHash: formatBase64(checkpoint.root),
            treeSize: checkpoint.size.toString(),
            hashes: proof.proof.map((hash) => formatBase64(hash)),
            checkpoint: { envelope: note },
          },
          canonicalizedBody: formatBase64(input.body),
        },
      ],
    },
    dsseEnvelope: envelopeToJson(input.envelope),
  };
  const bytes = formatJson(bundle);
  verifySigstoreBundle(bytes, { logKey: input.logKey, signer: input.signer });
  return bytes;
}

/** VerifyBundleOptions are the trusted keys {@link verifySigstoreBundle} checks against. */
export interface VerifyBundleOptions {
  /** logKey is the release log's key; its name is the checkpoint origin. */
  readonly logKey: LogKeyInput;
  /** signer is the trusted key the envelope must be signed by. */
  readonly signer: Verifier;
  /** payloadType, when set, must be the envelope's payload type. */
  readonly payloadType?: string;
}

/** VerifiedBundle is what a verified bundle establishes. */
export interface VerifiedBundle {
  readonly payloadType: string;
  /** payload is the verified DSSE payload, a copy owned by the caller. */
  readonly payload: Uint8Array;
  readonly keyHint: string;
  readonly logIndex: bigint;
  readonly checkpoint: Checkpoint;
  /** note is the opened checkpoint note; its cosignatures are for the caller's quorum policy. */
  readonly note: OpenedNote;
  readonly body: RekorDsseBody;
  /** envelope is the bundle's envelope, re-encoded as Vouch writes it (its SHA-256 is the body's envelopeHash). */
  readonly envelope: Uint8Array;
}

/**
 * verifySigstoreBundle verifies a bundle made by {@link buildSigstoreBundle} (or any public-key
 * bundle with one `dsse`/`0.0.1` entry in this log) and returns the verified payload. Checks,
 * in order, each throwing with the field at fault: size and JSON shape (`too-large`,
 * `malformed`; media type, a certificate or message signature instead of a key hint and DSSE, or
 * another entry kind: `invalid-argument`); the entry's log ID is this log's (`policy-unmet`); the
 * checkpoint is signed by the log key and its origin is the key name (`no-trusted-signature`,
 * `bad-signature`, `policy-unmet`); the proof's index, root hash and tree size agree with the
 * entry and checkpoint and the proof leads from the body's leaf hash to the root (`bad-proof`);
 * the envelope has one signature, its keyid equals the hint, and it verifies under `signer`
 * (`bad-signature`); and the body binds that envelope: same signature, payload hash, envelope hash
 * (`bad-digest`) and verifier key (`policy-unmet`), in canonical form (`malformed`).
 */
export function verifySigstoreBundle(bytes: Uint8Array, options: VerifyBundleOptions): VerifiedBundle {
  if (bytes.length > maxBundleBytes) throw tooLarge('Sigstore bundle', maxBundleBytes);
  const logKey = ed25519LogKey(options.logKey);
  const root = object(parseJson(bytes, { maxBytes: maxBundleBytes }), 'bundle');

  // Media type and content kind (bundle.proto).
  const mediaType = root['mediaType'];
  if (typeof mediaType !== 'string' || !acceptedBundleMediaTypes.includes(mediaType)) {
    throw new VouchError('invalid-argument', 'the bundle media type is not a Sigstore bundle v0.2 or v0.3', {
      field: 'mediaType',
    });
  }
  if (root['messageSignature'] !== undefined || root['dsseEnvelope'] === undefined) {
    throw new VouchError(
      'invalid-argument',
      'the bundle must carry a DSSE envelope, not a message signature',
      {
        field: 'dsseEnvelope',
      },
    );
  }
  const material = object(root['verificationMaterial'], 'verificationMaterial');
  if (material['certificate'] !== undefined || material['x509CertificateChain'] !== undefined) {
    throw new VouchError(
      'invalid-argument',
      'the bundle names a certificate; a release bundle names a public key',
      {
        field: 'verificationMaterial',
      },
    );
  }
  const keyHint = stringField(
    object(material['publicKey'], 'verificationMaterial.publicKey'),
    'hint',
    'verificationMaterial.publicKey',
    maxKeyHintLength,
  );
  const entries = material['tlogEntries'];
  if (!isJsonArray(entries) || entries.length !== 1) {
    throw bad('the bundle must carry exactly one transparency log entry', 'verificationMaterial.tlogEntries');
  }
  const at = 'verificationMaterial.tlogEntries[0]';
  const entry = object(entries[0], at);

  // The entry: kind, log, index, body.
  const kindVersion = object(entry['kindVersion'], `${at}.kindVersion`);
  if (kindVersion['kind'] !== rekorDsseKind || kindVersion['version'] !== rekorDsseVersion) {
    throw new VouchError(
      'invalid-argument',
      `the log entry kind is not ${rekorDsseKind}/${rekorDsseVersion}`,
      {
        field: `${at}.kindVersion`,
      },
    );
  }
  const logId = base64Field(object(entry['logId'], `${at}.logId`), 'keyId', `${at}.logId`, 64);
  if (!equalBytes(logId, sigstoreLogId(logKey))) {
    throw new VouchError('policy-unmet', `the log entry is from another log than ${logKey.name} (log ID)`, {
      field: `${at}.logId`,
    });
  }
  const logIndex = decimalField(entry, 'logIndex', at);
  // Unauthenticated without a SET, so only its shape is checked; proto3 JSON may omit a zero.
  if (entry['integratedTime'] !== undefined) decimalField(entry, 'integratedTime', at);
  const body = base64Field(entry, 'canonicalizedBody', at, maxRekorBodyBytes);

  // The inclusion proof under a checkpoint the log key signed (C2SP tlog-checkpoint, RFC 6962).
  const proofAt = `${at}.inclusionProof`;
  const inclusion = object(entry['inclusionProof'], proofAt);
  const proofIndex = decimalField(inclusion, 'logIndex', proofAt);
  if (proofIndex !== logIndex) {
    throw new VouchError('bad-proof', 'the inclusion proof is for another log index than the entry', {
      field: `${proofAt}.logIndex`,
    });
  }
  const rootHash = base64Field(inclusion, 'rootHash', proofAt, 32);
  const treeSize = decimalField(inclusion, 'treeSize', proofAt);
  const hashList = inclusion['hashes'] ?? [];
  if (!isJsonArray(hashList)) throw bad('not an array', `${proofAt}.hashes`);
  if (hashList.length > maxInclusionProofLength) {
    throw tooLarge('inclusion proof', maxInclusionProofLength, `${proofAt}.hashes`);
  }
  const hashes = hashList.map((hash, i) => {
    if (typeof hash !== 'string') throw bad('not a string', `${proofAt}.hashes[${i}]`);
    const bytes32 = decodeBase64(hash, `${proofAt}.hashes[${i}]`);
    if (bytes32.length !== 32) throw bad('not a 32-byte hash', `${proofAt}.hashes[${i}]`);
    return bytes32;
  });
  const checkpointText = stringField(
    object(inclusion['checkpoint'], `${proofAt}.checkpoint`),
    'envelope',
    `${proofAt}.checkpoint`,
    maxTlogProofBytes,
  );
  let checked: ReturnType<typeof checkTlogProof>;
  try {
    checked = checkTlogProof(
      { index: logIndex, proof: hashes, checkpoint: toBytes(checkpointText) },
      leafHash(body),
      logKey.name,
      verifierSet([createNoteVerifier(logKey)]),
    );
  } catch (error) {
    // A proof that does not reach the root is the hashes' fault; anything else, the checkpoint's.
    throw withField(
      error,
      isVouchError(error, 'bad-proof') ? `${proofAt}.hashes` : `${proofAt}.checkpoint.envelope`,
      true,
    );
  }
  if (!equalBytes(rootHash, checked.checkpoint.root) || treeSize !== checked.checkpoint.size) {
    throw new VouchError(
      'bad-proof',
      "the inclusion proof's root hash or tree size is not the checkpoint's",
      {
        field: `${proofAt}.rootHash`,
      },
    );
  }

  // The DSSE envelope (one signature, by the trusted signer).
  let envelope: Envelope;
  try {
    envelope = envelopeFromJson(root['dsseEnvelope'] ?? null);
  } catch (error) {
    throw withField(error, 'dsseEnvelope');
  }
  const signature = onlySignature(envelope);
  if (signature.keyid !== '' && signature.keyid !== keyHint) {
    throw new VouchError(
      'invalid-argument',
      "the bundle's public-key hint is not the envelope signature's keyid",
      {
        field: 'verificationMaterial.publicKey.hint',
      },
    );
  }
  const payload = verifiedPayload(envelope, options.signer);
  if (options.payloadType !== undefined && envelope.payloadType !== options.payloadType) {
    throw new VouchError('invalid-argument', 'the DSSE payload type is not the expected one', {
      field: 'dsseEnvelope.payloadType',
    });
  }

  // The log entry binds this envelope and this key.
  const parsed = (() => {
    try {
      return parseRekorDsseBody(body);
    } catch (error) {
      throw withField(error, `${at}.canonicalizedBody`);
    }
  })();
  if (!equalBytes(parsed.signature, signature.sig)) {
    throw new VouchError('bad-digest', "the log entry's signature is not the envelope's", {
      field: `${at}.canonicalizedBody.spec.signatures[0].signature`,
    });
  }
  if (!equalBytes(parsed.payloadHash, sha256(payload))) {
    throw new VouchError(
      'bad-digest',
      "the log entry's payload hash is not the SHA-256 of the envelope's payload",
      {
        field: `${at}.canonicalizedBody.spec.payloadHash`,
      },
    );
  }
  const envelopeBytes = formatEnvelope(envelope);
  if (!equalBytes(parsed.envelopeHash, sha256(envelopeBytes))) {
    throw new VouchError(
      'bad-digest',
      "the log entry's envelope hash is not the SHA-256 of the bundle's envelope",
      {
        field: `${at}.canonicalizedBody.spec.envelopeHash`,
      },
    );
  }
  if (parsed.verifierPem !== signerPem(options.signer)) {
    throw new VouchError('policy-unmet', 'the log entry names another signer key than the trusted one', {
      field: `${at}.canonicalizedBody.spec.signatures[0].verifier`,
    });
  }
  return Object.freeze({
    payloadType: envelope.payloadType,
    payload,
    keyHint,
    logIndex,
    checkpoint: checked.checkpoint,
    note: checked.note,
    body: parsed,
    envelope: envelopeBytes,
  });
}

function verifiedPayload(envelope: Envelope, signer: Verifier): Uint8Array {
  const signature = onlySignature(envelope);
  signerPem(signer); // refuses key types Sigstore cannot name
  try {
    // The keyid is an unauthenticated hint: the one trusted key answers to whatever it says.
    return verifyEnvelope(envelope, [{ verifier: signer, keyid: signature.keyid }], 1).payload;
  } catch (error) {
    if (isVouchError(error, 'policy-unmet')) {
      throw new VouchError(
        'bad-signature',
        'the DSSE signature does not verify under the trusted signer key',
        {
          field: 'dsseEnvelope.signatures[0].sig',
          key: signer.keyId,
        },
      );
    }
    throw error;
  }
}

function onlySignature(envelope: Envelope): Envelope['signatures'][number] {
  const [first, ...rest] = envelope.signatures;
  if (first === undefined || rest.length > 0) {
    throw new VouchError(
      'invalid-argument',
      `a Sigstore bundle's envelope carries exactly one signature, not ${envelope.signatures.length}`,
      { field: 'dsseEnvelope.signatures' },
    );
  }
  return first;
}

function signerPem(signer: Verifier): string {
  if (signer.keyType !== 'ed25519' && signer.keyType !== 'ecdsa-p256') {
    throw new VouchError(
      'invalid-argument',
      `a ${signer.keyType} signer cannot be named in a Sigstore bundle`,
      {
        key: signer.keyId,
      },
    );
  }
  return formatPublicKeyPem(signer.keyType, signer.publicKey);
}

function ed25519LogKey(input: LogKeyInput): VerifierKey {
  const key = typeof input === 'string' ? parseVerifierKey(input) : input;
  if (key.type !== signatureTypes.ed25519) {
    throw new VouchError('bad-key', 'the release log key must be an Ed25519 note key (type 0x01)', {
      key: key.name,
    });
  }
  return key;
}

const bundleWhat = 'Sigstore bundle';
const bodyWhat = 'Rekor dsse entry body';

function object(value: JsonValue | undefined, field: string, what = bundleWhat): JsonObject {
  if (!isJsonObject(value)) throw bad(value === undefined ? 'missing' : 'not an object', field, what);
  return value;
}

function stringField(
  parent: JsonObject,
  key: string,
  at: string,
  maxLength: number,
  what = bundleWhat,
): string {
  const field = at === '$' ? key : `${at}.${key}`;
  const value = parent[key];
  if (typeof value !== 'string' || value === '') {
    throw bad(value === undefined ? 'missing' : 'not a non-empty string', field, what);
  }
  if (value.length > maxLength) throw tooLarge(`${what} field ${field}`, maxLength, field);
  return value;
}

function decimalField(parent: JsonObject, key: string, at: string): bigint {
  const text = stringField(parent, key, at, 20);
  try {
    return parseDecimal(text, `${at}.${key}`);
  } catch {
    throw bad('not a canonical decimal string', `${at}.${key}`);
  }
}

function base64Field(
  parent: JsonObject,
  key: string,
  at: string,
  maxBytes: number,
  what = bundleWhat,
): Uint8Array {
  const text = stringField(parent, key, at, Math.ceil(maxBytes / 3) * 4, what);
  return decodeBase64(text, at === '$' ? key : `${at}.${key}`, what);
}

function decodeBase64(text: string, field: string, what = bundleWhat): Uint8Array {
  try {
    return parseBase64(text, field);
  } catch {
    throw bad('not canonical standard base64', field, what);
  }
}

function sha256Field(spec: JsonObject, key: string): Uint8Array {
  const at = `spec.${key}`;
  const hash = object(spec[key], at, bodyWhat);
  if (hash['algorithm'] !== 'sha256') throw bad('the algorithm is not sha256', `${at}.algorithm`, bodyWhat);
  const value = hash['value'];
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw bad('not 64 lowercase hex digits', `${at}.value`, bodyWhat);
  }
  return parseHex(value, `${at}.value`);
}

function bad(reason: string, field: string, what = bundleWhat): VouchError {
  return new VouchError('malformed', `${what} is invalid at ${field}: ${reason}`, { field });
}

/** withField prefixes the field of a nested error with where the nested document sits in the bundle. */
function withField(error: unknown, prefix: string, replace = false): unknown {
  if (!isVouchError(error)) return error;
  const inner = error.details.field;
  const field = replace || inner === undefined || inner === '$' ? prefix : `${prefix}.${inner}`;
  return new VouchError(error.code, error.message, { ...error.details, field }, { cause: error });
}
