/**
 * The witness (https://c2sp.org/tlog-witness, `add-checkpoint`): it cosigns a log's checkpoint
 * (https://c2sp.org/tlog-cosignature) only after checking it is consistent with the latest
 * checkpoint it cosigned for that origin, so that a log cannot show two different trees to two
 * parties and have both witnessed. {@link Witness.processAddCheckpoint} takes a request body and
 * returns the cosignatures, or throws the error whose code the HTTP face maps to the spec's
 * status: `not-found` 404 (unknown origin), `bad-signature`/`no-trusted-signature` 403,
 * `invalid-argument` 400 (old size above the checkpoint's), `conflict` with `details.size` 409
 * `text/x.tlog.size` (old size is not the witness's), `bad-proof` 422, and `conflict` without a
 * size 409 (same size, different root — the spec's answer; the request is kept as evidence).
 *
 * The per-log state is the latest cosigned checkpoint note — the checkpoint text, the log
 * signatures that verified, and this witness's cosignatures — in one compare-and-swap cell per
 * origin. A request reads the cell, checks against what it read, signs, and swaps the new note in
 * (COMMIT POINT); only then does it answer. A lost swap means another request moved the state
 * first: the request starts over from the new state and never answers from the one it read, so
 * two concurrent requests can never both be cosigned unless one extends the other (the rollback
 * race the spec describes). A crash before the swap leaves the old state and no cosignature
 * released; a crash or error after it leaves the new state, which the client learns from the next
 * 409. The stored size therefore never decreases. With PostgreSQL, several witness processes may
 * share the cells: correctness comes from the swap alone.
 *
 * It does not decide which logs exist (the caller's {@link WitnessLogs}), does not rate-limit,
 * and does not implement the optional `sign-subtree` call. LIMIT: cosignature timestamps come
 * from the clock as is; a clock stepped backwards yields an older timestamp on a newer tree.
 */

