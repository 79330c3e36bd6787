import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../errors.ts';
import { maxYamlBytes, parseYaml } from './yaml.ts';

test('parseYaml reads block mappings, sequences, scalars and comments', () => {
  const doc = [
    '# a comment line',
    'listen: 127.0.0.1:8080   # trailing comment',
    'metrics: true',
    'off_switch: false',
    'count: -42',
    'nothing: ~',
    'also_nothing: null',
    'log:',
    '  dir: ./log',
    '  database_url: "postgres://u:p@h/db?x=1#frag"',
    "single: 'it''s # not a comment'",
    'escaped: "tab\\there \\u00e9 \\"q\\""',
    'list:',
    '- a',
    "- 'b'",
    '- k: v',
    '  k2: 3',
    '-',
    '  - x',
    '  - y',
    'nested_list:',
    '  - 1',
    'empty:',
    '"quoted key": url#notcomment',
    '',
  ].join('\n');
  assert.deepEqual(JSON.parse(JSON.stringify(parseYaml(doc))), {
    listen: '127.0.0.1:8080',
    metrics: true,
    off_switch: false,
    count: -42,
    nothing: null,
    also_nothing: null,
    log: { dir: './log', database_url: 'postgres://u:p@h/db?x=1#frag' },
    single: "it's # not a comment",
    escaped: 'tab\there é "q"',
    list: ['a', 'b', { k: 'v', k2: 3 }, ['x', 'y']],
    nested_list: [1],
    empty: null,
    'quoted key': 'url#notcomment',
  });
});

test('parseYaml returns frozen, prototype-less mappings', () => {
  const value = parseYaml('__proto__: 1\nconstructor: x\n') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), null);
  assert.deepEqual(Object.entries(value), [
    ['__proto__', 1],
    ['constructor', 'x'],
  ]);
  assert.ok(Object.isFrozen(value));
  assert.equal(parseYaml('# only a comment\n\n'), null);
  assert.equal(parseYaml(new TextEncoder().encode('\ufeffa: 1\r\n')) !== null, true);
});

