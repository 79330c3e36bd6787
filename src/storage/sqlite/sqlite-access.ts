/**
 * The access store (../access.ts) on SQLite, the embedded default: tables `access_ledger`,
 * `access_ledger_state` and `access_requests` beside the site store's in the site's database
 * file. Every write is one `BEGIN IMMEDIATE` transaction (durable on commit with
 * `synchronous=FULL`), so processes sharing the file serialise and a compare inside a
 * transaction cannot interleave with another writer. Rows are keyed by the ledger's name (its
 * log origin) and the tenant, so one file can hold a site's ledger index and nothing leaks
 * between tenants in a query.
 */

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { equalBytes } from '../../core/bytes/index.ts';
import { VouchError } from '../../core/errors.ts';
import {
  type AccessRequestRow,
  type AccessStore,
  accessRequestFromRow,
  checkApproval,
  checkIndex,
  checkLimit,
  checkRequest,
  checkRequestId,
  checkRows,
  checkTenant,
  type LedgerIndexRow,
  ledgerConflict,
  type StoredAccessRequest,
} from '../access.ts';
import { immediateTransaction, openSqlite } from './database.ts';

const schema = `
CREATE TABLE IF NOT EXISTS access_ledger (ledger TEXT NOT NULL, tenant TEXT NOT NULL, idx INTEGER NOT NULL,
  entry BLOB NOT NULL, PRIMARY KEY (ledger, tenant, idx)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS access_ledger_state (ledger TEXT PRIMARY KEY, watermark INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS access_requests (tenant TEXT NOT NULL, id TEXT NOT NULL, request BLOB NOT NULL,
  created INTEGER NOT NULL, approval BLOB, approved_at INTEGER, PRIMARY KEY (tenant, id)) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS access_requests_created ON access_requests (created DESC, tenant, id);
`;

/** SqliteAccessStore is the {@link AccessStore} of one ledger in an open SQLite database. */
export class SqliteAccessStore implements AccessStore {
  readonly #db: DatabaseSync;
  readonly #ledger: string;
  readonly #owned: boolean;
  readonly #s: Record<
    | 'getEntry'
    | 'insertEntry'
    | 'entries'
    | 'watermark'
    | 'setWatermark'
    | 'getRequest'
    | 'insertRequest'
    | 'approve'
    | 'listAll'
    | 'listTenant',
    StatementSync
  >;

  /**
   * The constructor creates the tables if needed in `db`, which the caller keeps owning (the
   * site store's connection); `ledger` names the ledger (its log origin).
   */
  constructor(db: DatabaseSync, ledger: string, options: { readonly ownsDatabase?: boolean } = {}) {
    if (typeof ledger !== 'string' || ledger.length === 0 || ledger.length > 256) {
      throw new VouchError('invalid-argument', 'a ledger name is 1..256 characters', { field: 'ledger' });
    }
    this.#db = db;
    this.#ledger = ledger;
    this.#owned = options.ownsDatabase === true;
    db.exec(schema);
    this.#s = {
      getEntry: db.prepare('SELECT entry FROM access_ledger WHERE ledger = ? AND tenant = ? AND idx = ?'),
      insertEntry: db.prepare('INSERT INTO access_ledger (ledger, tenant, idx, entry) VALUES (?, ?, ?, ?)'),
      entries: db.prepare(
        'SELECT tenant, idx, entry FROM access_ledger WHERE ledger = ? AND tenant = ? AND idx >= ? ORDER BY idx LIMIT ?',
      ),
      watermark: db.prepare('SELECT watermark FROM access_ledger_state WHERE ledger = ?'),
      setWatermark: db.prepare(
        `INSERT INTO access_ledger_state (ledger, watermark) VALUES (?, ?)
         ON CONFLICT (ledger) DO UPDATE SET watermark = max(watermark, excluded.watermark)`,
      ),
      getRequest: db.prepare('SELECT * FROM access_requests WHERE tenant = ? AND id = ?'),
      insertRequest: db.prepare(
        'INSERT INTO access_requests (tenant, id, request, created) VALUES (?, ?, ?, ?)',
      ),
      approve: db.prepare(
        'UPDATE access_requests SET approval = ?, approved_at = ? WHERE tenant = ? AND id = ?',
      ),
      listAll: db.prepare('SELECT * FROM access_requests ORDER BY created DESC, tenant, id LIMIT ?'),
      listTenant: db.prepare(
        'SELECT * FROM access_requests WHERE tenant = ? ORDER BY created DESC, tenant, id LIMIT ?',
      ),
    };
    for (const s of Object.values(this.#s)) s.setReadBigInts(true);
  }

  /** open opens (creating) the database at `path` for this store alone; close() closes it. */
  static open(path: string, ledger: string): SqliteAccessStore {
    return new SqliteAccessStore(openSqlite(path), ledger, { ownsDatabase: true });
  }

  async indexLedger(rows: readonly LedgerIndexRow[]): Promise<void> {
    checkRows(rows);
    if (rows.length === 0) return;
    immediateTransaction(this.#db, () => {
      for (const row of rows) {
        const found = this.#s.getEntry.get(this.#ledger, row.tenant, row.index) as
          | { entry: Uint8Array }
          | undefined;
        if (found !== undefined) {
          if (!equalBytes(found.entry, row.entry)) throw ledgerConflict(row.tenant, row.index);
          continue;
        }
        this.#s.insertEntry.run(this.#ledger, row.tenant, row.index, row.entry);
      }
    });
  }

