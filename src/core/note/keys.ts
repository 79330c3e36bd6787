/**
 * Signed-note key names, key IDs, verifier keys ("vkeys") and Go-convention signer keys
 * ("skeys"), per https://c2sp.org/signed-note (v1.0.0, "Signatures" and "Verifier keys") and
 * https://c2sp.org/tlog-cosignature (key IDs of types 0x04 and 0x06).
 *
 * A vkey is `<name>+<8 lowercase hex key ID>+<base64(type byte || public key)>`; an skey is
 * `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte Ed25519 seed)>`, a golang.org/x/mod
 * convention that is not part of any C2SP spec. Standard base64 may itself contain `+`, so a vkey
 * is split only at its first two `+` and an skey at its first four. Parsing is strict: canonical
 * base64, lowercase hex, a key of the exact length for its type, and a key ID that matches.
 *
 * Key IDs are SHA-256(name || 0x0A || type || public key)[:4], read as a big-endian uint32, for
 * every type except 0x02: the transparency-dev/witness ECDSA type (kept for reading legacy
 * keys) hashes only the DER SubjectPublicKeyInfo, with neither the name nor the type byte — the
 * signed-note spec records this exception, and transparency-dev/witness `keyHashECDSA` does it.
 *
 * Interop trap: Go witness tooling (transparency-dev/formats) accepts a witness key written as a
 * type 0x01 vkey and silently re-derives it as type 0x04, so the key ID in its cosignature lines
 * differs from the one printed in the vkey. Here that conversion is explicit
 * ({@link toCosignatureV1Key}); a type 0x01 key is never used to check a cosignature by accident.
 *
 * This module does not sign or verify; `./verifier.ts` and `../tlog/cosignature.ts` do.
 */

import { concatBytes, equalBytes, formatBase64, parseBase64, toBytes } from '../bytes/index.ts';
import { ed25519Pkcs8FromSeed, ed25519SeedFromPkcs8 } from '../crypto/ed25519-seed.ts';
import {
  createVerifier,
  importPrivateKey,
  isValidKeyName,
  type KeyType,
  maxKeyNameLength,
  type PrivateKeyMaterial,
  publicKeySpki,
  sha256,
  type Verifier,
} from '../crypto/index.ts';
import { isVouchError, tooLarge, VouchError } from '../errors.ts';

/**
 * signatureTypes names the signed-note signature type bytes Vouch supports: Ed25519 note
 * signatures (0x01), transparency-dev ECDSA P-256 (0x02, legacy), Ed25519 cosignature/v1 (0x04)
 * and ML-DSA-44 subtree/v1 cosignatures (0x06).
 */
export const signatureTypes = Object.freeze({
  ed25519: 0x01,
  ecdsa: 0x02,
  cosignatureV1: 0x04,
  mlDsa44Cosignature: 0x06,
} as const);

/** SignatureType is one of the supported signature type bytes in {@link signatureTypes}. */
export type SignatureType = (typeof signatureTypes)[keyof typeof signatureTypes];

/** isSignatureType reports whether a byte is a supported {@link SignatureType}. */
export function isSignatureType(value: number): value is SignatureType {
  return value === 0x01 || value === 0x02 || value === 0x04 || value === 0x06;
}

/** keyTypeOfSignatureType maps a signature type to the core/crypto key algorithm behind it. */
export function keyTypeOfSignatureType(type: SignatureType): KeyType {
  if (type === 0x02) return 'ecdsa-p256';
  if (type === 0x06) return 'ml-dsa-44';
  return 'ed25519';
}

/** maxVerifierKeyLength bounds a vkey string; an ML-DSA-44 vkey needs about 1,800 characters. */
export const maxVerifierKeyLength = 4096;

/** Key names follow one rule for key files and signed notes (core/crypto/keyfile.ts). */
export { isValidKeyName, maxKeyNameLength };

/**
 * computeKeyId returns the signed-note key ID of a public key as a uint32: the first four bytes,
 * big-endian, of SHA-256(name || 0x0A || type || publicKey), or of SHA-256(publicKey) alone for
 * the legacy ECDSA type 0x02 (whose public key is a DER SubjectPublicKeyInfo).
 */
export function computeKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const digest =
    type === signatureTypes.ecdsa
      ? sha256(publicKey)
      : sha256(toBytes(name), Uint8Array.of(0x0a, type), publicKey);
  return readUint32(digest);
}

/** formatKeyId spells a key ID as the 8 lowercase hex digits used in vkeys and messages. */
export function formatKeyId(keyId: number): string {
  return (keyId >>> 0).toString(16).padStart(8, '0');
}

