/**
 * The compare-and-swap cell on SQLite, the embedded default. Each swap is one `BEGIN IMMEDIATE`
 * transaction that reads the current value, compares it and writes the new one; with
 * `synchronous=FULL` it is durable once the commit returns. Several processes may share the
 * file: SQLite's write lock serialises them, and the compare makes the loser fail with a conflict.
 */

import type { DatabaseSync } from 'node:sqlite';
import { equalBytes } from '../../core/bytes/index.ts';
import { ConflictError } from '../../core/errors.ts';
import type { CasCell, CasStore } from '../cas.ts';
import { immediateTransaction } from './database.ts';

/** SqliteCasStore keeps cells in the table `cas_cells` of an open database. */
export class SqliteCasStore implements CasStore {
  readonly #db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec('CREATE TABLE IF NOT EXISTS cas_cells (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT');
  }

  cell(name: string): CasCell {
    const db = this.#db;
    const select = db.prepare('SELECT value FROM cas_cells WHERE name = ?');
    const read = (): Uint8Array | undefined => {
      const row = select.get(name) as { value: Uint8Array } | undefined;
      return row === undefined ? undefined : new Uint8Array(row.value);
    };
    return {
      read: async () => read(),
      replace: async (old, next) => {
        immediateTransaction(db, () => {
          const current = read();
          const matches =
            current === undefined ? old === undefined : old !== undefined && equalBytes(current, old);
          if (!matches) throw new ConflictError(`cell ${name} changed`, current, { key: name });
          db.prepare(
            'INSERT INTO cas_cells (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
          ).run(name, next);
        });
      },
    };
  }
}
