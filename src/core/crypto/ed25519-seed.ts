/**
 * Conversion between a raw 32-byte Ed25519 private key seed (RFC 8032 §5.1.5) and its PKCS #8
 * DER encoding (RFC 8410 §7), so that keys kept as seeds — the Go `PRIVATE+KEY+...` signer keys
 * of golang.org/x/mod/sumdb/note — can go through {@link importPrivateKey}, which takes PKCS #8.
 *
 * The PKCS #8 form of an Ed25519 seed, as Node, OpenSSL and Go emit it, is a fixed 16-byte
 * prefix followed by the seed. This module handles only that form: LIMIT: a PKCS #8 v2
 * ("OneAsymmetricKey") encoding that also carries the public key or attributes is refused with
 * `bad-key` rather than parsed. Pure; no Node imports.
 */

import { concatBytes, equalBytes } from '../bytes/index.ts';
import { VouchError } from '../errors.ts';

// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 (id-Ed25519) }, OCTET STRING { OCTET STRING (32) } }
const pkcs8Prefix = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
);

/** ed25519SeedLength is the length in bytes of an Ed25519 private key seed. */
export const ed25519SeedLength = 32;

/** ed25519Pkcs8FromSeed wraps a 32-byte Ed25519 seed as PKCS #8 DER; it throws `bad-key` for another length. */
export function ed25519Pkcs8FromSeed(seed: Uint8Array): Uint8Array {
  if (seed.length !== ed25519SeedLength) {
    throw new VouchError('bad-key', `an Ed25519 seed must be ${ed25519SeedLength} bytes, not ${seed.length}`);
  }
  return concatBytes(pkcs8Prefix, seed);
}

/**
 * ed25519SeedFromPkcs8 returns a copy of the 32-byte seed inside an Ed25519 PKCS #8 DER key, or
 * throws `bad-key` when the bytes are not exactly the fixed-prefix form. The result is secret.
 */
export function ed25519SeedFromPkcs8(pkcs8: Uint8Array): Uint8Array {
  if (
    pkcs8.length !== pkcs8Prefix.length + ed25519SeedLength ||
    !equalBytes(pkcs8.subarray(0, pkcs8Prefix.length), pkcs8Prefix)
  ) {
    throw new VouchError('bad-key', 'not an Ed25519 private key in the plain PKCS #8 form');
  }
  return pkcs8.slice(pkcs8Prefix.length);
}