/** VerifierKey is a parsed vkey: the key's name, its key ID, its signature type and public key. */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly type: SignatureType;
  /** publicKey is in the type's encoding: 32 bytes (0x01, 0x04), DER SPKI (0x02), 1312 bytes (0x06). */
  readonly publicKey: Uint8Array;
}

/**
 * parseVerifierKey parses a vkey, or throws `too-large` for an over-long string and `bad-key`
 * for anything else wrong: a bad name, non-canonical hex or base64, an unsupported type byte, a
 * public key of the wrong length or encoding for its type, or a key ID that does not match.
 */
export function parseVerifierKey(vkey: string): VerifierKey {
  if (vkey.length > maxVerifierKeyLength) throw tooLarge('verifier key', maxVerifierKeyLength);
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw badKey('verifier key is not <name>+<key id>+<key>');
  const name = vkey.slice(0, first);
  const keyId = parseKeyId(vkey.slice(first + 1, second));
  if (!isValidKeyName(name)) throw badKey('verifier key has an invalid key name');
  const encoded = decodeKeyBase64(vkey.slice(second + 1), 'verifier key');
  const type = encoded[0];
  if (type === undefined || !isSignatureType(type))
    throw badKey('verifier key has an unsupported signature type');
  const publicKey = encoded.slice(1);
  assertPublicKey(type, publicKey);
  if (computeKeyId(name, type, publicKey) !== keyId) {
    throw badKey('verifier key ID does not match its name and public key');
  }
  return Object.freeze({ name, keyId, type, publicKey });
}

/**
 * verifierOfVkey returns the core/crypto verifier of a vkey's public key, for signatures outside
 * signed notes (DSSE envelopes, approvals, reports); it throws as {@link parseVerifierKey} does.
 */
export function verifierOfVkey(vkey: string): Verifier {
  const key = parseVerifierKey(vkey);
  return createVerifier(keyTypeOfSignatureType(key.type), key.publicKey);
}

/**
 * formatVerifierKey spells a key — a {@link VerifierKey}, a NoteSigner or a NoteVerifier — as a
 * vkey, computing its key ID; it throws `bad-key` when the name is invalid, the type is not
 * supported or the public key does not fit the type.
 */
export function formatVerifierKey(key: {
  readonly name: string;
  readonly type: number;
  readonly publicKey: Uint8Array;
}): string {
  if (!isValidKeyName(key.name)) throw badKey('invalid key name');
  if (!isSignatureType(key.type)) throw badKey('unsupported signature type');
  assertPublicKey(key.type, key.publicKey);
  const keyId = computeKeyId(key.name, key.type, key.publicKey);
  return `${key.name}+${formatKeyId(keyId)}+${formatBase64(concatBytes(Uint8Array.of(key.type), key.publicKey))}`;
}

/** verifierKeyOf builds the {@link VerifierKey} of a name, type and public key, checking both. */
export function verifierKeyOf(name: string, type: SignatureType, publicKey: Uint8Array): VerifierKey {
  if (!isValidKeyName(name)) throw badKey('invalid key name');
  if (!isSignatureType(type)) throw badKey('unsupported signature type');
  const copy = new Uint8Array(publicKey);
  assertPublicKey(type, copy);
  return Object.freeze({ name, keyId: computeKeyId(name, type, copy), type, publicKey: copy });
}

/**
 * toCosignatureV1Key converts an Ed25519 note key (type 0x01) to the same public key as a
 * cosignature/v1 key (type 0x04), which has a different key ID; a type 0x04 key is returned as
 * is. Use it only where a witness's key was published as a type 0x01 vkey (Go tooling does this
 * implicitly; see the module comment). Other types throw `bad-key`.
 */
export function toCosignatureV1Key(key: VerifierKey): VerifierKey {
  if (key.type === signatureTypes.cosignatureV1) return key;
  if (key.type !== signatureTypes.ed25519)
    throw badKey('only an Ed25519 key can make cosignature/v1 signatures');
  return verifierKeyOf(key.name, signatureTypes.cosignatureV1, key.publicKey);
}

/** SignerKey is a parsed Go-convention skey. Secret: never log it or put it in an error. */
export interface SignerKey {
  readonly name: string;
  readonly keyId: number;
  readonly type: typeof signatureTypes.ed25519;
  /** material is the private key as PKCS #8, ready for core/crypto `createSigner`. */
  readonly material: PrivateKeyMaterial;
}

