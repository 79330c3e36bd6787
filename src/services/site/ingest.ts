/**
 * The site's ingestion gateway (DESIGN.md "The data flow" steps 2 and 3; issue 8): agents' telemetry
 * batches and update reports in, sealed events in the site store out. It knows nothing of HTTP
 * (faces/http/site.ts maps its errors to statuses).
 *
 * One batch, in this order: the bearer credential names an endpoint and its tenant (else
 * `unauthenticated`); the batch parses, naming every bad field; the batch's tenant and endpoint
 * are the credential's; the tenant's site (its registration and logged migrations under the
 * registry, never the sender's address) is this site — else `misdirected` with that site's id and
 * URL, and nothing of the batch is stored; Cedar decides `ingest` once for the whole batch
 * (principal the endpoint, resource the tenant's telemetry, at this site) and a deny names the
 * deciding policies; each event is sealed under the tenant's key with (tenant, site, event id)
 * bound; the batch is stored in one transaction with its id and digest. The acknowledgement is
 * returned only after that transaction committed, so an acknowledged event survives a crash; a
 * retried batch (same id, same content) is acknowledged as `duplicate` and stored once, and a
 * reused id with other content is a `conflict`.
 *
 * Backpressure: at most `maxInFlight` batches are admitted at once ({@link Gateway.admit}, called
 * before the body is read, so memory is bounded by maxInFlight × 1 MiB); beyond that the caller
 * gets `pushback` with `retryAfterSeconds`.
 *
 * Agent reports (`POST /v1/agent-reports`, the body clients/agent/report.ts sends: the agent's
 * status.json without local paths) become update events of one batch whose id is derived from
 * the endpoint and the body, so a resent report is a duplicate: event 0 is the run itself
 * (target `repository/timestamp`, `to` the trusted timestamp version, outcome `ok`, or `refused`
 * with the attack the agent named, or `failed`), then one `ok` event per target the run installed.
 */

import { createHash } from 'node:crypto';
import { concatBytes, toBytes } from '../../core/bytes/index.ts';
import { type AeadKey, sha256 } from '../../core/crypto/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import {
  formatCanonicalJson,
  isJsonArray,
  isJsonObject,
  type JsonValue,
  parseJson,
} from '../../core/json/index.ts';
import {
  type EventToSeal,
  maxTelemetryBatchBytes,
  maxTelemetryEvents,
  parseTelemetryBatch,
  parseTime,
  sealEvents,
  type TelemetryBatch,
  type TelemetryEvent,
} from '../../core/sites/index.ts';
import type { BatchReceipt, StoredEvent } from '../../storage/site.ts';
import type { PolicyDecision } from '../policy/decide.ts';
import type { EndpointCredential } from './config.ts';
import type { Site } from './site.ts';

/** maxAgentReportBytes bounds an agent report body. */
export const maxAgentReportBytes = 256 * 1024;

/**
 * RefusalReason is `details.reason` of the gateway's refusals, which the HTTP face maps:
 * `unauthenticated` 401, `misdirected` 421 (details `site`, `url`), `credential-mismatch`,
 * `unknown-tenant` and `policy-denied` (details `policies`, `policyDigest`) 403, `backpressure` 429.
 */
export type RefusalReason =
  | 'unauthenticated'
  | 'misdirected'
  | 'credential-mismatch'
  | 'unknown-tenant'
  | 'policy-denied'
  | 'backpressure';

/** refusalOf returns the gateway refusal reason of an error, or undefined for any other error. */
export function refusalOf(error: unknown): RefusalReason | undefined {
  if (!isVouchError(error)) return undefined;
  const reason = error.details['reason'];
  return typeof reason === 'string' && refusalReasons.has(reason) ? (reason as RefusalReason) : undefined;
}

const refusalReasons = new Set<string>([
  'unauthenticated',
  'misdirected',
  'credential-mismatch',
  'unknown-tenant',
  'policy-denied',
  'backpressure',
]);

/** IngestAck is what an agent is told once its batch is durable. */
export interface IngestAck {
  readonly batchId: string;
  readonly status: BatchReceipt['status'];
  readonly count: number;
}

