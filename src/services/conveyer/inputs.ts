/**
 * The conveyer's fetch phase: every pinned recipe input (core/build/recipe.ts) is brought into
 * the build's inputs folder, outside the sandbox, and checked against its pin. Local inputs are
 * read from the recipe's folder; remote inputs (`url`, http or https) go through a
 * content-addressed store: a folder holding `sha256/<hex>` files whose names are their SHA-256.
 *
 * Verify, then persist: a download is streamed into a temporary file in the store folder while
 * it is hashed and counted, stopped as soon as it passes the recipe's `size`, and renamed to its
 * digest name only when size and SHA-256 match, so a name in the store never holds other bytes
 * unless the disk or a person changed it. Cached files are therefore hashed again on every use;
 * a corrupted one is removed and fetched afresh. Every input is copied into the inputs folder
 * and the copy hashed once more (the sandbox sees only the copy).
 *
 * The pin is the only trust anchor: plain http is accepted because the digest is checked before
 * any byte reaches a build. LIMIT: no proxy settings, no mirrors, no resumable downloads; one
 * input is fetched at a time. The store is never pruned here.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { NamedDigest } from '../../core/build/provenance.ts';
import type { Recipe, RecipeInput } from '../../core/build/recipe.ts';
import { VouchError } from '../../core/errors.ts';
import { syncDirectory } from '../../storage/fs/durable.ts';

/** defaultFetchTimeoutMs bounds one remote input's download, from request to last byte. */
export const defaultFetchTimeoutMs = 300_000;

/** FetchInputsOptions configure {@link fetchInputs}. */
export interface FetchInputsOptions {
  /** recipeDir is the folder local `path` inputs are relative to. */
  readonly recipeDir: string;
  /** inputsDir receives one checked copy per input, named after the input. */
  readonly inputsDir: string;
  /** casDir is the content-addressed store for remote inputs; created when first needed. */
  readonly casDir: string;
  /** timeoutMs bounds each download (default {@link defaultFetchTimeoutMs}). */
  readonly timeoutMs?: number;
  readonly onProgress?: (line: string) => void;
}

/** FileDigest is the size and SHA-256 (hex) of a file's bytes. */
export interface FileDigest {
  readonly size: number;
  readonly sha256: string;
}

/** casPath returns where the store keeps the bytes with SHA-256 `sha256` (lowercase hex). */
export function casPath(casDir: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    throw new VouchError('invariant', 'internal error: a store key is not a SHA-256 hex digest');
  }
  return join(casDir, 'sha256', sha256);
}

/**
 * fetchInputs fetches and checks every input of `recipe` (module comment) and resolves to the
 * resolved dependencies for the provenance: name, SHA-256 and, for remote inputs, the URL. It
 * throws `bad-digest` naming the input with the expected and actual digest (and sizes) in the
 * message and details, `too-large` when a download passes the pinned size, and `unavailable`
 * when a download fails or times out. Nothing unchecked is left under its digest name.
 */
export async function fetchInputs(recipe: Recipe, options: FetchInputsOptions): Promise<NamedDigest[]> {
  const progress = options.onProgress ?? (() => undefined);
  const resolved: NamedDigest[] = [];
  for (const [i, input] of recipe.inputs.entries()) {
    const field = `inputs[${i}]`;
    let source: string;
    if (input.url !== undefined) {
      source = await storeRemote(input, field, options, progress);
    } else if (input.path !== undefined) {
      source = resolve(options.recipeDir, input.path);
      const info = await lstat(source).catch(() => undefined);
      if (info === undefined || !info.isFile()) {
        throw new VouchError('not-found', `input ${input.name}: file not found`, { field });
      }
      checkPin(input, field, await hashFile(source, input.size));
    } else {
      throw new VouchError('invariant', 'internal error: an input has neither path nor url');
    }
    const target = join(options.inputsDir, input.name);
    await copyFile(source, target);
    // Re-check the copy: the source may have changed between the check and the copy.
    checkPin(input, field, await hashFile(target, input.size));
    resolved.push({
      name: input.name,
      ...(input.url === undefined ? {} : { uri: input.url }),
      sha256: input.sha256,
    });
  }
  return resolved;
}

