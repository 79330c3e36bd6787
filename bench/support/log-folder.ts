/**
 * Benchmark fixtures for the log: temporary folders, a fresh log key, entries of a fixed size,
 * and a real {@link Log} on the embedded stores — tiles as files through FsBlobStore, sequencing
 * state and the checkpoint cell in SQLite — exactly as `vouch log serve` runs it, minus HTTP.
 * Nothing here is measured; the suites time what they build.
 */

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, generateKey } from '../../src/core/crypto/index.ts';
import { createNoteSigner, type NoteSigner } from '../../src/core/note/index.ts';
import { Log } from '../../src/services/log/log.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';
import { openSqlite } from '../../src/storage/sqlite/database.ts';
import { SqliteCasStore } from '../../src/storage/sqlite/sqlite-cas.ts';
import { SqliteSequenceStore } from '../../src/storage/sqlite/sqlite-sequence.ts';

/** benchOrigin is the origin of every benchmark log. */
export const benchOrigin = 'bench.vouch.example/log';

/** makeTempDir creates a fresh folder under the system's temporary folder; remove it with {@link removeDir}. */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `vouch-bench-${prefix}-`));
}

/** removeDir deletes a folder made by {@link makeTempDir} and everything in it. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** logSigner returns a fresh Ed25519 note signer named {@link benchOrigin}. */
export function logSigner(): NoteSigner {
  return createNoteSigner(createSigner(benchOrigin, generateKey('ed25519')));
}

/**
 * benchEntry returns entry number `i` of `size` bytes (at least 8): its index in decimal, padded
 * with a fixed byte, so that entries differ and a dedup index would see distinct leaves.
 */
export function benchEntry(i: number, size: number): Uint8Array {
  const entry = new Uint8Array(size).fill(0x2e);
  const digits = new TextEncoder().encode(String(i));
  entry.set(digits.subarray(0, size));
  return entry;
}

/** OpenedLog is a running log on a folder and the way to stop it. */
export interface OpenedLog {
  readonly log: Log;
  /** close closes the log and its database; the folder stays. */
  close(): Promise<void>;
}

/**
 * openFolderLog opens a log whose tiles live in `dir/tiles` and whose sequencing state and
 * checkpoint cell live in `dir/state.db` (SQLite, WAL, synchronous=FULL), creating `dir` if needed.
 */
export async function openFolderLog(
  dir: string,
  options: { readonly batchSize: number; readonly batchAgeMs: number; readonly maxPending?: number },
): Promise<OpenedLog> {
  await mkdir(dir, { recursive: true });
  const db = openSqlite(join(dir, 'state.db'));
  const log = await Log.open({
    origin: benchOrigin,
    signer: logSigner(),
    files: new FsBlobStore(join(dir, 'tiles')),
    checkpoint: new SqliteCasStore(db).cell('log/checkpoint'),
    sequence: new SqliteSequenceStore(db, benchOrigin),
    batchSize: options.batchSize,
    batchAgeMs: options.batchAgeMs,
    ...(options.maxPending === undefined ? {} : { maxPending: options.maxPending }),
  });
  return {
    log,
    close: async () => {
      await log.close();
      db.close();
    },
  };
}