/** GatewayOptions tune a {@link Gateway}. */
export interface GatewayOptions {
  /** maxInFlight is how many batches are admitted at once (default the site's configuration). */
  readonly maxInFlight?: number;
  /** retryAfterSeconds is the pushback's advice (default the site's configuration). */
  readonly retryAfterSeconds?: number;
  /** now is the clock in milliseconds, for policy decisions (default Date.now). */
  readonly now?: () => number;
  /**
   * benchmarkOnly switches protections off to measure what they cost (bench/suites/site-ingest.ts).
   * NEVER for a deployment: `encryption: false` stores events in clear, `policy: false` skips
   * Cedar. The CLI never sets it.
   */
  readonly benchmarkOnly?: { readonly encryption?: boolean; readonly policy?: boolean };
}

/** Gateway ingests batches into one {@link Site}; see the module comment. */
export class Gateway {
  readonly site: Site;
  readonly #maxInFlight: number;
  readonly #retryAfterSeconds: number;
  readonly #now: () => number;
  readonly #encrypt: boolean;
  readonly #decide: boolean;
  #inFlight = 0;

  constructor(site: Site, options: GatewayOptions = {}) {
    this.site = site;
    this.#maxInFlight = options.maxInFlight ?? site.config.maxInFlight;
    this.#retryAfterSeconds = options.retryAfterSeconds ?? site.config.retryAfterSeconds;
    this.#now = options.now ?? Date.now;
    this.#encrypt = options.benchmarkOnly?.encryption ?? true;
    this.#decide = options.benchmarkOnly?.policy ?? true;
    if (!Number.isSafeInteger(this.#maxInFlight) || this.#maxInFlight < 1) {
      throw new VouchError('invalid-argument', 'maxInFlight must be a positive integer');
    }
  }

  /** inFlight is the number of batches admitted and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * admit takes one of the `maxInFlight` slots and returns the function that gives it back (call
   * it exactly once, when the request is answered), or throws `pushback` (reason `backpressure`).
   */
  admit(): () => void {
    if (this.#inFlight >= this.#maxInFlight) {
      throw new VouchError(
        'pushback',
        `the gateway is busy (${this.#maxInFlight} batches in flight); retry later`,
        {
          reason: 'backpressure',
          retryAfterSeconds: this.#retryAfterSeconds,
        },
      );
    }
    this.#inFlight++;
    let released = false;
    return () => {
      if (!released) this.#inFlight--;
      released = true;
    };
  }

  /**
   * authenticate reads `Authorization: Bearer <token>` and returns the endpoint's credential, or
   * throws `no-trusted-signature` (reason `unauthenticated`) without saying which part was wrong.
   */
  async authenticate(authorization: string | undefined): Promise<EndpointCredential> {
    const match = /^Bearer ([\x21-\x7e]{1,256})$/.exec(authorization ?? '');
    const credential = match === null ? undefined : await this.site.authenticate(match[1] as string);
    if (credential === undefined) {
      throw new VouchError(
        'no-trusted-signature',
        'a valid endpoint credential is required (Authorization: Bearer)',
        {
          reason: 'unauthenticated',
        },
      );
    }
    return credential;
  }

  /** processTelemetry parses a batch body (at most 1 MiB, checked by the parser too) and ingests it. */
  async processTelemetry(credential: EndpointCredential, body: Uint8Array): Promise<IngestAck> {
    return this.ingest(credential, parseTelemetryBatch(body));
  }

  /** processAgentReport turns an agent report into update events (see the module comment) and ingests them. */
  async processAgentReport(credential: EndpointCredential, body: Uint8Array): Promise<IngestAck> {
    return this.ingest(credential, reportBatch(credential, body));
  }

  /** ingest runs the checks of the module comment and stores the batch; see there for every refusal. */
  async ingest(credential: EndpointCredential, batch: TelemetryBatch): Promise<IngestAck> {
    const site = this.site;
    if (batch.tenant !== credential.tenant || batch.endpoint !== credential.endpoint) {
      const field = batch.tenant !== credential.tenant ? 'tenant' : 'endpoint';
      throw new VouchError(
        'policy-unmet',
        `the batch's ${field} is not the one this credential is issued to`,
        {
          reason: 'credential-mismatch',
          field,
        },
      );
    }
    const tenant = await site.tenant(batch.tenant);
    if (tenant === undefined) {
      throw new VouchError('policy-unmet', `tenant ${batch.tenant} is not in this site's tenant directory`, {
        reason: 'unknown-tenant',
      });
    }
    const decision = site.decide(tenant);
    if (decision.site !== site.id) {
      // Nothing of the batch has been stored, nor will be.
      throw new VouchError(
        'policy-unmet',
        `tenant ${tenant.id}'s data is stored at site ${decision.site}, not ${site.id}`,
        {
          reason: 'misdirected',
          site: decision.site,
          url: decision.url,
        },
      );
    }
    if (this.#decide) {
      const verdict = this.#policy(
        credential,
        tenant.contractCountry,
        tenant.approvalRequired,
        decision.residency,
      );
      if (verdict.decision !== 'allow') {
        const named =
          verdict.reasons.length > 0 ? verdict.reasons.join(', ') : 'no policy permits it (deny by default)';
        throw new VouchError('policy-unmet', `ingest denied by policy: ${named}`, {
          reason: 'policy-denied',
          policies: verdict.reasons,
          errors: verdict.errors,
          policyDigest: verdict.policyDigest,
        });
      }
    }
    const key = this.#encrypt ? await site.dataKey(tenant.id) : undefined;
    const { events, digest } = this.#seal(batch, key);
    let receipt: BatchReceipt;
    try {
      receipt = await site.store.storeBatch(tenant.id, batch.batchId, digest, events);
    } catch (error) {
      if (isVouchError(error, 'not-found')) site.forgetKey(tenant.id); // erased meanwhile
      throw error;
    }
    // The store's transaction has committed: only now is the batch acknowledged.
    return Object.freeze({ batchId: batch.batchId, status: receipt.status, count: receipt.count });
  }

