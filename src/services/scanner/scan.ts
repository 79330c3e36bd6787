/**
 * The endpoint hash scanner: walks the given paths, hashes every regular file once with streaming
 * SHA-256 and looks the (digest, size) pair up in a compiled hash table (core/rules/hashdb.ts),
 * the allow-list winning over any signature. It reports detections, per-file errors and skipped
 * entries as events while it runs, and returns a summary. Issue 6 asks for ClamAV-compatible
 * results; `test/interop/clamscan.test.ts` checks them against `clamscan` on the exported `.hsb`.
 *
 * Safety: symbolic links are never followed (not even a root given on the command line), so the
 * walk cannot leave its roots; FIFOs, sockets and devices are skipped; each file is opened with
 * O_NOFOLLOW | O_NONBLOCK and its type and size are checked on the open descriptor, so an entry
 * swapped for a link or a FIFO after the directory was read gives a per-file error, not a hang.
 * A file bigger than the limit, one that changes size while it is read, or a directory that
 * vanishes during the walk is a per-file error; the scan goes on.
 *
 * It deliberately does not run YARA rules (YARA-X is future work), does not unpack containers
 * (ClamAV does unless told not to) and does not use worker threads: up to `concurrency` files are
 * read at once, which overlaps I/O, but SHA-256 runs on the calling thread.
 * LIMIT: file names that are not valid UTF-8 are reported with U+FFFD replacements (Node decodes
 * names as UTF-8), and such a file cannot be opened again by the reported path.
 * LIMIT: no loop detection for bind mounts that contain themselves; symlink loops cannot occur.
 */

import { createHash } from 'node:crypto';
import { constants, type Dirent, type Stats } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { formatHex } from '../../core/bytes/index.ts';
import { VouchError } from '../../core/errors.ts';
import { type HashDb, isAllowed, lookupHash } from '../../core/rules/hashdb.ts';

/** ScanLimits bound the work and memory of one scan. */
export interface ScanLimits {
  /** maxFileBytes is the largest file hashed; a bigger one is a per-file error. */
  readonly maxFileBytes: number;
  /** concurrency is how many files are read at once. */
  readonly concurrency: number;
  /** bufferBytes is the read buffer per concurrent file. */
  readonly bufferBytes: number;
}

/** defaultScanLimits: files up to 1 GiB, 4 in flight, 256 KiB buffers (1 MiB of buffers in all). */
export const defaultScanLimits: ScanLimits = Object.freeze({
  maxFileBytes: 1 << 30,
  concurrency: 4,
  bufferBytes: 256 << 10,
});

/** Detection is one (file, signature) match; `sha256` is lowercase hex. */
export interface Detection {
  readonly path: string;
  readonly signature: string;
  readonly sha256: string;
  readonly size: number;
}

/** ScanEvent is what a scan reports while it runs. */
export type ScanEvent =
  | { readonly kind: 'detection'; readonly detection: Detection }
  | { readonly kind: 'error'; readonly path: string; readonly message: string }
  | { readonly kind: 'skipped'; readonly path: string; readonly reason: string };

/** ScanSummary counts a finished scan: files hashed, their bytes, detections, errors and skips. */
export interface ScanSummary {
  readonly files: number;
  readonly bytes: number;
  readonly detections: number;
  readonly errors: number;
  readonly skipped: number;
  readonly seconds: number;
}

/** ScanOptions are the optional inputs of {@link scanPaths}. */
export interface ScanOptions {
  readonly limits?: ScanLimits;
  /** now returns milliseconds from any fixed origin (default `performance.now`). */
  readonly now?: () => number;
}

/** FileHash is the SHA-256 and byte count of one file as it was read. */
export interface FileHash {
  readonly digest: Uint8Array;
  readonly size: number;
}

/**
 * hashFile hashes the regular file at `path` in one streaming pass with `buffer` as its read
 * buffer. Throws `malformed` if it is not a regular file (including a symbolic link: ELOOP),
 * `too-large` above `maxFileBytes`, `unavailable` if its size changed while it was read, and
 * Node's system errors (ENOENT, EACCES) as they come.
 */
export async function hashFile(path: string, maxFileBytes: number, buffer: Uint8Array): Promise<FileHash> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new VouchError('malformed', 'not a regular file', { field: path });
    if (info.size > maxFileBytes)
      throw new VouchError('too-large', `file exceeds the limit of ${maxFileBytes} bytes`, {
        field: path,
        limit: maxFileBytes,
      });
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > info.size) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    if (size !== info.size)
      throw new VouchError('unavailable', 'file changed size while it was being scanned', { field: path });
    return { digest: new Uint8Array(hash.digest()), size };
  } finally {
    await handle.close();
  }
}

