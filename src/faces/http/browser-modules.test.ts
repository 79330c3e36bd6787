import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { toText } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { collectBrowserModules } from './browser-modules.ts';

const src = resolve(import.meta.dirname, '..', '..');

test("the dashboard's closure is browser JavaScript: types stripped, .js specifiers, portable crypto only", async () => {
  const modules = await collectBrowserModules(src, join(src, 'faces', 'dashboard', 'app.ts'));
  const paths = modules.map((m) => m.path);
  assert.equal(paths[0], 'faces/dashboard/app.js');
  assert.ok(paths.includes('core/crypto/portable/index.js'));
  assert.ok(paths.includes('core/crypto/key-name.js'), 'pure crypto modules ship as they are');
  for (const nodeOnly of [
    'core/crypto/index.js',
    'core/crypto/keys.js',
    'core/crypto/hash.js',
    'core/crypto/aead.js',
  ]) {
    assert.ok(!paths.includes(nodeOnly), nodeOnly);
  }
  assert.equal(new Set(paths).size, paths.length);
  for (const m of modules) {
    const code = toText(m.body);
    assert.doesNotMatch(code, /from\s*'node:|import\s*'node:/, m.path);
    assert.doesNotMatch(code, /from\s*'[^.']/, `${m.path} imports a package`);
    assert.doesNotMatch(code, /from\s*'[^']*\.ts'/, `${m.path} keeps a .ts specifier`);
    // Every relative import resolves to a module of the closure.
    for (const [, spec] of code.matchAll(/from\s*'(\.[^']+)'/g)) {
      const target = new URL(spec as string, `file:///${m.path}`).pathname.slice(1);
      assert.ok(paths.includes(target), `${m.path} -> ${spec}`);
    }
  }
  // Types are gone, positions kept: the stripped module is exactly as long, line for line.
  const world = modules.find((m) => m.path === 'faces/dashboard/world.js');
  assert.ok(world !== undefined);
  assert.doesNotMatch(toText(world.body), /^export interface /m);
});

test('a module importing Node or a package, or leaving the root, is refused naming the importer', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vouch-modules-'));
  try {
    await mkdir(join(root, 'faces'));
    const entry = join(root, 'faces', 'entry.ts');
    const cases: [string, RegExp][] = [
      [
        "import { readFile } from 'node:fs';\n",
        /faces\/entry\.ts imports "node:fs", which a browser cannot load/,
      ],
      ["import pg from 'pg';\n", /imports "pg"/],
      ["import { x } from '../../outside.ts';\n", /outside/],
      ["export * from './missing.ts';\n", /missing\.ts cannot be read/],
    ];
    for (const [source, message] of cases) {
      await writeFile(entry, `${source}export const y: number = 1;\n`);
      await assert.rejects(
        collectBrowserModules(root, entry),
        (e) => isVouchError(e) && message.test(e.message),
        source,
      );
    }
    await writeFile(
      join(root, 'faces', 'b.ts'),
      'export type T = { a: number };\nexport const b: T = { a: 1 };\n',
    );
    await writeFile(
      entry,
      "import type { T } from './b.ts';\nimport { b } from './b.ts';\nexport const c: T = b;\n",
    );
    const ok = await collectBrowserModules(root, entry);
    assert.deepEqual(
      ok.map((m) => m.path),
      ['faces/entry.js', 'faces/b.js'],
    );
    assert.match(toText(ok[0]?.body ?? new Uint8Array()), /import \{ b \} from '\.\/b\.js';/);
    assert.doesNotMatch(toText(ok[0]?.body ?? new Uint8Array()), /import type/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
