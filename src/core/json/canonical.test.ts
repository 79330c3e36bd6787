import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareBytes, toBytes, toText } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { compareCodePoints, formatCanonicalJson, formatJson, maxEncodeDepth } from './canonical.ts';
import { parseJson } from './parse.ts';

// Captured from Debian python3-securesystemslib 0.26.0-1:
// securesystemslib.formats.encode_canonical(json.loads(input)). Inputs are JSON text (escapes
// decoded by the parser); `canonical` is the encoder's output text, UTF-8 encoded for comparison.
const securesystemslibVectors: readonly { name: string; input: string; canonical: string }[] = [
  {
    name: 'empty object',
    input: '{}',
    canonical: '{}',
  },
  {
    name: 'empty array',
    input: '[]',
    canonical: '[]',
  },
  {
    name: 'empty string',
    input: '""',
    canonical: '""',
  },
  {
    name: 'scalars',
    input: '[true,false,null,0,-1,9007199254740991,-9007199254740991]',
    canonical: '[true,false,null,0,-1,9007199254740991,-9007199254740991]',
  },
  {
    name: 'escapes only quote and backslash',
    input: '"a\\"b\\\\c/d"',
    canonical: '"a\\"b\\\\c/d"',
  },
  {
    name: 'control characters raw',
    input: '"tab\\there\\nnewline\\u0000nul\\u001f\\u007f"',
    canonical: '"tab\there\nnewline\u0000nul\u001f\u007f"',
  },
  {
    name: 'non-ascii raw utf-8',
    input: '"\\u00e9\\u4e2d\\u2028\\ud83d\\ude00"',
    canonical: '"\u00e9\u4e2d\u2028\ud83d\ude00"',
  },
  {
    name: 'keys sorted ascii',
    input: '{"b":1,"a":2,"B":3,"_":4,"aa":5,"a0":6,"":7}',
    canonical: '{"":7,"B":3,"_":4,"a":2,"a0":6,"aa":5,"b":1}',
  },
  {
    name: 'keys sorted by code point',
    input: '{"\\u00e9":1,"z":2,"\\u4e2d":3,"\\ud83d\\ude00":4,"\\uffff":5,"\\ud800\\udc00":6,"\\ue000":7}',
    canonical: '{"z":2,"\u00e9":1,"\u4e2d":3,"\ue000":7,"\uffff":5,"\ud800\udc00":6,"\ud83d\ude00":4}',
  },
  {
    name: 'prefix keys',
    input: '{"abc":1,"ab":2,"a":3}',
    canonical: '{"a":3,"ab":2,"abc":1}',
  },
  {
    name: 'nested',
    input:
      '{"signed":{"_type":"root","keys":{"k1":{"keyval":{"public":"ab"},"keytype":"ed25519"}},"roles":{"root":{"threshold":1,"keyids":["k1"]}},"version":1},"signatures":[]}',
    canonical:
      '{"signatures":[],"signed":{"_type":"root","keys":{"k1":{"keytype":"ed25519","keyval":{"public":"ab"}}},"roles":{"root":{"keyids":["k1"],"threshold":1}},"version":1}}',
  },
  {
    name: 'escaped key',
    input: '{"a\\"b":{"c\\\\d":[[],{}]}}',
    canonical: '{"a\\"b":{"c\\\\d":[[],{}]}}',
  },
  {
    name: 'nested arrays',
    input: '[[[]],[{}],[1,[2,[3]]]]',
    canonical: '[[[]],[{}],[1,[2,[3]]]]',
  },
];

test('formatCanonicalJson matches securesystemslib encode_canonical', async (t) => {
  for (const row of securesystemslibVectors) {
    await t.test(row.name, () => {
      const expected = toBytes(row.canonical);
      assert.deepEqual(formatCanonicalJson(parseJson(toBytes(row.input), { maxBytes: 1 << 16 })), expected);
      assert.deepEqual(formatCanonicalJson(JSON.parse(row.input)), expected);
    });
  }
});

class Point {
  x = 1;
}
const cycle: { self?: unknown } = {};
cycle.self = { back: [cycle] };
const holey: number[] = [1];
holey[2] = 2;
const symbolKeyed = { a: 1, [Symbol('s')]: 2 };
let deep: unknown = 1;
for (let i = 0; i <= maxEncodeDepth; i++) deep = [deep];

