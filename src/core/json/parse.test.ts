import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, toBytes, toText } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { formatCanonicalJson, formatJson } from './canonical.ts';
import { type ParseJsonOptions, parseJson } from './parse.ts';
import { isJsonObject, type JsonValue } from './value.ts';

const limits: ParseJsonOptions = { maxBytes: 1 << 20 };

function parse(text: string, options: Partial<ParseJsonOptions> = {}): JsonValue {
  return parseJson(toBytes(text), { ...limits, ...options });
}

// Compare parsed values by their deterministic encoding: parsed objects have a null prototype.
function same(a: unknown, b: unknown): void {
  assert.equal(toText(formatJson(a)), toText(formatJson(b)));
}

test('parseJson reads valid JSON', async (t) => {
  const rows: readonly {
    name: string;
    input: string;
    expected: unknown;
    options?: Partial<ParseJsonOptions>;
  }[] = [
    { name: 'scalars', input: '[true,false,null,0,-1,"x"]', expected: [true, false, null, 0, -1, 'x'] },
    { name: 'whitespace everywhere', input: ' \t\r\n{ "a" : [ 1 , 2 ] }\n', expected: { a: [1, 2] } },
    { name: 'empty containers', input: '{"a":{},"b":[]}', expected: { a: {}, b: [] } },
    { name: 'escapes', input: '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u00E9"', expected: '"\\/\b\f\n\r\téé' },
    { name: 'surrogate pair escape', input: '"\\ud83d\\ude00"', expected: '\u{1f600}' },
    { name: 'raw UTF-8', input: '"é中😀"', expected: 'é中😀' },
    { name: 'minus zero reads as zero', input: '-0', expected: 0 },
    {
      name: 'largest safe integer',
      input: '[9007199254740991,-9007199254740991]',
      expected: [2 ** 53 - 1, -(2 ** 53 - 1)],
    },
    { name: 'key order is kept as written', input: '{"b":1,"a":2}', expected: { b: 1, a: 2 } },
    {
      name: 'escaped and raw keys that differ',
      input: '{"a":1,"A":2,"\\u00e9":3}',
      expected: { a: 1, A: 2, é: 3 },
    },
    {
      name: 'floats when allowed',
      input: '[1.5,-2e3,1E-2,0.0]',
      expected: [1.5, -2000, 0.01, 0],
      options: { allowFloats: true },
    },
    {
      name: 'unsafe integer rounds when floats allowed',
      input: '9007199254740993',
      expected: 2 ** 53,
      options: { allowFloats: true },
    },
    { name: 'nesting at the limit', input: '[[[1]]]', expected: [[[1]]], options: { maxDepth: 3 } },
    { name: 'size at the limit', input: '[1]', expected: [1], options: { maxBytes: 3 } },
  ];
  for (const row of rows) {
    await t.test(row.name, () => same(parse(row.input, row.options), row.expected));
  }
});

