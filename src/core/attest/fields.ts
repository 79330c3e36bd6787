/**
 * A collector for schema validation problems, so that the attestation formats name every bad
 * field path in one error (`details.fields`) instead of stopping at the first, as sigstore-js's
 * bundle ValidationError does. Internal to core/attest; it does no parsing itself.
 */

import { VouchError } from '../errors.ts';
import { type FieldPath, formatFieldPath } from '../json/index.ts';

/** FieldProblems gathers (field path, reason) pairs and turns them into one `malformed` error. */
export class FieldProblems {
  readonly #problems: { readonly field: string; readonly reason: string }[] = [];

  /** add records that the value at `path` is wrong because of `reason` (a fixed phrase, not input). */
  add(path: FieldPath, reason: string): void {
    this.#problems.push({ field: formatFieldPath(path), reason });
  }

  /** count is the number of problems recorded so far. */
  get count(): number {
    return this.#problems.length;
  }

  /**
   * throwIfAny throws a `malformed` VouchError about `what` when a problem was recorded; its
   * message names the first problem, `details.field` its path and `details.fields` every path.
   */
  throwIfAny(what: string): void {
    const first = this.#problems[0];
    if (first === undefined) return;
    const more = this.#problems.length - 1;
    const suffix = more === 0 ? '' : ` (and ${more} more problem${more === 1 ? '' : 's'})`;
    throw new VouchError('malformed', `${what} is invalid at ${first.field}: ${first.reason}${suffix}`, {
      field: first.field,
      fields: this.#problems.map((p) => p.field),
    });
  }
}
