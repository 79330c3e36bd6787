/**
 * The agent's bounded HTTP fetcher: what TUF (spec §5, "endless data" and "slow retrieval") asks of
 * a client's transport. Every GET has a size cap enforced while the body streams in — the stream
 * is cancelled as soon as one byte too many arrives, so a hostile mirror costs at most the cap —
 * a per-request timeout covering headers and body, and an overall deadline shared by every
 * request of one update run, so a server that trickles bytes cannot hold the agent forever.
 *
 * 404 and 403 are "not found" (the root probe ends on either, spec §5.3.3); 429 and 503 are
 * `pushback`, carrying the server's `Retry-After` in milliseconds for `agent run` to honour;
 * anything else is `unavailable`. Nothing is retried here: one update run makes a known number of
 * requests (the no-change check is exactly two), and retrying is the run loop's business. The
 * fetcher counts requests and body bytes for the benchmark and the status report. It verifies
 * nothing. LIMIT: a body is collected in memory (at most its cap); a product of gigabytes would
 * need a streaming writer.
 */

import { describeUntrusted, VouchError } from '../../core/errors.ts';

/** AgentFetcherOptions tunes an {@link AgentFetcher}; every field has a default. */
export interface AgentFetcherOptions {
  /** timeoutMs bounds one request including its body (default 30 000). */
  readonly timeoutMs?: number;
  /** deadlineMs bounds every request of this fetcher together, from its creation (default 600 000). */
  readonly deadlineMs?: number;
  /** signal aborts every request (the run loop's stop). */
  readonly signal?: AbortSignal;
  /** headers are sent with every request (a User-Agent by default). */
  readonly headers?: Readonly<Record<string, string>>;
  /** fetch replaces the global fetch (tests). */
  readonly fetch?: typeof globalThis.fetch;
  /** now returns milliseconds (default Date.now), for the deadline and Retry-After dates. */
  readonly now?: () => number;
}

/** FetchResult is a fetched body, or the 404/403 that says the file does not exist. */
export type FetchResult =
  | { readonly found: true; readonly data: Uint8Array }
  | { readonly found: false; readonly status: 403 | 404 };

/** FetchCounters are the totals of one fetcher: requests sent and body bytes received. */
export interface FetchCounters {
  readonly requests: number;
  readonly bytes: number;
}

/**
 * AgentFetcher reads files under `base` (an http(s) URL; a final `/` is added). It throws
 * `invalid-argument` for another scheme or a URL with credentials, a query or a fragment.
 */
export class AgentFetcher {
  readonly base: URL;
  readonly #timeoutMs: number;
  readonly #deadline: number;
  readonly #signal: AbortSignal | undefined;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #now: () => number;
  #requests = 0;
  #bytes = 0;

