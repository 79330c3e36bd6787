/**
 * Staff access to customer data (issue 8 "Staff access"; data-residency.md §8.5, the Customer
 * Lockbox model): a person files a request (who, employer, office and physical country,
 * justification, ticket, scope, duration — core/sites newAccessRequest), the customer signs an
 * approval where its contract requires one (a DSSE envelope by the tenant's approval key over
 * the canonical request — core/sites signAccessApproval, {@link signApproval} here), the site
 * stores both (storage/access.ts), and a read under the grant goes through the gate
 * (./reads.ts), which checks the grant again at the moment of the read (checkGrant: expired,
 * not yet valid, forged or missing approvals are denied) and lets Cedar decide with the
 * approval in its context.
 *
 * Only an approval that verifies for its request is stored: a forged one (another key, another
 * request, another payload type, not DSSE) is refused with `bad-signature` and leaves nothing.
 * An approval that arrives after the grant window is refused with `policy-unmet` (it could never
 * open data). Requests are only taken for tenants this site hosts. Grants are never stretched:
 * the window is the request's, 12 hours by default, at most 72.
 */

import { randomUUID } from 'node:crypto';
import { formatEnvelope } from '../../core/attest/index.ts';
import type { Signer } from '../../core/crypto/index.ts';
import { VouchError } from '../../core/errors.ts';
import {
  type AccessRequest,
  type AccessRequestInput,
  checkGrant,
  formatAccessRequest,
  formatTime,
  type GrantCheck,
  maxApprovalBytes,
  newAccessRequest,
  parseAccessRequest,
  parseTenantRecord,
  type SiteId,
  signAccessApproval,
  type TenantRecord,
} from '../../core/sites/index.ts';
import type { AccessStore, StoredAccessRequest } from '../../storage/access.ts';
import type { SiteStore } from '../../storage/site.ts';
import type { Grant } from './reads.ts';

/** GrantView is a stored request with its approval and its status now. */
export interface GrantView {
  readonly request: AccessRequest;
  /** requestBytes are the canonical request bytes (what the customer signs). */
  readonly requestBytes: Uint8Array;
  readonly approval: Uint8Array | undefined;
  readonly approvedAt: number | undefined;
  readonly created: number;
  /** check is checkGrant's answer at the time of the call. */
  readonly check: GrantCheck;
}

/** StaffAccessOptions wires staff access to one site. */
export interface StaffAccessOptions {
  readonly site: SiteId;
  readonly store: SiteStore;
  readonly access: AccessStore;
  /** now is the clock, whole seconds since the epoch. */
  readonly now?: () => number;
  /** newId returns a fresh request id (default: a random UUID). */
  readonly newId?: () => string;
}

/** NewRequestInput is a request as staff file it; the id and start default to fresh values. */
export type NewRequestInput = Omit<AccessRequestInput, 'id' | 'requested'> & {
  readonly id?: string;
  readonly requested?: string;
};

/** StaffAccess manages requests and approvals; see the module comment. */
export class StaffAccess {
  readonly #o: StaffAccessOptions;
  readonly #now: () => number;

  constructor(options: StaffAccessOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /**
   * request validates and stores a request for a tenant hosted here (`not-found` otherwise;
   * `invalid-argument` naming every bad field) and returns it. The window starts now unless
   * `requested` says otherwise.
   */
  async request(input: NewRequestInput): Promise<GrantView> {
    await this.#tenant(input.tenant);
    const now = this.#now();
    const request = newAccessRequest({
      ...input,
      id: input.id ?? (this.#o.newId ?? randomUUID)(),
      requested: input.requested ?? formatTime(now),
    });
    await this.#o.access.putRequest({
      tenant: request.tenant,
      id: request.id,
      request: formatAccessRequest(request),
      created: now,
    });
    return this.get(request.tenant, request.id);
  }

