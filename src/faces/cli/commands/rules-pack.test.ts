/**
 * `vouch rules pack`: the bundle of a database folder is deterministic (two databases compiled
 * from the same source in two folders pack to the same bytes), unpacks back to the database's
 * files, and an existing output is never replaced.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { captureIo, makeTempDir, removeDir } from '../../../../test/support/log-fixture.ts';
import { unpackDatabaseBundle } from '../../../core/rules/bundle.ts';
import { readDatabase } from '../../../services/rules/compile.ts';
import { reportError } from '../io.ts';
import { rulesCommand } from './rules.ts';

async function run(args: readonly string[]) {
  const captured = captureIo();
  const io = { ...captured.io, env: { SOURCE_DATE_EPOCH: '1700000000' } };
  let code: number;
  try {
    code = await rulesCommand.run(args, io);
  } catch (error) {
    code = reportError(error, io);
  }
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

let dir = '';
before(async () => {
  dir = await makeTempDir('vouch-rules-pack-');
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src', 'rules.json'), '{"name":"acme","engine":{"min":1,"max":2}}');
  await writeFile(
    join(dir, 'src', 'main.hsb'),
    `${'a'.repeat(64)}:68:Test.A-1\n${'b'.repeat(64)}:*:Test.B-1\n`,
  );
  await writeFile(
    join(dir, 'src', 'main.yar'),
    'rule demo { strings: $a = "vouch-demo-marker" condition: $a }\n',
  );
  for (const out of ['db1', 'db2'])
    assert.equal(
      (await run(['compile', join(dir, 'src'), '--out', join(dir, out), '--version', '3'])).code,
      0,
    );
});
after(() => removeDir(dir));

test('rules pack is deterministic and round-trips through unpack', async () => {
  const first = await run(['pack', join(dir, 'db1'), '--out', join(dir, 'a.vdb')]);
  assert.equal(first.code, 0, first.stderr);
  const second = await run(['pack', join(dir, 'db2'), '--out', join(dir, 'b.vdb')]);
  assert.equal(second.code, 0, second.stderr);
  const a = new Uint8Array(await readFile(join(dir, 'a.vdb')));
  const b = new Uint8Array(await readFile(join(dir, 'b.vdb')));
  assert.deepEqual(a, b);
  const digest = createHash('sha256').update(a).digest('hex');
  assert.match(first.stdout, new RegExp(`rule database acme version 3, ${a.length} bytes, sha256 ${digest}`));
  const unpacked = unpackDatabaseBundle(a);
  const { files } = await readDatabase(join(dir, 'db1'));
  assert.deepEqual([...unpacked.keys()].sort(), [...files.keys()].sort());
  for (const [name, bytes] of files) assert.deepEqual(unpacked.get(name), bytes, name);
});

test('rules pack refuses to replace an existing file and checks its arguments', async () => {
  const again = await run(['pack', join(dir, 'db1'), '--out', join(dir, 'a.vdb')]);
  assert.equal(again.code === 0, false);
  assert.match(again.stderr, /already exists; refusing to overwrite/);
  const missing = await run(['pack', join(dir, 'db1')]);
  assert.equal(missing.code === 0, false);
  assert.match(missing.stderr, /--out/);
  const notDb = await run(['pack', join(dir, 'src'), '--out', join(dir, 'c.vdb')]);
  assert.equal(notDb.code === 0, false);
});
