/**
 * `vouch key`: generate a signing key into a key file (encrypted unless `--unencrypted`), and
 * show a key file's public key as a C2SP signed-note verifier key (https://c2sp.org/signed-note,
 * "Verifier keys"; type 0x06 from https://c2sp.org/tlog-cosignature) or as a PEM
 * SubjectPublicKeyInfo. It only wires: the format is `core/crypto/keyfile.ts`, the file handling
 * `storage/fs/key-file.ts`, the passphrase rules `../load-key.ts`. It does not import, export or
 * convert keys from other tools, and never prints a private key.
 */

import { lstat } from 'node:fs/promises';
import { assertKeyName, sealKeyFile } from '../../../core/crypto/index.ts';
import { formatPublicKeyPem, generateKey, isKeyType, type KeyType } from '../../../core/crypto/keys.ts';
import { isVouchError, VouchError } from '../../../core/errors.ts';
import { formatVerifierKey, signatureTypes } from '../../../core/note/index.ts';
import { writeKeyFile } from '../../../storage/fs/key-file.ts';
import { parseCommandLine, quote, required } from '../args.ts';
import type { CliIo, Command } from '../io.ts';
import { exitCodes } from '../io.ts';
import { loadKey, passphraseFromEnv, passphraseVariable } from '../load-key.ts';

const generateSynopsis =
  'vouch key generate --type ed25519|ecdsa-p256|ml-dsa-44 --name NAME --out FILE [--unencrypted] [--force]';
const showSynopsis = 'vouch key show FILE [--pem]';

const usage = `Usage:
  ${generateSynopsis}
  ${showSynopsis}

generate makes a new key pair, writes it to the key file FILE (mode 0600) and prints its
public verifier key. The file is encrypted with a passphrase taken from ${passphraseVariable},
or typed twice at a terminal; --unencrypted writes it in the clear instead. An existing FILE
is never replaced unless --force is given.
  --type   ed25519 (log and note signatures), ecdsa-p256 (where a format needs it) or
           ml-dsa-44 (post-quantum witness cosignatures)
  --name   the key name, usually a schemaless URL such as example.com/log; no spaces or "+"

show opens FILE (asking for its passphrase the same way) and prints its verifier key, or with
--pem its public key as a PEM SubjectPublicKeyInfo.

The verifier key is the C2SP signed-note "vkey" NAME+KEYID+BASE64: type 0x01 for Ed25519,
0x06 (ML-DSA-44 cosignature) for ML-DSA-44 and 0x02 (DER SubjectPublicKeyInfo) for ECDSA P-256.
`;

/** keyCommand is `vouch key` with its subcommands `generate` and `show`. */
export const keyCommand: Command = {
  name: 'key',
  summary: 'generate a signing key file, or show the public key of one',
  usage,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const [subcommand, ...rest] = args;
    if (subcommand === 'generate') return generate(rest, io);
    if (subcommand === 'show') return show(rest, io);
    const what = subcommand === undefined ? 'missing subcommand' : `unknown subcommand ${quote(subcommand)}`;
    throw new VouchError('invalid-argument', `key: ${what}; see vouch key --help`);
  },
};

async function generate(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('key generate', generateSynopsis, args, {
    type: { type: 'string' },
    name: { type: 'string' },
    out: { type: 'string' },
    unencrypted: { type: 'boolean' },
    force: { type: 'boolean' },
  });
  if (values.help === true) {
    io.stdout(usage);
    return exitCodes.ok;
  }
  const type = required('key generate', generateSynopsis, values.type, '--type');
  const name = required('key generate', generateSynopsis, values.name, '--name');
  const out = required('key generate', generateSynopsis, values.out, '--out');
  if (!isKeyType(type)) {
    throw new VouchError(
      'invalid-argument',
      `key generate: unknown key type ${quote(type)}; choose ed25519, ecdsa-p256 or ml-dsa-44`,
    );
  }
  try {
    assertKeyName(name);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    throw new VouchError(error.code, `key generate: bad --name: ${error.message}`);
  }
  const replace = values.force === true;
  // Checked before asking for a passphrase; writeKeyFile checks again, atomically.
  if (!replace && (await exists(out))) throw alreadyExists(out);
  const passphrase = values.unencrypted === true ? undefined : await newPassphrase(name, io);
  const material = generateKey(type);
  const sealed = await sealKeyFile(material, name, passphrase);
  try {
    await writeKeyFile(out, sealed, { replace });
  } catch (error) {
    if (isVouchError(error, 'invalid-argument') && error.details.exists === true) throw alreadyExists(out);
    throw error;
  }
  io.stdout(`${vkeyOf(name, type, material.publicKey)}\n`);
  return exitCodes.ok;
}

async function show(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'key show',
    showSynopsis,
    args,
    { pem: { type: 'boolean' } },
    true,
  );
  if (values.help === true) {
    io.stdout(usage);
    return exitCodes.ok;
  }
  const [path, ...extra] = positionals;
  if (path === undefined || extra.length > 0) {
    throw new VouchError('invalid-argument', `key show: expected one key file (usage: ${showSynopsis})`);
  }
  const { name, material } = await loadKey(path, io);
  io.stdout(
    values.pem === true
      ? formatPublicKeyPem(material.keyType, material.publicKey)
      : `${vkeyOf(name, material.keyType, material.publicKey)}\n`,
  );
  return exitCodes.ok;
}

/**
 * newPassphrase returns the passphrase for a new key file: `VOUCH_PASSPHRASE`, or one typed
 * twice at a terminal. It throws `invalid-argument` when neither is available, when the typed
 * passphrase is empty, or when the two do not match.
 */
async function newPassphrase(name: string, io: CliIo): Promise<string> {
  const fromEnv = passphraseFromEnv(io);
  if (fromEnv !== undefined) return fromEnv;
  if (!io.stdinIsTerminal || io.readSecret === undefined) {
    throw new VouchError(
      'invalid-argument',
      `key generate: no passphrase for the new key file: set ${passphraseVariable}, run at a terminal, or pass --unencrypted`,
    );
  }
  const first = await io.readSecret(`Passphrase for the new key ${name}: `);
  if (first === '') {
    throw new VouchError(
      'invalid-argument',
      'key generate: the passphrase is empty; pass --unencrypted to write a key file without one',
    );
  }
  const second = await io.readSecret('Type the passphrase again: ');
  if (second !== first)
    throw new VouchError('invalid-argument', 'key generate: the passphrases do not match');
  return first;
}

function alreadyExists(path: string): VouchError {
  return new VouchError(
    'invalid-argument',
    `key generate: ${path} already exists; pass --force to replace it`,
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Error && (error as { code?: unknown }).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * vkeyOf spells a public key as the signed-note verifier key users configure elsewhere: Ed25519
 * as a note key (type 0x01), ECDSA P-256 as the legacy type 0x02, and ML-DSA-44 as a checkpoint
 * cosigner (type 0x06), the only use signed-note defines for it.
 */
function vkeyOf(name: string, keyType: KeyType, publicKey: Uint8Array): string {
  const type =
    keyType === 'ed25519'
      ? signatureTypes.ed25519
      : keyType === 'ecdsa-p256'
        ? signatureTypes.ecdsa
        : signatureTypes.mlDsa44Cosignature;
  return formatVerifierKey({ name, type, publicKey });
}
