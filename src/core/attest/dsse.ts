/**
 * DSSE, the Dead Simple Signing Envelope v1 (https://github.com/secure-systems-lab/dsse,
 * protocol.md and envelope.md, v1.0.x): the pre-authentication encoding, the JSON envelope, and
 * signing and (t, n) threshold verification with core/crypto signers and verifiers.
 *
 * An {@link Envelope} never hands out its payload: the only way to read it is
 * {@link verifyEnvelope}, which returns the payload after a threshold of distinct trusted keys
 * has verified, so no caller can act on unverified bytes by accident. Verification follows the
 * protocol's multi-signature procedure: a signature's `keyid` is an unauthenticated hint that
 * only narrows which trusted keys are tried (an empty keyid tries every key; a keyid that names
 * no trusted key tries none); a signature that fails is skipped, not fatal; acceptance counts
 * distinct keys, so one key signing twice counts once. Every skipped signature is reported with
 * its reason, and the caller's expected payload type is checked after the signatures, as the
 * protocol orders it.
 *
 * Envelope JSON: unknown fields are ignored (envelope.md "Parsing rules"); an unset keyid equals
 * an empty one; payload and sig accept standard or URL-safe base64 (`base64.ts`); output is
 * compact JSON with padded standard base64 and keyid omitted when empty. Signatures are in
 * core/crypto's encodings (ECDSA as ASN.1 DER, as sigstore and in-toto Go emit; the P1363 r‖s
 * form of the protocol.md test vector is not accepted). This module does not interpret payloads;
 * `statement.ts` does for in-toto.
 */

import { concatBytes, formatBase64, toBytes } from '../bytes/index.ts';
import { createVerifier, type Signer, type Verifier } from '../crypto/index.ts';
import { describeUntrusted, tooLarge, VouchError } from '../errors.ts';
import {
  formatJson,
  isJsonArray,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseJson,
} from '../json/index.ts';
import { parseAnyBase64 } from './base64.ts';
import { FieldProblems } from './fields.ts';

/** EnvelopeSignature is one signature in an envelope: the keyid hint ('' when unset) and its bytes. */
export interface EnvelopeSignature {
  readonly keyid: string;
  readonly sig: Uint8Array;
}

/** EnvelopeLimits bounds what {@link parseEnvelope} reads. */
export interface EnvelopeLimits {
  /** maxBytes is the largest envelope accepted, in bytes of JSON. */
  readonly maxBytes?: number;
  /** maxSignatures is the most signatures one envelope may carry. */
  readonly maxSignatures?: number;
}

/** defaultEnvelopeLimits are the bounds used when a caller gives none: 4 MiB and 32 signatures. */
export const defaultEnvelopeLimits: Required<EnvelopeLimits> = Object.freeze({
  maxBytes: 4 << 20,
  maxSignatures: 32,
});

let newEnvelope: (
  payloadType: string,
  payload: Uint8Array,
  signatures: readonly EnvelopeSignature[],
) => Envelope;
let payloadOf: (envelope: Envelope) => Uint8Array;

/**
 * Envelope is a parsed or freshly signed DSSE envelope. Its payload is private: read it through
 * {@link verifyEnvelope}. Instances are frozen; their signature bytes are copies owned by the
 * envelope and must not be modified.
 */
export class Envelope {
  readonly payloadType: string;
  readonly signatures: readonly EnvelopeSignature[];
  readonly #payload: Uint8Array;

  private constructor(payloadType: string, payload: Uint8Array, signatures: readonly EnvelopeSignature[]) {
    this.payloadType = payloadType;
    this.#payload = payload;
    this.signatures = Object.freeze(signatures.map((s) => Object.freeze({ keyid: s.keyid, sig: s.sig })));
    Object.freeze(this);
  }

  static {
    newEnvelope = (payloadType, payload, signatures) => new Envelope(payloadType, payload, signatures);
    payloadOf = (envelope) => envelope.#payload;
  }
}

