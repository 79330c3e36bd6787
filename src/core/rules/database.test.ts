import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { equalBytes, toBytes, toText } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { buildDatabase, type DatabaseContent, openDatabase } from './database.ts';
import { isAllowed, lookupHash } from './hashdb.ts';

const d = (n: number) => new Uint8Array(32).fill(n);
const content: DatabaseContent = {
  name: 'acme',
  version: 7,
  created: 1700000000,
  engine: { min: 1, max: 4 },
  hashes: [
    { digest: d(1), size: 68, name: 'Test.A' },
    { digest: d(1), size: '*', name: 'Test.A.Any' },
  ],
  allow: [d(5)],
  yara: new Map([['b.yar', toBytes('rule b { condition: true }')]]),
};

describe('rule database', () => {
  test('builds deterministically and opens', () => {
    const files = buildDatabase(content);
    const again = buildDatabase({ ...content, hashes: [...content.hashes].reverse() });
    assert.deepEqual([...files.keys()], ['manifest.json', 'hashes.vhdb', 'yara/b.yar']);
    for (const [name, bytes] of files)
      assert.ok(equalBytes(bytes, again.get(name) ?? new Uint8Array()), name);
    const db = openDatabase(files);
    assert.equal(db.manifest.version, 7);
    assert.deepEqual(lookupHash(db.hashDb, d(1), 68), ['Test.A', 'Test.A.Any']);
    assert.deepEqual(lookupHash(db.hashDb, d(1), 69), ['Test.A.Any']);
    assert.ok(isAllowed(db.hashDb, d(5)));
  });

  test('records the YARA-X version it is given in the manifest', () => {
    const files = buildDatabase({ ...content, engine: { min: 1, max: 4, yaraX: '1.20.0' } });
    assert.match(
      toText(files.get('manifest.json') ?? new Uint8Array()),
      /"engine":\{"max":4,"min":1,"yaraX":"1.20.0"\}/,
    );
    assert.deepEqual(openDatabase(files).manifest.engine, { min: 1, max: 4, yaraX: '1.20.0' });
    assert.throws(
      () => buildDatabase({ ...content, engine: { min: 1, max: 4, yaraX: '1.20.0' }, yara: new Map() }),
      (e) => isVouchError(e, 'invalid-argument'),
    );
  });

  test('refuses a bad YARA file name', () => {
    assert.throws(
      () => buildDatabase({ ...content, yara: new Map([['../x.yar', toBytes('')]]) }),
      (e) => isVouchError(e, 'malformed'),
    );
  });

  const files = buildDatabase(content);
  const manifest = toText(files.get('manifest.json') ?? new Uint8Array());
  const rows = [
    {
      name: 'no manifest',
      edit: (m: Map<string, Uint8Array>) => m.delete('manifest.json'),
      code: 'malformed',
    },
    {
      name: 'hash count differs from the table',
      edit: (m: Map<string, Uint8Array>) =>
        m.set('manifest.json', toBytes(manifest.replace('"hash":2', '"hash":3'))),
      code: 'malformed',
    },
    {
      name: 'foreign hash table',
      edit: (m: Map<string, Uint8Array>) => m.set('hashes.vhdb', toBytes('not a table')),
      code: 'bad-digest',
    },
    {
      name: 'missing YARA member',
      edit: (m: Map<string, Uint8Array>) => m.delete('yara/b.yar'),
      code: 'not-found',
    },
  ] as const;
  for (const row of rows) {
    test(`refuses ${row.name}`, () => {
      const copy = new Map(files);
      row.edit(copy);
      assert.throws(
        () => openDatabase(copy),
        (e) => isVouchError(e, row.code),
      );
    });
  }
});
