/**
 * `vouch note sign` and `vouch note verify`: C2SP signed notes from the command line. Signing
 * takes the note text (which must end in a newline, as the spec requires) and prints the signed
 * note; verifying opens a signed note with the verifier keys given and succeeds only when at
 * least one of them signed it. The work is core/note's; this file only wires.
 */

import { toText } from '../../../core/bytes/index.ts';
import {
  createNoteSigner,
  defaultNoteLimits,
  formatKeyId,
  openNote,
  signNote,
  verifierSet,
} from '../../../core/note/index.ts';
import { createCheckpointVerifier } from '../../../core/tlog/cosignature.ts';
import { parseCommandLine, repeated } from '../args.ts';
import type { CliIo, Command } from '../io.ts';
import { exitCodes, readInput, runSubcommand } from '../io.ts';
import { loadSigner } from '../load-key.ts';

const usage = `Usage:
  vouch note sign --key FILE [--key FILE...] [IN]
      Sign the note text in IN (default: standard input) with each key and print the signed note.
      The text must be UTF-8 and end with a newline. Ed25519 keys sign with type 0x01 and
      ECDSA P-256 keys with type 0x02; ML-DSA-44 keys only cosign checkpoints (vouch witness).
  vouch note verify --vkey VKEY [--vkey VKEY...] [--text] [IN]
      Open the signed note in IN with the verifier keys given (name+keyid+base64, as printed by
      vouch key generate). Prints one "verified NAME+KEYID" line per key that signed it, or only
      the note text with --text. Exit 0 only when at least one given key signed it; a bad
      signature by a given key rejects the note (exit 1). Signatures by other keys are ignored.
`;

async function sign(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch note sign --key FILE [--key FILE...] [IN]';
  const { values, positionals } = parseCommandLine(
    'note sign',
    synopsis,
    args,
    { key: { type: 'string', multiple: true } },
    true,
  );
  const keys = repeated('note sign', synopsis, values.key, '--key');
  if (positionals.length > 1) return tooManyInputs(io, synopsis);
  const text = toText(await readInput(positionals[0], io, defaultNoteLimits.maxBytes), 'note text');
  const signers = [];
  for (const path of keys) signers.push(createNoteSigner(await loadSigner(path, io)));
  io.stdout(new TextDecoder().decode(await signNote(text, signers)));
  return exitCodes.ok;
}

async function verify(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch note verify --vkey VKEY [--vkey VKEY...] [--text] [IN]';
  const { values, positionals } = parseCommandLine(
    'note verify',
    synopsis,
    args,
    { vkey: { type: 'string', multiple: true }, text: { type: 'boolean' } },
    true,
  );
  const vkeys = repeated('note verify', synopsis, values.vkey, '--vkey');
  if (positionals.length > 1) return tooManyInputs(io, synopsis);
  const verifiers = verifierSet(vkeys.map((vkey) => createCheckpointVerifier(vkey)));
  const note = openNote(await readInput(positionals[0], io, defaultNoteLimits.maxBytes), verifiers);
  if (values.text === true) {
    io.stdout(note.text);
  } else {
    for (const signature of note.verified) {
      const time = signature.timestamp === undefined ? '' : ` time ${signature.timestamp}`;
      io.stdout(`verified ${signature.name}+${formatKeyId(signature.keyId)}${time}\n`);
    }
  }
  return exitCodes.ok;
}

function tooManyInputs(io: CliIo, synopsis: string): number {
  io.stderr(`vouch: one input at most (usage: ${synopsis})\n`);
  return exitCodes.usage;
}

/** noteCommand is `vouch note`. */
export const noteCommand: Command = {
  name: 'note',
  summary: 'sign and verify C2SP signed notes',
  usage,
  run: (args, io) => runSubcommand(args, io, usage, { sign, verify }),
};
