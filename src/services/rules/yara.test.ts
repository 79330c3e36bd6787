import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toBytes } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { compileYara, startYaraMatcher, yaraEngineVersion } from './yara.ts';

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

// Slow loops 4*10^8 times on a file that starts with "S" and has no 0xFF byte (minutes in
// YARA-X 1.20.0's WebAssembly build, which ignores its own timeout); any other file is instant.
const slowRules = files({
  's.yar': [
    'rule Slow { condition: uint8(0) == 0x53 and for any i in (0..400000000) : (uint8(i % filesize) == 0xFF) }',
    'rule Text { strings: $a = "needle" condition: $a }',
  ].join('\n'),
});

describe('startYaraMatcher', () => {
  test('matches in a worker as compileYara does, one call at a time', async () => {
    const matcher = await startYaraMatcher(slowRules);
    try {
      assert.equal(matcher.files, 1);
      const results = await Promise.all([
        matcher.match(toBytes('hay needle hay'), 5000),
        matcher.match(toBytes('nothing'), 5000),
        matcher.match(toBytes('needle'), 5000),
      ]);
      assert.deepEqual(results, [['Text'], [], ['Text']]);
    } finally {
      await matcher.close();
    }
  });

  test('transfers the buffer of the content it is given', async () => {
    const matcher = await startYaraMatcher(slowRules);
    try {
      const whole = toBytes('a needle.');
      const content = whole.subarray(2, 8);
      assert.deepEqual(await matcher.match(content, 5000), ['Text']);
      assert.equal(whole.buffer.byteLength, 0);
    } finally {
      await matcher.close();
    }
  });

  test('a match that overruns its timeout is stopped, and the next call gets a fresh worker', async () => {
    const matcher = await startYaraMatcher(slowRules);
    try {
      const started = performance.now();
      await assert.rejects(
        matcher.match(toBytes(`S${'x'.repeat(20_000)}`), 300),
        (e) => isVouchError(e, 'unavailable') && e.message === 'YARA matching timed out after 300 ms',
      );
      const stopped = performance.now() - started;
      assert.ok(stopped >= 290 && stopped < 2000, `stopped after ${stopped} ms`);
      assert.deepEqual(await matcher.match(toBytes('a needle'), 5000), ['Text']);
    } finally {
      await matcher.close();
    }
  });

  test('refuses rules that do not compile, naming the file', async () => {
    await assert.rejects(
      startYaraMatcher(files({ 'ok.yar': 'rule A { condition: true }', 'bad.yar': 'rule B { condition: }' })),
      (e) =>
        isVouchError(e, 'malformed') && e.details.field === 'bad.yar' && /does not compile/.test(e.message),
    );
  });

  test('refuses a timeout that is not a positive integer, and use after close', async () => {
    const matcher = await startYaraMatcher(slowRules);
    await assert.rejects(matcher.match(toBytes(''), 0), (e) => isVouchError(e, 'invalid-argument'));
    await matcher.close();
    await assert.rejects(matcher.match(toBytes(''), 1000), (e) => isVouchError(e, 'invariant'));
  });
});