test('parseJson refuses bad input with the field path', async (t) => {
  const rows: readonly {
    name: string;
    input: string | Uint8Array;
    code: 'malformed' | 'too-large';
    field: string;
    options?: Partial<ParseJsonOptions>;
  }[] = [
    { name: 'duplicate key', input: '{"a":1,"a":2}', code: 'malformed', field: 'a' },
    {
      name: 'duplicate nested key',
      input: '{"x":{"y":[0,{"k":1,"k":1}]}}',
      code: 'malformed',
      field: 'x.y[1].k',
    },
    { name: 'duplicate key through an escape', input: '{"a":1,"\\u0061":2}', code: 'malformed', field: 'a' },
    {
      name: 'duplicate __proto__',
      input: '{"__proto__":1,"__proto__":2}',
      code: 'malformed',
      field: '__proto__',
    },
    {
      name: 'duplicate odd key is sanitised',
      input: '{"a b\\n":1,"a b\\n":2}',
      code: 'malformed',
      field: '["a b?"]',
    },
    { name: 'trailing comma in array', input: '[1,]', code: 'malformed', field: '[1]' },
    { name: 'trailing comma in object', input: '{"a":1,}', code: 'malformed', field: '$' },
    { name: 'missing comma', input: '[1 2]', code: 'malformed', field: '$' },
    { name: 'missing colon', input: '{"a" 1}', code: 'malformed', field: 'a' },
    { name: 'unquoted key', input: '{a:1}', code: 'malformed', field: '$' },
    { name: 'single quotes', input: "['a']", code: 'malformed', field: '[0]' },
    { name: 'comment', input: '[1 /* x */]', code: 'malformed', field: '$' },
    { name: 'leading zero', input: '[01]', code: 'malformed', field: '$' },
    { name: 'plus sign', input: '+1', code: 'malformed', field: '$' },
    { name: 'bare minus', input: '-', code: 'malformed', field: '$' },
    { name: 'leading dot', input: '.5', code: 'malformed', field: '$' },
    { name: 'trailing dot', input: '1.', code: 'malformed', field: '$', options: { allowFloats: true } },
    { name: 'empty exponent', input: '1e', code: 'malformed', field: '$', options: { allowFloats: true } },
    { name: 'NaN', input: 'NaN', code: 'malformed', field: '$' },
    { name: 'Infinity', input: '[-Infinity]', code: 'malformed', field: '[0]' },
    { name: 'fraction without allowFloats', input: '{"v":1.0}', code: 'malformed', field: 'v' },
    { name: 'exponent without allowFloats', input: '{"v":1e2}', code: 'malformed', field: 'v' },
    { name: 'unsafe integer', input: '{"n":[9007199254740992]}', code: 'malformed', field: 'n[0]' },
    {
      name: 'overflow to infinity',
      input: '1e400',
      code: 'malformed',
      field: '$',
      options: { allowFloats: true },
    },
    { name: 'lone high surrogate', input: '{"s":"\\ud800"}', code: 'malformed', field: 's' },
    { name: 'lone low surrogate', input: '["\\udc00x"]', code: 'malformed', field: '[0]' },
    { name: 'reversed surrogate pair', input: '"\\ude00\\ud83d"', code: 'malformed', field: '$' },
    { name: 'lone surrogate in a key', input: '{"\\ud800":1}', code: 'malformed', field: '$' },
    { name: 'raw newline in a string', input: '"a\nb"', code: 'malformed', field: '$' },
    { name: 'raw NUL in a string', input: '["\u0000"]', code: 'malformed', field: '[0]' },
    { name: 'bad escape', input: '"\\x41"', code: 'malformed', field: '$' },
    { name: 'short unicode escape', input: '"\\u12"', code: 'malformed', field: '$' },
    { name: 'unterminated string', input: '"abc', code: 'malformed', field: '$' },
    { name: 'unterminated array', input: '[1,[2]', code: 'malformed', field: '$' },
    { name: 'unterminated object', input: '{"a":', code: 'malformed', field: 'a' },
    { name: 'truncated literal', input: 'tru', code: 'malformed', field: '$' },
    { name: 'literal with suffix', input: 'nulls', code: 'malformed', field: '$' },
    { name: 'capitalised literal', input: 'True', code: 'malformed', field: '$' },
    { name: 'data after the value', input: '{} {}', code: 'malformed', field: '$' },
    { name: 'empty input', input: '', code: 'malformed', field: '$' },
    { name: 'whitespace only', input: ' \n', code: 'malformed', field: '$' },
    { name: 'form feed is not whitespace', input: '\f1', code: 'malformed', field: '$' },
    { name: 'byte-order mark', input: '\ufeff{}', code: 'malformed', field: '$' },
    { name: 'invalid UTF-8', input: new Uint8Array([0x22, 0xff, 0x22]), code: 'malformed', field: '$' },
    {
      name: 'overlong UTF-8',
      input: new Uint8Array([0x22, 0xc0, 0xaf, 0x22]),
      code: 'malformed',
      field: '$',
    },
    {
      name: 'encoded surrogate UTF-8',
      input: new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]),
      code: 'malformed',
      field: '$',
    },
    { name: 'over the size cap', input: '[1, 2]', code: 'too-large', field: '$', options: { maxBytes: 5 } },
    {
      name: 'over the depth cap',
      input: '{"a":[[{"b":1}]]}',
      code: 'too-large',
      field: 'a[0][0]',
      options: { maxDepth: 3 },
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      const bytes = typeof row.input === 'string' ? toBytes(row.input) : row.input;
      assert.throws(
        () => parseJson(bytes, { ...limits, ...row.options }),
        (e: unknown) => isVouchError(e, row.code) && (e.details.field ?? '$') === row.field,
      );
    });
  }
});

test('parseJson rejects bad options', async (t) => {
  for (const [name, options] of [
    ['negative maxBytes', { maxBytes: -1 }],
    ['fractional maxBytes', { maxBytes: 1.5 }],
    ['zero maxDepth', { maxBytes: 10, maxDepth: 0 }],
    ['maxDepth over 512', { maxBytes: 10, maxDepth: 513 }],
  ] as const) {
    await t.test(name, () => {
      assert.throws(
        () => parseJson(toBytes('1'), options),
        (e: unknown) => isVouchError(e, 'invalid-argument'),
      );
    });
  }
});

test('parseJson returns frozen values whose keys are only data', () => {
  const value = parse('{"__proto__":{"polluted":true},"constructor":1,"list":[{"a":1}]}');
  assert.ok(isJsonObject(value));
  assert.ok(Object.isFrozen(value));
  assert.equal(Object.getPrototypeOf(value), null);
  assert.deepEqual(Object.keys(value), ['__proto__', 'constructor', 'list']);
  assert.equal(value['constructor'], 1);
  assert.ok(Object.isFrozen(value['list']));
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  const empty = parse('{}');
  assert.ok(isJsonObject(empty));
  assert.equal(empty['toString'], undefined);
});

