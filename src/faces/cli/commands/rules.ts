/**
 * `vouch rules compile|diff|apply|pack`: build a detection-rule database from a source folder, write a
 * record-level delta between two databases, apply one, and pack a database into its bundle (the
 * `.vdb` file the repository publishes, so a conveyer build can name its digest in provenance). The formats are core/rules' and the
 * file handling services/rules'; this file only wires. Outputs are never overwritten.
 */

import { formatHex } from '../../../core/bytes/index.ts';
import { sha256 } from '../../../core/crypto/index.ts';
import { VouchError } from '../../../core/errors.ts';
import { packDatabaseBundle } from '../../../core/rules/bundle.ts';
import type { RuleDatabase } from '../../../core/rules/database.ts';
import {
  applyDeltaFile,
  compileRules,
  diffDatabaseFolders,
  readDatabase,
  writeDatabase,
  writeNewFile,
} from '../../../services/rules/compile.ts';
import { exportClamav, exportYara } from '../../../services/rules/export.ts';
import { describeSlowPattern } from '../../../services/rules/yara-lint.ts';
import { parseCommandLine, quote, required } from '../args.ts';
import type { CliIo, Command } from '../io.ts';
import { exitCodes, runSubcommand } from '../io.ts';

const usage = `Usage:
  vouch rules compile SRC --out DIR --version N [--created SECONDS] [--allow-slow-rules]
      Compile the rules source folder SRC (rules.json, *.hsb, allow.sha256, *.yar) into the new
      database folder DIR. The creation time is --created, else SOURCE_DATE_EPOCH; one is
      required so that the same source always gives identical bytes (with the same YARA-X
      version, which the manifest records). Every *.yar file must compile with YARA-X; its
      warnings go to standard error. Every YARA pattern must contain a good fixed atom: at least
      2 consecutive fixed bytes, not only 00, 20, 90, CC or FF, that every match contains (so
      no pattern of wildcards only, no 1-byte string, no regular expression without a literal
      run); a pattern without one is refused, naming the file, rule and pattern, because it
      slows every scan. --allow-slow-rules accepts such patterns and lists them on standard
      error instead.
  vouch rules diff OLD NEW --out FILE
      Write the record-level delta from database OLD to database NEW into the new file FILE.
  vouch rules apply BASE DELTA --out DIR
      Apply the delta file DELTA to database BASE and write the verified result into the new
      folder DIR. A delta for another base, or whose result does not match, is refused.
  vouch rules pack DB --out FILE.vdb
      Pack database folder DB (checked against its manifest) into the bundle FILE.vdb, the
      single file the repository publishes as rules/NAME/NAME-VERSION.vdb. The same database
      always gives the same bytes, so a conveyer build whose output is FILE.vdb names the
      published target's SHA-256 in its provenance. An existing FILE is not replaced.
  vouch rules export DB [--clamav DIR] [--yara FILE]
      Write the hash signatures of database DB in ClamAV's formats into DIR (vouch.hsb, and
      vouch.sfp for the allow-list), for \`clamscan -d DIR\`, and its YARA rules (all *.yar
      files, concatenated) into FILE, for \`yara FILE PATH\`. Existing files are not replaced.
      Signatures of the empty file are omitted: ClamAV never matches an empty file.
`;

function positiveInteger(text: string, what: string, allowZero: boolean): number {
  if (
    !/^(0|[1-9][0-9]{0,15})$/.test(text) ||
    !Number.isSafeInteger(Number(text)) ||
    (!allowZero && text === '0')
  )
    throw new VouchError(
      'invalid-argument',
      `${what} must be a ${allowZero ? 'non-negative' : 'positive'} integer, not ${quote(text)}`,
    );
  return Number(text);
}

function printDatabase(io: CliIo, dir: string, database: RuleDatabase): void {
  const { hash, allow, yara } = database.manifest.counts;
  io.stdout(
    `${dir}: version ${database.manifest.version}, ${hash} hash signatures, ${allow} allowed hashes, ${yara} YARA files, manifest sha256 ${formatHex(database.manifestDigest)}\n`,
  );
}

