/**
 * The one gate every read of customer data goes through (DESIGN.md "The data flow" step 5; issue
 * 8 "Every read of customer data — by a job or a person — is appended ... and durable before any
 * data is released"). In order, and never otherwise:
 *
 * 1. The tenant is looked up in this site's store and the request is decided by Cedar
 *    (services/policy) — principal a registered `Job` or a `Staff` member, action `read` /
 *    `process` (jobs), `access` (staff, with a grant), `export` or `erase` (privacy officers),
 *    resource the tenant's `TenantData` — together with the checks Cedar cannot make: a staff
 *    access needs an active grant (core/sites checkGrant) for this person (id, employer, role,
 *    office and physical country), action, purpose, scope and ticket; a grant presented for an
 *    export or erasure must have been approved for exactly that action.
 * 2. Sealed rows are selected (still encrypted) so the entry can say how many records go out.
 * 3. The access-ledger entry — principal, action (the Cedar action decided), purpose,
 *    justification, ticket, approval digest, tenant, scope, count, time, policy digest, decision
 *    and reasons — is recorded; `record` returns only once the entry is durable and published (./ledger.ts). A ledger that fails or
 *    hangs makes the read fail here, before any key is unwrapped: fail closed.
 * 4. Only an allowed read goes on: the tenant key is unwrapped with the site's key-encryption
 *    key, the events are opened (AES-256-GCM bound to tenant, site and event id) and returned.
 *
 * A denied read is ledgered with decision `deny`, count 0 and its reasons, and throws
 * `policy-unmet` (details: `reasons`, `ledgerIndex`). A read of a tenant this site does not host
 * is a deny too, and so is a read of an erased tenant, which throws `not-found` saying when the
 * data was erased. This module never writes customer data; it does not schedule jobs (./jobs.ts)
 * or manage grants (./access.ts).
 *
 * LIMIT: a tenant erased between step 1 and step 4 may still have the events selected in step 2
 * opened, with the key read in step 1; the ledger shows that read before the erasure.
 */

import { equalBytes } from '../../core/bytes/index.ts';
import { type AeadKey, importAeadKey } from '../../core/crypto/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import {
  type AccessRequest,
  type CountryCode,
  checkGrant,
  formatTime,
  type GrantCheck,
  type LedgerEntry,
  openEvent,
  type Principal,
  parseTelemetryEvent,
  parseTenantRecord,
  type SiteId,
  type SiteRegistry,
  siteForCountry,
  type TelemetryEvent,
  type TenantRecord,
  unwrapTenantKey,
} from '../../core/sites/index.ts';
import type { SiteStore, StoredEvent, StoredTenant } from '../../storage/site.ts';
import type { PolicyDecision, PolicyEngine } from '../policy/decide.ts';
import type { ApprovalInput, PolicyPrincipal, PolicyRequest, TenantInput } from '../policy/entities.ts';
import type { Ledger, LedgerReceipt } from './ledger.ts';

/** maxReadLimit bounds the events one read may release. */
export const maxReadLimit = 10_000;

/** readDataset is the dataset name of telemetry: the Cedar `TenantData` kind and the first word of a scope. */
export const readDataset = 'telemetry';

/** jobRole is the role a job has in ledger entries. */
export const jobRole = 'processing-job';

/** EventKind is a kind of stored telemetry event. */
export type EventKind = 'detection' | 'update' | 'sample';

const eventKinds: readonly string[] = ['detection', 'update', 'sample'];

/** JobReader is a registered processing job running at this site. */
export interface JobReader {
  readonly kind: 'job';
  readonly id: string;
  /** purpose is the job's registered purpose (`detection-statistics`, `sample-triage`). */
  readonly purpose: string;
}

/** StaffReader is a person, with where they are employed, based and physically present now. */
export interface StaffReader {
  readonly kind: 'person';
  readonly id: string;
  readonly employer: string;
  readonly officeCountry: CountryCode;
  readonly physicalCountry: CountryCode;
  readonly role: string;
  /** site is the site the person is assigned to (default: this site). */
  readonly site?: SiteId;
}

