/**
 * The site store on PostgreSQL, for scale-out: one database per site (the connection URL picks
 * it; sites never share one), the same tables as the SQLite driver inside one PostgreSQL schema
 * (`vouch_site` unless told, so tests can give each run its own), every primary key starting with
 * the tenant id so the tables can be distributed by tenant (Citus) without changing a query.
 * Text keys use the "C" collation, so events come back in bytewise (time, event id) order as on
 * SQLite.
 *
 * `storeBatch` is one transaction: it share-locks the tenant row (so an erasure waits or wins),
 * inserts the batch record with `ON CONFLICT DO NOTHING` — two gateways storing the same batch at
 * once serialise on the primary key and the loser sees the winner's row — and the events with one
 * multi-row insert. COMMIT is the commit point; with the server's default
 * `synchronous_commit = on` the batch is durable when it returns. A connection lost mid-way
 * (a server restart) is `unavailable`: nothing or everything of the batch is stored, and the
 * gateway's client retries the same batch id.
 */

import type { PoolClient } from 'pg';
import { equalBytes } from '../../core/bytes/index.ts';
import { ConflictError, isVouchError, VouchError } from '../../core/errors.ts';
import {
  type BatchReceipt,
  checkNewTenant,
  checkReadLimit,
  checkStoredBatch,
  type SiteStore,
  type StoredEvent,
  type StoredTenant,
} from '../site.ts';
import { migrate, type PgPool } from './pool.ts';

/** defaultSiteSchema is the PostgreSQL schema a site's tables live in unless told otherwise. */
export const defaultSiteSchema = 'vouch_site';

const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

const ddl = (s: string): string => `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.tenants (tenant TEXT COLLATE "C" PRIMARY KEY, record BYTEA NOT NULL,
  wrapped_key BYTEA, erased_at BIGINT);
CREATE TABLE IF NOT EXISTS ${s}.batches (tenant TEXT COLLATE "C" NOT NULL, batch_id TEXT COLLATE "C" NOT NULL,
  digest BYTEA NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (tenant, batch_id));
CREATE TABLE IF NOT EXISTS ${s}.events (tenant TEXT COLLATE "C" NOT NULL, event_id TEXT COLLATE "C" NOT NULL,
  kind TEXT NOT NULL, time BIGINT NOT NULL, sealed BYTEA NOT NULL, PRIMARY KEY (tenant, event_id));
CREATE INDEX IF NOT EXISTS events_by_time ON ${s}.events (tenant, time, event_id);
`;

interface TenantRow {
  tenant: string;
  record: Uint8Array;
  wrapped_key: Uint8Array | null;
  erased_at: string | null;
}

const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const buffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function toTenant(row: TenantRow): StoredTenant {
  return Object.freeze({
    tenant: row.tenant,
    record: plain(row.record),
    wrappedKey: row.wrapped_key === null ? undefined : plain(row.wrapped_key),
    erasedAt: row.erased_at === null ? undefined : Number(row.erased_at),
  });
}

function unavailable(what: string, error: unknown): unknown {
  return isVouchError(error)
    ? error
    : new VouchError(
        'unavailable',
        `${what} in PostgreSQL failed`,
        { retryAfterSeconds: 1 },
        { cause: error },
      );
}

/** PgSiteStoreOptions: the PostgreSQL schema holding the site's tables. */
export interface PgSiteStoreOptions {
  /** schema is a plain lower-case identifier (default {@link defaultSiteSchema}). */
  readonly schema?: string;
}

/** PgSiteStore is the {@link SiteStore} of one site in a PostgreSQL database; the caller owns the pool. */
export class PgSiteStore implements SiteStore {
  readonly #pool: PgPool;
  readonly #s: string;

  private constructor(pool: PgPool, schema: string) {
    this.#pool = pool;
    this.#s = schema;
  }

  /** open creates the schema and tables if needed (serialised by an advisory lock). */
  static async open(pool: PgPool, options: PgSiteStoreOptions = {}): Promise<PgSiteStore> {
    const schema = options.schema ?? defaultSiteSchema;
    if (!schemaNamePattern.test(schema)) {
      throw new VouchError('invalid-argument', 'a PostgreSQL schema name is 1 to 63 of [a-z0-9_]', {
        field: 'schema',
      });
    }
    try {
      await migrate(pool, ddl(schema));
    } catch (error) {
      throw unavailable('creating the site tables', error);
    }
    return new PgSiteStore(pool, schema);
  }