const bad: readonly { name: string; doc: string; line: number; column: number; message: RegExp }[] = [
  { name: 'anchor', doc: 'a: &x 1', line: 1, column: 4, message: /anchors/ },
  { name: 'alias', doc: 'a: 1\nb: *x', line: 2, column: 4, message: /aliases/ },
  { name: 'tag', doc: 'a: !!str 1', line: 1, column: 4, message: /tags/ },
  { name: 'flow sequence', doc: 'a:\n  b: [1, 2]', line: 2, column: 6, message: /flow sequences/ },
  { name: 'flow mapping', doc: 'a: {b: 1}', line: 1, column: 4, message: /(flow mappings|nested mapping)/ },
  { name: 'flow mapping value', doc: 'a: {}', line: 1, column: 4, message: /flow mappings/ },
  { name: 'document start', doc: 'a: 1\n---\nb: 2', line: 2, column: 1, message: /document markers/ },
  { name: 'document end', doc: 'a: 1\n...', line: 2, column: 1, message: /document markers/ },
  { name: 'directive', doc: '%YAML 1.2\na: 1', line: 1, column: 1, message: /directives/ },
  { name: 'tab', doc: 'a:\n\tb: 1', line: 2, column: 1, message: /tab/ },
  { name: 'tab after a value', doc: 'a: 1\t', line: 1, column: 5, message: /tab/ },
  { name: 'duplicate key', doc: 'a: 1\nb: 2\na: 3', line: 3, column: 1, message: /duplicate key "a"/ },
  { name: 'nested duplicate', doc: 'x:\n  a: 1\n  a: 2', line: 3, column: 3, message: /duplicate key/ },
  { name: 'block scalar', doc: 'a: |\n  text', line: 1, column: 4, message: /block scalars/ },
  { name: 'multi-line plain', doc: 'a: one\n  two', line: 2, column: 3, message: /multi-line/ },
  { name: 'bad indentation', doc: 'a:\n  b: 1\n c: 2', line: 3, column: 2, message: /indentation/ },
  { name: 'yes is ambiguous', doc: 'a: yes', line: 1, column: 4, message: /ambiguous/ },
  { name: 'float is ambiguous', doc: 'a: 1.5', line: 1, column: 4, message: /ambiguous/ },
  { name: 'octal is ambiguous', doc: 'a: 0755', line: 1, column: 4, message: /ambiguous/ },
  { name: 'hex is ambiguous', doc: 'a: 0x1F', line: 1, column: 4, message: /ambiguous/ },
  { name: 'huge integer', doc: 'a: 123456789012345678901', line: 1, column: 4, message: /safe range/ },
  { name: 'value on a key line', doc: 'a: b: c', line: 1, column: 4, message: /nested mapping/ },
  { name: 'unterminated double', doc: 'a: "abc', line: 1, column: 4, message: /unterminated/ },
  { name: 'unterminated single', doc: "a: 'abc", line: 1, column: 4, message: /unterminated/ },
  { name: 'bad escape', doc: 'a: "x\\q"', line: 1, column: 6, message: /escape/ },
  { name: 'text after quotes', doc: "a: 'x' y", line: 1, column: 7, message: /after a quoted/ },
  { name: 'key in a sequence', doc: 'a:\n  - 1\n  b: 2', line: 3, column: 3, message: /sequence item/ },
  { name: 'item in a mapping', doc: 'a: 1\n- b', line: 2, column: 1, message: /sequence item where/ },
  { name: 'indented start', doc: '  a: 1', line: 1, column: 3, message: /start at column 1/ },
  { name: 'odd key', doc: 'a b$: 1', line: 1, column: 1, message: /a key must be/ },
  { name: 'control character', doc: 'a: x\u0001', line: 1, column: 5, message: /control/ },
  { name: 'complex key', doc: '? a\n: b', line: 1, column: 1, message: /complex|key: value|expected/ },
];

for (const row of bad) {
  test(`parseYaml refuses: ${row.name}, naming line and column`, () => {
    assert.throws(
      () => parseYaml(row.doc, { name: 'test.yaml' }),
      (error: unknown) => {
        assert.ok(isVouchError(error, 'malformed'), String(error));
        assert.match(error.message, row.message);
        assert.equal(error.message.startsWith(`test.yaml:${row.line}:${row.column}: `), true, error.message);
        assert.equal(error.details['line'], row.line);
        assert.equal(error.details['column'], row.column);
        return true;
      },
    );
  });
}

test('parseYaml bounds the document size, depth and malformed UTF-8', () => {
  assert.throws(
    () => parseYaml('a: 1\n'.repeat(maxYamlBytes / 4)),
    (e: unknown) => isVouchError(e, 'too-large'),
  );
  const deep = Array.from({ length: 40 }, (_, i) => `${' '.repeat(i * 2)}k${i}:`).join('\n');
  assert.throws(() => parseYaml(deep), /nesting deeper/);
  assert.throws(
    () => parseYaml(new Uint8Array([0x61, 0x3a, 0x20, 0xff])),
    (e: unknown) => isVouchError(e),
  );
});

test('parseYaml on random input returns a value or throws its own error, never another', () => {
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const alphabet = [
    'a',
    'b',
    ':',
    ' ',
    '-',
    '\n',
    '"',
    "'",
    '#',
    '1',
    '  ',
    '\\',
    '[',
    '&',
    '~',
    'true',
    '\t',
  ];
  for (let round = 0; round < 2000; round++) {
    const length = next() % 40;
    let doc = '';
    for (let i = 0; i < length; i++) doc += alphabet[next() % alphabet.length];
    try {
      parseYaml(doc);
    } catch (error) {
      assert.ok(isVouchError(error), `${JSON.stringify(doc)}: ${String(error)}`);
    }
  }
});
