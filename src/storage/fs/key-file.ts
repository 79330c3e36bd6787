/**
 * Key files on disk: reading and writing the sealed files of `core/crypto/keyfile.ts` with the
 * permissions a private key needs. Files are written through {@link writeFileDurable} with mode
 * 0600 and, unless replacing is asked for, exclusively, so an existing key is never overwritten
 * by accident and a crash never leaves half a key.
 *
 * Reading refuses a key file that the group or other users may access in any way (any of the
 * mode bits 0077), encrypted or not, as OpenSSH does: a private key that others can read may
 * already be compromised, and a warning scrolls by unread. The fix is `chmod 600 FILE`.
 * LIMIT: the check is skipped on Windows, whose ACLs the mode bits do not reflect, and it does
 * not check the file's owner or its directory's permissions.
 */

import { type FileHandle, open } from 'node:fs/promises';
import {
  inspectKeyFile,
  type KeyFileInfo,
  maxKeyFileSize,
  type OpenedKeyFile,
  openKeyFile,
} from '../../core/crypto/keyfile.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { writeFileDurable } from './durable.ts';

/** keyFileMode is the permission every key file is written with: read and write for its owner only. */
export const keyFileMode = 0o600;

/**
 * Passphrase is how {@link readKeyFile} unlocks an encrypted file: a passphrase, none, or a
 * function called (only for an encrypted file) with what the file says about itself, which may
 * prompt for one.
 */
export type Passphrase = string | undefined | ((info: KeyFileInfo) => Promise<string | undefined>);

/**
 * readKeyFileBytes returns a key file's bytes after checking that it is a regular file, at most
 * `maxKeyFileSize` bytes, and not accessible by group or others. It throws `bad-key` when the
 * file is missing or fails a check, and Node's system error for other I/O failures.
 */
export async function readKeyFileBytes(path: string): Promise<Uint8Array> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) throw new VouchError('bad-key', `no key file at ${path}`, { key: path });
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new VouchError('bad-key', `${path} is not a regular file`, { key: path });
    if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
      throw new VouchError(
        'bad-key',
        `key file ${path} is accessible by other users (mode ${mode}); run chmod 600 on it`,
        { key: path },
      );
    }
    // Read one byte past the limit, so a file that grows after the stat is still caught.
    const buffer = new Uint8Array(maxKeyFileSize + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) break;
    }
    if (length > maxKeyFileSize) {
      throw new VouchError(
        'bad-key',
        `${path} is not a Vouch key file (larger than ${maxKeyFileSize} bytes)`,
        {
          key: path,
          limit: maxKeyFileSize,
        },
      );
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/**
 * readKeyFile reads and opens the key file at `path` (see {@link readKeyFileBytes} and
 * `openKeyFile`), asking `passphrase` for the passphrase only when the file is encrypted. It
 * throws `bad-key` or `wrong-passphrase` as those do, with the path in the message, and
 * whatever a passphrase function throws.
 */
export async function readKeyFile(path: string, passphrase: Passphrase): Promise<OpenedKeyFile> {
  const bytes = await readKeyFileBytes(path);
  let secret: string | undefined;
  if (typeof passphrase === 'function') {
    let info: KeyFileInfo;
    try {
      info = inspectKeyFile(bytes);
    } catch (error) {
      throw withPath(path, error);
    }
    secret = info.scrypt === undefined ? undefined : await passphrase(info);
  } else {
    secret = passphrase;
  }
  try {
    return await openKeyFile(bytes, secret);
  } catch (error) {
    throw withPath(path, error);
  }
}

/** withPath puts the file's path in a key error's message, which core cannot know. */
function withPath(path: string, error: unknown): unknown {
  if (isVouchError(error, 'bad-key') || isVouchError(error, 'wrong-passphrase')) {
    return new VouchError(error.code, `${path}: ${error.message}`, error.details, { cause: error });
  }
  return error;
}

/** WriteKeyFileOptions tunes {@link writeKeyFile}. */
export interface WriteKeyFileOptions {
  /** replace allows overwriting an existing file at the path; by default that is refused. */
  readonly replace?: boolean;
}

/**
 * writeKeyFile durably writes a sealed key file (the output of `sealKeyFile`) to `path` with
 * mode 0600. Unless `options.replace` is set it throws `invalid-argument` (details.exists is
 * true) when a file already exists at `path`, and changes nothing. It throws `not-found` when
 * the directory is missing, `bad-key` if `sealed` is not a key file, and Node's system error for
 * other I/O failures.
 */
export async function writeKeyFile(
  path: string,
  sealed: Uint8Array,
  options: WriteKeyFileOptions = {},
): Promise<void> {
  inspectKeyFile(sealed);
  try {
    await writeFileDurable(path, sealed, { mode: keyFileMode, exclusive: options.replace !== true });
  } catch (error) {
    if (isErrno(error, 'EEXIST')) {
      throw new VouchError('invalid-argument', `${path} already exists`, { key: path, exists: true });
    }
    if (isErrno(error, 'ENOENT')) {
      // Node would name the temporary file; the user named the key file.
      throw new VouchError('not-found', `the directory of ${path} does not exist`, { key: path });
    }
    throw error;
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === code;
}
