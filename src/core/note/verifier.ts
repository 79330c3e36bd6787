/**
 * Signers and verifiers of signed-note signatures (https://c2sp.org/signed-note v1.0.0), and the
 * set of trusted verifiers a note is opened against.
 *
 * A {@link NoteSigner} wraps a core/crypto {@link Signer} with a key name, key ID and signature
 * type; a {@link NoteVerifier} checks one key's signatures. Both are interfaces so that a KMS, an
 * HSM, or the cosignature types of `../tlog/cosignature.ts` plug in alongside the plain types
 * made here: Ed25519 (0x01) and, for reading and writing transparency-dev witness notes, ECDSA
 * P-256 (0x02, ASN.1 DER signature over SHA-256 of the text). This module does not make
 * cosignatures (types 0x04 and 0x06 sign a different message than the note text).
 */

import { equalBytes } from '../bytes/index.ts';
import type { Signer } from '../crypto/index.ts';
import { createVerifier } from '../crypto/index.ts';
import { VouchError } from '../errors.ts';
import {
  computeKeyId,
  formatKeyId,
  isValidKeyName,
  parseVerifierKey,
  type SignatureType,
  signatureTypes,
  type VerifierKey,
} from './keys.ts';

/**
 * NoteSigner signs note texts for one key. `sign` receives the exact note text bytes (ending in
 * a newline) and returns the signature bytes that follow the 4-byte key ID in a signature line;
 * it rejects when the key is unavailable.
 */
export interface NoteSigner {
  readonly name: string;
  /** keyId is the signed-note key ID, a uint32. */
  readonly keyId: number;
  /** type is the signature type byte (see `signatureTypes`). */
  readonly type: number;
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * NoteVerifier checks signatures of one key over note texts. `verify` returns false for a bad
 * or malformed signature and never throws. A timestamped cosignature verifier also has
 * `timestampOf`, which reads the timestamp of a signature `verify` has accepted.
 */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
  timestampOf?(signature: Uint8Array): bigint;
}

/**
 * Verifiers is the set of trusted keys a note is opened against. `verifier` returns the
 * verifier for a (name, key ID) pair, or undefined for an unknown key — whose signatures are
 * then recorded as unverified, never accepted.
 */
export interface Verifiers {
  verifier(name: string, keyId: number): NoteVerifier | undefined;
}

/**
 * createNoteSigner wraps a core/crypto signer as a note signer named `name` (by default the
 * signer's own name): Ed25519 keys sign as type 0x01, ECDSA P-256 keys as type 0x02. It throws
 * `bad-key` for ML-DSA-44, which signs notes only as cosignatures (`createCosigner`), and
 * `invalid-argument` for an invalid key name.
 */
export function createNoteSigner(signer: Signer, name: string = signer.name): NoteSigner {
  if (!isValidKeyName(name)) throw new VouchError('invalid-argument', 'invalid note key name');
  let type: SignatureType;
  if (signer.keyType === 'ed25519') type = signatureTypes.ed25519;
  else if (signer.keyType === 'ecdsa-p256') type = signatureTypes.ecdsa;
  else throw new VouchError('bad-key', `a ${signer.keyType} key cannot make plain note signatures`);
  const publicKey = new Uint8Array(signer.publicKey);
  return Object.freeze({
    name,
    keyId: computeKeyId(name, type, publicKey),
    type,
    publicKey,
    sign: (message: Uint8Array) => signer.sign(message),
  });
}

/**
 * createNoteVerifier returns the verifier of a type 0x01 or 0x02 key, given as a vkey string or
 * a parsed {@link VerifierKey}. It throws `bad-key` for a malformed vkey, and for a cosignature
 * key (0x04, 0x06), whose verifier is `createCosignatureVerifier` in core/tlog.
 */
export function createNoteVerifier(key: VerifierKey | string): NoteVerifier {
  const parsed = typeof key === 'string' ? parseVerifierKey(key) : key;
  if (parsed.type !== signatureTypes.ed25519 && parsed.type !== signatureTypes.ecdsa) {
    throw new VouchError(
      'bad-key',
      `key type 0x0${parsed.type} is a cosignature key; use createCosignatureVerifier or createCheckpointVerifier`,
    );
  }
  const verifier = createVerifier(
    parsed.type === signatureTypes.ecdsa ? 'ecdsa-p256' : 'ed25519',
    parsed.publicKey,
  );
  return Object.freeze({
    name: parsed.name,
    keyId: parsed.keyId,
    type: parsed.type,
    publicKey: verifier.publicKey,
    verify: (message: Uint8Array, signature: Uint8Array) => verifier.verify(message, signature),
  });
}

/**
 * verifierSet builds a {@link Verifiers} from a list of verifiers. It throws `invalid-argument`
 * when two different keys share both a name and a key ID (an ambiguous trust configuration);
 * the same key listed twice is accepted once.
 */
export function verifierSet(verifiers: Iterable<NoteVerifier>): Verifiers {
  const byKey = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const id = lookupKey(v.name, v.keyId);
    const existing = byKey.get(id);
    if (existing !== undefined && existing !== v && !sameKey(existing, v)) {
      throw new VouchError('invalid-argument', `two trusted keys share the name and key ID ${id}`, {
        key: id,
      });
    }
    if (existing === undefined) byKey.set(id, v);
  }
  return Object.freeze({
    verifier: (name: string, keyId: number) => byKey.get(lookupKey(name, keyId)),
  });
}

function lookupKey(name: string, keyId: number): string {
  return `${name}+${formatKeyId(keyId)}`;
}

function sameKey(a: NoteVerifier, b: NoteVerifier): boolean {
  return a.type === b.type && equalBytes(a.publicKey, b.publicKey);
}
