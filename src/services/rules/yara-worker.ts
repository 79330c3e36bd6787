/**
 * The worker-thread side of services/rules/yara.ts's {@link startYaraMatcher}: it instantiates
 * the engine (compiling its WebAssembly module in this thread), compiles the rule files it is given
 * in `workerData` once, replies `ready` (with the file count and warnings)
 * or `failed` (with the VouchError's code, message and details), then answers each `match`
 * request, one at a time, with the matched rule names or the error. It exists so that the main
 * thread can terminate a match that runs away (YARA-X's WebAssembly build ignores its timeout).
 * It deliberately does no bounding of its own: the parent's watchdog does that. The parent runs
 * several of these at once; each is unaware of the others.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { isVouchError } from '../../core/errors.ts';
import { compileYara, loadYaraEngine, type YaraRuleSet, type YaraWorkerData } from './yara.ts';

/** describe turns a thrown value into the `{code, message, details}` the parent rebuilds a VouchError from. */
function describe(error: unknown): { code: string; message: string; details: Record<string, unknown> } {
  if (isVouchError(error)) return { code: error.code, message: error.message, details: { ...error.details } };
  return { code: 'invariant', message: `internal error in YARA worker: ${String(error)}`, details: {} };
}

const port = parentPort;
if (port === null) throw new Error('yara-worker.ts must run in a worker thread');
const { files, timeoutSeconds } = workerData as YaraWorkerData;
let rules: YaraRuleSet | undefined;
try {
  loadYaraEngine();
  rules = compileYara(files, { timeoutSeconds });
  port.postMessage({ kind: 'ready', files: rules.files, warnings: rules.warnings });
} catch (error) {
  port.postMessage({ kind: 'failed', error: describe(error) });
}
const compiled = rules;
if (compiled !== undefined)
  port.on('message', (request: { id: number; buffer: ArrayBuffer; offset: number; length: number }) => {
    try {
      const names = compiled.match(new Uint8Array(request.buffer, request.offset, request.length));
      port.postMessage({ kind: 'matched', id: request.id, names: [...names] });
    } catch (error) {
      port.postMessage({ kind: 'error', id: request.id, error: describe(error) });
    }
  });
