/**
 * A client of a C2SP tiled log (https://c2sp.org/tlog-tiles, https://c2sp.org/tlog-checkpoint,
 * https://c2sp.org/tlog-proof) that trusts nothing it fetches until it has checked it: an I/O
 * wrapper around core's verifiers, in the manner of tuf-js's `Updater`.
 *
 * {@link LogClient.open} fetches the checkpoint and opens it; the log's own key must be among the
 * verified signatures (a witness cosignature alone does not make a checkpoint the log's), and the
 * origin must be the expected one. The client is then bound to that checkpoint: every stored hash
 * it reads comes from a tile authenticated against the checkpoint's root (tile-reader.ts
 * explains how), fetched once and kept in a bounded in-memory set. On that it builds roots of
 * earlier sizes, inclusion and consistency proofs (each verified before it is returned), reads
 * entries checked against their leaf hashes, and a whole-log audit (verify-log.ts). Only partial
 * tiles of the checkpoint's own size are ever requested. Verified full tiles and bundles are
 * offered to the fetcher's `save`, and nothing else is.
 *
 * The log is trusted in one of two ways: by its key alone (`logKey`, with optional further
 * `cosigners` that are verified when present but never required), or by a C2SP tlog-policy
 * (`policy`), which also requires its witness quorum — core/tlog/quorum.ts checks both, and the
 * client then keeps the witnesses that counted in `cosigners`.
 *
 * It does not follow the log: to move to a newer checkpoint, open a new client and call
 * {@link LogClient.checkConsistency} with the old checkpoint.
 */

import { equalBytes } from '../../core/bytes/index.ts';
import { describeUntrusted, invariant, VouchError } from '../../core/errors.ts';
import {
  computeConsistency,
  computeInclusion,
  computeRoot,
  emptyRoot,
  planConsistency,
  planInclusion,
  planRoot,
  type SubtreeCoordinate,
  verifyConsistency,
  verifyInclusion,
} from '../../core/merkle/index.ts';
import {
  formatKeyId,
  type NoteVerifier,
  type OpenedNote,
  openNote,
  UnverifiedNoteError,
  verifierSet,
} from '../../core/note/index.ts';
import { type Checkpoint, parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import type { Policy } from '../../core/tlog/policy.ts';
import type { TlogProof } from '../../core/tlog/proof.ts';
import { checkCheckpointPolicy, type Freshness, type PolicyCosignature } from '../../core/tlog/quorum.ts';
import { entryBundleTile, formatTilePath, fullTileWidth, type HashTile } from '../../core/tlog/tile-path.ts';
import { hashFromTile, planTileEdge, tileForCoordinate } from '../../core/tlog/tiles.ts';
import { inOrderAhead } from './ahead.ts';
import { checkpointPath, type TileFetcher } from './fetcher.ts';
import {
  checkBundleAgainstTile,
  checkTileAgainstParent,
  checkTileEdge,
  parentTile,
  readEntryBundle,
  readHashTile,
} from './tile-reader.ts';
import { type LogVerification, type VerifyLogOptions, verifyLogTiles } from './verify-log.ts';

/** LogClientOptions says which log to trust: exactly one of `logKey` and `policy` is required. */
export interface LogClientOptions {
  /** logKey verifies the log's own signature; a checkpoint without a valid one is rejected. */
  readonly logKey?: NoteVerifier;
  /**
   * policy, instead of `logKey`, is a tlog-policy: a policy log whose key name is the
   * checkpoint's origin must have signed, and the policy's witness quorum must be met.
   */
  readonly policy?: Policy;
  /**
   * origin is the checkpoint origin required. Default: the log key's name, as the spec advises;
   * with a policy, any origin the policy lists a log for.
   */
  readonly origin?: string;
  /** cosigners (with `logKey` only) are further trusted keys: verified when they signed, never required. */
  readonly cosigners?: readonly NoteVerifier[];
  /** freshness (with `policy` only) stops witness cosignatures older than `maxAge` from counting. */
  readonly freshness?: Freshness;
  /** maxCachedTiles bounds the verified full tiles kept in memory (default 256, 2 MiB). */
  readonly maxCachedTiles?: number;
}

/** OpenedCheckpoint is a checkpoint whose log signature, origin and (with a policy) quorum checked out. */
export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: OpenedNote;
  /** cosigners are the policy witnesses counted toward its quorum, in policy order; empty without a policy. */
  readonly cosigners: readonly PolicyCosignature[];
}