  /**
   * approve verifies the customer's approval envelope for a stored request and stores it: it
   * throws `not-found` for an unknown request, `too-large` over the approval bound,
   * `bad-signature` for anything checkGrant calls forged, `policy-unmet` when the window is
   * already over, and `conflict` when another approval is stored.
   */
  async approve(tenant: string, id: string, approval: Uint8Array): Promise<GrantView> {
    if (approval.length > maxApprovalBytes) {
      throw new VouchError('too-large', `an approval is at most ${maxApprovalBytes} bytes`, {
        limit: maxApprovalBytes,
      });
    }
    const stored = await this.#stored(tenant, id);
    const record = await this.#tenant(tenant);
    const request = parseAccessRequest(stored.request);
    const now = this.#now();
    const check = checkGrant(request, approval, record, now);
    if (check.status === 'forged') {
      throw new VouchError(
        'bad-signature',
        `the approval of request ${id} is refused: ${check.reasons.join('; ')}`,
        {
          field: 'approval',
        },
      );
    }
    if (check.status === 'expired') {
      throw new VouchError(
        'policy-unmet',
        `request ${id} expired at ${formatTime(check.expires)}; ask again`,
        {
          field: 'approval',
        },
      );
    }
    await this.#o.access.approveRequest(tenant, id, approval, now);
    return this.get(tenant, id);
  }

  /** get returns a stored request with its status now, or throws `not-found`. */
  async get(tenant: string, id: string): Promise<GrantView> {
    const stored = await this.#stored(tenant, id);
    return this.#view(stored, await this.#tenant(tenant));
  }

  /** list returns requests (of one tenant, if given) newest first with their status now. */
  async list(options: { readonly tenant?: string; readonly limit: number }): Promise<GrantView[]> {
    const rows = await this.#o.access.listRequests(options);
    const records = new Map<string, TenantRecord | undefined>();
    const views: GrantView[] = [];
    for (const row of rows) {
      if (!records.has(row.tenant))
        records.set(row.tenant, await this.#tenant(row.tenant).catch(() => undefined));
      const record = records.get(row.tenant);
      if (record !== undefined) views.push(this.#view(row, record));
    }
    return views;
  }

  /** grantFor returns the request and approval a staff read presents to the gate. */
  async grantFor(tenant: string, id: string): Promise<Grant> {
    const stored = await this.#stored(tenant, id);
    const request = parseAccessRequest(stored.request);
    return stored.approval === undefined ? { request } : { request, approval: stored.approval };
  }

  #view(stored: StoredAccessRequest, record: TenantRecord): GrantView {
    const request = parseAccessRequest(stored.request);
    return Object.freeze({
      request,
      requestBytes: stored.request,
      approval: stored.approval,
      approvedAt: stored.approvedAt,
      created: stored.created,
      check: checkGrant(request, stored.approval, record, this.#now()),
    });
  }

  async #stored(tenant: string, id: string): Promise<StoredAccessRequest> {
    const stored = await this.#o.access.getRequest(tenant, id);
    if (stored === undefined) {
      throw new VouchError('not-found', `no access request ${id} for tenant ${tenant} at ${this.#o.site}`, {
        field: 'id',
      });
    }
    return stored;
  }

  async #tenant(tenant: string): Promise<TenantRecord> {
    const stored = await this.#o.store.getTenant(tenant);
    if (stored === undefined) {
      throw new VouchError('not-found', `tenant ${tenant} is not hosted at ${this.#o.site}`, {
        field: 'tenant',
      });
    }
    return parseTenantRecord(stored.record);
  }
}

/**
 * signApproval is the customer's side: it signs the canonical request bytes with the tenant's
 * approval key and returns the envelope bytes to send back. It throws `malformed` for bytes that
 * are not a canonical request, so a customer never signs something it could not read.
 */
export async function signApproval(requestBytes: Uint8Array, signer: Signer): Promise<Uint8Array> {
  return formatEnvelope(await signAccessApproval(parseAccessRequest(requestBytes), signer));
}
