/**
 * The message bodies of the C2SP witness protocol's `add-checkpoint` call
 * (https://c2sp.org/tlog-witness, C2SP main as of 2026): the request — an `old <size>` line, 0 to
 * 63 base64 consistency-proof lines, an empty line, then the signed checkpoint note — the 409
 * body (`<size>\n`, content type `text/x.tlog.size`) that tells a client the size the witness
 * last cosigned, and the 200 body: one or more note signature lines (the cosignatures).
 *
 * Parsers are strict and bounded (size cap first, then line count caps), accept one spelling of
 * each value — canonical decimal, canonical padded base64 of exactly 32 bytes, "\n" line ends —
 * and return frozen values; formatting a parsed value gives back its bytes. The request parser
 * checks the shape of the embedded note and checkpoint but verifies nothing: signatures, the
 * consistency proof and the witness's own state are the witness's checks (services/witness).
 * This module does not handle the optional `sign-subtree` call.
 */

import { concatBytes, formatBase64, parseBase64, parseDecimal, toBytes, toText } from '../bytes/index.ts';
import { malformed, tooLarge, VouchError } from '../errors.ts';
import {
  defaultNoteLimits,
  formatSignatureLine,
  type NoteSignature,
  parseNote,
  parseSignatureLine,
} from '../note/index.ts';
import { parseCheckpoint } from './checkpoint.ts';

/** maxAddCheckpointRequestBytes bounds a whole `add-checkpoint` request body (1 MiB). */
export const maxAddCheckpointRequestBytes = 1 << 20;

/** maxAddCheckpointProofLines is the spec's bound: a client MUST NOT send more than 63 proof lines. */
export const maxAddCheckpointProofLines = 63;

/** treeSizeContentType is the content type of a 409 answer that carries the witness's tree size. */
export const treeSizeContentType = 'text/x.tlog.size';

/** maxTreeSizeBodyBytes bounds a `text/x.tlog.size` body: 20 digits and a newline. */
export const maxTreeSizeBodyBytes = 21;

/** maxCosignatureResponseBytes bounds a 200 answer; an ML-DSA-44 cosignature line is about 3.3 KB. */
export const maxCosignatureResponseBytes = 256 * 1024;

/** maxCosignatureResponseLines bounds the cosignature lines of one 200 answer. */
export const maxCosignatureResponseLines = 64;

/** AddCheckpointRequest is a parsed `add-checkpoint` request body. */
export interface AddCheckpointRequest {
  /** old is the size of the checkpoint the client believes the witness last cosigned (0 if none). */
  readonly old: bigint;
  /** proof is the RFC 6962 consistency proof from `old` to the checkpoint's size, 32-byte hashes. */
  readonly proof: readonly Uint8Array[];
  /** checkpoint is the signed checkpoint note's exact bytes; its signatures are not verified here. */
  readonly checkpoint: Uint8Array;
}

const newline = 0x0a;
const hashBase64Length = 44; // base64 of 32 bytes, padded
// The longest header line: "old " and 20 digits; proof lines are exactly 44 characters.
const maxHeaderLineLength = 24;

/**
 * parseAddCheckpointRequest parses a request body, or throws `too-large` (over
 * {@link maxAddCheckpointRequestBytes}, more than {@link maxAddCheckpointProofLines} proof lines,
 * or over the note's signature-line limit) or `malformed` naming the line at fault (`line N` of
 * the header, `checkpoint ...` inside the note). The old size
 * may exceed the checkpoint's size: that is the witness's 400, not a parse error.
 */
export function parseAddCheckpointRequest(bytes: Uint8Array): AddCheckpointRequest {
  if (bytes.length > maxAddCheckpointRequestBytes) {
    throw tooLarge('add-checkpoint request', maxAddCheckpointRequestBytes);
  }
  let at = 0;
  let lineNumber = 0;
  // nextLine returns the next "\n"-terminated header line without its newline; header lines are
  // short ASCII, so a line longer than any valid one is refused before it is decoded.
  const nextLine = (): string => {
    lineNumber++;
    const end = bytes.indexOf(newline, at);
    if (end < 0) throw malformed('add-checkpoint request ends inside its header', `line ${lineNumber}`);
    if (end - at > Math.max(maxHeaderLineLength, hashBase64Length)) {
      throw malformed('add-checkpoint request line is too long', `line ${lineNumber}`);
    }
    const line = atLine(lineNumber, () => toText(bytes.subarray(at, end), 'add-checkpoint request line'));
    at = end + 1;
    return line;
  };

  const oldLine = nextLine();
  if (!oldLine.startsWith('old '))
    throw malformed('add-checkpoint request does not start with "old "', 'line 1');
  const old = atLine(1, () => parseDecimal(oldLine.slice(4), 'old size'));

  const proof: Uint8Array[] = [];
  for (;;) {
    const line = nextLine();
    if (line === '') break;
    if (proof.length === maxAddCheckpointProofLines) {
      throw tooLarge('consistency proof lines', maxAddCheckpointProofLines, `line ${lineNumber}`);
    }
    const here = lineNumber;
    const hash = atLine(here, () => parseBase64(line, 'consistency proof hash'));
    if (hash.length !== 32) throw malformed('consistency proof hash is not 32 bytes', `line ${here}`);
    proof.push(hash);
  }

  const checkpoint = bytes.slice(at);
  if (checkpoint.length === 0) throw malformed('add-checkpoint request has no checkpoint', 'checkpoint');
  // Errors inside the note name their place as "checkpoint <field>", apart from header lines.
  try {
    const note = parseNote(checkpoint, {
      maxBytes: maxAddCheckpointRequestBytes,
      maxSignatures: defaultNoteLimits.maxSignatures,
    });
    parseCheckpoint(note.text);
  } catch (error) {
    if (!(error instanceof VouchError)) throw error;
    const field = error.details.field;
    throw new VouchError(error.code, error.message, {
      ...error.details,
      field: field === undefined ? 'checkpoint' : `checkpoint ${field}`,
    });
  }
  return Object.freeze({ old, proof: Object.freeze(proof), checkpoint });
}