/** LogEntry is one entry read from a log, with its index. */
export interface LogEntry {
  readonly index: bigint;
  readonly data: Uint8Array;
}

/**
 * openCheckpoint verifies a signed checkpoint note for `options`: signed by the log key (a known
 * key's bad signature is `bad-signature`; no log signature is `no-trusted-signature` even if a
 * cosigner signed), with the expected origin (`policy-unmet`), with a policy its witness quorum
 * (`policy-unmet` naming what is missing; see core/tlog/quorum.ts), and for size 0 the empty
 * root (`bad-proof`). It returns the parsed checkpoint, the opened note and the witnesses that
 * counted. Options that mix the two ways of trusting a log are `invalid-argument`.
 */
export function openCheckpoint(bytes: Uint8Array, options: LogClientOptions): OpenedCheckpoint {
  const opened =
    options.policy === undefined ? openWithLogKey(bytes, options) : openWithPolicy(bytes, options);
  const { checkpoint } = opened;
  if (checkpoint.size === 0n && !equalBytes(checkpoint.root, emptyRoot())) {
    throw new VouchError('bad-proof', 'the checkpoint of the empty log does not have the empty root', {
      field: 'root',
    });
  }
  return opened;
}

function openWithPolicy(bytes: Uint8Array, options: LogClientOptions): OpenedCheckpoint {
  if (options.logKey !== undefined || options.cosigners !== undefined) {
    throw new VouchError('invalid-argument', 'give either a log key (and cosigners) or a policy, not both');
  }
  const policy = options.policy as Policy;
  const checked = checkCheckpointPolicy(bytes, policy, {
    ...(options.origin === undefined ? {} : { origin: options.origin }),
    ...(options.freshness === undefined ? {} : { freshness: options.freshness }),
  });
  return Object.freeze({ checkpoint: checked.checkpoint, note: checked.note, cosigners: checked.cosigners });
}

function openWithLogKey(bytes: Uint8Array, options: LogClientOptions): OpenedCheckpoint {
  const { logKey } = options;
  if (logKey === undefined) throw new VouchError('invalid-argument', 'a log key or a policy is required');
  if (options.freshness !== undefined) {
    throw new VouchError('invalid-argument', "freshness applies to a policy's witnesses; give a policy");
  }
  const keyName = `${logKey.name}+${formatKeyId(logKey.keyId)}`;
  let note: OpenedNote;
  try {
    note = openNote(bytes, verifierSet([logKey, ...(options.cosigners ?? [])]));
  } catch (error) {
    if (error instanceof UnverifiedNoteError) throw notSignedByLog(keyName);
    throw error;
  }
  if (!note.verified.some((s) => s.name === logKey.name && s.keyId === logKey.keyId)) {
    throw notSignedByLog(keyName);
  }
  const checkpoint = parseCheckpoint(note.text);
  const origin = options.origin ?? logKey.name;
  if (checkpoint.origin !== origin) {
    throw new VouchError(
      'policy-unmet',
      `the checkpoint is for origin "${describeUntrusted(checkpoint.origin)}", not "${describeUntrusted(origin)}"`,
      { field: 'origin' },
    );
  }
  return Object.freeze({ checkpoint, note, cosigners: Object.freeze([]) });
}

/** LogClient reads one log at one verified checkpoint; see the module comment. */
export class LogClient {
  /** checkpoint is the verified checkpoint every read is checked against. */
  readonly checkpoint: Checkpoint;
  /** note is the opened checkpoint note; `note.verified` lists the log and any cosigners. */
  readonly note: OpenedNote;
  /** cosigners are the policy witnesses that counted toward its quorum; empty without a policy. */
  readonly cosigners: readonly PolicyCosignature[];
  readonly #signedCheckpoint: Uint8Array;
  readonly #fetcher: TileFetcher;
  readonly #maxCachedTiles: number;
  readonly #tiles = new Map<string, Promise<Uint8Array>>();
  #edge: Promise<ReadonlyMap<string, Uint8Array>> | undefined;

