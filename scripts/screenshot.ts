/**
 * `npm run screenshot -- --dir DIR`: serves the world a demo left in DIR (its vouch.yaml) on a
 * free loopback port, opens the dashboard in headless Chromium, waits until every section has
 * been verified, and writes docs/dashboard.png (the README's picture of the dashboard) — or the
 * path given with --out. Needs Debian's chromium (apt-get install chromium).
 */

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseServeConfig } from '../src/core/config/serve-config.ts';
import { startServe } from '../src/faces/cli/commands/serve.ts';
import { processIo } from '../src/faces/cli/main.ts';
import { launchChromium } from '../test/support/chromium.ts';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, out: { type: 'string' }, route: { type: 'string', default: '' } },
});
if (values.dir === undefined) {
  process.stderr.write('usage: npm run screenshot -- --dir DIR [--out FILE] [--route log|releases|...]\n');
  process.exit(2);
}
const dir = resolve(values.dir);
const out = resolve(values.out ?? join(import.meta.dirname, '..', 'docs', 'dashboard.png'));
const file = join(dir, 'vouch.yaml');
const config = parseServeConfig(await readFile(file), file);
const io = { ...processIo(), stderr: () => undefined };
const instance = await startServe(
  { ...config, listen: { host: '127.0.0.1', port: 0 } },
  { baseDir: dir, io },
);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 }, deviceScaleFactor: 1 });
  await page.goto(`${instance.url}/dashboard/#/${values.route}`);
  await page.waitForFunction(
    () =>
      (globalThis as unknown as { document: { body: { dataset: { rendered?: string } } } }).document.body
        .dataset.rendered !== undefined,
    undefined,
    { timeout: 60_000 },
  );
  await page.screenshot({ path: out });
  process.stdout.write(`wrote ${out}\n`);
} finally {
  await browser.close();
  await instance.close();
}
