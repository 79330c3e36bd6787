/**
 * RFC 6962 §2.1 / RFC 9162 §2.1 hashing (https://www.rfc-editor.org/rfc/rfc9162#section-2.1):
 * a leaf hash is SHA-256(0x00 || entry), an interior node SHA-256(0x01 || left || right), and the
 * empty tree's root SHA-256(""). Every hash handled by the Merkle code is exactly 32 bytes; a value
 * of any other length is rejected here rather than hashed or compared, because a zero-length
 * "hash" silently matching another zero-length one is a known verifier bug (transparency-dev/merkle
 * "empty root and leaf" vector). This module does not decide what an entry's bytes are; callers
 * hash whatever their log stores.
 */

import { sha256 } from '../crypto/index.ts';
import { VouchError } from '../errors.ts';

/** hashSize is the length in bytes of every Merkle hash (SHA-256). */
export const hashSize = 32;

const emptyRootBytes = sha256(new Uint8Array(0));

/** emptyRoot returns a fresh copy of the root of the empty tree, SHA-256 of no bytes (e3b0c442…b855). */
export function emptyRoot(): Uint8Array {
  return emptyRootBytes.slice();
}

/** leafHash returns SHA-256(0x00 || entry), the RFC 6962 hash of one log entry of any length. */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(leafPrefix, entry);
}

const leafPrefix = new Uint8Array([0x00]);

// One scratch buffer for node hashing: nodeHash is synchronous and the buffer never escapes, so
// sharing it is safe and saves an allocation per node (the root of a million leaves is a million
// node hashes).
const nodeInput = new Uint8Array(1 + 2 * hashSize);
nodeInput[0] = 0x01;

/**
 * nodeHash returns SHA-256(0x01 || left || right), the hash of an interior node. It throws a
 * `malformed` VouchError when either input is not exactly 32 bytes.
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertHash(left, 'left');
  assertHash(right, 'right');
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + hashSize);
  return sha256(nodeInput);
}

/** isHash reports whether `value` is a Uint8Array of exactly 32 bytes. */
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === hashSize;
}

/**
 * assertHash throws a `malformed` VouchError naming `field` unless `value` is exactly 32 bytes.
 * Verifiers use their own `bad-proof` check instead, so a short proof hash reads as a bad proof.
 */
export function assertHash(value: Uint8Array, field: string): void {
  if (value.length !== hashSize) {
    throw new VouchError('malformed', `${field} is not a ${hashSize}-byte hash`, { field });
  }
}
