/**
 * TUF key objects (https://theupdateframework.github.io/specification/latest/#file-formats-keys)
 * for Vouch's key types, their key IDs, and parsing key objects from metadata into verifiers.
 *
 * Vouch emits two kinds: Ed25519 as `{keytype: "ed25519", scheme: "ed25519", keyval: {public:
 * <64 hex digits>}}` and ECDSA P-256 as `{keytype: "ecdsa", scheme: "ecdsa-sha2-nistp256",
 * keyval: {public: <PEM SubjectPublicKeyInfo>}}`, the spellings python-tuf, go-tuf and tuf-js
 * share. Key IDs are spec-correct: the hex SHA-256 of the canonical JSON of exactly `{keytype,
 * scheme, keyval}`, so strict clients that recompute them (awslabs tough) accept ours.
 *
 * When reading, key IDs are treated as opaque labels (TAP 12; python-tuf and tuf-js do the same,
 * and real roots such as Sigstore's carry non-conforming ones); what stops one key from counting
 * twice is that the verifier de-duplicates by key content (see verify.ts). Key objects of types
 * Vouch cannot verify (RSA, ECDSA P-384, unknown) are kept, so the metadata re-encodes to the
 * bytes its signers hashed, but have no verifier and never count toward a threshold. ECDSA
 * signatures are ASN.1 DER, as securesystemslib and tuf-js (Node's default) expect.
 */

import { formatHex, parseBase64, parseHex, toText } from '../bytes/index.ts';
import type { KeyType, Signer, Verifier } from '../crypto/index.ts';
import { createVerifier, formatPublicKeyPem, sha256 } from '../crypto/index.ts';
import { malformed, VouchError } from '../errors.ts';
import { formatCanonicalJson, isJsonObject, type JsonObject, type JsonValue } from '../json/index.ts';

/** TufKey is a key object read from metadata, with a verifier when Vouch supports its type. */
export interface TufKey {
  readonly keytype: string;
  readonly scheme: string;
  /** public is `keyval.public` as written (hex or PEM). */
  readonly public: string;
  /** raw is the key object exactly as received, unknown fields included. */
  readonly raw: JsonObject;
  /** identity is the canonical JSON of `{keytype, scheme, keyval}` as text: equal keys, equal identity. */
  readonly identity: string;
  /** verifier checks signatures, or is undefined for a key type Vouch does not verify. */
  readonly verifier: Verifier | undefined;
}

const maxPublicLength = 4096;
const pemHeader = '-----BEGIN PUBLIC KEY-----';
const pemFooter = '-----END PUBLIC KEY-----';

/**
 * tufKeyObject returns the TUF key object for a Vouch public key (raw 32-byte Ed25519, or DER
 * SPKI for ECDSA P-256). It throws `invalid-argument` for ML-DSA-44, which TUF has no scheme for.
 */
export function tufKeyObject(keyType: KeyType, publicKey: Uint8Array): JsonObject {
  if (keyType === 'ed25519') {
    createVerifier(keyType, publicKey); // validates the point length and encoding
    return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: formatHex(publicKey) } };
  }
  if (keyType === 'ecdsa-p256') {
    return {
      keytype: 'ecdsa',
      scheme: 'ecdsa-sha2-nistp256',
      keyval: { public: formatPublicKeyPem(keyType, publicKey) },
    };
  }
  throw new VouchError('invalid-argument', `TUF has no signature scheme for ${keyType} keys`);
}

/** tufKeyId returns the spec-correct key ID: hex SHA-256 of canonical `{keytype, scheme, keyval}`. */
export function tufKeyId(key: JsonObject): string {
  return formatHex(sha256(formatCanonicalJson(keyCore(key))));
}

/** tufKeyForSigner returns a signer's TUF key object and key ID. */
export function tufKeyForSigner(signer: Signer): { readonly keyid: string; readonly key: JsonObject } {
  const key = tufKeyObject(signer.keyType, signer.publicKey);
  return { keyid: tufKeyId(key), key };
}

/**
 * parseTufKey checks a key object's shape and builds its verifier. It throws `malformed` (with
 * `field`) when the shape is wrong or when an Ed25519 or ECDSA P-256 key of a known scheme does
 * not decode; other key types are returned without a verifier.
 */
export function parseTufKey(value: JsonValue | undefined, field: string): TufKey {
  if (!isJsonObject(value)) throw malformed(`TUF key ${field} is not an object`, field);
  const { keytype, scheme, keyval } = value;
  if (typeof keytype !== 'string' || keytype.length > 64) throw malformed('TUF key has no keytype', field);
  if (typeof scheme !== 'string' || scheme.length > 64) throw malformed('TUF key has no scheme', field);
  if (!isJsonObject(keyval)) throw malformed('TUF key has no keyval object', field);
  const pub = keyval.public;
  if (typeof pub !== 'string' || pub.length > maxPublicLength) {
    throw malformed('TUF key has no keyval.public string', field);
  }
  const identity = toText(formatCanonicalJson(keyCore(value)));
  let verifier: Verifier | undefined;
  if (keytype === 'ed25519' && scheme === 'ed25519') {
    verifier = decodeKey(() => createVerifier('ed25519', parseHex(pub, 'ed25519 public key')), field);
  } else if ((keytype === 'ecdsa' || keytype === 'ecdsa-sha2-nistp256') && scheme === 'ecdsa-sha2-nistp256') {
    verifier = decodeKey(() => createVerifier('ecdsa-p256', parsePublicKeyPem(pub)), field);
  }
  return Object.freeze({ keytype, scheme, public: pub, raw: value, identity, verifier });
}

/**
 * parsePublicKeyPem decodes a PEM "PUBLIC KEY" block to DER: the header, base64 lines (LF or
 * CRLF) and the footer, optionally followed by one line break; nothing else. Throws `malformed`.
 */
export function parsePublicKeyPem(text: string): Uint8Array {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 3 || lines[0] !== pemHeader || lines[lines.length - 1] !== pemFooter) {
    throw malformed('public key is not a PEM PUBLIC KEY block');
  }
  const body = lines.slice(1, -1);
  if (body.some((line) => line.length === 0 || line.length > 76))
    throw malformed('PEM body lines are malformed');
  return parseBase64(body.join(''), 'PEM body');
}

function keyCore(key: JsonObject): JsonObject {
  const { keytype, scheme, keyval } = key;
  if (keytype === undefined || scheme === undefined || keyval === undefined) {
    throw malformed('TUF key needs keytype, scheme and keyval');
  }
  return { keytype, scheme, keyval };
}

function decodeKey(make: () => Verifier, field: string): Verifier {
  try {
    return make();
  } catch (cause) {
    throw new VouchError('malformed', `TUF key ${field} does not decode`, { field }, { cause });
  }
}
