/**
 * Reading a stream of chunks into one byte array under a bound. Every body Vouch reads from
 * outside (a request, standard input, a peer's answer) goes through it, so an oversized input
 * fails with `too-large` as soon as it crosses the bound instead of filling memory. It does no
 * I/O itself: the caller hands it the async iterable.
 */

import { tooLarge } from '../errors.ts';

/** collectBytes concatenates `chunks`, throwing `too-large` naming `what` once they exceed `limit` bytes. */
export async function collectBytes(
  chunks: AsyncIterable<Uint8Array>,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > limit) throw tooLarge(what, limit);
    parts.push(chunk);
  }
  if (parts.length === 1) {
    const only = parts[0] as Uint8Array;
    return new Uint8Array(only.buffer, only.byteOffset, only.byteLength);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
