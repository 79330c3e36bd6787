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
 * {@link startYaraMatcher} is what the scanner uses: it compiles the rules in a worker thread
 * (yara-worker.ts) and matches there, one buffer at a time, under a watchdog; a match that
 * overruns is stopped by terminating the worker, and the next match starts a fresh worker, which
 * compiles the rules again. {@link compileYara} stays for `rules compile` and tests.
 */

import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Compiler, initSync, type Rules } from '@virustotal/yara-x';
import { toText } from '../../core/bytes/index.ts';
import { type ErrorCode, type ErrorDetails, VouchError } from '../../core/errors.ts';

/** yaraPackage is the npm package that provides the engine. */
export const yaraPackage = '@virustotal/yara-x';

let engineReady = false;

/** loadEngine instantiates the WebAssembly module once per thread, synchronously, from the package's own file. */
function loadEngine(): void {
  if (engineReady) return;
  const wasm = readFileSync(new URL('yara_x_js_bg.wasm', import.meta.resolve(yaraPackage)));
  initSync({ module: wasm });
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
  loadEngine();
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

/**
 * YaraMatcher is a compiled rule set that matches in a worker thread under a per-call timeout.
 * Calls may overlap; they are queued and run one at a time, and the timeout counts from when a
 * call reaches the worker, not from when it was queued.
 */
export interface YaraMatcher {
  /** files is how many `.yar` files were compiled in. */
  readonly files: number;
  /** warnings are the compiler's warnings, per file, in compile order. */
  readonly warnings: readonly YaraWarning[];
  /**
   * match resolves to the identifiers of the public rules that match `content`, sorted, without
   * repeats. It takes `content`'s buffer: an `ArrayBuffer` is transferred to the worker (and so
   * detached here), so the caller must not use `content` afterwards. Rejects with `unavailable`
   * ("YARA matching timed out after N ms") when the worker has not answered within `timeoutMs`;
   * the worker is then terminated and the next call starts a new one.
   */
  match(content: Uint8Array, timeoutMs: number): Promise<readonly string[]>;
  /** close stops the worker; the matcher must not be used afterwards. */
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

const workerUrl = new URL('./yara-worker.ts', import.meta.url);

/** fromWorker rebuilds the VouchError a worker described. */
function fromWorker(error: WorkerError): VouchError {
  return new VouchError(error.code, error.message, error.details);
}

/** YaraWorker is one live worker thread that has compiled the rules. */
interface YaraWorker {
  readonly thread: Worker;
  readonly files: number;
  readonly warnings: readonly YaraWarning[];
  /** onReply is set while a match is in flight. */
  onReply: ((reply: WorkerReply) => void) | undefined;
  /** onExit is set while a match is in flight. */
  onExit: ((error: Error) => void) | undefined;
}

/** spawnWorker starts a worker on `files` and resolves once it has compiled them; throws what compileYara throws. */
function spawnWorker(files: ReadonlyMap<string, Uint8Array>, options: YaraOptions): Promise<YaraWorker> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(workerUrl, {
      workerData: { files: new Map(files), timeoutSeconds: options.timeoutSeconds },
    });
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
      else worker.onExit?.(error);
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
 * startYaraMatcher compiles `files` as {@link compileYara} does, but in a worker thread, and
 * resolves to a {@link YaraMatcher} over them. Rejects with what compileYara throws (`malformed`
 * naming the file) when they do not compile. The caller must {@link YaraMatcher.close} it.
 */
export async function startYaraMatcher(
  files: ReadonlyMap<string, Uint8Array>,
  options: YaraOptions = defaultYaraOptions,
): Promise<YaraMatcher> {
  let current: YaraWorker | undefined = await spawnWorker(files, options);
  const { files: count, warnings } = current;
  let closed = false;
  let nextId = 0;
  // Calls run one at a time: each waits for the one before it to settle.
  let queue: Promise<unknown> = Promise.resolve();

  const matchNow = async (content: Uint8Array, timeoutMs: number): Promise<readonly string[]> => {
    if (closed) throw new VouchError('invariant', 'internal error: YARA matcher used after close');
    current ??= await spawnWorker(files, options);
    const worker = current;
    const id = nextId++;
    return new Promise<readonly string[]>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        worker.onReply = undefined;
        worker.onExit = undefined;
      };
      const timer = setTimeout(() => {
        finish();
        current = undefined;
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
        if (current === worker) current = undefined;
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
  };

  return Object.freeze({
    files: count,
    warnings,
    match(content: Uint8Array, timeoutMs: number): Promise<readonly string[]> {
      if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
        return Promise.reject(
          new VouchError('invalid-argument', 'YARA timeout must be a positive whole number of milliseconds'),
        );
      const result = queue.then(() => matchNow(content, timeoutMs));
      queue = result.catch(() => undefined);
      return result;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await queue;
      const worker = current;
      current = undefined;
      if (worker !== undefined) {
        worker.thread.removeAllListeners('exit');
        await worker.thread.terminate();
      }
    },
  });
}
