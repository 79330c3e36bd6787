import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { equalBytes, formatHex } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { formatHashDb, parseHashDb } from './hashdb.ts';
import { diffHashDb, spliceHashDb } from './hashdb-edit.ts';
import type { HashSignature, HashSize } from './source.ts';

const digestArb = fc.integer({ min: 0, max: 15 }).map((n) => new Uint8Array(32).fill(n, 28));
const sizeArb: fc.Arbitrary<HashSize> = fc.oneof(fc.constant<'*'>('*'), fc.integer({ min: 0, max: 2 }));
const tableArb = fc.record({
  records: fc
    .uniqueArray(fc.record({ digest: digestArb, size: sizeArb, tag: fc.integer({ min: 0, max: 1 }) }), {
      selector: (r) => `${formatHex(r.digest)}:${r.size}`,
      maxLength: 30,
    })
    .map((rows) =>
      rows.map(
        (r): HashSignature => ({
          digest: r.digest,
          size: r.size,
          name: `N.${r.digest[31]}.${r.size === '*' ? 'any' : r.size}.${r.tag}`,
        }),
      ),
    ),
  allow: fc.uniqueArray(digestArb, { selector: formatHex, maxLength: 6 }),
});

describe('hash table edits', () => {
  test('splice(a, diff(a, b)) gives the bytes of b', () => {
    fc.assert(
      fc.property(tableArb, tableArb, (x, y) => {
        const a = parseHashDb(formatHashDb(x.records, x.allow));
        const bBytes = formatHashDb(y.records, y.allow);
        const changes = diffHashDb(a, parseHashDb(bBytes));
        assert.ok(equalBytes(spliceHashDb(a, changes), bBytes));
      }),
      { numRuns: 300 },
    );
  });

  test('diff of equal tables is empty', () => {
    fc.assert(
      fc.property(tableArb, (x) => {
        const a = parseHashDb(formatHashDb(x.records, x.allow));
        const changes = diffHashDb(a, a);
        assert.equal(
          changes.added.length +
            changes.removed.length +
            changes.allowAdded.length +
            changes.allowRemoved.length,
          0,
        );
      }),
    );
  });

  const d = (n: number) => new Uint8Array(32).fill(n);
  const base = parseHashDb(
    formatHashDb(
      [
        { digest: d(1), size: 1, name: 'A' },
        { digest: d(2), size: '*', name: 'B' },
      ],
      [d(7)],
    ),
  );
  const none = { added: [], removed: [], allowAdded: [], allowRemoved: [] };
  const rows = [
    {
      name: 'remove an absent record',
      changes: { ...none, removed: [{ digest: d(3), size: 1, name: 'C' }] },
    },
    { name: 'remove past the end', changes: { ...none, removed: [{ digest: d(9), size: 1, name: 'C' }] } },
    {
      name: 'remove under another name',
      changes: { ...none, removed: [{ digest: d(1), size: 1, name: 'Z' }] },
    },
    {
      name: 'add a present record',
      changes: { ...none, added: [{ digest: d(2), size: '*' as const, name: 'Z' }] },
    },
    { name: 'add a used name', changes: { ...none, added: [{ digest: d(3), size: 1, name: 'A' }] } },
    {
      name: 'add the same identity twice',
      changes: {
        ...none,
        added: [
          { digest: d(3), size: 1, name: 'C' },
          { digest: d(3), size: 1, name: 'D' },
        ],
      },
    },
    { name: 'remove an absent allow hash', changes: { ...none, allowRemoved: [d(8)] } },
    { name: 'add a present allow hash', changes: { ...none, allowAdded: [d(7)] } },
  ];
  for (const row of rows) {
    test(`refuses to ${row.name}`, () => {
      assert.throws(
        () => spliceHashDb(base, row.changes),
        (e) => isVouchError(e, 'malformed'),
      );
    });
  }

  test('a rename is a removal plus an addition', () => {
    const renamed = spliceHashDb(base, {
      ...none,
      removed: [{ digest: d(1), size: 1, name: 'A' }],
      added: [{ digest: d(1), size: 1, name: 'A2' }],
    });
    const changes = diffHashDb(base, parseHashDb(renamed));
    assert.deepEqual(
      changes.added.map((r) => r.name),
      ['A2'],
    );
    assert.deepEqual(
      changes.removed.map((r) => r.name),
      ['A'],
    );
  });

  test('a splice never gives one name to two records, and frees the names it removes', () => {
    const record = (n: number, name: string): HashSignature => ({
      digest: new Uint8Array(32).fill(n),
      size: n,
      name,
    });
    const base = parseHashDb(formatHashDb([record(1, 'Kept'), record(2, 'Gone'), record(3, 'Other')], []));
    const clash = { removed: [], added: [record(4, 'Kept')], allowAdded: [], allowRemoved: [] };
    assert.throws(() => spliceHashDb(base, clash), /signature name Kept would be used twice/);
    const twice = {
      removed: [],
      added: [record(4, 'New'), record(5, 'New')],
      allowAdded: [],
      allowRemoved: [],
    };
    assert.throws(() => spliceHashDb(base, twice), /signature name New would be used twice/);
    const reuse = {
      removed: [record(2, 'Gone')],
      added: [record(4, 'Gone')],
      allowAdded: [],
      allowRemoved: [],
    };
    const spliced = parseHashDb(spliceHashDb(base, reuse));
    assert.equal(spliced.recordCount, 3);
  });

  test('names that share a hash bucket are still told apart', () => {
    // Many distinct names in a small table force probing past occupied slots.
    const records = Array.from({ length: 2000 }, (_, i) => ({
      digest: new Uint8Array(32).fill(i & 0xff, 0, 16).fill(i >> 8, 16),
      size: i,
      name: `Vouch.Test.${i}`,
    }));
    const base = parseHashDb(formatHashDb(records, []));
    const added = [{ digest: new Uint8Array(32).fill(0xee), size: 1, name: 'Vouch.Test.1999' }];
    assert.throws(
      () => spliceHashDb(base, { removed: [], added, allowAdded: [], allowRemoved: [] }),
      /Vouch\.Test\.1999 would be used twice/,
    );
  });
});
