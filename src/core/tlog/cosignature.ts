/**
 * Timestamped checkpoint cosignatures (https://c2sp.org/tlog-cosignature, C2SP main as of
 * 2026): Ed25519 `cosignature/v1` (signed-note type 0x04) and ML-DSA-44 `subtree/v1` (type
 * 0x06). A cosignature is a note signature line on a checkpoint whose signature bytes are a
 * `timestamped_signature`: u64 big-endian POSIX timestamp || signature (64 bytes for Ed25519,
 * 2420 for ML-DSA-44). What is signed differs from the note text:
 *
 * - type 0x04 signs `"cosignature/v1\ntime <decimal timestamp>\n"` followed by the whole
 *   checkpoint text, extension lines included;
 * - type 0x06 signs the binary `cosigned_message`: the 12 bytes "subtree/v1\n\0", the cosigner
 *   name (u8 length prefix), the timestamp (u64), the origin (u8 length prefix), start (u64),
 *   end (u64) and the 32-byte hash. For a checkpoint, start is 0, end the tree size and hash its
 *   root, so extension lines are NOT covered; unlike 0x04 it commits to the cosigner name.
 *
 * Timestamps are inputs, never read from a clock here; signing refuses 0 and anything above
 * 2^63 - 1 (the spec's bound). Verification accepts a zero ML-DSA timestamp, which the spec
 * allows to mean "no statement that this is the largest tree seen"; judging freshness is the
 * caller's policy. Cosigner verifiers are ordinary {@link NoteVerifier}s, so they plug into
 * `openNote`, which reports each verified timestamp. This module does not sign subtrees with a
 * non-zero start (`formatSubtreeV1Message` builds their message for callers that do).
 */

import { concatBytes, formatUint64, parseUint64, toBytes, toText } from '../bytes/index.ts';
import { createVerifier, type Signer } from '../crypto/index.ts';
import { VouchError } from '../errors.ts';
import {
  computeKeyId,
  formatKeyId,
  isValidKeyName,
  parseVerifierKey,
  type SignatureType,
  signatureTypes,
  type VerifierKey,
} from '../note/keys.ts';
import { type NoteSignature, signText } from '../note/note.ts';
import { createNoteVerifier, type NoteSigner, type NoteVerifier } from '../note/verifier.ts';
import { parseCheckpoint } from './checkpoint.ts';

/** maxCosignatureTimestamp is the largest timestamp the spec allows, 2^63 - 1. */
export const maxCosignatureTimestamp = (1n << 63n) - 1n;

const signatureLengths: Readonly<Record<number, number>> = Object.freeze({
  [signatureTypes.cosignatureV1]: 64,
  [signatureTypes.mlDsa44Cosignature]: 2420,
});

const subtreeV1Label = toBytes('subtree/v1\n\0');

/** TimestampedSignature is the decoded signature bytes of a cosignature line (after the key ID). */
export interface TimestampedSignature {
  readonly timestamp: bigint;
  readonly signature: Uint8Array;
}

/** Cosignature is a note signature line of a cosigner together with the timestamp it signed. */
export interface Cosignature extends NoteSignature {
  readonly timestamp: bigint;
}

/** SubtreeV1Statement is what an ML-DSA-44 `subtree/v1` cosignature signs. */
export interface SubtreeV1Statement {
  readonly cosignerName: string;
  readonly timestamp: bigint;
  readonly origin: string;
  readonly start: bigint;
  readonly end: bigint;
  readonly hash: Uint8Array;
}

/** CosignerOptions names the cosigner key (default: the signer's name) and gives the timestamp to sign. */
export interface CosignerOptions {
  readonly name?: string;
  /** timestamp is the POSIX time to sign, or a function called once per signature (an injected clock). */
  readonly timestamp: bigint | (() => bigint);
}

/**
 * formatCosignatureV1Message returns the bytes an Ed25519 cosignature/v1 signs for a checkpoint
 * text (ending in "\n") at `timestamp`; it throws `invalid-argument` for a timestamp out of range.
 */
export function formatCosignatureV1Message(checkpointText: string, timestamp: bigint): Uint8Array {
  assertTimestampRange(timestamp);
  return toBytes(`cosignature/v1\ntime ${timestamp}\n${checkpointText}`);
}

/**
 * formatSubtreeV1Message returns the binary `cosigned_message` an ML-DSA-44 cosignature signs.
 * It throws `invalid-argument` unless the name and origin are 1 to 255 UTF-8 bytes, start ≤ end
 * < 2^64, the hash is 32 bytes, the timestamp is in range, and the timestamp is 0 when start is not.
 */
