/**
 * The site store on SQLite, the embedded default: one database file per site (`openSqlite`: WAL,
 * `synchronous=FULL`), so a batch is durable when `storeBatch` returns, and `BEGIN IMMEDIATE`
 * transactions, so several processes sharing the file (a gateway and `vouch site erase`) never
 * interleave a check and a write. Every table carries the tenant id first in its primary key.
 *
 * Crash story of `storeBatch`: one transaction checks the tenant is live, looks the batch id up,
 * and inserts the batch record and its events; COMMIT is the commit point. A crash before it
 * leaves nothing (the retried batch is new); after it the retry finds the record and is a
 * duplicate. Erasure runs in one transaction too, so a batch is either erased or stored after it
 * and refused.
 */

import type { DatabaseSync, StatementSync } from 'node:sqlite';
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
import { immediateTransaction, openSqlite } from './database.ts';

const schema = `
CREATE TABLE IF NOT EXISTS site_tenants (tenant TEXT PRIMARY KEY, record BLOB NOT NULL,
  wrapped_key BLOB, erased_at INTEGER) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS site_batches (tenant TEXT NOT NULL, batch_id TEXT NOT NULL, digest BLOB NOT NULL,
  count INTEGER NOT NULL, PRIMARY KEY (tenant, batch_id)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS site_events (tenant TEXT NOT NULL, event_id TEXT NOT NULL, kind TEXT NOT NULL,
  time INTEGER NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (tenant, event_id)) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS site_events_by_time ON site_events (tenant, time, event_id);
`;

interface TenantRow {
  tenant: string;
  record: Uint8Array;
  wrapped_key: Uint8Array | null;
  erased_at: number | null;
}

interface EventRow {
  event_id: string;
  kind: string;
  time: number;
  sealed: Uint8Array;
}

function toTenant(row: TenantRow): StoredTenant {
  return Object.freeze({
    tenant: row.tenant,
    record: row.record,
    wrappedKey: row.wrapped_key ?? undefined,
    erasedAt: row.erased_at ?? undefined,
  });
}

/** SqliteSiteStore is the {@link SiteStore} of one site in a SQLite database. */
export class SqliteSiteStore implements SiteStore {
  readonly #db: DatabaseSync;
  readonly #closeDatabase: boolean;
  readonly #s: Record<
    | 'getTenant'
    | 'listTenants'
    | 'insertTenant'
    | 'updateRecord'
    | 'getBatch'
    | 'insertBatch'
    | 'insertEvent'
    | 'countEvents'
    | 'erase'
    | 'deleteEvents'
    | 'deleteBatches',
    StatementSync
  >;

