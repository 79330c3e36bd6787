/**
 * `npm run build` emits JavaScript and declarations that run without TypeScript: compile into a
 * temporary folder with the build configuration, then run the built CLI with plain Node.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(import.meta.dirname, '..');

test('the build emits runnable JavaScript and type declarations', () => {
  // Inside the repository (in the ignored .tmp/), so the built code finds its packages in node_modules.
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const out = mkdtempSync(join(root, '.tmp', 'dist-'));
  try {
    const tsc = spawnSync(
      join(root, 'node_modules', '.bin', 'tsc'),
      ['-p', 'tsconfig.build.json', '--outDir', out],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    assert.ok(existsSync(join(out, 'core', 'merkle', 'index.d.ts')));
    const main = readFileSync(join(out, 'faces', 'cli', 'main.js'), 'utf8');
    assert.doesNotMatch(main, /from '[^']+\.ts'/, 'relative imports are rewritten to .js');
    const run = spawnSync(
      process.execPath,
      ['--no-experimental-strip-types', join(out, 'faces', 'cli', 'main.js'), '--version'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'vouch 0.1.0\n');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