import { equalBytes, formatHex, toBytes } from '../../core/bytes/index.ts';
import { type Signer, sha256 } from '../../core/crypto/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { emptyRoot, verifyConsistency } from '../../core/merkle/index.ts';
import {
  formatNote,
  formatVerifierKey,
  type Note,
  type NoteSignature,
  openNote,
  parseNote,
  type Verifiers,
} from '../../core/note/index.ts';
import { type Checkpoint, parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import {
  type Cosignature,
  createCosigner,
  maxCosignatureTimestamp,
  signCosignature,
} from '../../core/tlog/cosignature.ts';
import { parseAddCheckpointRequest } from '../../core/tlog/witness-request.ts';
import type { CasStore } from '../../storage/cas.ts';

/**
 * WitnessLogs returns the trusted keys of the log with `origin`, or undefined when this witness
 * does not witness it. It may be asynchronous (a configuration reload).
 */
export type WitnessLogs = (origin: string) => Verifiers | undefined | Promise<Verifiers | undefined>;

/** WitnessEvidence is a request that proves a log misbehaved: two signed checkpoints of one size with different roots. */
export interface WitnessEvidence {
  readonly kind: 'root-mismatch';
  readonly origin: string;
  readonly size: bigint;
  /** cosigned is the checkpoint note this witness had cosigned (its stored state). */
  readonly cosigned: Uint8Array;
  /** submitted is the conflicting checkpoint note the log signed, as submitted. */
  readonly submitted: Uint8Array;
}

/** WitnessOptions configures a {@link Witness}. */
export interface WitnessOptions {
  /** name is the witness's key name, as in its cosignature lines; it also names its state cells. */
  readonly name: string;
  /** keys are the witness's signing keys (Ed25519 → cosignature/v1 0x04, ML-DSA-44 → 0x06); one line each. */
  readonly keys: readonly Signer[];
  readonly logs: WitnessLogs;
  /** store holds one cell per log origin; cells are named `witness/<name>/<hex sha256(origin)>`. */
  readonly store: CasStore;
  /** now returns the current POSIX time in seconds, the cosignature timestamp; it must not be 0. */
  readonly now: () => bigint;
  /** evidence, if set, durably records proof of a log's misbehaviour; a failure is logged, not answered. */
  readonly evidence?: (record: WitnessEvidence) => Promise<void>;
  /** log receives one line per notable event (evidence, refused proofs). */
  readonly log?: (line: string) => void;
  /** maxSwapAttempts bounds the re-reads after lost swaps before answering `pushback` (default 16). */
  readonly maxSwapAttempts?: number;
}

/** WitnessState is what a witness holds for one log: the latest checkpoint it cosigned. */
export interface WitnessState {
  readonly checkpoint: Checkpoint;
  /** note is the stored cosigned checkpoint note: verified log signatures, then this witness's cosignatures. */
  readonly note: Uint8Array;
}

/** Witness checks and cosigns checkpoints; see the module comment. */
export class Witness {
  readonly name: string;
  /** vkeys are the witness's verifier keys (type 0x04 or 0x06), one per key, for clients and policies. */
  readonly vkeys: readonly string[];
  readonly #options: WitnessOptions;

  /** The constructor throws `invalid-argument` for no keys or a bad name, and `bad-key` for an ECDSA key. */
  constructor(options: WitnessOptions) {
    if (options.keys.length === 0) throw new VouchError('invalid-argument', 'a witness needs a key');
    this.name = options.name;
    this.vkeys = Object.freeze(
      options.keys.map((key) =>
        formatVerifierKey(createCosigner(key, { name: options.name, timestamp: 1n })),
      ),
    );
    this.#options = options;
  }

  /**
   * processAddCheckpoint handles one `add-checkpoint` request body and returns this witness's
   * cosignatures of the checkpoint, which it has durably recorded as its latest for the log
   * before returning. The errors are listed in the module comment; parse errors are `malformed`
   * or `too-large`, and a storage failure `unavailable` (the state may or may not have moved).
   */
  async processAddCheckpoint(body: Uint8Array): Promise<readonly Cosignature[]> {
    const request = parseAddCheckpointRequest(body);
    const submitted = parseNote(request.checkpoint);
    const checkpoint = parseCheckpoint(submitted.text);
    const verifiers = await this.#options.logs(checkpoint.origin);
    if (verifiers === undefined) throw new VouchError('not-found', 'this witness does not witness that log');
    // tlog-witness: unknown keys are ignored; a trusted key's bad signature or no trusted signature is 403.
    const opened = openNote(request.checkpoint, verifiers);
    if (request.old > checkpoint.size) {
      throw new VouchError(
        'invalid-argument',
        `old size ${request.old} is larger than the checkpoint size ${checkpoint.size}`,
      );
    }
    const logSignatures: NoteSignature[] = opened.verified.map((s) => ({
      name: s.name,
      keyId: s.keyId,
      signature: s.signature,
    }));

    const cell = this.#options.store.cell(cellName(this.name, checkpoint.origin));
    const attempts = this.#options.maxSwapAttempts ?? 16;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const stored = await cell.read();
      const state = stored === undefined ? undefined : decodeState(stored, checkpoint.origin);
      await this.#check(request.old, request.proof, checkpoint, state, request.checkpoint);

      const timestamp = this.#options.now();
      // A bad clock is this witness's fault, never the client's: not a 400.
      if (typeof timestamp !== 'bigint' || timestamp <= 0n || timestamp > maxCosignatureTimestamp) {
        throw new VouchError('invariant', 'internal error: the clock gave no valid cosignature timestamp');
      }
      const cosignatures: Cosignature[] = [];
      for (const key of this.#options.keys) {
        cosignatures.push(await signCosignature(key, submitted.text, timestamp, this.name));
      }
      const next = formatNote({ text: submitted.text, signatures: [...logSignatures, ...cosignatures] });
      try {
        await cell.replace(stored, next); // COMMIT POINT: the new state is durable; only now may it be released.
        return Object.freeze(cosignatures);
      } catch (error) {
        if (!isVouchError(error, 'conflict')) throw error;
        // Another request moved the state since the read: check again against the new state.
      }
    }
    throw new VouchError('pushback', 'too many concurrent requests for this log; retry', {
      retryAfterSeconds: 1,
    });
  }

  /** state returns the latest checkpoint this witness cosigned for `origin`, or undefined if none. */
  async state(origin: string): Promise<WitnessState | undefined> {
    const stored = await this.#options.store.cell(cellName(this.name, origin)).read();
    return stored === undefined ? undefined : decodeState(stored, origin);
  }

  /**
   * latestCheckpoint returns the stored cosigned checkpoint note of the log whose origin hashes to
   * `originHash` (64 lowercase hex digits of SHA-256(origin), the monitoring path's segment), or
   * undefined when there is none or the segment is not such a hash. It never touches storage for
   * a malformed segment.
   */
  async latestCheckpoint(originHash: string): Promise<Uint8Array | undefined> {
    if (!/^[0-9a-f]{64}$/.test(originHash)) return undefined;
    return this.#options.store.cell(cellNameOfHash(this.name, originHash)).read();
  }

  // #check applies the spec's checks, in its order, to a request against the state read.
  async #check(
    old: bigint,
    proof: readonly Uint8Array[],
    checkpoint: Checkpoint,
    state: WitnessState | undefined,
    submitted: Uint8Array,
  ): Promise<void> {
    const size = state?.checkpoint.size ?? 0n;
    if (old !== size) {
      throw new VouchError('conflict', `the witness's latest cosigned size for this log is ${size}`, {
        size,
      });
    }
    const origin = checkpoint.origin;
    if (checkpoint.size === 0n && !equalBytes(checkpoint.root, emptyRoot())) {
      throw new VouchError('bad-proof', 'a checkpoint of size 0 must have the root of the empty tree');
    }
    if (old === 0n) {
      // "The proof MUST be empty if the old size is zero": any tree extends the empty one.
      if (proof.length !== 0) throw new VouchError('bad-proof', 'the proof from old size 0 must be empty');
    }
    if (state !== undefined && old === checkpoint.size) {
      if (!equalBytes(state.checkpoint.root, checkpoint.root)) {
        await this.#recordEvidence({
          kind: 'root-mismatch',
          origin,
          size: checkpoint.size,
          cosigned: state.note,
          submitted,
        });
        throw new VouchError('conflict', `the log signed two different trees of size ${checkpoint.size}`);
      }
      if (proof.length !== 0) {
        throw new VouchError('bad-proof', 'the proof between two trees of the same size must be empty');
      }
      return;
    }
    if (state !== undefined && old > 0n) {
      try {
        verifyConsistency(old, checkpoint.size, proof, state.checkpoint.root, checkpoint.root);
      } catch (error) {
        if (isVouchError(error, 'bad-proof')) {
          this.#options.log?.(
            `log ${JSON.stringify(origin)}: refused size ${checkpoint.size}: ${error.message} (from size ${old})`,
          );
        }
        throw error;
      }
    }
  }

  async #recordEvidence(record: WitnessEvidence): Promise<void> {
    this.#options.log?.(
      `log ${JSON.stringify(record.origin)} signed two different trees of size ${record.size}: refused, keeping evidence`,
    );
    if (this.#options.evidence === undefined) return;
    try {
      await this.#options.evidence(record);
    } catch (error) {
      this.#options.log?.(
        `could not record evidence for log ${JSON.stringify(record.origin)}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

/** originHashOf returns the lowercase hex SHA-256 of an origin, the monitoring path segment. */
export function originHashOf(origin: string): string {
  return formatHex(sha256(toBytes(origin)));
}

function cellName(witnessName: string, origin: string): string {
  return cellNameOfHash(witnessName, originHashOf(origin));
}

function cellNameOfHash(witnessName: string, originHash: string): string {
  return `witness/${witnessName}/${originHash}`;
}

// decodeState parses a stored cell; what the witness wrote itself can only fail to parse if the
// store is corrupt, which is never the client's fault and must stop the request (fail closed).
function decodeState(stored: Uint8Array, origin: string): WitnessState {
  let note: Note;
  let checkpoint: Checkpoint;
  try {
    note = parseNote(stored);
    checkpoint = parseCheckpoint(note.text);
  } catch (error) {
    throw new VouchError(
      'invariant',
      'internal error: the stored witness state does not parse',
      {},
      { cause: error },
    );
  }
  if (checkpoint.origin !== origin) {
    throw new VouchError('invariant', 'internal error: the stored witness state is for another origin');
  }
  return Object.freeze({ checkpoint, note: stored });
}