  private constructor(fetcher: TileFetcher, signed: Uint8Array, opened: OpenedCheckpoint, maxTiles: number) {
    this.#fetcher = fetcher;
    this.#signedCheckpoint = signed.slice();
    this.checkpoint = opened.checkpoint;
    this.note = opened.note;
    this.cosigners = opened.cosigners;
    this.#maxCachedTiles = maxTiles;
  }

  /**
   * LogClient.open fetches the log's checkpoint through `fetcher` and verifies it with
   * {@link openCheckpoint}. It throws `not-found` (field `checkpoint`) when the log has none,
   * and the fetcher's errors (`unavailable`, `too-large`) as they are.
   */
  static async open(fetcher: TileFetcher, options: LogClientOptions): Promise<LogClient> {
    const maxTiles = options.maxCachedTiles ?? 256;
    if (!Number.isInteger(maxTiles) || maxTiles < 1) {
      throw new VouchError('invalid-argument', 'maxCachedTiles must be a positive integer', {
        field: 'maxCachedTiles',
      });
    }
    const bytes = await fetcher.get(checkpointPath);
    if (bytes === undefined) {
      throw new VouchError('not-found', 'the log has no checkpoint', { field: checkpointPath });
    }
    return new LogClient(fetcher, bytes, openCheckpoint(bytes, options), maxTiles);
  }

  /** size is the verified checkpoint's tree size. */
  get size(): bigint {
    return this.checkpoint.size;
  }

  /** signedCheckpoint returns a copy of the checkpoint note exactly as the log served it, all signatures kept. */
  signedCheckpoint(): Uint8Array {
    return this.#signedCheckpoint.slice();
  }

  /**
   * checkRoot recomputes the root from the log's right-edge tiles and checks it against the
   * checkpoint, or throws `bad-proof`. Every other read does this first, once.
   */
  async checkRoot(): Promise<void> {
    await this.#edgeTiles();
  }

