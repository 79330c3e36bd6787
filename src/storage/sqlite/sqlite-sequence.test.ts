import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { testSequenceStore } from '../conformance/sequence.ts';
import { openSqlite } from './database.ts';
import { SqliteSequenceStore } from './sqlite-sequence.ts';

const dir = mkdtempSync(join(tmpdir(), 'vouch-sqlite-seq-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

// Each store gets its own connection to one shared file, as separate processes would.
testSequenceStore(
  'sqlite',
  async (log) => new SqliteSequenceStore(openSqlite(join(dir, 'sequence.db')), log),
  () => `log-${n++}`,
);
