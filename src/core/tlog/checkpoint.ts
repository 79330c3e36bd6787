/**
 * Transparency log checkpoints (https://c2sp.org/tlog-checkpoint v1.0.0): the note text a log
 * signs to commit to its tree. The text is the origin line, the tree size in canonical ASCII
 * decimal, the standard base64 of the 32-byte RFC 6962 root hash, and optional non-empty
 * extension lines, each ending in "\n".
 *
 * Parsing is strict — one spelling per checkpoint — and bounded, so that two different texts
 * never describe one tree head. This module handles the text only: signatures are checked by
 * `openNote` (core/note), and whether the origin is the expected one, or the checkpoint is
 * consistent with an earlier one, is the caller's check. LIMIT: the origin is not required to be
 * a schemaless URL (the spec says clients must not assume it is); it may be any non-empty line.
 */

import { formatBase64, parseBase64, parseDecimal } from '../bytes/index.ts';
import { malformed, tooLarge, VouchError } from '../errors.ts';

/** Checkpoint is a parsed, frozen checkpoint text. */
export interface Checkpoint {
  /** origin is the log's identity, the first line without its newline. */
  readonly origin: string;
  /** size is the number of entries in the tree, below 2^64. */
  readonly size: bigint;
  /** root is the 32-byte RFC 6962 Merkle tree hash of the first `size` entries. */
  readonly root: Uint8Array;
  /** extensions are the extra lines after the root, without newlines; not recommended by the spec. */
  readonly extensions: readonly string[];
}

/** maxCheckpointLength bounds a checkpoint text in UTF-16 code units. */
export const maxCheckpointLength = 64 * 1024;

/** maxExtensionLines bounds the extension lines of a checkpoint. LIMIT: the spec sets no bound. */
export const maxExtensionLines = 64;

/**
 * parseCheckpoint parses a checkpoint note text (as `openNote` returns it), or throws
 * `too-large` over {@link maxCheckpointLength} or {@link maxExtensionLines}, or `malformed`
 * naming the first bad line.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (text.length > maxCheckpointLength) throw tooLarge('checkpoint', maxCheckpointLength);
  if (!text.endsWith('\n')) throw malformed('checkpoint does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('checkpoint has fewer than three lines');
  if (lines.length - 3 > maxExtensionLines) throw tooLarge('checkpoint extension lines', maxExtensionLines);
  for (const [i, line] of lines.entries()) {
    if (line.length === 0) throw malformed('checkpoint has an empty line', `line ${i + 1}`);
    if (hasControlCharacter(line) || !line.isWellFormed()) {
      throw malformed('checkpoint line has a control character', `line ${i + 1}`);
    }
  }
  const [origin = '', sizeText = '', rootText = ''] = lines;
  const size = atLine(2, () => parseDecimal(sizeText, 'checkpoint tree size'));
  const root = atLine(3, () => parseBase64(rootText, 'checkpoint root hash'));
  if (root.length !== 32) throw malformed('checkpoint root hash is not 32 bytes', 'line 3');
  return Object.freeze({ origin, size, root, extensions: Object.freeze(lines.slice(3)) });
}

/**
 * formatCheckpoint spells a checkpoint as its note text; `formatCheckpoint(parseCheckpoint(t))`
 * equals `t`. It throws `invalid-argument` for a value {@link parseCheckpoint} would refuse.
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const lines = [checkpoint.origin, ...checkpoint.extensions];
  if (checkpoint.extensions.length > maxExtensionLines) {
    throw new VouchError(
      'invalid-argument',
      `a checkpoint may have at most ${maxExtensionLines} extension lines`,
    );
  }
  for (const line of lines) {
    if (typeof line !== 'string' || line.length === 0 || line.includes('\n') || hasControlCharacter(line)) {
      throw new VouchError(
        'invalid-argument',
        'checkpoint origin and extension lines must be non-empty single lines',
      );
    }
    if (!line.isWellFormed())
      throw new VouchError('invalid-argument', 'checkpoint line is not well-formed Unicode');
  }
  if (typeof checkpoint.size !== 'bigint' || checkpoint.size < 0n || checkpoint.size >= 1n << 64n) {
    throw new VouchError('invalid-argument', 'checkpoint tree size is out of range');
  }
  if (!(checkpoint.root instanceof Uint8Array) || checkpoint.root.length !== 32) {
    throw new VouchError('invalid-argument', 'checkpoint root hash must be 32 bytes');
  }
  const extensions = checkpoint.extensions.map((line) => `${line}\n`).join('');
  const text = `${checkpoint.origin}\n${checkpoint.size}\n${formatBase64(checkpoint.root)}\n${extensions}`;
  if (text.length > maxCheckpointLength)
    throw new VouchError('invalid-argument', 'checkpoint text is too long');
  return text;
}

function atLine<T>(line: number, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof VouchError) throw malformed(error.message, `line ${line}`);
    throw error;
  }
}

function hasControlCharacter(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) < 0x20) return true;
  return false;
}
