/**
 * The in-memory site store, for tests: the same contract as the SQLite and PostgreSQL drivers
 * (storage/site.ts), copies in and out so a caller cannot change stored bytes, and two stores
 * built on one {@link MemorySiteState} share their rows as two connections to one database would.
 * A `gate` hook lets a test hold `storeBatch` before it commits (to fill a gateway's queue or
 * to fail it). Nothing here is durable.
 */

import { equalBytes } from '../../core/bytes/index.ts';
import { ConflictError, VouchError } from '../../core/errors.ts';
import {
  type BatchReceipt,
  checkNewTenant,
  checkReadLimit,
  checkStoredBatch,
  type SiteStore,
  type StoredEvent,
  type StoredTenant,
} from '../site.ts';

/** MemorySiteState is the shared "database" of memory site stores. */
export interface MemorySiteState {
  readonly tenants: Map<string, StoredTenant>;
  readonly batches: Map<string, { digest: Uint8Array; count: number }>;
  /** events maps a tenant to its events by event id. */
  readonly events: Map<string, Map<string, StoredEvent>>;
}

/** newMemorySiteState returns an empty shared state. */
export function newMemorySiteState(): MemorySiteState {
  return { tenants: new Map(), batches: new Map(), events: new Map() };
}

const copyEvent = (e: StoredEvent): StoredEvent =>
  Object.freeze({
    tenant: e.tenant,
    eventId: e.eventId,
    kind: e.kind,
    time: e.time,
    sealed: e.sealed.slice(),
  });

const copyTenant = (t: StoredTenant): StoredTenant =>
  Object.freeze({
    tenant: t.tenant,
    record: t.record.slice(),
    wrappedKey: t.wrappedKey?.slice(),
    erasedAt: t.erasedAt,
  });

/** MemorySiteStore is the {@link SiteStore} kept in a {@link MemorySiteState}. */
export class MemorySiteStore implements SiteStore {
  readonly state: MemorySiteState;
  /** gate, when set, is awaited inside storeBatch after the checks and before anything is stored; a throw stores nothing. */
  gate: ((tenant: string, batchId: string) => Promise<void>) | undefined;

  constructor(state: MemorySiteState = newMemorySiteState()) {
    this.state = state;
  }

  async putTenant(tenant: StoredTenant): Promise<void> {
    const wrapped = checkNewTenant(tenant);
    const old = this.state.tenants.get(tenant.tenant);
    if (old !== undefined) {
      if (old.wrappedKey === undefined) {
        throw new ConflictError(`tenant ${tenant.tenant} was erased; its id is not reused`, undefined, {
          key: tenant.tenant,
        });
      }
      if (!equalBytes(old.wrappedKey, wrapped)) {
        throw new ConflictError(`tenant ${tenant.tenant} is registered with another key`, undefined, {
          key: tenant.tenant,
        });
      }
    }
    this.state.tenants.set(tenant.tenant, copyTenant(tenant));
  }

  async getTenant(tenant: string): Promise<StoredTenant | undefined> {
    const t = this.state.tenants.get(tenant);
    return t === undefined ? undefined : copyTenant(t);
  }

  async listTenants(): Promise<StoredTenant[]> {
    return [...this.state.tenants.values()]
      .sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0))
      .map(copyTenant);
  }

  async storeBatch(
    tenant: string,
    batchId: string,
    digest: Uint8Array,
    events: readonly StoredEvent[],
  ): Promise<BatchReceipt> {
    checkStoredBatch(tenant, batchId, events);
    const copies = events.map(copyEvent);
    const wanted = digest.slice();
    if (this.gate !== undefined) await this.gate(tenant, batchId);
    // From here on synchronous: one "transaction".
    const t = this.state.tenants.get(tenant);
    if (t === undefined || t.wrappedKey === undefined) {
      throw new VouchError('not-found', `tenant ${tenant} is not registered at this site or was erased`, {
        key: tenant,
      });
    }
    const key = `${tenant}\u0000${batchId}`;
    const seen = this.state.batches.get(key);
    if (seen !== undefined) {
      if (!equalBytes(seen.digest, wanted)) {
        throw new ConflictError(`batch ${batchId} was already stored with other content`, undefined, {
          key: batchId,
        });
      }
      return Object.freeze({ status: 'duplicate', count: seen.count });
    }
    let rows = this.state.events.get(tenant);
    if (rows === undefined) {
      rows = new Map();
      this.state.events.set(tenant, rows);
    }
    for (const e of copies) {
      if (rows.has(e.eventId)) {
        throw new VouchError('invariant', `internal error: event ${e.eventId} stored without its batch`);
      }
    }
    for (const e of copies) rows.set(e.eventId, e);
    this.state.batches.set(key, { digest: wanted, count: copies.length });
    return Object.freeze({ status: 'stored', count: copies.length });
  }

  async readEvents(
    tenant: string,
    options: { readonly kind?: string; readonly from?: number; readonly to?: number; readonly limit: number },
  ): Promise<StoredEvent[]> {
    checkReadLimit(options.limit);
    const { kind, from, to } = options;
    return [...(this.state.events.get(tenant)?.values() ?? [])]
      .filter(
        (e) =>
          (kind === undefined || e.kind === kind) &&
          (from === undefined || e.time >= from) &&
          (to === undefined || e.time < to),
      )
      .sort((a, b) => a.time - b.time || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0))
      .slice(0, options.limit)
      .map(copyEvent);
  }

  async countEvents(tenant: string): Promise<number> {
    return this.state.events.get(tenant)?.size ?? 0;
  }

  async eraseTenant(tenant: string, at: number): Promise<void> {
    if (!Number.isSafeInteger(at) || at < 0) {
      throw new VouchError('invalid-argument', 'an erasure time is whole seconds since the epoch');
    }
    const t = this.state.tenants.get(tenant);
    if (t === undefined) {
      throw new VouchError('not-found', `tenant ${tenant} is not registered at this site`, { key: tenant });
    }
    this.state.tenants.set(
      tenant,
      Object.freeze({ tenant, record: t.record, wrappedKey: undefined, erasedAt: t.erasedAt ?? at }),
    );
    this.state.events.delete(tenant);
    for (const key of [...this.state.batches.keys()]) {
      if (key.startsWith(`${tenant}\u0000`)) this.state.batches.delete(key);
    }
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
