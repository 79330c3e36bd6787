/**
 * The compare-and-swap cell on PostgreSQL, for scale-out deployments where several processes
 * share one site database. A swap is a single conditional statement — `UPDATE ... WHERE value =
 * old`, or `INSERT ... ON CONFLICT DO NOTHING` for a first value — so the database's row lock
 * decides the winner and the loser sees zero rows changed (model: litewitness's conditional
 * UPDATE). A committed statement is durable under PostgreSQL's default `synchronous_commit=on`.
 */

import { ConflictError } from '../../core/errors.ts';
import type { CasCell, CasStore } from '../cas.ts';
import { migrate, type PgPool } from './pool.ts';

/** PgCasStore keeps cells in the table `cas_cells`; `namespace` prefixes names so tests and tenants can share a database. */
export class PgCasStore implements CasStore {
  readonly #pool: PgPool;
  readonly #namespace: string;

  private constructor(pool: PgPool, namespace: string) {
    this.#pool = pool;
    this.#namespace = namespace;
  }

  /** open creates the table if needed and returns the store. */
  static async open(pool: PgPool, namespace = ''): Promise<PgCasStore> {
    await migrate(pool, 'CREATE TABLE IF NOT EXISTS cas_cells (name TEXT PRIMARY KEY, value BYTEA NOT NULL)');
    return new PgCasStore(pool, namespace);
  }

  cell(name: string): CasCell {
    const key = this.#namespace + name;
    const pool = this.#pool;
    const read = async (): Promise<Uint8Array | undefined> => {
      const result = await pool.query<{ value: Uint8Array }>('SELECT value FROM cas_cells WHERE name = $1', [
        key,
      ]);
      const row = result.rows[0];
      return row === undefined ? undefined : new Uint8Array(row.value);
    };
    return {
      read,
      replace: async (old, next) => {
        const result =
          old === undefined
            ? await pool.query(
                'INSERT INTO cas_cells (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
                [key, Buffer.from(next)],
              )
            : await pool.query('UPDATE cas_cells SET value = $2 WHERE name = $1 AND value = $3', [
                key,
                Buffer.from(next),
                Buffer.from(old),
              ]);
        if (result.rowCount !== 1)
          throw new ConflictError(`cell ${name} changed`, await read(), { key: name });
      },
    };
  }
}
