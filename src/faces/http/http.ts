/**
 * The HTTP face: handlers are plain functions from an {@link HttpRequest} to an
 * {@link HttpResponse} (model: hono), so they are tested in-process without sockets, and one
 * small adapter puts them on `node:http`. The request body is read only on demand and only up to
 * the handler's limit, so an oversized upload costs no memory. Errors map to statuses in one
 * table ({@link errorResponse}); an unexpected error becomes a bare 500 and its details go to
 * the server's log, never to the client.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectBytes } from '../../core/bytes/index.ts';
import { type ErrorCode, isVouchError, tooLarge } from '../../core/errors.ts';
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
  close(): Promise<void>;
}

/** ServeOptions: where to listen, and where errors are logged. */
export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly log?: (line: string) => void;
}

/** serve puts `handler` on a `node:http` server listening on `host:port` (port 0 picks a free one). */
export async function serve(handler: Handler, options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const server = createServer((req, res) => {
    void dispatch(handler, req, res, log);
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
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
