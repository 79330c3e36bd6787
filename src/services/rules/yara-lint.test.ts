import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toBytes } from '../../core/bytes/index.ts';
import { compileYara } from './yara.ts';
import { describeSlowPattern, findSlowPatterns, type SlowPattern } from './yara-lint.ts';

/** lint compiles `files` with YARA-X (they must compile) and returns the slow patterns. */
function lint(files: Record<string, string>): readonly SlowPattern[] {
  const map = new Map(Object.entries(files).map(([n, t]) => [n, toBytes(t)] as [string, Uint8Array]));
  const rules = compileYara(map);
  try {
    return findSlowPatterns(map, rules.warnings);
  } finally {
    rules.close();
  }
}

function one(pattern: string, condition = '$a'): readonly SlowPattern[] {
  return lint({ 'a.yar': `rule R { strings: $a = ${pattern} condition: ${condition} }\n` });
}

describe('findSlowPatterns', () => {
  const good = [
    '"ab"',
    '"needle"',
    '"secret-token" nocase ascii wide',
    '"abcd" xor(1-255)',
    '"abcdef" base64("!@#$%^&*(){}[].,|ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu")',
    '"é"',
    '"\\x4d\\x5a"',
    '{ 4D 5A }',
    '{ 4D5A9000 }',
    '{ ?? ?? 4D 5A ?? }',
    '{ 00 00 00 00 4D }',
    '{ 4D 5A ?? ?? [0-8] 50 45 00 00 }',
    '{ ( 4D 5A | 50 4B ) ?? 00 }',
    '{ 4D /* comment */ 5A }',
    '/ab/',
    '/https:\\/\\/evil\\.example\\/[a-z]{4,8}\\.php/',
    '/(foo|bar)[0-9]+/',
    '/(?:foo|bar)baz?/',
    '/x+abc/',
    '/\\bword\\b/i',
    '/(abc)+x/',
  ];
  for (const pattern of good)
    test(`accepts ${pattern}`, () => {
      assert.deepEqual(one(pattern), []);
    });

  const bad = [
    { pattern: '{ ?? ?? }', reason: /hex pattern has no 2 consecutive fixed bytes/ },
    { pattern: '{ ?? ?? ?? ?? ?? ?? ?? ?? }', reason: /hex pattern/ },
    { pattern: '{ 4D ?? }', reason: /hex pattern/ },
    { pattern: '{ 4D ?? 5A }', reason: /hex pattern/ },
    { pattern: '{ 4D [1-100] 5A }', reason: /hex pattern/ },
    { pattern: '{ ~4D ~5A }', reason: /hex pattern/ },
    { pattern: '{ ( 4D | 5A ) ?? }', reason: /hex pattern/ },
    { pattern: '{ ( 4D 5A | 50 ) ?? }', reason: /hex pattern/ },
    { pattern: '{ 00 00 00 00 }', reason: /hex pattern/ },
    { pattern: '"a"', reason: /text pattern is 1 byte long; at least 2 are needed/ },
    { pattern: '"a" wide', reason: /text pattern is 1 byte long/ },
    { pattern: '"\\x00\\x00\\x00"', reason: /filler bytes/ },
    { pattern: '"  "', reason: /filler bytes/ },
    { pattern: '/./', reason: /regular expression has no 2 consecutive literal bytes/ },
    { pattern: '/.{4}/s', reason: /regular expression/ },
    { pattern: '/[\\x00-\\xff]{4}/', reason: /regular expression/ },
    { pattern: '/\\d+/', reason: /regular expression/ },
    { pattern: '/ab?/', reason: /regular expression/ },
    { pattern: '/(abc)?x/', reason: /regular expression/ },
    { pattern: '/(abc|d)x/', reason: /regular expression/ },
    { pattern: '/a[bc]d/', reason: /regular expression/ },
  ];
  for (const row of bad)
    test(`refuses ${row.pattern}`, () => {
      const found = one(row.pattern);
      assert.equal(found.length, 1, JSON.stringify(found));
      const [p] = found;
      assert.equal(p?.file, 'a.yar');
      assert.equal(p?.rule, 'R');
      assert.equal(p?.pattern, '$a');
      assert.equal(p?.line, 1);
      assert.match(p?.reason ?? '', row.reason);
    });

  test('names the file, line, rule and pattern of each slow pattern, among good ones', () => {
    const found = lint({
      'b.yar': [
        'import "math"',
        '// rule Fake { strings: $x = "q" condition: $x }',
        'private rule Helper { condition: filesize < 100 }',
        'rule Good : tag1 tag2 {',
        '  meta:',
        '    description = "strings: $z = \\"q\\" condition: }"',
        '    condition_note = 3',
        '  strings:',
        '    $good = "needle" /* } */',
        '    $ = "x"',
        '  condition:',
        '    Helper and $good and math.entropy(0, filesize) \\ 2 >= 0 and #good > 0 and any of them',
        '}',
        'rule Matches {',
        '  strings: $s = { 4D 5A 90 00 }',
        '  condition: $s and "x}" matches /[}]"/',
        '}',
        'rule Wild { strings: $w = { ?? ?? } condition: $w }',
      ].join('\n'),
      'a.yar': 'rule First {\n  strings:\n    $one = "1"\n  condition:\n    $one\n}\n',
    });
    assert.deepEqual(
      found.map((p) => [p.file, p.line, p.rule, p.pattern]),
      [
        ['a.yar', 3, 'First', '$one'],
        ['b.yar', 10, 'Good', '$'],
        ['b.yar', 18, 'Wild', '$w'],
      ],
    );
    assert.equal(
      describeSlowPattern(found[0] as SlowPattern),
      'a.yar line 3: rule First: pattern $one: text pattern is 1 byte long; at least 2 are needed',
    );
  });

  test('reports a YARA-X slow_pattern warning this module does not find itself', () => {
    const files = new Map([['c.yar', toBytes('rule C { strings: $a = "abc" condition: $a }\n')]]);
    const found = findSlowPatterns(files, [
      {
        file: 'c.yar',
        message: 'warning[slow_pattern]: slow pattern\n --> line:1:19\n  |\n1 | ...',
      },
      { file: 'c.yar', message: 'warning[text_as_hex]: hex pattern could be written as text literal' },
    ]);
    assert.deepEqual(found, [
      {
        file: 'c.yar',
        line: 1,
        rule: 'C',
        pattern: '$a',
        reason: 'YARA-X reports a slow pattern (an atom shorter than 2 bytes, or too common)',
      },
    ]);
  });

  test('a file it cannot follow is reported, not skipped', () => {
    const files = new Map([['d.yar', toBytes('rule D {\n  strings:\n    $a = "abc\n')]]);
    assert.deepEqual(findSlowPatterns(files, []), [
      {
        file: 'd.yar',
        line: 3,
        rule: '',
        pattern: '',
        reason: 'cannot be checked for atoms: unterminated string literal',
      },
    ]);
  });

  test('a pattern nested too deep is reported, not walked', () => {
    const deep = `${'('.repeat(70)}ab${')'.repeat(70)}`;
    const files = new Map([['e.yar', toBytes(`rule E { strings: $a = /${deep}/ condition: $a }\n`)]]);
    assert.deepEqual(
      findSlowPatterns(files, []).map((p) => [p.rule, p.pattern, p.reason]),
      [['E', '$a', 'cannot be checked for atoms: groups nest deeper than 64']],
    );
  });

  test('rules without strings, and slow loops, are not its business', () => {
    assert.deepEqual(
      lint({
        'a.yar':
          'rule T { condition: filesize < 16 }\nrule S { condition: uint8(0) == 0x53 and for any i in (0..400000000) : (uint8(i % filesize) == 0xFF) }\n',
      }),
      [],
    );
  });
});
