import { after, test } from 'node:test';
import { testCasStore } from '../conformance/conformance.ts';
import { PgCasStore } from './pg-cas.ts';
import { testingOnlyNamespace, testingOnlyPgPool } from './testing.ts';

const db = testingOnlyPgPool();
if ('skip' in db) {
  test('postgres CAS', { skip: db.skip }, () => undefined);
} else {
  after(() => db.pool.end());
  testCasStore('postgres', () => PgCasStore.open(db.pool, testingOnlyNamespace()));
}
