/**
 * The access store (../access.ts) on PostgreSQL, for scale-out: the same tables as the SQLite
 * driver in the site's database, inside the site store's schema (`vouch_site` by default). Writes that compare before they write run in one transaction
 * with the row locked (`SELECT ... FOR UPDATE`) or rely on the primary key (`ON CONFLICT DO
 * NOTHING`, then compare what is stored), so several gateway or job processes sharing the
 * database never store two different values under one key.
 */

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
import { defaultSiteSchema } from './pg-site.ts';
import { migrate, type PgPool } from './pool.ts';

const ddl = (s: string): string => `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.access_ledger (ledger TEXT NOT NULL, tenant TEXT NOT NULL, idx BIGINT NOT NULL,
  entry BYTEA NOT NULL, PRIMARY KEY (ledger, tenant, idx));
CREATE TABLE IF NOT EXISTS ${s}.access_ledger_state (ledger TEXT PRIMARY KEY, watermark BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.access_requests (tenant TEXT NOT NULL, id TEXT NOT NULL, request BYTEA NOT NULL,
  created BIGINT NOT NULL, approval BYTEA, approved_at BIGINT, PRIMARY KEY (tenant, id));
CREATE INDEX IF NOT EXISTS access_requests_created ON ${s}.access_requests (created DESC, tenant, id);
`;

function unavailable(error: unknown, what: string): unknown {
  return error instanceof VouchError
    ? error
    : new VouchError('unavailable', `${what} in PostgreSQL failed`, {}, { cause: error });
}

/** PgAccessStore is the {@link AccessStore} of one ledger in a PostgreSQL database. */
export class PgAccessStore implements AccessStore {
  readonly #pool: PgPool;
  readonly #ledger: string;
  readonly #s: string;

  private constructor(pool: PgPool, ledger: string, schema: string) {
    this.#pool = pool;
    this.#ledger = ledger;
    this.#s = schema;
  }

