#!/usr/bin/env node
// The `vouch` launcher. It runs the built JavaScript when `npm run build` has produced dist/,
// and otherwise the TypeScript sources directly, which Node.js 24 runs by stripping types.
// Vouch needs Node.js 24 or newer; `npm ci` installs it into node_modules/.bin (see README).
import { existsSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `vouch: Node.js 24 or newer is required, this is ${process.versions.node}.\n` +
      'Run it through npm (npm run vouch -- ...) or put node_modules/.bin first on PATH.\n',
  );
  process.exit(2);
}
const built = new URL('../dist/faces/cli/main.js', import.meta.url);
const main = existsSync(built) ? built : new URL('../src/faces/cli/main.ts', import.meta.url);
const { runCli, processIo } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2), processIo());
