/**
 * Test fixtures for the log client's tests (src/clients/log, `vouch log verify/proof`): a real
 * log folder written batch by batch by test/support/static-log.ts, with its key and every
 * checkpoint it published, plus a captured CliIo. Entries are ASCII `entry-<i>`, as in the
 * shared tile vectors, so roots can be compared with test/vectors/tlog.json.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBytes } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey, type Signer } from '../../src/core/crypto/index.ts';
import {
  createNoteSigner,
  createNoteVerifier,
  formatVerifierKey,
  type NoteVerifier,
} from '../../src/core/note/index.ts';
import type { CliIo } from '../../src/faces/cli/io.ts';
import { createStaticLog, type StaticLog } from './static-log.ts';

/** TestLog is a log folder with its signing key and the checkpoint published at each size. */
export interface TestLog {
  readonly dir: string;
  readonly origin: string;
  readonly log: StaticLog;
  readonly signer: Signer;
  /** vkey is the log's verifier key string; logKey its verifier. */
  readonly vkey: string;
  readonly logKey: NoteVerifier;
  /** checkpoints maps each published size to the signed checkpoint note. */
  readonly checkpoints: Map<bigint, Uint8Array>;
  /** grow appends entries up to `size` (one batch) and returns the new checkpoint. */
  grow(size: number, entry?: (i: number) => Uint8Array): Promise<Uint8Array>;
}

/** entryOf returns the test entry at index i: `entry-<i>`. */
export function entryOf(i: number | bigint): Uint8Array {
  return toBytes(`entry-${i}`);
}

/** makeTempDir creates a fresh temporary folder; `removeDir` deletes it. */
export async function makeTempDir(prefix = 'vouch-log-client-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** removeDir deletes a folder made by {@link makeTempDir}. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** keyFor returns a fresh Ed25519 signer for `name` and its verifier key string. */
export function keyFor(name: string): { signer: Signer; vkey: string; verifier: NoteVerifier } {
  const signer = createSigner(name, generateKey('ed25519'));
  const noteSigner = createNoteSigner(signer, name);
  const vkey = formatVerifierKey({ name, type: noteSigner.type, publicKey: noteSigner.publicKey });
  return { signer, vkey, verifier: createNoteVerifier(vkey) };
}

/**
 * makeTestLog writes a log in `dir` (a new temporary folder by default) whose batches end at each
 * of `sizes` (increasing; 0 publishes the empty checkpoint), signed for `origin`.
 */
export async function makeTestLog(
  sizes: readonly number[],
  options: { dir?: string; origin?: string; signer?: Signer } = {},
): Promise<TestLog> {
  const dir = options.dir ?? (await makeTempDir());
  const origin = options.origin ?? 'example.com/log';
  const signer = options.signer ?? keyFor(origin).signer;
  const noteSigner = createNoteSigner(signer, origin);
  const vkey = formatVerifierKey({ name: origin, type: noteSigner.type, publicKey: noteSigner.publicKey });
  const log = await createStaticLog(dir, origin, signer);
  const checkpoints = new Map<bigint, Uint8Array>();
  const testLog: TestLog = {
    dir,
    origin,
    log,
    signer,
    vkey,
    logKey: createNoteVerifier(vkey),
    checkpoints,
    async grow(size, entry = entryOf) {
      const entries: Uint8Array[] = [];
      for (let i = Number(log.size); i < size; i++) entries.push(entry(i));
      const note = await log.append(entries);
      checkpoints.set(log.size, note);
      return note;
    },
  };
  for (const size of sizes) await testLog.grow(size);
  return testLog;
}

/** CapturedIo is a CliIo whose output is collected. */
export interface CapturedIo {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
}

/** captureIo returns a CliIo with no terminal, `stdin` as standard input, and collected output. */
export function captureIo(stdin: Uint8Array = new Uint8Array(0)): CapturedIo {
  let out = '';
  let err = '';
  return {
    io: {
      env: {},
      stdinIsTerminal: false,
      readStdin: async () => stdin,
      stdout: (text) => {
        out += text;
      },
      stderr: (text) => {
        err += text;
      },
    },
    stdout: () => out,
    stderr: () => err,
  };
}