  /**
   * constructor uses an open database (creating the tables); `close` closes it only when
   * `closeDatabase` is set.
   */
  constructor(db: DatabaseSync, closeDatabase = false) {
    this.#db = db;
    this.#closeDatabase = closeDatabase;
    db.exec(schema);
    this.#s = {
      getTenant: db.prepare(
        'SELECT tenant, record, wrapped_key, erased_at FROM site_tenants WHERE tenant = ?',
      ),
      listTenants: db.prepare(
        'SELECT tenant, record, wrapped_key, erased_at FROM site_tenants ORDER BY tenant',
      ),
      insertTenant: db.prepare('INSERT INTO site_tenants (tenant, record, wrapped_key) VALUES (?, ?, ?)'),
      updateRecord: db.prepare('UPDATE site_tenants SET record = ? WHERE tenant = ?'),
      getBatch: db.prepare('SELECT digest, count FROM site_batches WHERE tenant = ? AND batch_id = ?'),
      insertBatch: db.prepare(
        'INSERT INTO site_batches (tenant, batch_id, digest, count) VALUES (?, ?, ?, ?)',
      ),
      insertEvent: db.prepare(
        'INSERT INTO site_events (tenant, event_id, kind, time, sealed) VALUES (?, ?, ?, ?, ?)',
      ),
      countEvents: db.prepare('SELECT count(*) AS n FROM site_events WHERE tenant = ?'),
      erase: db.prepare(
        'UPDATE site_tenants SET wrapped_key = NULL, erased_at = coalesce(erased_at, ?) WHERE tenant = ?',
      ),
      deleteEvents: db.prepare('DELETE FROM site_events WHERE tenant = ?'),
      deleteBatches: db.prepare('DELETE FROM site_batches WHERE tenant = ?'),
    };
  }

  /** open opens (creating if needed) the database file at `path`; `close` closes it. */
  static open(path: string): SqliteSiteStore {
    return new SqliteSiteStore(openSqlite(path), true);
  }

  async putTenant(tenant: StoredTenant): Promise<void> {
    const wrapped = checkNewTenant(tenant);
    immediateTransaction(this.#db, () => {
      const row = this.#s.getTenant.get(tenant.tenant) as TenantRow | undefined;
      if (row === undefined) {
        this.#s.insertTenant.run(tenant.tenant, tenant.record, wrapped);
        return;
      }
      if (row.wrapped_key === null) {
        throw new ConflictError(`tenant ${tenant.tenant} was erased; its id is not reused`, undefined, {
          key: tenant.tenant,
        });
      }
      if (!equalBytes(row.wrapped_key, wrapped)) {
        throw new ConflictError(`tenant ${tenant.tenant} is registered with another key`, undefined, {
          key: tenant.tenant,
        });
      }
      this.#s.updateRecord.run(tenant.record, tenant.tenant);
    });
  }

  async getTenant(tenant: string): Promise<StoredTenant | undefined> {
    const row = this.#s.getTenant.get(tenant) as TenantRow | undefined;
    return row === undefined ? undefined : toTenant(row);
  }

  async listTenants(): Promise<StoredTenant[]> {
    return (this.#s.listTenants.all() as unknown as TenantRow[]).map(toTenant);
  }

  async storeBatch(
    tenant: string,
    batchId: string,
    digest: Uint8Array,
    events: readonly StoredEvent[],
  ): Promise<BatchReceipt> {
    checkStoredBatch(tenant, batchId, events);
    const s = this.#s;
    return immediateTransaction(this.#db, (): BatchReceipt => {
      const row = s.getTenant.get(tenant) as TenantRow | undefined;
      if (row === undefined || row.wrapped_key === null) {
        throw new VouchError('not-found', `tenant ${tenant} is not registered at this site or was erased`, {
          key: tenant,
        });
      }
      const seen = s.getBatch.get(tenant, batchId) as { digest: Uint8Array; count: number } | undefined;
      if (seen !== undefined) {
        if (!equalBytes(seen.digest, digest)) {
          throw new ConflictError(`batch ${batchId} was already stored with other content`, undefined, {
            key: batchId,
          });
        }
        return Object.freeze({ status: 'duplicate', count: seen.count });
      }
      s.insertBatch.run(tenant, batchId, digest, events.length);
      for (const e of events) s.insertEvent.run(tenant, e.eventId, e.kind, e.time, e.sealed);
      return Object.freeze({ status: 'stored', count: events.length });
      // COMMIT (in immediateTransaction) is the commit point: acknowledge only after it returns.
    });
  }

  async readEvents(
    tenant: string,
    options: { readonly kind?: string; readonly from?: number; readonly to?: number; readonly limit: number },
  ): Promise<StoredEvent[]> {
    checkReadLimit(options.limit);
    const where = ['tenant = ?'];
    const args: (string | number)[] = [tenant];
    if (options.kind !== undefined) {
      where.push('kind = ?');
      args.push(options.kind);
    }
    if (options.from !== undefined) {
      where.push('time >= ?');
      args.push(options.from);
    }
    if (options.to !== undefined) {
      where.push('time < ?');
      args.push(options.to);
    }
    args.push(options.limit);
    const rows = this.#db
      .prepare(
        `SELECT event_id, kind, time, sealed FROM site_events WHERE ${where.join(' AND ')} ORDER BY time, event_id LIMIT ?`,
      )
      .all(...args) as unknown as EventRow[];
    return rows.map((r) =>
      Object.freeze({ tenant, eventId: r.event_id, kind: r.kind, time: r.time, sealed: r.sealed }),
    );
  }

  async countEvents(tenant: string): Promise<number> {
    return Number((this.#s.countEvents.get(tenant) as { n: number }).n);
  }

  async eraseTenant(tenant: string, at: number): Promise<void> {
    if (!Number.isSafeInteger(at) || at < 0) {
      throw new VouchError('invalid-argument', 'an erasure time is whole seconds since the epoch');
    }
    immediateTransaction(this.#db, () => {
      const row = this.#s.getTenant.get(tenant) as TenantRow | undefined;
      if (row === undefined) {
        throw new VouchError('not-found', `tenant ${tenant} is not registered at this site`, { key: tenant });
      }
      this.#s.erase.run(at, tenant);
      this.#s.deleteEvents.run(tenant);
      this.#s.deleteBatches.run(tenant);
    });
  }

  async close(): Promise<void> {
    if (this.#closeDatabase && this.#db.isOpen) this.#db.close();
  }
}