/**
 * pae returns the DSSE pre-authentication encoding, the exact bytes every signature covers:
 * `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, with UTF-8 type and decimal byte lengths.
 * It throws `invalid-argument` for a payload type with a lone surrogate (not encodable as UTF-8).
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  if (!payloadType.isWellFormed()) {
    throw new VouchError('invalid-argument', 'DSSE payload type is not well-formed Unicode', {
      field: 'payloadType',
    });
  }
  const type = toBytes(payloadType);
  return concatBytes(toBytes(`DSSEv1 ${type.length} `), type, toBytes(` ${payload.length} `), payload);
}

/** EnvelopeSigner is a signer, optionally with the keyid hint to write instead of its `keyId`. */
export type EnvelopeSigner = Signer | { readonly signer: Signer; readonly keyid: string };

/**
 * signEnvelope signs `payload` as `payloadType` with every signer, in order, and returns the
 * envelope. The keyid written is the signer's `keyId` unless given. It refuses (with
 * `invalid-argument`) an empty or oversized signer list and two signers with the same key, and
 * checks each new signature against the signer's public key (`bad-signature` names a faulty
 * signer) so that no broken envelope leaves this function. A signer's own failure propagates.
 */
export async function signEnvelope(
  payloadType: string,
  payload: Uint8Array,
  signers: readonly EnvelopeSigner[],
): Promise<Envelope> {
  const copy = new Uint8Array(payload);
  const signatures = await signAll(payloadType, copy, signers, []);
  return newEnvelope(payloadType, copy, signatures);
}

/**
 * appendSignatures returns a new envelope with the signatures of `signers` added after the
 * existing ones, for a second party cosigning what a first one signed. It refuses a signer whose
 * keyid hint is already present, and otherwise behaves as {@link signEnvelope}. A cosigner should
 * have verified the envelope first: this signs the payload without showing it.
 */
export async function appendSignatures(
  envelope: Envelope,
  signers: readonly EnvelopeSigner[],
): Promise<Envelope> {
  const payload = payloadOf(envelope);
  const added = await signAll(envelope.payloadType, payload, signers, envelope.signatures);
  return newEnvelope(envelope.payloadType, payload, [...envelope.signatures, ...added]);
}

async function signAll(
  payloadType: string,
  payload: Uint8Array,
  signers: readonly EnvelopeSigner[],
  existing: readonly EnvelopeSignature[],
): Promise<EnvelopeSignature[]> {
  if (signers.length === 0) throw new VouchError('invalid-argument', 'signing needs at least one signer');
  const max = defaultEnvelopeLimits.maxSignatures;
  if (existing.length + signers.length > max) {
    throw new VouchError('invalid-argument', `a DSSE envelope carries at most ${max} signatures`, {
      limit: max,
    });
  }
  const entries = signers.map((s) => ('signer' in s ? s : { signer: s, keyid: s.keyId }));
  const keys = new Set<string>();
  const keyids = new Set(existing.map((s) => s.keyid).filter((k) => k !== ''));
  for (const { signer, keyid } of entries) {
    if (keys.has(signer.keyId)) {
      throw new VouchError('invalid-argument', 'the same key is listed twice', { key: signer.name });
    }
    if (keyids.has(keyid)) {
      throw new VouchError('invalid-argument', 'the envelope already has a signature with this keyid', {
        key: signer.name,
      });
    }
    keys.add(signer.keyId);
    if (keyid !== '') keyids.add(keyid);
  }
  const message = pae(payloadType, payload);
  const sigs = await Promise.all(entries.map(({ signer }) => signer.sign(message)));
  return entries.map(({ signer, keyid }, i) => {
    const sig = new Uint8Array(sigs[i] as Uint8Array);
    if (!createVerifier(signer.keyType, signer.publicKey).verify(message, sig)) {
      throw new VouchError('bad-signature', 'a signer produced a signature its own key does not verify', {
        key: signer.name,
      });
    }
    return { keyid, sig };
  });
}

/** EnvelopeVerifier is a trusted key, optionally with the keyid hint it answers to instead of its `keyId`. */
export type EnvelopeVerifier = Verifier | { readonly verifier: Verifier; readonly keyid: string };

