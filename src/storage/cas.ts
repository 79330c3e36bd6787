/**
 * The compare-and-swap cell: one small mutable value — a log's checkpoint, a witness's view of
 * a log, a repository's version — replaced only by a writer that knows the current value.
 *
 * Contract (every driver passes `storage/conformance`): `replace(old, next)` succeeds only when
 * the cell holds exactly `old` (or is empty when `old` is undefined) and is durable when it
 * returns; otherwise it throws a ConflictError carrying the current value, and changes nothing.
 * Correctness under several writers (scale-out) comes from this check alone, never from a
 * process believing it is the only one. Model: sunlight `LockBackend.Replace`.
 */

/** CasCell is one named compare-and-swap value. */
export interface CasCell {
  /** read returns the current value, or undefined when the cell has never been written. */
  read(): Promise<Uint8Array | undefined>;
  /** replace swaps `old` for `next` atomically and durably, or throws a ConflictError with the current value. */
  replace(old: Uint8Array | undefined, next: Uint8Array): Promise<void>;
}

/** CasStore hands out named cells; names are driver-independent identifiers such as `log/checkpoint`. */
export interface CasStore {
  cell(name: string): CasCell;
}
