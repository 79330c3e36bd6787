/**
 * Reading folders for the conveyer: the source tree as tree-hash entries, and the declared
 * outputs as files to pack. Both refuse what the formats cannot express (special files; symbolic
 * links among outputs) instead of silently skipping it, so the hash and the archive always
 * describe everything that was there. The top-level `.git` folder of a source is not part of
 * its tree (the commit id identifies it). LIMIT: files are read whole into memory.
 */

import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackFile } from '../../core/build/pack.ts';
import { type TreeEntry, treeModeOf } from '../../core/build/tree-hash.ts';
import { formatHex } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { VouchError } from '../../core/errors.ts';

/** readSourceTree lists every file and symbolic link under `root` (except `.git`), hashed. */
export async function readSourceTree(root: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const walk = async (relative: string): Promise<void> => {
    const names = await readdir(join(root, relative));
    for (const name of names) {
      if (relative === '' && name === '.git') continue;
      const path = relative === '' ? name : `${relative}/${name}`;
      const info = await lstat(join(root, path));
      if (info.isDirectory()) {
        await walk(path);
        continue;
      }
      const mode = treeModeOf(info.mode);
      if (mode === undefined) {
        throw new VouchError('invalid-argument', 'source holds a special file', { field: path });
      }
      const bytes =
        mode === '120000'
          ? new TextEncoder().encode(await readlink(join(root, path)))
          : new Uint8Array(await readFile(join(root, path)));
      entries.push({ path, mode, sha256: formatHex(sha256(bytes)) });
    }
  };
  await walk('');
  return entries;
}

/**
 * readOutputs returns the files named by `outputs` (files, or folders read recursively) under
 * `root`. A missing output, a symbolic link or a special file throws `invalid-argument`, and so
 * does a symbolic link among the folders leading to an output: the build wrote them inside the
 * sandbox, but they are read out here, outside it, where a link could reach the builder's files.
 */
export async function readOutputs(root: string, outputs: readonly string[]): Promise<PackFile[]> {
  const files: PackFile[] = [];
  const checkParents = async (path: string): Promise<void> => {
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      const info = await lstat(join(root, parent)).catch(() => undefined);
      if (info === undefined) {
        throw new VouchError('invalid-argument', 'a declared output was not produced', { field: path });
      }
      if (!info.isDirectory()) {
        throw new VouchError('invalid-argument', 'a folder leading to an output is not a real folder', {
          field: parent,
        });
      }
    }
  };
  const add = async (path: string): Promise<void> => {
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(join(root, path));
    } catch {
      throw new VouchError('invalid-argument', 'a declared output was not produced', { field: path });
    }
    if (info.isDirectory()) {
      for (const name of (await readdir(join(root, path))).sort()) await add(`${path}/${name}`);
    } else if (info.isFile()) {
      files.push({
        path,
        executable: (info.mode & 0o111) !== 0,
        bytes: new Uint8Array(await readFile(join(root, path))),
      });
    } else {
      throw new VouchError('invalid-argument', 'an output is not a regular file or folder', { field: path });
    }
  };
  for (const output of outputs) {
    await checkParents(output);
    await add(output);
  }
  return files;
}
