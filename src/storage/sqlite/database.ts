/**
 * Opening an embedded SQLite database (`node:sqlite`) the way every Vouch store needs it:
 * write-ahead logging so readers never block the writer, `synchronous=FULL` so that a committed
 * transaction survives power loss (WAL with NORMAL may lose the last commits), and a busy timeout
 * so that several processes sharing one file wait for each other instead of failing.
 */

import { DatabaseSync } from 'node:sqlite';

/** openSqlite opens (creating if needed) the database at `path`, or an in-memory one for ':memory:'. */
export function openSqlite(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA foreign_keys = ON');
  return db;
}

/**
 * immediateTransaction runs `body` inside `BEGIN IMMEDIATE`, which takes the write lock up
 * front so that a read-then-write cannot interleave with another writer, and rolls back on any
 * throw. `body` must be synchronous: node:sqlite is, and an await inside would hold the lock.
 */
export function immediateTransaction<T>(db: DatabaseSync, body: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = body();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}
