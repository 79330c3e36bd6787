/**
 * YARA rules through YARA-X (https://virustotal.github.io/yara-x/), the npm package
 * `@virustotal/yara-x` (WebAssembly built with wasm-bindgen, no native addon). This is the only
 * module that imports the package, so the engine can be replaced in one place. It compiles a
 * database's `.yar` members into one rule set, in the default namespace and in file-name order,
 * exactly as `yara` sees the concatenation that `vouch rules export --yara` writes; a file that
 * does not compile is refused with its name and the compiler's message. Matching runs one
 * in-memory buffer per call and reports the names of the public rules that matched.
 *
 * It deliberately does not judge atom quality (YARA-X's own "slow pattern" diagnostics are passed
 * on as warnings, not refusals), does not scan files (services/scanner reads them), and does not
 * store compiled rules: YARA-X's serialized form is tied to its exact version, and compiling at
 * load is cheap (measured with 1.20.0: 2,000 rules with 20,000 strings in about 0.55 s, a few
 * rules in about 20 ms including the first load of the WebAssembly module), so sources are the
 * members. LIMIT: `include` directives are not supported (sources are added as text, with no
 * file system to resolve them from).
 *
 * {@link startYaraMatcher} is what the scanner uses: it compiles the rules in a pool of worker
 * threads (yara-worker.ts), each matching one buffer at a time under a watchdog; a match that
 * overruns is stopped by terminating its worker, and the next match given to that place in the
 * pool starts a fresh worker, which compiles the rules again. YARA-X's JavaScript API has no way
 * to serialize compiled rules, so every worker compiles them itself, all at once at start
 * (measured with 1.20.0 on two cores, 2,000 rules with 20,000 strings: a pool of one is ready in
 * about 0.5 s, a pool of two in about 0.6 s). Each worker also compiles the engine's WebAssembly
 * module itself (20 to 30 ms): sharing one compiled module between threads crashed Node 24.21's V8
 * now and then when a worker ended (a fatal check in UnregisterWasmAllocation). Matching throughput grows with the pool while cores are free (the same rules over a
 * 64 MiB corpus: about 30 MiB/s with one worker, 53 MiB/s with two). {@link compileYara} stays
 * for `rules compile` and tests.
 */

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Compiler, initSync, type Rules } from '@virustotal/yara-x';
import { toText } from '../../core/bytes/index.ts';
import { type ErrorCode, type ErrorDetails, VouchError } from '../../core/errors.ts';

/** yaraPackage is the npm package that provides the engine. */
export const yaraPackage = '@virustotal/yara-x';

let engineReady = false;

/** wasm is the one WebAssembly constructor used here, typed by hand: the es2024 lib this project compiles against declares no WebAssembly types. */
const wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } })
  .WebAssembly;

/**
 * loadYaraEngine compiles and instantiates the engine once per thread, synchronously, from the
 * package's own WebAssembly file. Later calls do nothing.
 */
export function loadYaraEngine(): void {
  if (engineReady) return;
  const module = new wasm.Module(
    readFileSync(new URL('yara_x_js_bg.wasm', import.meta.resolve(yaraPackage))),
  );
  initSync({ module });
  engineReady = true;
}

let engineVersion: string | undefined;

/** yaraEngineVersion returns the version of the installed YARA-X package, for example `1.20.0`. */
export function yaraEngineVersion(): string {
  if (engineVersion === undefined) {
    const manifest = JSON.parse(
      readFileSync(new URL(import.meta.resolve(`${yaraPackage}/package.json`)), 'utf8'),
    ) as { version?: unknown };
    if (typeof manifest.version !== 'string')
      throw new VouchError('invariant', `internal error: ${yaraPackage} has no version`);
    engineVersion = manifest.version;
  }
  return engineVersion;
}

/** YaraWarning is one compiler warning, attributed to the file that produced it. */
export interface YaraWarning {
  readonly file: string;
  readonly message: string;
}

