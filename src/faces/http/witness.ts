/**
 * The witness's HTTP face (https://c2sp.org/tlog-witness): `POST add-checkpoint` under the
 * submission prefix, and the monitoring endpoint `GET <hex sha256(origin)>/checkpoint`, which
 * returns the latest checkpoint the witness cosigned for that log, with its cosignatures (404
 * when there is none). The submission and monitoring prefixes are the same here.
 *
 * Each endpoint is a `serveX` that reads the request and maps errors to the spec's statuses
 * through the one table in http.ts — 404 unknown log, 403 signature, 400 malformed or old size
 * too large, 409 with a `text/x.tlog.size` body, 409 same size with another root, 422 bad proof,
 * 413 too large, 503 pushback — around the witness service's `processAddCheckpoint`, which knows
 * nothing about HTTP. It does not authenticate clients (the spec has none beyond the log's
 * signature) and does not rate-limit per client; it sheds load instead: at most `maxInFlight`
 * add-checkpoint requests are handled at once (default {@link defaultWitnessMaxInFlight}), and
 * the next is answered 503 with `Retry-After` before its body is read. Each one holds a durable
 * state commit, so a deeper queue would only add latency for the logs waiting on a cosignature
 * (about 1,000 requests/s on SQLite: 128 in flight is of the order of 100 ms of work).
 */

import { formatCosignatureLines, maxAddCheckpointRequestBytes } from '../../core/tlog/witness-request.ts';
import type { Witness } from '../../services/witness/witness.ts';
import {
  createInFlightLimit,
  errorResponse,
  type Handler,
  type HttpRequest,
  type HttpResponse,
  methodNotAllowed,
  notFound,
} from './http.ts';

/** WitnessHandlerOptions: the witness, where it is mounted, and where internal errors are logged. */
export interface WitnessHandlerOptions {
  readonly witness: Witness;
  /** prefix is the URL path the witness is mounted at, ending in "/" (default "/"). */
  readonly prefix?: string;
  readonly log?: (line: string) => void;
  /** maxInFlight bounds the add-checkpoint requests handled at once (default {@link defaultWitnessMaxInFlight}). */
  readonly maxInFlight?: number;
}

/** defaultWitnessMaxInFlight is {@link WitnessHandlerOptions.maxInFlight}'s default. */
export const defaultWitnessMaxInFlight = 128;

/** createWitnessHandler returns the handler serving one witness; it never throws (errors become responses). */
export function createWitnessHandler(options: WitnessHandlerOptions): Handler {
  const prefix = options.prefix ?? '/';
  const limit = createInFlightLimit(options.maxInFlight ?? defaultWitnessMaxInFlight, 'the witness');
  return async (request) => {
    if (!request.path.startsWith(prefix)) return notFound();
    const path = request.path.slice(prefix.length);
    if (path === 'add-checkpoint') {
      if (request.method !== 'POST') return methodNotAllowed('POST');
      try {
        return await limit.run(() => serveAddCheckpoint(options.witness, request, options.log));
      } catch (error) {
        return errorResponse(error, options.log);
      }
    }
    const match = /^([0-9a-f]{64})\/checkpoint$/.exec(path);
    if (match !== null) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET, HEAD');
      return serveWitnessCheckpoint(options.witness, match[1] as string, options.log);
    }
    return notFound();
  };
}

/**
 * serveAddCheckpoint answers `POST add-checkpoint`: 200 with the cosignature lines, or the
 * status of the error (see the module comment). The body is read only up to the request limit.
 */
export async function serveAddCheckpoint(
  witness: Witness,
  request: HttpRequest,
  log?: (line: string) => void,
): Promise<HttpResponse> {
  try {
    const body = await request.body(maxAddCheckpointRequestBytes);
    const cosignatures = await witness.processAddCheckpoint(body);
    return {
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: formatCosignatureLines(cosignatures),
    };
  } catch (error) {
    return errorResponse(error, log);
  }
}

/**
 * serveWitnessCheckpoint answers the monitoring `GET <origin hash>/checkpoint`: the latest
 * cosigned checkpoint note, or 404. It is mutable, so caches may keep it only briefly.
 */
export async function serveWitnessCheckpoint(
  witness: Witness,
  originHash: string,
  log?: (line: string) => void,
): Promise<HttpResponse> {
  try {
    const note = await witness.latestCheckpoint(originHash);
    if (note === undefined) return notFound();
    return {
      status: 200,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'public, max-age=1, must-revalidate',
      },
      body: note,
    };
  } catch (error) {
    return errorResponse(error, log);
  }
}
