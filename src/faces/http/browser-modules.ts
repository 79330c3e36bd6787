/**
 * Ships Vouch's own TypeScript modules to a browser, so that the dashboard verifies proofs with
 * the very code the command line and the agent use (docs/dashboard.md).
 *
 * {@link collectBrowserModules} starts at an entry module, follows every relative import, and
 * returns each module of the closure as browser JavaScript: types stripped by Node's own
 * TypeScript stripper (positions kept, so stack traces line up with the sources) and every
 * import specifier rewritten from `./x.ts` to `./x.js`. Two rules make the closure safe to run in
 * a browser, and a module that breaks them fails the whole collection, naming the importer:
 *
 * - nothing but relative imports: no `node:` modules, no packages (the browser has neither);
 * - the crypto of core (`src/core/crypto/`, built on `node:crypto`) is replaced by its portable
 *   twin `src/core/crypto/portable/`, which exports the same names in pure TypeScript. Every
 *   import of a file of `core/crypto/` outside `portable/` that uses a Node module, itself or
 *   through its imports, is pointed at `portable/index.ts`; the pure ones (`key-name.ts`) are
 *   shipped as they are.
 *
 * The modules are collected once, at startup, into memory (a few hundred KiB). Under a built
 * tree (`npm run build`, `.js` files) the same walk reads the JavaScript as it is.
 */

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as nodeModule from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { toBytes } from '../../core/bytes/index.ts';
import { VouchError } from '../../core/errors.ts';

/** BrowserModule is one module of the closure, ready to serve. */
export interface BrowserModule {
  /** path is the module's path relative to the source root, with a `.js` extension (`core/note/note.js`). */
  readonly path: string;
  readonly body: Uint8Array;
}

/** maxBrowserModules bounds the closure: a dashboard pulling in more is a mistake worth failing on. */
export const maxBrowserModules = 400;

const importPattern = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\2/g;

type Strip = (code: string, options: { mode: 'strip' }) => string;

/**
 * collectBrowserModules returns the closure of `entry` (an absolute path under `root`, the
 * `src` folder) as browser modules, entry first. It throws `invalid-argument` naming the
 * importer for a non-relative import or an import leaving `root`, and `not-found` for a missing
 * module.
 */
export async function collectBrowserModules(root: string, entry: string): Promise<BrowserModule[]> {
  const cryptoDir = join(root, 'core', 'crypto') + sep;
  const portableDir = join(cryptoDir, 'portable') + sep;
  const portableIndex = join(portableDir, `index${extension}`);
  const modules: BrowserModule[] = [];
  const seen = new Set<string>();
  const queue = [resolve(entry)];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    if (seen.size > maxBrowserModules) {
      throw new VouchError(
        'too-large',
        `the browser modules of ${entry} number more than ${maxBrowserModules}`,
      );
    }
    let source: string;
    try {
      source = await readFile(file, 'utf8');
    } catch (cause) {
      throw new VouchError(
        'not-found',
        `browser module ${relative(root, file)} cannot be read`,
        {},
        { cause },
      );
    }
    const code = file.endsWith('.ts') ? stripTypes(source) : source;
    const rewritten = code.replace(importPattern, (whole, lead: string, quote: string, specifier: string) => {
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) {
        throw new VouchError(
          'invalid-argument',
          `${relative(root, file)} imports ${JSON.stringify(specifier)}, which a browser cannot load`,
          { field: specifier },
        );
      }
      let target = resolve(dirname(file), specifier);
      if (!target.startsWith(root + sep)) {
        throw new VouchError(
          'invalid-argument',
          `${relative(root, file)} imports ${specifier}, outside ${root}`,
        );
      }
      if (target.startsWith(cryptoDir) && !target.startsWith(portableDir) && usesNode(target)) {
        target = portableIndex;
      }
      queue.push(target);
      let path = relative(dirname(file), target).split(sep).join('/');
      if (!path.startsWith('.')) path = `./${path}`;
      return whole.slice(0, lead.length) + quote + path.replace(/\.ts$/, '.js') + quote;
    });
    modules.push({
      path: relative(root, file).split(sep).join('/').replace(/\.ts$/, '.js'),
      body: toBytes(rewritten),
    });
  }
  return modules;
}

/**
 * usesNode reports whether a module imports a Node module, itself or through its relative
 * imports (a barrel re-exporting Node code counts). A missing module counts as using Node, so
 * the portable module answers for it.
 */
function usesNode(file: string, seen: Set<string> = new Set()): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return true;
  }
  for (const [, , , specifier] of text.matchAll(importPattern)) {
    if (specifier === undefined) continue;
    if (specifier.startsWith('node:')) return true;
    if (specifier.startsWith('.') && usesNode(resolve(dirname(file), specifier), seen)) return true;
  }
  return false;
}

/** extension is `.ts` when Vouch runs from its sources, `.js` from a built tree. */
const extension = import.meta.filename.endsWith('.ts') ? '.ts' : '.js';

/**
 * stripTypes erases TypeScript's types with Node's own stripper (the one that runs our sources).
 * It is marked experimental in Node 24 and says so once per process on standard error; the
 * warning is about the API's stability, not about this use, so it is kept off our output.
 */
function stripTypes(source: string): string {
  const strip = (nodeModule as unknown as { stripTypeScriptTypes?: Strip }).stripTypeScriptTypes;
  if (strip === undefined) {
    throw new VouchError('unavailable', 'this Node.js cannot strip TypeScript types (Node 24 is required)');
  }
  const emit = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    return strip(source, { mode: 'strip' });
  } finally {
    process.emitWarning = emit;
  }
}
