/**
 * A {@link TileFetcher} over HTTP for the C2SP tlog-tiles read API (https://c2sp.org/tlog-tiles):
 * `GET <base>checkpoint` and `GET <base>tile/...` with the global `fetch`, so it works against a
 * log server, a mirror, a CDN or any static web server holding a copy of the log folder.
 *
 * Every request has a timeout (AbortSignal.timeout, covering the body too) and a size bound per
 * kind of file (fetcher.ts), enforced while the body streams in, so a hostile or broken server
 * costs at most that many bytes and that much time. 404 and 410 mean "no such file". Network
 * errors, timeouts, 5xx and 429 are retried a bounded number of times with exponential backoff;
 * a `Retry-After` is honoured when it is within `maxRetryAfterMs`, and a longer one ends the
 * attempts at once rather than hanging the caller. Any other status is `unavailable` without
 * retry. Gzip transfer encoding is undone by `fetch`, and the bound applies to the decoded bytes.
 * Nothing here verifies content or caches anything.
 */

import { VouchError } from '../../core/errors.ts';
import { maxEntryBundleSize } from '../../core/tlog/entry-bundle.ts';
import { checkFileSize, type FileLimits, fileLimits, type TileFetcher } from './fetcher.ts';

/** HttpTileFetcherOptions tunes an {@link HttpTileFetcher}; every field has a default. */
export interface HttpTileFetcherOptions {
  /** timeoutMs bounds one request including its body (default 10 000). */
  readonly timeoutMs?: number;
  /** retries is how many times a failed request is repeated (default 3, so 4 attempts in all). */
  readonly retries?: number;
  /** backoffMs is the first retry delay, doubled for each further retry (default 200). */
  readonly backoffMs?: number;
  /** maxRetryAfterMs is the longest `Retry-After` waited for (default 10 000). */
  readonly maxRetryAfterMs?: number;
  /** maxEntryBundleBytes lowers the bound of an entry bundle (default: the format's maximum). */
  readonly maxEntryBundleBytes?: number;
  /** userAgent is sent as `User-Agent` (default `vouch-log-client`). */
  readonly userAgent?: string;
  /** fetch replaces the global fetch (for tests and custom agents). */
  readonly fetch?: typeof globalThis.fetch;
  /** sleep replaces the real delay between retries (tests inject a recorder). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** now returns the current time in milliseconds, for `Retry-After` dates (default Date.now). */
  readonly now?: () => number;
}

/**
 * HttpTileFetcher reads a log's files from `base`, an http(s) URL of the log's prefix (a missing
 * final `/` is added). It throws `invalid-argument` for another scheme or a URL with credentials,
 * a query or a fragment. It has no `save`.
 */
export class HttpTileFetcher implements TileFetcher {
  readonly base: URL;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #maxBundleBytes: number;
  readonly #userAgent: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;

  constructor(base: string, options: HttpTileFetcherOptions = {}) {
    let url: URL;
    try {
      url = new URL(base.endsWith('/') ? base : `${base}/`);
    } catch {
      throw new VouchError('invalid-argument', 'the log URL does not parse', { field: 'log' });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new VouchError('invalid-argument', 'the log URL must be http or https', { field: 'log' });
    }
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      const what = 'the log URL may not have credentials, a query or a fragment';
      throw new VouchError('invalid-argument', what, { field: 'log' });
    }
    this.base = url;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 3;
    this.#backoffMs = options.backoffMs ?? 200;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
    this.#maxBundleBytes = options.maxEntryBundleBytes ?? maxEntryBundleSize;
    this.#userAgent = options.userAgent ?? 'vouch-log-client';
    // Called unbound, a browser's fetch throws "Illegal invocation": keep it bound to the global.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = options.now ?? Date.now;
  }

  async get(path: string): Promise<Uint8Array | undefined> {
    const limits = fileLimits(path, this.#maxBundleBytes);
    const url = new URL(path, this.base);
    let reason = '';
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt(url, path, limits);
      if (outcome.kind === 'done') return outcome.data;
      reason = outcome.reason;
      if (attempt >= this.#retries) break;
      const backoff = this.#backoffMs * 2 ** attempt;
      if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > this.#maxRetryAfterMs) {
        const what = `${reason} for ${path}, asking to retry after more than ${this.#maxRetryAfterMs} ms`;
        throw new VouchError('unavailable', what, { field: path, retryAfterMs: outcome.retryAfterMs });
      }
      await this.#sleep(Math.max(backoff, outcome.retryAfterMs ?? 0));
    }
    throw new VouchError('unavailable', `${reason} for ${path} after ${this.#retries + 1} attempts`, {
      field: path,
    });
  }

  async #attempt(url: URL, path: string, limits: FileLimits): Promise<Attempt> {
    let response: Response;
    try {
      response = await this.#fetch(url, {
        headers: { 'accept-encoding': 'gzip, identity', 'user-agent': this.#userAgent },
        redirect: 'follow',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      return { kind: 'retry', reason: describeFailure(error) };
    }
    const status = response.status;
    if (status === 404 || status === 410) {
      await response.body?.cancel().catch(ignore);
      return { kind: 'done', data: undefined };
    }
    if (status >= 500 || status === 429) {
      await response.body?.cancel().catch(ignore);
      const retryAfterMs = this.#retryAfter(response.headers.get('retry-after'));
      return {
        kind: 'retry',
        reason: `the log answered ${status}`,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    }
    if (status !== 200) {
      await response.body?.cancel().catch(ignore);
      throw new VouchError('unavailable', `the log answered ${status} for ${path}`, { field: path });
    }
    // Before reading: a declared length over the bound is refused without reading the body.
    const declared = response.headers.get('content-length');
    if (declared !== null && response.headers.get('content-encoding') === null && /^\d+$/.test(declared)) {
      const length = Number(declared);
      if (length > limits.maxBytes) {
        await response.body?.cancel().catch(ignore);
        checkFileSize(path, limits, length);
      }
    }
    try {
      const data = await readBody(response, path, limits);
      checkFileSize(path, limits, data.length);
      return { kind: 'done', data };
    } catch (error) {
      if (error instanceof VouchError) throw error;
      return { kind: 'retry', reason: describeFailure(error) };
    }
  }

  // retryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
  #retryAfter(header: string | null): number | undefined {
    if (header === null) return undefined;
    const text = header.trim();
    if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
    const date = Date.parse(text);
    return Number.isNaN(date) ? undefined : Math.max(0, date - this.#now());
  }
}

type Attempt =
  | { readonly kind: 'done'; readonly data: Uint8Array | undefined }
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs?: number };

// readBody collects the body, cancelling the stream as soon as it exceeds the bound.
async function readBody(response: Response, path: string, limits: FileLimits): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limits.maxBytes) {
      await reader.cancel().catch(ignore);
      checkFileSize(path, limits, total);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return 'the request timed out';
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return `the log could not be reached${code}`;
}

function ignore(): void {
  // A failed cancel of a body we are discarding changes nothing.
}
