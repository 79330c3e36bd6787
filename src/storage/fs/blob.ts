/**
 * The blob store on a local folder, the embedded default: one file per key, at the key's path
 * under the root, so the folder itself is what a static web server, mirror or CDN serves.
 * Immutable puts go through the durable-write helper with exclusive creation: a first write
 * wins atomically, and a later put compares the bytes already there (identical is a success, so
 * retries and a restarted sequencer are safe; different is a conflict).
 *
 * `publish` is the one mutable operation, for heads such as a log's `checkpoint` file whose truth
 * lives in a compare-and-swap cell: it replaces the file atomically (readers see the old or the
 * new bytes, never a mix) and durably, and must only be called by the holder of that cell.
 */

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { equalBytes } from '../../core/bytes/index.ts';
import { ConflictError, VouchError } from '../../core/errors.ts';
import { assertBlobKey, type BlobStore } from '../blob.ts';
import { mkdirDurable, writeFileDurable } from './durable.ts';

/** FsBlobStore stores blobs as files under `root`. */
export class FsBlobStore implements BlobStore {
  readonly root: string;
  readonly #madeDirectories = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    assertBlobKey(key);
    try {
      const bytes = await readFile(join(this.root, key));
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return undefined;
      throw unavailable(key, error);
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertBlobKey(key);
    const path = join(this.root, key);
    await this.#ensureDirectory(dirname(path));
    try {
      await writeFileDurable(path, bytes, { exclusive: true, mode: 0o644 });
    } catch (error) {
      if (codeOf(error) !== 'EEXIST') throw unavailable(key, error);
      const existing = await this.get(key);
      if (existing === undefined || !equalBytes(existing, bytes)) {
        throw new ConflictError(`blob ${key} already holds different bytes`, existing, { key });
      }
    }
  }

  /** publish atomically and durably replaces the mutable file at `key`; see the module comment. */
  async publish(key: string, bytes: Uint8Array): Promise<void> {
    assertBlobKey(key);
    const path = join(this.root, key);
    await this.#ensureDirectory(dirname(path));
    try {
      await writeFileDurable(path, bytes, { mode: 0o644 });
    } catch (error) {
      throw unavailable(key, error);
    }
  }

  async #ensureDirectory(directory: string): Promise<void> {
    if (this.#madeDirectories.has(directory)) return;
    await mkdirDurable(directory);
    this.#madeDirectories.add(directory);
  }
}

function codeOf(error: unknown): unknown {
  return error instanceof Error ? (error as { code?: unknown }).code : undefined;
}

function unavailable(key: string, cause: unknown): VouchError {
  const code = codeOf(cause);
  return new VouchError(
    'unavailable',
    `storage failed for ${key}${typeof code === 'string' ? ` (${code})` : ''}`,
    { key },
    { cause },
  );
}