/** SignatureReport says why the signature at `index` did not count toward the threshold. */
export interface SignatureReport {
  readonly index: number;
  /** keyid is the signature's hint, sanitised for logs. */
  readonly keyid: string;
  /**
   * reason: 'unknown-key' — the keyid names no trusted key, nothing was tried;
   * 'bad-signature' — no candidate trusted key verifies it;
   * 'duplicate-key' — it verifies, but only under a key that was already counted.
   */
  readonly reason: 'unknown-key' | 'bad-signature' | 'duplicate-key';
}

/** VerifiedEnvelope is what {@link verifyEnvelope} returns once the threshold is met. */
export interface VerifiedEnvelope {
  readonly payloadType: string;
  /** payload is a copy of the verified body, owned by the caller. */
  readonly payload: Uint8Array;
  /** verifiedKeyIds lists the `keyId` of every distinct trusted key that verified, in signature order. */
  readonly verifiedKeyIds: readonly string[];
  /** unverified reports every signature that did not count. */
  readonly unverified: readonly SignatureReport[];
}

/** VerifyEnvelopeOptions are the optional checks of {@link verifyEnvelope}. */
export interface VerifyEnvelopeOptions {
  /** payloadType, when set, must equal the envelope's payload type (checked after the signatures). */
  readonly payloadType?: string;
}

/**
 * verifyEnvelope checks `envelope` against trusted keys and returns its payload only if at least
 * `threshold` distinct keys verified it (every signature is tried, so the result lists all keys
 * that signed). Fewer throws `policy-unmet` with `details.limit` = threshold and the verified
 * key ids; a payload type other than `options.payloadType` throws `invalid-argument` (field
 * `payloadType`). A threshold below 1, or above the number of distinct trusted keys, is a caller
 * error (`invalid-argument`). Verifying never mutates the envelope.
 */
export function verifyEnvelope(
  envelope: Envelope,
  verifiers: readonly EnvelopeVerifier[],
  threshold: number,
  options: VerifyEnvelopeOptions = {},
): VerifiedEnvelope {
  const trusted = verifiers.map((v) => ('verifier' in v ? v : { verifier: v, keyid: v.keyId }));
  const distinct = new Set(trusted.map((t) => t.verifier.keyId)).size;
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > distinct) {
    throw new VouchError(
      'invalid-argument',
      `threshold must be an integer from 1 to the number of distinct trusted keys (${distinct})`,
      { limit: distinct },
    );
  }
  const payload = payloadOf(envelope);
  const message = pae(envelope.payloadType, payload);
  const accepted = new Set<string>();
  const verifiedKeyIds: string[] = [];
  const unverified: SignatureReport[] = [];
  envelope.signatures.forEach((signature, index) => {
    const candidates = signature.keyid === '' ? trusted : trusted.filter((t) => t.keyid === signature.keyid);
    let reason: SignatureReport['reason'] = candidates.length === 0 ? 'unknown-key' : 'bad-signature';
    for (const { verifier } of candidates) {
      if (!verifier.verify(message, signature.sig)) continue;
      if (accepted.has(verifier.keyId)) {
        reason = 'duplicate-key';
        continue; // the same signature may also verify under a not-yet-counted key listed twice
      }
      accepted.add(verifier.keyId);
      verifiedKeyIds.push(verifier.keyId);
      return;
    }
    unverified.push(Object.freeze({ index, keyid: describeUntrusted(signature.keyid), reason }));
  });
  if (accepted.size < threshold) {
    throw new VouchError(
      'policy-unmet',
      `DSSE envelope is signed by ${accepted.size} of the ${threshold} required trusted keys`,
      {
        limit: threshold,
        verified: Object.freeze([...verifiedKeyIds]),
        unverified: Object.freeze(unverified),
      },
    );
  }
  if (options.payloadType !== undefined && options.payloadType !== envelope.payloadType) {
    throw new VouchError('invalid-argument', 'DSSE payload type is not the expected one', {
      field: 'payloadType',
    });
  }
  return Object.freeze({
    payloadType: envelope.payloadType,
    payload: new Uint8Array(payload),
    verifiedKeyIds: Object.freeze(verifiedKeyIds),
    unverified: Object.freeze(unverified),
  });
}

