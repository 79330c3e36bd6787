/**
 * The build recipe: a JSON document telling the conveyer what to fetch, which host tools the
 * sandbox may see, which commands to run and which outputs to pack (docs: examples/README.md and
 * the field list on {@link Recipe}). Example:
 *
 * ```json
 * { "name": "hello", "version": "1.0.0",
 *   "inputs": [{ "name": "greeting.txt", "kind": "file", "path": "greeting.txt",
 *                "sha256": "<64 hex>", "size": 13 }],
 *   "tools": ["/usr/bin/sh"],
 *   "steps": [{ "name": "generate", "argv": ["/bin/sh", "/build/src/build.sh"], "timeoutSeconds": 60 }],
 *   "outputs": ["hello.txt", "bin"],
 *   "packing": { "format": "tar.gz" } }
 * ```
 *
 * Validation is strict: unknown fields are refused, every bad field path is named in one error
 * (`details.fields`), sizes and counts are capped before anything else. Steps are argv arrays,
 * never shell strings, so nothing is re-parsed by a shell the recipe did not name. This module
 * does not fetch inputs or run anything (services/conveyer does).
 */

import { FieldProblems } from '../attest/fields.ts';
import { VouchError } from '../errors.ts';
import {
  type FieldPath,
  isJsonArray,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseJson,
} from '../json/index.ts';

/** recipeLimits are the caps {@link parseRecipe} applies. */
export const recipeLimits = Object.freeze({
  maxBytes: 64 * 1024,
  maxInputs: 256,
  maxTools: 64,
  maxSteps: 64,
  maxArgs: 256,
  maxArgLength: 4096,
  maxOutputs: 1024,
  maxPathLength: 255,
  /** maxInputSize is the largest pinned input, in bytes (4 GiB). */
  maxInputSize: 4 * 1024 * 1024 * 1024,
  /** maxTimeoutSeconds is the longest per-step timeout (one day). */
  maxTimeoutSeconds: 86_400,
});

/** stepLimitRanges are the inclusive ranges of the optional per-step {@link StepLimits}. */
export const stepLimitRanges = Object.freeze({
  cpuSeconds: Object.freeze({ min: 1, max: 86_400 }),
  addressSpaceBytes: Object.freeze({ min: 1024 * 1024, max: 2 ** 44 }),
  fileSizeBytes: Object.freeze({ min: 0, max: 2 ** 40 }),
  processes: Object.freeze({ min: 1, max: 65_536 }),
});

/** RecipeInput is one pinned input: a local path (relative to the recipe's folder) or a URL. */
export interface RecipeInput {
  /** name is the file name the input gets under `/build/inputs` inside the sandbox. */
  readonly name: string;
  readonly kind: 'file' | 'tarball';
  /** path is a local file, relative to the folder holding the recipe; exactly one of path, url. */
  readonly path?: string;
  /** url is an http or https URL, fetched outside the sandbox; the pin, not TLS, is the check. */
  readonly url?: string;
  /** sha256 is the lowercase hex pin; a mismatching input stops the build. */
  readonly sha256: string;
  /** size is the exact byte size; it also bounds how much is read while fetching. */
  readonly size: number;
}

/**
 * StepLimits are a step's resource limits (rlimits inside the sandbox); each is optional and
 * the conveyer's default applies to a missing one (services/conveyer/limits.ts).
 */
export interface StepLimits {
  readonly cpuSeconds?: number;
  readonly addressSpaceBytes?: number;
  readonly fileSizeBytes?: number;
  readonly processes?: number;
}

/** RecipeStep is one command run inside the sandbox, from `/build/src`. */
export interface RecipeStep {
  readonly name: string;
  /** argv is the program (absolute path) and its arguments; no shell is involved unless named. */
  readonly argv: readonly string[];
  readonly timeoutSeconds: number;
  readonly limits?: StepLimits;
}

/** Recipe is a validated, deeply frozen build recipe. */
export interface Recipe {
  readonly name: string;
  readonly version: string;
  readonly inputs: readonly RecipeInput[];
  /** tools are absolute host paths bound read-only at the same path inside the sandbox. */
  readonly tools: readonly string[];
  readonly steps: readonly RecipeStep[];
  /** outputs are files or folders relative to `/build/out`; only these are packed. */
  readonly outputs: readonly string[];
  readonly packing: { readonly format: 'tar.gz' };
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const hexPattern = /^[0-9a-f]{64}$/;

/**
 * isSafeRelativePath reports whether `path` is a normalised relative path: non-empty segments
 * separated by single slashes, no `.` or `..`, no leading or trailing slash, no NUL or newline.
 */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || /[\0\n\r\\]/.test(path)) return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function isAbsoluteClean(path: string): boolean {
  return path.startsWith('/') && path.length > 1 && isSafeRelativePath(path.slice(1));
}

