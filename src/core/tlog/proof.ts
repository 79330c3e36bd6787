/**
 * C2SP tlog-proof (https://c2sp.org/tlog-proof, `c2sp.org/tlog-proof@v1`): an offline proof that
 * an entry is in a log — optional unauthenticated extra data, the entry's index, its RFC 6962
 * inclusion proof, and the (cosigned) checkpoint verbatim. It is what the agent receives next to
 * each update and a customer next to each ledger entry.
 *
 * parse/format are strict and byte-exact: formatting a parsed proof gives back its bytes. Parsing
 * checks the shape of the embedded note and checkpoint but verifies nothing; verification needs
 * the caller's trusted keys and lives in {@link checkTlogProof}. It does not decide how the leaf
 * hash is derived from application data: the caller passes it.
 */

import { concatBytes, formatBase64, parseBase64, parseDecimal, toBytes, toText } from '../bytes/index.ts';
import { malformed, tooLarge, VouchError } from '../errors.ts';
import { maxInclusionProofLength, verifyInclusion } from '../merkle/index.ts';
import { type OpenedNote, openNote, parseNote, type Verifiers } from '../note/index.ts';
import { type Checkpoint, parseCheckpoint } from './checkpoint.ts';

const header = 'c2sp.org/tlog-proof@v1';

/** maxTlogProofBytes bounds a whole proof: a checkpoint note with many cosignatures fits easily. */
export const maxTlogProofBytes = 256 * 1024;

/** maxExtraBytes bounds the opaque extra data. */
export const maxExtraBytes = 16 * 1024;

/** TlogProof is a parsed proof; `checkpoint` holds the signed checkpoint note's exact bytes. */
export interface TlogProof {
  readonly extra?: Uint8Array;
  readonly index: bigint;
  readonly proof: readonly Uint8Array[];
  readonly checkpoint: Uint8Array;
}

/** parseTlogProof parses a tlog-proof, or throws `malformed`/`too-large` naming the line at fault. */
export function parseTlogProof(bytes: Uint8Array): TlogProof {
  if (bytes.length > maxTlogProofBytes) throw tooLarge('tlog-proof', maxTlogProofBytes);
  const text = toText(bytes, 'tlog-proof');
  const blank = text.indexOf('\n\n');
  if (blank === -1) throw malformed('tlog-proof has no blank line before the checkpoint');
  const lines = text.slice(0, blank).split('\n');
  if (lines[0] !== header) throw malformed(`tlog-proof does not start with ${header}`, 'line 1');
  let at = 1;
  let extra: Uint8Array | undefined;
  if (lines[at]?.startsWith('extra ')) {
    extra = parseBase64((lines[at] as string).slice(6), 'tlog-proof extra data');
    if (extra.length > maxExtraBytes)
      throw tooLarge('tlog-proof extra data', maxExtraBytes, `line ${at + 1}`);
    at++;
  }
  const indexLine = lines[at];
  if (indexLine === undefined || !indexLine.startsWith('index ')) {
    throw malformed('tlog-proof has no index line', `line ${at + 1}`);
  }
  const index = parseDecimal(indexLine.slice(6), 'tlog-proof index');
  at++;
  const hashLines = lines.slice(at);
  if (hashLines.length > maxInclusionProofLength) {
    throw tooLarge('tlog-proof inclusion proof', maxInclusionProofLength);
  }
  const proof = hashLines.map((line, i) => {
    const hash = parseBase64(line, `tlog-proof hash on line ${at + i + 1}`);
    if (hash.length !== 32) throw malformed('tlog-proof hash is not 32 bytes', `line ${at + i + 1}`);
    return hash;
  });
  const checkpoint = toBytes(text.slice(blank + 2));
  parseCheckpoint(parseNote(checkpoint).text);
  return Object.freeze({
    ...(extra === undefined ? {} : { extra }),
    index,
    proof: Object.freeze(proof),
    checkpoint,
  });
}

/** formatTlogProof encodes a proof in its one canonical spelling. */
export function formatTlogProof(value: TlogProof): Uint8Array {
  const lines = [header];
  if (value.extra !== undefined) lines.push(`extra ${formatBase64(value.extra)}`);
  lines.push(`index ${value.index}`);
  for (const hash of value.proof) lines.push(formatBase64(hash));
  return concatBytes(toBytes(`${lines.join('\n')}\n\n`), value.checkpoint);
}

/** CheckedTlogProof is what a verified proof establishes. */
export interface CheckedTlogProof {
  readonly checkpoint: Checkpoint;
  readonly note: OpenedNote;
}

/**
 * checkTlogProof verifies a proof for an entry whose leaf hash the caller computed: the
 * checkpoint note must open with `verifiers` (a known bad signature or no trusted signature
 * throws), its origin must equal `origin` (`policy-unmet`), a trusted key named like the origin —
 * the log's own key — must have signed it (`no-trusted-signature`; witness cosignatures alone do
 * not count), and the inclusion proof must lead from `leafHash` at
 * `index` to the checkpoint's root (`bad-proof` otherwise). Witness quorum policies are checked
 * by the caller on the returned note's verified signatures.
 */
export function checkTlogProof(
  value: TlogProof,
  leafHash: Uint8Array,
  origin: string,
  verifiers: Verifiers,
): CheckedTlogProof {
  const note = openNote(value.checkpoint, verifiers);
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.origin !== origin) {
    throw new VouchError('policy-unmet', 'tlog-proof checkpoint is from another log', { field: 'origin' });
  }
  // The log itself must have signed: its key is named like its origin, and a checkpoint that
  // only other trusted keys (witnesses) signed proves nothing about what the log committed to.
  if (!note.verified.some((signature) => signature.name === origin)) {
    throw new VouchError('no-trusted-signature', `tlog-proof checkpoint is not signed by the log ${origin}`, {
      field: 'checkpoint',
    });
  }
  verifyInclusion(leafHash, value.index, checkpoint.size, value.proof, checkpoint.root);
  return Object.freeze({ checkpoint, note });
}