  async #transaction<T>(what: string, body: (query: PgQuery) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw unavailable(what, error);
    }
    let broken = false;
    // A checked-out client whose connection dies (a server restart) emits 'error'; unheard, that
    // would crash the process. The failing query rejects too, which is what we act on.
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await body((text, values) => client.query(text, values));
      await client.query('COMMIT'); // the commit point
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true; // the connection is gone; do not return it to the pool
      });
      throw unavailable(what, error);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async #query<R>(what: string, text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.#pool.query(text, values)).rows as R[];
    } catch (error) {
      throw unavailable(what, error);
    }
  }

  async putTenant(tenant: StoredTenant): Promise<void> {
    const wrapped = checkNewTenant(tenant);
    const s = this.#s;
    await this.#transaction('registering a tenant', async (q) => {
      const inserted = await q(
        `INSERT INTO ${s}.tenants (tenant, record, wrapped_key) VALUES ($1, $2, $3) ON CONFLICT (tenant) DO NOTHING`,
        [tenant.tenant, buffer(tenant.record), buffer(wrapped)],
      );
      if (inserted.rowCount === 1) return;
      const { rows } = await q(`SELECT wrapped_key FROM ${s}.tenants WHERE tenant = $1 FOR UPDATE`, [
        tenant.tenant,
      ]);
      const old = (rows[0] as { wrapped_key: Uint8Array | null } | undefined)?.wrapped_key;
      if (old === null || old === undefined) {
        throw new ConflictError(`tenant ${tenant.tenant} was erased; its id is not reused`, undefined, {
          key: tenant.tenant,
        });
      }
      if (!equalBytes(old, wrapped)) {
        throw new ConflictError(`tenant ${tenant.tenant} is registered with another key`, undefined, {
          key: tenant.tenant,
        });
      }
      await q(`UPDATE ${s}.tenants SET record = $2 WHERE tenant = $1`, [
        tenant.tenant,
        buffer(tenant.record),
      ]);
    });
  }

  async getTenant(tenant: string): Promise<StoredTenant | undefined> {
    const rows = await this.#query<TenantRow>(
      'reading a tenant',
      `SELECT tenant, record, wrapped_key, erased_at FROM ${this.#s}.tenants WHERE tenant = $1`,
      [tenant],
    );
    const row = rows[0];
    return row === undefined ? undefined : toTenant(row);
  }

  async listTenants(): Promise<StoredTenant[]> {
    const rows = await this.#query<TenantRow>(
      'listing tenants',
      `SELECT tenant, record, wrapped_key, erased_at FROM ${this.#s}.tenants ORDER BY tenant`,
      [],
    );
    return rows.map(toTenant);
  }

  async storeBatch(
    tenant: string,
    batchId: string,
    digest: Uint8Array,
    events: readonly StoredEvent[],
  ): Promise<BatchReceipt> {
    checkStoredBatch(tenant, batchId, events);
    const s = this.#s;
    return this.#transaction('storing a batch', async (q): Promise<BatchReceipt> => {
      const live = await q(
        `SELECT wrapped_key IS NOT NULL AS live FROM ${s}.tenants WHERE tenant = $1 FOR SHARE`,
        [tenant],
      );
      if ((live.rows[0] as { live: boolean } | undefined)?.live !== true) {
        throw new VouchError('not-found', `tenant ${tenant} is not registered at this site or was erased`, {
          key: tenant,
        });
      }
      const inserted = await q(
        `INSERT INTO ${s}.batches (tenant, batch_id, digest, count) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [tenant, batchId, buffer(digest), events.length],
      );
      if (inserted.rowCount !== 1) {
        const seen = await q(`SELECT digest, count FROM ${s}.batches WHERE tenant = $1 AND batch_id = $2`, [
          tenant,
          batchId,
        ]);
        const row = seen.rows[0] as { digest: Uint8Array; count: number } | undefined;
        if (row === undefined)
          throw new VouchError('invariant', 'internal error: a conflicting batch vanished');
        if (!equalBytes(row.digest, digest)) {
          throw new ConflictError(`batch ${batchId} was already stored with other content`, undefined, {
            key: batchId,
          });
        }
        return Object.freeze({ status: 'duplicate', count: row.count });
      }
      await q(
        `INSERT INTO ${s}.events (tenant, event_id, kind, time, sealed)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bytea[])`,
        [
          tenant,
          events.map((e) => e.eventId),
          events.map((e) => e.kind),
          events.map((e) => String(e.time)),
          events.map((e) => buffer(e.sealed)),
        ],
      );
      return Object.freeze({ status: 'stored', count: events.length });
    });
  }

  async readEvents(
    tenant: string,
    options: { readonly kind?: string; readonly from?: number; readonly to?: number; readonly limit: number },
  ): Promise<StoredEvent[]> {
    checkReadLimit(options.limit);
    const rows = await this.#query<{ event_id: string; kind: string; time: string; sealed: Uint8Array }>(
      'reading events',
      `SELECT event_id, kind, time, sealed FROM ${this.#s}.events
       WHERE tenant = $1 AND ($2::text IS NULL OR kind = $2) AND ($3::bigint IS NULL OR time >= $3)
         AND ($4::bigint IS NULL OR time < $4)
       ORDER BY time, event_id LIMIT $5`,
      [
        tenant,
        options.kind ?? null,
        options.from === undefined ? null : String(options.from),
        options.to === undefined ? null : String(options.to),
        options.limit,
      ],
    );
    return rows.map((r) =>
      Object.freeze({
        tenant,
        eventId: r.event_id,
        kind: r.kind,
        time: Number(r.time),
        sealed: plain(r.sealed),
      }),
    );
  }

  async countEvents(tenant: string): Promise<number> {
    const rows = await this.#query<{ n: string }>(
      'counting events',
      `SELECT count(*) AS n FROM ${this.#s}.events WHERE tenant = $1`,
      [tenant],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async eraseTenant(tenant: string, at: number): Promise<void> {
    if (!Number.isSafeInteger(at) || at < 0) {
      throw new VouchError('invalid-argument', 'an erasure time is whole seconds since the epoch');
    }
    const s = this.#s;
    await this.#transaction('erasing a tenant', async (q) => {
      const updated = await q(
        `UPDATE ${s}.tenants SET wrapped_key = NULL, erased_at = coalesce(erased_at, $2) WHERE tenant = $1`,
        [tenant, String(at)],
      );
      if (updated.rowCount !== 1) {
        throw new VouchError('not-found', `tenant ${tenant} is not registered at this site`, { key: tenant });
      }
      await q(`DELETE FROM ${s}.events WHERE tenant = $1`, [tenant]);
      await q(`DELETE FROM ${s}.batches WHERE tenant = $1`, [tenant]);
    });
  }

  /** close does nothing: the caller owns and ends the pool. */
  async close(): Promise<void> {
    // Nothing to release.
  }
}

type PgQuery = (text: string, values: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }>;