/**
 * parseRecipe reads a recipe from JSON bytes. It throws `too-large` over a cap in
 * {@link recipeLimits}, and `malformed` naming every bad field path in `details.fields`.
 */
export function parseRecipe(bytes: Uint8Array): Recipe {
  return recipeFromJson(parseJson(bytes, { maxBytes: recipeLimits.maxBytes }));
}

/** recipeFromJson validates an already parsed JSON value as a recipe, like {@link parseRecipe}. */
export function recipeFromJson(value: JsonValue): Recipe {
  const problems = new FieldProblems();
  if (!isJsonObject(value)) {
    throw new VouchError('malformed', 'build recipe is not a JSON object', { field: '$', fields: ['$'] });
  }
  onlyKeys(value, [], ['name', 'version', 'inputs', 'tools', 'steps', 'outputs', 'packing'], problems);
  const name = text(value['name'], ['name'], problems, namePattern);
  const version = text(value['version'], ['version'], problems, namePattern);

  const inputs = list(value['inputs'], ['inputs'], recipeLimits.maxInputs, problems).flatMap((entry, i) => {
    const input = readInput(entry, ['inputs', i], problems);
    return input === undefined ? [] : [input];
  });
  unique(
    inputs.map((input) => input.name),
    'inputs',
    'name',
    problems,
  );

  const tools = list(value['tools'], ['tools'], recipeLimits.maxTools, problems).flatMap((entry, i) => {
    const tool = text(entry, ['tools', i], problems);
    if (tool === undefined) return [];
    if (!isAbsoluteClean(tool) || tool.length > 4096) {
      problems.add(['tools', i], 'is not a clean absolute path');
      return [];
    }
    return [tool];
  });

  const stepList = list(value['steps'], ['steps'], recipeLimits.maxSteps, problems);
  if (isJsonArray(value['steps']) && stepList.length === 0) problems.add(['steps'], 'is empty');
  const steps = stepList.flatMap((entry, i) => {
    const step = readStep(entry, ['steps', i], problems);
    return step === undefined ? [] : [step];
  });

  const outputList = list(value['outputs'], ['outputs'], recipeLimits.maxOutputs, problems);
  if (isJsonArray(value['outputs']) && outputList.length === 0) problems.add(['outputs'], 'is empty');
  const outputs = outputList.flatMap((entry, i) => {
    const output = text(entry, ['outputs', i], problems);
    if (output === undefined) return [];
    if (!isSafeRelativePath(output) || output.length > recipeLimits.maxPathLength) {
      problems.add(['outputs', i], 'is not a safe relative path');
      return [];
    }
    return [output];
  });
  unique(outputs, 'outputs', undefined, problems);

  const packing = value['packing'];
  if (!isJsonObject(packing)) {
    problems.add(['packing'], packing === undefined ? 'missing' : 'not an object');
  } else {
    onlyKeys(packing, ['packing'], ['format'], problems);
    if (packing['format'] !== 'tar.gz') problems.add(['packing', 'format'], 'is not "tar.gz"');
  }

  problems.throwIfAny('build recipe');
  if (name === undefined || version === undefined) {
    throw new VouchError('invariant', 'internal error: recipe fields missing after validation');
  }
  return deepFreeze({ name, version, inputs, tools, steps, outputs, packing: { format: 'tar.gz' as const } });
}

