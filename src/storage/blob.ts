/**
 * The blob store: named, immutable byte strings — tiles, entry bundles, repository files,
 * artifacts. It is the one interface the log and the repository write published files through,
 * so that a folder on disk, an object store or a test double can stand behind it.
 *
 * Contract (every driver passes `storage/conformance`): a put is durable when it returns; a put
 * of bytes identical to what is stored succeeds, so retries are safe; a put of different bytes
 * to an existing key is a conflict, never a silent overwrite. This does not offer listing or
 * mutable values: mutable heads go through a {@link CasCell} (./cas.ts).
 */

import { malformed } from '../core/errors.ts';

/** BlobStore stores immutable values under slash-separated keys. */
export interface BlobStore {
  /** get returns the stored bytes, or undefined when the key has never been written. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * put stores `bytes` under `key`, durably once it returns. Identical bytes already stored
   * succeed; different bytes throw a ConflictError carrying the stored value.
   */
  put(key: string, bytes: Uint8Array): Promise<void>;
}

/** maxBlobKeyLength bounds keys so that a driver can always map them to a file name. */
export const maxBlobKeyLength = 1024;

/**
 * assertBlobKey throws `malformed` unless `key` is a relative slash-separated path of segments
 * made of `[A-Za-z0-9._-]`, none of them `.` or `..`, with no empty segment. Drivers call it
 * before touching their medium, so no key can escape a driver's root.
 */
export function assertBlobKey(key: string): void {
  if (key.length === 0 || key.length > maxBlobKeyLength) throw malformed('blob key is empty or too long');
  for (const segment of key.split('/')) {
    if (!/^[A-Za-z0-9._-]+$/.test(segment) || segment === '.' || segment === '..') {
      throw malformed('blob key has an invalid path segment');
    }
  }
}
