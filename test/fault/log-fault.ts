/**
 * Support for the log fault tests (log-crash.test.ts, log-postgres.test.ts): log servers run as
 * child processes that a test can SIGKILL, a seeded random generator so that a failing run can
 * be repeated, and {@link LogHistory}, which remembers everything a log ever promised — every
 * acknowledgement and every checkpoint seen — and checks a log's current state against all of
 * it through the public tlog-tiles read API only (https://c2sp.org/tlog-tiles).
 *
 * The check is the crash test's claim: each acknowledged entry is at its acknowledged index with
 * its leaf hash, the checkpoint is signed by the log key and consistent with every checkpoint
 * seen before, every tile verifies, the root recomputed from all entries with core's plain
 * RFC 6962 hash (independently of the tile reader) is the checkpoint's, and no entry appears
 * twice or was never sent. It does not judge entries that were sent without an acknowledgement:
 * they were never promised, so they may be in the log or not.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { LogClient, openCheckpoint } from '../../src/clients/log/client.ts';
import type { TileFetcher } from '../../src/clients/log/fetcher.ts';
import { equalBytes, formatBase64, parseBase64, toBytes, toText } from '../../src/core/bytes/index.ts';
import { leafHash, merkleTreeHash } from '../../src/core/merkle/index.ts';
import type { NoteVerifier } from '../../src/core/note/index.ts';
import type { Checkpoint } from '../../src/core/tlog/checkpoint.ts';

/** vouchBin is the `vouch` launcher the child processes run. */
export const vouchBin = join(import.meta.dirname, '..', '..', 'bin', 'vouch.js');

/** seededRandom returns mulberry32 over `seed`: numbers in [0, 1), the same for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** faultSeed returns VOUCH_FAULT_SEED when set (to repeat a run), else a fresh random seed. */
export function faultSeed(): number {
  const fixed = process.env.VOUCH_FAULT_SEED;
  if (fixed !== undefined && fixed !== '') {
    const seed = Number(fixed);
    assert.ok(Number.isSafeInteger(seed) && seed >= 0, 'VOUCH_FAULT_SEED must be a whole number');
    return seed >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32);
}

/** sleep waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** ServerProcess is a log server running as a child process. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** lines are the server's stderr lines so far (JSON lines for `vouch log serve`). */
  readonly lines: string[];
  /** serving resolves to the server's base URL (ending in "/") once it logs that it serves. */
  readonly serving: Promise<string>;
  /** exited resolves once the process has exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill sends SIGKILL (if still running) and waits for the exit. */
  kill(): Promise<void>;
}

/** children holds every child process started here, so that an `after` hook can kill what is left. */
const children = new Set<ChildProcess>();

/**
 * startServer runs `node ARGS...` (a server that logs `serving log ORIGIN at URL/` on stderr) and
 * returns at once; `serving` rejects if the process exits first, or after `timeoutMs`.
 */
