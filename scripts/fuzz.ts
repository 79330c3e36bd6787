/**
 * The long fuzzing run (`npm run fuzz`): every target of test/fuzz/targets.ts for `--seconds N`
 * each (default 60) or `--runs N` inputs each, in worker threads (`--jobs`, default the number
 * of cores), then a table per target — inputs tried, crashes, slowest input in ms — printed and
 * written to bench/FUZZ.md with the date, Node version and git commit. A worker whose call does
 * not return within `--hang-seconds` (default 10) is stopped and its input reported as a hang.
 * Exits 1 on any crash, printing the minimal counterexample as base64 with its fast-check seed
 * and path so it can be replayed:
 *
 *   node scripts/fuzz.ts [--seconds N | --runs N] [--target a,b] [--jobs N] [--seed N] [--path P]
 *   node scripts/fuzz.ts --target NAME --input BASE64     replay one input
 *
 * bench/FUZZ.md is written only by a run of every target (or with an explicit `--out FILE`).
 */

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { parseBase64 } from '../src/core/bytes/index.ts';
import {
  type CrashReport,
  checkInput,
  describeError,
  formatCrash,
  prepareFixtures,
  type RunResult,
  runTarget,
  targetNamed,
  targets,
} from '../test/fuzz/targets.ts';

/** Job is what the main thread asks one worker to do. */
interface Job {
  readonly name: string;
  readonly runs?: number;
  readonly seconds?: number;
  readonly seed?: number;
  readonly path?: string;
  /** shared holds a call counter, the current input's length and the input's first bytes. */
  readonly shared: SharedArrayBuffer;
}

/** WorkerMessage is what a worker reports: that it started calling, or its result. */
type WorkerMessage =
  | { readonly kind: 'started' }
  | { readonly kind: 'done'; readonly result: RunResult }
  | { readonly kind: 'error'; readonly error: string };

const sharedInputBytes = 256 * 1024;

if (isMainThread) {
  process.exitCode = await main(process.argv.slice(2));
} else {
  await work(workerData as Job);
}

async function work(job: Job): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('fuzz worker has no parent port');
  const target = targetNamed(job.name);
  if (target === undefined) throw new Error(`no fuzz target ${job.name}`);
  const counters = new Int32Array(job.shared, 0, 2);
  const bytes = new Uint8Array(job.shared, 8);
  try {
    await prepareFixtures();
    port.postMessage({ kind: 'started' } satisfies WorkerMessage);
    const result = await runTarget(target, {
      ...(job.runs === undefined ? {} : { runs: job.runs }),
      ...(job.seconds === undefined ? {} : { timeLimitMs: job.seconds * 1000 }),
      ...(job.seed === undefined ? {} : { seed: job.seed }),
      ...(job.path === undefined ? {} : { path: job.path }),
      beforeCall(input) {
        const length = Math.min(input.length, bytes.length);
        bytes.set(input.subarray(0, length));
        Atomics.store(counters, 1, input.length);
        Atomics.add(counters, 0, 1);
      },
    });
    port.postMessage({ kind: 'done', result } satisfies WorkerMessage);
  } catch (error) {
    port.postMessage({ kind: 'error', error: describeError(error) } satisfies WorkerMessage);
  }
}

interface Options {
  readonly seconds: number | undefined;
  readonly runs: number | undefined;
  readonly names: readonly string[];
  readonly jobs: number;
  readonly seed: number | undefined;
  readonly path: string | undefined;
  readonly input: string | undefined;
  readonly out: string | undefined;
  readonly hangSeconds: number;
}

function parseOptions(args: readonly string[]): Options {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] as string;
    const value = args[i + 1];
    if (!flag.startsWith('--') || value === undefined) throw new Error(`usage: ${flag} needs a value`);
    values.set(flag.slice(2), value);
    i++;
  }
  const known = ['seconds', 'runs', 'target', 'jobs', 'seed', 'path', 'input', 'out', 'hang-seconds'];
  for (const key of values.keys()) if (!known.includes(key)) throw new Error(`unknown option --${key}`);
  const number = (key: string): number | undefined => {
    const text = values.get(key);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || (n < 0 && key !== 'seed')) throw new Error(`--${key} must be an integer`);
    return n;
  };
  const runs = number('runs');
  const seconds = number('seconds') ?? (runs === undefined ? 60 : undefined);
  const names = values.get('target')?.split(',') ?? targets.map((t) => t.name);
  for (const name of names) if (targetNamed(name) === undefined) throw new Error(`no fuzz target ${name}`);
  return {
    seconds,
    runs,
    names,
    jobs: Math.max(1, number('jobs') ?? availableParallelism()),
    seed: number('seed'),
    path: values.get('path'),
    input: values.get('input'),
    out: values.get('out') ?? (values.has('target') ? undefined : 'bench/FUZZ.md'),
    hangSeconds: number('hang-seconds') ?? 10,
  };
}

async function main(args: readonly string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (options.input !== undefined) return replay(options);
  const started = Date.now();
  const results = await runAll(options);
  const elapsed = (Date.now() - started) / 1000;
  const table = formatTable(results);
  console.log(table);
  const crashes = results.filter((r) => r.crash !== undefined);
  for (const r of crashes) console.error(`\n${formatCrash(r.name, r.crash as CrashReport)}`);
  if (options.out !== undefined) {
    writeFileSync(options.out, formatReport(options, results, table, elapsed));
    console.log(`\nwrote ${options.out}`);
  }
  return crashes.length === 0 ? 0 : 1;
}

