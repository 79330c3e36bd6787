/**
 * Signed notes (https://c2sp.org/signed-note v1.0.0): parse, format, open (verify) and sign.
 *
 * A signed note is a UTF-8 text ending in a newline, a blank line, and one or more signature
 * lines `— <key name> <base64(key ID[4] || signature)>` (U+2014, space). The LAST "\n\n" of the
 * note separates text from signatures, so a text may itself contain blank lines. The parser is
 * strict and canonical — size cap, then signature-line cap (default 100, as golang/mod; the spec
 * requires accepting at least 16), then strict UTF-8, no ASCII control character but "\n", valid
 * key names, canonical base64 — so formatting a parsed note gives back the same bytes.
 *
 * Opening follows the spec's verifier rules: a signature whose (name, key ID) is unknown is kept
 * as unverified and never accepted; a known key whose signature fails rejects the whole note
 * (`bad-signature`); a note with no verified signature is rejected with an
 * {@link UnverifiedNoteError} that carries the parsed note, for callers that branch on it (as
 * golang/mod's `UnverifiedNoteError` does). This module does not interpret the text (see
 * core/tlog/checkpoint.ts) and does not decide whose signatures are required: a caller that
 * trusts both a log key and witness keys must itself check that the log key is among `verified`.
 */

import { concatBytes, formatBase64, parseBase64, toBytes, toText } from '../bytes/index.ts';
import { describeUntrusted, malformed, tooLarge, VouchError } from '../errors.ts';
import { formatKeyId, formatUint32, isValidKeyName, readUint32 } from './keys.ts';
import type { NoteSigner, Verifiers } from './verifier.ts';

/** NoteSignature is one signature line: the key name, key ID (uint32) and signature bytes after the ID. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Uint8Array;
}

/** Note is a note text (ending in "\n") and its signature lines, in order, duplicates kept. */
export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** VerifiedSignature is a signature a trusted key verified, with its type and, for cosignatures, its timestamp. */
export interface VerifiedSignature extends NoteSignature {
  readonly type: number;
  /** timestamp is the verified POSIX time of a timestamped cosignature (types 0x04, 0x06). */
  readonly timestamp?: bigint;
}

/**
 * OpenedNote is a note whose trusted signatures verified. `verified` lists each trusted key once
 * (its first signature line), so it can be counted toward a quorum; `unverified` lists the
 * signatures of unknown keys, identical lines once.
 */
export interface OpenedNote extends Note {
  readonly verified: readonly VerifiedSignature[];
  readonly unverified: readonly NoteSignature[];
}

/** NoteLimits bounds what a parser accepts; both default to {@link defaultNoteLimits}. */
export interface NoteLimits {
  /** maxBytes bounds the whole signed note. */
  readonly maxBytes?: number;
  /** maxSignatures bounds the number of signature lines. */
  readonly maxSignatures?: number;
}

/** defaultNoteLimits is 1 MiB and 100 signature lines (golang/mod's `note.Open` limit). */
export const defaultNoteLimits = Object.freeze({ maxBytes: 1 << 20, maxSignatures: 100 });

/** maxSignatureLineLength bounds one signature line; post-quantum signatures need a few kilobytes. */
export const maxSignatureLineLength = 16 * 1024;

/**
 * UnverifiedNoteError reports a well-formed note that no trusted key signed (code
 * `no-trusted-signature`). `note` is the parsed note; its text is untrusted.
 */
export class UnverifiedNoteError extends VouchError {
  readonly note: Note;

  constructor(note: Note) {
    super('no-trusted-signature', 'the note has no signature from a trusted key', {
      signatures: note.signatures.length,
    });
    this.name = 'UnverifiedNoteError';
    this.note = note;
  }
}

const signaturePrefix = '\u2014 ';

/**
 * parseNote parses a signed note without verifying it, or throws `too-large` (over the size or
 * signature-line limit) or `malformed`. The text it returns must not be acted on before
 * {@link openNote} has verified it.
 */
export function parseNote(bytes: Uint8Array, limits: NoteLimits = {}): Note {
  return split(bytes, limits).note;
}

/**
 * formatNote encodes a note as bytes; `formatNote(parseNote(x))` equals `x`. It throws
 * `invalid-argument` for a text not ending in "\n", no signatures, or a bad signature field.
 */
