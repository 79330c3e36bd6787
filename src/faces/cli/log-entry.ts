/**
 * Shared by commands that put a signed artifact (provenance, a rebuild attestation) into the
 * release log: `--log URL --log-vkey VKEY` appends the file's bytes as one entry, checks its
 * inclusion under a checkpoint the log key signed, and writes the C2SP tlog-proof beside the file
 * (`FILE.tlog-proof`) for offline verification.
 */

import { readFile } from 'node:fs/promises';
import { addAndProve } from '../../clients/log/add.ts';
import { createCheckpointVerifier } from '../../core/tlog/cosignature.ts';
import { writeFileDurable } from '../../storage/fs/durable.ts';
import { required } from './args.ts';
import type { CliIo } from './io.ts';

/** LogTarget is a log to append to and the key its checkpoints must carry. */
export interface LogTarget {
  readonly url: string;
  readonly vkey: string;
}

/**
 * logTargetOf reads `--log` and `--log-vkey`: none means no logging; `--log` without a key is
 * refused before any work starts, since an unchecked acknowledgement proves nothing.
 */
export function logTargetOf(
  command: string,
  synopsis: string,
  values: Record<string, unknown>,
): LogTarget | undefined {
  if (typeof values.log !== 'string') return undefined;
  const vkey = required(command, synopsis, values['log-vkey'], '--log-vkey');
  createCheckpointVerifier(vkey); // a bad key fails now, not after a long build
  return { url: values.log, vkey };
}

/** logFile appends the file at `path` to the log and writes `path.tlog-proof`; it prints the index and time taken. */
export async function logFile(target: LogTarget, path: string, io: CliIo): Promise<void> {
  const started = performance.now();
  const entry = new Uint8Array(await readFile(path));
  const logged = await addAndProve(target.url, entry, { logKey: createCheckpointVerifier(target.vkey) });
  await writeFileDurable(`${path}.tlog-proof`, logged.proof, { mode: 0o644 });
  io.stdout(`logged index ${logged.ack.index} in ${Math.round(performance.now() - started)} ms\n`);
}