/** YaraRuleSet is a compiled set of rules, ready to match buffers. */
export interface YaraRuleSet {
  /** files is how many `.yar` files were compiled in. */
  readonly files: number;
  /** warnings are the compiler's warnings, per file, in compile order. */
  readonly warnings: readonly YaraWarning[];
  /** match returns the identifiers of the public rules that match `content`, sorted, without repeats. */
  match(content: Uint8Array): readonly string[];
  /** close frees the engine's memory; the set must not be used afterwards. */
  close(): void;
}

/**
 * YaraOptions bound matching. BUG: YARA-X 1.20.0's WebAssembly build does not enforce the timeout
 * (measured: a condition looping 4*10^8 times over a 20 KB buffer ran past 90 s with a 1 s
 * timeout), so a hostile rule or a pathological file can stall a {@link compileYara} set; only the
 * buffer size is bounded (by the caller). {@link startYaraMatcher} works around it with a worker
 * thread that a watchdog terminates.
 */
export interface YaraOptions {
  /** timeoutSeconds is passed to YARA-X for one match call; if it fires, the call throws `unavailable`. */
  readonly timeoutSeconds: number;
}

/** defaultYaraOptions: 10 seconds per buffer. */
export const defaultYaraOptions: YaraOptions = Object.freeze({ timeoutSeconds: 10 });

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * compileYara compiles `files` (a file name such as `NAME.yar` → its bytes) in name order into
 * one rule set. Throws `malformed` naming the file and quoting YARA-X's message when a file is
 * not UTF-8 or does not compile (including a rule name already used by an earlier file). The
 * caller owns the result and must {@link YaraRuleSet.close} it.
 */
export function compileYara(
  files: ReadonlyMap<string, Uint8Array>,
  options: YaraOptions = defaultYaraOptions,
): YaraRuleSet {
  loadYaraEngine();
  const compiler = new Compiler();
  const warnings: YaraWarning[] = [];
  let rules: Rules;
  try {
    const names = [...files.keys()].sort();
    for (const name of names) {
      let text: string;
      try {
        text = toText(files.get(name) as Uint8Array);
      } catch (error) {
        throw new VouchError(
          'malformed',
          `YARA file ${name} is not valid UTF-8`,
          { field: name },
          { cause: error },
        );
      }
      const seen = compiler.warnings.length;
      try {
        compiler.addSource(text);
      } catch (error) {
        throw new VouchError('malformed', `YARA file ${name} does not compile: ${messageOf(error)}`, {
          field: name,
        });
      }
      // YARA-X may report one warning twice (seen with slow_pattern): keep each once.
      for (const message of new Set(compiler.warnings.slice(seen)))
        warnings.push(Object.freeze({ file: name, message }));
    }
    try {
      rules = compiler.build();
    } catch (error) {
      throw new VouchError('malformed', `YARA rules do not compile: ${messageOf(error)}`, { field: 'yara' });
    }
  } finally {
    compiler.free();
  }
  const scanner = rules.scanner();
  scanner.setTimeoutMs(Math.max(1, Math.round(options.timeoutSeconds * 1000)));
  let closed = false;
  return Object.freeze({
    files: files.size,
    warnings: Object.freeze(warnings),
    match(content: Uint8Array): readonly string[] {
      if (closed) throw new VouchError('invariant', 'internal error: YARA rule set used after close');
      let result: unknown;
      try {
        result = scanner.scan(content);
      } catch (error) {
        throw new VouchError('unavailable', `YARA scan failed: ${messageOf(error)}`);
      }
      return matchedRules(result);
    },
    close(): void {
      if (closed) return;
      closed = true;
      scanner.free();
      rules.free();
    },
  });
}

/** matchedRules reads the public rule identifiers out of a YARA-X scan result. */
function matchedRules(result: unknown): readonly string[] {
  const matches = (result as { matches?: unknown } | null)?.matches;
  if (!Array.isArray(matches))
    throw new VouchError('invariant', 'internal error: unexpected YARA-X scan result');
  const names = new Set<string>();
  for (const m of matches as unknown[]) {
    const { identifier, isPrivate } = m as { identifier?: unknown; isPrivate?: unknown };
    if (typeof identifier !== 'string')
      throw new VouchError('invariant', 'internal error: YARA-X match without an identifier');
    if (isPrivate !== true) names.add(identifier);
  }
  return Object.freeze([...names].sort());
}

