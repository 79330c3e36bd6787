/**
 * The site gateway's HTTP face: `POST /v1/telemetry` (a telemetry batch, docs/sites.md),
 * `POST /v1/agent-reports` (the agent's report, clients/agent/report.ts) and `GET /healthz`.
 * Agents authenticate with `Authorization: Bearer <endpoint token>`.
 *
 * Answers are JSON. 200 `{"batchId","status":"stored"|"duplicate","count"}` only once the batch
 * is durable. Errors are `{"error": <code>, "message", "field"?, "fields"?, "reasons"?}` with the
 * status of the shared table (http.ts: 400 malformed, 413 too large, 409 conflict, 503
 * unavailable with Retry-After), except the gateway's own refusals mapped here: 401
 * unauthenticated (with `WWW-Authenticate: Bearer`), 421 misdirected (the tenant's site and its
 * URL in the body and in `Location`: the agent must send there; nothing was stored), 403 for a
 * credential used for another tenant or endpoint and for a policy deny (naming the policies),
 * and 429 with `Retry-After` when too many batches are in flight. The slot is taken before the
 * body is read, and the body is read only up to its limit.
 */

import { isVouchError, type VouchError } from '../../core/errors.ts';
import { maxTelemetryBatchBytes } from '../../core/sites/index.ts';
import { type Gateway, type IngestAck, maxAgentReportBytes, refusalOf } from '../../services/site/ingest.ts';
import {
  errorResponse,
  type Handler,
  type HttpRequest,
  type HttpResponse,
  methodNotAllowed,
  notFound,
} from './http.ts';

/** SiteHandlerOptions: the gateway, and where unexpected errors are logged. */
export interface SiteHandlerOptions {
  readonly gateway: Gateway;
  readonly log?: (line: string) => void;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: `${JSON.stringify(body)}\n`,
});

/** createSiteHandler returns the handler of one site's gateway; see the module comment. */
export function createSiteHandler(options: SiteHandlerOptions): Handler {
  const log = options.log ?? (() => undefined);
  return async (request) => {
    try {
      return await route(options.gateway, request);
    } catch (error) {
      return siteErrorResponse(error, log);
    }
  };
}

async function route(gateway: Gateway, request: HttpRequest): Promise<HttpResponse> {
  switch (request.path) {
    case '/healthz':
      if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET, HEAD');
      return json(200, { site: gateway.site.id, inFlight: gateway.inFlight });
    case '/v1/telemetry':
      if (request.method !== 'POST') return methodNotAllowed('POST');
      return serveIngest(gateway, request, maxTelemetryBatchBytes, (c, body) =>
        gateway.processTelemetry(c, body),
      );
    case '/v1/agent-reports':
      if (request.method !== 'POST') return methodNotAllowed('POST');
      return serveIngest(gateway, request, maxAgentReportBytes, (c, body) =>
        gateway.processAgentReport(c, body),
      );
    default:
      return notFound();
  }
}

async function serveIngest(
  gateway: Gateway,
  request: HttpRequest,
  limit: number,
  process: (credential: Awaited<ReturnType<Gateway['authenticate']>>, body: Uint8Array) => Promise<IngestAck>,
): Promise<HttpResponse> {
  const release = gateway.admit();
  try {
    const credential = await gateway.authenticate(request.headers['authorization']);
    const body = await request.body(limit);
    const ack = await process(credential, body);
    return json(200, ack);
  } finally {
    release();
  }
}

/**
 * siteErrorResponse maps an error to the gateway's JSON answer (see the module comment); an
 * unexpected error is a bare 500 whose details go to `log` only.
 */
export function siteErrorResponse(
  error: unknown,
  log: (line: string) => void = () => undefined,
): HttpResponse {
  const base = errorResponse(error, log);
  if (!isVouchError(error) || base.status === 500) {
    return json(500, { error: 'internal', message: 'internal error' });
  }
  const body: Record<string, unknown> = { error: error.code, message: error.message, ...fieldsOf(error) };
  const headers: Record<string, string> = {};
  const retry = base.headers?.['retry-after'];
  if (retry !== undefined) headers['retry-after'] = retry;
  switch (refusalOf(error)) {
    case 'unauthenticated':
      return json(
        401,
        { error: 'unauthenticated', message: error.message },
        { 'www-authenticate': 'Bearer' },
      );
    case 'misdirected': {
      const site = String(error.details['site']);
      const url = String(error.details['url']);
      return json(421, { error: 'misdirected', message: error.message, site, url }, { location: url });
    }
    case 'policy-denied':
      return json(403, {
        error: 'policy-denied',
        message: error.message,
        policies: error.details['policies'],
        policyDigest: error.details['policyDigest'],
      });
    case 'credential-mismatch':
    case 'unknown-tenant':
      return json(403, { ...body, error: refusalOf(error) });
    case 'backpressure':
      return json(
        429,
        { error: 'busy', message: error.message },
        {
          'retry-after': String(Number(error.details['retryAfterSeconds'] ?? 1)),
        },
      );
    default:
      return json(base.status, body, headers);
  }
}

function fieldsOf(error: VouchError): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const { field, fields, reasons } = error.details;
  if (typeof field === 'string') out['field'] = field;
  if (Array.isArray(fields)) out['fields'] = fields.slice(0, 100);
  if (Array.isArray(reasons)) out['reasons'] = reasons.slice(0, 100);
  return out;
}
