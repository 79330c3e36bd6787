/**
 * Key pairs, signers and verifiers for the three algorithms Vouch supports: Ed25519 (the
 * default), ECDSA P-256 (where an ecosystem format needs it) and ML-DSA-44 (post-quantum, FIPS
 * 204, in Node 24's crypto).
 *
 * A {@link Signer} is the one interface everything that signs depends on; key files are one
 * implementation and an HSM or KMS can stand behind it later, which is why `sign` is async.
 * Private keys travel as PKCS #8 DER, the form every tool understands. Public keys are in each
 * algorithm's raw form used by the formats we speak: Ed25519 the 32-byte point (RFC 8032),
 * ECDSA P-256 the DER SubjectPublicKeyInfo (as signed-note type 0x02 and DSSE/TUF tooling use),
 * ML-DSA-44 the 1312-byte encoded public key (FIPS 204). ECDSA signatures are ASN.1 DER.
 *
 * This does not derive note key IDs or vkeys; `core/note` does that from `publicKey`.
 */

import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { formatHex, parseBase64 } from '../bytes/index.ts';
import { VouchError } from '../errors.ts';
import { sha256 } from './hash.ts';

/** KeyType names a signature algorithm as Vouch spells it on the command line and in key files. */
export type KeyType = 'ed25519' | 'ecdsa-p256' | 'ml-dsa-44';

/** keyTypes lists every supported {@link KeyType}. */
export const keyTypes: readonly KeyType[] = Object.freeze(['ed25519', 'ecdsa-p256', 'ml-dsa-44']);

/** isKeyType reports whether a string names a supported key type. */
export function isKeyType(value: string): value is KeyType {
  return (keyTypes as readonly string[]).includes(value);
}

/**
 * Signer produces signatures with a private key it may never reveal. `name` is the human key
 * name (a signed-note key name, a TUF key label); `keyId` is the lowercase hex SHA-256 of the
 * public key's DER SubjectPublicKeyInfo, a stable algorithm-independent identifier. Formats that
 * define their own key IDs (signed-note, TUF) derive them from `publicKey`.
 */