test('re-encoding a parsed document gives back the signed canonical bytes', () => {
  // A TUF-like document with an unknown field and non-ASCII: parse the on-disk JSON, re-encode.
  const signed = {
    _type: 'targets',
    custom_vendor_field: { note: 'Zürich – ünïcödé', nested: [1, { z: null, a: true }] },
    targets: { 'rules-42.db': { length: 1024, hashes: { sha256: 'ab'.repeat(32) } } },
    version: 3,
  };
  const canonical = formatCanonicalJson(signed);
  const onDisk = toBytes(JSON.stringify(signed, null, 2));
  assert.deepEqual(formatCanonicalJson(parseJson(onDisk, limits)), canonical);
});

const jsonIntegers = fc
  .jsonValue({ stringUnit: 'binary' })
  .map((v) =>
    JSON.parse(JSON.stringify(v), (_k, x) => (typeof x === 'number' ? Math.trunc(x) % 2 ** 53 || 0 : x)),
  );

test('parseJson agrees with JSON.parse on valid documents', () => {
  fc.assert(
    fc.property(fc.jsonValue({ stringUnit: 'binary' }), fc.boolean(), (value, pretty) => {
      const text = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
      same(parseJson(toBytes(text), { ...limits, maxDepth: 512, allowFloats: true }), JSON.parse(text));
    }),
    { seed: 0x5eed11, numRuns: 500 },
  );
});

test('parse(formatJson(v)) keeps integer documents exactly, canonical bytes included', () => {
  fc.assert(
    fc.property(jsonIntegers, (value) => {
      const parsed = parseJson(formatJson(value), { ...limits, maxDepth: 512 });
      assert.deepEqual(formatCanonicalJson(parsed), formatCanonicalJson(value));
    }),
    { seed: 0x5eed12, numRuns: 500 },
  );
});

function assertValueOrVouchError(bytes: Uint8Array, options: ParseJsonOptions): void {
  try {
    parseJson(bytes, options);
  } catch (e) {
    assert.ok(isVouchError(e), String(e));
  }
}

const jsonAlphabet = fc.constantFrom(...'{}[],:"\\ -0123456789.eE+truefalsn\u0000\n\ud800é'.split(''));

test('fuzz: random input gives a value or a VouchError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, allowFloats) => {
      assertValueOrVouchError(bytes, { maxBytes: 150, maxDepth: 8, allowFloats });
    }),
    { seed: 0x5eed13, numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: jsonAlphabet, maxLength: 80 }), fc.boolean(), (text, allowFloats) => {
      assertValueOrVouchError(toBytes(text), { maxBytes: 1000, maxDepth: 8, allowFloats });
    }),
    { seed: 0x5eed14, numRuns: 3000 },
  );
});

test('fuzz: mutated valid documents give a value or a VouchError', () => {
  const mutation = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(fc.jsonValue(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (value, mutations) => {
      let bytes = formatJson(value);
      for (const [at, kind, byte] of mutations) {
        const i = bytes.length === 0 ? 0 : at % bytes.length;
        if (kind === 0) bytes = concatBytes(bytes.subarray(0, i), bytes.subarray(i + 1));
        else if (kind === 1)
          bytes = concatBytes(bytes.subarray(0, i), new Uint8Array([byte]), bytes.subarray(i));
        else if (kind === 2 && bytes.length > 0) bytes[i] = byte;
        else bytes = concatBytes(bytes, bytes.subarray(i)); // duplicate a tail
      }
      assertValueOrVouchError(bytes, { maxBytes: 1 << 16, maxDepth: 16 });
    }),
    { seed: 0x5eed15, numRuns: 2000 },
  );
});

test('hostile shapes finish quickly', async (t) => {
  const mib = 1 << 20;
  const rows: readonly { name: string; text: string; code?: string }[] = [
    { name: '1 MiB of open brackets', text: '['.repeat(mib), code: 'too-large' },
    { name: '1 MiB of nested objects', text: '{"a":'.repeat(mib / 5), code: 'too-large' },
    { name: '1 MiB string of escapes', text: `"${'\\u0041'.repeat(mib / 6 - 1)}"` },
    {
      name: '50k distinct keys',
      text: `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
    },
    { name: '100k-element array', text: `[${'0,'.repeat(100_000)}0]` },
    { name: 'long number literal', text: `0.${'1'.repeat(mib - 4)}`, code: 'malformed' },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      const bytes = toBytes(row.text);
      const started = performance.now();
      try {
        parseJson(bytes, { maxBytes: 2 * mib });
        assert.equal(row.code, undefined);
      } catch (e) {
        assert.ok(isVouchError(e) && e.code === row.code, String(e));
      }
      assert.ok(performance.now() - started < 1000, 'took over a second');
    });
  }
});
