/**
 * The Vouch source tree hash: one SHA-256 over a sorted list of (path, mode, SHA-256 of content),
 * so that anyone can recompute the identity of a source folder without git.
 *
 * Byte encoding (version 1), all ASCII except paths, which are UTF-8:
 *
 *     "vouch-tree-v1\n"
 *     for each entry, sorted by the UTF-8 bytes of its path (unsigned byte order):
 *         MODE " " SHA256HEX " " PATH "\n"
 *
 * MODE is exactly `100644` (regular file), `100755` (regular file with any execute bit) or
 * `120000` (symbolic link, whose SHA-256 is over the link target's UTF-8 bytes). SHA256HEX is 64
 * lowercase hex digits. PATH is relative, slash-separated, without `.`/`..`/empty segments, NUL,
 * CR, LF or backslash. Directories are not listed (an empty folder does not change the hash), as
 * in git. The tree hash is the lowercase hex SHA-256 of those bytes. This module does not walk
 * folders (services/conveyer does); it is a pure function over the entries.
 */

import { compareBytes, concatBytes, formatHex, toBytes } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { VouchError } from '../errors.ts';
import { isSafeRelativePath } from './recipe.ts';

/** TreeMode is the normalised mode of a tree entry. */
export type TreeMode = '100644' | '100755' | '120000';

/** TreeEntry is one file of a source tree. */
export interface TreeEntry {
  readonly path: string;
  readonly mode: TreeMode;
  /** sha256 is the lowercase hex SHA-256 of the content (or of the link target for `120000`). */
  readonly sha256: string;
}

/** treeHashHeader is the first line of the encoding, naming its version. */
export const treeHashHeader = 'vouch-tree-v1\n';

/** maxTreeEntries is the most entries {@link formatTree} accepts. */
export const maxTreeEntries = 1_000_000;

/** treeModeOf normalises a POSIX `st_mode` to a {@link TreeMode}, or undefined for other types. */
export function treeModeOf(stMode: number): TreeMode | undefined {
  const type = stMode & 0o170000;
  if (type === 0o120000) return '120000';
  if (type !== 0o100000) return undefined;
  return (stMode & 0o111) !== 0 ? '100755' : '100644';
}

/**
 * formatTree returns the exact bytes the tree hash covers (see the module comment). It sorts the
 * entries itself and throws `invalid-argument` on a bad path, mode or digest, or a duplicate path.
 */
export function formatTree(entries: readonly TreeEntry[]): Uint8Array {
  if (entries.length > maxTreeEntries) {
    throw new VouchError('too-large', `source tree exceeds ${maxTreeEntries} entries`, {
      limit: maxTreeEntries,
    });
  }
  const encoded = entries.map((entry) => {
    if (!isSafeRelativePath(entry.path)) {
      throw new VouchError('invalid-argument', 'source tree path is not a safe relative path', {
        field: 'path',
      });
    }
    if (entry.mode !== '100644' && entry.mode !== '100755' && entry.mode !== '120000') {
      throw new VouchError('invalid-argument', 'source tree mode is not normalised', { field: 'mode' });
    }
    if (!/^[0-9a-f]{64}$/.test(entry.sha256)) {
      throw new VouchError('invalid-argument', 'source tree digest is not lowercase hex SHA-256', {
        field: 'sha256',
      });
    }
    return { key: toBytes(entry.path), line: toBytes(`${entry.mode} ${entry.sha256} ${entry.path}\n`) };
  });
  encoded.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < encoded.length; i++) {
    if (
      compareBytes((encoded[i - 1] as { key: Uint8Array }).key, (encoded[i] as { key: Uint8Array }).key) === 0
    ) {
      throw new VouchError('invalid-argument', 'source tree lists a path twice', { field: 'path' });
    }
  }
  return concatBytes(toBytes(treeHashHeader), ...encoded.map((e) => e.line));
}

/** computeTreeHash returns the lowercase hex tree hash of `entries` (see {@link formatTree}). */
export function computeTreeHash(entries: readonly TreeEntry[]): string {
  return formatHex(sha256(formatTree(entries)));
}
