/**
 * The HTTP face: handlers are plain functions from an {@link HttpRequest} to an
 * {@link HttpResponse} (model: hono), so they are tested in-process without sockets, and one
 * small adapter puts them on `node:http`. The request body is read only on demand and only up to
 * the handler's limit, so an oversized upload costs no memory. Errors map to statuses in one
 * table ({@link errorResponse}); an unexpected error becomes a bare 500 and its details go to
 * the server's log, never to the client.
 *
 * Load shedding: {@link serve} answers a request 503 with `Retry-After` at once — before its body
 * is read or its handler runs — when `maxInFlight` requests are already being handled (default
 * {@link defaultMaxInFlight}), and, when the caller asks for it (every `vouch … serve` does), when
 * its event loop has been saturated for longer than `maxBusyMs`. The first bounds a backlog of
 * handlers waiting on I/O (the log's batches) and the memory their bodies hold. The second bounds
 * a backlog that never reaches a handler: when the process is CPU-bound (parsing HTTP, sealing,
 * signing, node:sqlite's synchronous commits), requests wait in the kernel's socket buffers,
 * invisible to any count. A timer every {@link eventLoopTickMs} ms measures how long the loop
 * has been saturated — no idle moment, or the timer running {@link lagLimitMs} ms late — over
 * at least {@link minBusyTicks} ticks in a row, so one long synchronous stretch is not taken for
 * overload; past the bound, the requests read are refused, the refusals are cheap, the loop
 * catches up, and requests are accepted again. Handlers with a notion of their own (the log's
 * pending entries, the witness's and the gateway's requests in flight, the static bytes in
 * flight) push back earlier and more precisely.
 * LIMIT: the busy bound sees saturation, not the length of the queue: a process kept at full CPU
 * for over `maxBusyMs` — by a few clients, or by its own start-up work — also refuses requests
 * that would have waited little. That is why it is off unless the caller asks for it: tests that
 * share their process with a server leave it off. Nothing is prioritised (health checks are refused like
 * the rest).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { collectBytes } from '../../core/bytes/index.ts';
import { type ErrorCode, isVouchError, tooLarge, VouchError } from '../../core/errors.ts';
import { formatTreeSizeBody, treeSizeContentType } from '../../core/tlog/witness-request.ts';

/** HttpRequest is what a handler sees of a request. */
export interface HttpRequest {
  readonly method: string;
  /** path is the URL path, still percent-encoded, without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** headers are lower-cased names to values. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** body reads the whole body, or throws `too-large` as soon as it exceeds `limit` bytes. */
  body(limit: number): Promise<Uint8Array>;
}

/** HttpResponse is what a handler returns. */
export interface HttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
}

/** Handler answers one request. It may throw; the adapter maps the error with {@link errorResponse}. */
export type Handler = (request: HttpRequest) => Promise<HttpResponse>;

const statusByCode: Record<ErrorCode, number> = {
  malformed: 400,
  'invalid-argument': 400,
  'too-large': 413,
  'bad-signature': 403,
  'no-trusted-signature': 403,
  'policy-unmet': 403,
  'bad-proof': 422,
  'bad-digest': 422,
  'bad-key': 500,
  'wrong-passphrase': 500,
  conflict: 409,
  'not-found': 404,
  pushback: 503,
  unavailable: 503,
  invariant: 500,
};

/**
 * errorResponse maps a thrown value to a response: a VouchError to its status with its one-line
 * message (which never holds secrets or echoed input); a conflict carrying a known tree size
 * (`details.size`) to 409 with that size as a `text/x.tlog.size` body (c2sp.org/tlog-witness);
 * pushback and unavailability carry `Retry-After`; anything else is a bare 500, reported through `log`.
 */
export function errorResponse(error: unknown, log: (line: string) => void = () => undefined): HttpResponse {
  if (isVouchError(error)) {
    const status = statusByCode[error.code];
    if (status === 500) log(`internal error: ${error.code}: ${error.message}`);
    // A conflict that knows the current tree size answers as tlog-witness's 409 does.
    if (error.code === 'conflict' && typeof error.details.size === 'bigint') {
      return {
        status,
        headers: { 'content-type': treeSizeContentType },
        body: formatTreeSizeBody(error.details.size),
      };
    }
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (status === 503) headers['retry-after'] = String(Number(error.details['retryAfterSeconds'] ?? 1));
    return { status, headers, body: status === 500 ? 'internal error\n' : `${error.message}\n` };
  }
  log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'internal error\n' };
}