  async ledgerEntries(
    tenant: string,
    options: { readonly from?: bigint; readonly limit: number },
  ): Promise<LedgerIndexRow[]> {
    checkTenant(tenant);
    checkLimit(options.limit);
    const from = options.from ?? 0n;
    checkIndex(from, 'from');
    const rows = this.#s.entries.all(this.#ledger, tenant, from, options.limit) as unknown as {
      tenant: string;
      idx: bigint;
      entry: Uint8Array;
    }[];
    return rows.map((r) => Object.freeze({ tenant: r.tenant, index: r.idx, entry: new Uint8Array(r.entry) }));
  }

  async ledgerWatermark(): Promise<bigint> {
    const row = this.#s.watermark.get(this.#ledger) as { watermark: bigint } | undefined;
    return row === undefined ? 0n : row.watermark;
  }

  async advanceLedgerWatermark(size: bigint): Promise<void> {
    checkIndex(size, 'size');
    this.#s.setWatermark.run(this.#ledger, size);
  }

  async putRequest(request: Omit<StoredAccessRequest, 'approval' | 'approvedAt'>): Promise<void> {
    checkRequest(request);
    immediateTransaction(this.#db, () => {
      const found = this.#s.getRequest.get(request.tenant, request.id) as AccessRequestRow | undefined;
      if (found !== undefined) {
        if (!equalBytes(found.request, request.request)) {
          throw new VouchError(
            'conflict',
            `access request ${request.id} of tenant ${request.tenant} is already stored with other content`,
            { field: 'id' },
          );
        }
        return;
      }
      this.#s.insertRequest.run(request.tenant, request.id, request.request, request.created);
    });
  }

  async getRequest(tenant: string, id: string): Promise<StoredAccessRequest | undefined> {
    checkTenant(tenant);
    checkRequestId(id);
    const row = this.#s.getRequest.get(tenant, id) as AccessRequestRow | undefined;
    return row === undefined ? undefined : accessRequestFromRow(row);
  }

  async approveRequest(tenant: string, id: string, approval: Uint8Array, at: number): Promise<void> {
    checkTenant(tenant);
    checkRequestId(id);
    checkApproval(approval, at);
    immediateTransaction(this.#db, () => {
      const found = this.#s.getRequest.get(tenant, id) as AccessRequestRow | undefined;
      if (found === undefined) {
        throw new VouchError('not-found', `no access request ${id} for tenant ${tenant}`, { field: 'id' });
      }
      if (found.approval !== null) {
        if (equalBytes(found.approval, approval)) return;
        throw new VouchError('conflict', `access request ${id} already carries another approval`, {
          field: 'approval',
        });
      }
      this.#s.approve.run(approval, at, tenant, id);
    });
  }

  async listRequests(options: {
    readonly tenant?: string;
    readonly limit: number;
  }): Promise<StoredAccessRequest[]> {
    checkLimit(options.limit);
    let rows: AccessRequestRow[];
    if (options.tenant === undefined) {
      rows = this.#s.listAll.all(options.limit) as unknown as AccessRequestRow[];
    } else {
      checkTenant(options.tenant);
      rows = this.#s.listTenant.all(options.tenant, options.limit) as unknown as AccessRequestRow[];
    }
    return rows.map(accessRequestFromRow);
  }

  async close(): Promise<void> {
    if (this.#owned && this.#db.isOpen) this.#db.close();
  }
}
