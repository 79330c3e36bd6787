/**
 * Reading the files the auditor audits (a repository's public folder, tenant records,
 * approvals) from a folder or an http(s) URL, each read bounded by a size the caller gives. A
 * missing file is `undefined` (the audit decides what that means); anything else that fails is
 * `unavailable` naming the path. Nothing read here is trusted: callers verify it.
 */

import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { tooLarge, VouchError } from '../../core/errors.ts';

/** FileSource reads files below one base. */
export interface FileSource {
  /** base is the folder or URL, as given. */
  readonly base: string;
  /** get returns the file at `path` (a relative path), at most `limit` bytes, or undefined when it is missing. */
  get(path: string, limit: number): Promise<Uint8Array | undefined>;
}

/** defaultFetchTimeoutMs bounds one HTTP request. */
export const defaultFetchTimeoutMs = 30_000;

function checkPath(path: string): void {
  if (
    path === '' ||
    path.startsWith('/') ||
    path.split('/').some((p) => p === '..' || p === '.' || p === '')
  ) {
    throw new VouchError('invalid-argument', `${path} is not a relative path`, { field: 'path' });
  }
}

async function readFolderFile(dir: string, path: string, limit: number): Promise<Uint8Array | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(join(dir, path), 'r');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new VouchError('unavailable', `cannot open ${path} in ${dir}`, { field: path }, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw new VouchError('unavailable', `${path} in ${dir} is not a file`, { field: path });
    if (info.size > limit) throw tooLarge(path, limit, path);
    const data = new Uint8Array(info.size);
    let read = 0;
    while (read < info.size) {
      const { bytesRead } = await handle.read(data, read, info.size - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    if (read !== info.size) throw new VouchError('unavailable', `${path} in ${dir} changed while being read`);
    return data;
  } finally {
    await handle.close();
  }
}

async function readUrl(
  base: string,
  path: string,
  limit: number,
  fetcher: typeof fetch,
): Promise<Uint8Array | undefined> {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  let response: Response;
  try {
    response = await fetcher(url, { signal: AbortSignal.timeout(defaultFetchTimeoutMs) });
  } catch (error) {
    throw new VouchError('unavailable', `cannot fetch ${url.href}`, { field: path }, { cause: error });
  }
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new VouchError('unavailable', `${url.href} answered ${response.status}`, { field: path });
  }
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(path, limit, path);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** openFileSource returns a source for an http(s) URL or a folder path. */
export function openFileSource(base: string, options: { fetch?: typeof fetch } = {}): FileSource {
  const isUrl = /^https?:\/\//i.test(base);
  const fetcher = options.fetch ?? globalThis.fetch;
  return {
    base,
    get(path, limit) {
      checkPath(path);
      return isUrl ? readUrl(base, path, limit, fetcher) : readFolderFile(base, path, limit);
    },
  };
}
