/**
 * Standard base64 (RFC 4648 §4, with padding) in its one canonical spelling.
 *
 * Decoding is strict: the length must be a multiple of four, padding appears only at the end,
 * and the unused low bits of the last character must be zero, so every byte string has exactly
 * one accepted encoding (signed-note and tlog-checkpoint require this; a lenient decoder would
 * let two different strings name one key or root). Pure; no Buffer, so it runs in browsers.
 */

import { malformed } from '../errors.ts';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const decodeTable = new Int16Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) decodeTable[alphabet.charCodeAt(i)] = i;

/** formatBase64 encodes bytes as padded standard base64. */
export function formatBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out +=
      alphabet[n >> 18] + (alphabet[(n >> 12) & 63] as string) + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += `${alphabet[n >> 18]}${alphabet[(n >> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += `${alphabet[n >> 18]}${alphabet[(n >> 12) & 63]}${alphabet[(n >> 6) & 63]}=`;
  }
  return out;
}

/**
 * parseBase64 decodes canonical padded standard base64, or throws a `malformed` VouchError
 * naming `what`. Non-canonical spellings (missing padding, stray bits, whitespace) are refused.
 */
export function parseBase64(text: string, what = 'base64 value'): Uint8Array {
  if (text.length % 4 !== 0) throw malformed(`${what} is not canonical base64 (length)`);
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const a = sextet(text, i, what);
    const b = sextet(text, i + 1, what);
    if (last && padding === 2) {
      if ((b & 15) !== 0) throw malformed(`${what} is not canonical base64 (trailing bits)`);
      out[o++] = (a << 2) | (b >> 4);
      break;
    }
    const c = sextet(text, i + 2, what);
    if (last && padding === 1) {
      if ((c & 3) !== 0) throw malformed(`${what} is not canonical base64 (trailing bits)`);
      out[o++] = (a << 2) | (b >> 4);
      out[o++] = ((b & 15) << 4) | (c >> 2);
      break;
    }
    const d = sextet(text, i + 3, what);
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  return out;
}

function sextet(text: string, index: number, what: string): number {
  const code = text.charCodeAt(index);
  const value = code < 128 ? (decodeTable[code] as number) : -1;
  if (value < 0) throw malformed(`${what} is not canonical base64 (character at ${index})`);
  return value;
}
