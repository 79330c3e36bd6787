/**
 * The sequence store: the durable queue between "an entry was given an index" and "the entry is
 * in the tiles under a published checkpoint". A log sequences a batch (one transaction, the
 * first commit point), then integrates it into entry bundles and tiles, then swaps its
 * checkpoint cell (the second commit point). Because the sequenced entries are durable before
 * any tile is written, every tile and bundle is a pure function of stored data: a retry, a
 * restart or a stale second sequencer can only write identical bytes, so the immutable blob
 * store never sees a conflict from a crash.
 *
 * A lease names the one sequencer that should be working on a log at a time (scale-out runs
 * several processes); it is an efficiency measure, never the safety argument — that is the
 * checkpoint cell's compare-and-swap.
 */

import { VouchError } from '../core/errors.ts';

/** SequencedBatch is the result of {@link SequenceStore.sequence}: one index per entry given, in order. */
export interface SequencedBatch {
  readonly indices: readonly bigint[];
  /** duplicates[i] is true when entry i was already in the log (deduplication on) and kept its old index. */
  readonly duplicates: readonly boolean[];
}

/** SequenceStore holds one log's sequenced entries, deduplication index and lease. */
export interface SequenceStore {
  /**
   * sequence durably assigns the next consecutive indices to `entries`, all or none, in one
   * transaction. With `dedup`, an entry whose leaf hash was sequenced before keeps its old index
   * and takes no new one (duplicates inside the batch too). `leafHashes[i]` is entry i's hash.
   */
  sequence(
    entries: readonly Uint8Array[],
    leafHashes: readonly Uint8Array[],
    options: { readonly dedup: boolean },
  ): Promise<SequencedBatch>;
  /** next returns the number of entries ever sequenced, i.e. the next index to assign. */
  next(): Promise<bigint>;
  /** read returns the sequenced entries [start, start + count); it throws `not-found` if any was pruned or never sequenced. */
  read(start: bigint, count: number): Promise<Uint8Array[]>;
  /** prune forgets sequenced entries below `end`, which the caller has integrated and published. */
  prune(end: bigint): Promise<void>;
  /**
   * lease acquires or renews the sequencing lease for `holder` until `ttlMs` from now, and
   * reports whether `holder` holds it. Another holder's lease is taken over only once expired.
   */
  lease(holder: string, ttlMs: number): Promise<boolean>;
  /** release gives up `holder`'s lease, if it holds it. */
  release(holder: string): Promise<void>;
}

/** maxSequenceBatch bounds one sequence() call, which is one transaction. */
export const maxSequenceBatch = 4096;

/** checkBatch validates the arguments of sequence() before any transaction starts. */
export function checkBatch(entries: readonly Uint8Array[], leafHashes: readonly Uint8Array[]): void {
  if (entries.length !== leafHashes.length) {
    throw new VouchError('invariant', 'internal error: one leaf hash per entry is required');
  }
  if (entries.length > maxSequenceBatch) {
    throw new VouchError('invariant', `internal error: a batch holds at most ${maxSequenceBatch} entries`);
  }
}

/** checkRead turns rows into the entries [start, start+count), or throws `not-found` when any is missing. */
export function checkRead(
  rows: readonly { idx: bigint; entry: Uint8Array }[],
  start: bigint,
  count: number,
): Uint8Array[] {
  if (rows.length !== count || rows.some((row, i) => BigInt(row.idx) !== start + BigInt(i))) {
    throw new VouchError(
      'not-found',
      `sequenced entries [${start}, ${start + BigInt(count)}) are not all held`,
    );
  }
  return rows.map((row) => new Uint8Array(row.entry));
}
