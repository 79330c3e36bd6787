/**
 * The witness (issue 4, Performance), each figure beside a baseline measured in the same run:
 * (1) `add-checkpoint` requests per second over HTTP on loopback to `vouch witness serve` (a
 * child process, per-log state in SQLite with synchronous=FULL, as deployed), from a bounded
 * load generator that plays many growing logs, each request carrying a real consistency proof
 * from the size the witness last cosigned — against the same requests sent the same way to a
 * bare node:http server that reads the body and answers 200; and the in-process
 * `processAddCheckpoint` rate on SQLite against the memory CAS store. (2) The publication latency
 * of a log whose checkpoints wait for a 2-of-3 witness quorum (three `vouch witness serve`
 * children, the log's WitnessCollector) against the same log with no witnesses, same batching,
 * sequential adds.
 *
 * The witness folders are written in-process with the functions `vouch witness init` and
 * `add-log` run (spawning the CLI once per log would cost seconds). All logs share one list of
 * leaves, so roots and proofs come from one table of subtree hashes; the witness's work does not
 * depend on that. It does not measure PostgreSQL, ML-DSA witness keys, or a slow or failing witness.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { toBytes } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey, sealKeyFile } from '../../src/core/crypto/index.ts';
import {
  computeConsistency,
  computeRoot,
  leafHash,
  nodeHash,
  planConsistency,
  planRoot,
  type SubtreeCoordinate,
} from '../../src/core/merkle/index.ts';
import {
  createNoteSigner,
  formatVerifierKey,
  type NoteSigner,
  openNote,
  signNote,
  type Verifiers,
  verifierSet,
} from '../../src/core/note/index.ts';
import { formatCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { createCheckpointVerifier, createCosigner } from '../../src/core/tlog/cosignature.ts';
import { formatAddCheckpointRequest } from '../../src/core/tlog/witness-request.ts';
import { Log, type LogOptions } from '../../src/services/log/log.ts';
import { thresholdQuorum, WitnessCollector } from '../../src/services/log/witnesses.ts';
import { addWitnessedLog, initWitnessFolder } from '../../src/services/witness/folder.ts';
import { Witness } from '../../src/services/witness/witness.ts';
import type { CasStore } from '../../src/storage/cas.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';
import { writeKeyFile } from '../../src/storage/fs/key-file.ts';
import { MemoryCasStore } from '../../src/storage/memory/memory.ts';
import { openSqlite } from '../../src/storage/sqlite/database.ts';
import { SqliteCasStore } from '../../src/storage/sqlite/sqlite-cas.ts';
import { SqliteSequenceStore } from '../../src/storage/sqlite/sqlite-sequence.ts';
import { type RunningVouch, startVouchServer } from '../../test/support/processes.ts';
import { type Figure, median, type Suite } from '../lib.ts';

const suiteName = 'Witness';
const hashBytes = 32;
const concurrency = 16;
const batchAgeMs = 5;
const entrySize = 256;
const stopTimeoutMs = 10_000;
const addTimeoutMs = 20_000;

interface Plan {
  /** origins is how many logs the load generator plays. */
  readonly origins: number;
  /** leaves is the size of the shared tree every log grows along. */
  readonly leaves: number;
  /** rounds of each measurement, after one warm-up round that is not counted. */
  readonly rounds: number;
  /** stepsPerRound is how many checkpoints each log submits per HTTP round. */
  readonly stepsPerRound: number;
  /** inProcessSteps is how many checkpoints each log submits per in-process round. */
  readonly inProcessSteps: number;
  /** adds is how many sequential adds each log gets per latency round. */
  readonly adds: number;
  /** seconds bounds each measured loop; a loop cut short reports what it did. */
  readonly seconds: number;
}

const fullPlan: Plan = {
  origins: 50,
  leaves: 1 << 17,
  rounds: 5,
  stepsPerRound: 40,
  inProcessSteps: 20,
  adds: 60,
  seconds: 30,
};
const quickPlan: Plan = {
  origins: 10,
  leaves: 1 << 11,
  rounds: 1,
  stepsPerRound: 4,
  inProcessSteps: 4,
  adds: 4,
  seconds: 5,
};

/** SubtreeTable holds every complete-subtree hash of one list of leaves, so a root or proof is a plan and lookups. */
class SubtreeTable {
  readonly #levels: Uint8Array[] = [];

