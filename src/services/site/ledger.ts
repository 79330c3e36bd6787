/**
 * A site's access ledger (DESIGN.md "The data flow" step 5, issue 8 "The access ledger"): a
 * transparency log of the same kind as the release log — C2SP tlog-tiles with its own origin
 * (`ledger.<site>.vouch.example`) and key, witnessed by the supervisor's witnesses — holding one
 * canonical access-ledger entry (core/sites/ledger.ts) per read of customer data, allowed or
 * denied. Customers get their entries with C2SP tlog-proofs and check them offline against the
 * ledger key and the witness policy (./my-access.ts).
 *
 * {@link Ledger.record} resolves only when the entry is durable and published: the log's `add`
 * acknowledges an entry once it is in the tiles under a published checkpoint, and with a witness
 * policy only after the quorum cosigned that checkpoint. A log that fails, or does not answer
 * within the timeout, makes `record` throw, and the caller releases nothing (fail closed). An
 * entry the log accepted after the timeout stays in the ledger: the ledger may show an access
 * that released nothing, never the reverse.
 *
 * Crash story of one record: (1) the log makes the entry durable and published; (2) the entry is
 * indexed under its tenant in the access store (storage/access.ts), in one transaction with the
 * entries of other reads that finished meanwhile (a group commit). A crash between (1) and (2)
 * leaves an entry the tenant index lacks; {@link Ledger.reconcile}, run at start-up, reads the
 * log's entry bundles from the index's watermark to the published size, indexes every entry
 * (idempotently) and raises the watermark.
 *
 * Proofs ({@link Ledger.proofFor}) are built from the log's own tiles under the published
 * checkpoint file (what witnesses cosigned and readers see), and checked against its root before
 * they are handed out. This module does not decide policy or read customer data (./reads.ts).
 */

