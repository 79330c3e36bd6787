import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { testAccessStore } from '../conformance/access.ts';
import { openSqlite } from './database.ts';
import { SqliteAccessStore } from './sqlite-access.ts';

const dir = mkdtempSync(join(tmpdir(), 'vouch-sqlite-access-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

// Each store gets its own connection to one shared file, as separate processes would.
testAccessStore(
  'sqlite',
  async (ledger) => new SqliteAccessStore(openSqlite(join(dir, 'site.db')), ledger, { ownsDatabase: true }),
  () => `t${n++}`,
);