export function formatNote(note: Note): Uint8Array {
  assertNoteText(note.text);
  if (note.signatures.length === 0)
    throw new VouchError('invalid-argument', 'a signed note needs a signature');
  let out = `${note.text}\n`;
  for (const signature of note.signatures) out += `${formatSignatureLine(signature)}\n`;
  return toBytes(out);
}

/**
 * openNote parses a signed note and verifies every signature by a key in `verifiers`. It throws
 * `too-large` or `malformed` for bad input, `bad-signature` when a trusted key's signature does
 * not verify, and {@link UnverifiedNoteError} when no trusted key signed.
 */
export function openNote(bytes: Uint8Array, verifiers: Verifiers, limits: NoteLimits = {}): OpenedNote {
  const { note, textBytes } = split(bytes, limits);
  const verified: VerifiedSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenVerified = new Set<string>();
  const seenUnverified = new Set<string>();
  for (const signature of note.signatures) {
    const line = formatSignatureLine(signature);
    const key = `${signature.name}+${formatKeyId(signature.keyId)}`;
    const verifier = verifiers.verifier(signature.name, signature.keyId);
    if (verifier === undefined) {
      if (!seenUnverified.has(line)) unverified.push(signature);
      seenUnverified.add(line);
      continue;
    }
    if (verifier.name !== signature.name || verifier.keyId !== signature.keyId) {
      throw new VouchError('invalid-argument', 'the verifier set returned a verifier for another key');
    }
    // Every signature of a known key must verify, duplicates included (spec: "MUST verify").
    if (!verifier.verify(textBytes, signature.signature)) {
      throw new VouchError(
        'bad-signature',
        `the signature of ${describeUntrusted(signature.name)}+${formatKeyId(signature.keyId)} does not verify`,
        { key: describeUntrusted(key) },
      );
    }
    if (seenVerified.has(key)) continue;
    seenVerified.add(key);
    const timestamp = verifier.timestampOf?.(signature.signature);
    verified.push(
      Object.freeze({ ...signature, type: verifier.type, ...(timestamp === undefined ? {} : { timestamp }) }),
    );
  }
  if (verified.length === 0) throw new UnverifiedNoteError(note);
  return Object.freeze({
    text: note.text,
    signatures: note.signatures,
    verified: Object.freeze(verified),
    unverified: Object.freeze(unverified),
  });
}

/**
 * parseSignatureLine parses one signature line without its final newline, or throws
 * `malformed` (or `too-large` over {@link maxSignatureLineLength}). The signature must have at
 * least one byte after the key ID.
 */
export function parseSignatureLine(line: string): NoteSignature {
  if (line.length > maxSignatureLineLength) throw tooLarge('signature line', maxSignatureLineLength);
  if (!line.startsWith(signaturePrefix)) throw malformed('signature line does not start with "— "');
  const rest = line.slice(signaturePrefix.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw malformed('signature line has no signature');
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) throw malformed('signature line has an invalid key name');
  const raw = parseBase64(rest.slice(space + 1), 'signature');
  if (raw.length < 5) throw malformed('signature is shorter than a key ID and one byte');
  return Object.freeze({ name, keyId: readUint32(raw), signature: raw.slice(4) });
}

/** formatSignatureLine spells a signature as a line without its final newline; it throws `invalid-argument` for a bad field. */
export function formatSignatureLine(signature: NoteSignature): string {
  if (!isValidKeyName(signature.name)) throw new VouchError('invalid-argument', 'invalid signature key name');
  if (!Number.isInteger(signature.keyId) || signature.keyId < 0 || signature.keyId > 0xffffffff) {
    throw new VouchError('invalid-argument', 'key ID is not a uint32');
  }
  if (signature.signature.length === 0) throw new VouchError('invalid-argument', 'empty signature');
  const raw = concatBytes(formatUint32(signature.keyId), signature.signature);
  return `${signaturePrefix}${signature.name} ${formatBase64(raw)}`;
}

/**
 * signText signs a note text (which must end in "\n", be well-formed, and contain no control
 * character but "\n") with one signer and returns the signature, without building a note —
 * what a witness returns for a checkpoint. It throws `invalid-argument` for a bad text.
 */
