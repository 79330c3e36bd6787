/**
 * The log sequencer: a C2SP tiled transparency log (https://c2sp.org/tlog-tiles) that accepts
 * entries, integrates them in batches into tiles and entry bundles, and signs and publishes a
 * checkpoint (https://c2sp.org/tlog-checkpoint). An entry is acknowledged only once it is in the
 * tiles under a published checkpoint, and a restart never forks the log.
 *
 * The crash story of one round, in order:
 * 1. Sequence: the batch gets indices in the sequence store, in one transaction (durable).
 * 2. Integrate: tiles and bundles for every sequenced entry past the checkpoint are computed
 *    from stored entries only, and written as immutable blobs — a retry or a restart writes the
 *    same bytes, so a crash here leaves harmless files beyond the checkpoint.
 * 3. Sign the new checkpoint and swap it into the checkpoint cell. COMMIT POINT: a lost swap
 *    means another sequencer moved the log; this one reloads and never publishes its own.
 * 4. Publish the checkpoint file for readers, then acknowledge. A crash between 3 and 4 is
 *    repaired at start-up by republishing the cell's value.
 * At start-up the log reloads the cell, checks the tiles on the right edge reproduce its root
 * (refusing to run on an impossible state), republishes, and integrates anything sequenced but
 * not yet integrated. Model: sunlight's sequencePool/LoadLog and tessera's integrate.
 *
 * Witness cosignatures are collected by the optional `cosign` hook (see witnesses.ts), which runs
 * between signing and the swap: only a checkpoint the quorum cosigned is ever committed.
 */

