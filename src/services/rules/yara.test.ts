import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toBytes } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { compileYara, yaraEngineVersion } from './yara.ts';

const files = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([name, text]) => [name, toBytes(text)]));

describe('compileYara', () => {
  const rules = compileYara(
    files({
      'a.yar': [
        'rule Text { strings: $a = "needle" condition: $a }',
        'rule Hex { strings: $h = { 4D 5A ?? 00 [2-4] FF } condition: $h at 0 }',
        'private rule Hidden { strings: $a = "needle" condition: $a }',
        'rule UsesPrivate { condition: Hidden and filesize < 10 }',
      ].join('\n'),
      'b.yar': 'rule Small : tagged { meta: author = "x" condition: filesize < 4 }\n',
    }),
  );
  const rows: { name: string; content: Uint8Array; expected: string[] }[] = [
    { name: 'text string', content: toBytes('hay needle hay'), expected: ['Text'] },
    { name: 'text string in a small file', content: toBytes('needle'), expected: ['Text', 'UsesPrivate'] },
    {
      name: 'hex pattern with wildcard and jump at offset 0',
      content: new Uint8Array([0x4d, 0x5a, 0x90, 0x00, 1, 2, 3, 0xff, 0x00]),
      expected: ['Hex'],
    },
    {
      name: 'hex pattern not at offset 0',
      content: new Uint8Array([0, 0x4d, 0x5a, 0, 0, 1, 2, 0xff]),
      expected: [],
    },
    { name: 'filesize condition', content: toBytes('abc'), expected: ['Small'] },
    { name: 'nothing', content: toBytes('nothing to see'), expected: [] },
  ];
  for (const row of rows) test(row.name, () => assert.deepEqual(rules.match(row.content), row.expected));

  test('reports the number of files and engine version', () => {
    assert.equal(rules.files, 2);
    assert.match(yaraEngineVersion(), /^[0-9]+\.[0-9]+\.[0-9]+$/);
  });

  test('refuses use after close', () => {
    const once = compileYara(files({ 'x.yar': 'rule X { condition: true }' }));
    assert.deepEqual(once.match(toBytes('')), ['X']);
    once.close();
    assert.throws(
      () => once.match(toBytes('')),
      (e) => isVouchError(e, 'invariant'),
    );
  });
});

describe('compileYara refusals', () => {
  const rows: { name: string; files: Map<string, Uint8Array>; file: string; message: RegExp }[] = [
    {
      name: 'syntax error names the file and quotes the compiler',
      files: files({ 'ok.yar': 'rule A { condition: true }', 'bad.yar': 'rule B { condition: }' }),
      file: 'bad.yar',
      message: /^YARA file bad\.yar does not compile: error\[/,
    },
    {
      name: 'unknown pattern',
      files: files({ 'p.yar': 'rule P { condition: $x }' }),
      file: 'p.yar',
      message: /unknown pattern/,
    },
    {
      name: 'rule name repeated in a later file',
      files: files({ 'a.yar': 'rule Dup { condition: true }', 'b.yar': 'rule Dup { condition: false }' }),
      file: 'b.yar',
      message: /duplicate rule `Dup`/,
    },
    {
      name: 'not UTF-8',
      files: new Map([['u.yar', new Uint8Array([0x72, 0xff, 0x0a])]]),
      file: 'u.yar',
      message: /not valid UTF-8/,
    },
  ];
  for (const row of rows)
    test(row.name, () =>
      assert.throws(
        () => compileYara(row.files),
        (e) => isVouchError(e, 'malformed') && e.details.field === row.file && row.message.test(e.message),
      ),
    );

  test('warnings are attributed to their file, once each', () => {
    const set = compileYara(files({ 'w.yar': 'rule S { strings: $a = /a.*b.*c/s condition: $a }' }));
    assert.ok(set.warnings.length >= 1);
    assert.ok(set.warnings.every((w) => w.file === 'w.yar'));
    assert.equal(new Set(set.warnings.map((w) => w.message)).size, set.warnings.length);
    set.close();
  });
});
