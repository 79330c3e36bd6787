/**
 * Adding an entry to a Vouch log over HTTP (`POST <prefix>add`) and, when the caller trusts the
 * log, proving it: the acknowledged index is checked against an inclusion proof built from the
 * log's tiles under a checkpoint verified with the caller's key or policy, and returned as a
 * C2SP tlog-proof anyone can check offline. A 503 is retried, bounded, honouring Retry-After.
 */

import { collectBytes, formatBase64, parseBase64, toText } from '../../core/bytes/index.ts';
import { describeUntrusted, VouchError } from '../../core/errors.ts';
import { leafHash, verifyInclusion } from '../../core/merkle/index.ts';
import { formatTlogProof } from '../../core/tlog/proof.ts';
import { LogClient, type LogClientOptions } from './client.ts';
import { HttpTileFetcher } from './http-fetcher.ts';

/** AddAck is the log's acknowledgement of one entry. */
export interface AddAck {
  readonly index: bigint;
  readonly leafHash: Uint8Array;
  /** checkpoint is the signed checkpoint note the log says includes the entry (unverified). */
  readonly checkpoint: Uint8Array;
}

/** AddOptions bounds the request; `fetch` and `sleep` are for tests. */
export interface AddOptions {
  readonly timeoutMs?: number;
  readonly attempts?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * addEntry posts `entry` to the log at `base` and returns its acknowledgement. The leaf hash the
 * log reports must be the entry's own (`bad-digest` otherwise); nothing else is trusted yet.
 */
export async function addEntry(base: string, entry: Uint8Array, options: AddOptions = {}): Promise<AddAck> {
  const url = new URL('add', base.endsWith('/') ? base : `${base}/`);
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const attempts = options.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        body: entry,
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      });
    } catch (cause) {
      throw new VouchError('unavailable', `could not reach the log at ${url.origin}`, {}, { cause });
    }
    const body =
      response.body === null ? new Uint8Array(0) : await collectBytes(response.body, 1 << 20, 'log answer');
    if (response.status === 200) return parseAck(body, entry);
    if (response.status === 503 && attempt < attempts) {
      const wait = Math.min(10, Number(response.headers.get('retry-after') ?? '1') || 1);
      await sleep(wait * 1000);
      continue;
    }
    const reason = describeUntrusted(toText(body).split('\n')[0] ?? '');
    const code =
      response.status === 413 ? 'too-large' : response.status < 500 ? 'invalid-argument' : 'unavailable';
    throw new VouchError(code, `the log refused the entry (${response.status}): ${reason}`);
  }
}

function parseAck(body: Uint8Array, entry: Uint8Array): AddAck {
  let value: { index?: unknown; leafHash?: unknown; checkpoint?: unknown };
  try {
    value = JSON.parse(toText(body, 'log answer')) as typeof value;
  } catch {
    throw new VouchError('malformed', 'the log answered add with a body that is not JSON');
  }
  if (
    typeof value.index !== 'number' ||
    !Number.isSafeInteger(value.index) ||
    value.index < 0 ||
    typeof value.leafHash !== 'string' ||
    typeof value.checkpoint !== 'string'
  ) {
    throw new VouchError('malformed', 'the log answered add without index, leafHash and checkpoint');
  }
  const hash = parseBase64(value.leafHash, 'leafHash');
  if (formatBase64(hash) !== formatBase64(leafHash(entry))) {
    throw new VouchError('bad-digest', 'the log acknowledged a leaf hash that is not the entry’s');
  }
  return {
    index: BigInt(value.index),
    leafHash: hash,
    checkpoint: new TextEncoder().encode(value.checkpoint),
  };
}

/** LoggedEntry is an entry added and proven: its acknowledgement and its verified tlog-proof bytes. */
export interface LoggedEntry {
  readonly ack: AddAck;
  readonly proof: Uint8Array;
}

/**
 * addAndProve adds `entry`, then opens the log's current checkpoint with `trust` (log key or
 * policy) and builds the entry's inclusion proof from verified tiles, checked before it is
 * returned. A log that acknowledged an index whose tiles do not hold the entry fails with
 * `bad-proof`.
 */
export async function addAndProve(
  base: string,
  entry: Uint8Array,
  trust: LogClientOptions,
  options: AddOptions = {},
): Promise<LoggedEntry> {
  const ack = await addEntry(base, entry, options);
  const client = await LogClient.open(new HttpTileFetcher(base), trust);
  if (ack.index >= client.size) {
    throw new VouchError(
      'bad-proof',
      `the log's checkpoint (size ${client.size}) does not include index ${ack.index}`,
    );
  }
  const proof = await client.proveInclusion(ack.index);
  // The proof must lead from this entry's own leaf hash, not just from whatever the tiles hold.
  verifyInclusion(leafHash(entry), ack.index, client.size, proof.proof, client.checkpoint.root);
  return { ack, proof: formatTlogProof(proof) };
}