  constructor(leaves: number) {
    let level = new Uint8Array(leaves * hashBytes);
    for (let i = 0; i < leaves; i++) level.set(leafHash(toBytes(`bench entry ${i}`)), i * hashBytes);
    this.#levels.push(level);
    while (level.length >= 2 * hashBytes) {
      const below = level;
      level = new Uint8Array(Math.floor(below.length / (2 * hashBytes)) * hashBytes);
      for (let at = 0; at < level.length; at += hashBytes) {
        level.set(
          nodeHash(
            below.subarray(2 * at, 2 * at + hashBytes),
            below.subarray(2 * at + hashBytes, 2 * at + 2 * hashBytes),
          ),
          at,
        );
      }
      this.#levels.push(level);
    }
  }

  root(size: bigint): Uint8Array {
    return computeRoot(size, this.#lookup(planRoot(size)));
  }

  proof(old: bigint, size: bigint): Uint8Array[] {
    return old === 0n ? [] : computeConsistency(old, size, this.#lookup(planConsistency(old, size)));
  }

  #lookup(coordinates: readonly SubtreeCoordinate[]): Uint8Array[] {
    return coordinates.map(({ level, index }) => {
      const at = Number(index) * hashBytes;
      const hashes = this.#levels[level];
      if (hashes === undefined || at + hashBytes > hashes.length)
        throw new Error('bench: subtree outside the table');
      return hashes.subarray(at, at + hashBytes);
    });
  }
}

/** BenchLog is one log the load generator plays: its origin, its signing key and that key's verifier key. */
interface BenchLog {
  readonly origin: string;
  readonly signer: NoteSigner;
  readonly vkey: string;
}

function benchLog(origin: string): BenchLog {
  const signer = createNoteSigner(createSigner(origin, generateKey('ed25519')));
  return { origin, signer, vkey: formatVerifierKey(signer) };
}

/**
 * requestsFor builds the `add-checkpoint` bodies of one log growing `steps` times along `table`:
 * the first from old size 0 (no proof), each next one from the size before it, with its proof.
 */
async function requestsFor(
  log: BenchLog,
  table: SubtreeTable,
  n: number,
  leaves: number,
  steps: number,
): Promise<Uint8Array[]> {
  const start = 1 + ((n * 7919) % Math.floor(leaves / 4));
  const maxGrowth = Math.max(1, Math.min(256, Math.floor((leaves - start) / steps)));
  const bodies: Uint8Array[] = [];
  let old = 0n;
  let size = BigInt(start);
  for (let step = 0; step < steps; step++) {
    const text = formatCheckpoint({ origin: log.origin, size, root: table.root(size), extensions: [] });
    bodies.push(
      formatAddCheckpointRequest({
        old,
        proof: table.proof(old, size),
        checkpoint: await signNote(text, [log.signer]),
      }),
    );
    old = size;
    size += BigInt(1 + ((n * 31 + step * 17) % maxGrowth));
  }
  return bodies;
}

/** Witnessed is a witness folder ready to serve: its directory, name and verifier key. */
interface Witnessed {
  readonly dir: string;
  readonly name: string;
  readonly vkey: string;
}

/** makeWitnessFolder writes a key file and a witness folder that witnesses `logs`, as `vouch witness init/add-log` do. */
async function makeWitnessFolder(work: string, name: string, logs: readonly BenchLog[]): Promise<Witnessed> {
  const material = generateKey('ed25519');
  const keyPath = join(work, `${name.replaceAll('/', '_')}.key`);
  await writeKeyFile(keyPath, await sealKeyFile(material, name, undefined));
  const vkey = formatVerifierKey(createCosigner(createSigner(name, material), { name, timestamp: 1n }));
  const dir = join(work, name.replaceAll('/', '_'));
  await initWitnessFolder(dir, { name, key: keyPath, vkey });
  for (const log of logs) await addWitnessedLog(dir, { origin: log.origin, vkeys: [log.vkey] });
  return { dir, name, vkey };
}

/** stopVouch stops a `vouch` child with SIGTERM, and with SIGKILL if it has not exited in time. */
async function stopVouch(server: RunningVouch): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), stopTimeoutMs);
  });
  const outcome = await Promise.race([server.stop().then(() => 'stopped' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') server.child.kill('SIGKILL');
}

// The bare sink: reads each body and answers 200 with nothing else; it exits when its stdin closes.
const bareSinkScript = `
import { createServer } from 'node:http';
const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => { server.close(); server.closeIdleConnections(); });
`;

interface BareSink {
  readonly url: string;
  stop(): Promise<void>;
}

/** startBareSink starts the bare node:http server in a child process, as the witness runs in one. */
async function startBareSink(): Promise<BareSink> {
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', bareSinkScript], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), stopTimeoutMs);
    });
    const outcome = await Promise.race([exited.then(() => 'exited' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') child.kill('SIGKILL');
  };
  try {
    const port = await new Promise<string>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error('bench: the bare sink did not start')), 20_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /^(\d+)\n/.exec(seen);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match[1] as string);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bench: the bare sink exited with ${code}`));
      });
    });
    return { url: `http://127.0.0.1:${port}/`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** post sends one body to `add-checkpoint` under `base` and resolves with the status once the answer is read (0 on failure). */
function post(agent: Agent, base: URL, body: Uint8Array): Promise<number> {
  return new Promise<number>((resolve) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path: `${base.pathname}add-checkpoint`,
        headers: { 'content-length': String(body.length) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

interface Drive {
  readonly rate: number;
  readonly ok: number;
  readonly failed: number;
}

/**
 * drive sends steps [first, first + count) of every log's requests to `url` from `concurrency`
 * keep-alive clients. A log has at most one request in flight, so its requests arrive in order;
 * a log whose request is refused is dropped for the rest of the round (its next would be a 409).
 */
async function drive(
  url: string,
  requests: readonly (readonly Uint8Array[])[],
  first: number,
  count: number,
  deadline: number,
): Promise<Drive> {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const ready = requests.map((_, n) => ({ n, step: first }));
  let ok = 0;
  let failed = 0;
  const client = async (): Promise<void> => {
    for (let log = ready.shift(); log !== undefined && performance.now() < deadline; log = ready.shift()) {
      const body = requests[log.n]?.[log.step];
      if (body === undefined) throw new Error('bench: ran out of prepared requests');
      if ((await post(agent, base, body)) !== 200) {
        failed++;
        continue;
      }
      ok++;
      if (++log.step < first + count) ready.push(log);
    }
  };
  const start = performance.now();
  try {
    await Promise.all(Array.from({ length: concurrency }, client));
  } finally {
    agent.destroy();
  }
  return { rate: (ok * 1000) / (performance.now() - start), ok, failed };
}

/** processRate runs every log's first `steps` requests through a fresh in-process witness on `store`. */
async function processRate(
  store: CasStore,
  logs: readonly BenchLog[],
  requests: readonly (readonly Uint8Array[])[],
  steps: number,
  deadline: number,
): Promise<number> {
  const trusted = new Map<string, Verifiers>(
    logs.map((l) => [l.origin, verifierSet([createCheckpointVerifier(l.vkey)])]),
  );
  const name = 'witness.bench.vouch.example/in-process';
  const witness = new Witness({
    name,
    keys: [createSigner(name, generateKey('ed25519'))],
    logs: (origin) => trusted.get(origin),
    store,
    now: () => BigInt(Math.floor(Date.now() / 1000)),
  });
  let done = 0;
  const start = performance.now();
  for (let step = 0; step < steps && performance.now() < deadline; step++) {
    for (const bodies of requests) {
      await witness.processAddCheckpoint(bodies[step] as Uint8Array);
      done++;
    }
  }
  return (done * 1000) / (performance.now() - start);
}

/** OpenedLog is a log on a folder as `vouch log serve` runs it (tiles as files, state in SQLite). */
interface OpenedLog {
  readonly log: Log;
  close(): Promise<void>;
}

async function openLog(
  dir: string,
  signer: NoteSigner,
  cosignWith?: (files: FsBlobStore) => NonNullable<LogOptions['cosign']>,
): Promise<OpenedLog> {
  await mkdir(dir, { recursive: true });
  const db = openSqlite(join(dir, 'state.db'));
  try {
    const files = new FsBlobStore(join(dir, 'tiles'));
    const log = await Log.open({
      origin: signer.name,
      signer,
      files,
      checkpoint: new SqliteCasStore(db).cell('log/checkpoint'),
      sequence: new SqliteSequenceStore(db, signer.name),
      batchAgeMs,
      ...(cosignWith === undefined ? {} : { cosign: cosignWith(files) }),
    });
    return {
      log,
      close: async () => {
        await log.close();
        db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** addLatencies adds `count` entries one at a time and returns each time from `add` to acknowledgement, in ms. */
async function addLatencies(log: Log, from: number, count: number, deadline: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = from; i < from + count && performance.now() < deadline; i++) {
    const entry = new Uint8Array(entrySize).fill(0x2e);
    entry.set(toBytes(String(i)));
    const start = performance.now();
    await withTimeout(log.add(entry), addTimeoutMs, `add ${i} was not acknowledged`);
    times.push(performance.now() - start);
  }
  return times;
}

/** withTimeout settles as `promise` does, or rejects after `ms` (a witness that never answers must not hang the run). */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bench: ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** percentile returns the nearest-rank `p`-th percentile of a non-empty list. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number;
}

function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

/** httpFigure measures add-checkpoint requests/s to the witness child and to the bare sink, in alternating rounds. */
async function httpFigure(
  plan: Plan,
  witnessUrl: string,
  bareUrl: string,
  requests: readonly (readonly Uint8Array[])[],
): Promise<Figure> {
  const witnessRuns: Drive[] = [];
  const bareRuns: Drive[] = [];
  for (let round = 0; round <= plan.rounds; round++) {
    const first = round * plan.stepsPerRound;
    const deadline = performance.now() + plan.seconds * 1000;
    const w = await drive(witnessUrl, requests, first, plan.stepsPerRound, deadline);
    const b = await drive(bareUrl, requests, first, plan.stepsPerRound, deadline);
    if (round > 0) {
      witnessRuns.push(w);
      bareRuns.push(b);
    }
  }
  const failed = witnessRuns.reduce((sum, r) => sum + r.failed, 0);
  const bareFailed = bareRuns.reduce((sum, r) => sum + r.failed, 0);
  return {
    suite: suiteName,
    name: `add-checkpoint with proofs over HTTP, ${plan.origins} logs, ${concurrency} in flight`,
    unit: 'req/s',
    higherIsBetter: true,
    value: median(witnessRuns.map((r) => r.rate)),
    baseline: { name: 'bare node:http reading the same bodies', value: median(bareRuns.map((r) => r.rate)) },
    note:
      `\`vouch witness serve\` in a child process (SQLite, synchronous=FULL) gets ` +
      `${plural(plan.origins * plan.stepsPerRound, 'request')} per round (median of ${plural(plan.rounds, 'round')} ` +
      `after a warm-up), ${plan.stepsPerRound} per log, each with the consistency proof from the size it last ` +
      'cosigned, at most one per log in flight; the bare server, also a child process, gets the same bodies ' +
      'the same way.' +
      (failed === 0 ? '' : ` ${plural(failed, 'request')} to the witness failed.`) +
      (bareFailed === 0 ? '' : ` ${plural(bareFailed, 'request')} to the bare server failed.`),
  };
}

/** inProcessFigure measures processAddCheckpoint on SQLite against the memory store, in alternating rounds. */
async function inProcessFigure(
  plan: Plan,
  logs: readonly BenchLog[],
  requests: readonly (readonly Uint8Array[])[],
  work: string,
): Promise<Figure> {
  const sqliteRates: number[] = [];
  const memoryRates: number[] = [];
  for (let round = 0; round <= plan.rounds; round++) {
    const deadline = performance.now() + plan.seconds * 1000;
    const db = openSqlite(join(work, `in-process-${round}.db`));
    try {
      const rate = await processRate(new SqliteCasStore(db), logs, requests, plan.inProcessSteps, deadline);
      if (round > 0) sqliteRates.push(rate);
    } finally {
      db.close();
    }
    const rate = await processRate(new MemoryCasStore(), logs, requests, plan.inProcessSteps, deadline);
    if (round > 0) memoryRates.push(rate);
  }
  return {
    suite: suiteName,
    name: 'processAddCheckpoint in-process on SQLite',
    unit: 'req/s',
    higherIsBetter: true,
    value: median(sqliteRates),
    baseline: { name: 'the same on the memory CAS store', value: median(memoryRates) },
    note:
      `${plural(plan.origins * plan.inProcessSteps, 'request')} one at a time, round-robin over the logs, ` +
      'into a fresh witness per round (median of ' +
      `${plural(plan.rounds, 'round')}); the gap is the durable commit of each new state.`,
  };
}

/**
 * latencyFigures times sequential adds to a log whose checkpoints need 2 of `witnesses` and to
 * the same log without witnesses, in alternating rounds, and checks the last witnessed checkpoint
 * carries at least two valid cosignatures.
 */
async function latencyFigures(
  plan: Plan,
  witnesses: readonly (Witnessed & { readonly url: string })[],
  signer: NoteSigner,
  work: string,
): Promise<Figure[]> {
  const witnessed = await openLog(join(work, 'log-witnessed'), signer, (files) => {
    const collector = new WitnessCollector({
      witnesses: witnesses.map((w) => ({
        name: w.name,
        verifier: createCheckpointVerifier(w.vkey),
        url: w.url,
      })),
      isQuorum: thresholdQuorum(2),
      files,
    });
    return (note) => collector.cosign(note);
  });
  try {
    const bare = await openLog(join(work, 'log-bare'), signer);
    try {
      const withQuorum: number[] = [];
      const without: number[] = [];
      for (let round = 0; round <= plan.rounds; round++) {
        const deadline = performance.now() + plan.seconds * 1000;
        const w = await addLatencies(witnessed.log, round * plan.adds, plan.adds, deadline);
        const b = await addLatencies(bare.log, round * plan.adds, plan.adds, deadline);
        if (round > 0) {
          withQuorum.push(...w);
          without.push(...b);
        }
      }
      const opened = openNote(
        witnessed.log.head.note,
        verifierSet(
          [formatVerifierKey(signer), ...witnesses.map((w) => w.vkey)].map((k) =>
            createCheckpointVerifier(k),
          ),
        ),
      );
      if (opened.verified.length < 3) throw new Error('bench: the witnessed checkpoint lacks its quorum');
      const p50 = percentile(withQuorum, 50);
      const base50 = percentile(without, 50);
      return [
        {
          suite: suiteName,
          name: 'publication latency p50, 2-of-3 witness quorum',
          unit: 'ms',
          higherIsBetter: false,
          value: p50,
          baseline: { name: 'the same log with no witnesses', value: base50 },
          note:
            `${plural(withQuorum.length, 'add')} per log, one at a time, each timed from add() to its acknowledgement ` +
            `under a published checkpoint (batch age ${batchAgeMs} ms, so one checkpoint per add); three ` +
            '`vouch witness serve` children on loopback, SQLite state. ' +
            `The quorum adds ${(p50 - base50).toFixed(2)} ms at the median (${p50.toFixed(2)} against ${base50.toFixed(2)} ms). ` +
            'The collector publishes as soon as two witnesses have cosigned.',
        },
        {
          suite: suiteName,
          name: 'publication latency p99, 2-of-3 witness quorum',
          unit: 'ms',
          higherIsBetter: false,
          value: percentile(withQuorum, 99),
          baseline: { name: 'the same log with no witnesses', value: percentile(without, 99) },
        },
      ];
    } finally {
      await bare.close();
    }
  } finally {
    await witnessed.close();
  }
}

/** witness is the suite; see the module comment. */
export const witness: Suite = {
  name: 'witness',
  async run({ quick }) {
    const plan = quick ? quickPlan : fullPlan;
    const work = await mkdtemp(join(tmpdir(), 'vouch-bench-witness-'));
    const stops: (() => Promise<void>)[] = [];
    let starting: Promise<unknown> = Promise.resolve();
    try {
      const logs = Array.from({ length: plan.origins }, (_, n) =>
        benchLog(`bench.vouch.example/witnessed/${n}`),
      );
      const published = benchLog('bench.vouch.example/published');
      const folders = await Promise.all(
        ['a', 'b', 'c'].map((x, i) =>
          makeWitnessFolder(
            work,
            `witness.bench.vouch.example/${x}`,
            i === 0 ? [...logs, published] : [published],
          ),
        ),
      );
      const witnessStarts = folders.map(async (folder) => {
        const args = ['witness', 'serve', '--dir', folder.dir, '--listen', '127.0.0.1:0'];
        const server = await startVouchServer(args, work);
        stops.push(() => stopVouch(server));
        return { ...folder, url: server.url };
      });
      const bareStart = startBareSink().then((sink) => {
        stops.push(() => sink.stop());
        return sink;
      });
      starting = Promise.allSettled([...witnessStarts, bareStart]);
      // Prepare the requests while the children start.
      const table = new SubtreeTable(plan.leaves);
      const steps = (plan.rounds + 1) * plan.stepsPerRound;
      const requests: Uint8Array[][] = [];
      for (const [n, log] of logs.entries()) {
        requests.push(await requestsFor(log, table, n, plan.leaves, steps));
      }
      const served = await Promise.all(witnessStarts);
      const bare = await bareStart;
      const [first] = served;
      if (first === undefined) throw new Error('bench: no witness started');
      return [
        await httpFigure(plan, first.url, bare.url, requests),
        await inProcessFigure(plan, logs, requests, work),
        ...(await latencyFigures(plan, served, published.signer, work)),
      ];
    } finally {
      // Let every child still starting come up (or fail), so that none is left running.
      await starting;
      await Promise.all(stops.map((stop) => stop()));
      await rm(work, { recursive: true, force: true });
    }
  },
};
