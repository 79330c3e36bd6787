/**
 * What the repository has already put in the release log, read back from the tlog-proofs it keeps
 * under `public/log/` (docs/updates.md, "The release log").
 *
 * One version number, one set of bytes: once a release record for `N.ROLE.json` is in the log,
 * version N of that role is committed to those bytes even if publishing stopped before the file
 * reached `public/`. Two different `N.targets.json` in the log is what a targeted release looks
 * like (one set of endpoints shown one version N, the rest another), so monitors and auditors must
 * treat it as equivocation; the repository therefore never logs a second record for a metadata
 * file name. Changing pending metadata whose version is logged with other bytes is refused, and
 * so is publishing it: the operator finishes publishing what was logged, then prepares the next
 * version. Evidence is different: its file name is the SHA-256 of its bytes, so a proof that does
 * not prove it is simply a bad proof and the evidence is logged again.
 *
 * A proof is matched against an entry by its Merkle path alone: the leaf hash of the exact entry
 * bytes at the proof's index must lead to the root of its checkpoint. The checkpoint's signatures
 * were checked by the release log client when the proof was made (release-log.ts); what is asked
 * here is only which entry a proof we wrote is for, and no key is needed for that.
 */

import { join } from 'node:path';
import { VouchError } from '../../core/errors.ts';
import { leafHash, verifyInclusion } from '../../core/merkle/index.ts';
import { parseNote } from '../../core/note/index.ts';
import { releaseRecord } from '../../core/release/record.ts';
import { parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { maxTlogProofBytes, parseTlogProof } from '../../core/tlog/proof.ts';
import { type RepoPaths, readFileBounded } from './layout.ts';

/** logProofPath is where the tlog-proof of entry `name` (a metadata file name or evidence SHA-256) is kept. */
export function logProofPath(paths: RepoPaths, name: string): string {
  return join(paths.publicLog, `${name}.tlog-proof`);
}

/** readLogProof returns the kept tlog-proof of entry `name`, or undefined when there is none. */
export async function readLogProof(paths: RepoPaths, name: string): Promise<Uint8Array | undefined> {
  return readFileBounded(logProofPath(paths, name), maxTlogProofBytes);
}

/**
 * proofIndexIfFor returns the log index of `entry` when `proof` proves exactly these entry bytes
 * (its leaf hash at the proof's index leads to the checkpoint's root), and undefined when the
 * proof is for other bytes or does not parse.
 */
export function proofIndexIfFor(proof: Uint8Array, entry: Uint8Array): bigint | undefined {
  try {
    const parsed = parseTlogProof(proof);
    const checkpoint = parseCheckpoint(parseNote(parsed.checkpoint).text);
    verifyInclusion(leafHash(entry), parsed.index, checkpoint.size, parsed.proof, checkpoint.root);
    return parsed.index;
  } catch {
    return undefined;
  }
}

/**
 * checkMetadataUnlogged refuses (`conflict`) `bytes` as metadata file `file` (`N.ROLE.json`) of
 * `repository` when the log already holds a release record of `file` for other bytes, or when the
 * kept proof of `file` cannot be read as a proof (then what was logged is unknown). `action` says
 * what was refused, for the message. Bytes identical to the logged ones pass.
 */
export async function checkMetadataUnlogged(
  paths: RepoPaths,
  repository: string,
  file: string,
  bytes: Uint8Array,
  action: string,
): Promise<void> {
  const proof = await readLogProof(paths, file);
  if (proof === undefined) return;
  const entry = releaseRecord({ repository, file, bytes });
  if (proofIndexIfFor(proof, entry) !== undefined) return;
  throw new VouchError(
    'conflict',
    `refusing to ${action}: ${file} is already in the release log with other bytes (${logProofPath(paths, file)} does not prove these); a second ${file} in the log would be equivocation, which monitors must flag. Publish the version that was logged first (retry \`vouch repo publish\` with the pending metadata it logged), then prepare the next version`,
    { field: file, attack: 'equivocation' },
  );
}