/** maxYaraWorkers bounds {@link YaraMatcherOptions.workers}: each worker holds its own compiled copy of the rules. */
export const maxYaraWorkers = 64;

/**
 * defaultYaraWorkers is the number of matcher threads to use when the caller has no preference:
 * the machine's available parallelism, at most 8 (each worker costs a compile of the rules at
 * start and a copy of them in memory, and a scan rarely has more than 8 files' worth of work
 * ready at once).
 */
export function defaultYaraWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

/** YaraMatcherOptions are {@link YaraOptions} plus the size of the worker pool. */
export interface YaraMatcherOptions extends YaraOptions {
  /** workers is how many worker threads match at once, from 1 to {@link maxYaraWorkers}. */
  readonly workers: number;
}

/** defaultYaraMatcherOptions: 10 seconds per buffer (not enforced by YARA-X, see above), one worker. */
export const defaultYaraMatcherOptions: YaraMatcherOptions = Object.freeze({
  timeoutSeconds: 10,
  workers: 1,
});

/**
 * YaraMatcher is a compiled rule set that matches in a pool of worker threads, each call under
 * its own timeout. Calls may overlap: up to `workers` run at once, each on an idle worker, and the
 * rest wait in a queue in call order; the timeout counts from when a call reaches its worker, not
 * from when it was queued. Calls are not answered in call order: a small buffer queued after a big
 * one may finish first.
 */
export interface YaraMatcher {
  /** files is how many `.yar` files were compiled in. */
  readonly files: number;
  /** warnings are the compiler's warnings, per file, in compile order. */
  readonly warnings: readonly YaraWarning[];
  /** workers is the size of the pool. */
  readonly workers: number;
  /**
   * match resolves to the identifiers of the public rules that match `content`, sorted, without
   * repeats. It takes `content`'s buffer: an `ArrayBuffer` is transferred to the worker (and so
   * detached here), so the caller must not use `content` afterwards. Rejects with `unavailable`
   * ("YARA matching timed out after N ms") when the worker has not answered within `timeoutMs`;
   * that worker is then terminated, and the next call given to its place in the pool starts a new
   * one (which compiles the rules again) while the other workers go on.
   */
  match(content: Uint8Array, timeoutMs: number): Promise<readonly string[]>;
  /** close waits for the calls already made, then stops the workers; the matcher must not be used afterwards. */
  close(): Promise<void>;
}

/** WorkerError is a VouchError as it crosses the thread boundary. */
interface WorkerError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: ErrorDetails;
}

/** WorkerReply is any message yara-worker.ts posts. */
type WorkerReply =
  | { readonly kind: 'ready'; readonly files: number; readonly warnings: readonly YaraWarning[] }
  | { readonly kind: 'failed'; readonly error: WorkerError }
  | { readonly kind: 'matched'; readonly id: number; readonly names: readonly string[] }
  | { readonly kind: 'error'; readonly id: number; readonly error: WorkerError };

// Built output (dist/) holds yara-worker.js beside yara.js; the sources run as .ts.
const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './yara-worker.ts' : './yara-worker.js',
  import.meta.url,
);

/** fromWorker rebuilds the VouchError a worker described. */
function fromWorker(error: WorkerError): VouchError {
  return new VouchError(error.code, error.message, error.details);
}

/** YaraWorker is one live worker thread that has compiled the rules. */
interface YaraWorker {
  readonly thread: Worker;
  readonly files: number;
  readonly warnings: readonly YaraWarning[];
  /** exited turns true when the thread has stopped, for whatever reason. */
  exited: boolean;
  /** onReply is set while a match is in flight. */
  onReply: ((reply: WorkerReply) => void) | undefined;
  /** onExit is set while a match is in flight. */
  onExit: ((error: Error) => void) | undefined;
}