/** Reader is who reads. */
export type Reader = JobReader | StaffReader;

/** ReadAction is what a reader does with the data. */
export type ReadAction = 'read' | 'process' | 'access' | 'export';

/** GateAction is any action the gate decides; `erase` releases nothing but is ledgered the same way. */
export type GateAction = ReadAction | 'erase';

/** Grant is a staff access request with the customer's approval envelope, if there is one. */
export interface Grant {
  readonly request: AccessRequest;
  readonly approval?: Uint8Array;
}

/** Selection picks a tenant's events by the columns stored in clear. */
export interface Selection {
  readonly kind?: EventKind;
  /** from and to bound the event time, seconds since the epoch, inclusive and exclusive. */
  readonly from?: number;
  readonly to?: number;
  /** limit is the most events released, 1..{@link maxReadLimit}. */
  readonly limit: number;
}

/** ReadRequest is one read of one tenant's data. */
export interface ReadRequest {
  readonly reader: Reader;
  readonly action: ReadAction;
  readonly tenant: string;
  readonly purpose: string;
  /** justification is one line saying why (a job states its registration). */
  readonly justification: string;
  readonly ticket?: string;
  /** grant is required for a staff `access`, and supplies the approval for `export`. */
  readonly grant?: Grant;
  readonly select: Selection;
}

/** OpenedEvent is one released event. */
export interface OpenedEvent {
  readonly eventId: string;
  readonly kind: string;
  /** time is the event time stored in clear, seconds since the epoch. */
  readonly time: number;
  /** bytes are the event's canonical JSON. */
  readonly bytes: Uint8Array;
  readonly event: TelemetryEvent;
}

/** ReadResult is an allowed read: its ledger receipt and the released events. */
export interface ReadResult {
  readonly receipt: LedgerReceipt;
  readonly events: readonly OpenedEvent[];
  /** reasons are those of the ledger entry. */
  readonly reasons: readonly string[];
}

/** GateRequest is a decision the gate records without releasing data ({@link SiteReads.gate}). */
export interface GateRequest extends Omit<ReadRequest, 'action' | 'select'> {
  readonly action: GateAction;
  readonly scope: string;
}

/** Gated is what the gate allowed: the receipt and the tenant as stored. */
export interface Gated<T> {
  readonly receipt: LedgerReceipt;
  readonly tenant: StoredTenant;
  readonly record: TenantRecord;
  readonly value: T;
  readonly reasons: readonly string[];
}

/** PolicyDecider is what the gate needs of the policy engine. */
export type PolicyDecider = Pick<PolicyEngine, 'decide' | 'policyDigest'>;

/** SiteReadsOptions wires the gate to one site. */
export interface SiteReadsOptions {
  /** site is this site: its id and ISO country (the neutral site is `ch-zrh` in `CH`). */
  readonly site: { readonly id: SiteId; readonly country: CountryCode };
  readonly store: SiteStore;
  /**
   * kek is the site's key-encryption key (32 bytes, or prepared with importAeadKey); the gate
   * unwraps the tenant key for each allowed read and wipes it after. Give either `kek` or
   * `dataKey` (for instance services/site/site.ts `Site.dataKey`, which caches prepared keys).
   */
  readonly kek?: Uint8Array | AeadKey;
  /** dataKey returns a tenant's unwrapped data key; called only after the read is ledgered. */
  readonly dataKey?: (tenant: string) => Promise<Uint8Array | AeadKey>;
  readonly policy: PolicyDecider;
  readonly ledger: Pick<Ledger, 'record' | 'site'>;
  /** registry gives each tenant's residency class from its contract country. */
  readonly registry: SiteRegistry;
  /** now is the clock, whole seconds since the epoch (injected in tests). */
  readonly now?: () => number;
}

const reasonLimit = 256;
const maxCachedRecords = 10_000;
const maxReasons = 32;

