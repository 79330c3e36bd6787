/**
 * Export of a rule database's hash signatures to ClamAV's formats, for cross-checking our scanner
 * against `clamscan` (https://docs.clamav.net/manual/Signatures/HashSignatures.html). Signatures
 * go to `vouch.hsb` as `SHA256:SIZE:NAME`; a record matching any size is written
 * `SHA256:*:NAME:73`, because ClamAV refuses a wildcard size unless the line carries a minimum
 * functionality level of at least 73 (clamscan 1.4.6: "Minimum FLEVEL field must be at least 73
 * for wildcard size hash signatures"). The allow-list, which has no sizes, goes to `vouch.sfp`
 * (ClamAV's SHA-256 false-positive list) as `SHA256:*:Vouch.Allow.N:73`. clamscan appends
 * `.UNOFFICIAL` to the names it reports. ClamAV never matches an empty file ("Empty file") and
 * refuses a size of 0, so signatures of size 0 or of the empty file's SHA-256 are left out and
 * listed as omitted; `vouch scan` does report them.
 *
 * The YARA export is one file for `yara RULES PATH` (https://yara.readthedocs.io/en/v4.2.3/):
 * the database's `.yar` members concatenated in name order, each after a `// yara/NAME.yar`
 * comment line and ending with a line feed. Compilation already put them in one namespace in
 * that order, so a rule name repeated across files cannot occur. Hash signatures are not
 * translated into YARA (`hash.sha256(0, filesize)` rules would work but are ClamAV's job here).
 */

import { join } from 'node:path';
import { concatBytes, formatHex, toBytes } from '../../core/bytes/index.ts';
import type { HashDb } from '../../core/rules/hashdb.ts';
import { readAllowList, readHashRecords } from '../../core/rules/hashdb.ts';
import { mkdirDurable } from '../../storage/fs/durable.ts';
import { readDatabase, writeNewFile } from './compile.ts';

/** clamavWildcardLevel is the functionality level ClamAV requires on a wildcard-size hash line. */
export const clamavWildcardLevel = 73;

/** emptySha256 is the SHA-256 of the empty file, which ClamAV never matches. */
const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** ClamavExport is the ClamAV files for one database and the signature names left out. */
export interface ClamavExport {
  /** files maps `vouch.hsb`, and `vouch.sfp` if anything is allowed, to their bytes. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** omitted names the signatures ClamAV cannot express (they match only the empty file). */
  readonly omitted: readonly string[];
}

/**
 * formatClamavExport renders the hash table `db` as ClamAV files, signatures in table order
 * (sorted by digest, then size). The same table always gives the same bytes.
 */
export function formatClamavExport(db: HashDb): ClamavExport {
  const lines: string[] = [];
  const omitted: string[] = [];
  for (const record of readHashRecords(db)) {
    const hex = formatHex(record.digest);
    if (record.size === 0 || hex === emptySha256) {
      omitted.push(record.name);
      continue;
    }
    lines.push(
      record.size === '*'
        ? `${hex}:*:${record.name}:${clamavWildcardLevel}\n`
        : `${hex}:${record.size}:${record.name}\n`,
    );
  }
  const files = new Map<string, Uint8Array>([['vouch.hsb', toBytes(lines.join(''))]]);
  const allow = readAllowList(db);
  if (allow.length > 0)
    files.set(
      'vouch.sfp',
      toBytes(
        allow.map((d, i) => `${formatHex(d)}:*:Vouch.Allow.${i + 1}:${clamavWildcardLevel}\n`).join(''),
      ),
    );
  return { files, omitted };
}

/**
 * exportClamav reads and verifies the database folder `dbDir` and writes its ClamAV files into
 * `outDir` (created if missing). Existing files are never replaced (`conflict`). Returns the
 * file names written and the signatures omitted.
 */
export async function exportClamav(
  dbDir: string,
  outDir: string,
): Promise<{ readonly written: readonly string[]; readonly omitted: readonly string[] }> {
  const { database } = await readDatabase(dbDir);
  const { files, omitted } = formatClamavExport(database.hashDb);
  await mkdirDurable(outDir);
  for (const [name, bytes] of files) await writeNewFile(join(outDir, name), bytes);
  return { written: [...files.keys()], omitted };
}

/**
 * formatYaraExport concatenates `yara` (a file name `NAME.yar` → its bytes) in name order into
 * one rules file, each file after a comment naming it and ending with a line feed. The same
 * files always give the same bytes; an empty map gives an empty file.
 */
export function formatYaraExport(yara: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const name of [...yara.keys()].sort()) {
    const bytes = yara.get(name) as Uint8Array;
    parts.push(toBytes(`// yara/${name}\n`), bytes);
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) parts.push(toBytes('\n'));
  }
  return concatBytes(...parts);
}

/**
 * exportYara reads and verifies the database folder `dbDir` and writes its YARA rules into the
 * new file `outFile` (never replaced: `conflict`). Returns the number of `.yar` files written.
 */
export async function exportYara(dbDir: string, outFile: string): Promise<number> {
  const { database } = await readDatabase(dbDir);
  await writeNewFile(outFile, formatYaraExport(database.yara));
  return database.yara.size;
}
