import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { testCasStore } from '../conformance/conformance.ts';
import { openSqlite } from './database.ts';
import { SqliteCasStore } from './sqlite-cas.ts';

const dir = mkdtempSync(join(tmpdir(), 'vouch-sqlite-cas-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

testCasStore('sqlite', async () => new SqliteCasStore(openSqlite(join(dir, `cas-${n++}.db`))));

test('sqlite CAS: two connections to one file see each other and only one swap wins', async () => {
  const path = join(dir, 'shared.db');
  const a = new SqliteCasStore(openSqlite(path)).cell('head');
  const b = new SqliteCasStore(openSqlite(path)).cell('head');
  await a.replace(undefined, new Uint8Array([1]));
  assert.deepEqual(await b.read(), new Uint8Array([1]));
  await b.replace(new Uint8Array([1]), new Uint8Array([2]));
  await assert.rejects(a.replace(new Uint8Array([1]), new Uint8Array([3])), { code: 'conflict' });
  assert.deepEqual(await a.read(), new Uint8Array([2]));
});