import { formatHex } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { computeInclusion, leafHash, planInclusion, verifyInclusion } from '../../core/merkle/index.ts';
import { parseNote } from '../../core/note/index.ts';
import type { SiteId } from '../../core/sites/index.ts';
import { formatLedgerEntry, type LedgerEntry, parseLedgerEntry } from '../../core/sites/index.ts';
import { type Checkpoint, parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { parseEntryBundle } from '../../core/tlog/entry-bundle.ts';
import { formatTlogProof } from '../../core/tlog/proof.ts';
import { entryBundleTile, formatTilePath, fullTileWidth } from '../../core/tlog/tile-path.ts';
import { hashesFromTiles, tilesForCoordinates } from '../../core/tlog/tiles.ts';
import type { AccessStore, LedgerIndexRow } from '../../storage/access.ts';
import type { BlobStore } from '../../storage/blob.ts';

/** defaultLedgerTimeoutMs bounds how long a read waits for its ledger entry to be published. */
export const defaultLedgerTimeoutMs = 10_000;

/** ledgerOrigin is the conventional origin (and key name) of a site's access ledger. */
export function ledgerOrigin(site: SiteId, domain = 'vouch.example'): string {
  return `ledger.${site}.${domain}`;
}

/** LedgerLog is what the ledger needs of a log: services/log's `Log` is one. */
export interface LedgerLog {
  readonly origin: string;
  /** add resolves once the entry is durable under a published (and, with witnesses, cosigned) checkpoint. */
  add(entry: Uint8Array): Promise<{ readonly index: bigint; readonly checkpoint: Uint8Array }>;
}

/** LedgerOptions configures a {@link Ledger}. */
export interface LedgerOptions {
  /** site is the site whose accesses this ledger records; every entry must name it. */
  readonly site: SiteId;
  /**
   * log is the ledger's log, or a getter for it: a log service hands out its log only while it
   * holds the sequencing lease, and a record without one fails `unavailable`.
   */
  readonly log: LedgerLog | (() => LedgerLog | undefined);
  /** files are the log's public files: tiles, entry bundles and the published `checkpoint`. */
  readonly files: Pick<BlobStore, 'get'>;
  /** index is the access store holding the per-tenant index of this ledger. */
  readonly index: AccessStore;
  /** timeoutMs bounds one record, log and index together (default {@link defaultLedgerTimeoutMs}). */
  readonly timeoutMs?: number;
}

/** LedgerReceipt is a recorded entry: where it is in the ledger and the exact bytes logged. */
export interface LedgerReceipt {
  readonly index: bigint;
  readonly entry: Uint8Array;
  /** entryDigest is the hex SHA-256 of the entry bytes, for references in reports. */
  readonly entryDigest: string;
  /** checkpoint is the signed (and cosigned) checkpoint note that first included the entry. */
  readonly checkpoint: Uint8Array;
}

/** ProvenLedgerEntry is one ledger entry with its tlog-proof. */
export interface ProvenLedgerEntry {
  readonly index: bigint;
  readonly entry: Uint8Array;
  /** proof is the C2SP tlog-proof of the entry. */
  readonly proof: Uint8Array;
}

const checkpointFile = 'checkpoint';

/** maxIndexBatch bounds the rows of one group commit of the tenant index. */
const maxIndexBatch = 1000;

/** Ledger records access-ledger entries and proves them; see the module comment. */
export class Ledger {
  readonly site: SiteId;
  readonly #options: LedgerOptions;
  readonly #timeoutMs: number;
  /** Rows waiting for the next group commit of the index, with their waiters. */
  #pending: { row: LedgerIndexRow; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #flushing = false;

  constructor(options: LedgerOptions) {
    const timeoutMs = options.timeoutMs ?? defaultLedgerTimeoutMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
      throw new VouchError('invalid-argument', 'the ledger timeout must be a positive number of ms', {
        field: 'timeoutMs',
      });
    }
    this.site = options.site;
    this.#options = options;
    this.#timeoutMs = timeoutMs;
  }

  #log(): LedgerLog {
    const log = typeof this.#options.log === 'function' ? this.#options.log() : this.#options.log;
    if (log === undefined) {
      throw new VouchError(
        'unavailable',
        `the access ledger of ${this.site} is not sequencing in this process (no lease); nothing is released`,
      );
    }
    return log;
  }

  /**
   * record appends `entry` and resolves once it is durable, published and indexed under its
   * tenant. It throws `invalid-argument` for an entry of another site or one the format refuses,
   * and `unavailable` (or the log's `pushback`) when the ledger could not record it in time.
   */
  async record(entry: LedgerEntry): Promise<LedgerReceipt> {
    if (entry.site !== this.site) {
      throw new VouchError(
        'invalid-argument',
        `a ledger entry for site ${entry.site} cannot go into the ledger of ${this.site}`,
        { field: 'site' },
      );
    }
    const bytes = formatLedgerEntry(entry);
    const log = this.#log();
    const receipt = await withTimeout(
      (async () => {
        const added = await log.add(bytes).catch((error: unknown) => {
          throw ledgerFailure(error, this.site);
        });
        await this.#index({ tenant: entry.tenant, index: added.index, entry: bytes }).catch(
          (error: unknown) => {
            throw ledgerFailure(error, this.site);
          },
        );
        return added;
      })(),
      this.#timeoutMs,
      this.site,
    );
    return Object.freeze({
      index: receipt.index,
      entry: bytes,
      entryDigest: formatHex(sha256(bytes)),
      checkpoint: receipt.checkpoint,
    });
  }

  /**
   * index adds one row to the tenant index with a group commit: rows that arrive while a write
   * is in flight go together in the next one (one durable transaction for many reads, as the
   * log batches their entries). A failed write fails every row in it.
   */
  #index(row: LedgerIndexRow): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ row, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, maxIndexBatch);
        try {
          await this.#options.index.indexLedger(batch.map((w) => w.row));
          for (const w of batch) w.resolve();
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** checkpoint returns the published checkpoint note and its parsed text; `not-found` before the first. */
  async checkpoint(): Promise<{ readonly note: Uint8Array; readonly checkpoint: Checkpoint }> {
    const note = await this.#options.files.get(checkpointFile);
    if (note === undefined) {
      throw new VouchError('not-found', `the access ledger of ${this.site} has not published a checkpoint`);
    }
    const checkpoint = parseCheckpoint(parseNote(note).text);
    return { note, checkpoint };
  }

  /**
   * proofFor returns the C2SP tlog-proof of entry `index` under the published checkpoint (with
   * its cosignatures), or under `at` when given (one checkpoint for many proofs). It throws `not-found` for an index the checkpoint does not cover yet, and
   * `invariant` when the log's own tiles do not lead to its checkpoint's root.
   */
  async proofFor(
    index: bigint,
    at?: { readonly note: Uint8Array; readonly checkpoint: Checkpoint },
  ): Promise<Uint8Array> {
    const { note, checkpoint } = at ?? (await this.checkpoint());
    const size = checkpoint.size;
    if (typeof index !== 'bigint' || index < 0n || index >= size) {
      throw new VouchError(
        'not-found',
        `ledger entry ${index} is not under the published checkpoint (size ${size})`,
        {
          size,
        },
      );
    }
    const coordinates = [{ level: 0, index }, ...planInclusion(index, size)];
    const tiles = tilesForCoordinates(coordinates, size);
    const fetched = await Promise.all(
      tiles.map(async (tile) => {
        const data = await this.#options.files.get(formatTilePath(tile));
        if (data === undefined) {
          throw new VouchError('invariant', `internal error: ledger tile ${formatTilePath(tile)} is missing`);
        }
        return { tile, data };
      }),
    );
    const [leaf, ...hashes] = hashesFromTiles(coordinates, size, fetched);
    if (leaf === undefined) throw new VouchError('invariant', 'internal error: no leaf hash read');
    const proof = computeInclusion(index, size, hashes);
    try {
      verifyInclusion(leaf, index, size, proof, checkpoint.root);
    } catch (error) {
      throw new VouchError(
        'invariant',
        `internal error: the ledger's tiles do not prove entry ${index} under its checkpoint`,
        {},
        { cause: error },
      );
    }
    return formatTlogProof({ index, proof, checkpoint: note });
  }

  /**
   * entriesOf returns the tenant's indexed entries from index `from`, at most `limit`, each with
   * its tlog-proof under one published checkpoint. Entries recorded after that checkpoint was
   * read are left for the next call.
   */
  async entriesOf(
    tenant: string,
    options: { readonly from?: bigint; readonly limit: number },
  ): Promise<{
    readonly origin: string;
    readonly checkpoint: Uint8Array;
    readonly entries: readonly ProvenLedgerEntry[];
  }> {
    const at = await this.checkpoint();
    const rows = await this.#options.index.ledgerEntries(tenant, options);
    const entries: ProvenLedgerEntry[] = [];
    for (const row of rows) {
      if (row.index >= at.checkpoint.size) break;
      entries.push(
        Object.freeze({ index: row.index, entry: row.entry, proof: await this.proofFor(row.index, at) }),
      );
    }
    return Object.freeze({
      origin: at.checkpoint.origin,
      checkpoint: at.note,
      entries: Object.freeze(entries),
    });
  }

  /**
   * reconcile indexes every entry between the index's watermark and the published checkpoint
   * (see the crash story) and returns how many entries it read. An entry that is not a valid
   * ledger entry of this site is an `invariant` failure: nothing else is ever appended.
   */
  async reconcile(): Promise<number> {
    const { checkpoint } = await this.checkpoint();
    const size = checkpoint.size;
    const index = this.#options.index;
    const watermark = await index.ledgerWatermark();
    if (watermark >= size) return 0;
    const width = BigInt(fullTileWidth);
    let read = 0;
    for (let n = watermark / width; n * width < size; n++) {
      const count = Number(size - n * width < width ? size - n * width : width);
      const path = formatTilePath(entryBundleTile(n, count));
      const data = await this.#options.files.get(path);
      if (data === undefined) {
        throw new VouchError('invariant', `internal error: ledger entry bundle ${path} is missing`);
      }
      const rows: LedgerIndexRow[] = [];
      parseEntryBundle(data, count).forEach((bytes, i) => {
        const at = n * width + BigInt(i);
        if (at < watermark) return;
        let entry: LedgerEntry;
        try {
          entry = parseLedgerEntry(bytes);
        } catch (error) {
          throw new VouchError(
            'invariant',
            `internal error: ledger entry ${at} is not a ledger entry`,
            {},
            { cause: error },
          );
        }
        if (entry.site !== this.site) {
          throw new VouchError('invariant', `internal error: ledger entry ${at} is for site ${entry.site}`);
        }
        rows.push({ tenant: entry.tenant, index: at, entry: bytes });
      });
      await index.indexLedger(rows);
      read += rows.length;
    }
    await index.advanceLedgerWatermark(size);
    return read;
  }

  /** leafHashOf returns the RFC 6962 leaf hash of entry bytes (what a proof leads from). */
  static leafHashOf(entry: Uint8Array): Uint8Array {
    return leafHash(entry);
  }
}

function ledgerFailure(error: unknown, site: string): VouchError {
  if (isVouchError(error, 'pushback')) return error;
  const reason = isVouchError(error) ? error.message : 'the log failed';
  return new VouchError(
    'unavailable',
    `the access ledger of ${site} could not record the entry (${reason}); nothing is released`,
    {},
    { cause: error },
  );
}

async function withTimeout<T>(work: Promise<T>, ms: number, site: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new VouchError(
            'unavailable',
            `the access ledger of ${site} did not publish the entry within ${ms} ms; nothing is released`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    // A late failure of the abandoned work must not surface as an unhandled rejection.
    work.catch(() => undefined);
  }
}