/**
 * formatAddCheckpointRequest encodes a request in its one spelling; parsing the result gives the
 * request back. It throws `invalid-argument` for a value {@link parseAddCheckpointRequest} would
 * refuse: an old size out of range, a wrong-length hash, too many proof lines, or a checkpoint
 * that is not a well-formed signed checkpoint note.
 */
export function formatAddCheckpointRequest(request: AddCheckpointRequest): Uint8Array {
  if (typeof request.old !== 'bigint' || request.old < 0n || request.old >= 1n << 64n) {
    throw new VouchError('invalid-argument', 'the old size is out of range');
  }
  if (request.proof.length > maxAddCheckpointProofLines) {
    throw new VouchError(
      'invalid-argument',
      `at most ${maxAddCheckpointProofLines} proof hashes may be sent`,
    );
  }
  let header = `old ${request.old}\n`;
  for (const hash of request.proof) {
    if (!(hash instanceof Uint8Array) || hash.length !== 32) {
      throw new VouchError('invalid-argument', 'a consistency proof hash must be 32 bytes');
    }
    header += `${formatBase64(hash)}\n`;
  }
  header += '\n';
  try {
    parseCheckpoint(parseNote(request.checkpoint, { maxBytes: maxAddCheckpointRequestBytes }).text);
  } catch (error) {
    if (error instanceof VouchError) {
      throw new VouchError('invalid-argument', `the checkpoint is not a signed checkpoint: ${error.message}`);
    }
    throw error;
  }
  const out = concatBytes(toBytes(header), request.checkpoint);
  if (out.length > maxAddCheckpointRequestBytes) {
    throw new VouchError('invalid-argument', 'the add-checkpoint request would be too large');
  }
  return out;
}

/**
 * parseTreeSizeBody reads a `text/x.tlog.size` body — a canonical decimal and a newline — or
 * throws `too-large` over {@link maxTreeSizeBodyBytes} or `malformed`.
 */
export function parseTreeSizeBody(bytes: Uint8Array): bigint {
  if (bytes.length > maxTreeSizeBodyBytes) throw tooLarge('tree size body', maxTreeSizeBodyBytes);
  const text = toText(bytes, 'tree size body');
  if (!text.endsWith('\n')) throw malformed('tree size body does not end in a newline');
  return parseDecimal(text.slice(0, -1), 'tree size');
}

/** formatTreeSizeBody spells a tree size as a `text/x.tlog.size` body; it throws `invalid-argument` out of range. */
export function formatTreeSizeBody(size: bigint): Uint8Array {
  if (typeof size !== 'bigint' || size < 0n || size >= 1n << 64n) {
    throw new VouchError('invalid-argument', 'the tree size is out of range');
  }
  return toBytes(`${size}\n`);
}

/**
 * parseCosignatureLines reads a 200 answer: one or more note signature lines, each ending in
 * "\n", nothing else. It throws `too-large` over {@link maxCosignatureResponseBytes} or
 * {@link maxCosignatureResponseLines}, and `malformed` naming the bad line. Nothing is verified:
 * the caller checks the lines of the witness keys it trusts and ignores the others.
 */
export function parseCosignatureLines(bytes: Uint8Array): readonly NoteSignature[] {
  if (bytes.length > maxCosignatureResponseBytes) {
    throw tooLarge('cosignature response', maxCosignatureResponseBytes);
  }
  const text = toText(bytes, 'cosignature response');
  if (text.length === 0) throw malformed('cosignature response is empty');
  if (!text.endsWith('\n')) throw malformed('cosignature response does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length > maxCosignatureResponseLines) {
    throw tooLarge('cosignature lines', maxCosignatureResponseLines);
  }
  return Object.freeze(lines.map((line, i) => atLine(i + 1, () => parseSignatureLine(line))));
}

/**
 * formatCosignatureLines encodes signature lines as a 200 answer, each ending in "\n". It throws
 * `invalid-argument` for no signatures, more than {@link maxCosignatureResponseLines}, or a bad field.
 */
export function formatCosignatureLines(signatures: readonly NoteSignature[]): Uint8Array {
  if (signatures.length === 0)
    throw new VouchError('invalid-argument', 'a cosignature response needs a line');
  if (signatures.length > maxCosignatureResponseLines) {
    throw new VouchError('invalid-argument', `at most ${maxCosignatureResponseLines} cosignature lines`);
  }
  return toBytes(signatures.map((s) => `${formatSignatureLine(s)}\n`).join(''));
}

function atLine<T>(line: number, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof VouchError) {
      throw new VouchError(error.code, error.message, { ...error.details, field: `line ${line}` });
    }
    throw error;
  }
}