/** RunningServer is a started server; `close` stops accepting and waits for open requests. */
export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  /** inFlight returns how many requests are being handled now (shed ones are not counted). */
  inFlight(): number;
  /** shed returns how many requests {@link serve} answered 503 itself (see the module comment). */
  shed(): number;
  close(): Promise<void>;
}

/** defaultMaxInFlight is {@link ServeOptions.maxInFlight}'s default. */
export const defaultMaxInFlight = 512;

/** defaultMaxBusyMs is the busy bound every `vouch … serve` uses ({@link ServeOptions.maxBusyMs}). */
export const defaultMaxBusyMs = 1000;

/** eventLoopTickMs is how often {@link serve} measures how busy its event loop is. */
export const eventLoopTickMs = 50;

/** minBusyTicks is how many measurements in a row must find the loop saturated before the busy bound applies. */
export const minBusyTicks = 4;

/** lagLimitMs is how late a measurement must run to count as saturated despite idle moments. */
export const lagLimitMs = 250;

/** ServeOptions: where to listen, where errors are logged, and how much is handled at once. */
export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly log?: (line: string) => void;
  /**
   * maxInFlight bounds the requests handled at once (default {@link defaultMaxInFlight}); past it
   * a request is answered 503 with `Retry-After` before its body is read (see the module comment).
   */
  readonly maxInFlight?: number;
  /**
   * maxBusyMs: while the event loop has been saturated for longer than this, requests are
   * answered 503 with `Retry-After`. 0, the default, turns the check off; every `vouch … serve`
   * passes {@link defaultMaxBusyMs}.
   */
  readonly maxBusyMs?: number;
  /** retryAfterSeconds is the `Retry-After` of those 503s (default 1). */
  readonly retryAfterSeconds?: number;
}

