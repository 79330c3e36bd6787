/**
 * Small byte helpers used across core: hex, strict UTF-8, concatenation, comparison and
 * big-endian integers. Pure and Buffer-free so that agents, services and browsers share them.
 */

import { malformed } from '../errors.ts';

const hexDigits = '0123456789abcdef';

/** formatHex encodes bytes as lowercase hex. */
export function formatHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += (hexDigits[b >> 4] as string) + (hexDigits[b & 15] as string);
  return out;
}

/** parseHex decodes lowercase hex of even length, or throws `malformed` naming `what`. */
export function parseHex(text: string, what = 'hex value'): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) throw malformed(`${what} is not lowercase hex`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** toBytes encodes a string as UTF-8. */
export function toBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** toText decodes strict UTF-8 (no replacement characters), or throws `malformed`. */
export function toText(bytes: Uint8Array, what = 'text'): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw malformed(`${what} is not valid UTF-8`);
  }
}

/** concatBytes joins byte arrays into a new one. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** equalBytes reports whether two byte arrays are equal. Not constant-time; see {@link timingSafeEqualBytes}. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** timingSafeEqualBytes compares secrets in time independent of where they differ (lengths may leak). */
export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** compareBytes orders byte arrays lexicographically (shorter prefix first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** formatUint64 encodes 0 ≤ value < 2^64 as 8 big-endian bytes. */
export function formatUint64(value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 64n) throw malformed('value out of uint64 range');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

/** parseUint64 reads 8 big-endian bytes at `offset`. */
export function parseUint64(bytes: Uint8Array, offset = 0): bigint {
  if (offset < 0 || offset + 8 > bytes.length) throw malformed('uint64 out of range of the input');
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset);
}

/**
 * parseDecimal reads a canonical unsigned decimal (no sign, no leading zeros except "0" itself,
 * at most 20 digits) as a bigint below 2^64, or throws `malformed` naming `what`.
 */
export function parseDecimal(text: string, what = 'number'): bigint {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text)) throw malformed(`${what} is not a canonical decimal`);
  const value = BigInt(text);
  if (value >= 1n << 64n) throw malformed(`${what} is out of range`);
  return value;
}
