/**
 * `vouch scan --db DIR PATH...`: scan files against a compiled rule database's hash signatures
 * and YARA rules (services/scanner; the rules are compiled at load in each of `--jobs` worker
 * threads that match files side by side, and each file's matching is bounded by
 * `--yara-timeout-ms`; a database without YARA rules starts no worker). Standard output gets one
 * JSON line per detection, `{"path","kind","signature","sha256","size"}` with kind `hash` or
 * `yara`, in walk order whatever `--jobs` is, then one summary line
 * `{"files","bytes","detections","errors","skipped","seconds"}`; per-file errors and skipped
 * entries go to standard error. Exit codes are clamscan's: 0 clean, 1 detections, 2 errors
 * (including a database that does not load, verify or compile).
 *
 * When standard error is a terminal (and not with `--no-progress`), one status line there shows
 * files, bytes, MiB/s, detections and errors, redrawn at most 10 times a second from the
 * scanner's progress callback, erased before any other line is written and at the end; nothing
 * of it reaches a pipe or a file (CliIo.stderrColumns is absent), nor a terminal whose TERM is
 * `dumb`. LIMIT: when standard output is piped into a program that
 * writes to the same terminal (`vouch scan ... | jq`), its lines arrive after the progress line
 * was redrawn and share a row with it; use --no-progress there.
 */

import { VouchError } from '../../../core/errors.ts';
import type { RuleDatabase } from '../../../core/rules/database.ts';
import { readDatabaseForScan } from '../../../services/rules/compile.ts';
import {
  defaultYaraWorkers,
  maxYaraWorkers,
  startYaraMatcher,
  type YaraMatcher,
} from '../../../services/rules/yara.ts';
import {
  defaultScanLimits,
  type ScanSummary,
  scanExitCode,
  scanPaths,
} from '../../../services/scanner/scan.ts';
import { parseCommandLine, quote, required } from '../args.ts';
import type { CliIo, Command } from '../io.ts';
import { reportError } from '../io.ts';

const synopsis =
  'vouch scan --db DIR [--max-file-size BYTES] [--max-yara-size BYTES] [--yara-timeout-ms MS] [--jobs N] [--no-progress] PATH...';

const usage = `Usage:
  ${synopsis}
      Scan the files under each PATH against the hash signatures, YARA rules and allow-list of
      the rule database DIR. Symbolic links are not followed and special files are skipped; files
      over --max-file-size (default ${defaultScanLimits.maxFileBytes}) are errors. YARA rules run
      on files up to --max-yara-size (default ${defaultScanLimits.maxYaraFileBytes}; bigger files
      are hash-checked and reported as skipped for YARA). YARA matching of one file that takes
      longer than --yara-timeout-ms (default ${defaultScanLimits.yaraTimeoutMs}) is stopped and
      reported as an error for that file; the scan goes on. --jobs YARA worker threads match
      files side by side (default: the CPU count, at most 8; here ${defaultYaraWorkers()}); each compiles the
      rules at start. --jobs + 2 files (at least ${defaultScanLimits.concurrency}) are read at once, each held in memory
      up to --max-yara-size until a worker takes it. Output is in walk order whatever --jobs is.
      Prints one JSON line per detection and a JSON summary line. When standard error is a
      terminal it also shows a progress line (files, bytes, MiB/s, detections, errors), erased
      at the end; --no-progress turns it off.
      Exit status: 0 nothing found, 1 detections, 2 errors.
`;

/** scanErrorExit is clamscan's "some error(s) occurred" status. */
const scanErrorExit = 2;

/** progressIntervalMs is the least time between two redraws of the progress line (10 a second). */
const progressIntervalMs = 100;

const mib = 1 << 20;

/** sizeText renders a byte count with a binary unit and one decimal (B, KiB, MiB, GiB, TiB). */
function sizeText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** plural renders `count word` or `count words`. */
function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * formatScanProgress renders the progress line for `counts`: files, bytes, throughput over
 * `counts.seconds` (0 before any time has passed), detections and errors, cut to `columns - 1`
 * characters so that it never wraps (a wrapped line could not be redrawn in place). It has no
 * control characters; the caller moves the cursor.
 */
export function formatScanProgress(counts: ScanSummary, columns: number): string {
  const rate = counts.seconds > 0 ? counts.bytes / mib / counts.seconds : 0;
  const line = [
    'scanning:',
    `${plural(counts.files, 'file')},`,
    `${sizeText(counts.bytes)},`,
    `${rate.toFixed(1)} MiB/s,`,
    `${plural(counts.detections, 'detection')},`,
    plural(counts.errors, 'error'),
  ].join(' ');
  return line.slice(0, Math.max(0, columns - 1));
}

/** progressColumns returns the terminal width when a progress line should be drawn, else undefined. */
function progressColumns(io: CliIo): number | undefined {
  if (io.env.TERM === 'dumb') return undefined;
  return io.stderrColumns;
}