/** SiteReads is the gate; see the module comment. */
export class SiteReads {
  readonly #o: SiteReadsOptions;
  readonly #now: () => number;
  readonly #records = new Map<string, { readonly bytes: Uint8Array; readonly record: TenantRecord }>();

  constructor(options: SiteReadsOptions) {
    if ((options.kek === undefined) === (options.dataKey === undefined)) {
      throw new VouchError(
        'invalid-argument',
        'give the gate either a key-encryption key or a data-key source',
        {
          field: 'kek',
        },
      );
    }
    if (options.ledger.site !== options.site.id) {
      throw new VouchError(
        'invalid-argument',
        `the ledger is ${options.ledger.site}'s, not this site's (${options.site.id})`,
        { field: 'ledger' },
      );
    }
    this.#o = options;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** site is this site's id. */
  get site(): SiteId {
    return this.#o.site.id;
  }

  /**
   * read decides, ledgers and only then opens and returns the selected events; see the module
   * comment for what is thrown when. The events are in (time, event id) order.
   */
  async read(request: ReadRequest): Promise<ReadResult> {
    const select = checkSelection(request.select);
    const scope = scopeOf(select);
    const gated = await this.gate({ ...request, scope }, async (tenant) => {
      const rows = await this.#o.store.readEvents(tenant, {
        ...(select.kind === undefined ? {} : { kind: select.kind }),
        ...(select.from === undefined ? {} : { from: select.from }),
        ...(select.to === undefined ? {} : { to: select.to }),
        limit: select.limit,
      });
      return { count: rows.length, value: rows };
    });
    const { tenant, value: rows } = gated;
    const wrapped = tenant.wrappedKey;
    if (wrapped === undefined) throw erased(tenant);
    const source = this.#o.dataKey;
    if (source !== undefined) {
      const key = await source(tenant.tenant);
      return Object.freeze({
        receipt: gated.receipt,
        events: Object.freeze(rows.map((row) => this.#open(key, row))),
        reasons: gated.reasons,
      });
    }
    const raw = unwrapTenantKey(this.#o.kek as Uint8Array | AeadKey, wrapped, {
      tenant: tenant.tenant,
      site: this.site,
    });
    let key: AeadKey;
    try {
      key = importAeadKey(raw);
    } finally {
      raw.fill(0);
    }
    const events = rows.map((row) => this.#open(key, row));
    return Object.freeze({ receipt: gated.receipt, events: Object.freeze(events), reasons: gated.reasons });
  }

  /**
   * gate decides `request`, runs `prepare` (which may select sealed rows, never open them) when
   * allowed to learn the count, ledgers the decision, and returns what `prepare` produced only
   * when the decision is allow. A deny throws `policy-unmet` after it is ledgered; a ledger
   * failure throws before anything is returned.
   */
  async gate<T>(
    request: GateRequest,
    prepare: (tenant: string) => Promise<{ readonly count: number; readonly value: T }>,
  ): Promise<Gated<T>> {
    checkText(request.purpose, 'purpose');
    const now = this.#now();
    const stored = await this.#o.store.getTenant(request.tenant);
    const verdict = this.#decide(request, stored, now);
    let count = 0;
    let value: T | undefined;
    if (verdict.decision === 'allow') {
      const prepared = await prepare(request.tenant);
      count = prepared.count;
      value = prepared.value;
    }
    const entry: LedgerEntry = {
      principal: principalOf(request.reader),
      action: request.action,
      purpose: request.purpose,
      justification: request.justification,
      ...(request.ticket === undefined ? {} : { ticket: request.ticket }),
      ...(verdict.grant?.approvalDigest === undefined ? {} : { approval: verdict.grant.approvalDigest }),
      tenant: request.tenant,
      site: this.site,
      scope: request.scope,
      count,
      time: formatTime(now),
      policyDigest: this.#o.policy.policyDigest,
      decision: verdict.decision,
      reasons: verdict.reasons,
    };
    // The commit point of a read: nothing below runs unless the entry is durable and published.
    const receipt = await this.#o.ledger.record(entry);
    if (verdict.decision !== 'allow' || stored === undefined || verdict.record === undefined) {
      if (stored?.wrappedKey === undefined && stored !== undefined) throw erased(stored, receipt.index);
      throw new VouchError(
        'policy-unmet',
        `${request.action} of tenant ${request.tenant}'s data at ${this.site} is denied: ${verdict.reasons.join('; ')}`,
        { reasons: verdict.reasons, ledgerIndex: receipt.index },
      );
    }
    return Object.freeze({
      receipt,
      tenant: stored,
      record: verdict.record,
      value: value as T,
      reasons: verdict.reasons,
    });
  }

  #decide(
    request: GateRequest,
    stored: StoredTenant | undefined,
    now: number,
  ): { decision: 'allow' | 'deny'; reasons: string[]; grant?: GrantCheck; record?: TenantRecord } {
    if (stored === undefined) {
      return { decision: 'deny', reasons: [`site: tenant ${request.tenant} is not hosted at ${this.site}`] };
    }
    let record: TenantRecord;
    try {
      record = this.#record(stored);
    } catch {
      return { decision: 'deny', reasons: ['site: the stored tenant record does not parse'] };
    }
    if (stored.wrappedKey === undefined) {
      const when = stored.erasedAt === undefined ? 'an unknown time' : formatTime(stored.erasedAt);
      return { decision: 'deny', reasons: [`site: the tenant's data was erased at ${when}`], record };
    }
    const extra: string[] = [];
    let grant: GrantCheck | undefined;
    let approval: ApprovalInput | undefined;
    const reader = request.reader;
    if (reader.kind === 'person' && request.grant !== undefined) {
      grant = checkGrant(request.grant.request, request.grant.approval, record, now);
      const mismatch = grantMismatch(request.grant.request, request, reader);
      if (mismatch !== undefined) {
        extra.push(`grant: ${mismatch}`);
      } else if (grant.status !== 'active') {
        extra.push(...grant.reasons.map((r) => `grant ${grant?.status}: ${r}`));
      }
      if (request.grant.approval !== undefined) {
        approval = {
          valid: mismatch === undefined && grant.status !== 'forged' && grant.status !== 'missing',
          expiresAt: new Date(grant.expires * 1000),
        };
      }
    } else if (reader.kind === 'person' && request.action === 'access') {
      extra.push('grant: a staff access needs an access request granted for it');
    }
    if (reader.kind === 'job' && request.grant !== undefined) {
      extra.push('grant: a job reads under its registration, not a staff grant');
    }

    let residency: 'neutral' | 'home';
    try {
      residency = siteForCountry(this.#o.registry, record.contractCountry).residency;
    } catch {
      return {
        decision: 'deny',
        reasons: ["site: the tenant's contract country is not in the registry"],
        record,
      };
    }
    const tenant: TenantInput = {
      id: record.id,
      contractCountry: record.contractCountry,
      residency,
      site: record.site,
      approvalRequired: record.approvalRequired,
    };
    const policyRequest: PolicyRequest = {
      principal: this.#principal(reader),
      action: request.action,
      resource: { type: 'TenantData', tenant, kind: readDataset },
      context: {
        site: this.#o.site,
        now: new Date(now * 1000),
        purpose: request.purpose,
        justification: request.justification,
        ticket: request.ticket ?? '',
        ...(approval === undefined ? {} : { approval }),
      },
    };
    let decided: PolicyDecision;
    try {
      decided = this.#o.policy.decide(policyRequest);
    } catch (error) {
      const reason = isVouchError(error) ? error.message : 'the policy engine failed';
      return {
        decision: 'deny',
        reasons: [`error: ${reason}`],
        record,
        ...(grant === undefined ? {} : { grant }),
      };
    }
    const reasons = [
      ...decided.reasons.map((id) => `${decided.decision === 'allow' ? 'permit' : 'forbid'}: ${id}`),
      ...decided.errors.map((e) => `error: ${e}`),
    ];
    if (decided.decision === 'deny' && reasons.length === 0) reasons.push('deny: no policy permits this');
    const decision = decided.decision === 'allow' && extra.length === 0 ? 'allow' : 'deny';
    return {
      decision,
      reasons: cleanReasons([...reasons, ...extra]),
      record,
      ...(grant === undefined ? {} : { grant }),
    };
  }

  /** record parses a stored tenant record, reusing the last parse while the bytes are unchanged. */
  #record(stored: StoredTenant): TenantRecord {
    const cached = this.#records.get(stored.tenant);
    if (cached !== undefined && equalBytes(cached.bytes, stored.record)) return cached.record;
    const record = parseTenantRecord(stored.record);
    if (this.#records.size >= maxCachedRecords) this.#records.clear();
    this.#records.set(stored.tenant, { bytes: stored.record.slice(), record });
    return record;
  }

  #principal(reader: Reader): PolicyPrincipal {
    if (reader.kind === 'job') {
      return { type: 'Job', id: reader.id, purpose: reader.purpose, site: this.site };
    }
    return {
      type: 'Staff',
      id: reader.id,
      employer: reader.employer,
      officeCountry: reader.officeCountry,
      physicalCountry: reader.physicalCountry,
      role: reader.role,
      site: reader.site ?? this.site,
    };
  }

