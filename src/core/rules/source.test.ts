import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toBytes } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import {
  formatHashSignature,
  parseAllowList,
  parseEngineRange,
  parseEngineVersion,
  parseHashFiles,
  parseHashLine,
  parseRulesMetadata,
} from './source.ts';

const h1 = 'a'.repeat(64);
const h2 = 'b'.repeat(64);

describe('parseHashLine', () => {
  const good = [
    { name: 'exact size', line: `${h1}:68:Win.Test.EICAR_HSB-1`, size: 68 },
    { name: 'wildcard size', line: `${h1}:*:Any.Size`, size: '*' },
    { name: 'zero size', line: `${h1}:0:Empty`, size: 0 },
  ];
  for (const row of good) {
    test(row.name, () => {
      const s = parseHashLine(row.line, 'x line 1');
      assert.equal(s.size, row.size);
      assert.equal(formatHashSignature(s), row.line);
      assert.ok(Object.isFrozen(s));
    });
  }
  const bad = [
    { name: 'uppercase hex', line: `${h1.toUpperCase()}:1:N` },
    { name: 'sha1', line: `${'a'.repeat(40)}:1:N` },
    { name: 'leading zero size', line: `${h1}:01:N` },
    { name: 'negative size', line: `${h1}:-1:N` },
    { name: 'too big size', line: `${h1}:9007199254740992:N` },
    { name: 'flevel field', line: `${h1}:1:N:73` },
    { name: 'two fields', line: `${h1}:1` },
    { name: 'space in name', line: `${h1}:1:A B` },
    { name: 'empty name', line: `${h1}:1:` },
    { name: 'long name', line: `${h1}:1:${'n'.repeat(129)}` },
    { name: 'unicode name', line: `${h1}:1:naïve` },
  ];
  for (const row of bad) {
    test(`refuses ${row.name}`, () => {
      assert.throws(
        () => parseHashLine(row.line, 'f.hsb line 7'),
        (e) => isVouchError(e, 'malformed') && e.details.field === 'f.hsb line 7',
      );
    });
  }
});

describe('parseHashFiles', () => {
  test('reads several files, skipping comments and blank lines', () => {
    const out = parseHashFiles([
      { file: 'a.hsb', bytes: toBytes(`# c\n\n${h1}:1:A\n`) },
      { file: 'b.hsb', bytes: toBytes(`${h1}:*:B\n${h2}:1:C`) },
    ]);
    assert.deepEqual(
      out.map((s) => s.name),
      ['A', 'B', 'C'],
    );
  });
  const bad = [
    { name: 'same name', files: [`${h1}:1:A\n`, `${h2}:1:A\n`], field: 'f1.hsb line 1', code: 'malformed' },
    {
      name: 'same hash and size',
      files: [`${h1}:1:A\n${h1}:1:B\n`],
      field: 'f0.hsb line 2',
      code: 'malformed',
    },
    { name: 'CR LF', files: [`${h1}:1:A\r\n`], field: 'f0.hsb', code: 'malformed' },
    { name: 'NUL line', files: ['\u0000'], field: 'f0.hsb line 1', code: 'malformed' },
    {
      name: 'count cap',
      files: [`${h1}:1:A\n${h2}:1:B\n${h2}:2:C\n`],
      field: 'f0.hsb line 3',
      code: 'too-large',
    },
  ];
  for (const row of bad) {
    test(`refuses ${row.name}`, () => {
      const files = row.files.map((text, i) => ({ file: `f${i}.hsb`, bytes: toBytes(text) }));
      assert.throws(
        () => parseHashFiles(files, { maxFileBytes: 1000, maxHashes: 2, maxAllow: 2 }),
        (e) => isVouchError(e, row.code as 'malformed') && e.details.field === row.field,
      );
    });
  }
  test('refuses an oversized file', () => {
    assert.throws(
      () =>
        parseHashFiles([{ file: 'a.hsb', bytes: new Uint8Array(11) }], {
          maxFileBytes: 10,
          maxHashes: 9,
          maxAllow: 9,
        }),
      (e) => isVouchError(e, 'too-large'),
    );
  });
});

describe('parseAllowList', () => {
  test('reads hashes', () => {
    assert.equal(parseAllowList(toBytes(`# ok\n${h1}\n${h2}\n`)).length, 2);
  });
  for (const row of [
    { name: 'duplicate', text: `${h1}\n${h1}\n`, field: 'allow.sha256 line 2' },
    { name: 'short', text: 'abc\n', field: 'allow.sha256 line 1' },
    { name: 'trailing space', text: `${h1} \n`, field: 'allow.sha256 line 1' },
  ]) {
    test(`refuses ${row.name}`, () => {
      assert.throws(
        () => parseAllowList(toBytes(row.text)),
        (e) => isVouchError(e, 'malformed') && e.details.field === row.field,
      );
    });
  }
});

describe('parseRulesMetadata', () => {
  test('reads name and engine', () => {
    assert.deepEqual(parseRulesMetadata(toBytes('{"name":"acme","engine":{"min":1,"max":3}}')), {
      name: 'acme',
      engine: { min: 1, max: 3 },
    });
  });
  for (const row of [
    { name: 'extra key', text: '{"name":"a","engine":{"min":1,"max":3},"x":1}' },
    { name: 'min above max', text: '{"name":"a","engine":{"min":4,"max":3}}' },
    { name: 'float level', text: '{"name":"a","engine":{"min":1.5,"max":3}}' },
    { name: 'bad name', text: '{"name":"a b","engine":{"min":1,"max":3}}' },
    { name: 'not object', text: '[]' },
    {
      name: 'a YARA-X version (the compiler records it)',
      text: '{"name":"a","engine":{"min":1,"max":3,"yaraX":"1.20.0"}}',
    },
  ]) {
    test(`refuses ${row.name}`, () => {
      assert.throws(
        () => parseRulesMetadata(toBytes(row.text)),
        (e) => isVouchError(e, 'malformed'),
      );
    });
  }
});

describe('parseEngineRange', () => {
  test('reads an optional YARA-X version', () => {
    assert.deepEqual(parseEngineRange({ min: 1, max: 2, yaraX: '1.20.0' }, 'engine'), {
      min: 1,
      max: 2,
      yaraX: '1.20.0',
    });
    assert.deepEqual(parseEngineVersion('10.0.123456', 'v'), [10, 0, 123456]);
  });
  for (const yaraX of ['1.20', '01.2.3', '1.2.3-rc1', '1.2.3.4', '1234567.0.0', ' 1.2.3', 1, null])
    test(`refuses yaraX ${JSON.stringify(yaraX)}`, () => {
      assert.throws(
        () => parseEngineRange({ min: 1, max: 2, yaraX }, 'engine'),
        (e) => isVouchError(e, 'malformed') && e.details.field === 'engine.yaraX',
      );
    });
});