  /**
   * open creates the schema and tables if needed and returns the store for `ledger` (its log
   * origin), in the site store's schema unless told otherwise; the caller owns the pool.
   */
  static async open(
    pool: PgPool,
    ledger: string,
    options: { readonly schema?: string } = {},
  ): Promise<PgAccessStore> {
    if (typeof ledger !== 'string' || ledger.length === 0 || ledger.length > 256) {
      throw new VouchError('invalid-argument', 'a ledger name is 1..256 characters', { field: 'ledger' });
    }
    const schema = options.schema ?? defaultSiteSchema;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new VouchError('invalid-argument', 'a PostgreSQL schema name is 1 to 63 of [a-z0-9_]', {
        field: 'schema',
      });
    }
    await migrate(pool, ddl(schema));
    return new PgAccessStore(pool, ledger, schema);
  }

  async #transaction<T>(what: string, body: (query: PgPool['query']) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect().catch((error: unknown) => {
      throw unavailable(error, what);
    });
    try {
      await client.query('BEGIN');
      const result = await body(client.query.bind(client) as PgPool['query']);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined); // the original error is what matters
      throw unavailable(error, what);
    } finally {
      client.release();
    }
  }

  async indexLedger(rows: readonly LedgerIndexRow[]): Promise<void> {
    checkRows(rows);
    if (rows.length === 0) return;
    const tenants = rows.map((r) => r.tenant);
    const indices = rows.map((r) => r.index.toString());
    const entries = rows.map((r) => Buffer.from(r.entry));
    await this.#transaction('indexing the access ledger', async (query) => {
      await query(
        `INSERT INTO ${this.#s}.access_ledger (ledger, tenant, idx, entry)
         SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bytea[]) ON CONFLICT DO NOTHING`,
        [this.#ledger, tenants, indices, entries],
      );
      const stored = await query<{ tenant: string; idx: string; entry: Uint8Array }>(
        `SELECT a.tenant, a.idx, a.entry FROM ${this.#s}.access_ledger a
         JOIN unnest($2::text[], $3::bigint[]) AS r(tenant, idx) ON a.tenant = r.tenant AND a.idx = r.idx
         WHERE a.ledger = $1`,
        [this.#ledger, tenants, indices],
      );
      const byKey = new Map(stored.rows.map((r) => [`${r.tenant}\u0000${r.idx}`, r.entry]));
      for (const row of rows) {
        const entry = byKey.get(`${row.tenant}\u0000${row.index}`);
        if (entry === undefined || !equalBytes(entry, row.entry)) throw ledgerConflict(row.tenant, row.index);
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
    const result = await this.#pool
      .query<{ tenant: string; idx: string; entry: Uint8Array }>(
        `SELECT tenant, idx, entry FROM ${this.#s}.access_ledger WHERE ledger = $1 AND tenant = $2 AND idx >= $3
         ORDER BY idx LIMIT $4`,
        [this.#ledger, tenant, from.toString(), options.limit],
      )
      .catch((error: unknown) => {
        throw unavailable(error, 'reading the access ledger index');
      });
    return result.rows.map((r) =>
      Object.freeze({ tenant: r.tenant, index: BigInt(r.idx), entry: new Uint8Array(r.entry) }),
    );
  }

  async ledgerWatermark(): Promise<bigint> {
    const result = await this.#pool
      .query<{ watermark: string }>(
        `SELECT watermark FROM ${this.#s}.access_ledger_state WHERE ledger = $1`,
        [this.#ledger],
      )
      .catch((error: unknown) => {
        throw unavailable(error, 'reading the ledger watermark');
      });
    return BigInt(result.rows[0]?.watermark ?? '0');
  }

  async advanceLedgerWatermark(size: bigint): Promise<void> {
    checkIndex(size, 'size');
    await this.#pool
      .query(
        `INSERT INTO ${this.#s}.access_ledger_state (ledger, watermark) VALUES ($1, $2)
         ON CONFLICT (ledger) DO UPDATE SET watermark = GREATEST(${this.#s}.access_ledger_state.watermark, excluded.watermark)`,
        [this.#ledger, size.toString()],
      )
      .catch((error: unknown) => {
        throw unavailable(error, 'advancing the ledger watermark');
      });
  }

  async putRequest(request: Omit<StoredAccessRequest, 'approval' | 'approvedAt'>): Promise<void> {
    checkRequest(request);
    await this.#transaction('storing an access request', async (query) => {
      await query(
        `INSERT INTO ${this.#s}.access_requests (tenant, id, request, created) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [request.tenant, request.id, Buffer.from(request.request), request.created],
      );
      const stored = await query<{ request: Uint8Array }>(
        `SELECT request FROM ${this.#s}.access_requests WHERE tenant = $1 AND id = $2`,
        [request.tenant, request.id],
      );
      const found = stored.rows[0];
      if (found === undefined || !equalBytes(found.request, request.request)) {
        throw new VouchError(
          'conflict',
          `access request ${request.id} of tenant ${request.tenant} is already stored with other content`,
          { field: 'id' },
        );
      }
    });
  }

  async getRequest(tenant: string, id: string): Promise<StoredAccessRequest | undefined> {
    checkTenant(tenant);
    checkRequestId(id);
    const result = await this.#pool
      .query<AccessRequestRow>(`SELECT * FROM ${this.#s}.access_requests WHERE tenant = $1 AND id = $2`, [
        tenant,
        id,
      ])
      .catch((error: unknown) => {
        throw unavailable(error, 'reading an access request');
      });
    const row = result.rows[0];
    return row === undefined ? undefined : accessRequestFromRow(row);
  }

  async approveRequest(tenant: string, id: string, approval: Uint8Array, at: number): Promise<void> {
    checkTenant(tenant);
    checkRequestId(id);
    checkApproval(approval, at);
    await this.#transaction('approving an access request', async (query) => {
      const result = await query<{ approval: Uint8Array | null }>(
        `SELECT approval FROM ${this.#s}.access_requests WHERE tenant = $1 AND id = $2 FOR UPDATE`,
        [tenant, id],
      );
      const found = result.rows[0];
      if (found === undefined) {
        throw new VouchError('not-found', `no access request ${id} for tenant ${tenant}`, { field: 'id' });
      }
      if (found.approval !== null) {
        if (equalBytes(found.approval, approval)) return;
        throw new VouchError('conflict', `access request ${id} already carries another approval`, {
          field: 'approval',
        });
      }
      await query(
        `UPDATE ${this.#s}.access_requests SET approval = $3, approved_at = $4 WHERE tenant = $1 AND id = $2`,
        [tenant, id, Buffer.from(approval), at],
      );
    });
  }

  async listRequests(options: {
    readonly tenant?: string;
    readonly limit: number;
  }): Promise<StoredAccessRequest[]> {
    checkLimit(options.limit);
    if (options.tenant !== undefined) checkTenant(options.tenant);
    const result = await (options.tenant === undefined
      ? this.#pool.query<AccessRequestRow>(
          `SELECT * FROM ${this.#s}.access_requests ORDER BY created DESC, tenant COLLATE "C", id COLLATE "C" LIMIT $1`,
          [options.limit],
        )
      : this.#pool.query<AccessRequestRow>(
          `SELECT * FROM ${this.#s}.access_requests WHERE tenant = $1 ORDER BY created DESC, tenant COLLATE "C", id COLLATE "C" LIMIT $2`,
          [options.tenant, options.limit],
        )
    ).catch((error: unknown) => {
      throw unavailable(error, 'listing access requests');
    });
    return result.rows.map(accessRequestFromRow);
  }

  async close(): Promise<void> {
    // The pool belongs to the caller (it is shared with the site store).
  }
}
