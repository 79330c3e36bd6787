/**
 * Hash functions for core. Only `core/crypto` touches `node:crypto`; everything above calls
 * these. LIMIT: they are synchronous and bound to Node's crypto; a browser build swaps this
 * module for a pure or WebCrypto-backed one with the same signatures.
 */

import { createHash, hash } from 'node:crypto';

/** sha256 returns the 32-byte SHA-256 digest of the concatenation of `parts`, as a plain Uint8Array. */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return toPlain(hash('sha256', parts[0] as Uint8Array, 'buffer'));
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return toPlain(h.digest());
}

/** sha512 returns the 64-byte SHA-512 digest of the concatenation of `parts`, as a plain Uint8Array. */
export function sha512(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return toPlain(h.digest());
}

// Buffers must not leak out of core/crypto: their methods (equals, toString) differ from
// Uint8Array's, and code that relied on them would break in a browser.
function toPlain(digest: Uint8Array): Uint8Array {
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}
