import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { captureIo, makeTempDir, removeDir } from '../../../../test/support/log-fixture.ts';
import { compileRules, writeDatabase } from '../../../services/rules/compile.ts';
import { reportError } from '../io.ts';
import { scanCommand } from './scan.ts';

const hex = (text: string) => createHash('sha256').update(text).digest('hex');

async function run(args: readonly string[]) {
  const captured = captureIo();
  let code: number;
  try {
    code = await scanCommand.run(args, captured.io);
  } catch (error) {
    code = reportError(error, captured.io);
  }
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe('vouch scan', () => {
  let dir = '';
  let db = '';
  let corpus = '';
  before(async () => {
    dir = await makeTempDir('vouch-scan-cli-');
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'rules.json'), '{"name":"acme","engine":{"min":1,"max":2}}');
    await writeFile(
      join(src, 'main.hsb'),
      `${hex('evil')}:4:Test.Evil\n${hex('bad')}:*:Test.Bad\n${hex('fine')}:4:Test.Fine\n`,
    );
    await writeFile(join(src, 'allow.sha256'), `${hex('fine')}\n`);
    db = join(dir, 'db');
    await writeDatabase(db, await compileRules(src, { version: 1, created: 0 }));
    corpus = join(dir, 'corpus');
    await mkdir(join(corpus, 'sub'), { recursive: true });
    await writeFile(join(corpus, 'a'), 'evil');
    await writeFile(join(corpus, 'sub', 'b'), 'bad');
    await writeFile(join(corpus, 'c'), 'fine');
    await writeFile(join(corpus, 'd'), 'clean');
  });
  after(() => removeDir(dir));

  const rows: {
    name: string;
    args: () => string[];
    code: number;
    detections: () => string[];
    stderr?: RegExp;
  }[] = [
    {
      name: 'detections exit 1',
      args: () => ['--db', db, corpus],
      code: 1,
      detections: () => [`${join(corpus, 'a')} Test.Evil`, `${join(corpus, 'sub', 'b')} Test.Bad`],
    },
    {
      name: 'clean exits 0',
      args: () => ['--db', db, join(corpus, 'd'), join(corpus, 'c')],
      code: 0,
      detections: () => [],
    },
    {
      name: 'an unreadable path only exits 2',
      args: () => ['--db', db, join(corpus, 'd'), join(corpus, 'missing')],
      code: 2,
      detections: () => [],
      stderr: /missing: lstat failed: ENOENT/,
    },
    {
      name: 'a file over --max-file-size is an error',
      args: () => ['--db', db, '--max-file-size', '3', join(corpus, 'a')],
      code: 2,
      detections: () => [],
      stderr: /exceeds the limit of 3 bytes/,
    },
    {
      name: 'no database exits 2',
      args: () => ['--db', join(dir, 'nope'), corpus],
      code: 2,
      detections: () => [],
    },
    { name: 'not a database exits 2', args: () => ['--db', corpus, corpus], code: 2, detections: () => [] },
    { name: 'no path exits 2', args: () => ['--db', db], code: 2, detections: () => [], stderr: /no PATH/ },
    {
      name: 'bad --jobs exits 2',
      args: () => ['--db', db, '--jobs', '0', corpus],
      code: 2,
      detections: () => [],
      stderr: /--jobs must be an integer from 1 to 64/,
    },
    {
      name: 'bad --yara-timeout-ms exits 2',
      args: () => ['--db', db, '--yara-timeout-ms', '1.5', corpus],
      code: 2,
      detections: () => [],
      stderr: /--yara-timeout-ms must be an integer from 1 to 2147483647/,
    },
    {
      name: 'unknown option exits 2',
      args: () => ['--db', db, '--follow', corpus],
      code: 2,
      detections: () => [],
    },
  ];
  for (const row of rows)
    test(row.name, async () => {
      const r = await run(row.args());
      assert.equal(r.code, row.code, r.stderr);
      if (row.stderr) assert.match(r.stderr, row.stderr);
      const lines = r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const detections = lines.filter((l) => 'signature' in l);
      assert.deepEqual(detections.map((d) => `${d.path} ${d.signature}`).sort(), row.detections());
      for (const d of detections)
        assert.deepEqual(Object.keys(d), ['path', 'kind', 'signature', 'sha256', 'size']);
      if (row.code !== 2 || row.stderr?.source.includes('ENOENT') || row.stderr?.source.includes('exceeds')) {
        const summary = lines.at(-1);
        assert.deepEqual(Object.keys(summary ?? {}), [
          'files',
          'bytes',
          'detections',
          'errors',
          'skipped',
          'seconds',
        ]);
        assert.equal(summary?.detections, row.detections().length);
      }
    });

  test('the detection line carries the file digest and size', async () => {
    const r = await run(['--db', db, join(corpus, 'a')]);
    const first = JSON.parse(r.stdout.split('\n')[0] ?? '') as unknown;
    assert.deepEqual(first, {
      path: join(corpus, 'a'),
      kind: 'hash',
      signature: 'Test.Evil',
      sha256: hex('evil'),
      size: 4,
    });
  });
});