/** describeFailure turns a thrown value into a one-line message for a per-file error. */
function describeFailure(error: unknown): string {
  if (error instanceof VouchError) return error.message;
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  if (code === 'ELOOP') return 'became a symbolic link during the scan; not followed';
  if (typeof code === 'string') return `${(error as { syscall?: string }).syscall ?? 'I/O'} failed: ${code}`;
  throw error;
}

/** walkFiles yields the regular files under `roots`, depth first in name order, reporting the rest. */
async function* walkFiles(
  roots: readonly string[],
  report: (event: ScanEvent) => void,
): AsyncGenerator<string> {
  for (const root of roots) {
    let info: Stats;
    try {
      info = await lstat(root);
    } catch (error) {
      report({ kind: 'error', path: root, message: describeFailure(error) });
      continue;
    }
    if (info.isSymbolicLink()) {
      report({ kind: 'skipped', path: root, reason: 'symbolic link (not followed)' });
      continue;
    }
    if (info.isFile()) {
      yield root;
      continue;
    }
    if (!info.isDirectory()) {
      report({ kind: 'skipped', path: root, reason: 'special file' });
      continue;
    }
    const stack = [root];
    for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        report({ kind: 'error', path: dir, message: describeFailure(error) });
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const subdirs: string[] = [];
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isFile()) yield path;
        else if (entry.isDirectory()) subdirs.push(path);
        else if (entry.isSymbolicLink())
          report({ kind: 'skipped', path, reason: 'symbolic link (not followed)' });
        else report({ kind: 'skipped', path, reason: 'special file' });
      }
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i] as string);
    }
  }
}

/**
 * scanPaths scans `roots` against `db` and calls `onEvent` for every detection (one per matching
 * signature name), per-file error and skipped entry, in no fixed order across files. An allowed
 * digest gives no detection. Only a failure of `onEvent` or a bug rejects; everything about
 * the files is an event.
 */
export async function scanPaths(
  db: HashDb,
  roots: readonly string[],
  onEvent: (event: ScanEvent) => void,
  options: ScanOptions = {},
): Promise<ScanSummary> {
  const limits = options.limits ?? defaultScanLimits;
  const now = options.now ?? (() => performance.now());
  if (!Number.isSafeInteger(limits.concurrency) || limits.concurrency < 1)
    throw new VouchError('invalid-argument', 'scan concurrency must be a positive integer');
  if (!Number.isSafeInteger(limits.bufferBytes) || limits.bufferBytes < 1)
    throw new VouchError('invalid-argument', 'scan buffer size must be a positive integer');
  const started = now();
  let files = 0;
  let bytes = 0;
  let detections = 0;
  let errors = 0;
  let skipped = 0;
  const report = (event: ScanEvent) => {
    if (event.kind === 'detection') detections++;
    else if (event.kind === 'error') errors++;
    else skipped++;
    onEvent(event);
  };
  // One generator shared by the workers: its next() calls are queued, so each path goes to one worker.
  const paths = walkFiles(roots, report);
  const worker = async () => {
    const buffer = new Uint8Array(limits.bufferBytes);
    for await (const path of paths) {
      let result: FileHash;
      try {
        result = await hashFile(path, limits.maxFileBytes, buffer);
      } catch (error) {
        report({ kind: 'error', path, message: describeFailure(error) });
        continue;
      }
      files++;
      bytes += result.size;
      if (isAllowed(db, result.digest)) continue;
      const names = lookupHash(db, result.digest, result.size);
      if (names.length === 0) continue;
      const sha256 = formatHex(result.digest);
      for (const signature of names)
        report({ kind: 'detection', detection: { path, signature, sha256, size: result.size } });
    }
  };
  await Promise.all(Array.from({ length: limits.concurrency }, worker));
  return Object.freeze({ files, bytes, detections, errors, skipped, seconds: (now() - started) / 1000 });
}

/**
 * scanExitCode maps a summary to clamscan's exit codes: 1 when anything was detected, else 2
 * when any file could not be scanned, else 0. (clamscan 1.4 also returns 1, not 2, for a scan
 * with both detections and unreadable paths.)
 */
export function scanExitCode(summary: ScanSummary): 0 | 1 | 2 {
  if (summary.detections > 0) return 1;
  if (summary.errors > 0) return 2;
  return 0;
}
