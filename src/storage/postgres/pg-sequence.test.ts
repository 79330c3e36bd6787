import { after, test } from 'node:test';
import { testSequenceStore } from '../conformance/sequence.ts';
import { PgSequenceStore } from './pg-sequence.ts';
import { testingOnlyNamespace, testingOnlyPgPool } from './testing.ts';

const db = testingOnlyPgPool();
if ('skip' in db) {
  test('postgres sequence store', { skip: db.skip }, () => undefined);
} else {
  after(() => db.pool.end());
  testSequenceStore(
    'postgres',
    (log) => PgSequenceStore.open(db.pool, log),
    () => testingOnlyNamespace(),
  );
}
