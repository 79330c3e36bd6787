/**
 * The log's HTTP face: the C2SP tlog-tiles read API (https://c2sp.org/tlog-tiles) —
 * `checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]` — served from the log's
 * files, and the write API `POST add` with the raw entry as the body.
 *
 * Full tiles and bundles never change, so they are cached for a year as immutable; partial ones
 * never change either but may be deleted once full, so they get a shorter life; the checkpoint
 * changes with every round and is cached for a second at most. Anything that is not a canonical
 * tile path is a 404, never a file-system lookup. `add` answers only once the entry is durable
 * under a published checkpoint: `{"index", "leafHash", "checkpoint"}`.
 *
 * LIMIT: entry bundles are served without gzip; a CDN in front can compress them.
 */

import { formatBase64, toText } from '../../core/bytes/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { maxEntrySize } from '../../core/tlog/entry-bundle.ts';
import { parseTilePath } from '../../core/tlog/tile-path.ts';
import type { Log, LogFiles } from '../../services/log/log.ts';
import { type Handler, type HttpRequest, type HttpResponse, methodNotAllowed, notFound } from './http.ts';

const immutable = 'public, max-age=31536000, immutable';
const partial = 'public, max-age=600';
const checkpointCache = 'public, max-age=1, must-revalidate';

/** LogHandlerOptions: the log to add to (absent for a read-only mirror) and where its files are. */
export interface LogHandlerOptions {
  readonly files: Pick<LogFiles, 'get'>;
  /** log returns the running log, or undefined while this process waits for the sequencing lease. */
  readonly log?: () => Log | undefined;
  /** prefix is the URL path the log is mounted at, ending in "/" (default "/"). */
  readonly prefix?: string;
}

/** createLogHandler returns the handler serving one log; see the module comment. */
export function createLogHandler(options: LogHandlerOptions): Handler {
  const prefix = options.prefix ?? '/';
  return async (request) => {
    if (!request.path.startsWith(prefix)) return notFound();
    const path = request.path.slice(prefix.length);
    if (path === 'add') {
      if (request.method !== 'POST') return methodNotAllowed('POST');
      if (options.log === undefined) return notFound();
      const log = options.log();
      if (log === undefined) {
        throw new VouchError('unavailable', 'this server is not sequencing right now; retry shortly', {
          retryAfterSeconds: 1,
        });
      }
      return serveAdd(log, request);
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET, HEAD');
    if (path === 'checkpoint')
      return serveFile(options.files, 'checkpoint', 'text/plain; charset=utf-8', checkpointCache);
    if (!path.startsWith('tile/')) return notFound();
    let tile: ReturnType<typeof parseTilePath>;
    try {
      tile = parseTilePath(path);
    } catch {
      return notFound(); // not a canonical tile path: never touch storage
    }
    return serveFile(
      options.files,
      path,
      'application/octet-stream',
      tile.width === 256 ? immutable : partial,
    );
  };
}

/** processAdd logs one entry and returns the acknowledgement as JSON; it knows nothing of HTTP. */
export async function processAdd(log: Log, entry: Uint8Array): Promise<Record<string, unknown>> {
  const result = await log.add(entry);
  return {
    index: Number(result.index),
    leafHash: formatBase64(result.leafHash),
    checkpoint: toText(result.checkpoint),
    ...(result.duplicate ? { duplicate: true } : {}),
  };
}

async function serveAdd(log: Log, request: HttpRequest): Promise<HttpResponse> {
  const body = await request.body(maxEntrySize);
  if (body.length === 0) throw new VouchError('malformed', 'the request body (the entry) is empty');
  const ack = await processAdd(log, body);
  return { status: 200, headers: { 'content-type': 'application/json' }, body: `${JSON.stringify(ack)}\n` };
}

async function serveFile(
  files: Pick<LogFiles, 'get'>,
  path: string,
  contentType: string,
  cacheControl: string,
): Promise<HttpResponse> {
  let data: Uint8Array | undefined;
  try {
    data = await files.get(path);
  } catch (error) {
    if (isVouchError(error, 'malformed')) return notFound();
    throw error;
  }
  if (data === undefined) return notFound();
  return { status: 200, headers: { 'content-type': contentType, 'cache-control': cacheControl }, body: data };
}