describe('vouch scan with YARA rules', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('vouch-scan-cli-yara-');
    const src = join(dir, 'src');
    await mkdir(join(dir, 'corpus'), { recursive: true });
    await mkdir(src);
    await writeFile(join(src, 'rules.json'), '{"name":"acme","engine":{"min":1,"max":2}}');
    await writeFile(join(src, 'main.hsb'), `${hex('evil needle')}:*:Test.Evil\n`);
    await writeFile(join(src, 'n.yar'), 'rule Needle { strings: $a = "needle" condition: $a }\n');
    await writeDatabase(join(dir, 'db'), await compileRules(src, { version: 1, created: 0 }));
    await writeFile(join(dir, 'corpus', 'a'), 'evil needle');
    await writeFile(join(dir, 'corpus', 'b'), 'a needle and more');
    // Slow loops 4*10^8 times on a file that starts with "S" and has no 0xFF byte.
    const slowSrc = join(dir, 'slow-src');
    await mkdir(slowSrc);
    await writeFile(join(slowSrc, 'rules.json'), '{"name":"acme","engine":{"min":1,"max":2}}');
    await writeFile(
      join(slowSrc, 'n.yar'),
      [
        'rule Needle { strings: $a = "needle" condition: $a }',
        'rule Slow { condition: uint8(0) == 0x53 and for any i in (0..400000000) : (uint8(i % filesize) == 0xFF) }',
      ].join('\n'),
    );
    await writeDatabase(join(dir, 'slow-db'), await compileRules(slowSrc, { version: 1, created: 0 }));
    await writeFile(join(dir, 'corpus', 'S'), `S${'x'.repeat(20_000)}`);
  });
  after(() => removeDir(dir));

  const rows: { name: string; args: () => string[]; found: () => string[]; stderr?: RegExp }[] = [
    {
      name: 'hash and rule detections, each with its kind',
      args: () => ['--db', join(dir, 'db'), join(dir, 'corpus')],
      found: () => [
        `${join(dir, 'corpus', 'a')} hash Test.Evil`,
        `${join(dir, 'corpus', 'a')} yara Needle`,
        `${join(dir, 'corpus', 'b')} yara Needle`,
      ],
    },
    {
      name: 'a file whose matching overruns --yara-timeout-ms is an error; the scan goes on',
      args: () => ['--db', join(dir, 'slow-db'), '--yara-timeout-ms', '300', join(dir, 'corpus')],
      found: () => [`${join(dir, 'corpus', 'a')} yara Needle`, `${join(dir, 'corpus', 'b')} yara Needle`],
      stderr: /corpus\/S: YARA matching timed out after 300 ms\n/,
    },
    {
      name: 'files over --max-yara-size are hash-checked only and reported as skipped',
      args: () => ['--db', join(dir, 'db'), '--max-yara-size', '12', join(dir, 'corpus')],
      // a (11 bytes) is still matched; b (17 bytes) is not.
      found: () => [`${join(dir, 'corpus', 'a')} hash Test.Evil`, `${join(dir, 'corpus', 'a')} yara Needle`],
      stderr: /corpus\/b: skipped: YARA rules not run: over 12 bytes/,
    },
  ];
  for (const row of rows)
    test(row.name, async () => {
      const r = await run(row.args());
      assert.equal(r.code, 1, r.stderr);
      if (row.stderr) assert.match(r.stderr, row.stderr);
      const found = r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => 'signature' in l)
        .map((d) => `${d.path} ${d.kind} ${d.signature}`)
        .sort();
      assert.deepEqual(found, row.found());
    });
});
