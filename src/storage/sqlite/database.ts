/**
 * Opening an embedded SQLite database (`node:sqlite`) the way every Vouch store needs it:
 * write-ahead logging so readers never block the writer, `synchronous=FULL` so that a committed
 * transaction survives power loss (WAL with NORMAL may lose the last commits), and a busy timeout
 * so that several processes sharing one file wait for each other instead of failing.
 */

import { DatabaseSync } from 'node:sqlite';
import { isVouchError, VouchError } from '../../core/errors.ts';

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
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    throw storageError(error);
  }
  try {
    const result = body();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    try {
      if (db.isTransaction) db.exec('ROLLBACK');
    } catch {
      // The rollback failing too (a full disk, an I/O error) must not hide why the write failed;
      // SQLite rolls the transaction back itself when the connection is next used or closed.
    }
    throw storageError(error);
  }
}

/** SQLite's primary result codes that mean the storage, not the request, failed (sqlite.org/rescode.html). */
const storageCodes: Readonly<Record<number, string>> = {
  10: 'an I/O error', // SQLITE_IOERR
  13: 'the disk is full', // SQLITE_FULL
  14: 'the database file cannot be opened', // SQLITE_CANTOPEN
};

/**
 * storageError names a failed write: SQLite's I/O errors, a full disk and an unopenable file
 * become `unavailable` (a retry may succeed once an operator frees space, and HTTP faces answer
 * 503), naming the cause; anything else is passed on as it is.
 */
export function storageError(error: unknown): unknown {
  if (isVouchError(error)) return error;
  const errcode = (error as { errcode?: unknown }).errcode;
  if (typeof errcode !== 'number') return error;
  const cause = storageCodes[errcode & 0xff];
  if (cause === undefined) return error;
  return new VouchError(
    'unavailable',
    `the database could not be written: ${cause}`,
    { retryAfterSeconds: 5 },
    { cause: error },
  );
}
