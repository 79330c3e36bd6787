/**
 * The sequence store on SQLite, the embedded default. One database may hold several logs, keyed
 * by log name. `sequence` runs in one `BEGIN IMMEDIATE` transaction, so two processes sharing the
 * file can never hand out the same index; with `synchronous=FULL` the batch is durable when it
 * returns. The lease uses the caller's clock (`now`), which is fine on one machine.
 */

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { checkBatch, checkRead, type SequencedBatch, type SequenceStore } from '../sequence.ts';
import { immediateTransaction } from './database.ts';

const schema = `
CREATE TABLE IF NOT EXISTS log_next (log TEXT PRIMARY KEY, next INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS log_sequence (log TEXT NOT NULL, idx INTEGER NOT NULL, entry BLOB NOT NULL,
  PRIMARY KEY (log, idx)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_dedup (log TEXT NOT NULL, hash BLOB NOT NULL, idx INTEGER NOT NULL,
  PRIMARY KEY (log, hash)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_lease (log TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_ms INTEGER NOT NULL) STRICT;
`;

/** SqliteSequenceStore is the {@link SequenceStore} of one log in an open SQLite database. */
export class SqliteSequenceStore implements SequenceStore {
  readonly #db: DatabaseSync;
  readonly #log: string;
  readonly #now: () => number;
  readonly #statements: {
    next: StatementSync;
    setNext: StatementSync;
    insert: StatementSync;
    findDup: StatementSync;
    insertDup: StatementSync;
    read: StatementSync;
    prune: StatementSync;
  };

  constructor(db: DatabaseSync, log: string, now: () => number = Date.now) {
    this.#db = db;
    this.#log = log;
    this.#now = now;
    db.exec(schema);
    this.#statements = {
      next: db.prepare('SELECT next FROM log_next WHERE log = ?'),
      setNext: db.prepare(
        'INSERT INTO log_next (log, next) VALUES (?, ?) ON CONFLICT (log) DO UPDATE SET next = excluded.next',
      ),
      insert: db.prepare('INSERT INTO log_sequence (log, idx, entry) VALUES (?, ?, ?)'),
      findDup: db.prepare('SELECT idx FROM log_dedup WHERE log = ? AND hash = ?'),
      insertDup: db.prepare('INSERT INTO log_dedup (log, hash, idx) VALUES (?, ?, ?)'),
      read: db.prepare(
        'SELECT idx, entry FROM log_sequence WHERE log = ? AND idx >= ? AND idx < ? ORDER BY idx',
      ),
      prune: db.prepare('DELETE FROM log_sequence WHERE log = ? AND idx < ?'),
    };
    for (const s of Object.values(this.#statements)) s.setReadBigInts(true);
  }

  #next(): bigint {
    const row = this.#statements.next.get(this.#log) as { next: bigint } | undefined;
    return row === undefined ? 0n : row.next;
  }

  async sequence(
    entries: readonly Uint8Array[],
    leafHashes: readonly Uint8Array[],
    options: { readonly dedup: boolean },
  ): Promise<SequencedBatch> {
    checkBatch(entries, leafHashes);
    const s = this.#statements;
    return immediateTransaction(this.#db, () => {
      let next = this.#next();
      const indices: bigint[] = [];
      const duplicates: boolean[] = [];
      for (let i = 0; i < entries.length; i++) {
        const hash = leafHashes[i] as Uint8Array;
        if (options.dedup) {
          const found = s.findDup.get(this.#log, hash) as { idx: bigint } | undefined;
          if (found !== undefined) {
            indices.push(found.idx);
            duplicates.push(true);
            continue;
          }
          s.insertDup.run(this.#log, hash, next);
        }
        s.insert.run(this.#log, next, entries[i] as Uint8Array);
        indices.push(next);
        duplicates.push(false);
        next++;
      }
      s.setNext.run(this.#log, next);
      return Object.freeze({ indices: Object.freeze(indices), duplicates: Object.freeze(duplicates) });
    });
  }

  async next(): Promise<bigint> {
    return this.#next();
  }

  async read(start: bigint, count: number): Promise<Uint8Array[]> {
    const rows = this.#statements.read.all(this.#log, start, start + BigInt(count)) as {
      idx: bigint;
      entry: Uint8Array;
    }[];
    return checkRead(rows, start, count);
  }

  async prune(end: bigint): Promise<void> {
    this.#statements.prune.run(this.#log, end);
  }

  async lease(holder: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    return immediateTransaction(this.#db, () => {
      const row = this.#db.prepare('SELECT holder, expires_ms FROM log_lease WHERE log = ?').get(this.#log) as
        | { holder: string; expires_ms: bigint | number }
        | undefined;
      if (row !== undefined && row.holder !== holder && Number(row.expires_ms) > now) return false;
      this.#db
        .prepare(
          'INSERT INTO log_lease (log, holder, expires_ms) VALUES (?, ?, ?) ON CONFLICT (log) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms',
        )
        .run(this.#log, holder, now + ttlMs);
      return true;
    });
  }

  async release(holder: string): Promise<void> {
    this.#db.prepare('DELETE FROM log_lease WHERE log = ? AND holder = ?').run(this.#log, holder);
  }
}
