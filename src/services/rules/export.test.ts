import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir } from '../../../test/support/log-fixture.ts';
import { toBytes, toText } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { formatHashDb, parseHashDb } from '../../core/rules/hashdb.ts';
import { parseHashLine } from '../../core/rules/source.ts';
import { compileRules, writeDatabase, type YaraCompileReport } from './compile.ts';
import { exportClamav, exportYara, formatClamavExport, formatYaraExport } from './export.ts';

const hex = (text: string) => createHash('sha256').update(text).digest('hex');

describe('formatClamavExport', () => {
  const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const rows: {
    name: string;
    lines: string[];
    allow: string[];
    hsb: string;
    sfp?: string;
    omitted?: string[];
  }[] = [
    { name: 'empty', lines: [], allow: [], hsb: '' },
    {
      name: 'exact size is written as is',
      lines: [`${'a'.repeat(64)}:68:Test.A`],
      allow: [],
      hsb: `${'a'.repeat(64)}:68:Test.A\n`,
    },
    {
      name: 'wildcard size gets functionality level 73, after the exact size of the same hash',
      lines: [`${'b'.repeat(64)}:*:Test.B-any`, `${'b'.repeat(64)}:5:Test.B-5`],
      allow: [],
      hsb: `${'b'.repeat(64)}:5:Test.B-5\n${'b'.repeat(64)}:*:Test.B-any:73\n`,
    },
    {
      name: 'size 0 and the empty file are omitted: ClamAV never matches an empty file',
      lines: [`${'f'.repeat(64)}:0:Test.Zero`, `${empty}:*:Test.Empty`, `${'f'.repeat(64)}:1:Test.F`],
      allow: [],
      hsb: `${'f'.repeat(64)}:1:Test.F\n`,
      omitted: ['Test.Empty', 'Test.Zero'],
    },
    {
      name: 'the allow-list goes to vouch.sfp, sorted',
      lines: [`${'c'.repeat(64)}:1:Test.C`],
      allow: ['e'.repeat(64), 'd'.repeat(64)],
      hsb: `${'c'.repeat(64)}:1:Test.C\n`,
      sfp: `${'d'.repeat(64)}:*:Vouch.Allow.1:73\n${'e'.repeat(64)}:*:Vouch.Allow.2:73\n`,
    },
  ];
  for (const row of rows)
    test(row.name, () => {
      const records = row.lines.map((l, i) => parseHashLine(l, `line ${i}`));
      const allow = row.allow.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
      const { files, omitted } = formatClamavExport(parseHashDb(formatHashDb(records, allow)));
      assert.deepEqual([...omitted].sort(), row.omitted ?? []);
      assert.deepEqual([...files.keys()], row.sfp === undefined ? ['vouch.hsb'] : ['vouch.hsb', 'vouch.sfp']);
      assert.equal(toText(files.get('vouch.hsb') ?? new Uint8Array()), row.hsb);
      if (row.sfp !== undefined) assert.equal(toText(files.get('vouch.sfp') ?? new Uint8Array()), row.sfp);
      // Every exported line, without the level, is a source line again: the export round-trips.
      const back = row.hsb
        .split('\n')
        .filter((l) => l !== '')
        .map((l, i) => parseHashLine(l.replace(/:73$/, ''), `line ${i}`));
      assert.deepEqual(
        back.map((r) => `${Buffer.from(r.digest).toString('hex')}:${r.size}:${r.name}`).sort(),
        row.lines.filter((l) => !row.omitted?.some((name) => l.endsWith(`:${name}`))).sort(),
      );
    });
});

describe('exportClamav', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('vouch-export-');
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'rules.json'), '{"name":"acme","engine":{"min":1,"max":2}}');
    await writeFile(join(src, 'main.hsb'), `${hex('x')}:1:Test.X\n${hex('y')}:*:Test.Y\n`);
    await writeDatabase(join(dir, 'db'), await compileRules(src, { version: 1, created: 0 }));
  });
  after(() => removeDir(dir));

  test('writes vouch.hsb into a new folder and refuses to overwrite it', async () => {
    const out = join(dir, 'clamav', 'nested');
    assert.deepEqual(await exportClamav(join(dir, 'db'), out), { written: ['vouch.hsb'], omitted: [] });
    const text = await readFile(join(out, 'vouch.hsb'), 'utf8');
    assert.deepEqual(text.split('\n').sort(), ['', `${hex('x')}:1:Test.X`, `${hex('y')}:*:Test.Y:73`].sort());
    await assert.rejects(exportClamav(join(dir, 'db'), out), { code: 'conflict' });
  });

  test('a database that does not verify is refused', async () => {
    await assert.rejects(exportClamav(join(dir, 'src'), join(dir, 'other')));
  });
});

describe('formatYaraExport', () => {
  const rows: { name: string; yara: Record<string, string>; expected: string }[] = [
    { name: 'no files', yara: {}, expected: '' },
    {
      name: 'name order, a comment per file, a missing final line feed added',
      yara: { 'b.yar': 'rule B { condition: true }', 'a.yar': 'rule A { condition: false }\n' },
      expected: '// yara/a.yar\nrule A { condition: false }\n// yara/b.yar\nrule B { condition: true }\n',
    },
    { name: 'empty file', yara: { 'e.yar': '' }, expected: '// yara/e.yar\n' },
  ];
  for (const row of rows)
    test(row.name, () => {
      const yara = new Map(Object.entries(row.yara).map(([k, v]) => [k, toBytes(v)]));
      assert.equal(toText(formatYaraExport(yara)), row.expected);
    });
});

describe('compile and exportYara', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('vouch-export-yara-');
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'rules.json'), '{"name":"acme","engine":{"min":1,"max":2}}');
  });
  after(() => removeDir(dir));

  test('a YARA file that does not compile is refused, naming the file', async () => {
    const src = join(dir, 'src');
    await writeFile(join(src, 'broken.yar'), 'rule Broken { condition: $nope }\n');
    await assert.rejects(compileRules(src, { version: 1, created: 0 }), (e) => {
      assert.ok(isVouchError(e, 'malformed'));
      assert.match(e.message, /^YARA file broken\.yar does not compile: error\[E\d+\]: unknown pattern/);
      return true;
    });
    await rm(join(src, 'broken.yar'));
  });

  test('compiles, reports the engine and writes the rules for yara', async () => {
    const src = join(dir, 'src');
    await writeFile(join(src, 'one.yar'), 'rule One { strings: $a = "one" condition: $a }\n');
    const reports: YaraCompileReport[] = [];
    const files = await compileRules(src, { version: 1, created: 0, onYaraCompiled: (r) => reports.push(r) });
    assert.equal(reports.length, 1);
    assert.equal(reports[0]?.files, 1);
    assert.match(reports[0]?.engineVersion ?? '', /^\d+\.\d+\.\d+$/);
    await writeDatabase(join(dir, 'db'), files);
    assert.equal(await exportYara(join(dir, 'db'), join(dir, 'all.yar')), 1);
    assert.equal(
      await readFile(join(dir, 'all.yar'), 'utf8'),
      '// yara/one.yar\nrule One { strings: $a = "one" condition: $a }\n',
    );
    await assert.rejects(exportYara(join(dir, 'db'), join(dir, 'all.yar')), { code: 'conflict' });
  });
});
