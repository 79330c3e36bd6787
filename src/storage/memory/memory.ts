/**
 * In-memory drivers of the blob store and the compare-and-swap cell, for tests. They enforce
 * the same contract as the real drivers (a changed immutable value is a conflict, a lost swap is
 * a conflict) and take fault hooks so that tests can make a write fail before it is persisted
 * ("failed, not persisted") or after ("failed but persisted": the caller sees an error although
 * the write happened, as after a timeout). Nothing here is durable across processes.
 */

import { equalBytes } from '../../core/bytes/index.ts';
import { ConflictError, VouchError } from '../../core/errors.ts';
import { assertBlobKey, type BlobStore } from '../blob.ts';
import type { CasCell, CasStore } from '../cas.ts';

/** FaultOutcome is what a fault hook decides for one write. */
export type FaultOutcome = 'ok' | 'fail-before' | 'fail-after';

/** FaultHook is consulted before every write with the operation and key; it defaults to always 'ok'. */
export type FaultHook = (operation: 'put' | 'replace', key: string) => FaultOutcome;

const noFaults: FaultHook = () => 'ok';

function injected(operation: string, key: string): VouchError {
  return new VouchError('unavailable', `injected fault: ${operation} ${key}`);
}

/** MemoryBlobStore keeps blobs in a Map. */
export class MemoryBlobStore implements BlobStore {
  readonly blobs = new Map<string, Uint8Array>();
  faults: FaultHook = noFaults;

  async get(key: string): Promise<Uint8Array | undefined> {
    assertBlobKey(key);
    const value = this.blobs.get(key);
    return value === undefined ? undefined : new Uint8Array(value);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertBlobKey(key);
    const outcome = this.faults('put', key);
    if (outcome === 'fail-before') throw injected('put', key);
    const existing = this.blobs.get(key);
    if (existing !== undefined) {
      if (!equalBytes(existing, bytes)) {
        throw new ConflictError(`blob ${key} already holds different bytes`, new Uint8Array(existing), {
          key,
        });
      }
    } else {
      this.blobs.set(key, new Uint8Array(bytes));
    }
    if (outcome === 'fail-after') throw injected('put', key);
  }

  /** publish replaces a mutable value (a log's `checkpoint` file), like FsBlobStore.publish. */
  async publish(key: string, bytes: Uint8Array): Promise<void> {
    assertBlobKey(key);
    const outcome = this.faults('put', key);
    if (outcome === 'fail-before') throw injected('publish', key);
    this.blobs.set(key, new Uint8Array(bytes));
    if (outcome === 'fail-after') throw injected('publish', key);
  }
}

/** MemoryCasStore keeps cells in a Map. */
export class MemoryCasStore implements CasStore {
  readonly values = new Map<string, Uint8Array>();
  faults: FaultHook = noFaults;

  cell(name: string): CasCell {
    return {
      read: async () => {
        const value = this.values.get(name);
        return value === undefined ? undefined : new Uint8Array(value);
      },
      replace: async (old, next) => {
        const outcome = this.faults('replace', name);
        if (outcome === 'fail-before') throw injected('replace', name);
        const current = this.values.get(name);
        const matches =
          current === undefined ? old === undefined : old !== undefined && equalBytes(current, old);
        if (!matches) {
          throw new ConflictError(
            `cell ${name} changed`,
            current === undefined ? undefined : new Uint8Array(current),
            {
              key: name,
            },
          );
        }
        this.values.set(name, new Uint8Array(next));
        if (outcome === 'fail-after') throw injected('replace', name);
      },
    };
  }
}
