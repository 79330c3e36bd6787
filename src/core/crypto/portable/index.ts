/**
 * The browser build of core/crypto: the same exports as `../index.ts`, with no Node imports, so
 * that the web dashboard runs core's verifiers unchanged. The build that ships core to the
 * browser substitutes this module for `../index.ts`; portable.test.ts checks that the export
 * names, the constants and the results agree with the Node module.
 *
 * What works: SHA-256 and SHA-512 (`./sha2.ts`), and for Ed25519 keys `createVerifier`,
 * `publicKeyId` and `publicKeySpki` (`./ed25519.ts`, which accepts exactly the signatures Node
 * accepts). What does not: every ECDSA P-256 and ML-DSA-44 operation, and everything that
 * handles secrets (AEAD, key files, signing, key generation, seeds). Those are present with the
 * same signatures and throw `invalid-argument` saying they are not available in the browser
 * build; they fail closed, never returning a made-up value. The constants keep their values.
 *
 * LIMIT: `errors.ts` has no "unsupported" code; `invalid-argument` (a well-formed but
 * unacceptable value) is the closest, and unlike `unavailable` it does not invite a retry.
 */

import { formatHex } from '../../bytes/index.ts';
import { VouchError } from '../../errors.ts';
import { ed25519PublicKeyLength, verifyEd25519 } from './ed25519.ts';
import { sha256 } from './sha2.ts';

export { assertKeyName, isValidKeyName, maxKeyNameLength } from '../key-name.ts';

// The types are the Node build's own: type-only exports are erased when the browser build strips
// types, so nothing of ../keys.ts, ../aead.ts or ../keyfile.ts is loaded.
import type { SealItem } from '../aead.ts';
import type { KeyFileInfo, OpenedKeyFile, ScryptParams, SealOptions } from '../keyfile.ts';
import type { KeyType, PrivateKeyMaterial, Signer, Verifier } from '../keys.ts';

export type { SealItem } from '../aead.ts';
export type { KeyFileInfo, OpenedKeyFile, ScryptParams, SealOptions } from '../keyfile.ts';
export type { KeyType, PrivateKeyMaterial, Signer, Verifier } from '../keys.ts';
export { sha256, sha512 } from './sha2.ts';

function notInBrowser(what: string): VouchError {
  return new VouchError(
    'invalid-argument',
    `${what} is not available in the browser build of Vouch's core (it needs node:crypto)`,
  );
}

// --- keys (../keys.ts) ---

/** keyTypes lists every {@link KeyType}; in the browser build only 'ed25519' verifies. */
export const keyTypes: readonly KeyType[] = Object.freeze(['ed25519', 'ecdsa-p256', 'ml-dsa-44']);

/** isKeyType reports whether a string names a supported key type. */
export function isKeyType(value: string): value is KeyType {
  return (keyTypes as readonly string[]).includes(value);
}

// SEQUENCE { SEQUENCE { OID 1.3.101.112 (id-Ed25519) }, BIT STRING (0 unused bits, 32 bytes) }
// (RFC 8410 §4): the fixed prefix of every Ed25519 SubjectPublicKeyInfo.
const ed25519SpkiPrefix = Uint8Array.of(
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x03,
  0x21,
  0x00,
);

function assertEd25519PublicKey(keyType: KeyType, publicKey: Uint8Array, what: string): void {
  if (keyType !== 'ed25519') throw notInBrowser(`${what} for ${keyType} keys`);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ed25519PublicKeyLength) {
    const length = publicKey instanceof Uint8Array ? publicKey.length : 'not bytes';
    throw new VouchError(
      'bad-key',
      `a ${keyType} public key must be ${ed25519PublicKeyLength} bytes, not ${length}`,
    );
  }
}

/**
 * createVerifier returns a {@link Verifier} for a 32-byte Ed25519 public key. Like the Node
 * build it throws `bad-key` only for a key of the wrong length: Node also accepts 32 bytes that
 * are not a point, and then no signature verifies. It throws `invalid-argument` for other key
 * types. The key is copied.
 */
export function createVerifier(keyType: KeyType, publicKey: Uint8Array): Verifier {
  assertEd25519PublicKey(keyType, publicKey, 'signature verification');
  const copy = new Uint8Array(publicKey);
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
        return verifyEd25519(copy, message, signature);
      } catch {
        return false; // only a non-byte argument gets here; it is just a bad signature
      }
    },
  });
}

/** publicKeyId is the lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo (Ed25519 only here). */
export function publicKeyId(keyType: KeyType, publicKey: Uint8Array): string {
  return formatHex(sha256(publicKeySpki(keyType, publicKey)));
}

/**
 * publicKeySpki returns the DER SubjectPublicKeyInfo of a 32-byte Ed25519 public key as a new
 * array; it throws `bad-key` for another length and `invalid-argument` for other key types.
 */
export function publicKeySpki(keyType: KeyType, publicKey: Uint8Array): Uint8Array {
  assertEd25519PublicKey(keyType, publicKey, 'publicKeySpki');
  const out = new Uint8Array(ed25519SpkiPrefix.length + publicKey.length);
  out.set(ed25519SpkiPrefix, 0);
  out.set(publicKey, ed25519SpkiPrefix.length);
  return out;
}

/** formatPublicKeyPem throws `invalid-argument`: it is not available in the browser build. */
export function formatPublicKeyPem(_keyType: KeyType, _publicKey: Uint8Array): string {
  throw notInBrowser('formatPublicKeyPem');
}

/** generateKey throws `invalid-argument`: key generation is not available in the browser build. */
export function generateKey(_keyType: KeyType): PrivateKeyMaterial {
  throw notInBrowser('generateKey');
}