  /**
   * readHashes returns the stored hashes at `coordinates` (each a subtree complete in the
   * checkpoint's tree, else `invalid-argument`), read from authenticated tiles, in order.
   */
  async readHashes(coordinates: readonly SubtreeCoordinate[]): Promise<Uint8Array[]> {
    const tiles = coordinates.map((coordinate) => tileForCoordinate(coordinate, this.size));
    const data = await Promise.all(tiles.map((tile) => this.#tile(tile)));
    return coordinates.map((coordinate, i) =>
      hashFromTile(tiles[i] as HashTile, data[i] as Uint8Array, coordinate),
    );
  }

  /** rootAt returns the root of the log's first `size` entries (size ≤ the checkpoint's), from authenticated tiles. */
  async rootAt(size: bigint): Promise<Uint8Array> {
    this.#checkSize(size, 'size');
    if (size === this.size) {
      await this.checkRoot();
      return this.checkpoint.root.slice();
    }
    return computeRoot(size, await this.readHashes(planRoot(size)));
  }

  /** leafHash returns the authenticated leaf hash of entry `index` (`invalid-argument` unless index < size). */
  async leafHash(index: bigint): Promise<Uint8Array> {
    this.#checkIndex(index);
    const [hash] = await this.readHashes([{ level: 0, index }]);
    invariant(hash !== undefined, 'no leaf hash read');
    return hash;
  }

  /**
   * inclusionProof returns the RFC 6962 inclusion proof of entry `index` in the checkpoint's
   * tree, after verifying it leads from the entry's leaf hash to the checkpoint root.
   */
  async inclusionProof(index: bigint): Promise<Uint8Array[]> {
    this.#checkIndex(index);
    const [leaf, hashes] = await Promise.all([
      this.leafHash(index),
      this.readHashes(planInclusion(index, this.size)),
    ]);
    const proof = computeInclusion(index, this.size, hashes);
    verifyInclusion(leaf, index, this.size, proof, this.checkpoint.root);
    return proof;
  }

  /**
   * proveInclusion returns the C2SP tlog-proof of entry `index`: its verified inclusion proof and
   * the checkpoint note verbatim, cosignatures included, so that anyone can check it offline.
   */
  async proveInclusion(index: bigint): Promise<TlogProof> {
    const proof = await this.inclusionProof(index);
    return Object.freeze({ index, proof: Object.freeze(proof), checkpoint: this.signedCheckpoint() });
  }

  /**
   * consistencyProof returns the RFC 6962 consistency proof from `size1` to `size2` entries
   * (0 < size1 ≤ size2 ≤ the checkpoint's size, else `invalid-argument`), verified against both
   * roots as computed from authenticated tiles.
   */
  async consistencyProof(size1: bigint, size2: bigint = this.size): Promise<Uint8Array[]> {
    this.#checkSize(size2, 'size2');
    const proof = computeConsistency(size1, size2, await this.readHashes(planConsistency(size1, size2)));
    const [root1, root2] = await Promise.all([this.rootAt(size1), this.rootAt(size2)]);
    verifyConsistency(size1, size2, proof, root1, root2);
    return proof;
  }

  /**
   * checkConsistency checks that this client's checkpoint extends `previous`, a checkpoint of
   * the same origin verified earlier, and returns the consistency proof. It throws `bad-proof`
   * when the log went back (a smaller size) or forked (a proof that does not verify, or the same
   * size with another root), and `invalid-argument` for another origin.
   */
  async checkConsistency(previous: Checkpoint): Promise<Uint8Array[]> {
    if (previous.origin !== this.checkpoint.origin) {
      throw new VouchError('invalid-argument', 'the previous checkpoint is from another log', {
        field: 'origin',
      });
    }
    if (previous.size > this.size) {
      throw new VouchError(
        'bad-proof',
        `the log's checkpoint has size ${this.size}, smaller than size ${previous.size} seen before`,
        { field: 'size', size: previous.size },
      );
    }
    if (previous.size === 0n) {
      if (!equalBytes(previous.root, emptyRoot())) {
        throw new VouchError(
          'bad-proof',
          'the previous checkpoint of the empty log does not have the empty root',
        );
      }
      return [];
    }
    await this.checkRoot();
    const proof = computeConsistency(
      previous.size,
      this.size,
      await this.readHashes(planConsistency(previous.size, this.size)),
    );
    verifyConsistency(previous.size, this.size, proof, previous.root, this.checkpoint.root);
    return proof;
  }

  /**
   * entries yields entries [start, end) (0 ≤ start ≤ end ≤ size, else `invalid-argument`) in
   * order, each bundle checked against its authenticated level-0 tile before any of its entries
   * is yielded; a mismatch is `bad-digest` naming the entry. Up to `ahead` bundles are fetched in
   * advance (default 4).
   */
  async *entries(start: bigint, end: bigint, ahead = 4): AsyncGenerator<LogEntry> {
    this.#checkSize(start, 'start');
    this.#checkSize(end, 'end');
    if (start > end) throw new VouchError('invalid-argument', 'start is after end', { field: 'start' });
    if (start === end) return;
    const width = BigInt(fullTileWidth);
    function* bundleIndexes(): Generator<bigint> {
      for (let n = start / width; n <= (end - 1n) / width; n++) yield n;
    }
    const load = async (n: bigint): Promise<readonly Uint8Array[]> => this.#checkedBundle(n);
    for await (const [n, entries] of inOrderAhead(bundleIndexes(), load, ahead)) {
      for (let i = 0; i < entries.length; i++) {
        const index = n * width + BigInt(i);
        if (index >= start && index < end) yield Object.freeze({ index, data: entries[i] as Uint8Array });
      }
    }
  }

  /** readEntry returns entry `index`, checked against its leaf hash. */
  async readEntry(index: bigint): Promise<Uint8Array> {
    this.#checkIndex(index);
    for await (const entry of this.entries(index, index + 1n, 1)) return entry.data;
    invariant(false, 'entry not yielded');
  }

  /**
   * verifyLog audits the whole log at this checkpoint: every hash tile and every entry bundle is
   * fetched once, in order, and checked (verify-log.ts); it resolves to the counts, or throws
   * the first failure naming the tile or entry.
   */
  async verifyLog(options: VerifyLogOptions = {}): Promise<LogVerification> {
    return verifyLogTiles(this.#fetcher, this.checkpoint, options);
  }

  // checkedBundle reads entry bundle n as of the checkpoint's size and checks it against its
  // level-0 tile; a full bundle read at its own path is then offered to the cache.
  async #checkedBundle(n: bigint): Promise<readonly Uint8Array[]> {
    const tile = tileForCoordinate({ level: 0, index: n * BigInt(fullTileWidth) }, this.size);
    const bundleTile = entryBundleTile(tile.index, tile.width);
    const [data, bundle] = await Promise.all([this.#tile(tile), readEntryBundle(this.#fetcher, bundleTile)]);
    checkBundleAgainstTile(bundle.entries, tile, data);
    if (bundle.bytes !== undefined) await this.#fetcher.save?.(formatTilePath(bundleTile), bundle.bytes);
    return bundle.entries;
  }

  // tile returns the authenticated bytes of `tile`: edge tiles from the root check, full tiles
  // from a check against their (recursively authenticated) parent. Promises are shared, so
  // concurrent reads fetch a tile once; a failed one is forgotten so that it can be retried.
  async #tile(tile: HashTile): Promise<Uint8Array> {
    const path = formatTilePath(tile);
    if (tile.width < fullTileWidth) {
      const data = (await this.#edgeTiles()).get(path);
      invariant(data !== undefined, `${path} is not an edge tile`);
      return data;
    }
    const known = this.#tiles.get(path);
    if (known !== undefined) {
      this.#tiles.delete(path);
      this.#tiles.set(path, known);
      return known;
    }
    const promise = this.#authenticate(tile, path);
    this.#tiles.set(path, promise);
    promise.catch(() => {
      if (this.#tiles.get(path) === promise) this.#tiles.delete(path);
    });
    for (const oldest of this.#tiles.keys()) {
      if (this.#tiles.size <= this.#maxCachedTiles) break;
      this.#tiles.delete(oldest);
    }
    return promise;
  }

  async #authenticate(tile: HashTile, path: string): Promise<Uint8Array> {
    const parent = parentTile(tile, this.size);
    const [parentData, fetched] = await Promise.all([this.#tile(parent), readHashTile(this.#fetcher, tile)]);
    checkTileAgainstParent(tile, fetched.data, parent, parentData);
    await this.#fetcher.save?.(path, fetched.data);
    return fetched.data;
  }

  #edgeTiles(): Promise<ReadonlyMap<string, Uint8Array>> {
    if (this.#edge === undefined) {
      const edge = (async () => {
        const tiles = planTileEdge(this.size);
        const fetched = await Promise.all(tiles.map((tile) => readHashTile(this.#fetcher, tile)));
        const data = fetched.map((f) => f.data);
        checkTileEdge(this.size, this.checkpoint.root, tiles, data);
        return new Map(tiles.map((tile, i) => [formatTilePath(tile), data[i] as Uint8Array]));
      })();
      edge.catch(() => {
        if (this.#edge === edge) this.#edge = undefined;
      });
      this.#edge = edge;
    }
    return this.#edge;
  }

  #checkIndex(index: bigint): void {
    if (typeof index !== 'bigint' || index < 0n || index >= this.size) {
      throw new VouchError('invalid-argument', `entry ${index} is not in the log (size ${this.size})`, {
        field: 'index',
        size: this.size,
      });
    }
  }

  #checkSize(size: bigint, field: string): void {
    if (typeof size !== 'bigint' || size < 0n || size > this.size) {
      throw new VouchError('invalid-argument', `${field} ${size} is beyond the log's size ${this.size}`, {
        field,
        size: this.size,
      });
    }
  }
}

function notSignedByLog(keyName: string): VouchError {
  return new VouchError('no-trusted-signature', `the checkpoint is not signed by the log key ${keyName}`, {
    key: keyName,
  });
}
