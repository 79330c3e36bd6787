import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { testAccessStore } from '../conformance/access.ts';
import { PgAccessStore } from './pg-access.ts';
import { testingOnlyPgPool } from './testing.ts';

const db = testingOnlyPgPool();
if ('skip' in db) {
  test('postgres access store', { skip: db.skip }, () => undefined);
} else {
  after(() => db.pool.end());
  testAccessStore(
    'postgres',
    (ledger) => PgAccessStore.open(db.pool, ledger),
    () => `t${randomBytes(6).toString('hex')}`,
  );
}
