import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatBase64, formatHex, toBytes } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import { parseNote } from '../note/index.ts';
import { type Checkpoint, formatCheckpoint, parseCheckpoint } from './checkpoint.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));
const sofa = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const root = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';

test('vectors: the C2SP example checkpoint parses, and formats back to the same text', () => {
  const checkpoint = parseCheckpoint(sofa);
  assert.equal(checkpoint.origin, 'example.com/behind-the-sofa');
  assert.equal(checkpoint.size, 20852163n);
  assert.equal(checkpoint.root.length, 32);
  assert.deepEqual(checkpoint.extensions, []);
  assert.ok(Object.isFrozen(checkpoint) && Object.isFrozen(checkpoint.extensions));
  assert.equal(formatCheckpoint(checkpoint), sofa);
});

test('vectors: the tessera empty-tree checkpoint has size 0 and root SHA-256("")', () => {
  const text = parseNote(toBytes(vectors.signedNote.tesseraTestLog.emptyTreeCheckpoint)).text;
  const checkpoint = parseCheckpoint(text);
  assert.equal(checkpoint.origin, 'example.com/log/testdata');
  assert.equal(checkpoint.size, 0n);
  assert.equal(formatHex(checkpoint.root), formatHex(sha256(new Uint8Array())));
  assert.equal(formatCheckpoint(checkpoint), text);
});

test('checkpoints keep extension lines and the largest size', () => {
  const text = `o\n18446744073709551615\n${root}\next one\n— not a signature\n`;
  const checkpoint = parseCheckpoint(text);
  assert.equal(checkpoint.size, 2n ** 64n - 1n);
  assert.deepEqual(checkpoint.extensions, ['ext one', '— not a signature']);
  assert.equal(formatCheckpoint(checkpoint), text);
});

test('parseCheckpoint refuses malformed checkpoints with a named error', () => {
  const rows: { name: string; text: string; code: string; field?: string }[] = [
    { name: 'empty', text: '', code: 'malformed' },
    { name: 'two lines', text: 'o\n1\n', code: 'malformed' },
    { name: 'no final newline', text: `o\n1\n${root}`, code: 'malformed' },
    { name: 'empty origin', text: `\n1\n${root}\n`, code: 'malformed', field: 'line 1' },
    { name: 'leading zero', text: `o\n01\n${root}\n`, code: 'malformed', field: 'line 2' },
    { name: 'plus sign', text: `o\n+1\n${root}\n`, code: 'malformed', field: 'line 2' },
    { name: 'negative', text: `o\n-1\n${root}\n`, code: 'malformed', field: 'line 2' },
    { name: 'leading space', text: `o\n 1\n${root}\n`, code: 'malformed', field: 'line 2' },
    { name: 'hex size', text: `o\n0x1\n${root}\n`, code: 'malformed', field: 'line 2' },
    { name: 'size 2^64', text: `o\n18446744073709551616\n${root}\n`, code: 'malformed', field: 'line 2' },
    { name: 'empty size', text: `o\n\n${root}\n`, code: 'malformed', field: 'line 2' },
    {
      name: 'root of 31 bytes',
      text: `o\n1\n${formatBase64(new Uint8Array(31))}\n`,
      code: 'malformed',
      field: 'line 3',
    },
    {
      name: 'root of 33 bytes',
      text: `o\n1\n${formatBase64(new Uint8Array(33))}\n`,
      code: 'malformed',
      field: 'line 3',
    },
    {
      name: 'root without padding',
      text: `o\n1\n${root.slice(0, -1)}\n`,
      code: 'malformed',
      field: 'line 3',
    },
    {
      name: 'root in base64url',
      text: `o\n1\n${root.replace('/', '_')}\n`,
      code: 'malformed',
      field: 'line 3',
    },
    {
      name: 'root with stray bits',
      text: `o\n1\n${root.slice(0, -2)}3=\n`,
      code: 'malformed',
      field: 'line 3',
    },
    { name: 'hex root', text: `o\n1\n${'00'.repeat(32)}\n`, code: 'malformed', field: 'line 3' },
    { name: 'empty extension line', text: `o\n1\n${root}\n\n`, code: 'malformed', field: 'line 4' },
    { name: 'carriage return', text: `o\r\n1\n${root}\n`, code: 'malformed', field: 'line 1' },
    { name: 'tab in extension', text: `o\n1\n${root}\na\tb\n`, code: 'malformed', field: 'line 4' },
    { name: '65 extension lines', text: `o\n1\n${root}\n${'x\n'.repeat(65)}`, code: 'too-large' },
    { name: 'over the length limit', text: `${'o'.repeat(70_000)}\n1\n${root}\n`, code: 'too-large' },
  ];
  for (const row of rows) {
    assert.throws(
      () => parseCheckpoint(row.text),
      (e) =>
        isVouchError(e, row.code as 'malformed') &&
        (row.field === undefined || e.details.field === row.field),
      row.name,
    );
  }
});