import { equalBytes, formatBase64 } from '../../core/bytes/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { leafHash } from '../../core/merkle/index.ts';
import { type NoteSigner, openNote, signNote, verifierSet } from '../../core/note/index.ts';
import { formatVerifierKey } from '../../core/note/keys.ts';
import { type Checkpoint, formatCheckpoint, parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { createCheckpointVerifier } from '../../core/tlog/cosignature.ts';
import { maxEntrySize, parseEntryBundle } from '../../core/tlog/entry-bundle.ts';
import { entryBundleTile, formatTilePath, fullTileWidth } from '../../core/tlog/tile-path.ts';
import { planTileEdge, rootFromTileEdge, toTileEdge } from '../../core/tlog/tiles.ts';
import type { BlobStore } from '../../storage/blob.ts';
import type { CasCell } from '../../storage/cas.ts';
import { maxSequenceBatch, type SequenceStore } from '../../storage/sequence.ts';
import { emptyLogEdge, integrate, type LogEdge } from './integrate.ts';

/** LogFiles is where a log writes its public files: immutable tiles and a published checkpoint. */
export interface LogFiles extends BlobStore {
  /** publish atomically and durably replaces the mutable `checkpoint` file. */
  publish(key: string, bytes: Uint8Array): Promise<void>;
}

/** LogOptions configures a log; every key has a default suited to a release log. */
export interface LogOptions {
  /** origin is the log's identity, the first line of its checkpoints; the signer's key name must equal it. */
  readonly origin: string;
  /** signer signs checkpoints (signed-note type 0x01 or 0x02). */
  readonly signer: NoteSigner;
  readonly files: LogFiles;
  /** checkpoint is the compare-and-swap cell holding the latest signed checkpoint: the log's head. */
  readonly checkpoint: CasCell;
  readonly sequence: SequenceStore;
  /** batchSize is the most entries sequenced in one round (default 256, at most 4096). */
  readonly batchSize?: number;
  /** batchAgeMs is how long the first entry of a round may wait for others (default 10 ms). */
  readonly batchAgeMs?: number;
  /** maxPending bounds the entries waiting in memory; beyond it `add` pushes back (default 16,384). */
  readonly maxPending?: number;
  /** dedup makes an identical entry return its first index instead of being logged again. */
  readonly dedup?: boolean;
  /**
   * cosign, if set, receives every newly signed checkpoint before it is committed and returns
   * the note to commit (with cosignatures added). Throwing aborts the round; entries stay
   * sequenced and are retried.
   */
  readonly cosign?: (signedCheckpoint: Uint8Array, previous: Checkpoint) => Promise<Uint8Array>;
  /** log receives one line per notable event (errors, recoveries). */
  readonly log?: (line: string) => void;
}

/** AddResult acknowledges a durably logged entry. */
export interface AddResult {
  readonly index: bigint;
  readonly leafHash: Uint8Array;
  /** checkpoint is the signed checkpoint note that first included the entry. */
  readonly checkpoint: Uint8Array;
  /** duplicate is true when deduplication returned an earlier index for identical bytes. */
  readonly duplicate: boolean;
}

type ResolvedOptions = Required<Omit<LogOptions, 'cosign'>> & Pick<LogOptions, 'cosign'>;

/** Head is the committed checkpoint: the signed note and its parsed text. */
interface Head {
  readonly note: Uint8Array;
  readonly checkpoint: Checkpoint;
}

const pruneEvery = 4096n;

interface Waiter {
  readonly entry: Uint8Array;
  readonly leafHash: Uint8Array;
  index?: bigint;
  duplicate?: boolean;
  resolve(result: AddResult): void;
  reject(error: unknown): void;
}

/** Log is one running log; see the module comment. Create it with {@link Log.open}. */
export class Log {
  readonly origin: string;
  readonly #options: ResolvedOptions;
  #head: Head;
  #edge: LogEdge;
  /** Entries sequenced past the head, known to be at indices head.size, head.size + 1, ... */
  #sequenced: Uint8Array[] = [];
  #queue: Waiter[] = [];
  #waiting: Waiter[] = []; // sequenced, waiting for a checkpoint that covers them
  #failingSince: number | undefined; // when the rounds now failing in a row began
  #timer: ReturnType<typeof setTimeout> | undefined;
  #round: Promise<void> | undefined;
  #closed = false;
  #failures = 0;
  #prunedTo = 0n;
  /** True between a committed swap and a successful publish of the head. */
  #unpublished = false;

  private constructor(options: ResolvedOptions, head: Head, edge: LogEdge) {
    this.origin = options.origin;
    this.#options = options;
    this.#head = head;
    this.#edge = edge;
  }

  /**
   * open loads (or, for an empty cell, creates) the log's head, checks the right edge of its
   * tiles reproduces the head's root, republishes the checkpoint and integrates whatever was
   * sequenced but not integrated before a crash. It throws `invariant` on an impossible state.
   */
  static async open(options: LogOptions): Promise<Log> {
    if (options.signer.name !== options.origin) {
      throw new VouchError(
        'invalid-argument',
        `the log key is named ${options.signer.name}, not the origin ${options.origin}`,
      );
    }
    const batchSize = options.batchSize ?? 256;
    if (batchSize < 1 || batchSize > maxSequenceBatch) {
      throw new VouchError('invalid-argument', `batch size must be 1..${maxSequenceBatch}`);
    }
    const full = {
      batchSize,
      batchAgeMs: options.batchAgeMs ?? 10,
      maxPending: options.maxPending ?? 16_384,
      dedup: options.dedup ?? false,
      log: options.log ?? (() => undefined),
      ...options,
    };
    const { head, edge } = await loadHead(full);
    const log = new Log(full, head, edge);
    await publishLatest(full.files, full.checkpoint, head.note);
    const next = await full.sequence.next();
    if (next < head.checkpoint.size) {
      throw new VouchError(
        'invariant',
        `internal error: the sequence store ends at ${next}, before the checkpoint's size ${head.checkpoint.size}`,
      );
    }
    if (next > head.checkpoint.size) {
      full.log(
        `log ${full.origin}: integrating ${next - head.checkpoint.size} entries sequenced before a restart`,
      );
      await log.#integrateAndCommit();
    }
    return log;
  }

  /** head returns the latest committed signed checkpoint note and its parsed text. */
  get head(): Head {
    return this.#head;
  }

  /** pending counts entries accepted but not yet acknowledged. */
  get pending(): number {
    return this.#queue.length + this.#waiting.length;
  }

  /**
   * add queues one entry and resolves once it is in the tiles under a published checkpoint.
   * It throws `malformed` for an empty entry, `too-large` over 65,535 bytes, and `pushback`
   * (with `retryAfterSeconds`) when too many entries are waiting.
   */
  add(entry: Uint8Array): Promise<AddResult> {
    if (this.#closed) return Promise.reject(new VouchError('unavailable', 'the log is closed'));
    if (entry.length === 0) return Promise.reject(new VouchError('malformed', 'an entry must not be empty'));
    if (entry.length > maxEntrySize) {
      return Promise.reject(
        new VouchError('too-large', `an entry is at most ${maxEntrySize} bytes`, { limit: maxEntrySize }),
      );
    }
    if (this.pending >= this.#options.maxPending) {
      return Promise.reject(
        new VouchError('pushback', 'the log is busy; retry shortly', {
          retryAfterSeconds: 1,
          limit: this.#options.maxPending,
        }),
      );
    }
    return new Promise<AddResult>((resolve, reject) => {
      this.#queue.push({ entry: new Uint8Array(entry), leafHash: leafHash(entry), resolve, reject });
      this.#schedule();
    });
  }

  /** close stops accepting entries, finishes the round in progress and fails whatever is still queued. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#round;
    const error = new VouchError('unavailable', 'the log closed before the entry was logged');
    for (const w of [...this.#queue, ...this.#waiting]) w.reject(error);
    this.#queue = [];
    this.#waiting = [];
  }

  /**
   * schedule starts a round at once when a full batch is waiting, or when a round just ended
   * and entries arrived meanwhile (they have waited a round already: batchAgeMs is a maximum
   * wait, not a fixed one); otherwise it arms the batch-age timer.
   */
  #schedule(afterRound = false): void {
    if (this.#round !== undefined || this.#closed) return;
    if (this.#queue.length >= this.#options.batchSize || (afterRound && this.#queue.length > 0)) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#startRound();
    } else if (
      this.#timer === undefined &&
      (this.#queue.length > 0 || this.#waiting.length > 0 || this.#failingSince !== undefined)
    ) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#startRound();
      }, this.#options.batchAgeMs);
    }
  }

  #startRound(): void {
    if (this.#round !== undefined) return;
    this.#round = this.#runRound().finally(() => {
      this.#round = undefined;
      this.#schedule(true);
    });
  }

  async #runRound(): Promise<void> {
    const batch = this.#queue.splice(0, this.#options.batchSize);
    try {
      if (batch.length > 0) await this.#sequenceBatch(batch);
      await this.#integrateAndCommit();
      this.#failures = 0;
      this.#failingSince = undefined;
    } catch (error) {
      this.#failures++;
      this.#options.log(
        `log ${this.origin}: round failed: ${isVouchError(error) ? error.message : String(error)}`,
      );
      // Sequenced entries stay waiting and are integrated by a later round; entries that never
      // got an index are failed so their clients can retry.
      for (const w of batch) if (w.index === undefined) w.reject(asUnavailable(error));
      // Rounds that keep failing (a full disk, a lost database, a witness quorum out of reach)
      // would leave sequenced entries' clients without an answer until their own timeouts:
      // after stuckMs of failures, tell them. The entries
      // are durable and the first round that succeeds publishes them; a retry is answered from
      // the log then (deduplicated when the log deduplicates).
      this.#failingSince ??= Date.now();
      if (Date.now() - this.#failingSince >= stuckMs) {
        const stuck = this.#waiting;
        this.#waiting = [];
        for (const w of stuck) w.reject(sequencedButStuck(w.index, error));
      }
      // A lost swap, or sequenced entries already pruned, means another sequencer moved the log:
      // reload (which acknowledges what the new head covers) and go on without backing off.
      if (isVouchError(error, 'conflict') || isVouchError(error, 'not-found')) {
        this.#failures = 0;
        await this.#reload().catch((reloadError: unknown) =>
          this.#options.log(
            `log ${this.origin}: reload failed: ${isVouchError(reloadError) ? reloadError.message : String(reloadError)}`,
          ),
        );
      } else {
        await delay(Math.min(1000, 10 * 2 ** this.#failures));
      }
    }
  }

  async #sequenceBatch(batch: Waiter[]): Promise<void> {
    const result = await this.#options.sequence.sequence(
      batch.map((w) => w.entry),
      batch.map((w) => w.leafHash),
      { dedup: this.#options.dedup },
    );
    const expected = this.#head.checkpoint.size + BigInt(this.#sequenced.length);
    batch.forEach((w, i) => {
      w.index = result.indices[i] as bigint;
      w.duplicate = result.duplicates[i] as boolean;
    });
    const first = batch.find((w) => w.duplicate === false)?.index;
    if (first !== undefined && first !== expected) {
      // Someone else sequenced too (scale-out without the lease); read from the store instead.
      this.#sequenced = [];
    } else {
      for (const w of batch) if (w.duplicate === false) this.#sequenced.push(w.entry);
    }
    this.#waiting.push(...batch);
  }

  async #integrateAndCommit(): Promise<void> {
    const { sequence, files, checkpoint: cell, signer, cosign } = this.#options;
    const oldSize = this.#head.checkpoint.size;
    const next = await sequence.next();
    const count = Number(next - oldSize);
    if (count > 0) {
      if (this.#sequenced.length !== count) this.#sequenced = await readSequenced(sequence, oldSize, count);
      const result = integrate(this.#edge, this.#sequenced);
      await Promise.all(result.files.map((file) => files.put(file.path, file.data)));
      const checkpoint: Checkpoint = { origin: this.origin, size: next, root: result.root, extensions: [] };
      let note = await signNoteText(formatCheckpoint(checkpoint), signer);
      if (cosign !== undefined) note = await cosign(note, this.#head.checkpoint);
      await cell.replace(this.#head.note, note); // COMMIT POINT
      this.#head = { note, checkpoint };
      this.#edge = result.edge;
      this.#sequenced = [];
      this.#unpublished = true;
      // Pruning integrated entries is housekeeping, done every few thousand entries, not per round.
      if (next - this.#prunedTo >= pruneEvery) {
        await sequence.prune(next);
        this.#prunedTo = next;
      }
    }
    // Entries are acknowledged only under a published checkpoint: a publish that failed (or a head
    // another sequencer moved) is retried here, by every later round, before anyone is answered.
    if (this.#unpublished) {
      await publishLatest(files, cell, this.#head.note);
      this.#unpublished = false;
    }
    this.#acknowledge();
  }

  #acknowledge(): void {
    const { note, checkpoint } = this.#head;
    const still: Waiter[] = [];
    for (const w of this.#waiting) {
      if (w.index !== undefined && w.index < checkpoint.size) {
        w.resolve({
          index: w.index,
          leafHash: w.leafHash,
          checkpoint: note,
          duplicate: w.duplicate === true,
        });
      } else {
        still.push(w);
      }
    }
    this.#waiting = still;
  }

  async #reload(): Promise<void> {
    const { head, edge } = await loadHead(this.#options);
    this.#head = head;
    this.#edge = edge;
    this.#sequenced = [];
    this.#options.log(
      `log ${this.origin}: reloaded at size ${head.checkpoint.size}: another sequencer moved the log`,
    );
    // The next round republishes the newest head and then acknowledges what it covers.
    this.#unpublished = true;
  }
}

/**
 * publishLatest publishes `note` as the checkpoint file, then re-reads the cell and republishes
 * until the file holds the cell's value: a sequencer that stalled between its swap and its
 * publish must not roll the public file back behind a newer checkpoint another one committed.
 */
async function publishLatest(files: LogFiles, cell: CasCell, note: Uint8Array): Promise<void> {
  let published = note;
  await files.publish('checkpoint', published);
  for (let attempt = 0; attempt < 16; attempt++) {
    const current = await cell.read();
    if (current === undefined || equalBytes(current, published)) return;
    published = current;
    await files.publish('checkpoint', published);
  }
}

function signNoteText(text: string, signer: NoteSigner): Promise<Uint8Array> {
  return signNote(text, [signer]);
}

async function loadHead(
  options: Pick<LogOptions, 'origin' | 'signer' | 'files' | 'checkpoint'>,
): Promise<{ head: Head; edge: LogEdge }> {
  const { origin, signer, files, checkpoint: cell } = options;
  let note = await cell.read();
  if (note === undefined) {
    const empty = emptyLogEdge();
    const text = formatCheckpoint({ origin, size: 0n, root: rootFromTileEdge(empty.tiles), extensions: [] });
    note = await signNoteText(text, signer);
    try {
      await cell.replace(undefined, note);
    } catch (error) {
      if (!isVouchError(error, 'conflict')) throw error;
      return loadHead(options); // another process created it first
    }
  }
  // The head must be signed by this log's key: a cell holding anything else is refused.
  const opened = openNote(note, verifierSet([createCheckpointVerifier(formatVerifierKey(signer))]));
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== origin) {
    throw new VouchError(
      'invariant',
      `internal error: the stored checkpoint is for ${checkpoint.origin}, not ${origin}`,
    );
  }
  const edge = await loadEdge(files, checkpoint);
  return { head: { note, checkpoint }, edge };
}