/** ProgressLine draws the progress line on standard error, at most once every progressIntervalMs. */
interface ProgressLine {
  update(counts: ScanSummary): void;
  /** clear erases the line if it is shown (before another line is written, and at the end). */
  clear(): void;
}

/** progressLine returns a {@link ProgressLine} that writes to `io.stderr`, cut to `columns`. */
function progressLine(io: CliIo, columns: number, now: () => number): ProgressLine {
  let shown = false;
  let drawnAt = Number.NEGATIVE_INFINITY;
  return {
    update(counts) {
      const at = now();
      if (at - drawnAt < progressIntervalMs) return;
      drawnAt = at;
      shown = true;
      // Carriage return, the line, then erase to the end of the line.
      io.stderr(`\r${formatScanProgress(counts, columns)}\x1b[K`);
    },
    clear() {
      if (!shown) return;
      shown = false;
      io.stderr('\r\x1b[K');
    },
  };
}

function boundedInteger(text: string, flag: string, max: number): number {
  const value = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : 0;
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw new VouchError(
      'invalid-argument',
      `scan: ${flag} must be an integer from 1 to ${max}, not ${quote(text)}`,
    );
  return value;
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  let db: string;
  let limits = defaultScanLimits;
  let jobs = defaultYaraWorkers();
  let progress = true;
  let paths: string[];
  try {
    const { values, positionals } = parseCommandLine(
      'scan',
      synopsis,
      args,
      {
        db: { type: 'string' },
        'max-file-size': { type: 'string' },
        'max-yara-size': { type: 'string' },
        'yara-timeout-ms': { type: 'string' },
        jobs: { type: 'string' },
        'no-progress': { type: 'boolean' },
      },
      true,
    );
    if (values.help === true) {
      io.stdout(usage);
      return 0;
    }
    db = required('scan', synopsis, values.db, '--db');
    if (typeof values['max-file-size'] === 'string')
      limits = {
        ...limits,
        maxFileBytes: boundedInteger(values['max-file-size'], '--max-file-size', 2 ** 53 - 1),
      };
    if (typeof values['max-yara-size'] === 'string')
      limits = {
        ...limits,
        maxYaraFileBytes: boundedInteger(values['max-yara-size'], '--max-yara-size', 2 ** 31 - 1),
      };
    if (typeof values['yara-timeout-ms'] === 'string')
      limits = {
        ...limits,
        yaraTimeoutMs: boundedInteger(values['yara-timeout-ms'], '--yara-timeout-ms', 2 ** 31 - 1),
      };
    if (typeof values.jobs === 'string') jobs = boundedInteger(values.jobs, '--jobs', maxYaraWorkers);
    // Two more files than workers are read at once, so that the next file is ready when a worker frees.
    limits = { ...limits, concurrency: Math.max(limits.concurrency, jobs + 2) };
    progress = values['no-progress'] !== true;
    if (positionals.length === 0) {
      io.stderr(`vouch: scan: no PATH given (usage: ${synopsis})\n`);
      return scanErrorExit;
    }
    paths = positionals;
  } catch (error) {
    reportError(error, io);
    return scanErrorExit;
  }
  let database: RuleDatabase;
  let yara: YaraMatcher | undefined;
  try {
    database = (await readDatabaseForScan(db)).database;
    if (database.yara.size > 0) yara = await startYaraMatcher(database.yara, { workers: jobs });
  } catch (error) {
    // A database that is missing, corrupt or fails its manifest check is an error (2), never "found" (1).
    reportError(error, io);
    return scanErrorExit;
  }
  const columns = progress ? progressColumns(io) : undefined;
  const bar = columns === undefined ? undefined : progressLine(io, columns, () => performance.now());
  const stdout = (text: string) => {
    bar?.clear();
    io.stdout(text);
  };
  const stderr = (text: string) => {
    bar?.clear();
    io.stderr(text);
  };
  let summary: ScanSummary;
  try {
    summary = await scanPaths(
      database.hashDb,
      paths,
      (event) => {
        if (event.kind === 'detection') {
          const { path, kind, signature, sha256, size } = event.detection;
          stdout(`${JSON.stringify({ path, kind, signature, sha256, size })}\n`);
        } else if (event.kind === 'error') stderr(`vouch: scan: ${event.path}: ${event.message}\n`);
        else stderr(`vouch: scan: ${event.path}: skipped: ${event.reason}\n`);
      },
      {
        limits,
        ...(yara === undefined ? {} : { yara }),
        ...(bar === undefined ? {} : { onProgress: (counts: ScanSummary) => bar.update(counts) }),
      },
    );
  } finally {
    bar?.clear();
    await yara?.close();
  }
  const { files, bytes, detections, errors, skipped, seconds } = summary;
  io.stdout(
    `${JSON.stringify({ files, bytes, detections, errors, skipped, seconds: Number(seconds.toFixed(3)) })}\n`,
  );
  return scanExitCode(summary);
}

/** scanCommand is `vouch scan`. */
export const scanCommand: Command = {
  name: 'scan',
  summary: 'scan files against a rule database (clamscan exit codes)',
  usage,
  run,
};
