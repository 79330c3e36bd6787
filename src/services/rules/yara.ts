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
 */

import { readFileSync } from 'node:fs';
import { Compiler, initSync, type Rules } from '@virustotal/yara-x';
import { toText } from '../../core/bytes/index.ts';
import { VouchError } from '../../core/errors.ts';

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
 * timeout), so a hostile rule or a pathological file can stall the scan; only the buffer size is
 * bounded (by the caller). The fix is to match in a worker thread that a watchdog terminates.
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
