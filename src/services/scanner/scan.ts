/**
 * The endpoint scanner: walks the given paths, hashes every regular file once with SHA-256 and
 * looks the (digest, size) pair up in a compiled hash table (core/rules/hashdb.ts), then runs the
 * database's YARA rules (compiled by the caller into a pool of worker threads,
 * services/rules/yara.ts `startYaraMatcher`) over the file's bytes, each file under a timeout
 * (`yaraTimeoutMs`; a file that overruns it is a per-file error and the scan goes on); the
 * allow-list wins over any signature or rule. It reports detections (kind `hash` or
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
 * Parallelism: up to `concurrency` files are read at once, which overlaps I/O; SHA-256 runs on
 * the calling thread (hash-only scans run at about 1.1 GiB/s in bench/RESULTS.md, far ahead of YARA
 * matching), and YARA-X in
 * the matcher's pool of worker threads, one file per worker at a time. Results are reported in
 * walk order whatever order files finish in (ordered.ts: at most `window` entries wait to be
 * reported), so output and exit codes are the same for any number of workers.
 *
 * It deliberately does not unpack containers (ClamAV does unless told not to).
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
import { runInOrder } from './ordered.ts';

/** ScanLimits bound the work and memory of one scan. */
export interface ScanLimits {
  /** maxFileBytes is the largest file hashed; a bigger one is a per-file error. */
  readonly maxFileBytes: number;
  /**
   * concurrency is how many files are read, hashed and matched at once; each may hold up to
   * `maxYaraFileBytes` in memory until its YARA worker takes it.
   */
  readonly concurrency: number;
  /**
   * window is how many walk entries may be started ahead of the one being reported (at least
   * `concurrency`): finished files wait there, holding only their events, so that a slow file does
   * not leave the other YARA workers idle while output stays in walk order.
   */
  readonly window: number;
  /** bufferBytes is the read buffer per concurrent file. */
  readonly bufferBytes: number;
  /** maxYaraFileBytes is the largest file YARA rules run on (it is read whole into memory). */
  readonly maxYaraFileBytes: number;
  /** yaraTimeoutMs bounds YARA matching of one file, in milliseconds; an overrun is a per-file error. */
  readonly yaraTimeoutMs: number;
}

/**
 * defaultScanLimits: files up to 1 GiB, 4 in flight and up to 64 started ahead, 256 KiB buffers
 * (1 MiB of buffers in all), YARA rules on files up to 64 MiB (at most 256 MiB held at once with 4
 * in flight), for at most 10 seconds per file.
 */
export const defaultScanLimits: ScanLimits = Object.freeze({
  maxFileBytes: 1 << 30,
  concurrency: 4,
  window: 64,
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
  /**
   * onProgress, if given, is called with the running counts (`seconds` so far) after each walk
   * entry's events have been reported, in the same order; it should be cheap (a file may be tiny).
   */
  readonly onProgress?: (counts: ScanSummary) => void;
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

/** WalkEntry is what the walk yields, in walk order: a regular file to scan, or an event about an entry. */
type WalkEntry = { readonly path: string } | { readonly event: ScanEvent };

/**
 * walkEntries yields the regular files under `roots`, depth first in name order, and an event for
 * every entry it does not scan (a link, a special file, one it cannot read), in the same order.
 */
async function* walkEntries(roots: readonly string[]): AsyncGenerator<WalkEntry> {
  for (const root of roots) {
    let info: Stats;
    try {
      info = await lstat(root);
    } catch (error) {
      yield { event: { kind: 'error', path: root, message: describeFailure(error) } };
      continue;
    }
    if (info.isSymbolicLink()) {
      yield { event: { kind: 'skipped', path: root, reason: 'symbolic link (not followed)' } };
      continue;
    }
    if (info.isFile()) {
      yield { path: root };
      continue;
    }
    if (!info.isDirectory()) {
      yield { event: { kind: 'skipped', path: root, reason: 'special file' } };
      continue;
    }
    const stack = [root];
    for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        yield { event: { kind: 'error', path: dir, message: describeFailure(error) } };
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const subdirs: string[] = [];
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isFile()) yield { path };
        else if (entry.isDirectory()) subdirs.push(path);
        else if (entry.isSymbolicLink())
          yield { event: { kind: 'skipped', path, reason: 'symbolic link (not followed)' } };
        else yield { event: { kind: 'skipped', path, reason: 'special file' } };
      }
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i] as string);
    }
  }
}

