/**
 * The endpoint scanner: walks the given paths, hashes every regular file once with SHA-256 and
 * looks the (digest, size) pair up in a compiled hash table (core/rules/hashdb.ts), then runs the
 * database's YARA rules (compiled once by the caller into a worker thread,
 * services/rules/yara.ts `startYaraMatcher`) over the file's bytes, each file under a timeout
 * (`yaraTimeoutMs`; a file that overruns it is a per-file error and the scan goes on); the allow-list wins over any signature or rule. It reports detections (kind `hash` or
 * `yara`), per-file errors and skipped entries as events while it runs, and returns a summary.
 * Issue 6 asks for results that match the reference tools: `test/interop/clamscan.test.ts` checks
 * hash detections against `clamscan` on the exported `.hsb`, `test/interop/yara.test.ts` rule
 * detections against `yara -r` on the exported rules.
 *
 * A file that YARA rules will see is read whole into memory (it is hashed from the same buffer,
 * so it is read once); files over `maxYaraFileBytes` are hashed by streaming, checked against the
 * hash table only, and reported as `skipped` for YARA (LIMIT: YARA-X matches a buffer, not a
 * stream, so a larger bound costs that much memory per file in flight).
 *
 * Safety: symbolic links are never followed (not even a root given on the command line), so the
 * walk cannot leave its roots; FIFOs, sockets and devices are skipped; each file is opened with
 * O_NOFOLLOW | O_NONBLOCK and its type and size are checked on the open descriptor, so an entry
 * swapped for a link or a FIFO after the directory was read gives a per-file error, not a hang.
 * A file bigger than the limit, one that changes size while it is read, or a directory that
 * vanishes during the walk is a per-file error; the scan goes on.
 *
 * It deliberately does not unpack containers (ClamAV does unless told not to) and does not
 * parallelize matching: up to `concurrency` files are read at once, which overlaps I/O, SHA-256
 * runs on the calling thread and YARA-X on the matcher's one worker thread, a file at a time.
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
import type { YaraMatcher } from '../rules/yara.ts';

/** ScanLimits bound the work and memory of one scan. */
export interface ScanLimits {
  /** maxFileBytes is the largest file hashed; a bigger one is a per-file error. */
  readonly maxFileBytes: number;
  /** concurrency is how many files are read at once. */
  readonly concurrency: number;
  /** bufferBytes is the read buffer per concurrent file. */
  readonly bufferBytes: number;
  /** maxYaraFileBytes is the largest file YARA rules run on (it is read whole into memory). */
  readonly maxYaraFileBytes: number;
  /** yaraTimeoutMs bounds YARA matching of one file, in milliseconds; an overrun is a per-file error. */
  readonly yaraTimeoutMs: number;
}

/**
 * defaultScanLimits: files up to 1 GiB, 4 in flight, 256 KiB buffers (1 MiB of buffers in all),
 * YARA rules on files up to 64 MiB (at most 256 MiB held at once with 4 in flight), for at most
 * 10 seconds per file.
 */
export const defaultScanLimits: ScanLimits = Object.freeze({
  maxFileBytes: 1 << 30,
  concurrency: 4,
  bufferBytes: 256 << 10,
  maxYaraFileBytes: 64 << 20,
  yaraTimeoutMs: 10_000,
});

/** DetectionKind says what matched: a hash signature or a YARA rule. */
export type DetectionKind = 'hash' | 'yara';

/**
 * Detection is one (file, signature) match; `signature` is the hash signature's name or the YARA
 * rule's identifier, and `sha256` is the file's digest in lowercase hex.
 */
export interface Detection {
  readonly path: string;
  readonly kind: DetectionKind;
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
  /** yara, if given, is run on every file up to `limits.maxYaraFileBytes`; the caller owns it. */
  readonly yara?: YaraMatcher;
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
  const { digest, size } = await readFile(path, maxFileBytes, buffer, -1);
  return { digest, size };
}

/**
 * readFile is {@link hashFile} that also returns the file's bytes when it has at most `keepBytes`
 * of them: such a file is read whole into a new buffer and hashed from it.
 */
async function readFile(
  path: string,
  maxFileBytes: number,
  buffer: Uint8Array,
  keepBytes: number,
): Promise<FileHash & { readonly content?: Uint8Array }> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new VouchError('malformed', 'not a regular file', { field: path });
    if (info.size > maxFileBytes)
      throw new VouchError('too-large', `file exceeds the limit of ${maxFileBytes} bytes`, {
        field: path,
        limit: maxFileBytes,
      });
    const changed = () =>
      new VouchError('unavailable', 'file changed size while it was being scanned', { field: path });
    const hash = createHash('sha256');
    if (info.size <= keepBytes) {
      // One spare byte detects a file that grew since fstat.
      const whole = new Uint8Array(info.size + 1);
      let filled = 0;
      for (;;) {
        const { bytesRead } = await handle.read(whole, filled, whole.length - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
        if (filled === whole.length) throw changed();
      }
      if (filled !== info.size) throw changed();
      const content = whole.subarray(0, filled);
      hash.update(content);
      return { digest: new Uint8Array(hash.digest()), size: filled, content };
    }
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > info.size) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    if (size !== info.size) throw changed();
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
 * scanPaths scans `roots` against `db` (and `options.yara`) and calls `onEvent` for every
 * detection (one per matching signature name, then one per matching YARA rule), per-file error
 * and skipped entry, in no fixed order across files. An allowed digest gives no detection. A YARA
 * failure on one file (a timeout after `limits.yaraTimeoutMs`) is a per-file error after its hash
 * detections. Only a failure of `onEvent` or a bug rejects; everything about the files is an event.
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
  if (!Number.isSafeInteger(limits.maxYaraFileBytes) || limits.maxYaraFileBytes < 0)
    throw new VouchError('invalid-argument', 'scan YARA file size limit must be a non-negative integer');
  if (!Number.isSafeInteger(limits.yaraTimeoutMs) || limits.yaraTimeoutMs < 1)
    throw new VouchError('invalid-argument', 'scan YARA timeout must be a positive integer');
  const yara = options.yara;
  const keepBytes = yara === undefined ? -1 : limits.maxYaraFileBytes;
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
      let result: FileHash & { readonly content?: Uint8Array };
      try {
        result = await readFile(path, limits.maxFileBytes, buffer, keepBytes);
      } catch (error) {
        report({ kind: 'error', path, message: describeFailure(error) });
        continue;
      }
      files++;
      bytes += result.size;
      if (isAllowed(db, result.digest)) continue;
      const { size, content } = result;
      const sha256 = formatHex(result.digest);
      for (const signature of lookupHash(db, result.digest, size))
        report({ kind: 'detection', detection: { path, kind: 'hash', signature, sha256, size } });
      if (yara === undefined) continue;
      if (content === undefined) {
        report({
          kind: 'skipped',
          path,
          reason: `YARA rules not run: over ${limits.maxYaraFileBytes} bytes`,
        });
        continue;
      }
      let rules: readonly string[];
      try {
        // The matcher takes content's buffer; nothing below reads it.
        rules = await yara.match(content, limits.yaraTimeoutMs);
      } catch (error) {
        report({ kind: 'error', path, message: describeFailure(error) });
        continue;
      }
      for (const signature of rules)
        report({ kind: 'detection', detection: { path, kind: 'yara', signature, sha256, size } });
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
