/**
 * The error model shared by every layer of Vouch.
 *
 * One base class, {@link VouchError}, carries a machine-readable `code`, a message a user can act
 * on, optional structured `details` (a field path, a known size, a key name) and an optional
 * `cause`. Codes are a string-literal union so that faces can map them to exit codes and HTTP
 * statuses in one table, and metrics can label by code without ever formatting a message.
 * Subclasses exist only where callers branch on them and need extra data ({@link ConflictError}).
 *
 * Messages never echo untrusted input back verbatim beyond a short, sanitised excerpt, and never
 * contain secrets. This module does not do I/O and has no dependencies.
 */

/** ErrorCode names every way an operation in Vouch can fail, grouped by who must act. */
export type ErrorCode =
  // The input is wrong: the caller must change what it sends.
  | 'malformed' // does not parse, or is not in the one canonical form
  | 'too-large' // exceeds a size or count bound
  | 'invalid-argument' // a well-formed but unacceptable value (range, unknown option)
  // Verification failed: the data is not what a trusted party signed.
  | 'bad-signature' // a known key's signature does not verify
  | 'no-trusted-signature' // no signature from a trusted key was found
  | 'bad-proof' // a Merkle inclusion or consistency proof does not verify
  | 'bad-digest' // content does not match its committed digest
  | 'policy-unmet' // a threshold, quorum or policy was not satisfied
  // Keys and secrets.
  | 'bad-key' // a key file or key string is truncated, foreign or of the wrong type
  | 'wrong-passphrase' // an encrypted key file could not be opened with the passphrase given
  // State and concurrency.
  | 'conflict' // a compare-and-swap lost; details carry the current state
  | 'not-found'
  | 'pushback' // overloaded; retry later
  | 'unavailable' // a dependency (disk, database, peer) failed; retrying may help
  // A broken internal invariant: a bug in Vouch, never the caller's fault.
  | 'invariant';

/** ErrorDetails is structured context attached to an error; every value is safe to log. */
export interface ErrorDetails {
  /** field is the path of the offending field, for example `signatures[2].keyid` or `line 3`. */
  readonly field?: string;
  /** fields lists every offending field path when a validation found several. */
  readonly fields?: readonly string[];
  /** limit is the bound that was exceeded, in the unit of the check (bytes, lines, entries). */
  readonly limit?: number;
  /** key names the key (name, key id or file) involved. */
  readonly key?: string;
  /** size is a known size, such as a log's current tree size in a conflict. */
  readonly size?: bigint;
  readonly [other: string]: unknown;
}

/** VouchError is the base class of every error Vouch throws on purpose. */
export class VouchError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VouchError';
    this.code = code;
    this.details = Object.freeze({ ...details });
  }
}

/** ConflictError reports a lost compare-and-swap and carries the value that won, when known. */
export class ConflictError extends VouchError {
  /** current is the value the cell holds now, or undefined if the cell is empty. */
  readonly current: Uint8Array | undefined;

  constructor(message: string, current: Uint8Array | undefined, details: ErrorDetails = {}) {
    super('conflict', message, details);
    this.name = 'ConflictError';
    this.current = current;
  }
}

/** isVouchError narrows an unknown thrown value to a VouchError, optionally of one code. */
export function isVouchError(value: unknown, code?: ErrorCode): value is VouchError {
  return value instanceof VouchError && (code === undefined || value.code === code);
}

/** malformed builds the error for input that does not parse; `field` says where. */
export function malformed(what: string, field?: string): VouchError {
  return new VouchError('malformed', what, field === undefined ? {} : { field });
}

/** tooLarge builds the error for input over a bound. */
export function tooLarge(what: string, limit: number, field?: string): VouchError {
  return new VouchError('too-large', `${what} exceeds the limit of ${limit}`, {
    limit,
    ...(field === undefined ? {} : { field }),
  });
}

/**
 * invariant throws when an internal assumption is broken. It is a bug in Vouch, not bad input,
 * and has its own code so that it is never mistaken for a verification failure.
 */
export function invariant(condition: unknown, what: string): asserts condition {
  if (!condition) throw new VouchError('invariant', `internal error: ${what}`);
}

/**
 * describeUntrusted returns a short, printable excerpt of untrusted text for an error message:
 * control characters replaced, at most 40 characters. Use it instead of echoing input.
 */
export function describeUntrusted(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 37)}...` : clean;
}