export async function signText(text: string, signer: NoteSigner): Promise<NoteSignature> {
  assertNoteText(text);
  const signature = await signer.sign(toBytes(text));
  const result = Object.freeze({
    name: signer.name,
    keyId: signer.keyId,
    signature: new Uint8Array(signature),
  });
  formatSignatureLine(result); // checks the signer's name, key ID and signature shape
  return result;
}

/**
 * signNote signs `text` with every signer, in order, and returns the encoded signed note. It
 * throws `invalid-argument` for a bad text or no signers, and rejects if a signer does.
 */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<Uint8Array> {
  return formatNote(await addSignatures({ text, signatures: [] }, signers));
}

/**
 * addSignatures signs the note's text with every signer and returns a new note with those
 * signatures appended (see {@link appendSignatures}); the existing signatures are not checked.
 */
export async function addSignatures(note: Note, signers: readonly NoteSigner[]): Promise<Note> {
  assertNoteText(note.text);
  if (signers.length === 0 && note.signatures.length === 0) {
    throw new VouchError('invalid-argument', 'a signed note needs a signer');
  }
  const added: NoteSignature[] = [];
  for (const signer of signers) added.push(await signText(note.text, signer));
  return appendSignatures(note, added);
}

/**
 * appendSignatures returns a new note with `signatures` after the existing ones. An existing
 * signature by the same (name, key ID) as a new one is dropped, so a witness that cosigns again
 * replaces its older cosignature rather than adding a second line. Signatures are not verified.
 */
export function appendSignatures(note: Note, signatures: readonly NoteSignature[]): Note {
  assertNoteText(note.text);
  for (const s of signatures) formatSignatureLine(s);
  const replaced = new Set(signatures.map((s) => `${s.name}+${formatKeyId(s.keyId)}`));
  const kept = note.signatures.filter((s) => !replaced.has(`${s.name}+${formatKeyId(s.keyId)}`));
  return Object.freeze({ text: note.text, signatures: Object.freeze([...kept, ...signatures]) });
}

function split(bytes: Uint8Array, limits: NoteLimits): { note: Note; textBytes: Uint8Array } {
  const maxBytes = limits.maxBytes ?? defaultNoteLimits.maxBytes;
  const maxSignatures = limits.maxSignatures ?? defaultNoteLimits.maxSignatures;
  if (bytes.length > maxBytes) throw tooLarge('signed note', maxBytes);
  const all = toText(bytes, 'signed note');
  if (hasControlCharacter(all)) throw malformed('signed note contains a control character');
  const separator = all.lastIndexOf('\n\n');
  if (separator < 0) throw malformed('signed note has no blank line before its signatures');
  const text = all.slice(0, separator + 1);
  const block = all.slice(separator + 2);
  if (block.length === 0 || !block.endsWith('\n'))
    throw malformed('signed note does not end in a signature line');
  let lineCount = 0;
  for (let i = block.indexOf('\n'); i >= 0; i = block.indexOf('\n', i + 1)) {
    if (++lineCount > maxSignatures) throw tooLarge('signature lines', maxSignatures);
  }
  const signatures = block
    .slice(0, -1)
    .split('\n')
    .map((line, i) => {
      try {
        return parseSignatureLine(line);
      } catch (error) {
        if (error instanceof VouchError)
          throw new VouchError(error.code, error.message, { ...error.details, field: `signature ${i + 1}` });
        throw error;
      }
    });
  const note = Object.freeze({ text, signatures: Object.freeze(signatures) });
  // The byte offset of the separator differs from its string index for non-ASCII text; the
  // UTF-8 re-encoding of a strictly decoded text gives back exactly its original bytes.
  return { note, textBytes: toBytes(text) };
}

function assertNoteText(text: string): void {
  if (typeof text !== 'string' || !text.endsWith('\n')) {
    throw new VouchError('invalid-argument', 'a note text must end in a newline');
  }
  if (!text.isWellFormed() || hasControlCharacter(text)) {
    throw new VouchError(
      'invalid-argument',
      'a note text must be well-formed with no control character but "\\n"',
    );
  }
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && code !== 0x0a) return true;
  }
  return false;
}