async function loadEdge(files: BlobStore, checkpoint: Checkpoint): Promise<LogEdge> {
  const { size, root } = checkpoint;
  const tiles = await Promise.all(
    planTileEdge(size).map(async (tile) => {
      const data = await files.get(formatTilePath(tile));
      if (data === undefined)
        throw new VouchError(
          'invariant',
          `internal error: tile ${formatTilePath(tile)} of the checkpoint is missing`,
        );
      return data;
    }),
  );
  const edge = toTileEdge(size, tiles);
  if (!equalBytes(rootFromTileEdge(edge), root)) {
    throw new VouchError(
      'invariant',
      `internal error: the tiles do not reproduce the checkpoint root ${formatBase64(root)}`,
    );
  }
  const width = Number(size % BigInt(fullTileWidth));
  let bundle: readonly Uint8Array[] = [];
  if (width > 0) {
    const path = formatTilePath(entryBundleTile(size / BigInt(fullTileWidth), width));
    const data = await files.get(path);
    if (data === undefined)
      throw new VouchError('invariant', `internal error: entry bundle ${path} is missing`);
    bundle = parseEntryBundle(data, width);
  }
  return { tiles: edge, bundle };
}

async function readSequenced(sequence: SequenceStore, start: bigint, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let at = 0; at < count; at += maxSequenceBatch) {
    out.push(...(await sequence.read(start + BigInt(at), Math.min(maxSequenceBatch, count - at))));
  }
  return out;
}

/** stuckMs is how long rounds may keep failing before the log answers its sequenced entries' clients. */
const stuckMs = 2_000;

function sequencedButStuck(index: bigint | undefined, error: unknown): VouchError {
  const why = isVouchError(error) ? error.message : error instanceof Error ? error.message : String(error);
  return new VouchError(
    'unavailable',
    `the entry is stored at index ${index} but the log cannot publish a checkpoint now (${why}); it will be published when the log recovers: retry for its proof`,
    { retryAfterSeconds: 5, ...(index === undefined ? {} : { index: index.toString() }) },
    { cause: error },
  );
}

function asUnavailable(error: unknown): unknown {
  return isVouchError(error)
    ? error
    : new VouchError('unavailable', 'the log could not store the entry', {}, { cause: error });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
