/**
 * Base64 as DSSE and in-toto read it: the DSSE protocol (https://github.com/secure-systems-lab/dsse,
 * protocol.md, "Either standard or URL-safe base64 encodings are allowed ... verifiers MUST accept
 * either") and the protobuf JSON mapping of `bytes` that in-toto ResourceDescriptor `content` uses.
 *
 * Accepted: standard base64 with padding (RFC 4648 §4), and URL-safe base64 (§5) with or without
 * padding. Within each alphabet the spelling must be canonical (unused low bits zero, padding only
 * at the end, no whitespace), and one string may not mix the two alphabets. So a byte string has
 * at most three accepted spellings; that is harmless here because signatures cover the decoded
 * bytes, never the base64 text. Writers always emit padded standard base64 (`formatBase64`).
 */

import { parseBase64 } from '../bytes/index.ts';
import { isVouchError, VouchError } from '../errors.ts';

/**
 * parseAnyBase64 decodes standard or URL-safe base64 (see the module comment), or throws a
 * `malformed` VouchError whose `field` is `field`.
 */
export function parseAnyBase64(text: string, field: string): Uint8Array {
  const standard = /[+/]/.test(text);
  const urlSafe = /[-_]/.test(text);
  if (standard && urlSafe) throw new VouchError('malformed', 'base64 mixes two alphabets', { field });
  let normal = text;
  if (!standard) {
    // URL-safe, or characters common to both alphabets: padding is optional.
    normal = text.replace(/-/g, '+').replace(/_/g, '/');
    if (!normal.endsWith('=')) {
      if (normal.length % 4 === 1) throw new VouchError('malformed', 'base64 has a bad length', { field });
      normal += '='.repeat((4 - (normal.length % 4)) % 4);
    }
  }
  try {
    return parseBase64(normal, 'base64');
  } catch (cause) {
    if (!isVouchError(cause)) throw cause;
    throw new VouchError('malformed', cause.message, { field }, { cause });
  }
}