export function startServer(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
): ServerProcess {
  // stdin is a pipe we never write: a child that outlives this process sees it close.
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  const serving = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server did not start in ${timeoutMs} ms:\n${lines.join('\n')}`)),
      timeoutMs,
    );
    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        const match = / at (http:\/\/\S+\/)"/.exec(line);
        if (match !== null && line.includes('serving log ')) {
          clearTimeout(timer);
          resolve(match[1] as string);
        }
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before serving:\n${lines.join('\n')}`));
    });
  });
  serving.catch(() => undefined); // a caller that kills the server early does not wait for this
  return {
    child,
    lines,
    serving,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** killAllChildren SIGKILLs every child process started here that is still running. */
export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Ack is one acknowledged add: the log promised `entry` is at `index` under `checkpoint`. */
export interface Ack {
  readonly entry: string;
  readonly index: bigint;
  readonly leafHash: Uint8Array;
  readonly checkpoint: Checkpoint;
}

/** CheckResult summarises one successful {@link LogHistory.check}. */
export interface CheckResult {
  readonly checkpoint: Checkpoint;
  /** unacknowledged counts entries in the log that were sent but never acknowledged. */
  readonly unacknowledged: number;
}

/** LogHistory records what one log promised and checks the log against it; see the module comment. */
export class LogHistory {
  readonly logKey: NoteVerifier;
  /** sent holds every entry ever sent (each at most once), acknowledged or not. */
  readonly sent = new Set<string>();
  readonly acks: Ack[] = [];
  /** seen maps each checkpoint size seen (acknowledged, polled or checked) to its root. */
  readonly seen = new Map<bigint, Uint8Array>();

  constructor(logKey: NoteVerifier) {
    this.logKey = logKey;
  }

  /** recordCheckpoint opens a checkpoint note with the log key and remembers it; a fork at equal size fails. */
  recordCheckpoint(note: Uint8Array, where: string): Checkpoint {
    const { checkpoint } = openCheckpoint(note, { logKey: this.logKey });
    const known = this.seen.get(checkpoint.size);
    if (known === undefined) this.seen.set(checkpoint.size, checkpoint.root);
    else
      assert.ok(
        equalBytes(known, checkpoint.root),
        `${where}: two checkpoints of size ${checkpoint.size} with different roots`,
      );
    return checkpoint;
  }

  /** recordAckBody checks the JSON body of a 200 answer to `POST add` of `entry` and remembers it. */
  recordAckBody(entry: string, body: string): Ack {
    const json = JSON.parse(body) as { index?: unknown; leafHash?: unknown; checkpoint?: unknown };
    assert.ok(typeof json.index === 'number' && Number.isSafeInteger(json.index), `bad index in ${body}`);
    assert.ok(typeof json.leafHash === 'string' && typeof json.checkpoint === 'string', `bad ack ${body}`);
    return this.recordAck(entry, {
      index: BigInt(json.index),
      leafHash: parseBase64(json.leafHash),
      checkpoint: toBytes(json.checkpoint),
    });
  }

  /** recordAck checks an acknowledgement of `entry` (a Log's AddResult, or a parsed answer) and remembers it. */
  recordAck(
    entry: string,
    result: { readonly index: bigint; readonly leafHash: Uint8Array; readonly checkpoint: Uint8Array },
  ): Ack {
    const ack: Ack = {
      entry,
      index: result.index,
      leafHash: result.leafHash,
      checkpoint: this.recordCheckpoint(result.checkpoint, `the ack of ${entry}`),
    };
    assert.deepEqual(ack.leafHash, leafHash(toBytes(entry)), `the ack of ${entry} has a wrong leaf hash`);
    assert.ok(ack.index < ack.checkpoint.size, `the ack of ${entry} has a checkpoint without it`);
    this.acks.push(ack);
    return ack;
  }

  /**
   * check reads the log behind `fetcher` and asserts everything promised so far (see the module
   * comment); the checked checkpoint is remembered too. `where` labels failures.
   */
  async check(fetcher: TileFetcher, where: string): Promise<CheckResult> {
    const client = await LogClient.open(fetcher, { logKey: this.logKey });
    const { checkpoint } = client;
    for (const [size, root] of this.seen) {
      assert.ok(
        size <= checkpoint.size,
        `${where}: size ${checkpoint.size} is below size ${size} seen before`,
      );
      await client.checkConsistency({ origin: checkpoint.origin, size, root, extensions: [] }).catch((e) => {
        assert.fail(`${where}: not consistent with size ${size} seen before: ${String(e)}`);
      });
    }
    await client.verifyLog();
    const here = `${where} (size ${checkpoint.size})`;
    const at = new Map<string, bigint>();
    const leaves: Uint8Array[] = [];
    for await (const { index, data } of client.entries(0n, checkpoint.size)) {
      const text = toText(data);
      assert.ok(this.sent.has(text), `${here}: entry ${index} was never sent`);
      assert.ok(!at.has(text), `${here}: entry ${index} is a copy of entry ${at.get(text)}`);
      at.set(text, index);
      leaves.push(leafHash(data));
    }
    assert.equal(
      formatBase64(merkleTreeHash(leaves)),
      formatBase64(checkpoint.root),
      `${here}: the entries do not hash to the root`,
    );
    for (const ack of this.acks) {
      assert.equal(at.get(ack.entry), ack.index, `${here}: acknowledged ${ack.entry} is not at ${ack.index}`);
      assert.deepEqual(await client.leafHash(ack.index), ack.leafHash, `${here}: leaf hash of ${ack.index}`);
    }
    this.recordCheckpoint(client.signedCheckpoint(), where);
    const acked = new Set(this.acks.map((a) => a.entry));
    return { checkpoint, unacknowledged: [...at.keys()].filter((e) => !acked.has(e)).length };
  }
}

/** LoadStats counts what {@link addLoad} did. */
export interface LoadStats {
  sent: number;
  acked: number;
  /** pushedBack counts 503 answers (each with Retry-After). */
  pushedBack: number;
  /** failed counts requests that got no answer: the server died, and the entry may or may not be logged. */
  failed: number;
}

/** AddLoadOptions bounds an {@link addLoad}. */
export interface AddLoadOptions {
  /** label starts every entry, so entries of different loads never collide. */
  readonly label: string;
  /** clients is the number of concurrent client loops (default 8). */
  readonly clients?: number;
  /** perClient is the most entries one loop sends. */
  readonly perClient: number;
  /** stopped, when it returns true, ends the loops before their next request. */
  readonly stopped?: () => boolean;
  /** deadlineMs ends the loops after this long whatever happens (default 5 000). */
  readonly deadlineMs?: number;
}

/**
 * addLoad runs concurrent client loops against the log at `url`, each adding distinct entries one
 * after another with `POST add`, plus a loop polling `checkpoint`, and records every
 * acknowledgement and polled checkpoint in `history`. An entry whose request failed is never sent
 * again. Any answer but 200 or 503 with Retry-After fails the test.
 */
export async function addLoad(url: string, history: LogHistory, options: AddLoadOptions): Promise<LoadStats> {
  const { label, perClient } = options;
  const stats: LoadStats = { sent: 0, acked: 0, pushedBack: 0, failed: 0 };
  const deadline = Date.now() + (options.deadlineMs ?? 5_000);
  const running = (): boolean => !(options.stopped?.() ?? false) && Date.now() < deadline;
  const client = async (c: number): Promise<void> => {
    for (let i = 0; i < perClient && running(); i++) {
      // Distinct entries of varied length (about 20 to 300 bytes), so bundles hold mixed sizes.
      const entry = `${label} client ${c} entry ${i} ${'.'.repeat((i * 31 + c * 7) % 256)}`;
      history.sent.add(entry);
      stats.sent++;
      let response: Response;
      let body: string;
      try {
        response = await fetch(`${url}add`, {
          method: 'POST',
          body: toBytes(entry),
          signal: AbortSignal.timeout(10_000),
        });
        body = await response.text();
      } catch {
        stats.failed++;
        await sleep(2);
        continue;
      }
      if (response.status === 200) {
        history.recordAckBody(entry, body);
        stats.acked++;
      } else {
        assert.equal(response.status, 503, `${label}: add answered ${response.status}: ${body}`);
        assert.ok(response.headers.get('retry-after') !== null, `${label}: 503 without Retry-After`);
        stats.pushedBack++;
        await sleep(5);
      }
    }
  };
  let clientsDone = false;
  const poller = async (): Promise<void> => {
    while (running() && !clientsDone) {
      try {
        const response = await fetch(`${url}checkpoint`, { signal: AbortSignal.timeout(10_000) });
        const bytes = new Uint8Array(await response.arrayBuffer());
        if (response.status === 200) history.recordCheckpoint(bytes, `${label}: polled checkpoint`);
      } catch {
        // the server died; a poll carries no promise
      }
      await sleep(10);
    }
  };
  const clients = Promise.all(Array.from({ length: options.clients ?? 8 }, (_, c) => client(c))).finally(
    () => {
      clientsDone = true;
    },
  );
  await Promise.all([poller(), clients]);
  return stats;
}
