import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { testSiteStore } from '../conformance/site.ts';
import { PgSiteStore } from './pg-site.ts';
import { testingOnlyPgPool } from './testing.ts';

const db = testingOnlyPgPool();
if ('skip' in db) {
  test('postgres site store', { skip: db.skip }, () => undefined);
} else {
  // One PostgreSQL schema per "database", dropped at the end, so runs never share rows.
  const schemas = new Set<string>();
  after(async () => {
    for (const schema of schemas) await db.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.pool.end();
  });
  testSiteStore(
    'postgres',
    async (schema) => {
      schemas.add(schema);
      return PgSiteStore.open(db.pool, { schema });
    },
    () => `t_site_${randomBytes(6).toString('hex')}`,
  );
}
