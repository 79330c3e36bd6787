/**
 * `vouch scan --db DIR PATH...`: scan files against a compiled rule database's hash signatures
 * and YARA rules (services/scanner; the rules are compiled once, at load, in the worker thread
that matches them, and each file's matching is bounded by `--yara-timeout-ms`). Standard output gets
 * one JSON line per detection, `{"path","kind","signature","sha256","size"}` with kind `hash` or
 * `yara`, then one summary line
 * `{"files","bytes","detections","errors","skipped","seconds"}`; per-file errors and skipped
 * entries go to standard error. Exit codes are clamscan's: 0 clean, 1 detections, 2 errors
 * (including a database that does not load, verify or compile). It does not draw a progress bar
 * yet (CliIo does not say whether standard output is a terminal).
 */

import { VouchError } from '../../../core/errors.ts';
import type { RuleDatabase } from '../../../core/rules/database.ts';
import { readDatabase } from '../../../services/rules/compile.ts';
import { startYaraMatcher, type YaraMatcher } from '../../../services/rules/yara.ts';
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
  'vouch scan --db DIR [--max-file-size BYTES] [--max-yara-size BYTES] [--yara-timeout-ms MS] [--jobs N] PATH...';

const usage = `Usage:
  ${synopsis}
      Scan the files under each PATH against the hash signatures, YARA rules and allow-list of
      the rule database DIR. Symbolic links are not followed and special files are skipped; files
      over --max-file-size (default ${defaultScanLimits.maxFileBytes}) are errors. YARA rules run
      on files up to --max-yara-size (default ${defaultScanLimits.maxYaraFileBytes}; bigger files
      are hash-checked and reported as skipped for YARA). YARA matching of one file that takes
      longer than --yara-timeout-ms (default ${defaultScanLimits.yaraTimeoutMs}) is stopped and
      reported as an error for that file; the scan goes on. --jobs files are read at once (default
      ${defaultScanLimits.concurrency}).
      Prints one JSON line per detection and a JSON summary line.
      Exit status: 0 nothing found, 1 detections, 2 errors.
`;

/** scanErrorExit is clamscan's "some error(s) occurred" status. */
const scanErrorExit = 2;

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
    if (typeof values.jobs === 'string')
      limits = { ...limits, concurrency: boundedInteger(values.jobs, '--jobs', 64) };
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
    database = (await readDatabase(db)).database;
    if (database.yara.size > 0) yara = await startYaraMatcher(database.yara);
  } catch (error) {
    // A database that is missing, corrupt or fails its manifest check is an error (2), never "found" (1).
    reportError(error, io);
    return scanErrorExit;
  }
  let summary: ScanSummary;
  try {
    summary = await scanPaths(
      database.hashDb,
      paths,
      (event) => {
        if (event.kind === 'detection') {
          const { path, kind, signature, sha256, size } = event.detection;
          io.stdout(`${JSON.stringify({ path, kind, signature, sha256, size })}\n`);
        } else if (event.kind === 'error') io.stderr(`vouch: scan: ${event.path}: ${event.message}\n`);
        else io.stderr(`vouch: scan: ${event.path}: skipped: ${event.reason}\n`);
      },
      yara === undefined ? { limits } : { limits, yara },
    );
  } finally {
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
