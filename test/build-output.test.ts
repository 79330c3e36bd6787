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
    const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.ts'), '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 240_000,
    });
    assert.equal(build.status, 0, build.stdout + build.stderr);
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
    // The dashboard ships from the built tree too: its page, and its browser modules collected
    // from the JavaScript as it is.
    assert.ok(existsSync(join(out, 'faces', 'dashboard', 'index.html')));
    const collect = spawnSync(
      process.execPath,
      [
        '--no-experimental-strip-types',
        '--input-type=module',
        '-e',
        `import { collectBrowserModules } from ${JSON.stringify(join(out, 'faces', 'http', 'browser-modules.js'))};
         const modules = await collectBrowserModules(${JSON.stringify(out)}, ${JSON.stringify(join(out, 'faces', 'dashboard', 'app.js'))});
         console.log(modules.length, modules.some((m) => m.path === 'core/crypto/portable/index.js'));`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(collect.status, 0, collect.stderr);
    assert.match(collect.stdout, /^\d+ true\n$/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
