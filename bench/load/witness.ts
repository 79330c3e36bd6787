/**
 * Load driver for the witness's `POST add-checkpoint` (faces/http/witness.ts, c2sp.org/tlog-witness):
 * a witness created with `vouch key generate` and `vouch witness init`, following many logs,
 * served by `vouch witness serve` on 127.0.0.1:0. The logs are written into `witness.json` in one
 * go, the entries `vouch witness add-log` would append one by one (which rewrites the file per
 * log: minutes for hundreds), and the result is read back with the witness's own validating reader.
 *
 * The generator plays the logs: each request advances one idle log by one entry, from the size
 * the witness last cosigned, with a real consistency proof and a checkpoint signed by that log;
 * a log has at most one request in flight (as a log's publisher would), so a request due when no
 * log is idle is counted as skipped, not sent. A 200 advances the log's known size (the
 * acknowledgement); a 503 or 429 leaves it; a request that got no answer makes the log's state
 * uncertain, and that log is retired. Afterwards the witness's monitoring endpoint must show,
 * for every log, a checkpoint cosigned by the witness (and signed by the log) of exactly the
 * last acknowledged size (at least it, for a retired log).
 */

import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBytes } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey } from '../../src/core/crypto/index.ts';
import { leafHash, merkleTreeHash, proveConsistency } from '../../src/core/merkle/index.ts';
import {
  createNoteSigner,
  formatVerifierKey,
  type NoteSigner,
  openNote,
  signNote,
  verifierSet,
} from '../../src/core/note/index.ts';
import { formatCheckpoint, parseCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { createCheckpointVerifier, createCosignatureVerifier } from '../../src/core/tlog/cosignature.ts';
import { formatAddCheckpointRequest } from '../../src/core/tlog/witness-request.ts';
import { readWitnessFolderConfig } from '../../src/services/witness/folder.ts';
import { type LoadPlan, measure, type ServiceReport } from './drive.ts';
import type { Shot } from './generator.ts';
import { fetchPatiently, startVouch, vouch } from './server.ts';

const witnessName = 'load.vouch.example/witness';

interface PlayedLog {
  readonly origin: string;
  readonly signer: NoteSigner;
  readonly vkey: string;
  /** bodies[k] moves the witness from size k to k + 1. */
  readonly bodies: Uint8Array[];
  /** known is the size the witness last acknowledged (0: none yet). */
  known: number;
  busy: boolean;
  retired: boolean;
}

/** WitnessLoadOptions: how many logs the generator plays, and how far each may grow. */
export interface WitnessLoadOptions {
  readonly logs: number;
  readonly steps: number;
}

async function playedLogs(options: WitnessLoadOptions): Promise<PlayedLog[]> {
  const leaves = Array.from({ length: options.steps }, (_, j) => leafHash(toBytes(`load leaf ${j}`)));
  const roots = Array.from({ length: options.steps + 1 }, (_, k) => merkleTreeHash(leaves, BigInt(k)));
  const proofs = Array.from({ length: options.steps }, (_, k) =>
    k === 0 ? [] : proveConsistency(leaves, BigInt(k), BigInt(k + 1)),
  );
  const logs: PlayedLog[] = [];
  for (let n = 0; n < options.logs; n++) {
    const origin = `load.vouch.example/played-log-${n}`;
    const signer = createNoteSigner(createSigner(origin, generateKey('ed25519')));
    const bodies: Uint8Array[] = [];
    for (let k = 0; k < options.steps; k++) {
      const size = BigInt(k + 1);
      const text = formatCheckpoint({ origin, size, root: roots[k + 1] as Uint8Array, extensions: [] });
      bodies.push(
        formatAddCheckpointRequest({
          old: BigInt(k),
          proof: proofs[k] as Uint8Array[],
          checkpoint: await signNote(text, [signer]),
        }),
      );
    }
    logs.push({
      origin,
      signer,
      vkey: formatVerifierKey(signer),
      bodies,
      known: 0,
      busy: false,
      retired: false,
    });
  }
  return logs;
}

/** runWitnessLoad drives `vouch witness serve`'s `POST add-checkpoint`; see the module comment. */
export async function runWitnessLoad(plan: LoadPlan, options: WitnessLoadOptions): Promise<ServiceReport> {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-load-witness-'));
  const notes: string[] = [];
  try {
    vouch(
      dir,
      'key',
      'generate',
      '--type',
      'ed25519',
      '--name',
      witnessName,
      '--out',
      'w.key',
      '--unencrypted',
    );
    const witnessVkey = vouch(
      dir,
      'witness',
      'init',
      '--dir',
      'witness',
      '--name',
      witnessName,
      '--key',
      'w.key',
    ).trim();
    const logs = await playedLogs(options);
    const configPath = join(dir, 'witness', 'witness.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    config['logs'] = logs.map((l) => ({ origin: l.origin, vkeys: [l.vkey] }));
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const read = await readWitnessFolderConfig(join(dir, 'witness'));
    if (read.logs.length !== logs.length) throw new Error('load: the witness configuration lost logs');
    const server = await startVouch(dir, ['witness', 'serve', '--dir', 'witness', '--listen', '127.0.0.1:0']);
    const idle: number[] = logs.map((_, n) => n);
    const inFlight = new Map<Uint8Array, number>();
    let acknowledged = 0;
    let conflicts = 0;
    let lost = 0;
    let measured: Awaited<ReturnType<typeof measure>>;
    try {
      measured = await measure(
        {
          url: server.url,
          pid: server.pid,
          next: (): Shot | undefined => {
            const n = idle.pop();
            if (n === undefined) return undefined;
            const log = logs[n] as PlayedLog;
            const body = log.bodies[log.known] as Uint8Array;
            log.busy = true;
            inFlight.set(body, n);
            return { method: 'POST', path: '/add-checkpoint', body };
          },
          onAnswer: (shot, answer) => {
            const n = inFlight.get(shot.body as Uint8Array) as number;
            inFlight.delete(shot.body as Uint8Array);
            const log = logs[n] as PlayedLog;
            log.busy = false;
            if (answer.status === 200) {
              log.known++;
              acknowledged++;
            } else if (answer.status === 409) {
              conflicts++;
              log.known = Number(answer.body.toString('utf8').trim());
            } else if (answer.status === 0) {
              log.retired = true; // the witness may or may not have cosigned: never reuse this log
              return;
            }
            if (log.known < log.bodies.length) idle.unshift(n);
          },
        },
        plan,
      );
      const verifiers = (log: PlayedLog) =>
        verifierSet([createCheckpointVerifier(log.vkey), createCosignatureVerifier(witnessVkey)]);
      for (const log of logs) {
        const hash = createHash('sha256').update(log.origin).digest('hex');
        const response = await fetchPatiently(`${server.url}/${hash}/checkpoint`);
        const bytes = response.bytes;
        if (response.status === 404) {
          if (log.known > 0) lost++;
          continue;
        }
        if (response.status !== 200) {
          lost++;
          continue;
        }
        const note = openNote(bytes, verifiers(log));
        const size = Number(parseCheckpoint(note.text).size);
        const cosigned = note.verified.some((s) => s.name === witnessName);
        const consistent = log.retired ? size >= log.known : size === log.known;
        if (!cosigned || !consistent) lost++;
      }
      const retired = logs.filter((l) => l.retired).length;
      notes.push(
        `${logs.length} logs played, at most one request each in flight; every log's cosigned checkpoint read back from GET <hash>/checkpoint` +
          (retired > 0 ? `; ${retired} logs retired after a request got no answer` : ''),
      );
      if (conflicts > 0) notes.push(`${conflicts} answers were 409 (the witness knew a newer size)`);
    } finally {
      const exit = await server.stop();
      if (exit !== '0') notes.push(`the server exited with ${exit}`);
    }
    return {
      service: 'witness',
      endpoint: 'POST /add-checkpoint (vouch witness serve)',
      measured,
      acknowledged,
      what: 'cosigned checkpoints',
      lost,
      memoryBoundKiB: 512 * 1024,
      notes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
