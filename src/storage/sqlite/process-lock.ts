/**
 * A lock held for as long as this process lives: an open `BEGIN EXCLUSIVE` transaction on a
 * small SQLite file. SQLite takes it with a POSIX advisory lock, which the operating system drops
 * the instant the process dies — even by SIGKILL — so a crashed sequencer never blocks its
 * successor, unlike a timed lease that must first expire. Within one process a second
 * connection is refused too. Embedded deployments (one machine) use it as the sequencing lease.
 *
 * LIMIT: advisory locks are unreliable on some network file systems; scale-out uses the
 * PostgreSQL lease instead.
 */

import { DatabaseSync } from 'node:sqlite';

/** ProcessLock is a lock on one file, held until released or until the process ends. */
export class ProcessLock {
  readonly #path: string;
  #db: DatabaseSync | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  /** held reports whether this object holds the lock. */
  get held(): boolean {
    return this.#db !== undefined;
  }

  /** tryAcquire takes the lock if it is free and reports whether this object holds it; it never waits. */
  tryAcquire(): boolean {
    if (this.#db !== undefined) return true;
    const db = new DatabaseSync(this.#path);
    try {
      db.exec('PRAGMA busy_timeout = 0');
      db.exec('PRAGMA journal_mode = DELETE');
      db.exec('BEGIN EXCLUSIVE');
      this.#db = db;
      return true;
    } catch {
      db.close();
      return false;
    }
  }

  /** release gives the lock up. */
  release(): void {
    const db = this.#db;
    this.#db = undefined;
    if (db === undefined) return;
    try {
      db.exec('ROLLBACK');
    } finally {
      db.close();
    }
  }
}
