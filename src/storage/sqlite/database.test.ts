import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { immediateTransaction, openSqlite, storageError } from './database.ts';

test('a full database fails the write as unavailable, naming the full disk, and rolls it back', () => {
  const db = openSqlite(':memory:');
  try {
    db.exec('CREATE TABLE t (x BLOB)');
    db.exec('PRAGMA max_page_count = 4'); // SQLite answers SQLITE_FULL past 4 pages, as on a full disk
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    assert.throws(
      () =>
        immediateTransaction(db, () => {
          for (let i = 0; i < 100; i++) insert.run(new Uint8Array(4000));
        }),
      (e) =>
        isVouchError(e, 'unavailable') &&
        /the database could not be written: the disk is full/.test(e.message) &&
        e.details['retryAfterSeconds'] === 5,
    );
    assert.equal(db.isTransaction, false);
    assert.deepEqual(
      { ...db.prepare('SELECT count(*) AS n FROM t').get() },
      { n: 0 },
      'nothing half-written',
    );
    // Once there is room again, writes succeed.
    db.exec('PRAGMA max_page_count = 1000');
    immediateTransaction(db, () => insert.run(new Uint8Array(10)));
    assert.deepEqual({ ...db.prepare('SELECT count(*) AS n FROM t').get() }, { n: 1 });
  } finally {
    db.close();
  }
});

test('other errors pass through storageError unchanged', () => {
  const constraint = Object.assign(new Error('UNIQUE constraint failed'), { errcode: 2067 });
  assert.equal(storageError(constraint), constraint);
  const plain = new Error('not sqlite');
  assert.equal(storageError(plain), plain);
  const io = storageError(Object.assign(new Error('disk I/O error'), { errcode: 10 | (3 << 8) }));
  assert.ok(isVouchError(io, 'unavailable'));
  assert.match((io as Error).message, /an I\/O error/);
});