async function compile(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch rules compile SRC --out DIR --version N [--created SECONDS] [--allow-slow-rules]';
  const { values, positionals } = parseCommandLine(
    'rules compile',
    synopsis,
    args,
    {
      out: { type: 'string' },
      version: { type: 'string' },
      created: { type: 'string' },
      'allow-slow-rules': { type: 'boolean' },
    },
    true,
  );
  const out = required('rules compile', synopsis, values.out, '--out');
  const version = positiveInteger(
    required('rules compile', synopsis, values.version, '--version'),
    '--version',
    false,
  );
  if (positionals.length !== 1) return usageError(io, synopsis);
  const createdText = typeof values.created === 'string' ? values.created : io.env.SOURCE_DATE_EPOCH;
  if (createdText === undefined)
    throw new VouchError(
      'invalid-argument',
      'rules compile: set SOURCE_DATE_EPOCH or pass --created SECONDS',
    );
  const created = positiveInteger(
    createdText,
    typeof values.created === 'string' ? '--created' : 'SOURCE_DATE_EPOCH',
    true,
  );
  const files = await compileRules(positionals[0] as string, {
    version,
    created,
    allowSlowRules: values['allow-slow-rules'] === true,
    onYaraCompiled: (report) => {
      for (const w of report.warnings) io.stderr(`vouch: rules compile: ${w.file}: ${w.message}\n`);
      for (const p of report.slowPatterns)
        io.stderr(`vouch: rules compile: ${describeSlowPattern(p)} (accepted: --allow-slow-rules)\n`);
      if (report.files > 0)
        io.stdout(
          `${report.files} YARA files compiled with YARA-X ${report.engineVersion} in ${report.seconds.toFixed(3)} s\n`,
        );
    },
  });
  await writeDatabase(out, files);
  printDatabase(io, out, (await readDatabase(out)).database);
  return exitCodes.ok;
}

async function diff(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch rules diff OLD NEW --out FILE';
  const { values, positionals } = parseCommandLine(
    'rules diff',
    synopsis,
    args,
    { out: { type: 'string' } },
    true,
  );
  const out = required('rules diff', synopsis, values.out, '--out');
  if (positionals.length !== 2) return usageError(io, synopsis);
  const delta = await diffDatabaseFolders(positionals[0] as string, positionals[1] as string, out);
  io.stdout(`${out}: delta of ${delta.length} bytes\n`);
  return exitCodes.ok;
}

async function apply(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch rules apply BASE DELTA --out DIR';
  const { values, positionals } = parseCommandLine(
    'rules apply',
    synopsis,
    args,
    { out: { type: 'string' } },
    true,
  );
  const out = required('rules apply', synopsis, values.out, '--out');
  if (positionals.length !== 2) return usageError(io, synopsis);
  const database = await applyDeltaFile(positionals[0] as string, positionals[1] as string, out);
  printDatabase(io, out, database);
  return exitCodes.ok;
}

async function pack(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch rules pack DB --out FILE.vdb';
  const { values, positionals } = parseCommandLine(
    'rules pack',
    synopsis,
    args,
    { out: { type: 'string' } },
    true,
  );
  const out = required('rules pack', synopsis, values.out, '--out');
  if (positionals.length !== 1) return usageError(io, synopsis);
  const { files, database } = await readDatabase(positionals[0] as string);
  const bundle = packDatabaseBundle(files);
  await writeNewFile(out, bundle);
  io.stdout(
    `${out}: rule database ${database.manifest.name} version ${database.manifest.version}, ${bundle.length} bytes, sha256 ${formatHex(sha256(bundle))}\n`,
  );
  return exitCodes.ok;
}

async function exportRules(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch rules export DB [--clamav DIR] [--yara FILE]';
  const { values, positionals } = parseCommandLine(
    'rules export',
    synopsis,
    args,
    { clamav: { type: 'string' }, yara: { type: 'string' } },
    true,
  );
  const clamav = typeof values.clamav === 'string' ? values.clamav : undefined;
  const yara = typeof values.yara === 'string' ? values.yara : undefined;
  if (clamav === undefined && yara === undefined)
    throw new VouchError(
      'invalid-argument',
      `rules export: give --clamav DIR or --yara FILE (usage: ${synopsis})`,
    );
  if (positionals.length !== 1) return usageError(io, synopsis);
  const db = positionals[0] as string;
  if (clamav !== undefined) {
    const { written, omitted } = await exportClamav(db, clamav);
    for (const name of written) io.stdout(`${clamav}/${name}\n`);
    if (omitted.length > 0)
      io.stderr(
        `vouch: rules export: ${omitted.length} signatures of the empty file omitted (ClamAV never matches it)\n`,
      );
  }
  if (yara !== undefined) {
    await exportYara(db, yara);
    io.stdout(`${yara}\n`);
  }
  return exitCodes.ok;
}

function usageError(io: CliIo, synopsis: string): number {
  io.stderr(`vouch: wrong number of arguments (usage: ${synopsis})\n`);
  return exitCodes.usage;
}

/** rulesCommand is `vouch rules`. */
export const rulesCommand: Command = {
  name: 'rules',
  summary: 'compile detection-rule databases, diff and apply their deltas, pack and export them',
  usage,
  run: (args, io) => runSubcommand(args, io, usage, { compile, diff, apply, pack, export: exportRules }),
};
