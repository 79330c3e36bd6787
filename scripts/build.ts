/**
 * `npm run build`: emits JavaScript and declarations into dist/ that run on Node.js 24 without
 * TypeScript installed. tsc rewrites the `.ts` import paths to `.js` (rewriteRelativeImportExtensions).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
rmSync(resolve(root, 'dist'), { recursive: true, force: true });
execFileSync(resolve(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
console.log('built dist/ (JavaScript and .d.ts)');