  #open(key: Uint8Array | AeadKey, row: StoredEvent): OpenedEvent {
    const bytes = openEvent(key, { tenant: row.tenant, site: this.site, eventId: row.eventId }, row.sealed);
    return Object.freeze({
      eventId: row.eventId,
      kind: row.kind,
      time: row.time,
      bytes,
      event: parseTelemetryEvent(bytes),
    });
  }
}

/** Page is one ledgered read of a paged run: the events new to the run and the ledger receipt. */
export interface Page {
  readonly events: readonly OpenedEvent[];
  readonly receipt: LedgerReceipt;
}

/**
 * readPages reads every event of `select` (its `limit` is the page size) through the gate, one
 * ledgered read per page, yielding each page's events that earlier pages did not release. Pages
 * are cut by event time: the next page starts at the last second seen and asks for as many more
 * events as it already saw at that second (they come first, in event-id order, and are skipped),
 * so it always progresses. It throws `too-large` after `maxPages` pages, or when one second holds
 * more events than one read may release ({@link maxReadLimit}).
 */
export async function* readPages(
  reads: SiteReads,
  request: Omit<ReadRequest, 'select'>,
  select: Selection,
  maxPages: number,
): AsyncGenerator<Page> {
  let from = select.from;
  let seen = new Set<string>();
  for (let page = 0; page < maxPages; page++) {
    const limit = select.limit + seen.size;
    if (limit > maxReadLimit) {
      throw new VouchError(
        'too-large',
        `more than ${maxReadLimit - select.limit} events within one second cannot be paged`,
        {
          limit: maxReadLimit,
        },
      );
    }
    const result = await reads.read({
      ...request,
      select: { ...select, ...(from === undefined ? {} : { from }), limit },
    });
    yield { events: result.events.filter((e) => !seen.has(e.eventId)), receipt: result.receipt };
    const last = result.events[result.events.length - 1];
    if (result.events.length < limit || last === undefined) return;
    seen = new Set(result.events.filter((e) => e.time === last.time).map((e) => e.eventId));
    from = last.time;
  }
  throw new VouchError('too-large', `a paged read is at most ${maxPages} pages; narrow the window`, {
    limit: maxPages,
  });
}

