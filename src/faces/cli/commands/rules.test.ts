import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { captureIo, makeTempDir, removeDir } from '../../../../test/support/log-fixture.ts';
import { reportError } from '../io.ts';
import { rulesCommand } from './rules.ts';

const h = (c: string) => c.repeat(64);

async function run(args: readonly string[], env: Record<string, string> = {}) {
  const captured = captureIo();
  const io = { ...captured.io, env };
  let code: number;
  try {
    code = await rulesCommand.run(args, io);
  } catch (error) {
    code = reportError(error, io);
  }
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

async function writeSource(dir: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

async function readTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(path.slice(dir.length), (await readFile(path)).toString('hex'));
  }
  return new Map([...out].sort());
}

const metadata = '{"name":"acme","engine":{"min":1,"max":2}}';
const v1 = {
  'rules.json': metadata,
  'main.hsb': `# test\n${h('a')}:68:Test.A-1\n${h('b')}:*:Test.B-1\n`,
  'allow.sha256': `${h('c')}\n`,
  'x.yar': 'rule x { condition: true }\n',
};
const v2 = {
  'rules.json': metadata,
  'main.hsb': `${h('b')}:*:Test.B-1\n${h('d')}:10:Test.D-1\n`,
  'y.yar': 'rule y { condition: false }\n',
  'x.yar': 'rule x { condition: false }\n',
};

describe('vouch rules', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('vouch-rules-');
    await writeSource(join(dir, 'src1'), v1);
    await writeSource(join(dir, 'src2'), v2);
  });
  after(() => removeDir(dir));

  test('compile is reproducible', async () => {
    const a = await run(['compile', join(dir, 'src1'), '--out', join(dir, 'db1'), '--version', '1'], {
      SOURCE_DATE_EPOCH: '1700000000',
    });
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /2 hash signatures, 1 allowed hashes, 1 YARA files/);
    const b = await run([
      'compile',
      join(dir, 'src1'),
      '--out',
      join(dir, 'db1b'),
      '--version',
      '1',
      '--created',
      '1700000000',
    ]);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(await readTree(join(dir, 'db1b')), await readTree(join(dir, 'db1')));
    assert.deepEqual(
      [...(await readTree(join(dir, 'db1'))).keys()],
      ['/hashes.vhdb', '/manifest.json', '/yara/x.yar'],
    );
  });

  test('compile refuses to overwrite', async () => {
    const r = await run([
      'compile',
      join(dir, 'src1'),
      '--out',
      join(dir, 'db1'),
      '--version',
      '1',
      '--created',
      '1',
    ]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /already exists/);
  });

  test('diff and apply reproduce the new database byte for byte', async () => {
    const c = await run([
      'compile',
      join(dir, 'src2'),
      '--out',
      join(dir, 'db2'),
      '--version',
      '2',
      '--created',
      '1700086400',
    ]);
    assert.equal(c.code, 0, c.stderr);
    const d = await run(['diff', join(dir, 'db1'), join(dir, 'db2'), '--out', join(dir, 'd12.json')]);
    assert.equal(d.code, 0, d.stderr);
    const a = await run(['apply', join(dir, 'db1'), join(dir, 'd12.json'), '--out', join(dir, 'db2b')]);
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(await readTree(join(dir, 'db2b')), await readTree(join(dir, 'db2')));
    const wrong = await run(['apply', join(dir, 'db2'), join(dir, 'd12.json'), '--out', join(dir, 'db3')]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /delta applies to base manifest sha256 [0-9a-f]{64}/);
  });

  test('a corrupted database is refused, naming the member', async () => {
    await mkdir(join(dir, 'bad'));
    for (const name of ['manifest.json', 'hashes.vhdb'])
      await writeFile(join(dir, 'bad', name), await readFile(join(dir, 'db1', name)));
    const r = await run(['diff', join(dir, 'bad'), join(dir, 'db2'), '--out', join(dir, 'bad.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /yara\/x.yar is missing/);
    const table = await readFile(join(dir, 'bad', 'hashes.vhdb'));
    table[70] = (table[70] ?? 0) ^ 1;
    await mkdir(join(dir, 'bad', 'yara'));
    await writeFile(join(dir, 'bad', 'yara', 'x.yar'), await readFile(join(dir, 'db1', 'yara', 'x.yar')));
    await writeFile(join(dir, 'bad', 'hashes.vhdb'), table);
    const r2 = await run(['diff', join(dir, 'bad'), join(dir, 'db2'), '--out', join(dir, 'bad.json')]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /hashes.vhdb does not match the manifest: expected size \d+ sha256 [0-9a-f]{64}/);
  });

  const bad: { name: string; files: Record<string, string>; error: RegExp }[] = [
    {
      name: 'bad hash line',
      files: { 'rules.json': metadata, 'a.hsb': 'zz:1:X\n' },
      error: /\(a.hsb line 1\)/,
    },
    {
      name: 'duplicate name across files',
      files: { 'rules.json': metadata, 'a.hsb': `${h('a')}:1:X\n`, 'b.hsb': `${h('b')}:1:X\n` },
      error: /duplicate: signature name is already used at a.hsb line 1 \(b.hsb line 1\)/,
    },
    { name: 'unknown file', files: { 'rules.json': metadata, 'notes.txt': '' }, error: /unexpected file/ },
    { name: 'no metadata', files: { 'a.hsb': '' }, error: /no rules.json/ },
  ];
  for (const row of bad) {
    test(`compile refuses ${row.name}`, async () => {
      const src = await writeSource(join(dir, `src-${row.name.replaceAll(' ', '-')}`), row.files);
      const r = await run([
        'compile',
        src,
        '--out',
        join(dir, `out-${row.name.replaceAll(' ', '-')}`),
        '--version',
        '1',
        '--created',
        '0',
      ]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, row.error);
    });
  }

  test('compile needs a creation time', async () => {
    const r = await run(['compile', join(dir, 'src1'), '--out', join(dir, 'dbx'), '--version', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /SOURCE_DATE_EPOCH/);
  });
});