/** WorkerData is what yara-worker.ts receives: the rule files and the timeout. */
export interface YaraWorkerData {
  readonly files: Map<string, Uint8Array>;
  readonly timeoutSeconds: number;
}

/** spawnWorker starts a worker on `files` and resolves once it has compiled them; throws what compileYara throws. */
function spawnWorker(files: ReadonlyMap<string, Uint8Array>, options: YaraOptions): Promise<YaraWorker> {
  return new Promise((resolve, reject) => {
    // The worker compiles the engine's WebAssembly module itself (see the module comment).
    const workerData: YaraWorkerData = { files: new Map(files), timeoutSeconds: options.timeoutSeconds };
    const thread = new Worker(workerUrl, { workerData });
    let worker: YaraWorker | undefined;
    thread.on('message', (reply: WorkerReply) => {
      if (worker !== undefined) {
        worker.onReply?.(reply);
        return;
      }
      if (reply.kind === 'ready') {
        // An idle worker must not keep the process alive (a compiling one must); an in-flight
        // match holds a timer that does.
        thread.unref();
        worker = {
          thread,
          files: reply.files,
          warnings: reply.warnings,
          exited: false,
          onReply: undefined,
          onExit: undefined,
        };
        resolve(worker);
      } else if (reply.kind === 'failed') {
        void thread.terminate();
        reject(fromWorker(reply.error));
      } else reject(new VouchError('invariant', 'internal error: YARA worker answered before it was ready'));
    });
    const failed = (error: Error) => {
      if (worker === undefined) reject(error);
      else {
        worker.exited = true;
        worker.onExit?.(error);
      }
    };
    thread.on('error', (error) =>
      failed(new VouchError('unavailable', `YARA worker failed: ${messageOf(error)}`, {}, { cause: error })),
    );
    thread.on('exit', (code) =>
      failed(new VouchError('unavailable', `YARA worker exited unexpectedly (code ${code})`)),
    );
  });
}

/**
 * post sends `content` to the worker, transferring its buffer when it may be transferred and
 * copying it otherwise (a SharedArrayBuffer, or an untransferable one such as Node's Buffer pool).
 */
function post(thread: Worker, id: number, content: Uint8Array): void {
  const { buffer } = content;
  if (buffer instanceof ArrayBuffer)
    try {
      thread.postMessage({ id, buffer, offset: content.byteOffset, length: content.byteLength }, [buffer]);
      return;
    } catch {
      // Not transferable: fall through to a copy.
    }
  const copy = content.slice();
  thread.postMessage({ id, buffer: copy.buffer, offset: 0, length: copy.byteLength }, [copy.buffer]);
}

/**
 * matchOn runs one match on `worker` under a `timeoutMs` watchdog that terminates the worker (and
 * marks it exited) when it fires.
 */
