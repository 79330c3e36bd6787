/**
 * A read-only static file handler for folders that are meant to be served as they are: an update
 * repository's `public/` (docs/updates.md). Any web server or CDN can serve such a folder; this
 * one exists so `vouch repo serve` works out of the box and so tests serve exactly the bytes a
 * mirror would.
 *
 * Paths are checked before any file-system call: every segment must be a plain name of safe
 * characters (no `..`, no leading dot, no percent-encoding that decodes to a separator), so a
 * request can never name a file outside the root. Symbolic links are not followed out of the
 * root either: the resolved path must still lie under the root's real path. Files larger than
 * `maxFileBytes` are refused rather than read, and the bytes being read for answers at once are
 * bounded by `maxBytesInFlight`: past it a request gets 503 with Retry-After instead of more
 * memory (answers are whole buffers, not streams); HEAD reads nothing. Caching follows the repository's rules: the
 * only mutable file, `timestamp.json`, is never cached; every other file is content- or
 * version-addressed and is cached as immutable.
 */

import { open, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { tooLarge, VouchError } from '../../core/errors.ts';
import { type Handler, type HttpResponse, methodNotAllowed, notFound } from './http.ts';

/** StaticHandlerOptions configure {@link createStaticHandler}. */
export interface StaticHandlerOptions {
  /** root is the folder served at `/`. */
  readonly root: string;
  /** maxFileBytes bounds one file (default 1 GiB). */
  readonly maxFileBytes?: number;
  /** mutable lists file names that must not be cached (default: `timestamp.json`). */
  readonly mutable?: readonly string[];
  /** maxBytesInFlight bounds the bytes of files held for answers at once (default 256 MiB). */
  readonly maxBytesInFlight?: number;
}

const safeSegment = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}$/;
const maxSegments = 32;

const contentTypes: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json',
  'tlog-proof': 'text/plain; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
};

/** staticPathSegments returns the checked segments of a request path, or undefined if it may not be served. */
export function staticPathSegments(path: string): string[] | undefined {
  if (!path.startsWith('/') || path.length > 4096) return undefined;
  const segments = path.slice(1).split('/');
  if (segments.length > maxSegments) return undefined;
  for (const segment of segments) if (!safeSegment.test(segment)) return undefined;
  return segments;
}

/** createStaticHandler serves the files under `options.root`; see the module comment. */
export function createStaticHandler(options: StaticHandlerOptions): Handler {
  const maxFileBytes = options.maxFileBytes ?? 1 << 30;
  const maxBytesInFlight = options.maxBytesInFlight ?? 256 << 20;
  const mutable = new Set(options.mutable ?? ['timestamp.json']);
  let inFlight = 0;
  let rootReal: Promise<string> | undefined;
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET, HEAD');
    const segments = staticPathSegments(request.path);
    if (segments === undefined) return notFound();
    rootReal ??= realpath(options.root);
    const root = await rootReal;
    let file: string;
    try {
      file = await realpath(join(root, ...segments));
    } catch {
      return notFound();
    }
    if (!file.startsWith(root + sep)) return notFound();
    const name = segments[segments.length - 1] as string;
    const headers = {
      'content-type': contentTypeOf(name),
      'cache-control': mutable.has(name) ? 'no-cache' : 'public, max-age=31536000, immutable',
    };
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) return notFound();
    if (info.size > maxFileBytes) throw tooLarge('a served file', maxFileBytes);
    if (request.method === 'HEAD') return { status: 200, headers, body: new Uint8Array(0) };
    if (inFlight + info.size > maxBytesInFlight && inFlight > 0) {
      throw new VouchError('pushback', 'too many large answers at once; retry shortly', {
        retryAfterSeconds: 1,
      });
    }
    inFlight += info.size;
    try {
      const body = await readBounded(file, maxFileBytes);
      if (body === undefined) return notFound();
      return { status: 200, headers, body } satisfies HttpResponse;
    } finally {
      inFlight -= info.size;
    }
  };
}

function contentTypeOf(name: string): string {
  for (const [extension, type] of Object.entries(contentTypes))
    if (name.endsWith(`.${extension}`)) return type;
  return 'application/octet-stream';
}

async function readBounded(file: string, maxBytes: number): Promise<Uint8Array | undefined> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return undefined;
    if (info.size > maxBytes) throw tooLarge('a served file', maxBytes);
    const bytes = new Uint8Array(info.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
