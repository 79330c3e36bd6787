import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir } from '../../../test/support/log-fixture.ts';
import { toBytes, toText } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { buildDatabase } from '../../core/rules/database.ts';
import { parseManifest } from '../../core/rules/manifest.ts';
import {
  compileRules,
  readDatabase,
  readDatabaseForScan,
  writeDatabase,
  type YaraCompileReport,
} from './compile.ts';
import { yaraEngineVersion } from './yara.ts';

const metadata = '{"name":"acme","engine":{"min":1,"max":2}}';

describe('compileRules: YARA atoms and the engine version', () => {
  let dir = '';
  let count = 0;
  before(async () => {
    dir = await makeTempDir('vouch-compile-');
  });
  after(() => removeDir(dir));

  /** source writes a new source folder with `rules.json` and the given `.yar` files. */
  async function source(yara: Record<string, string>): Promise<string> {
    const src = join(dir, `src-${count++}`);
    await mkdir(src);
    await writeFile(join(src, 'rules.json'), metadata);
    for (const [name, text] of Object.entries(yara)) await writeFile(join(src, name), text);
    return src;
  }

  const refused = [
    {
      name: 'a pattern of wildcards only',
      text: 'rule Good { strings: $g = "needle" condition: $g }\nrule Wild {\n  strings:\n    $a = { ?? ?? }\n  condition:\n    $a\n}\n',
      line: 4,
      rule: 'Wild',
      reason: /hex pattern has no 2 consecutive fixed bytes/,
    },
    {
      name: 'a 1-byte string',
      text: 'rule One { strings: $a = "x" condition: $a }\n',
      line: 1,
      rule: 'One',
      reason: /text pattern is 1 byte long; at least 2 are needed/,
    },
  ];
  for (const row of refused)
    test(`refuses ${row.name}, naming the file, rule, pattern and reason`, async () => {
      const src = await source({ 'main.yar': row.text });
      await assert.rejects(compileRules(src, { version: 1, created: 0 }), (e) => {
        assert.ok(isVouchError(e, 'malformed'), String(e));
        assert.ok(e.message.includes(`main.yar line ${row.line}: rule ${row.rule}: pattern $a: `), e.message);
        assert.match(e.message, row.reason);
        assert.match(e.message, /--allow-slow-rules/);
        assert.equal(e.details.field, 'main.yar');
        assert.deepEqual(e.details.fields, [`main.yar line ${row.line}`]);
        return true;
      });
    });

  test('lists at most 10 slow patterns in the message, all of them in the details', async () => {
    const rules = Array.from(
      { length: 12 },
      (_, i) => `rule R${i} { strings: $a = "${i % 10}" condition: $a }`,
    );
    const src = await source({ 'many.yar': `${rules.join('\n')}\n` });
    await assert.rejects(compileRules(src, { version: 1, created: 0 }), (e) => {
      assert.ok(isVouchError(e, 'malformed'));
      assert.match(e.message, /many\.yar line 10: rule R9: .*; and 2 more$/);
      assert.equal(e.details.fields?.length, 12);
      return true;
    });
  });

  test('--allow-slow-rules accepts them and reports them', async () => {
    const src = await source({ 'main.yar': 'rule Wild { strings: $a = { ?? ?? } condition: $a }\n' });
    const reports: YaraCompileReport[] = [];
    const files = await compileRules(src, {
      version: 1,
      created: 0,
      allowSlowRules: true,
      onYaraCompiled: (r) => reports.push(r),
    });
    assert.ok(files.has('yara/main.yar'));
    assert.deepEqual(
      reports[0]?.slowPatterns.map((p) => [p.file, p.line, p.rule, p.pattern]),
      [['main.yar', 1, 'Wild', '$a']],
    );
  });

  test('rules with good atoms compile; the manifest records the YARA-X version, reproducibly', async () => {
    const src = await source({
      'a.yar': 'rule MZ { strings: $mz = { 4D 5A 90 00 } $t = "This program" condition: $mz and $t }\n',
      'b.yar': 'rule Url { strings: $u = /https:\\/\\/[a-z]+\\.example\\// condition: $u }\n',
    });
    const reports: YaraCompileReport[] = [];
    const first = await compileRules(src, { version: 3, created: 7, onYaraCompiled: (r) => reports.push(r) });
    const second = await compileRules(src, { version: 3, created: 7 });
    assert.deepEqual(reports[0]?.slowPatterns, []);
    assert.deepEqual([...first.keys()], [...second.keys()]);
    for (const [name, bytes] of first) assert.deepEqual(second.get(name), bytes, name);
    const manifest = parseManifest(first.get('manifest.json') ?? new Uint8Array());
    assert.deepEqual(manifest.engine, { min: 1, max: 2, yaraX: yaraEngineVersion() });
    assert.match(
      toText(first.get('manifest.json') ?? new Uint8Array()),
      /"engine":\{"max":2,"min":1,"yaraX":"\d+\.\d+\.\d+"\}/,
    );
  });

  test('a source without YARA files records no YARA-X version', async () => {
    const src = await source({});
    const manifest = parseManifest(
      (await compileRules(src, { version: 1, created: 0 })).get('manifest.json') ?? new Uint8Array(),
    );
    assert.deepEqual(manifest.engine, { min: 1, max: 2 });
  });
});

describe('readDatabaseForScan', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('vouch-scan-db-');
  });
  after(() => removeDir(dir));

  const [major, minor, patch] = yaraEngineVersion().split('.').map(Number) as [number, number, number];
  const rows = [
    { name: 'the running version', yaraX: yaraEngineVersion(), ok: true },
    { name: 'an older minor version', yaraX: `${major}.${Math.max(0, minor - 1)}.0`, ok: true },
    { name: 'a newer version', yaraX: `${major}.${minor}.${patch + 1}`, ok: false },
    { name: 'another major version', yaraX: `${major + 1}.0.0`, ok: false },
    { name: 'no recorded version', yaraX: undefined, ok: false },
  ];
  for (const [i, row] of rows.entries())
    test(`${row.ok ? 'opens' : 'refuses'} a database validated with ${row.name}`, async () => {
      const out = join(dir, `db-${i}`);
      await writeDatabase(
        out,
        buildDatabase({
          name: 'acme',
          version: 1,
          created: 0,
          engine: row.yaraX === undefined ? { min: 1, max: 1 } : { min: 1, max: 1, yaraX: row.yaraX },
          hashes: [],
          allow: [],
          yara: new Map([['a.yar', toBytes('rule A { strings: $a = "abc" condition: $a }\n')]]),
        }),
      );
      // Every other reader still opens it: only a scanner needs to run the rules.
      await readDatabase(out);
      if (row.ok) await readDatabaseForScan(out);
      else
        await assert.rejects(readDatabaseForScan(out), (e) => {
          assert.ok(isVouchError(e, 'policy-unmet'), String(e));
          if (row.yaraX !== undefined)
            assert.ok(e.message.includes(`validated with YARA-X ${row.yaraX}`), e.message);
          assert.ok(e.message.includes('database acme version 1'), e.message);
          return true;
        });
    });
});