/**
 * parseSignerKey parses a golang.org/x/mod skey (`PRIVATE+KEY+<name>+<hex id>+base64(0x01 ||
 * seed)`), deriving the public key to check the key ID, or throws `bad-key`. Only Ed25519 skeys
 * exist in that convention. Error messages never contain any part of the key.
 */
export function parseSignerKey(skey: string): SignerKey {
  if (skey.length > maxVerifierKeyLength) throw tooLarge('signer key', maxVerifierKeyLength);
  const parts: string[] = [];
  let rest = skey;
  for (let i = 0; i < 4; i++) {
    const plus = rest.indexOf('+');
    if (plus < 0) throw badKey('signer key is not PRIVATE+KEY+<name>+<key id>+<key>');
    parts.push(rest.slice(0, plus));
    rest = rest.slice(plus + 1);
  }
  const [private_, key_, name = '', id = ''] = parts;
  if (private_ !== 'PRIVATE' || key_ !== 'KEY') throw badKey('signer key does not start with PRIVATE+KEY+');
  if (!isValidKeyName(name)) throw badKey('signer key has an invalid key name');
  const keyId = parseKeyId(id);
  const encoded = decodeKeyBase64(rest, 'signer key');
  if (encoded.length !== 33 || encoded[0] !== signatureTypes.ed25519) {
    throw badKey('signer key is not an Ed25519 seed (type 0x01, 32 bytes)');
  }
  const material = importPrivateKey('ed25519', ed25519Pkcs8FromSeed(encoded.subarray(1)));
  encoded.fill(0);
  if (computeKeyId(name, signatureTypes.ed25519, material.publicKey) !== keyId) {
    throw badKey('signer key ID does not match its public key');
  }
  return Object.freeze({ name, keyId, type: signatureTypes.ed25519, material });
}

/**
 * formatSignerKey spells an Ed25519 private key as a golang.org/x/mod skey for `name`, or throws
 * `bad-key` for another key type or an invalid name. The result is secret.
 */
export function formatSignerKey(name: string, material: PrivateKeyMaterial): string {
  if (material.keyType !== 'ed25519') throw badKey('only Ed25519 keys have the PRIVATE+KEY form');
  if (!isValidKeyName(name)) throw badKey('invalid key name');
  const keyId = computeKeyId(name, signatureTypes.ed25519, material.publicKey);
  const seed = ed25519SeedFromPkcs8(material.pkcs8);
  const encoded = concatBytes(Uint8Array.of(signatureTypes.ed25519), seed);
  seed.fill(0);
  const text = `PRIVATE+KEY+${name}+${formatKeyId(keyId)}+${formatBase64(encoded)}`;
  encoded.fill(0);
  return text;
}

/**
 * assertPublicKey throws `bad-key` unless `publicKey` is a valid key for `type`: 32 bytes for
 * Ed25519 (0x01, 0x04), 1312 bytes for ML-DSA-44 (0x06), and for ECDSA (0x02) the canonical DER
 * SubjectPublicKeyInfo of a P-256 key (re-encoding it must give the same bytes).
 */
export function assertPublicKey(type: SignatureType, publicKey: Uint8Array): void {
  const keyType = keyTypeOfSignatureType(type);
  try {
    createVerifier(keyType, publicKey);
    if (keyType === 'ecdsa-p256' && !equalBytes(publicKeySpki(keyType, publicKey), publicKey)) {
      throw badKey('ECDSA public key is not in canonical DER');
    }
  } catch (error) {
    if (isVouchError(error, 'bad-key')) throw badKey(`not a valid ${keyType} public key for type 0x0${type}`);
    throw error;
  }
}

/** readUint32 reads the big-endian uint32 at the start of `bytes` (at least 4 bytes long). */
export function readUint32(bytes: Uint8Array): number {
  return (
    (((bytes[0] as number) << 24) |
      ((bytes[1] as number) << 16) |
      ((bytes[2] as number) << 8) |
      (bytes[3] as number)) >>>
    0
  );
}

/** formatUint32 writes a uint32 as 4 big-endian bytes. */
export function formatUint32(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function parseKeyId(text: string): number {
  if (!/^[0-9a-f]{8}$/.test(text)) throw badKey('key ID is not 8 lowercase hex digits');
  return Number.parseInt(text, 16);
}

function decodeKeyBase64(text: string, what: string): Uint8Array {
  try {
    return parseBase64(text, what);
  } catch {
    throw badKey(`${what} is not canonical base64`);
  }
}

function badKey(message: string): VouchError {
  return new VouchError('bad-key', message);
}
