/**
 * Test support: a real log (the sequencer and its HTTP face) served on 127.0.0.1, with its state in
 * memory, for tests of clients that append to a log (`vouch build --log`, `vouch rebuild --log`).
 */

import { createSigner, generateKey } from '../../src/core/crypto/index.ts';
import { createNoteSigner, formatVerifierKey } from '../../src/core/note/index.ts';
import { serve } from '../../src/faces/http/http.ts';
import { createLogHandler } from '../../src/faces/http/log.ts';
import { Log } from '../../src/services/log/log.ts';
import { MemoryBlobStore, MemoryCasStore } from '../../src/storage/memory/memory.ts';
import { openSqlite } from '../../src/storage/sqlite/database.ts';
import { SqliteSequenceStore } from '../../src/storage/sqlite/sqlite-sequence.ts';

/** MemoryLog is a running in-memory log: its URL (ending in "/"), origin and verifier key. */
export interface MemoryLog {
  readonly url: string;
  readonly origin: string;
  readonly vkey: string;
  close(): Promise<void>;
}

/** startMemoryLog starts a log for `origin` with a fresh Ed25519 key. */
export async function startMemoryLog(origin = 'release-log.vouch.example'): Promise<MemoryLog> {
  const signer = createNoteSigner(createSigner(origin, generateKey('ed25519')));
  const files = new MemoryBlobStore();
  const log = await Log.open({
    origin,
    signer,
    files,
    checkpoint: new MemoryCasStore().cell('log/checkpoint'),
    sequence: new SqliteSequenceStore(openSqlite(':memory:'), origin),
    batchAgeMs: 1,
  });
  const server = await serve(createLogHandler({ files, log: () => log }), {
    host: '127.0.0.1',
    port: 0,
    log: () => undefined,
  });
  return {
    url: `${server.url}/`,
    origin,
    vkey: formatVerifierKey(signer),
    close: async () => {
      await server.close();
      await log.close();
    },
  };
}