/** principalOf is the ledger's spelling of a reader. */
export function principalOf(reader: Reader): Principal {
  if (reader.kind === 'job') return { kind: 'job', id: reader.id, role: jobRole };
  return {
    kind: 'person',
    id: reader.id,
    employer: reader.employer,
    officeCountry: reader.officeCountry,
    physicalCountry: reader.physicalCountry,
    role: reader.role,
  };
}

/**
 * scopeOf spells a selection as a ledger scope: `telemetry`, then `:<kind>`, `:from-<seconds>`
 * and `:to-<seconds>` for what is set, so the entry says exactly what was selected.
 */
export function scopeOf(select: Selection): string {
  return [
    readDataset,
    ...(select.kind === undefined ? [] : [select.kind]),
    ...(select.from === undefined ? [] : [`from-${select.from}`]),
    ...(select.to === undefined ? [] : [`to-${select.to}`]),
  ].join(':');
}

/** scopeCovers says whether a granted scope covers a requested one: equal, or a prefix ending at `:` or `/`. */
export function scopeCovers(granted: string, requested: string): boolean {
  if (granted === requested) return true;
  const next = requested.charAt(granted.length);
  return requested.startsWith(granted) && (next === ':' || next === '/');
}

function grantMismatch(grant: AccessRequest, request: GateRequest, reader: StaffReader): string | undefined {
  const r = grant.requester;
  if (grant.tenant !== request.tenant) return 'the grant is for another tenant';
  if (r.id !== reader.id || r.employer !== reader.employer || r.role !== reader.role) {
    return 'the grant was requested by another person or role';
  }
  if (r.officeCountry !== reader.officeCountry || r.physicalCountry !== reader.physicalCountry) {
    return `the grant was approved for a person with office in ${r.officeCountry ?? '?'} and located in ${r.physicalCountry ?? '?'}, not ${reader.officeCountry} and ${reader.physicalCountry}`;
  }
  if (grant.action !== request.action) {
    return `the grant allows ${grant.action}, not ${request.action}`;
  }
  if (grant.purpose !== request.purpose) return 'the grant is for another purpose';
  if (!scopeCovers(grant.scope, request.scope))
    return `the grant's scope ${grant.scope} does not cover ${request.scope}`;
  if (request.ticket !== grant.ticket) return 'the read cites another ticket than the grant';
  return undefined;
}

