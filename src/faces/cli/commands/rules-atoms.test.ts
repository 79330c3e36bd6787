import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { captureIo, makeTempDir, removeDir } from '../../../../test/support/log-fixture.ts';
import { reportError } from '../io.ts';
import { rulesCommand } from './rules.ts';

async function run(args: readonly string[]) {
  const captured = captureIo();
  const io = { ...captured.io, env: { SOURCE_DATE_EPOCH: '0' } };
  let code: number;
  try {
    code = await rulesCommand.run(args, io);
  } catch (error) {
    code = reportError(error, io);
  }
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe('vouch rules compile: YARA atoms', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('vouch-rules-atoms-');
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'rules.json'), '{"name":"acme","engine":{"min":1,"max":1}}');
    await writeFile(
      join(dir, 'src', 'main.yar'),
      'rule Good { strings: $g = "needle" condition: $g }\nrule Wild { strings: $a = { ?? ?? } condition: $a }\n',
    );
  });
  after(() => removeDir(dir));

  test('the usage documents --allow-slow-rules', () => {
    assert.match(rulesCommand.usage, /--allow-slow-rules accepts such patterns/);
  });

  test('refuses a pattern without a good atom, naming file, rule and pattern', async () => {
    const r = await run(['compile', join(dir, 'src'), '--out', join(dir, 'db'), '--version', '1']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /main\.yar line 2: rule Wild: pattern \$a: hex pattern has no 2 consecutive fixed bytes/,
    );
    await assert.rejects(readFile(join(dir, 'db', 'manifest.json')), { code: 'ENOENT' });
  });

  test('--allow-slow-rules compiles it and lists it on standard error', async () => {
    const r = await run([
      'compile',
      join(dir, 'src'),
      '--out',
      join(dir, 'db-slow'),
      '--version',
      '1',
      '--allow-slow-rules',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /main\.yar line 2: rule Wild: pattern \$a: .*\(accepted: --allow-slow-rules\)/);
    const manifest = JSON.parse(await readFile(join(dir, 'db-slow', 'manifest.json'), 'utf8')) as {
      engine?: { yaraX?: unknown };
    };
    assert.match(String(manifest.engine?.yaraX), /^\d+\.\d+\.\d+$/);
  });
});