export function formatSubtreeV1Message(statement: SubtreeV1Statement): Uint8Array {
  const name = shortString(statement.cosignerName, 'cosigner name');
  const origin = shortString(statement.origin, 'origin');
  assertTimestampRange(statement.timestamp);
  const { start, end } = statement;
  if (typeof start !== 'bigint' || typeof end !== 'bigint' || start < 0n || start > end || end >= 1n << 64n) {
    throw new VouchError('invalid-argument', 'subtree range must satisfy 0 <= start <= end < 2^64');
  }
  if (start !== 0n && statement.timestamp !== 0n) {
    throw new VouchError('invalid-argument', 'a subtree with a non-zero start must have timestamp 0');
  }
  if (!(statement.hash instanceof Uint8Array) || statement.hash.length !== 32) {
    throw new VouchError('invalid-argument', 'subtree hash must be 32 bytes');
  }
  return concatBytes(
    subtreeV1Label,
    Uint8Array.of(name.length),
    name,
    formatUint64(statement.timestamp),
    Uint8Array.of(origin.length),
    origin,
    formatUint64(start),
    formatUint64(end),
    statement.hash,
  );
}

/**
 * parseTimestampedSignature splits the signature bytes of a type 0x04 or 0x06 cosignature into
 * timestamp and signature, or throws `malformed` for the wrong length or a timestamp above
 * 2^63 - 1 (and `invalid-argument` for another type). It does not verify anything.
 */
export function parseTimestampedSignature(type: number, bytes: Uint8Array): TimestampedSignature {
  const length = signatureLengths[type];
  if (length === undefined) throw new VouchError('invalid-argument', 'not a timestamped cosignature type');
  if (bytes.length !== 8 + length) throw new VouchError('malformed', 'cosignature has the wrong length');
  const timestamp = parseUint64(bytes, 0);
  if (timestamp > maxCosignatureTimestamp)
    throw new VouchError('malformed', 'cosignature timestamp is above 2^63 - 1');
  return Object.freeze({ timestamp, signature: bytes.slice(8) });
}

/** formatTimestampedSignature encodes timestamp || signature; it throws `invalid-argument` for a timestamp out of range. */
export function formatTimestampedSignature(value: TimestampedSignature): Uint8Array {
  assertTimestampRange(value.timestamp);
  return concatBytes(formatUint64(value.timestamp), value.signature);
}

/**
 * createCosigner turns a core/crypto signer into a note signer that cosigns checkpoints:
 * Ed25519 keys as cosignature/v1 (type 0x04), ML-DSA-44 keys as subtree/v1 (type 0x06). Its
 * `sign` takes a checkpoint text and throws `malformed` for anything else, and
 * `invalid-argument` when the timestamp is 0, above 2^63 - 1 or not a bigint. The key ID
 * differs from the same key's type 0x01 ID. It throws `bad-key` for an ECDSA key and
 * `invalid-argument` for an invalid name.
 */
export function createCosigner(signer: Signer, options: CosignerOptions): NoteSigner {
  const name = options.name ?? signer.name;
  if (!isValidKeyName(name)) throw new VouchError('invalid-argument', 'invalid cosigner key name');
  let type: SignatureType;
  if (signer.keyType === 'ed25519') type = signatureTypes.cosignatureV1;
  else if (signer.keyType === 'ml-dsa-44') type = signatureTypes.mlDsa44Cosignature;
  else throw new VouchError('bad-key', `a ${signer.keyType} key cannot make cosignatures`);
  const publicKey = new Uint8Array(signer.publicKey);
  const expectedLength = signatureLengths[type] as number;
  return Object.freeze({
    name,
    keyId: computeKeyId(name, type, publicKey),
    type,
    publicKey,
    async sign(message: Uint8Array): Promise<Uint8Array> {
      const text = toText(message, 'checkpoint');
      const checkpoint = parseCheckpoint(text);
      const timestamp = typeof options.timestamp === 'function' ? options.timestamp() : options.timestamp;
      if (typeof timestamp !== 'bigint' || timestamp === 0n) {
        throw new VouchError('invalid-argument', 'a cosignature timestamp must be a non-zero bigint');
      }
      const signed =
        type === signatureTypes.cosignatureV1
          ? formatCosignatureV1Message(text, timestamp)
          : formatSubtreeV1Message({
              cosignerName: name,
              timestamp,
              origin: checkpoint.origin,
              start: 0n,
              end: checkpoint.size,
              hash: checkpoint.root,
            });
      const signature = await signer.sign(signed);
      if (signature.length !== expectedLength) {
        throw new VouchError('invariant', `internal error: ${signer.keyType} signature of unexpected length`);
      }
      return formatTimestampedSignature({ timestamp, signature });
    },
  });
}

/**
 * signCosignature cosigns a checkpoint text at `timestamp` (see {@link createCosigner}) and
 * returns the signature line's fields together with that timestamp — what a witness returns.
 */
