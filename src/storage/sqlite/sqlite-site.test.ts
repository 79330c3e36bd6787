import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { testSiteStore } from '../conformance/site.ts';
import { SqliteSiteStore } from './sqlite-site.ts';

const dir = mkdtempSync(join(tmpdir(), 'vouch-sqlite-site-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

// Each store gets its own connection to the named file, as separate processes would.
testSiteStore(
  'sqlite',
  async (name) => SqliteSiteStore.open(join(dir, `${name}.db`)),
  () => `site-${n++}`,
);