  #policy(
    credential: EndpointCredential,
    contractCountry: string,
    approvalRequired: boolean,
    residency: 'neutral' | 'home',
  ): PolicyDecision {
    const site = this.site;
    return site.policy.decide({
      principal: { type: 'Endpoint', id: credential.endpoint, tenant: credential.tenant },
      action: 'ingest',
      resource: {
        type: 'TenantData',
        kind: 'telemetry',
        tenant: { id: credential.tenant, contractCountry, residency, site: site.id, approvalRequired },
      },
      context: { site: { id: site.id, country: site.country }, now: new Date(this.#now()) },
    });
  }

  /**
   * #seal returns the rows of a parsed batch and the batch digest. Both are computed from one
   * canonical encoding per event: a parsed event is a plain object of exactly its fields, so
   * `formatCanonicalJson(event)` is `formatTelemetryEvent(event)` without its re-validation, and
   * the batch's canonical JSON (whose SHA-256 is `telemetryBatchDigest`) is assembled from those
   * bytes. The events are sealed together by core's `sealEvents` (byte for byte what `sealEvent`
   * makes per event: AAD (tenant, site, event id), a random nonce each). ingest.test.ts checks
   * all three equalities.
   */
  #seal(batch: TelemetryBatch, key: AeadKey | undefined): { events: StoredEvent[]; digest: Uint8Array } {
    const count = batch.events.length;
    const plaintexts: Uint8Array[] = new Array(count);
    const toSeal: EventToSeal[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const plaintext = formatCanonicalJson(batch.events[i] as TelemetryEvent);
      plaintexts[i] = plaintext;
      toSeal[i] = { eventId: `${batch.batchId}.${i}`, plaintext };
    }
    const sealed =
      key === undefined ? plaintexts : sealEvents(key, { tenant: batch.tenant, site: this.site.id }, toSeal);
    const events = batch.events.map(
      (event, i): StoredEvent => ({
        tenant: batch.tenant,
        eventId: (toSeal[i] as EventToSeal).eventId,
        kind: event.kind,
        time: parseTime(eventTime(event)),
        sealed: sealed[i] as Uint8Array,
      }),
    );
    return { events, digest: batchDigest(batch, plaintexts) };
  }
}

