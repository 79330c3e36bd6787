/**
 * `npm run build [-- --out DIR]`: emits JavaScript and declarations into dist/ (or DIR) that run
 * on Node.js 24 without TypeScript installed. tsc rewrites the `.ts` import paths to `.js`
 * (rewriteRelativeImportExtensions). The dashboard page's two browser modules need the DOM's
 * types, so they compile in a second pass (tsconfig.build-dashboard.json); the page's HTML and
 * CSS are copied beside them.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = resolve(values.out ?? join(root, 'dist'));
rmSync(out, { recursive: true, force: true });
const tsc = join(root, 'node_modules', '.bin', 'tsc');
for (const project of ['tsconfig.build.json', 'tsconfig.build-dashboard.json']) {
  execFileSync(tsc, ['-p', project, '--outDir', out], { cwd: root, stdio: 'inherit' });
}
for (const asset of ['index.html', 'style.css']) {
  copyFileSync(join(root, 'src', 'faces', 'dashboard', asset), join(out, 'faces', 'dashboard', asset));
}
console.log(`built ${out} (JavaScript and .d.ts)`);