export async function signCosignature(
  signer: Signer,
  checkpointText: string,
  timestamp: bigint,
  name: string = signer.name,
): Promise<Cosignature> {
  const signature = await signText(checkpointText, createCosigner(signer, { name, timestamp }));
  return Object.freeze({ ...signature, timestamp });
}

/**
 * createCosignatureVerifier returns the verifier of a cosigner key (type 0x04 or 0x06), given as
 * a vkey or a parsed key; its `timestampOf` reads the timestamp of a verified signature. It
 * throws `bad-key` for other types — for a type 0x01 witness key published by Go tooling,
 * convert it explicitly with `toCosignatureV1Key` first (its key ID changes).
 */
export function createCosignatureVerifier(key: VerifierKey | string): NoteVerifier {
  const parsed = typeof key === 'string' ? parseVerifierKey(key) : key;
  if (parsed.type === signatureTypes.ed25519) {
    throw new VouchError(
      'bad-key',
      'an Ed25519 note key (type 0x01) does not verify cosignatures; convert it with toCosignatureV1Key',
    );
  }
  if (parsed.type !== signatureTypes.cosignatureV1 && parsed.type !== signatureTypes.mlDsa44Cosignature) {
    throw new VouchError('bad-key', 'not a cosignature key type');
  }
  const type = parsed.type;
  const verifier = createVerifier(
    type === signatureTypes.cosignatureV1 ? 'ed25519' : 'ml-dsa-44',
    parsed.publicKey,
  );
  const name = parsed.name;
  return Object.freeze({
    name,
    keyId: parsed.keyId,
    type,
    publicKey: verifier.publicKey,
    verify(message: Uint8Array, signature: Uint8Array): boolean {
      let signed: Uint8Array;
      let parts: TimestampedSignature;
      try {
        parts = parseTimestampedSignature(type, signature);
        if (type === signatureTypes.cosignatureV1) {
          signed = concatBytes(toBytes(`cosignature/v1\ntime ${parts.timestamp}\n`), message);
        } else {
          const checkpoint = parseCheckpoint(toText(message, 'checkpoint'));
          signed = formatSubtreeV1Message({
            cosignerName: name,
            timestamp: parts.timestamp,
            origin: checkpoint.origin,
            start: 0n,
            end: checkpoint.size,
            hash: checkpoint.root,
          });
        }
      } catch {
        return false; // a malformed signature or a text that is not a checkpoint is just a bad signature
      }
      return verifier.verify(signed, parts.signature);
    },
    timestampOf: (signature: Uint8Array) => parseUint64(signature, 0),
  });
}

/**
 * createCheckpointVerifier returns the verifier for any supported key on a checkpoint: a log
 * key (0x01, 0x02) or a cosigner key (0x04, 0x06). It throws `bad-key` for a malformed vkey.
 */
export function createCheckpointVerifier(key: VerifierKey | string): NoteVerifier {
  const parsed = typeof key === 'string' ? parseVerifierKey(key) : key;
  return parsed.type === signatureTypes.ed25519 || parsed.type === signatureTypes.ecdsa
    ? createNoteVerifier(parsed)
    : createCosignatureVerifier(parsed);
}

/**
 * verifyCosignature checks one cosignature line (for instance a witness's response) by the
 * cosigner `verifier` over a checkpoint text and returns it with its timestamp. It throws
 * `bad-signature` when the line is from another key or does not verify, and `invalid-argument`
 * when `verifier` is not a cosignature verifier.
 */
export function verifyCosignature(
  verifier: NoteVerifier,
  checkpointText: string,
  signature: NoteSignature,
): Cosignature {
  if (verifier.timestampOf === undefined)
    throw new VouchError('invalid-argument', 'not a cosignature verifier');
  const key = `${verifier.name}+${formatKeyId(verifier.keyId)}`;
  if (signature.name !== verifier.name || signature.keyId !== verifier.keyId) {
    throw new VouchError('bad-signature', `the cosignature is not from ${key}`, { key });
  }
  if (!verifier.verify(toBytes(checkpointText), signature.signature)) {
    throw new VouchError('bad-signature', `the cosignature of ${key} does not verify`, { key });
  }
  return Object.freeze({ ...signature, timestamp: verifier.timestampOf(signature.signature) });
}

function assertTimestampRange(timestamp: bigint): void {
  if (typeof timestamp !== 'bigint' || timestamp < 0n || timestamp > maxCosignatureTimestamp) {
    throw new VouchError('invalid-argument', 'a cosignature timestamp must be between 0 and 2^63 - 1');
  }
}

function shortString(text: string, what: string): Uint8Array {
  const bytes = typeof text === 'string' && text.isWellFormed() ? toBytes(text) : new Uint8Array();
  if (bytes.length < 1 || bytes.length > 255) {
    throw new VouchError('invalid-argument', `the ${what} must be 1 to 255 bytes of UTF-8`);
  }
  return bytes;
}
