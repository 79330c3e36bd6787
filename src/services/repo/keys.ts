/**
 * The repository's keys as TUF key objects (core/tuf/keys.ts) with human names: the vendor's
 * release key and the supervisor's approver key arrive as signed-note vkeys (`vouch key show`),
 * the offline root keys and the online snapshot and timestamp keys as key files (signers) or
 * public keys. Names are kept in repo.json (`keyNames`) so that a refusal says who has not signed.
 */

import type { KeyType, Signer } from '../../core/crypto/index.ts';
import { VouchError } from '../../core/errors.ts';
import type { JsonObject } from '../../core/json/index.ts';
import { keyTypeOfSignatureType, parseVerifierKey, signatureTypes } from '../../core/note/keys.ts';
import { tufKeyId, tufKeyObject } from '../../core/tuf/keys.ts';

/** NamedKey is a TUF key object, its key ID and the name of whoever holds it. */
export interface NamedKey {
  readonly name: string;
  readonly keyid: string;
  readonly key: JsonObject;
}

/** PublicKey is a public key in Vouch's raw form with a name. */
export interface PublicKey {
  readonly name: string;
  readonly keyType: KeyType;
  readonly publicKey: Uint8Array;
}

/** namedKeyOf returns the TUF key of a public key or signer (`invalid-argument` for ML-DSA-44). */
export function namedKeyOf(key: PublicKey | Signer): NamedKey {
  const object = tufKeyObject(key.keyType, key.publicKey);
  return Object.freeze({ name: key.name, keyid: tufKeyId(object), key: object });
}

/**
 * namedKeyOfVkey converts a signed-note vkey (Ed25519 type 0x01 or ECDSA P-256 type 0x02) to the
 * TUF key of the same public key, named like the vkey. Throws `bad-key` for a malformed vkey and
 * `invalid-argument` for a type TUF cannot express (cosignature and ML-DSA keys).
 */
export function namedKeyOfVkey(vkey: string): NamedKey {
  const parsed = parseVerifierKey(vkey);
  if (parsed.type !== signatureTypes.ed25519 && parsed.type !== signatureTypes.ecdsa)
    throw new VouchError(
      'invalid-argument',
      `key ${parsed.name} is not an Ed25519 or ECDSA P-256 signing key`,
      {
        key: parsed.name,
      },
    );
  return namedKeyOf({
    name: parsed.name,
    keyType: keyTypeOfSignatureType(parsed.type),
    publicKey: parsed.publicKey,
  });
}

/** describeKeys names key IDs for a message, using `names` and falling back to a short key ID. */
export function describeKeys(keyids: readonly string[], names: Readonly<Record<string, string>>): string {
  return keyids.map((id) => names[id] ?? `key ${id.slice(0, 16)}`).join(', ');
}