/** Outcome is what one walk entry contributes: its events, and the bytes of a file that was read. */
interface Outcome {
  readonly events: readonly ScanEvent[];
  /** size is the file's byte count when it was read (and so counts as scanned). */
  readonly size?: number;
}

/**
 * scanPaths scans `roots` against `db` (and `options.yara`) and calls `onEvent` for every
 * detection (one per matching signature name, then one per matching YARA rule), per-file error
 * and skipped entry. Events come in walk order (depth first, names in byte order), each file's
 * together, whatever order the files finish in: up to `limits.concurrency` files are read and
 * matched at once, and up to `limits.window` are started ahead of the one being reported. An
 * allowed digest gives no detection. A YARA failure on one file (a timeout after
 * `limits.yaraTimeoutMs`) is a per-file error after its hash detections. `options.onProgress`
 * gets the running counts after each entry is reported. Only a failure of `onEvent` or
 * `onProgress`, or a bug, rejects; everything about the files is an event.
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
  if (!Number.isSafeInteger(limits.window) || limits.window < 1)
    throw new VouchError('invalid-argument', 'scan window must be a positive integer');
  if (!Number.isSafeInteger(limits.bufferBytes) || limits.bufferBytes < 1)
    throw new VouchError('invalid-argument', 'scan buffer size must be a positive integer');
  if (!Number.isSafeInteger(limits.maxYaraFileBytes) || limits.maxYaraFileBytes < 0)
    throw new VouchError('invalid-argument', 'scan YARA file size limit must be a non-negative integer');
  if (!Number.isSafeInteger(limits.yaraTimeoutMs) || limits.yaraTimeoutMs < 1)
    throw new VouchError('invalid-argument', 'scan YARA timeout must be a positive integer');
  const yara = options.yara;
  const onProgress = options.onProgress;
  const keepBytes = yara === undefined ? -1 : limits.maxYaraFileBytes;
  const started = now();
  let files = 0;
  let bytes = 0;
  let detections = 0;
  let errors = 0;
  let skipped = 0;
  const counts = (): ScanSummary =>
    Object.freeze({ files, bytes, detections, errors, skipped, seconds: (now() - started) / 1000 });
  // Read buffers for streamed files: at most one per running task.
  const buffers: Uint8Array[] = [];

  // scanFile reads, hashes and matches one file; it never rejects for anything about the file.
  const scanFile = async (path: string): Promise<Outcome> => {
    const events: ScanEvent[] = [];
    const buffer = buffers.pop() ?? new Uint8Array(limits.bufferBytes);
    let result: FileHash & { readonly content?: Uint8Array };
    try {
      result = await readFile(path, limits.maxFileBytes, buffer, keepBytes);
    } catch (error) {
      return { events: [{ kind: 'error', path, message: describeFailure(error) }] };
    } finally {
      buffers.push(buffer);
    }
    const { size, content } = result;
    if (isAllowed(db, result.digest)) return { events, size };
    const sha256 = formatHex(result.digest);
    for (const signature of lookupHash(db, result.digest, size))
      events.push({ kind: 'detection', detection: { path, kind: 'hash', signature, sha256, size } });
    if (yara === undefined) return { events, size };
    if (content === undefined) {
      events.push({
        kind: 'skipped',
        path,
        reason: `YARA rules not run: over ${limits.maxYaraFileBytes} bytes`,
      });
      return { events, size };
    }
    let rules: readonly string[];
    try {
      // The matcher takes content's buffer; nothing below reads it.
      rules = await yara.match(content, limits.yaraTimeoutMs);
    } catch (error) {
      events.push({ kind: 'error', path, message: describeFailure(error) });
      return { events, size };
    }
    for (const signature of rules)
      events.push({ kind: 'detection', detection: { path, kind: 'yara', signature, sha256, size } });
    return { events, size };
  };

  await runInOrder<WalkEntry, Outcome>(
    walkEntries(roots),
    (entry) => ('event' in entry ? { events: [entry.event] } : scanFile(entry.path)),
    (outcome) => {
      if (outcome.size !== undefined) {
        files++;
        bytes += outcome.size;
      }
      for (const event of outcome.events) {
        if (event.kind === 'detection') detections++;
        else if (event.kind === 'error') errors++;
        else skipped++;
        onEvent(event);
      }
      onProgress?.(counts());
    },
    limits,
  );
  return counts();
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