/**
 * hashFile streams a file and resolves to its size and SHA-256, reading at most `limit + 1`
 * bytes: a longer file reports size `limit + 1` and the digest of that prefix (never a match).
 */
export async function hashFile(path: string, limit: number): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { start: 0, end: limit })) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    hash.update(bytes);
  }
  return { size, sha256: hash.digest('hex') };
}

function checkPin(input: RecipeInput, field: string, actual: FileDigest): void {
  if (actual.size === input.size && actual.sha256 === input.sha256) return;
  throw new VouchError(
    'bad-digest',
    `input ${input.name} does not match its pin: expected sha256 ${input.sha256} (${input.size} bytes), got ${actual.sha256} (${actual.size === input.size + 1 ? `more than ${input.size}` : actual.size} bytes)`,
    { field, input: input.name, expected: input.sha256, actual: actual.sha256 },
  );
}

async function storeRemote(
  input: RecipeInput,
  field: string,
  options: FetchInputsOptions,
  progress: (line: string) => void,
): Promise<string> {
  const target = casPath(options.casDir, input.sha256);
  if ((await lstat(target).catch(() => undefined)) !== undefined) {
    const cached = await hashFile(target, input.size);
    if (cached.size === input.size && cached.sha256 === input.sha256) {
      progress(`input ${input.name}: cached ${input.sha256.slice(0, 12)}`);
      return target;
    }
    progress(`input ${input.name}: cached copy is corrupt; fetching again`);
    await rm(target, { force: true });
  }
  const folder = join(options.casDir, 'sha256');
  await mkdir(folder, { recursive: true });
  const url = input.url as string;
  progress(`input ${input.name}: fetching ${url}`);
  const started = performance.now();
  const temp = join(folder, `.${input.sha256}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const actual = await download(url, temp, input, field, options.timeoutMs ?? defaultFetchTimeoutMs);
    checkPin(input, field, actual);
    // Checked: only now does the file get its digest name.
    await rename(temp, target);
    await syncDirectory(folder);
  } finally {
    await rm(temp, { force: true });
  }
  progress(
    `input ${input.name}: fetched ${input.size} bytes (${Math.round(performance.now() - started)} ms)`,
  );
  return target;
}

/** download streams `url` into `temp` (fsynced), hashing as it goes, and stops past the pin's size. */
async function download(
  url: string,
  temp: string,
  input: RecipeInput,
  field: string,
  timeoutMs: number,
): Promise<FileDigest> {
  const unavailable = (why: string, cause?: unknown) =>
    new VouchError(
      'unavailable',
      `input ${input.name}: download failed (${why})`,
      { field, input: input.name },
      cause === undefined ? undefined : { cause },
    );
  const tooLong = () =>
    new VouchError(
      'too-large',
      `input ${input.name}: the download is larger than its pinned ${input.size} bytes`,
      {
        field,
        input: input.name,
        limit: input.size,
      },
    );
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const file = await open(temp, 'wx', 0o644);
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    } catch (cause) {
      throw unavailable(controller.signal.aborted ? 'timed out' : 'no response', cause);
    }
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel();
      throw unavailable(`HTTP status ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > input.size) {
      await response.body.cancel();
      throw tooLong();
    }
    const hash = createHash('sha256');
    let size = 0;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > input.size) {
          await reader.cancel();
          throw tooLong();
        }
        hash.update(value);
        await file.write(value);
      }
    } catch (cause) {
      if (cause instanceof VouchError) throw cause;
      throw unavailable(controller.signal.aborted ? 'timed out' : 'connection failed', cause);
    }
    await file.sync();
    return { size, sha256: hash.digest('hex') };
  } finally {
    clearTimeout(timer);
    await file.close();
  }
}
