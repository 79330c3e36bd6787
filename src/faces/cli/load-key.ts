/**
 * Loading a signing key for a CLI command: the key file at a path (see
 * `storage/fs/key-file.ts`), unlocked with the passphrase in `VOUCH_PASSPHRASE` or, when standard
 * input is a terminal, one typed at a prompt without echo. Every command that signs (note sign,
 * log, witness) goes through {@link loadSigner}, so the rules for finding a passphrase live here.
 * It never logs or prints a passphrase, and never asks for one for an unencrypted file.
 */

import type { OpenedKeyFile } from '../../core/crypto/keyfile.ts';
import { createSigner, type Signer } from '../../core/crypto/keys.ts';
import { VouchError } from '../../core/errors.ts';
import { readKeyFile } from '../../storage/fs/key-file.ts';
import type { CliIo } from './io.ts';

/** passphraseVariable is the environment variable that holds the passphrase of encrypted key files. */
export const passphraseVariable = 'VOUCH_PASSPHRASE';

/**
 * passphraseFromEnv returns `VOUCH_PASSPHRASE`, or undefined when it is unset or empty (an empty
 * passphrase is never valid, so an empty variable means "not set").
 */
export function passphraseFromEnv(io: CliIo): string | undefined {
  const value = io.env[passphraseVariable];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * loadKey reads and opens the key file at `path`. For an encrypted file it takes the passphrase
 * from `VOUCH_PASSPHRASE`, or else prompts for it at a terminal, or else throws `bad-key` saying
 * how to provide one. It throws `bad-key` and `wrong-passphrase` as `readKeyFile` does.
 */
export async function loadKey(path: string, io: CliIo): Promise<OpenedKeyFile> {
  return readKeyFile(path, async (info) => {
    const fromEnv = passphraseFromEnv(io);
    if (fromEnv !== undefined) return fromEnv;
    if (io.stdinIsTerminal && io.readSecret !== undefined) {
      return io.readSecret(`Passphrase for key ${info.name} (${path}): `);
    }
    throw new VouchError(
      'bad-key',
      `${path} is encrypted: set ${passphraseVariable} or run at a terminal to type its passphrase`,
      { key: path, encrypted: true },
    );
  });
}

/**
 * loadSigner returns a {@link Signer} for the key file at `path`, named with the key file's name;
 * the private key stays inside it. Errors are those of {@link loadKey}.
 */
export async function loadSigner(path: string, io: CliIo): Promise<Signer> {
  const { name, material } = await loadKey(path, io);
  return createSigner(name, material);
}
