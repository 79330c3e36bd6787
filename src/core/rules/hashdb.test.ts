import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { equalBytes, formatHex } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import {
  formatHashDb,
  isAllowed,
  lookupHash,
  parseHashDb,
  readAllowList,
  readHashRecords,
} from './hashdb.ts';
import type { HashSignature, HashSize } from './source.ts';

// Small digest alphabet so that random lookups hit, and equal digests with several sizes occur.
const digestArb = fc.integer({ min: 0, max: 15 }).map((n) => {
  const d = new Uint8Array(32);
  d[0] = n >> 2;
  d[31] = n & 3;
  return d;
});
const sizeArb: fc.Arbitrary<HashSize> = fc.oneof(
  fc.constant<'*'>('*'),
  fc.integer({ min: 0, max: 3 }),
  fc.constant(2 ** 53 - 1),
);
const recordsArb = fc
  .uniqueArray(fc.record({ digest: digestArb, size: sizeArb }), {
    selector: (r) => `${formatHex(r.digest)}:${r.size}`,
    maxLength: 40,
  })
  .map((rows) => rows.map((r, i): HashSignature => ({ ...r, name: `Sig.${i}` })));
const allowArb = fc.uniqueArray(digestArb, { selector: formatHex, maxLength: 8 });

function referenceLookup(records: readonly HashSignature[], digest: Uint8Array, size: number): string[] {
  const byIdentity = new Map(records.map((r) => [`${formatHex(r.digest)}:${r.size}`, r.name]));
  const exact = byIdentity.get(`${formatHex(digest)}:${size}`);
  const any = byIdentity.get(`${formatHex(digest)}:*`);
  return [exact, any].filter((name): name is string => name !== undefined);
}

describe('hash table', () => {
  test('lookups match a Map-based reference', () => {
    fc.assert(
      fc.property(
        recordsArb,
        allowArb,
        digestArb,
        fc.integer({ min: 0, max: 4 }),
        (records, allow, digest, size) => {
          const db = parseHashDb(formatHashDb(records, allow));
          assert.deepEqual(lookupHash(db, digest, size), referenceLookup(records, digest, size));
          const allowed = new Set(allow.map(formatHex));
          assert.equal(isAllowed(db, digest), allowed.has(formatHex(digest)));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('bytes are deterministic and round-trip', () => {
    fc.assert(
      fc.property(recordsArb, allowArb, (records, allow) => {
        const a = formatHashDb(records, allow);
        const b = formatHashDb([...records].reverse(), [...allow].reverse());
        assert.ok(equalBytes(a, b));
        const db = parseHashDb(a);
        assert.ok(equalBytes(formatHashDb(readHashRecords(db), readAllowList(db)), a));
      }),
      { numRuns: 200 },
    );
  });

  test('refuses a duplicate identity', () => {
    const d = new Uint8Array(32);
    assert.throws(
      () =>
        formatHashDb(
          [
            { digest: d, size: '*', name: 'A' },
            { digest: d, size: '*', name: 'B' },
          ],
          [],
        ),
      (e) => isVouchError(e, 'malformed'),
    );
  });

  const sample = (() => {
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    return formatHashDb(
      [
        { digest: a, size: 5, name: 'A' },
        { digest: b, size: '*', name: 'B' },
      ],
      [a, b],
    );
  })();
  const corrupt = (at: number, value: number | ((old: number) => number)) => {
    const b = sample.slice();
    const index = at < 0 ? b.length + at : at;
    b[index] = typeof value === 'number' ? value : value(b[index] ?? 0);
    return b;
  };
  const rows: { name: string; bytes: Uint8Array; field: string }[] = [
    { name: 'bad magic', bytes: corrupt(0, 0), field: 'magic' },
    { name: 'version 2', bytes: corrupt(8, 2), field: 'version' },
    { name: 'reserved byte', bytes: corrupt(63, 1), field: 'header' },
    { name: 'truncated by one', bytes: sample.subarray(0, sample.length - 1), field: 'length' },
    { name: 'header only', bytes: sample.subarray(0, 64), field: 'length' },
    { name: 'short header', bytes: sample.subarray(0, 10), field: 'header' },
    { name: 'records out of order', bytes: corrupt(64, 9), field: 'record 1 order' },
    { name: 'size above 2^53', bytes: corrupt(64 + 39, 1), field: 'record 0 size' },
    { name: 'name offset moved', bytes: corrupt(64 + 40, (old) => old + 1), field: 'record 0 name' },
    { name: 'name character', bytes: corrupt(-1, 0x20), field: 'record 1 name' },
    {
      name: 'allow out of order',
      bytes: sample.slice().fill(3, 64 + 88, 64 + 88 + 32),
      field: 'allow 1',
    },
  ];
  for (const row of rows) {
    test(`refuses ${row.name}`, () => {
      assert.throws(
        () => parseHashDb(row.bytes),
        (e) => isVouchError(e, 'malformed') && e.details.field === row.field,
      );
    });
  }

  test('fuzz: random bytes after a valid magic give our typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (tail) => {
        const input = new Uint8Array(8 + tail.length);
        input.set(sample.subarray(0, 8));
        input.set(tail, 8);
        try {
          parseHashDb(input);
        } catch (e) {
          assert.ok(isVouchError(e, 'malformed'), String(e));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('fuzz: a value or our typed error, never another throw', () => {
    fc.assert(
      fc.property(
        recordsArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (records, edits, cut) => {
          const bytes = formatHashDb(records, []);
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          const input = cut % 3 === 0 ? bytes.subarray(0, cut % (bytes.length + 1)) : bytes;
          try {
            const db = parseHashDb(input);
            readHashRecords(db);
          } catch (e) {
            assert.ok(isVouchError(e), String(e));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
