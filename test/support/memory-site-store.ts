/**
 * Test support: a SiteStore (src/storage/site.ts) kept in memory, enforcing the interface's
 * contract — a live tenant's wrapped key never changes, batch ids are idempotent by digest, an
 * erased tenant takes no batches — so the read gate, jobs and export can be tested before, and
 * independently of, the SQLite and PostgreSQL drivers. `inspect` exposes the rows for tests that
 * check what a site holds (a Swiss-only tenant's data never at a home site).
 */

import { equalBytes } from '../../src/core/bytes/index.ts';
import { VouchError } from '../../src/core/errors.ts';
import type { BatchReceipt, SiteStore, StoredEvent, StoredTenant } from '../../src/storage/site.ts';

/** MemorySiteStore is an in-memory {@link SiteStore}. */
export class MemorySiteStore implements SiteStore {
  readonly #tenants = new Map<string, StoredTenant>();
  readonly #events = new Map<string, StoredEvent[]>();
  readonly #batches = new Map<string, Uint8Array>();

  async putTenant(tenant: StoredTenant): Promise<void> {
    const old = this.#tenants.get(tenant.tenant);
    if (old?.wrappedKey !== undefined && tenant.wrappedKey !== undefined) {
      if (!equalBytes(old.wrappedKey, tenant.wrappedKey)) {
        throw new VouchError('conflict', `tenant ${tenant.tenant} already has another key`);
      }
    }
    this.#tenants.set(tenant.tenant, tenant);
  }

  async getTenant(tenant: string): Promise<StoredTenant | undefined> {
    return this.#tenants.get(tenant);
  }

  async listTenants(): Promise<StoredTenant[]> {
    return [...this.#tenants.values()].sort((a, b) => (a.tenant < b.tenant ? -1 : 1));
  }

  async storeBatch(
    tenant: string,
    batchId: string,
    digest: Uint8Array,
    events: readonly StoredEvent[],
  ): Promise<BatchReceipt> {
    const t = this.#tenants.get(tenant);
    if (t === undefined || t.wrappedKey === undefined) {
      throw new VouchError('not-found', `tenant ${tenant} is not registered here or was erased`);
    }
    const key = `${tenant}\u0000${batchId}`;
    const seen = this.#batches.get(key);
    if (seen !== undefined) {
      if (!equalBytes(seen, digest))
        throw new VouchError('conflict', `batch ${batchId} was stored with other content`);
      return { status: 'duplicate', count: events.length };
    }
    this.#batches.set(key, new Uint8Array(digest));
    const list = this.#events.get(tenant) ?? [];
    list.push(...events);
    list.sort((a, b) => a.time - b.time || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
    this.#events.set(tenant, list);
    return { status: 'stored', count: events.length };
  }

  async readEvents(
    tenant: string,
    options: { readonly kind?: string; readonly from?: number; readonly to?: number; readonly limit: number },
  ): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (const e of this.#events.get(tenant) ?? []) {
      if (out.length >= options.limit) break;
      if (options.kind !== undefined && e.kind !== options.kind) continue;
      if (options.from !== undefined && e.time < options.from) continue;
      if (options.to !== undefined && e.time >= options.to) continue;
      out.push(e);
    }
    return out;
  }

  async countEvents(tenant: string): Promise<number> {
    return this.#events.get(tenant)?.length ?? 0;
  }

  async eraseTenant(tenant: string, at: number): Promise<void> {
    const t = this.#tenants.get(tenant);
    if (t === undefined) throw new VouchError('not-found', `tenant ${tenant} is not registered here`);
    if (t.wrappedKey === undefined) return;
    this.#tenants.set(tenant, { ...t, wrappedKey: undefined, erasedAt: at });
    this.#events.delete(tenant);
  }

  async close(): Promise<void> {
    // Nothing to release: the rows live as long as the object.
  }

  /** inspect returns every stored row, for tests that check what a site holds. */
  inspect(): { tenants: StoredTenant[]; events: StoredEvent[] } {
    return { tenants: [...this.#tenants.values()], events: [...this.#events.values()].flat() };
  }
}