/** formatRecipe returns a recipe as canonical-order JSON bytes that {@link parseRecipe} reads back. */
export function formatRecipe(recipe: Recipe): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(recipe, null, 2)}\n`);
}

function readInput(value: JsonValue, path: FieldPath, problems: FieldProblems): RecipeInput | undefined {
  if (!isJsonObject(value)) {
    problems.add(path, 'not an object');
    return undefined;
  }
  const before = problems.count;
  onlyKeys(value, path, ['name', 'kind', 'path', 'url', 'sha256', 'size'], problems);
  const name = text(value['name'], [...path, 'name'], problems, namePattern);
  const kind = value['kind'];
  if (kind !== 'file' && kind !== 'tarball') problems.add([...path, 'kind'], 'is not "file" or "tarball"');
  const local = value['path'];
  const url = value['url'];
  if ((local === undefined) === (url === undefined)) {
    problems.add(path, 'needs exactly one of path and url');
  }
  if (local !== undefined) {
    if (typeof local !== 'string' || !isSafeRelativePath(local) || local.length > 4096) {
      problems.add([...path, 'path'], 'is not a safe relative path');
    }
  }
  if (url !== undefined) {
    if (typeof url !== 'string' || !/^https?:\/\/[^\s]{1,2040}$/.test(url)) {
      problems.add([...path, 'url'], 'is not an http or https URL');
    }
  }
  const sha256 = text(value['sha256'], [...path, 'sha256'], problems, hexPattern);
  const size = value['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    problems.add([...path, 'size'], 'is not a non-negative integer');
  } else if (size > recipeLimits.maxInputSize) {
    problems.add([...path, 'size'], `exceeds ${recipeLimits.maxInputSize}`);
  }
  if (problems.count !== before || name === undefined || sha256 === undefined) return undefined;
  return {
    name,
    kind: kind as 'file' | 'tarball',
    ...(typeof local === 'string' ? { path: local } : {}),
    ...(typeof url === 'string' ? { url } : {}),
    sha256,
    size: size as number,
  };
}

function readStep(value: JsonValue, path: FieldPath, problems: FieldProblems): RecipeStep | undefined {
  if (!isJsonObject(value)) {
    problems.add(path, 'not an object');
    return undefined;
  }
  const before = problems.count;
  onlyKeys(value, path, ['name', 'argv', 'timeoutSeconds', 'limits'], problems);
  const name = text(value['name'], [...path, 'name'], problems, namePattern);
  const argvList = list(value['argv'], [...path, 'argv'], recipeLimits.maxArgs, problems);
  if (isJsonArray(value['argv']) && argvList.length === 0) problems.add([...path, 'argv'], 'is empty');
  const argv = argvList.map((arg, i) => {
    if (typeof arg !== 'string' || arg.includes('\0') || arg.length > recipeLimits.maxArgLength) {
      problems.add([...path, 'argv', i], 'is not a string without NUL of at most 4096 characters');
      return '';
    }
    return arg;
  });
  if (typeof argv[0] === 'string' && argv[0] !== '' && !isAbsoluteClean(argv[0])) {
    problems.add([...path, 'argv', 0], 'is not an absolute program path');
  }
  const timeout = value['timeoutSeconds'];
  if (
    typeof timeout !== 'number' ||
    !Number.isSafeInteger(timeout) ||
    timeout < 1 ||
    timeout > recipeLimits.maxTimeoutSeconds
  ) {
    problems.add(
      [...path, 'timeoutSeconds'],
      `is not an integer from 1 to ${recipeLimits.maxTimeoutSeconds}`,
    );
  }
  const limits = readLimits(value['limits'], [...path, 'limits'], problems);
  if (problems.count !== before || name === undefined) return undefined;
  return { name, argv, timeoutSeconds: timeout as number, ...(limits === undefined ? {} : { limits }) };
}

function readLimits(value: JsonValue | undefined, path: FieldPath, problems: FieldProblems) {
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) {
    problems.add(path, 'not an object');
    return undefined;
  }
  const keys = Object.keys(stepLimitRanges) as (keyof StepLimits)[];
  onlyKeys(value, path, keys, problems);
  const limits: { -readonly [K in keyof StepLimits]: number } = {};
  for (const key of keys) {
    const limit = value[key];
    if (limit === undefined) continue;
    const { min, max } = stepLimitRanges[key];
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < min || limit > max) {
      problems.add([...path, key], `is not an integer from ${min} to ${max}`);
    } else limits[key] = limit;
  }
  return limits;
}

function onlyKeys(
  value: JsonObject,
  path: FieldPath,
  allowed: readonly string[],
  problems: FieldProblems,
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.add([...path, key], 'is not a known field');
  }
}

function text(value: JsonValue | undefined, path: FieldPath, problems: FieldProblems, pattern?: RegExp) {
  if (typeof value !== 'string') {
    problems.add(path, value === undefined ? 'missing' : 'not a string');
    return undefined;
  }
  if (pattern !== undefined && !pattern.test(value)) {
    problems.add(path, 'has a bad form');
    return undefined;
  }
  return value;
}

function list(value: JsonValue | undefined, path: FieldPath, max: number, problems: FieldProblems) {
  if (!isJsonArray(value)) {
    problems.add(path, value === undefined ? 'missing' : 'not an array');
    return [];
  }
  if (value.length > max) {
    throw new VouchError('too-large', `build recipe ${path.join('.')} count exceeds the limit of ${max}`, {
      limit: max,
      field: path.join('.'),
    });
  }
  return value;
}

function unique(values: readonly string[], field: string, key: string | undefined, problems: FieldProblems) {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (seen.has(v))
      problems.add(key === undefined ? [field, i] : [field, i, key], 'duplicates an earlier entry');
    seen.add(v);
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
