/**
 * What may name a key: pure rules shared by the Node build (keyfile.ts) and the browser build
 * (portable/index.ts) of core/crypto, so a note or a policy parses the same in both.
 */

import { VouchError } from '../errors.ts';

/** maxKeyNameLength bounds a key name in UTF-16 code units. */
export const maxKeyNameLength = 1024;

/**
 * isValidKeyName reports whether `name` may name a key, here and as a signed-note key name:
 * non-empty, well-formed Unicode, no Unicode white space, no `+`, and (stricter than golang/mod,
 * since a note may not contain them anyway) no control characters, C0, DEL or C1.
 */
export function isValidKeyName(name: string): boolean {
  if (name.length === 0 || name.length > maxKeyNameLength || !name.isWellFormed()) return false;
  return !/[\p{White_Space}\p{Cc}+]/u.test(name);
}

/**
 * assertKeyName throws `invalid-argument` unless `name` can name a key: 1 to 1024 characters,
 * well-formed Unicode, no white space, no `+` and no control characters (the signed-note rule).
 */
export function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) {
    throw new VouchError(
      'invalid-argument',
      `a key name must be 1 to ${maxKeyNameLength} characters with no white space, "+" or control characters`,
    );
  }
}