/**
 * parseEnvelope reads a DSSE JSON envelope from bytes. It checks `maxBytes` before parsing and
 * `maxSignatures` before looking at any signature (`too-large`), and throws `malformed` naming
 * every bad field (`details.fields`) for a missing or mistyped `payload`, `payloadType`,
 * `signatures`, `signatures[i].sig` or `signatures[i].keyid`, or bad base64. It does not verify.
 */
export function parseEnvelope(bytes: Uint8Array, limits: EnvelopeLimits = {}): Envelope {
  const maxBytes = limits.maxBytes ?? defaultEnvelopeLimits.maxBytes;
  return envelopeFromJson(parseJson(bytes, { maxBytes, allowFloats: true }), limits);
}

/**
 * envelopeFromJson reads a DSSE envelope from an already parsed JSON value, such as the
 * `dsseEnvelope` of a Sigstore bundle, with the same checks as {@link parseEnvelope}.
 */
export function envelopeFromJson(value: JsonValue, limits: EnvelopeLimits = {}): Envelope {
  const maxSignatures = limits.maxSignatures ?? defaultEnvelopeLimits.maxSignatures;
  if (!isJsonObject(value)) {
    throw new VouchError('malformed', 'DSSE envelope is not a JSON object', { field: '$', fields: ['$'] });
  }
  const problems = new FieldProblems();
  const payloadType = readString(value, 'payloadType', problems);
  const payloadText = readString(value, 'payload', problems);
  const payload = payloadText === undefined ? undefined : readBase64(payloadText, ['payload'], problems);
  const list = value['signatures'];
  const signatures: EnvelopeSignature[] = [];
  if (!isJsonArray(list)) {
    problems.add(['signatures'], list === undefined ? 'missing' : 'not an array');
  } else if (list.length > maxSignatures) {
    throw tooLarge('DSSE envelope signature count', maxSignatures, 'signatures');
  } else {
    list.forEach((entry, i) => {
      if (!isJsonObject(entry)) {
        problems.add(['signatures', i], 'not an object');
        return;
      }
      const keyid = entry['keyid'];
      if (keyid !== undefined && keyid !== null && typeof keyid !== 'string') {
        problems.add(['signatures', i, 'keyid'], 'not a string');
      }
      const sigText = entry['sig'];
      if (typeof sigText !== 'string') {
        problems.add(['signatures', i, 'sig'], sigText === undefined ? 'missing' : 'not a string');
        return;
      }
      const sig = readBase64(sigText, ['signatures', i, 'sig'], problems);
      if (sig !== undefined) signatures.push({ keyid: typeof keyid === 'string' ? keyid : '', sig });
    });
  }
  problems.throwIfAny('DSSE envelope');
  if (payloadType === undefined || payload === undefined) {
    throw new VouchError('invariant', 'internal error: envelope fields missing after validation');
  }
  return newEnvelope(payloadType, payload, signatures);
}

/** envelopeToJson returns the JSON form of an envelope (padded standard base64, keyid omitted when empty). */
export function envelopeToJson(envelope: Envelope): JsonObject {
  return Object.freeze({
    payload: formatBase64(payloadOf(envelope)),
    payloadType: envelope.payloadType,
    signatures: Object.freeze(
      envelope.signatures.map((s): JsonObject => {
        const entry: Record<string, string> = s.keyid === '' ? {} : { keyid: s.keyid };
        entry['sig'] = formatBase64(s.sig);
        return Object.freeze(entry);
      }),
    ),
  });
}

/** formatEnvelope returns an envelope as compact JSON bytes; `parseEnvelope` reads them back unchanged. */
export function formatEnvelope(envelope: Envelope): Uint8Array {
  return formatJson(envelopeToJson(envelope));
}

function readString(object: JsonObject, key: string, problems: FieldProblems): string | undefined {
  const value = object[key];
  if (typeof value === 'string') return value;
  problems.add([key], value === undefined ? 'missing' : 'not a string');
  return undefined;
}

function readBase64(
  text: string,
  path: (string | number)[],
  problems: FieldProblems,
): Uint8Array | undefined {
  try {
    return parseAnyBase64(text, '');
  } catch {
    problems.add(path, 'not base64');
    return undefined;
  }
}
