import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatHex, toBytes } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import { formatEntryBundle, maxEntryBundleSize, maxEntrySize, parseEntryBundle } from './entry-bundle.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));

test('the bundle of "entry-0".."entry-255" matches the selfTrees vector', () => {
  const entries = Array.from({ length: 256 }, (_, i) => toBytes(`entry-${i}`));
  const bundle = formatEntryBundle(entries);
  assert.equal(bundle.length, vectors.selfTrees.entry_i.entries000_len);
  assert.equal(formatHex(sha256(bundle)), vectors.selfTrees.entry_i.entries000_sha256);
  assert.deepEqual(parseEntryBundle(bundle, 256), entries);
});

test('bundles round-trip, including empty and maximum-size entries', () => {
  const rows: { name: string; entries: Uint8Array[] }[] = [
    { name: 'one empty entry', entries: [new Uint8Array(0)] },
    { name: 'empty among others', entries: [toBytes('a'), new Uint8Array(0), toBytes('bc')] },
    { name: 'maximum entry', entries: [new Uint8Array(maxEntrySize).fill(7)] },
    { name: '256-byte entry (length 0x0100)', entries: [new Uint8Array(256).fill(1)] },
    { name: 'full bundle of empties', entries: Array.from({ length: 256 }, () => new Uint8Array(0)) },
  ];
  for (const row of rows) {
    const bundle = formatEntryBundle(row.entries);
    const parsed = parseEntryBundle(bundle, row.entries.length);
    assert.deepEqual(parsed, row.entries, row.name);
    assert.ok(Object.isFrozen(parsed));
    assert.deepEqual(formatEntryBundle(parsed), bundle, row.name);
  }
  assert.deepEqual(
    formatEntryBundle([toBytes('hi'), new Uint8Array(0)]),
    new Uint8Array([0, 2, 104, 105, 0, 0]),
  );
});

test('parsed entries are copies', () => {
  const bundle = formatEntryBundle([toBytes('abc')]);
  const [entry] = parseEntryBundle(bundle, 1);
  bundle[2] = 0;
  assert.deepEqual(entry, toBytes('abc'));
});

test('formatEntryBundle refuses bad counts and oversized entries', () => {
  const rows = [
    { name: 'no entries', run: () => formatEntryBundle([]), code: 'invalid-argument' },
    {
      name: '257 entries',
      run: () => formatEntryBundle(Array(257).fill(new Uint8Array(0))),
      code: 'invalid-argument',
    },
    {
      name: '65536-byte entry',
      run: () => formatEntryBundle([new Uint8Array(maxEntrySize + 1)]),
      code: 'too-large',
    },
  ] as const;
  for (const row of rows) assert.throws(row.run, (e) => isVouchError(e, row.code), row.name);
});

test('parseEntryBundle refuses truncated, padded, miscounted and oversized bundles', () => {
  const two = formatEntryBundle([toBytes('ab'), toBytes('cde')]);
  const rows = [
    { name: 'empty input', run: () => parseEntryBundle(new Uint8Array(0), 1), code: 'malformed' },
    { name: 'half a length prefix', run: () => parseEntryBundle(new Uint8Array([0]), 1), code: 'malformed' },
    {
      name: 'truncated entry',
      run: () => parseEntryBundle(two.subarray(0, two.length - 1), 2),
      code: 'malformed',
    },
    {
      name: 'length beyond input',
      run: () => parseEntryBundle(new Uint8Array([0xff, 0xff, 1]), 1),
      code: 'malformed',
    },
    { name: 'trailing byte', run: () => parseEntryBundle(new Uint8Array([...two, 0]), 2), code: 'malformed' },
    { name: 'more entries than count', run: () => parseEntryBundle(two, 1), code: 'malformed' },
    { name: 'fewer entries than count', run: () => parseEntryBundle(two, 3), code: 'malformed' },
    { name: 'count 0', run: () => parseEntryBundle(new Uint8Array(0), 0), code: 'invalid-argument' },
    { name: 'count 257', run: () => parseEntryBundle(two, 257), code: 'invalid-argument' },
    { name: 'count 1.5', run: () => parseEntryBundle(two, 1.5), code: 'invalid-argument' },
    { name: 'over the caller cap', run: () => parseEntryBundle(two, 2, two.length - 1), code: 'too-large' },
    {
      name: 'over the format maximum',
      run: () => parseEntryBundle(new Uint8Array(maxEntryBundleSize + 1), 256),
      code: 'too-large',
    },
  ] as const;
  for (const row of rows) assert.throws(row.run, (e) => isVouchError(e, row.code), row.name);
  assert.deepEqual(parseEntryBundle(two, 2, two.length), [toBytes('ab'), toBytes('cde')]);
});

// The fuzz claim: any bytes and count give entries or our typed error, never another throw, and
// whatever parses re-encodes to exactly the input.
test('fuzz: random and mutated bundles give entries or a VouchError, and accepted bundles are canonical', () => {
  const entry = fc.uint8Array({ maxLength: 300 });
  const valid = fc
    .array(entry, { minLength: 1, maxLength: 20 })
    .map((entries) => [formatEntryBundle(entries), entries.length] as const);
  const edit = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('insert', 'delete', 'replace'),
    byte: fc.integer({ min: 0, max: 255 }),
  });
  const mutated = fc.tuple(valid, fc.array(edit, { maxLength: 3 })).map(([[bytes, n], edits]) => {
    const out = [...bytes];
    for (const e of edits) {
      const at = out.length === 0 ? 0 : e.at % (out.length + 1);
      if (e.kind === 'insert') out.splice(at, 0, e.byte);
      else if (e.kind === 'delete') out.splice(at, 1);
      else out.splice(at, 1, e.byte);
    }
    return [new Uint8Array(out), n] as const;
  });
  const random = fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: -2, max: 300 }));
  const input = fc.oneof(valid, mutated, random);
  const cap = fc.oneof(fc.constant(maxEntryBundleSize), fc.integer({ min: 0, max: 10000 }));
  let accepted = 0;
  fc.assert(
    fc.property(input, cap, ([bytes, n], max) => {
      let entries: readonly Uint8Array[];
      try {
        entries = parseEntryBundle(bytes, n, max);
      } catch (e) {
        assert.ok(isVouchError(e), `unexpected error: ${e}`);
        return;
      }
      accepted++;
      assert.equal(entries.length, n);
      assert.deepEqual(formatEntryBundle(entries), bytes);
    }),
    { seed: 65535, numRuns: 5000 },
  );
  assert.ok(accepted > 100, `the fuzzer should also produce valid bundles (got ${accepted})`);
});
