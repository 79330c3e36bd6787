/**
 * Authenticated encryption for data at rest: AES-256-GCM (NIST SP 800-38D) with a random 96-bit
 * nonce, in one versioned byte layout, and the same construction used to wrap a data key under a
 * key-encryption key (DESIGN.md "The data flow" step 3: a key per tenant, wrapped by the site's
 * key-encryption key, with tenant, site and event id as associated data).
 *
 * Sealed layout, version 1 (29 bytes of overhead):
 *
 * ```
 * offset 0    1 byte   version = 0x01
 * offset 1    12 bytes nonce (random)
 * offset 13   n bytes  ciphertext (same length as the plaintext)
 * offset 13+n 16 bytes GCM tag
 * ```
 *
 * The GCM associated data is the version byte followed by the caller's `aad`, so the version is
 * authenticated too and a sealed value cannot be replayed under another layout. Opening checks
 * the version before decrypting and reports every authentication failure (wrong key, altered
 * version, nonce, ciphertext, tag or associated data) as one `bad-digest` error, with no detail
 * of which, as an AEAD must.
 *
 * LIMIT: random 96-bit nonces bound one key to about 2^32 seals (SP 800-38D §8.3) before the
 * chance of a repeated nonce passes 2^-32; a tenant key that seals more must be rotated (the
 * store counts). Key wrapping uses the same GCM construction rather than AES-KW (RFC 3394), so
 * wrapped keys are 61 bytes and bind associated data, which AES-KW cannot. Keys live in ordinary
 * memory; nothing here zeroises them.
 *
 * Performance: OpenSSL sets up an AES key schedule each time a raw key is given: sealing a
 * 150-byte event took about 30 µs with a raw key and 13 µs with a prepared one on the (shared)
 * development machine, so a store that seals many
 * events under one tenant key imports it once ({@link importAeadKey}) and passes the
 * {@link AeadKey}; every function here accepts either form.
 */

import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { concatBytes } from '../bytes/index.ts';
import { VouchError } from '../errors.ts';

/** aeadVersion is the first byte of every value {@link seal} produces. */
export const aeadVersion = 0x01;

/** aeadKeyLength is the length of an AES-256 key in bytes. */
export const aeadKeyLength = 32;

/** aeadNonceLength is the GCM nonce length in bytes (96 bits). */
export const aeadNonceLength = 12;

/** aeadTagLength is the GCM tag length in bytes (128 bits). */
export const aeadTagLength = 16;

/** aeadOverhead is how many bytes {@link seal} adds to a plaintext: version, nonce and tag. */
export const aeadOverhead = 1 + aeadNonceLength + aeadTagLength;

let keyObjectOf: (key: AeadKey) => KeyObject;

/**
 * AeadKey is a 32-byte AES-256 key prepared once for many seals and opens (see the module
 * comment). It is opaque: the key bytes cannot be read back from it.
 */
export class AeadKey {
  readonly #key: KeyObject;

  private constructor(key: KeyObject) {
    this.#key = key;
    Object.freeze(this);
  }

  static {
    keyObjectOf = (key) => key.#key;
  }

  /** fromBytes is {@link importAeadKey}. */
  static fromBytes(bytes: Uint8Array): AeadKey {
    assertKeyBytes(bytes, 'the encryption key');
    return new AeadKey(createSecretKey(bytes));
  }
}

/** importAeadKey prepares a 32-byte key for repeated use; it throws `bad-key` for another length. The bytes are copied. */
export function importAeadKey(bytes: Uint8Array): AeadKey {
  return AeadKey.fromBytes(bytes);
}

function assertKeyBytes(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== aeadKeyLength) {
    throw new VouchError('bad-key', `${what} must be ${aeadKeyLength} bytes (AES-256)`, { key: what });
  }
}

function cipherKey(key: Uint8Array | AeadKey, what: string): Uint8Array | KeyObject {
  if (key instanceof AeadKey) return keyObjectOf(key);
  assertKeyBytes(key, what);
  return key;
}