/** importPrivateKey throws `invalid-argument`: private keys are not available in the browser build. */
export function importPrivateKey(_keyType: KeyType, _pkcs8: Uint8Array): PrivateKeyMaterial {
  throw notInBrowser('importPrivateKey');
}

/** createSigner throws `invalid-argument`: signing is not available in the browser build. */
export function createSigner(_name: string, _material: PrivateKeyMaterial): Signer {
  throw notInBrowser('createSigner');
}

// --- Ed25519 seeds (../ed25519-seed.ts) ---

/** ed25519SeedLength is the length in bytes of an Ed25519 private key seed. */
export const ed25519SeedLength = 32;

/** ed25519Pkcs8FromSeed throws `invalid-argument`: private keys are not available in the browser build. */
export function ed25519Pkcs8FromSeed(_seed: Uint8Array): Uint8Array {
  throw notInBrowser('ed25519Pkcs8FromSeed');
}

/** ed25519SeedFromPkcs8 throws `invalid-argument`: private keys are not available in the browser build. */
export function ed25519SeedFromPkcs8(_pkcs8: Uint8Array): Uint8Array {
  throw notInBrowser('ed25519SeedFromPkcs8');
}

// --- AEAD (../aead.ts) ---

/** aeadVersion is the first byte of every sealed value. */
export const aeadVersion = 0x01;

/** aeadKeyLength is the length of an AES-256 key in bytes. */
export const aeadKeyLength = 32;

/** aeadNonceLength is the GCM nonce length in bytes (96 bits). */
export const aeadNonceLength = 12;

/** aeadTagLength is the GCM tag length in bytes (128 bits). */
export const aeadTagLength = 16;

/** aeadOverhead is how many bytes sealing adds to a plaintext: version, nonce and tag. */
export const aeadOverhead = 1 + aeadNonceLength + aeadTagLength;

/** maxSealMany bounds the number of values one sealMany call seals. */
export const maxSealMany = 1 << 20;

/** AeadKey is a prepared AES-256 key; in the browser build none can be made. */
export class AeadKey {
  // One parameter, as in ../aead.ts, so the two classes have the same arity.
  private constructor(_key: never) {
    Object.freeze(this);
  }

  /** fromBytes throws `invalid-argument`: AEAD is not available in the browser build. */
  static fromBytes(_bytes: Uint8Array): AeadKey {
    throw notInBrowser('AeadKey.fromBytes');
  }
}

/** importAeadKey throws `invalid-argument`: AEAD is not available in the browser build. */
export function importAeadKey(_bytes: Uint8Array): AeadKey {
  throw notInBrowser('importAeadKey');
}

/** seal throws `invalid-argument`: AEAD is not available in the browser build. */
export function seal(_key: Uint8Array | AeadKey, _plaintext: Uint8Array, _aad: Uint8Array): Uint8Array {
  throw notInBrowser('seal');
}

/** sealMany throws `invalid-argument`: AEAD is not available in the browser build. */
export function sealMany(_key: Uint8Array | AeadKey, _items: readonly SealItem[]): Uint8Array[] {
  throw notInBrowser('sealMany');
}

/** open throws `invalid-argument`: AEAD is not available in the browser build. */
export function open(_key: Uint8Array | AeadKey, _sealed: Uint8Array, _aad: Uint8Array): Uint8Array {
  throw notInBrowser('open');
}

/** generateDataKey throws `invalid-argument`: AEAD is not available in the browser build. */
export function generateDataKey(): Uint8Array {
  throw notInBrowser('generateDataKey');
}

/** wrapKey throws `invalid-argument`: AEAD is not available in the browser build. */
export function wrapKey(_kek: Uint8Array | AeadKey, _dek: Uint8Array, _aad: Uint8Array): Uint8Array {
  throw notInBrowser('wrapKey');
}

/** unwrapKey throws `invalid-argument`: AEAD is not available in the browser build. */
export function unwrapKey(_kek: Uint8Array | AeadKey, _wrapped: Uint8Array, _aad: Uint8Array): Uint8Array {
  throw notInBrowser('unwrapKey');
}

// --- key files (../keyfile.ts) ---

/** keyFileMagic is the first line of every version 1 key file. */
export const keyFileMagic = 'vouch-key-file v1';

/** maxKeyFileSize bounds a key file in bytes. */
export const maxKeyFileSize = 64 * 1024;

/** defaultScryptParams is the key file default: N = 2^17, r = 8, p = 1. */
export const defaultScryptParams: ScryptParams = Object.freeze({ log2N: 17, r: 8, p: 1 });

/** scryptLimits bounds the scrypt parameters a key file may ask for. */
export const scryptLimits = Object.freeze({
  minLog2N: 10,
  maxLog2N: 20,
  maxR: 32,
  maxP: 16,
  maxWork: 256 * 1024 * 1024,
});

/** sealKeyFile rejects with `invalid-argument`: key files are not available in the browser build. */
export async function sealKeyFile(
  _material: PrivateKeyMaterial,
  _name: string,
  _passphrase: string | undefined,
  _options: SealOptions = {},
): Promise<Uint8Array> {
  throw notInBrowser('sealKeyFile');
}

/** inspectKeyFile throws `invalid-argument`: key files are not available in the browser build. */
export function inspectKeyFile(_bytes: Uint8Array): KeyFileInfo {
  throw notInBrowser('inspectKeyFile');
}

/** openKeyFile rejects with `invalid-argument`: key files are not available in the browser build. */
export async function openKeyFile(
  _bytes: Uint8Array,
  _passphrase: string | undefined,
): Promise<OpenedKeyFile> {
  throw notInBrowser('openKeyFile');
}