function matchOn(
  worker: YaraWorker,
  id: number,
  content: Uint8Array,
  timeoutMs: number,
): Promise<readonly string[]> {
  return new Promise<readonly string[]>((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      worker.onReply = undefined;
      worker.onExit = undefined;
    };
    const timer = setTimeout(() => {
      finish();
      worker.exited = true;
      void worker.thread.terminate();
      reject(new VouchError('unavailable', `YARA matching timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    worker.onReply = (reply) => {
      if ((reply.kind !== 'matched' && reply.kind !== 'error') || reply.id !== id) return;
      finish();
      if (reply.kind === 'matched') resolve(Object.freeze([...reply.names]));
      else reject(fromWorker(reply.error));
    };
    worker.onExit = (error) => {
      finish();
      reject(error);
    };
    try {
      post(worker.thread, id, content);
    } catch (error) {
      finish();
      reject(
        new VouchError('unavailable', `YARA worker unreachable: ${messageOf(error)}`, {}, { cause: error }),
      );
    }
  });
}

/** Slot is one place in the pool: its worker (none before a respawn) and whether a call holds it. */
interface Slot {
  worker: YaraWorker | undefined;
  busy: boolean;
}

/** Call is one queued {@link YaraMatcher.match}. */
interface Call {
  readonly content: Uint8Array;
  readonly timeoutMs: number;
  readonly resolve: (names: readonly string[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * startYaraMatcher compiles `files` as {@link compileYara} does, but in `options.workers` worker
 * threads at once (each compiles them: YARA-X's JavaScript API cannot serialize compiled rules),
 * and resolves to a
 * {@link YaraMatcher} over them once all have. Rejects with `invalid-argument` for a pool size
 * outside 1 to {@link maxYaraWorkers}, and with what compileYara throws (`malformed` naming the
 * file) when the rules do not compile. The caller must {@link YaraMatcher.close} it.
 */
export async function startYaraMatcher(
  files: ReadonlyMap<string, Uint8Array>,
  options: Partial<YaraMatcherOptions> = {},
): Promise<YaraMatcher> {
  const settings: YaraMatcherOptions = { ...defaultYaraMatcherOptions, ...options };
  const { workers } = settings;
  if (!Number.isSafeInteger(workers) || workers < 1 || workers > maxYaraWorkers)
    throw new VouchError(
      'invalid-argument',
      `YARA worker count must be an integer from 1 to ${maxYaraWorkers}, not ${workers}`,
    );
  const started = await Promise.allSettled(
    Array.from({ length: workers }, () => spawnWorker(files, settings)),
  );
  const failure = started.find((s) => s.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(
      started.map((s) => (s.status === 'fulfilled' ? s.value.thread.terminate() : undefined)),
    );
    throw failure.reason;
  }
  const slots: Slot[] = started.map((s) => ({
    worker: s.status === 'fulfilled' ? s.value : undefined,
    busy: false,
  }));
  const first = slots[0]?.worker;
  if (first === undefined) throw new VouchError('invariant', 'internal error: YARA pool without a worker');
  const { files: count, warnings } = first;
  const queue: Call[] = [];
  let closed = false;
  let nextId = 0;
  let running = 0;
  let onIdle: (() => void) | undefined;

  // runCall runs one call on `slot`, first replacing a worker that timed out or died.
  const runCall = async (slot: Slot, call: Call): Promise<void> => {
    try {
      if (slot.worker === undefined || slot.worker.exited) {
        slot.worker = undefined;
        slot.worker = await spawnWorker(files, settings);
      }
      const worker = slot.worker;
      const names = await matchOn(worker, nextId++, call.content, call.timeoutMs);
      call.resolve(names);
    } catch (error) {
      call.reject(error);
    }
  };

  // pump hands queued calls to idle slots, in call order.
  const pump = (): void => {
    for (const slot of slots) {
      const call = slot.busy ? undefined : queue.shift();
      if (call === undefined) continue;
      slot.busy = true;
      running++;
      void runCall(slot, call).then(() => {
        slot.busy = false;
        running--;
        pump();
        if (running === 0 && queue.length === 0) onIdle?.();
      });
    }
  };

  return Object.freeze({
    files: count,
    warnings,
    workers,
    match(content: Uint8Array, timeoutMs: number): Promise<readonly string[]> {
      if (closed)
        return Promise.reject(new VouchError('invariant', 'internal error: YARA matcher used after close'));
      if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
        return Promise.reject(
          new VouchError('invalid-argument', 'YARA timeout must be a positive whole number of milliseconds'),
        );
      return new Promise<readonly string[]>((resolve, reject) => {
        queue.push({ content, timeoutMs, resolve, reject });
        pump();
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (running > 0 || queue.length > 0)
        await new Promise<void>((resolve) => {
          onIdle = resolve;
        });
      await Promise.all(
        slots.map((slot) => {
          const worker = slot.worker;
          slot.worker = undefined;
          if (worker === undefined) return undefined;
          worker.thread.removeAllListeners('exit');
          return worker.thread.terminate();
        }),
      );
    },
  });
}