/** batchDigest is telemetryBatchDigest's SHA-256, over the canonical batch assembled from its canonical events. */
export function batchDigest(batch: TelemetryBatch, canonicalEvents: readonly Uint8Array[]): Uint8Array {
  const head = `{"batchId":${JSON.stringify(batch.batchId)},"endpoint":${JSON.stringify(batch.endpoint)},"events":[`;
  const tail = `],"tenant":${JSON.stringify(batch.tenant)}}`;
  const parts: Uint8Array[] = [toBytes(head)];
  canonicalEvents.forEach((e, i) => {
    if (i > 0) parts.push(comma);
    parts.push(e);
  });
  parts.push(toBytes(tail));
  return sha256(concatBytes(...parts));
}

const comma = Uint8Array.of(0x2c);

function eventTime(event: TelemetryEvent): string {
  return event.kind === 'sample' ? event.firstSeen : event.time;
}

const reportOutcomes = new Set(['installed', 'up-to-date', 'unchanged', 'failed']);

/** reportBatch builds the batch of update events an agent report stands for (see the module comment). */
export function reportBatch(credential: EndpointCredential, body: Uint8Array): TelemetryBatch {
  if (body.length > maxAgentReportBytes) {
    throw new VouchError('too-large', `an agent report exceeds the limit of ${maxAgentReportBytes}`, {
      limit: maxAgentReportBytes,
    });
  }
  const report = parseJson(body, { maxBytes: maxAgentReportBytes, maxDepth: 6 });
  const bad = (field: string, why: string): VouchError =>
    new VouchError('malformed', `agent report ${field} is ${why}`, { field, fields: [field] });
  if (!isJsonObject(report)) throw bad('$', 'not an object');
  const outcome = report['outcome'];
  if (typeof outcome !== 'string' || !reportOutcomes.has(outcome)) {
    throw bad('outcome', 'not installed, up-to-date, unchanged or failed');
  }
  const finished = report['finishedAt'];
  const whole =
    typeof finished === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?Z$/.exec(finished) : null;
  if (whole === null) throw bad('finishedAt', 'not an RFC 3339 UTC time');
  const time = `${whole[1]}Z`;
  const metadata = report['metadata'];
  if (!isJsonObject(metadata)) throw bad('metadata', 'not an object');
  const timestamp = metadata['timestamp'];
  const installed = report['installed'];
  if (!isJsonObject(installed)) throw bad('installed', 'not an object');
  const changed = report['changed'];
  if (!isJsonArray(changed) || changed.length > maxTelemetryEvents - 1) {
    throw bad('changed', `not an array of at most ${maxTelemetryEvents - 1} keys`);
  }
  const error = report['error'];
  const attack = isJsonObject(error) && typeof error['attack'] === 'string' ? error['attack'] : undefined;
  const run: Record<string, JsonValue> = {
    kind: 'update',
    time,
    target: 'repository/timestamp',
    to:
      typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0
        ? String(timestamp)
        : '0',
    outcome: outcome === 'failed' ? (attack === undefined ? 'failed' : 'refused') : 'ok',
    ...(outcome === 'failed' && attack !== undefined ? { attack } : {}),
  };
  const events: JsonValue[] = [run];
  changed.forEach((key, i) => {
    const item = typeof key === 'string' && Object.hasOwn(installed, key) ? installed[key] : undefined;
    if (typeof key !== 'string' || !isJsonObject(item)) throw bad(`changed[${i}]`, 'not a key of installed');
    const { version, previous } = item;
    events.push({
      kind: 'update',
      time,
      target: key,
      ...(typeof previous === 'string' ? { from: previous } : {}),
      to: typeof version === 'string' ? version : '',
      outcome: 'ok',
    });
  });
  const batchId = `report-${createHash('sha256')
    .update(credential.endpoint)
    .update('\n')
    .update(body)
    .digest('hex')
    .slice(0, 48)}`;
  // Through the telemetry parser, so the derived events meet exactly the batch rules.
  const bytes = formatCanonicalJson({
    batchId,
    tenant: credential.tenant,
    endpoint: credential.endpoint,
    events,
  });
  if (bytes.length > maxTelemetryBatchBytes) throw bad('changed', 'too long to store');
  return parseTelemetryBatch(bytes);
}
