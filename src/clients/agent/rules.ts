/**
 * The rule-database side of an install: turning a verified bundle (`rules/NAME/NAME-V.vdb`, one
 * file holding every member, core/rules/bundle.ts) into a database folder, applying a delta to
 * the installed database, and test-loading a staged folder the way `vouch scan` opens one.
 *
 * A delta is never trusted on its own (docs/updates.md): its result is packed back into a bundle
 * and must equal the full database target named by the delta — same length and SHA-256, the
 * target that carries the evidence — or it is refused with attack `bad-delta`, and the caller
 * falls back to the full download. Test-loading reads the staged folder with the rule compiler's
 * reader (every member checked against the manifest) and, when the database has YARA rules,
 * compiles them in the scanner's worker and closes it: a database the scanner cannot load is
 * never swapped in.
 */

import { formatHex } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { describeUntrusted, VouchError } from '../../core/errors.ts';
import { packDatabaseBundle, unpackDatabaseBundle } from '../../core/rules/bundle.ts';
import type { DatabaseFiles } from '../../core/rules/database.ts';
import { applyDelta } from '../../core/rules/delta.ts';
import { readDatabaseForScan } from '../../services/rules/compile.ts';
import { startYaraMatcher } from '../../services/rules/yara.ts';

/** ExpectedFile is a target's committed length and hex SHA-256. */
export interface ExpectedFile {
  readonly path: string;
  readonly length: number;
  readonly sha256: string;
}

/**
 * databaseFromBundle unpacks a verified bundle into database files (members checked against the
 * manifest); a bundle that does not unpack is `malformed`/`bad-digest` from core/rules.
 */
export function databaseFromBundle(bundle: Uint8Array): DatabaseFiles {
  return unpackDatabaseBundle(bundle);
}

/**
 * applyDeltaToInstalled applies `delta` to the installed database files and checks that the
 * result's bundle equals `expected` (the full database target), returning the result's files and
 * bundle. Any failure — the delta does not apply to this base, its own result digest is wrong, or
 * the result differs from the target — is `bad-digest` with attack `bad-delta`, the cause kept.
 */
export function applyDeltaToInstalled(
  deltaPath: string,
  base: DatabaseFiles,
  delta: Uint8Array,
  expected: ExpectedFile,
): { files: DatabaseFiles; bundle: Uint8Array } {
  let files: DatabaseFiles;
  try {
    files = applyDelta(base, delta);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw badDelta(deltaPath, `it does not apply to the installed database: ${why}`, error);
  }
  const bundle = packDatabaseBundle(files);
  const digest = formatHex(sha256(bundle));
  if (bundle.length !== expected.length || digest !== expected.sha256) {
    throw badDelta(
      deltaPath,
      `its result (${bundle.length} bytes, sha256 ${digest}) is not ${describeUntrusted(expected.path)} (${expected.length} bytes, sha256 ${expected.sha256})`,
    );
  }
  return { files, bundle };
}

/**
 * testLoadDatabase opens the database folder `dir` as `vouch scan --db` does and, when it has
 * YARA rules, compiles them in a scanner worker; it throws what the scanner would.
 */
export async function testLoadDatabase(dir: string): Promise<void> {
  const { database } = await readDatabaseForScan(dir);
  if (database.yara.size > 0) {
    const matcher = await startYaraMatcher(database.yara);
    await matcher.close();
  }
}

function badDelta(path: string, why: string, cause?: unknown): VouchError {
  return new VouchError(
    'bad-digest',
    `bad delta: ${describeUntrusted(path)} refused: ${why}`,
    { field: path, attack: 'bad-delta' },
    cause === undefined ? undefined : { cause },
  );
}
