/**
 * The sequence store on PostgreSQL, for scale-out. `sequence` locks the log's `log_next` row
 * (`SELECT ... FOR UPDATE`) inside one transaction, so concurrent sequencers — which the lease
 * should prevent but must not be trusted to — serialise and never share an index. Entries go in
 * with one multi-row insert per batch. The lease uses the database server's clock, so processes
 * on machines with skewed clocks agree on expiry.
 */

import { VouchError } from '../../core/errors.ts';
import { checkBatch, checkRead, type SequencedBatch, type SequenceStore } from '../sequence.ts';
import { migrate, type PgPool } from './pool.ts';

const schema = `
CREATE TABLE IF NOT EXISTS log_next (log TEXT PRIMARY KEY, next BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS log_sequence (log TEXT NOT NULL, idx BIGINT NOT NULL, entry BYTEA NOT NULL, PRIMARY KEY (log, idx));
CREATE TABLE IF NOT EXISTS log_dedup (log TEXT NOT NULL, hash BYTEA NOT NULL, idx BIGINT NOT NULL, PRIMARY KEY (log, hash));
CREATE TABLE IF NOT EXISTS log_lease (log TEXT PRIMARY KEY, holder TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL);
`;

/** PgSequenceStore is the {@link SequenceStore} of one log in a PostgreSQL database. */
export class PgSequenceStore implements SequenceStore {
  readonly #pool: PgPool;
  readonly #log: string;

  private constructor(pool: PgPool, log: string) {
    this.#pool = pool;
    this.#log = log;
  }

  /** open creates the tables if needed (serialised by an advisory lock) and returns the store for `log`. */
  static async open(pool: PgPool, log: string): Promise<PgSequenceStore> {
    await migrate(pool, schema);
    return new PgSequenceStore(pool, log);
  }

  async sequence(
    entries: readonly Uint8Array[],
    leafHashes: readonly Uint8Array[],
    options: { readonly dedup: boolean },
  ): Promise<SequencedBatch> {
    checkBatch(entries, leafHashes);
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO log_next (log, next) VALUES ($1, 0) ON CONFLICT (log) DO NOTHING', [
        this.#log,
      ]);
      const locked = await client.query<{ next: string }>(
        'SELECT next FROM log_next WHERE log = $1 FOR UPDATE',
        [this.#log],
      );
      let next = BigInt(locked.rows[0]?.next ?? '0');
      const known = new Map<string, bigint>();
      if (options.dedup && entries.length > 0) {
        const found = await client.query<{ hash: Uint8Array; idx: string }>(
          'SELECT hash, idx FROM log_dedup WHERE log = $1 AND hash = ANY($2::bytea[])',
          [this.#log, leafHashes.map((h) => Buffer.from(h))],
        );
        for (const row of found.rows) known.set(Buffer.from(row.hash).toString('hex'), BigInt(row.idx));
      }
      const indices: bigint[] = [];
      const duplicates: boolean[] = [];
      const newIdx: string[] = [];
      const newEntries: Buffer[] = [];
      const newHashes: Buffer[] = [];
      for (let i = 0; i < entries.length; i++) {
        const hex = Buffer.from(leafHashes[i] as Uint8Array).toString('hex');
        const old = options.dedup ? known.get(hex) : undefined;
        if (old !== undefined) {
          indices.push(old);
          duplicates.push(true);
          continue;
        }
        if (options.dedup) known.set(hex, next);
        indices.push(next);
        duplicates.push(false);
        newIdx.push(next.toString());
        newEntries.push(Buffer.from(entries[i] as Uint8Array));
        newHashes.push(Buffer.from(leafHashes[i] as Uint8Array));
        next++;
      }
      if (newIdx.length > 0) {
        await client.query(
          'INSERT INTO log_sequence (log, idx, entry) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[])',
          [this.#log, newIdx, newEntries],
        );
        if (options.dedup) {
          await client.query(
            'INSERT INTO log_dedup (log, hash, idx) SELECT $1, * FROM unnest($2::bytea[], $3::bigint[])',
            [this.#log, newHashes, newIdx],
          );
        }
      }
      await client.query('UPDATE log_next SET next = $2 WHERE log = $1', [this.#log, next.toString()]);
      await client.query('COMMIT');
      return Object.freeze({ indices: Object.freeze(indices), duplicates: Object.freeze(duplicates) });
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined); // the original error is what matters
      throw error instanceof VouchError
        ? error
        : new VouchError('unavailable', 'sequencing in PostgreSQL failed', {}, { cause: error });
    } finally {
      client.release();
    }
  }

  async next(): Promise<bigint> {
    const result = await this.#pool.query<{ next: string }>('SELECT next FROM log_next WHERE log = $1', [
      this.#log,
    ]);
    return BigInt(result.rows[0]?.next ?? '0');
  }

  async read(start: bigint, count: number): Promise<Uint8Array[]> {
    const result = await this.#pool.query<{ idx: string; entry: Uint8Array }>(
      'SELECT idx, entry FROM log_sequence WHERE log = $1 AND idx >= $2 AND idx < $3 ORDER BY idx',
      [this.#log, start.toString(), (start + BigInt(count)).toString()],
    );
    return checkRead(
      result.rows.map((r) => ({ idx: BigInt(r.idx), entry: r.entry })),
      start,
      count,
    );
  }

  async prune(end: bigint): Promise<void> {
    await this.#pool.query('DELETE FROM log_sequence WHERE log = $1 AND idx < $2', [
      this.#log,
      end.toString(),
    ]);
  }

  async lease(holder: string, ttlMs: number): Promise<boolean> {
    const result = await this.#pool.query<{ holder: string }>(
      `INSERT INTO log_lease (log, holder, expires) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (log) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
       WHERE log_lease.holder = excluded.holder OR log_lease.expires < now()
       RETURNING holder`,
      [this.#log, holder, ttlMs],
    );
    return result.rows[0]?.holder === holder;
  }

  async release(holder: string): Promise<void> {
    await this.#pool.query('DELETE FROM log_lease WHERE log = $1 AND holder = $2', [this.#log, holder]);
  }
}
