import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toBytes } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import {
  compileYara,
  defaultYaraWorkers,
  maxYaraWorkers,
  startYaraMatcher,
  yaraEngineVersion,
} from './yara.ts';

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

describe('startYaraMatcher with a pool of workers', () => {
  const slow = () => toBytes(`S${'x'.repeat(20_000)}`);

  test('matches on every worker as one worker does', async () => {
    const matcher = await startYaraMatcher(slowRules, { workers: 3 });
    try {
      assert.equal(matcher.workers, 3);
      assert.equal(matcher.files, 1);
      const inputs = ['hay needle hay', 'nothing', 'needle', 'x', 'a needle', 'none'];
      const results = await Promise.all(inputs.map((text) => matcher.match(toBytes(text), 5000)));
      assert.deepEqual(results, [['Text'], [], ['Text'], [], ['Text'], []]);
    } finally {
      await matcher.close();
    }
  });

  test('a runaway match holds up only its own worker, which is replaced', async () => {
    const matcher = await startYaraMatcher(slowRules, { workers: 2 });
    try {
      const settled: string[] = [];
      const runaway = matcher.match(slow(), 1000).then(
        () => settled.push('slow matched'),
        (e: unknown) => settled.push(isVouchError(e, 'unavailable') ? e.message : String(e)),
      );
      // The second worker answers while the first is still stuck: one worker would answer only
      // after the timeout had stopped the runaway match.
      const quick = matcher.match(toBytes('a needle'), 5000).then((names) => settled.push(names.join()));
      await Promise.all([runaway, quick]);
      assert.deepEqual(settled, ['Text', 'YARA matching timed out after 1000 ms']);
      const again = await Promise.all([1, 2, 3, 4].map(() => matcher.match(toBytes('needle'), 5000)));
      assert.deepEqual(again, [['Text'], ['Text'], ['Text'], ['Text']]);
    } finally {
      await matcher.close();
    }
  });

  test('close waits for the calls already made', async () => {
    const matcher = await startYaraMatcher(slowRules, { workers: 2 });
    const calls = ['needle', 'no', 'needle'].map((text) => matcher.match(toBytes(text), 5000));
    await matcher.close();
    assert.deepEqual(await Promise.all(calls), [['Text'], [], ['Text']]);
  });

  test('refuses a pool size outside 1 to maxYaraWorkers, and a pool of rules that do not compile', async () => {
    for (const workers of [0, -1, 1.5, maxYaraWorkers + 1, Number.NaN])
      await assert.rejects(startYaraMatcher(slowRules, { workers }), (e) =>
        isVouchError(e, 'invalid-argument'),
      );
    await assert.rejects(
      startYaraMatcher(files({ 'bad.yar': 'rule B { condition: }' }), { workers: 2 }),
      (e) => isVouchError(e, 'malformed') && e.details.field === 'bad.yar',
    );
  });

  test('the default pool size is the available parallelism, from 1 to 8', () => {
    const workers = defaultYaraWorkers();
    assert.ok(Number.isInteger(workers) && workers >= 1 && workers <= 8, String(workers));
  });
});
