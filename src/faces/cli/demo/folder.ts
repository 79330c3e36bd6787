/**
 * The demo's data folder: a fresh folder under the OS temp folder by default, or the one the user
 * names. A named folder must be empty, or hold a previous demo — recognised by the marker file
 * the demo writes first ({@link markerFile}) — which is then cleared. Nothing else is ever
 * deleted: a folder without the marker is refused, whatever it holds.
 */

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { VouchError } from '../../../core/errors.ts';

/** markerFile names the file that marks a folder as the demo's own. */
export const markerFile = '.vouch-demo';

/** keptOnClear are entries of a previous demo kept when clearing it: the Node compile cache. */
const keptOnClear = new Set([markerFile, '.cache']);

/**
 * prepareFolder returns the absolute data folder, created or cleared, with the marker written.
 * It throws `invalid-argument` for a non-empty folder without the marker, or a path that is not
 * a folder.
 */
export function prepareFolder(dir: string | undefined): { dir: string; cleared: boolean } {
  if (dir === undefined) {
    const fresh = mkdtempSync(join(tmpdir(), 'vouch-demo-'));
    writeFileSync(join(fresh, markerFile), 'a folder made by vouch demo; vouch demo --dir may clear it\n');
    return { dir: fresh, cleared: false };
  }
  const folder = resolve(dir);
  mkdirSync(folder, { recursive: true });
  const entries = readdirSync(folder);
  let cleared = false;
  if (entries.length > 0) {
    if (!entries.includes(markerFile)) {
      throw new VouchError(
        'invalid-argument',
        `demo: ${folder} is not empty and holds no previous demo (no ${markerFile}); choose an empty or new folder`,
      );
    }
    for (const entry of entries) {
      if (!keptOnClear.has(entry)) rmSync(join(folder, entry), { recursive: true, force: true });
    }
    cleared = true;
  }
  if (!existsSync(join(folder, markerFile)))
    writeFileSync(join(folder, markerFile), 'a folder made by vouch demo; vouch demo --dir may clear it\n');
  return { dir: folder, cleared };
}