/** serve puts `handler` on a `node:http` server listening on `host:port` (port 0 picks a free one). */
export async function serve(handler: Handler, options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const maxInFlight = options.maxInFlight ?? defaultMaxInFlight;
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
    throw new VouchError('invalid-argument', 'maxInFlight must be a positive integer');
  }
  if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
    throw new VouchError('invalid-argument', 'retryAfterSeconds must be a whole number of seconds');
  }
  const maxBusyMs = options.maxBusyMs ?? 0;
  if (!Number.isFinite(maxBusyMs) || maxBusyMs < 0) {
    throw new VouchError('invalid-argument', 'maxBusyMs must be 0 or more');
  }
  let inFlight = 0;
  let shed = 0;
  // busyMs is how long the loop has been saturated, over busyTicks ticks in a row: a tick whose
  // window holds an idle millisecond and that ran on time resets both; any other adds its window.
  let busyMs = 0;
  let busyTicks = 0;
  let last = performance.now();
  let mark = performance.eventLoopUtilization();
  const ticker =
    maxBusyMs === 0
      ? undefined
      : setInterval(() => {
          const now = performance.now();
          const window = performance.eventLoopUtilization(mark);
          mark = performance.eventLoopUtilization();
          // Idle, and roughly on time: not busy. A tick that ran far late counts as busy even
          // with idle moments in its window: an I/O-bound server drowning in sockets lags so.
          // (A process merely short of CPU on a shared machine runs a little late too: only
          // lagLimitMs and more counts.)
          if (window.idle >= 1 && now - last - eventLoopTickMs < lagLimitMs) {
            busyMs = 0;
            busyTicks = 0;
          } else {
            busyMs += now - last;
            busyTicks++;
          }
          last = now;
        }, eventLoopTickMs);
  ticker?.unref();
  const server = createServer((req, res) => {
    const why =
      inFlight >= maxInFlight
        ? `${maxInFlight} requests in flight`
        : maxBusyMs > 0 && busyMs > maxBusyMs && busyTicks >= minBusyTicks
          ? 'its event loop is overloaded'
          : undefined;
    if (why !== undefined) {
      shed++;
      refuseBusy(req, res, why, retryAfterSeconds);
      return;
    }
    inFlight++;
    void dispatch(handler, req, res, log).finally(() => {
      inFlight--;
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.once('close', () => clearInterval(ticker));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (error) {
    clearInterval(ticker);
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    inFlight: () => inFlight,
    shed: () => shed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

// refuseBusy answers 503 with Retry-After without reading the body or calling the handler.
function refuseBusy(req: IncomingMessage, res: ServerResponse, why: string, retryAfterSeconds: number): void {
  // As in dispatch: an unread body is discarded, and the connection closed rather than drained.
  if (!req.complete) res.setHeader('connection', 'close');
  const body = `the server is busy (${why}); retry shortly\n`;
  res.writeHead(503, {
    'content-type': 'text/plain; charset=utf-8',
    'retry-after': String(retryAfterSeconds),
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

async function dispatch(
  handler: Handler,
  req: IncomingMessage,
  res: ServerResponse,
  log: (line: string) => void,
): Promise<void> {
  let response: HttpResponse;
  try {
    response = await handler(toHttpRequest(req));
  } catch (error) {
    response = errorResponse(error, log);
  }
  // A body we did not read is discarded; closing lets the client see our answer without sending it all.
  if (!req.complete) res.setHeader('connection', 'close');
  const body = typeof response.body === 'string' ? Buffer.from(response.body) : response.body;
  try {
    res.writeHead(response.status, { ...response.headers, 'content-length': String(body?.length ?? 0) });
    res.end(body);
  } catch (error) {
    // A header value Node refuses (a handler bug) must not take the process down: answer a bare 500.
    log(
      `internal error: could not send the response: ${error instanceof Error ? error.message : String(error)}`,
    );
    if (res.headersSent) res.destroy();
    else res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('internal error\n');
  }
}

function toHttpRequest(req: IncomingMessage): HttpRequest {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: req.method ?? 'GET',
    path: q === -1 ? raw : raw.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)),
    headers,
    body: (limit) => readBody(req, limit),
  };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) throw tooLarge('request body', limit);
  return collectBytes(req as AsyncIterable<Uint8Array>, limit, 'request body');
}

/** InFlightLimit runs work under a bound on how much runs at once; see {@link createInFlightLimit}. */
export interface InFlightLimit {
  /** run starts `work` if a slot is free and frees it when `work` settles; else it rejects with `pushback`. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** inFlight is how much is running now. */
  readonly inFlight: number;
}

/**
 * createInFlightLimit returns a bound of `max` concurrent runs for a handler that has a notion of
 * its own capacity (the witness's add-checkpoint). Past it, `run` rejects with a `pushback` error
 * carrying `retryAfterSeconds`, which {@link errorResponse} turns into 503 with `Retry-After`;
 * `what` names the service in that error's message ("the witness is busy ...").
 */
export function createInFlightLimit(max: number, what: string, retryAfterSeconds = 1): InFlightLimit {
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new VouchError('invalid-argument', 'an in-flight limit must be a positive integer');
  }
  let inFlight = 0;
  return {
    get inFlight() {
      return inFlight;
    },
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (inFlight >= max) {
        throw new VouchError('pushback', `${what} is busy (${max} requests in flight); retry shortly`, {
          retryAfterSeconds,
          limit: max,
        });
      }
      inFlight++;
      try {
        return await work();
      } finally {
        inFlight--;
      }
    },
  };
}

/** notFound is the plain 404 answer for paths a handler does not serve. */
export function notFound(): HttpResponse {
  return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'not found\n' };
}

/** methodNotAllowed is the plain 405 answer, with the methods the path does allow. */
export function methodNotAllowed(allow: string): HttpResponse {
  return {
    status: 405,
    headers: { allow, 'content-type': 'text/plain; charset=utf-8' },
    body: 'method not allowed\n',
  };
}

/** testingOnlyRequest builds an in-process request for handler tests. */
export function testingOnlyRequest(
  method: string,
  url: string,
  body: Uint8Array | string = new Uint8Array(0),
  headers: Record<string, string> = {},
): HttpRequest {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const q = url.indexOf('?');
  return {
    method,
    path: q === -1 ? url : url.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: async (limit) => {
      if (bytes.length > limit) throw tooLarge('request body', limit);
      return bytes;
    },
  };
}