// replay runs one input in this thread and says what the parser did with it.
async function replay(options: Options): Promise<number> {
  const name = options.names[0] as string;
  if (options.names.length !== 1) {
    console.error('--input needs exactly one --target');
    return 2;
  }
  const target = targetNamed(name);
  if (target === undefined) return 2;
  await prepareFixtures();
  const input = parseBase64(options.input as string, '--input');
  try {
    const ms = checkInput(target, input);
    console.log(
      `${name}: no crash (${ms.toFixed(2)} ms): the input was accepted or refused with a VouchError`,
    );
    return 0;
  } catch (error) {
    console.error(`${name}: crash: ${describeError(error)}`);
    if (error instanceof Error && error.stack !== undefined) console.error(error.stack);
    return 1;
  }
}

async function runAll(options: Options): Promise<RunResult[]> {
  const queue = [...options.names];
  const results = new Map<string, RunResult>();
  const next = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const result = await runInWorker(name, options);
      results.set(name, result);
      const note = result.crash === undefined ? '' : `  CRASH: ${result.crash.error}`;
      console.error(`${name}: ${result.runs} inputs, slowest ${result.slowestMs.toFixed(1)} ms${note}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, queue.length) }, next));
  return options.names.map((name) => results.get(name) as RunResult);
}

// runInWorker runs one target in a worker thread, with a watchdog that stops the worker when
// the call counter stands still for hangSeconds and reports the input it was working on.
function runInWorker(name: string, options: Options): Promise<RunResult> {
  const shared = new SharedArrayBuffer(8 + sharedInputBytes);
  const counters = new Int32Array(shared, 0, 2);
  const job: Job = {
    name,
    shared,
    ...(options.runs === undefined ? {} : { runs: options.runs }),
    ...(options.seconds === undefined ? {} : { seconds: options.seconds }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.path === undefined ? {} : { path: options.path }),
  };
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  const lastInput = (): Uint8Array => {
    const length = Math.min(Atomics.load(counters, 1), sharedInputBytes);
    return new Uint8Array(shared, 8, length).slice();
  };
  const failed = (error: string): RunResult => ({
    name,
    runs: Atomics.load(counters, 0),
    slowestMs: 0,
    crash: { error, input: lastInput(), seed: undefined, path: undefined },
  });
  return new Promise((resolve) => {
    let settled = false;
    let seen = -1;
    let still = 0;
    let watchdog: NodeJS.Timeout | undefined;
    const finish = (result: RunResult): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate();
      resolve(result);
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.kind === 'started') {
        watchdog = setInterval(() => {
          const count = Atomics.load(counters, 0);
          still = count === seen ? still + 1 : 0;
          seen = count;
          if (still * 0.5 >= options.hangSeconds) {
            finish(failed(`hang: a call did not return within ${options.hangSeconds} s`));
          }
        }, 500);
      } else if (message.kind === 'done') {
        finish(message.result);
      } else {
        finish(failed(`the run failed: ${message.error}`));
      }
    });
    worker.on('error', (error) => finish(failed(`the worker died: ${describeError(error)}`)));
    worker.on('exit', (code) => finish(failed(`the worker exited with code ${code}`)));
  });
}

function formatTable(results: readonly RunResult[]): string {
  const rows = results.map((r) => [
    r.name,
    String(r.runs),
    String(r.crash === undefined ? 0 : 1),
    r.slowestMs.toFixed(1),
  ]);
  const total = results.reduce((sum, r) => sum + r.runs, 0);
  const crashes = results.filter((r) => r.crash !== undefined).length;
  const slowest = Math.max(0, ...results.map((r) => r.slowestMs));
  rows.push(['**total**', String(total), String(crashes), slowest.toFixed(1)]);
  const header = ['target', 'inputs tried', 'crashes', 'slowest input (ms)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  // The separator row is spelled as Biome formats Markdown tables, so bench/FUZZ.md passes lint.
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

function formatReport(
  options: Options,
  results: readonly RunResult[],
  table: string,
  elapsed: number,
): string {
  const budget =
    options.runs !== undefined ? `${options.runs} inputs per target` : `${options.seconds} s per target`;
  const crashes = results.filter((r) => r.crash !== undefined);
  const lines = [
    '# Fuzzing results',
    '',
    'Written by `node scripts/fuzz.ts` (test/fuzz/targets.ts lists the targets). Property of every',
    'target: the parser returns or throws a VouchError that is not `invariant`, never another',
    'exception, every call takes under 1 s, and an accepted input re-formats to bytes that parse to',
    'the same value where a formatter exists. Inputs are valid encodings made by Vouch itself,',
    'mutated (bit flips, byte sets, truncation, deletion, random insertions, tokens, duplication,',
    'splicing), and pure random bytes and text.',
    '',
    `- date: ${new Date().toISOString()}`,
    `- node: ${process.version}`,
    `- commit: ${gitCommit()}`,
    `- budget: ${budget}, ${options.jobs} worker threads, ${elapsed.toFixed(0)} s in all`,
    `- total: ${results.reduce((sum, r) => sum + r.runs, 0)} inputs over ${results.length} targets, ${crashes.length} crashing targets`,
    '',
    table,
    '',
  ];
  for (const r of crashes) lines.push('```', formatCrash(r.name, r.crash as CrashReport), '```', '');
  return `${lines.join('\n')}`;
}
