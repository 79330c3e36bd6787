/**
 * Test support for the PostgreSQL drivers: the pool for `DATABASE_URL`, or a reason to skip.
 * On CI (`CI` set) a missing database is a failure, never a skip, so the drivers are always
 * tested against the real server there.
 */

import { randomBytes } from 'node:crypto';
import { openPgPool, type PgPool } from './pool.ts';

/** testingOnlyPgPool returns a pool for DATABASE_URL, or a skip reason when it is unset outside CI. */
export function testingOnlyPgPool(): { pool: PgPool } | { skip: string } {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    if (process.env.CI)
      throw new Error(
        'DATABASE_URL must be set on CI: the PostgreSQL drivers are tested against a real server',
      );
    return { skip: 'DATABASE_URL is not set' };
  }
  return { pool: openPgPool(url, 20) };
}

/** testingOnlyNamespace returns a fresh random prefix so concurrent test runs never share rows. */
export function testingOnlyNamespace(): string {
  return `t${randomBytes(6).toString('hex')}/`;
}