function checkSelection(select: Selection): Selection {
  const bad = (field: string, why: string): never => {
    throw new VouchError('invalid-argument', `select.${field} ${why}`, { field: `select.${field}` });
  };
  if (!Number.isSafeInteger(select.limit) || select.limit < 1 || select.limit > maxReadLimit) {
    bad('limit', `must be 1..${maxReadLimit}`);
  }
  if (select.kind !== undefined && !eventKinds.includes(select.kind))
    bad('kind', 'is not detection, update or sample');
  for (const field of ['from', 'to'] as const) {
    const v = select[field];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0))
      bad(field, 'must be whole seconds since the epoch');
  }
  if (select.from !== undefined && select.to !== undefined && select.from > select.to)
    bad('from', 'is after to');
  return select;
}

function checkText(value: string, field: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw new VouchError('invalid-argument', `${field} must be 1..1024 characters`, { field });
  }
}

/** cleanReasons makes reasons fit a ledger entry: one line each, at most 256 characters, at most 32. */
function cleanReasons(reasons: readonly string[]): string[] {
  const cleaned = reasons.map((r) => {
    let text = '';
    for (const c of r) {
      const code = c.charCodeAt(0);
      text += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? ' ' : c;
    }
    const line = text.replace(/\s+/g, ' ').trim();
    const cut = line.length > reasonLimit ? `${line.slice(0, reasonLimit - 3).trimEnd()}...` : line;
    return cut === '' ? 'unspecified' : cut;
  });
  if (cleaned.length <= maxReasons) return cleaned;
  return [...cleaned.slice(0, maxReasons - 1), `and ${cleaned.length - maxReasons + 1} more`];
}

function erased(tenant: StoredTenant, ledgerIndex?: bigint): VouchError {
  const when = tenant.erasedAt === undefined ? 'an unknown time' : formatTime(tenant.erasedAt);
  return new VouchError(
    'not-found',
    `tenant ${tenant.tenant}'s data was erased at ${when}: its key is destroyed and nothing can be read`,
    { field: 'tenant', ...(ledgerIndex === undefined ? {} : { ledgerIndex }) },
  );
}