export interface Signer {
  readonly name: string;
  readonly keyType: KeyType;
  readonly publicKey: Uint8Array;
  readonly keyId: string;
  /** sign returns the signature of `message`; it rejects if the key is unavailable. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Verifier checks signatures for one public key; `verify` never throws on a bad signature. */
export interface Verifier {
  readonly keyType: KeyType;
  readonly publicKey: Uint8Array;
  readonly keyId: string;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** PrivateKeyMaterial is a private key as PKCS #8 DER together with its public key. Secret. */
export interface PrivateKeyMaterial {
  readonly keyType: KeyType;
  readonly pkcs8: Uint8Array;
  readonly publicKey: Uint8Array;
}

const publicKeyLengths: Record<KeyType, number | undefined> = {
  ed25519: 32,
  'ecdsa-p256': undefined, // DER, validated by parsing
  'ml-dsa-44': 1312,
};

/** generateKey makes a fresh key pair of the given type from the system's secure random source. */
export function generateKey(keyType: KeyType): PrivateKeyMaterial {
  const pair =
    keyType === 'ecdsa-p256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : keyType === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ml-dsa-44');
  return Object.freeze({
    keyType,
    pkcs8: plain(pair.privateKey.export({ format: 'der', type: 'pkcs8' })),
    publicKey: exportPublicKey(keyType, pair.publicKey),
  });
}

/**
 * importPrivateKey parses PKCS #8 DER of the given type and returns it with its public key, or
 * throws `bad-key` when the bytes are not a private key of that type.
 */
export function importPrivateKey(keyType: KeyType, pkcs8: Uint8Array): PrivateKeyMaterial {
  const key = privateKeyObject(keyType, pkcs8);
  return Object.freeze({
    keyType,
    pkcs8: new Uint8Array(pkcs8),
    publicKey: exportPublicKey(keyType, createPublicKey(key)),
  });
}

/** createSigner returns an in-memory {@link Signer} for a private key; the key stays inside it. */
export function createSigner(name: string, material: PrivateKeyMaterial): Signer {
  const key = privateKeyObject(material.keyType, material.pkcs8);
  const publicKey = new Uint8Array(material.publicKey);
  const keyId = publicKeyId(material.keyType, publicKey);
  return Object.freeze({
    name,
    keyType: material.keyType,
    publicKey,
    keyId,
    async sign(message: Uint8Array): Promise<Uint8Array> {
      return plain(nodeSign(material.keyType === 'ecdsa-p256' ? 'sha256' : null, message, key));
    },
  });
}

/** createVerifier returns a {@link Verifier} for a public key, or throws `bad-key` if it does not parse. */
export function createVerifier(keyType: KeyType, publicKey: Uint8Array): Verifier {
  const key = publicKeyObject(keyType, publicKey);
  const copy = new Uint8Array(publicKey);
  const digest = keyType === 'ecdsa-p256' ? 'sha256' : null;
  let keyId: string | undefined; // computed on first use: most verifiers never need it
  return Object.freeze({
    keyType,
    publicKey: copy,
    get keyId(): string {
      keyId ??= publicKeyId(keyType, copy);
      return keyId;
    },
    verify(message: Uint8Array, signature: Uint8Array): boolean {
      try {
        return nodeVerify(digest, message, key, signature);
      } catch {
        return false; // malformed signature encodings are just bad signatures
      }
    },
  });
}

/** publicKeyId is the lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo. */
export function publicKeyId(keyType: KeyType, publicKey: Uint8Array): string {
  return formatHex(sha256(publicKeySpki(keyType, publicKey)));
}

/** publicKeySpki returns the DER SubjectPublicKeyInfo of a public key in Vouch's raw form. */
export function publicKeySpki(keyType: KeyType, publicKey: Uint8Array): Uint8Array {
  return plain(publicKeyObject(keyType, publicKey).export({ format: 'der', type: 'spki' }));
}

/** formatPublicKeyPem returns the public key as a PEM "PUBLIC KEY" (SPKI) block. */
export function formatPublicKeyPem(keyType: KeyType, publicKey: Uint8Array): string {
  return publicKeyObject(keyType, publicKey).export({ format: 'pem', type: 'spki' }).toString();
}

function exportPublicKey(keyType: KeyType, key: KeyObject): Uint8Array {
  if (keyType === 'ecdsa-p256') return plain(key.export({ format: 'der', type: 'spki' }));
  const jwk = key.export({ format: 'jwk' }) as { x?: string; pub?: string };
  const raw = keyType === 'ed25519' ? jwk.x : jwk.pub;
  if (raw === undefined) throw new VouchError('invariant', `internal error: no public key in ${keyType} JWK`);
  return base64UrlToBytes(raw);
}

function privateKeyObject(keyType: KeyType, pkcs8: Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new VouchError('bad-key', `not a ${keyType} private key (PKCS #8)`, {}, { cause });
  }
  assertKeyObjectType(key, keyType);
  return key;
}

function publicKeyObject(keyType: KeyType, publicKey: Uint8Array): KeyObject {
  const expected = publicKeyLengths[keyType];
  if (expected !== undefined && publicKey.length !== expected) {
    throw new VouchError(
      'bad-key',
      `a ${keyType} public key must be ${expected} bytes, not ${publicKey.length}`,
    );
  }
  let key: KeyObject;
  try {
    if (keyType === 'ecdsa-p256') {
      key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
    } else if (keyType === 'ed25519') {
      key = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: bytesToBase64Url(publicKey) },
        format: 'jwk',
      });
    } else {
      key = createPublicKey({
        key: { kty: 'AKP', alg: 'ML-DSA-44', pub: bytesToBase64Url(publicKey) },
        format: 'jwk',
      });
    }
  } catch (cause) {
    throw new VouchError('bad-key', `not a valid ${keyType} public key`, {}, { cause });
  }
  assertKeyObjectType(key, keyType);
  return key;
}

function assertKeyObjectType(key: KeyObject, keyType: KeyType): void {
  const actual = key.asymmetricKeyType;
  const ok =
    keyType === 'ecdsa-p256'
      ? actual === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      : actual === keyType;
  if (!ok) throw new VouchError('bad-key', `expected a ${keyType} key, found ${actual ?? 'a symmetric key'}`);
}

function base64UrlToBytes(text: string): Uint8Array {
  const std = text.replace(/-/g, '+').replace(/_/g, '/');
  return parseBase64(std + '='.repeat((4 - (std.length % 4)) % 4), 'JWK key');
}

function bytesToBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
