/**
 * The site store: one site's customer data and the state around it. A site has exactly one store
 * (a SQLite file embedded, one PostgreSQL database scale-out), never shared with another site, and
 * every row carries the tenant id in its key so a store can later be distributed by tenant.
 *
 * The store holds only what a site may hold: tenant records of tenants registered at this site,
 * each tenant's data key wrapped by the site's key-encryption key, and events sealed under the
 * tenant key (core/sites/event-crypto.ts). It never sees a plaintext event or an unwrapped key;
 * sealing and policy are the service's job. Erasure deletes the wrapped tenant key, after which
 * every sealed copy is unreadable.
 *
 * Idempotency: a telemetry batch is stored in one transaction together with its batch id and the
 * digest of its canonical bytes, so a retried batch (same id, same digest) is acknowledged again
 * without storing anything twice, and a reused id with different content is a conflict.
 */

import { VouchError } from '../core/errors.ts';

/** StoredTenant is a tenant registered at this site, as the store keeps it. */
export interface StoredTenant {
  readonly tenant: string;
  /** record is the canonical tenant record (core/sites/tenants.ts formatTenantRecord). */
  readonly record: Uint8Array;
  /** wrappedKey is the tenant's data key wrapped by the site KEK; undefined once erased. */
  readonly wrappedKey: Uint8Array | undefined;
  /** erasedAt is the time of erasure in seconds since the epoch, if erased. */
  readonly erasedAt: number | undefined;
}

/** StoredEvent is one sealed telemetry event. */
export interface StoredEvent {
  readonly tenant: string;
  /** eventId is `<batchId>.<index>` (core/sites/telemetry.ts telemetryEventId). */
  readonly eventId: string;
  /** kind is the event kind in clear (detection, update, sample): policy and jobs select by it. */
  readonly kind: string;
  /** time is the event's own time, seconds since the epoch, in clear for day statistics. */
  readonly time: number;
  /** sealed is the event's canonical bytes sealed under the tenant key, AAD = (tenant, site, eventId). */
  readonly sealed: Uint8Array;
}

/** BatchReceipt says whether a batch was new or a retry of one already stored. */
export type BatchReceipt =
  | { readonly status: 'stored'; readonly count: number }
  | { readonly status: 'duplicate'; readonly count: number };

/** SiteStore is one site's store. Every method is one transaction; none holds locks across calls. */
export interface SiteStore {
  /**
   * putTenant registers (or re-registers with the same key, replacing the record) a tenant; it
   * throws `conflict` for a different wrapped key of a live tenant and for an erased tenant (an
   * erased id is never reused), and `invalid-argument` for a tenant without a wrapped key or
   * with `erasedAt` set (erasure is {@link SiteStore.eraseTenant}'s).
   */
  putTenant(tenant: StoredTenant): Promise<void>;
  /** getTenant returns the tenant, or undefined when it is not registered here. */
  getTenant(tenant: string): Promise<StoredTenant | undefined>;
  /** listTenants returns every tenant registered here, by id. */
  listTenants(): Promise<StoredTenant[]>;
  /**
   * storeBatch stores the events of one batch and records its id and digest, all or none. A
   * batch id seen before with the same digest returns `duplicate` and stores nothing; with a
   * different digest it throws `conflict`. It throws `not-found` for an unregistered or erased tenant.
   */
  storeBatch(
    tenant: string,
    batchId: string,
    digest: Uint8Array,
    events: readonly StoredEvent[],
  ): Promise<BatchReceipt>;
  /**
   * readEvents returns a tenant's events in (time, eventId) order — event ids compared bytewise —
   * optionally of one kind and of `from` <= time < `to`, at most `limit` (1 to
   * {@link maxReadEvents}, else `invalid-argument`). An unknown or erased tenant has no events.
   */
  readEvents(
    tenant: string,
    options: { readonly kind?: string; readonly from?: number; readonly to?: number; readonly limit: number },
  ): Promise<StoredEvent[]>;
  /** countEvents counts a tenant's events (all kinds). */
  countEvents(tenant: string): Promise<number>;
  /**
   * eraseTenant deletes the tenant's wrapped key, events and batch records and records the time;
   * idempotent (a second erasure keeps the first time). It throws `not-found` for a tenant never
   * registered here.
   */
  eraseTenant(tenant: string, at: number): Promise<void>;
  close(): Promise<void>;
}

/** maxReadEvents bounds the `limit` of one {@link SiteStore.readEvents} call. */
export const maxReadEvents = 100_000;

/** maxStoredBatchEvents bounds the events of one {@link SiteStore.storeBatch} call. */
export const maxStoredBatchEvents = 1000;

/**
 * checkStoredBatch is the argument check every driver runs before its transaction: 1 to
 * {@link maxStoredBatchEvents} events, each of `tenant`, each id `<batchId>.<n>` and distinct.
 * It throws `invalid-argument` naming the first bad event, so a driver stores nothing of a bad batch.
 */
export function checkStoredBatch(tenant: string, batchId: string, events: readonly StoredEvent[]): void {
  if (events.length === 0 || events.length > maxStoredBatchEvents) {
    throw new VouchError('invalid-argument', `a stored batch has 1 to ${maxStoredBatchEvents} events`, {
      field: 'events',
      limit: maxStoredBatchEvents,
    });
  }
  const prefix = `${batchId}.`;
  const seen = new Set<string>();
  events.forEach((event, i) => {
    const field = `events[${i}]`;
    if (event.tenant !== tenant) {
      throw new VouchError('invalid-argument', `${field} belongs to another tenant than the batch`, {
        field,
      });
    }
    if (!event.eventId.startsWith(prefix) || seen.has(event.eventId)) {
      throw new VouchError(
        'invalid-argument',
        `${field} has an event id outside the batch or a repeated one`,
        {
          field,
        },
      );
    }
    if (!Number.isSafeInteger(event.time)) {
      throw new VouchError('invalid-argument', `${field}.time is not an integer`, { field });
    }
    seen.add(event.eventId);
  });
}

/** checkReadLimit throws `invalid-argument` unless `limit` is an integer from 1 to {@link maxReadEvents}. */
export function checkReadLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxReadEvents) {
    throw new VouchError('invalid-argument', `limit must be an integer from 1 to ${maxReadEvents}`, {
      field: 'limit',
    });
  }
}

/** checkNewTenant returns the wrapped key of a tenant to register, or throws `invalid-argument` (see {@link SiteStore.putTenant}). */
export function checkNewTenant(tenant: StoredTenant): Uint8Array {
  if (tenant.wrappedKey === undefined || tenant.erasedAt !== undefined) {
    throw new VouchError('invalid-argument', 'a registered tenant has a wrapped key and no erasure time', {
      field: 'wrappedKey',
    });
  }
  return tenant.wrappedKey;
}