  constructor(base: string, options: AgentFetcherOptions = {}) {
    this.base = parseBaseUrl(base, 'repository');
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    this.#deadline = this.#now() + (options.deadlineMs ?? 600_000);
    this.#signal = options.signal;
    this.#headers = options.headers ?? { 'user-agent': 'vouch-agent' };
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** counters returns the requests and body bytes so far. */
  get counters(): FetchCounters {
    return { requests: this.#requests, bytes: this.#bytes };
  }

  /**
   * get fetches `path` (relative to the base, already URL-encoded) with at most `maxBytes` of
   * body. It resolves to the body or to not-found (404/403). It rejects with `too-large` and
   * `details.attack` `endless-data` when the body exceeds the cap; `unavailable` with attack
   * `slow-retrieval` when the request or the run's deadline times out; `pushback` (details
   * `retryAfterMs` when the server said) for 429/503; `unavailable` for anything else.
   */
  async get(path: string, maxBytes: number, what: string = path): Promise<FetchResult> {
    const url = new URL(path, this.base);
    const remaining = this.#deadline - this.#now();
    if (remaining <= 0) throw slow(what, 'the update run passed its deadline');
    const timeout = Math.min(this.#timeoutMs, remaining);
    const signals = [AbortSignal.timeout(timeout)];
    if (this.#signal !== undefined) signals.push(this.#signal);
    const signal = AbortSignal.any(signals);
    this.#requests++;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        headers: { ...this.#headers, 'accept-encoding': 'identity' },
        redirect: 'error',
        signal,
      });
    } catch (error) {
      throw this.#failure(error, what, timeout);
    }
    const status = response.status;
    if (status === 404 || status === 403) {
      await discard(response);
      return { found: false, status };
    }
    if (status === 429 || status === 503) {
      await discard(response);
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.#now());
      throw new VouchError('pushback', `the repository answered ${status} for ${describeUntrusted(what)}`, {
        field: what,
        status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (status !== 200) {
      await discard(response);
      throw new VouchError(
        'unavailable',
        `the repository answered ${status} for ${describeUntrusted(what)}`,
        {
          field: what,
          status,
        },
      );
    }
    const declared = response.headers.get('content-length');
    if (declared !== null && /^\d{1,16}$/.test(declared) && Number(declared) > maxBytes) {
      await discard(response);
      throw endless(what, maxBytes);
    }
    try {
      return { found: true, data: await this.#readBody(response, what, maxBytes) };
    } catch (error) {
      if (error instanceof VouchError) throw error;
      throw this.#failure(error, what, timeout);
    }
  }

  /** getFound is {@link get} for a file that must exist: not-found is `not-found` naming it. */
  async getFound(path: string, maxBytes: number, what: string = path): Promise<Uint8Array> {
    const result = await this.get(path, maxBytes, what);
    if (!result.found) {
      throw new VouchError(
        'not-found',
        `the repository has no ${describeUntrusted(what)} (${result.status})`,
        {
          field: what,
          status: result.status,
        },
      );
    }
    return result.data;
  }

  // readBody collects the body, cancelling the stream as soon as it exceeds the cap.
  async #readBody(response: Response, what: string, maxBytes: number): Promise<Uint8Array> {
    if (response.body === null) return new Uint8Array(0);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      this.#bytes += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(ignore);
        throw endless(what, maxBytes);
      }
      chunks.push(value);
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  #failure(error: unknown, what: string, timeout: number): VouchError {
    if (this.#signal?.aborted === true) {
      return new VouchError('unavailable', 'the update was stopped', { field: what, stopped: true });
    }
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      return slow(what, `no complete answer within ${timeout} ms`);
    }
    const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
    const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
    return new VouchError(
      'unavailable',
      `the repository could not be reached${code} for ${describeUntrusted(what)}`,
      {
        field: what,
      },
    );
  }
}

/**
 * parseBaseUrl checks an http(s) base URL (a final `/` is added) or throws `invalid-argument`
 * naming `field`: no other scheme, no credentials, query or fragment.
 */
export function parseBaseUrl(text: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(text.endsWith('/') ? text : `${text}/`);
  } catch {
    throw new VouchError('invalid-argument', `the ${field} URL does not parse`, { field });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new VouchError('invalid-argument', `the ${field} URL must be http or https`, { field });
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new VouchError(
      'invalid-argument',
      `the ${field} URL may not have credentials, a query or a fragment`,
      {
        field,
      },
    );
  }
  return url;
}

/**
 * parseRetryAfter reads a `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an HTTP date)
 * as milliseconds from `now`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function endless(what: string, maxBytes: number): VouchError {
  return new VouchError(
    'too-large',
    `endless data: ${describeUntrusted(what)} is longer than its limit of ${maxBytes} bytes`,
    { field: what, limit: maxBytes, attack: 'endless-data' },
  );
}

function slow(what: string, why: string): VouchError {
  return new VouchError('unavailable', `slow retrieval: ${describeUntrusted(what)}: ${why}`, {
    field: what,
    attack: 'slow-retrieval',
  });
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(ignore);
}

function ignore(): void {
  // Cancelling a body we are discarding changes nothing if it fails.
}
