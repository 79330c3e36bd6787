import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { equalBytes, formatHex, toBytes, toText } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { buildDatabase, type DatabaseContent, type DatabaseFiles, openDatabase } from './database.ts';
import { applyDelta, diffDatabases, parseDelta } from './delta.ts';
import type { HashSignature, HashSize } from './source.ts';

const digestArb = fc.integer({ min: 0, max: 31 }).map((n) => {
  const d = new Uint8Array(32);
  d[0] = n;
  return d;
});
const sizeArb: fc.Arbitrary<HashSize> = fc.oneof(fc.constant<'*'>('*'), fc.integer({ min: 0, max: 2 }));
const hashesArb = fc
  .uniqueArray(fc.record({ digest: digestArb, size: sizeArb, tag: fc.integer({ min: 0, max: 1 }) }), {
    selector: (r) => `${formatHex(r.digest)}:${r.size}`,
    maxLength: 30,
  })
  .map((rows) =>
    rows.map(
      (r): HashSignature => ({
        digest: r.digest,
        size: r.size,
        name: `S.${r.digest[0]}.${r.size === '*' ? 'any' : r.size}.${r.tag}`,
      }),
    ),
  );
const yaraArb = fc
  .uniqueArray(
    fc.tuple(fc.constantFrom('a.yar', 'b.yar', 'c.yar', 'd.yar'), fc.integer({ min: 0, max: 2 })),
    {
      selector: ([name]) => name,
    },
  )
  .map((rows) => new Map(rows.map(([name, v]) => [name, toBytes(`rule r${v} { condition: true }\n`)])));
const contentArb: fc.Arbitrary<DatabaseContent> = fc.record({
  name: fc.constantFrom('acme', 'acme-daily'),
  version: fc.integer({ min: 1, max: 1000 }),
  created: fc.integer({ min: 0, max: 2 ** 40 }),
  engine: fc.constant({ min: 1, max: 2 }),
  hashes: hashesArb,
  allow: fc.uniqueArray(digestArb, { selector: formatHex, maxLength: 5 }),
  yara: yaraArb,
});

function assertSameFiles(actual: DatabaseFiles, expected: DatabaseFiles): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()]);
  for (const [name, bytes] of expected)
    assert.ok(equalBytes(actual.get(name) ?? new Uint8Array(), bytes), name);
}

describe('deltas', () => {
  test('apply(diff(A, B), A) equals B byte for byte', () => {
    fc.assert(
      fc.property(contentArb, contentArb, (a, b) => {
        const from = buildDatabase(a);
        const to = buildDatabase(b);
        assertSameFiles(applyDelta(from, diffDatabases(from, to)), to);
      }),
      { numRuns: 200 },
    );
  });

  test('a chain of deltas and a cumulative delta reproduce the last database', () => {
    fc.assert(
      fc.property(fc.array(contentArb, { minLength: 2, maxLength: 5 }), (versions) => {
        const dbs = versions.map(buildDatabase);
        let current = dbs[0] as DatabaseFiles;
        for (let i = 1; i < dbs.length; i++)
          current = applyDelta(current, diffDatabases(current, dbs[i] as DatabaseFiles));
        const last = dbs[dbs.length - 1] as DatabaseFiles;
        assertSameFiles(current, last);
        assertSameFiles(
          applyDelta(dbs[0] as DatabaseFiles, diffDatabases(dbs[0] as DatabaseFiles, last)),
          last,
        );
      }),
      { numRuns: 50 },
    );
  });

  const h = (n: number) => new Uint8Array(32).fill(n);
  const base: DatabaseContent = {
    name: 'acme',
    version: 1,
    created: 100,
    engine: { min: 1, max: 1 },
    hashes: [{ digest: h(1), size: 68, name: 'A' }],
    allow: [h(9)],
    yara: new Map([['x.yar', toBytes('rule x { condition: true }')]]),
  };
  const next: DatabaseContent = { ...base, version: 2, hashes: [{ digest: h(2), size: '*', name: 'B' }] };
  const baseFiles = buildDatabase(base);
  const delta = diffDatabases(baseFiles, buildDatabase(next));

  test('a delta lists what changed by identity', () => {
    const parsed = parseDelta(delta);
    assert.deepEqual(
      parsed.hashesAdded.map((r) => r.name),
      ['B'],
    );
    assert.deepEqual(
      parsed.hashesRemoved.map((r) => r.name),
      ['A'],
    );
    assert.equal(parsed.yaraAdded.length + parsed.yaraRemoved.length + parsed.yaraReplaced.length, 0);
  });

  test('refuses the wrong base, naming the expected digest', () => {
    const other = buildDatabase({ ...base, version: 5 });
    assert.throws(
      () => applyDelta(other, delta),
      (e) => isVouchError(e, 'bad-digest') && e.message.includes(formatHex(parseDelta(delta).base)),
    );
  });

  test('refuses a corrupted base member', () => {
    const broken = new Map(baseFiles);
    broken.set('yara/x.yar', toBytes('rule y { condition: true }'));
    assert.throws(
      () => applyDelta(broken, delta),
      (e) => isVouchError(e, 'bad-digest') && e.message.includes('yara/x.yar'),
    );
  });

  const text = toText(delta);
  const rows = [
    {
      name: 'wrong result digest',
      text: text.replace(/"result":"[0-9a-f]{64}"/, `"result":"${'0'.repeat(64)}"`),
      code: 'bad-digest',
    },
    { name: 'changed version', text: text.replace('"version":2', '"version":3'), code: 'bad-digest' },
    {
      name: 'remove an absent record',
      text: text.replace(/"removed":\["01/, '"removed":["03'),
      code: 'malformed',
    },
    { name: 'non-canonical', text: `${text} `, code: 'malformed' },
    { name: 'unknown type', text: text.replace('delta/v1', 'delta/v9'), code: 'malformed' },
  ] as const;
  for (const row of rows) {
    test(`refuses ${row.name}`, () => {
      assert.throws(
        () => applyDelta(baseFiles, toBytes(row.text)),
        (e) => isVouchError(e, row.code),
      );
    });
  }

  test('fuzz: parseDelta gives a value or our typed error', () => {
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.string({ maxLength: 3 }), (at, insert) => {
        try {
          parseDelta(toBytes(text.slice(0, at) + insert + text.slice(at + 1)));
        } catch (e) {
          assert.ok(isVouchError(e), String(e));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('carries the YARA-X version, and its removal with the last YARA file', () => {
    const withEngine = buildDatabase({ ...base, engine: { min: 1, max: 1, yaraX: '1.20.0' } });
    const upgraded = buildDatabase({ ...next, engine: { min: 1, max: 1, yaraX: '1.21.0' } });
    const noYara = buildDatabase({ ...next, version: 3, yara: new Map() });
    const chain = [withEngine, upgraded, noYara];
    for (let i = 1; i < chain.length; i++) {
      const from = chain[i - 1] as DatabaseFiles;
      const to = chain[i] as DatabaseFiles;
      const result = applyDelta(from, diffDatabases(from, to));
      assert.deepEqual([...result.keys()], [...to.keys()]);
      for (const [name, bytes] of to) assert.deepEqual(result.get(name), bytes, name);
    }
    assert.equal(parseDelta(diffDatabases(withEngine, upgraded)).header.engine.yaraX, '1.21.0');
    assert.equal(openDatabase(noYara).manifest.engine.yaraX, undefined);
  });

  test('opened databases report counts', () => {
    assert.deepEqual(openDatabase(baseFiles).manifest.counts, { hash: 1, allow: 1, yara: 1 });
  });
});