test('formatCheckpoint refuses values parseCheckpoint would refuse', () => {
  const good = parseCheckpoint(sofa);
  const rows: { name: string; value: Checkpoint }[] = [
    { name: 'empty origin', value: { ...good, origin: '' } },
    { name: 'origin with newline', value: { ...good, origin: 'a\nb' } },
    { name: 'negative size', value: { ...good, size: -1n } },
    { name: 'size 2^64', value: { ...good, size: 2n ** 64n } },
    { name: 'short root', value: { ...good, root: new Uint8Array(31) } },
    { name: 'empty extension', value: { ...good, extensions: [''] } },
    { name: 'extension with newline', value: { ...good, extensions: ['a\n'] } },
    { name: 'too many extensions', value: { ...good, extensions: Array(65).fill('x') } },
  ];
  for (const row of rows) {
    assert.throws(
      () => formatCheckpoint(row.value),
      (e) => isVouchError(e, 'invalid-argument'),
      row.name,
    );
  }
});

test('property: formatCheckpoint and parseCheckpoint round-trip', () => {
  const line = fc
    .string({ minLength: 1, maxLength: 20, unit: 'grapheme' })
    .filter((s) => [...s].every((c) => c.charCodeAt(0) >= 0x20));
  const checkpoint = fc.record({
    origin: line,
    size: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    root: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    extensions: fc.array(line, { maxLength: 3 }),
  });
  fc.assert(
    fc.property(checkpoint, (value) => {
      const text = formatCheckpoint(value);
      const parsed = parseCheckpoint(text);
      assert.deepEqual({ ...parsed, extensions: [...parsed.extensions] }, { ...value });
      assert.equal(formatCheckpoint(parsed), text);
    }),
    { seed: 3, numRuns: 500 },
  );
});

test('fuzz: parseCheckpoint returns a value or a VouchError, and accepted texts are canonical', () => {
  const edits = fc.array(
    fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('insert', 'delete', 'replace'),
      char: fc.constantFrom('\n', '0', '1', '=', '+', 'A', ' ', '-', '\r', 'é'),
    }),
    { minLength: 1, maxLength: 4 },
  );
  const inputs = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.tuple(fc.constantFrom(sofa, `o\n0\n${root}\next\n`), edits).map(([base, list]) => {
      let s: string = base;
      for (const { at, kind, char } of list) {
        const i = at % Math.max(1, s.length);
        s =
          kind === 'insert'
            ? s.slice(0, i) + char + s.slice(i)
            : s.slice(0, i) + (kind === 'replace' ? char : '') + s.slice(i + 1);
      }
      return s;
    }),
  );
  fc.assert(
    fc.property(inputs, (input) => {
      try {
        assert.equal(formatCheckpoint(parseCheckpoint(input)), input);
      } catch (error) {
        if (!(error instanceof VouchError)) throw error;
      }
    }),
    { seed: 0x5eed, numRuns: 3000 },
  );
});