const refused: readonly { name: string; value: unknown; code: string; field: string }[] = [
  { name: 'fraction', value: 1.5, code: 'invalid-argument', field: '$' },
  { name: 'NaN', value: { n: Number.NaN }, code: 'invalid-argument', field: 'n' },
  { name: 'infinity', value: [Number.POSITIVE_INFINITY], code: 'invalid-argument', field: '[0]' },
  { name: 'unsafe integer 2^53', value: { v: 2 ** 53 }, code: 'invalid-argument', field: 'v' },
  { name: 'bigint', value: { length: 1n }, code: 'invalid-argument', field: 'length' },
  { name: 'undefined at the root', value: undefined, code: 'invalid-argument', field: '$' },
  { name: 'undefined member', value: { a: { b: undefined } }, code: 'invalid-argument', field: 'a.b' },
  { name: 'function', value: { f: () => 1 }, code: 'invalid-argument', field: 'f' },
  { name: 'symbol value', value: [Symbol('x')], code: 'invalid-argument', field: '[0]' },
  { name: 'array hole', value: holey, code: 'invalid-argument', field: '[1]' },
  { name: 'Date', value: { at: new Date(0) }, code: 'invalid-argument', field: 'at' },
  { name: 'Map', value: new Map([['a', 1]]), code: 'invalid-argument', field: '$' },
  { name: 'Uint8Array', value: { b: new Uint8Array(2) }, code: 'invalid-argument', field: 'b' },
  { name: 'class instance', value: [new Point()], code: 'invalid-argument', field: '[0]' },
  { name: 'boxed string', value: [Object('x')], code: 'invalid-argument', field: '[0]' },
  { name: 'symbol-keyed property', value: symbolKeyed, code: 'invalid-argument', field: '$' },
  { name: 'lone surrogate in a string', value: { s: 'a\ud800' }, code: 'invalid-argument', field: 's' },
  { name: 'lone surrogate in a key', value: { '\udc00': 1 }, code: 'invalid-argument', field: '$' },
  { name: 'cycle', value: cycle, code: 'invalid-argument', field: 'self.back[0]' },
  { name: 'nesting past the limit', value: deep, code: 'too-large', field: '[0]'.repeat(maxEncodeDepth) },
];

test('formatCanonicalJson refuses what canonical JSON cannot carry', async (t) => {
  for (const row of refused) {
    await t.test(row.name, () => {
      assert.throws(
        () => formatCanonicalJson(row.value),
        (e: unknown) => isVouchError(e, row.code as 'invalid-argument') && e.details.field === row.field,
      );
    });
  }
});

test('formatCanonicalJson edge cases that are accepted', async (t) => {
  const shared = { k: 'v' };
  const rows: readonly { name: string; value: unknown; text: string }[] = [
    { name: 'minus zero is written as 0', value: [-0], text: '[0]' },
    {
      name: 'largest safe integers',
      value: [2 ** 53 - 1, -(2 ** 53 - 1)],
      text: '[9007199254740991,-9007199254740991]',
    },
    {
      name: 'null-prototype object',
      value: Object.assign(Object.create(null), { b: 1, a: 2 }),
      text: '{"a":2,"b":1}',
    },
    { name: 'frozen values', value: Object.freeze({ a: Object.freeze([1]) }), text: '{"a":[1]}' },
    {
      name: 'shared reference is not a cycle',
      value: { a: shared, b: [shared] },
      text: '{"a":{"k":"v"},"b":[{"k":"v"}]}',
    },
    {
      name: '__proto__ as an own key',
      value: JSON.parse('{"__proto__":1,"a":0}'),
      text: '{"__proto__":1,"a":0}',
    },
    {
      name: 'exactly the depth limit',
      value: nest(maxEncodeDepth),
      text: `${'['.repeat(maxEncodeDepth)}${']'.repeat(maxEncodeDepth)}`,
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => assert.equal(toText(formatCanonicalJson(row.value)), row.text));
  }
});

function nest(depth: number): unknown {
  let value: unknown[] = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

test('formatJson is valid JSON with the same key order', async (t) => {
  const rows: readonly { name: string; value: unknown; text: string }[] = [
    { name: 'control characters escaped', value: { s: 'a\nb\u0000' }, text: '{"s":"a\\nb\\u0000"}' },
    { name: 'floats allowed', value: [1.5, 1e300, -0], text: '[1.5,1e+300,0]' },
    {
      name: 'code point key order',
      value: { '\u{10000}': 1, '\uffff': 2, a: 3 },
      text: '{"a":3,"\uffff":2,"\u{10000}":1}',
    },
    { name: 'unsafe integers allowed', value: [2 ** 60], text: '[1152921504606847000]' },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      assert.equal(toText(formatJson(row.value)), row.text);
      JSON.parse(row.text);
    });
  }
  await t.test('non-finite numbers refused', () => {
    assert.throws(
      () => formatJson([Number.NaN]),
      (e: unknown) => isVouchError(e, 'invalid-argument'),
    );
  });
});

// Characters around the boundaries where UTF-16 and code point order disagree.
const boundaryChar = fc.oneof(
  fc.constantFrom(
    'a',
    'A',
    '\u007f',
    '\u00e9',
    '\ud7ff',
    '\ue000',
    '\uffff',
    '\u{10000}',
    '\u{1f600}',
    '\u{10ffff}',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const boundaryString = fc.string({ unit: boundaryChar, maxLength: 4 });

function codePointReference(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) as number);
  const y = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  }
  return x.length - y.length;
}

test('compareCodePoints orders like code points and like UTF-8 bytes', () => {
  fc.assert(
    fc.property(boundaryString, boundaryString, (a, b) => {
      const got = Math.sign(compareCodePoints(a, b));
      assert.equal(got, Math.sign(codePointReference(a, b)));
      assert.equal(got, Math.sign(compareBytes(toBytes(a), toBytes(b))));
    }),
    { seed: 0x5eed01, numRuns: 2000 },
  );
});

test('fuzz: formatCanonicalJson returns bytes or a VouchError, nothing else', () => {
  fc.assert(
    fc.property(
      fc.anything({
        withBigInt: true,
        withDate: true,
        withMap: true,
        withTypedArray: true,
        withNullPrototype: true,
      }),
      (value) => {
        try {
          formatCanonicalJson(value);
          formatJson(value);
        } catch (e) {
          assert.ok(isVouchError(e), String(e));
        }
      },
    ),
    { seed: 0x5eed02, numRuns: 2000 },
  );
});
