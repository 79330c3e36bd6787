/**
 * Connecting to PostgreSQL, the scale-out store. This folder is the only place that imports the
 * `pg` package, so replacing the driver touches nothing else. Connection strings come from the
 * caller (the CLI's `--database-url` or the `DATABASE_URL` environment variable).
 */

import pg from 'pg';

/** PgPool is the connection pool type the PostgreSQL drivers share. */
export type PgPool = pg.Pool;

/** openPgPool returns a pool for `url`; the caller ends it with `pool.end()`. */
export function openPgPool(url: string, max = 10): PgPool {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle client's error (a server restart) must not crash the process; the next query fails instead.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * migrate runs idempotent schema statements under a transaction-scoped advisory lock, because
 * concurrent `CREATE TABLE IF NOT EXISTS` in PostgreSQL can still fail on the catalog's unique
 * index when two processes start at once.
 */
export async function migrate(pool: PgPool, statements: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('vouch-schema'))");
    await client.query(statements);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined); // the original error is what matters
    throw error;
  } finally {
    client.release();
  }
}
