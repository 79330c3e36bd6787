/**
 * Signing TUF metadata (spec §4.2): each signature is over the OLPC canonical JSON of `signed`,
 * hex encoded, under the signer's spec-correct TUF key ID. Several parties may sign one file in
 * turn (the targets threshold of 2 is the vendor's release key and the supervisor's approver
 * key), so {@link addSignature} adds one signature and keeps the others. This module does not
 * check that a signer belongs to the role; verify.ts and the repository do.
 */

import { formatHex } from '../bytes/index.ts';
import type { Signer } from '../crypto/index.ts';
import { VouchError } from '../errors.ts';
import { formatCanonicalJson, type JsonObject } from '../json/index.ts';
import { tufKeyForSigner } from './keys.ts';
import type { Envelope, TufSignature } from './metadata.ts';

/**
 * signMetadata signs `signed` with every signer, in order, and returns the signatures. Throws
 * `invalid-argument` if two signers share a key (a key ID may appear once, spec §4.2) or a
 * signer's type has no TUF scheme; rejects if a signer fails.
 */
export async function signMetadata(signed: JsonObject, signers: readonly Signer[]): Promise<TufSignature[]> {
  const message = formatCanonicalJson(signed);
  const out: TufSignature[] = [];
  for (const signer of signers) {
    const { keyid } = tufKeyForSigner(signer);
    if (out.some((s) => s.keyid === keyid)) {
      throw new VouchError('invalid-argument', `key ${keyid.slice(0, 16)} signs twice`, { key: keyid });
    }
    out.push(Object.freeze({ keyid, sig: formatHex(await signer.sign(message)) }));
  }
  return out;
}

/**
 * addSignature signs an existing file's `signed` with one more key and returns the envelope
 * with the other signatures kept, in their order; a previous signature under the same key ID is
 * replaced in place. `signed` is not changed, so earlier signatures stay valid.
 */
export async function addSignature(envelope: Envelope, signer: Signer): Promise<Envelope> {
  const [signature] = await signMetadata(envelope.signed, [signer]);
  if (signature === undefined) throw new VouchError('invariant', 'internal error: no signature made');
  const signatures = [...envelope.signatures];
  const at = signatures.findIndex((s) => s.keyid === signature.keyid);
  if (at >= 0) signatures[at] = signature;
  else signatures.push(signature);
  return Object.freeze({ signed: envelope.signed, signatures: Object.freeze(signatures) });
}
