/**
 * Deterministic gzip (RFC 1952) for packed build outputs: node:zlib at level 9 with the header's
 * MTIME zero, no FNAME, and the OS byte forced to 255 ("unknown") so the header does not name the
 * platform. LIMIT: the deflate stream itself comes from the zlib bundled with Node, so another
 * Node (another zlib) may compress differently; the manifest and the uncompressed tar digest
 * are what a rebuilder on another toolchain compares.
 */

import { gzipSync } from 'node:zlib';

/** gzipDeterministic compresses `bytes` with fixed header fields (see the module comment). */
export function gzipDeterministic(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(gzipSync(bytes, { level: 9 }));
  // RFC 1952 §2.3: bytes 4..7 MTIME (node writes 0), byte 8 XFL, byte 9 OS. No FHCRC flag is set,
  // so changing OS does not invalidate any checksum.
  out[9] = 0xff;
  return out;
}
