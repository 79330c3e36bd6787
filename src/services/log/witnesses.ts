/**
 * Collecting witness cosignatures before a checkpoint is published (C2SP tlog-witness,
 * https://c2sp.org/tlog-witness): the log sends `add-checkpoint` to every configured witness in
 * parallel, with a consistency proof from the size that witness last cosigned, learns a
 * witness's size from a 409 and resends, retries with timeouts, verifies every returned
 * cosignature, and hands back the note with the cosignatures only when the quorum is met.
 * Otherwise it throws `policy-unmet` naming the witnesses that did not cosign, the round fails,
 * and the entries wait for the next round: a witness that is down delays publication, never
 * sequencing. Model: tessera's witness client (one proof per distinct old size; a 409 size
 * larger than the log is a permanent error for that witness).
 *
 * A witness's size is remembered in memory only; after a restart the log learns it again from
 * the first 409.
 */

import { collectBytes, toText } from '../../core/bytes/index.ts';
import { describeUntrusted, isVouchError, VouchError } from '../../core/errors.ts';
import { computeConsistency, planConsistency } from '../../core/merkle/index.ts';
import {
  appendSignatures,
  formatNote,
  type NoteSignature,
  type NoteVerifier,
  parseNote,
} from '../../core/note/index.ts';
import { type Checkpoint, parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { verifyCosignature } from '../../core/tlog/cosignature.ts';
import { formatTilePath } from '../../core/tlog/tile-path.ts';
import { hashesFromTiles, tilesForCoordinates } from '../../core/tlog/tiles.ts';
import {
  formatAddCheckpointRequest,
  maxCosignatureResponseBytes,
  parseCosignatureLines,
  parseTreeSizeBody,
  treeSizeContentType,
} from '../../core/tlog/witness-request.ts';
import type { BlobStore } from '../../storage/blob.ts';

/** Witness is one witness the log submits to. */
export interface Witness {
  /** name identifies the witness to the quorum rule (its name in the policy) and in reports. */
  readonly name: string;
  /** verifier checks its cosignatures (type 0x04 or 0x06). */
  readonly verifier: NoteVerifier;
  /** url is its submission prefix; `add-checkpoint` is appended. */
  readonly url: string;
}

/** WitnessOutcome reports one witness's answer for one checkpoint. */
export interface WitnessOutcome {
  readonly name: string;
  readonly cosigned: boolean;
  /** reason says why a witness did not cosign, for the log's status line. */
  readonly reason?: string;
}

/** Answer is one witness's result for one checkpoint: its outcome and, if it cosigned, the cosignature. */
interface Answer {
  readonly outcome: WitnessOutcome;
  readonly signature?: NoteSignature;
}

/** CollectorOptions configures a {@link WitnessCollector}. */
export interface CollectorOptions {
  readonly witnesses: readonly Witness[];
  /** isQuorum decides whether the witnesses named (those that cosigned) satisfy the policy. */
  readonly isQuorum: (cosigned: ReadonlySet<string>) => boolean;
  /** files are the log's tiles, from which consistency proofs are built. */
  readonly files: Pick<BlobStore, 'get'>;
  /** timeoutMs bounds each request (default 5 s). */
  readonly timeoutMs?: number;
  /** attempts bounds the requests to one witness per checkpoint (default 3). */
  readonly attempts?: number;
  readonly fetch?: typeof fetch;
  readonly log?: (line: string) => void;
}

/** WitnessCollector gets a checkpoint cosigned by a quorum of witnesses; see the module comment. */
export class WitnessCollector {
  readonly #options: CollectorOptions;
  /** The size each witness last cosigned, as far as this process knows. */
  readonly #sizes = new Map<string, bigint>();
  #last: readonly WitnessOutcome[] = [];

  constructor(options: CollectorOptions) {
    this.#options = options;
  }

  /** lastOutcomes reports each witness's answer for the latest checkpoint submitted. */
  get lastOutcomes(): readonly WitnessOutcome[] {
    return this.#last;
  }

  /**
   * cosign submits `signedCheckpoint` (the log's own signature on it) to every witness and
   * returns it with the verified cosignatures appended, or throws `policy-unmet`.
   */
  async cosign(signedCheckpoint: Uint8Array): Promise<Uint8Array> {
    const note = parseNote(signedCheckpoint);
    const checkpoint = parseCheckpoint(note.text);
    const proofs = new Map<bigint, Promise<Uint8Array[]>>();
    const proofFrom = (old: bigint): Promise<Uint8Array[]> => {
      let proof = proofs.get(old);
      if (proof === undefined) {
        proof = this.#consistencyProof(old, checkpoint.size);
        proofs.set(old, proof);
      }
      return proof;
    };
    // Publish as soon as the quorum is met: a slow witness must not hold back a checkpoint its
    // peers already cosigned. Its answer still arrives later and updates the size it is known at.
    const pending = this.#options.witnesses.map((w) =>
      this.#submit(w, signedCheckpoint, note.text, checkpoint, proofFrom),
    );
    const results = await new Promise<Answer[]>((resolve) => {
      const answered: (Answer | undefined)[] = pending.map(() => undefined);
      let remaining = pending.length;
      if (remaining === 0) resolve([]);
      pending.forEach((promise, i) => {
        void promise.then((answer) => {
          answered[i] = answer;
          remaining--;
          const done = answered.filter((x): x is Answer => x !== undefined);
          const cosigned = new Set(done.filter((x) => x.signature !== undefined).map((x) => x.outcome.name));
          if (remaining === 0 || this.#options.isQuorum(cosigned)) resolve(done);
        });
      });
    });
    const names = new Set(results.map((r) => r.outcome.name));
    this.#last = [
      ...results.map((r) => r.outcome),
      ...this.#options.witnesses
        .filter((w) => !names.has(w.name))
        .map((w) => ({
          name: w.name,
          cosigned: false,
          reason: 'not needed for the quorum; still answering',
        })),
    ];
    const signatures = results.flatMap((r) => (r.signature === undefined ? [] : [r.signature]));
    const cosigned = new Set(results.filter((r) => r.signature !== undefined).map((r) => r.outcome.name));
    if (!this.#options.isQuorum(cosigned)) {
      const missing = results
        .filter((r) => r.signature === undefined)
        .map((r) => `${r.outcome.name} (${r.outcome.reason})`);
      throw new VouchError(
        'policy-unmet',
        `witness quorum not met for size ${checkpoint.size}: missing ${missing.join(', ') || 'none'}`,
        { size: checkpoint.size },
      );
    }
    return formatNote(appendSignatures(note, signatures));
  }

  async #submit(
    witness: Witness,
    signedCheckpoint: Uint8Array,
    text: string,
    checkpoint: Checkpoint,
    proofFrom: (old: bigint) => Promise<Uint8Array[]>,
  ): Promise<Answer> {
    const attempts = this.#options.attempts ?? 3;
    const doFetch = this.#options.fetch ?? fetch;
    let reason = 'no answer';
    for (let attempt = 0; attempt < attempts; attempt++) {
      const old = this.#sizes.get(witness.name) ?? 0n;
      if (old > checkpoint.size) {
        reason = `it has cosigned size ${old}, larger than this log`;
        break;
      }
      try {
        const proof = old === 0n ? [] : await proofFrom(old);
        const body = formatAddCheckpointRequest({ old, proof, checkpoint: signedCheckpoint });
        const response = await doFetch(new URL('add-checkpoint', withSlash(witness.url)), {
          method: 'POST',
          body,
          signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5000),
        });
        const answer =
          response.body === null
            ? new Uint8Array(0)
            : await collectBytes(response.body, maxCosignatureResponseBytes, 'witness answer');
        if (response.status === 200) {
          const signature = this.#findCosignature(witness, text, answer);
          this.#sizes.set(witness.name, checkpoint.size);
          return { outcome: { name: witness.name, cosigned: true }, signature };
        }
        if (
          response.status === 409 &&
          response.headers.get('content-type')?.startsWith(treeSizeContentType)
        ) {
          const size = parseTreeSizeBody(answer);
          this.#sizes.set(witness.name, size);
          reason = `it had cosigned size ${size}`;
          continue;
        }
        reason = `it answered ${response.status}: ${describeUntrusted(toText(answer).split('\n')[0] ?? '')}`;
        if (response.status < 500) break; // 403, 404, 422: retrying the same request cannot help
      } catch (error) {
        reason = isVouchError(error) ? error.message : error instanceof Error ? error.name : 'request failed';
      }
    }
    this.#options.log?.(`witness ${witness.name} did not cosign size ${checkpoint.size}: ${reason}`);
    return { outcome: { name: witness.name, cosigned: false, reason } };
  }

  #findCosignature(witness: Witness, text: string, answer: Uint8Array): NoteSignature {
    for (const signature of parseCosignatureLines(answer)) {
      if (signature.name === witness.verifier.name && signature.keyId === witness.verifier.keyId) {
        return verifyCosignature(witness.verifier, text, signature);
      }
    }
    throw new VouchError('bad-signature', `witness ${witness.name} returned no cosignature by its key`);
  }

  async #consistencyProof(oldSize: bigint, newSize: bigint): Promise<Uint8Array[]> {
    const coordinates = planConsistency(oldSize, newSize);
    const tiles = tilesForCoordinates(coordinates, newSize);
    const fetched = await Promise.all(
      tiles.map(async (tile) => {
        const data = await this.#options.files.get(formatTilePath(tile));
        if (data === undefined)
          throw new VouchError('invariant', `internal error: tile ${formatTilePath(tile)} is missing`);
        return { tile, data };
      }),
    );
    return computeConsistency(oldSize, newSize, hashesFromTiles(coordinates, newSize, fetched));
  }
}

/** thresholdQuorum is the k-of-n rule over the witnesses named. */
export function thresholdQuorum(k: number): (cosigned: ReadonlySet<string>) => boolean {
  return (cosigned) => cosigned.size >= k;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
