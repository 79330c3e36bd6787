/**
 * Durable file writes: the one helper every file Vouch writes goes through, so that a crash or a
 * power loss at any instant leaves either the previous file or the complete new one at the
 * target path, never a partial one. This is the temp-file-and-rename pattern of sunlight's
 * `internal/durable` and of SQLite's `os_unix.c`: write a temporary file in the same directory,
 * fsync it, rename it over the target, then fsync the directory so the rename itself survives.
 * With `exclusive`, the temporary file is hard-linked to the target instead, which fails when the
 * target exists, so a file is created complete and never replaces another (key files use this).
 *
 * It deliberately does not lock: two writers racing on one path each leave a complete file and
 * the last rename wins (with `exclusive`, the second fails). Mutable state that needs
 * compare-and-swap goes through `storage/cas.ts`, not through this.
 *
 * LIMIT: `exclusive` needs hard links; on a file system without them (FAT, some FUSE mounts) it
 * fails with the system's error (EPERM, ENOTSUP) rather than falling back to a non-atomic create.
 * LIMIT: Windows cannot fsync a directory; there the last step is skipped, so a rename acknowledged
 * just before a power loss may be undone.
 */

import { randomBytes } from 'node:crypto';
import { type FileHandle, link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** DurableStep names the steps of {@link writeFileDurable}, in order, for fault-injection tests. */
export type DurableStep =
  | 'create-temp'
  | 'write'
  | 'sync'
  | 'close'
  | 'publish'
  | 'remove-temp'
  | 'sync-directory';

/** WriteDurableOptions tunes {@link writeFileDurable}. */
export interface WriteDurableOptions {
  /**
   * mode is the exact permission of the new file (the umask does not apply), set before any byte
   * is written; without it the file gets 0o666 less the umask, like any new file.
   */
  readonly mode?: number;
  /** exclusive makes the write fail with EEXIST, changing nothing, when `path` already exists. */
  readonly exclusive?: boolean;
  /** testingOnlyAfterStep runs after each step; throwing from it simulates a failure right there. */
  readonly testingOnlyAfterStep?: (step: DurableStep) => void;
}

/**
 * writeFileDurable stores `bytes` at `path` so that, once it returns, the new content survives a
 * crash or power loss. The directory must exist. If it throws before the publish step, `path` is
 * unchanged; if it throws after, `path` holds the complete new bytes but may not yet be durable.
 * It never leaves its temporary file behind unless deleting it fails too. System errors
 * (ENOENT, EEXIST with `exclusive`, ENOSPC, ...) are thrown as Node gives them.
 */
export async function writeFileDurable(
  path: string,
  bytes: Uint8Array,
  options: WriteDurableOptions = {},
): Promise<void> {
  const after = options.testingOnlyAfterStep ?? noop;
  const directory = dirname(resolve(path));
  // A dot name in the same directory: rename(2) and link(2) are atomic only within one file
  // system, and listings that skip dot files never show it. Long names are shortened so the
  // temporary name stays under the usual 255-byte limit.
  const temp = join(directory, `.${basename(path).slice(0, 100)}.${randomBytes(6).toString('hex')}.tmp`);
  let tempExists = false;
  try {
    // 1. open(temp, O_WRONLY|O_CREAT|O_EXCL, mode): a fresh inode nobody else can have opened,
    //    created with at most `mode` (the umask can only remove bits) and then set to exactly it
    //    by fchmod, before any secret is written. Crash from here to step 4: a stray temporary
    //    file, never a change at `path`.
    const handle = await open(temp, 'wx', options.mode ?? 0o666);
    tempExists = true;
    await writeAndSync(handle, bytes, options.mode, after);
    after('close');
    if (options.exclusive === true) {
      // 4. link(temp, path): atomically makes the complete file visible at `path`, or fails with
      //    EEXIST and changes nothing. COMMIT POINT. Crash before step 5: both names exist and
      //    the stray temporary name holds the same bytes.
      await link(temp, path);
      after('publish');
      // 5. unlink(temp).
      await unlink(temp);
      tempExists = false;
      after('remove-temp');
    } else {
      // 4. rename(temp, path): atomically replaces whatever was at `path`. COMMIT POINT.
      await rename(temp, path);
      tempExists = false;
      after('publish');
    }
    // 6. fsync(directory): until then the directory entry may live only in memory, and a power
    //    loss can bring back the old file (or no file) even though step 4 returned.
    await syncDirectory(directory);
    after('sync-directory');
  } catch (error) {
    if (tempExists) await unlink(temp).catch(noop); // best effort; the original error matters more
    throw error;
  }
}

async function writeAndSync(
  handle: FileHandle,
  bytes: Uint8Array,
  mode: number | undefined,
  after: (step: DurableStep) => void,
): Promise<void> {
  try {
    after('create-temp');
    if (mode !== undefined) await handle.chmod(mode);
    // 2. write(2) until every byte is in the page cache.
    await handle.writeFile(bytes);
    after('write');
    // 3. fsync(temp): the data and the inode reach the disk before any name points to them;
    //    without it a rename can be persisted before the data and expose an empty file.
    await handle.sync();
    after('sync');
  } finally {
    await handle.close();
  }
}

/**
 * mkdirDurable creates `path` and any missing parents, and fsyncs the parent of each directory it
 * created, so the new directories survive a power loss. Existing directories are left alone.
 */
export async function mkdirDurable(path: string, mode = 0o755): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  // mkdir returns the first directory it created; every one from there down to `path` is new.
  let current = resolve(path);
  const top = resolve(first);
  for (;;) {
    await syncDirectory(dirname(current));
    if (current === top) break;
    current = dirname(current);
  }
}

/** syncDirectory fsyncs a directory so that entries created or renamed in it are durable. */
export async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return; // see the LIMIT above
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function noop(): void {
  // Nothing to do.
}