function gcmAad(aad: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(aeadVersion), aad);
}

/**
 * seal encrypts `plaintext` under a 32-byte `key`, binding `aad`, with a fresh random nonce, and
 * returns the version 1 layout (see the module comment) as a new array owned by the caller. It
 * throws `bad-key` for a key of the wrong length.
 */
export function seal(key: Uint8Array | AeadKey, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const k = cipherKey(key, 'the encryption key');
  const nonce = plain(randomBytes(aeadNonceLength));
  const cipher = createCipheriv('aes-256-gcm', k, nonce, { authTagLength: aeadTagLength });
  cipher.setAAD(gcmAad(aad));
  const body = cipher.update(plaintext);
  const last = cipher.final();
  return concatBytes(Uint8Array.of(aeadVersion), nonce, body, last, cipher.getAuthTag());
}

/**
 * open decrypts a value made by {@link seal} with the same key and `aad` and returns the
 * plaintext as a new array. It throws `bad-key` for a key of the wrong length, `malformed` for a
 * value shorter than {@link aeadOverhead} or of another version, and `bad-digest` when
 * authentication fails: the key is wrong, or the version, nonce, ciphertext, tag or associated
 * data was altered. Nothing of an unauthenticated plaintext is returned.
 */
export function open(key: Uint8Array | AeadKey, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  const k = cipherKey(key, 'the encryption key');
  if (sealed.length < aeadOverhead) {
    throw new VouchError('malformed', `a sealed value is at least ${aeadOverhead} bytes`);
  }
  if (sealed[0] !== aeadVersion) {
    throw new VouchError('malformed', `a sealed value of an unknown layout version (${sealed[0]})`);
  }
  const nonce = sealed.subarray(1, 1 + aeadNonceLength);
  const body = sealed.subarray(1 + aeadNonceLength, sealed.length - aeadTagLength);
  const tag = sealed.subarray(sealed.length - aeadTagLength);
  const decipher = createDecipheriv('aes-256-gcm', k, nonce, { authTagLength: aeadTagLength });
  decipher.setAAD(gcmAad(aad));
  decipher.setAuthTag(tag);
  const out = decipher.update(body);
  try {
    return concatBytes(out, decipher.final());
  } catch {
    out.fill(0);
    throw new VouchError(
      'bad-digest',
      'authenticated decryption failed: wrong key, or the ciphertext, nonce or associated data was altered',
    );
  }
}

/** generateDataKey returns a fresh random 32-byte AES-256 key from the system's secure random source. */
export function generateDataKey(): Uint8Array {
  return plain(randomBytes(aeadKeyLength));
}

/**
 * wrapKey seals a 32-byte data key `dek` under the key-encryption key `kek`, binding `aad` (the
 * site and tenant it belongs to), in the {@link seal} layout: 61 bytes. It throws `bad-key` when
 * either key is not 32 bytes.
 */
export function wrapKey(kek: Uint8Array | AeadKey, dek: Uint8Array, aad: Uint8Array): Uint8Array {
  if (!(kek instanceof AeadKey)) assertKeyBytes(kek, 'the key-encryption key');
  assertKeyBytes(dek, 'the data key');
  return seal(kek, dek, aad);
}

/**
 * unwrapKey opens a key wrapped by {@link wrapKey} with the same `kek` and `aad`. It throws as
 * {@link open} does, and `bad-key` when the authenticated content is not a 32-byte key.
 */
export function unwrapKey(kek: Uint8Array | AeadKey, wrapped: Uint8Array, aad: Uint8Array): Uint8Array {
  if (!(kek instanceof AeadKey)) assertKeyBytes(kek, 'the key-encryption key');
  const dek = open(kek, wrapped, aad);
  if (dek.length !== aeadKeyLength) {
    dek.fill(0);
    throw new VouchError('bad-key', `a wrapped data key must be ${aeadKeyLength} bytes`);
  }
  return dek;
}

// Buffers must not leak out of core/crypto (see hash.ts).
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
