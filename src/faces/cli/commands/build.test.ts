import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { runCommand } from '../../../../test/support/cli.ts';
import { startMemoryLog } from '../../../../test/support/memory-log.ts';
import { generateKey } from '../../../core/crypto/index.ts';
import { sealKeyFile } from '../../../core/crypto/keyfile.ts';
import { leafHash } from '../../../core/merkle/index.ts';
import { verifierSet } from '../../../core/note/index.ts';
import { createCheckpointVerifier } from '../../../core/tlog/cosignature.ts';
import { checkTlogProof, parseTlogProof } from '../../../core/tlog/proof.ts';
import { probeSandbox } from '../../../services/conveyer/sandbox.ts';
import { writeKeyFile } from '../../../storage/fs/key-file.ts';
import { exitCodes } from '../io.ts';
import { buildCommand } from './build.ts';

const example = resolve(import.meta.dirname, '../../../../examples/hello');
const probe = await probeSandbox();
// On CI bubblewrap is installed by .ci/run, so a missing sandbox there is a failure, never a skip.
const skip =
  probe.isolation !== 'bwrap' && !process.env.CI
    ? `no bwrap isolation here (${probe.notes.join('; ')})`
    : false;
const work = mkdtempSync(join(tmpdir(), 'vouch-build-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const keyPath = join(work, 'builder.key');
await writeKeyFile(keyPath, await sealKeyFile(generateKey('ed25519'), 'ch-zrh', undefined));

const vouch = (args: string[]) => runCommand(buildCommand, args);

test('vouch build builds the example and prints its digests', { skip }, async () => {
  const out = join(work, 'out');
  const args = [join(example, 'recipe.json'), '--source', example, '--out', out, '--key', keyPath];
  const result = await vouch([...args, '--source-date-epoch', '1700000000']);
  assert.equal(result.code, exitCodes.ok, result.stderr);
  assert.match(result.stdout, /^archive hello-1\.0\.0\.tar\.gz sha256:[0-9a-f]{64}\n/);
  assert.match(result.stdout, /\nfile 0755 bin\/hello sha256:[0-9a-f]{64}\n/);
  assert.match(result.stdout, /\nhermetic true\n$/);
  assert.match(
    result.stderr,
    /vouch build: step 1\/1 generate: started \(timeout 60 s\)\nvouch build: step 1\/1 generate: ok \(\d+ ms\)\n/,
  );
  assert.match(result.stderr, /vouch build: built hello-1\.0\.0\.tar\.gz \(hermetic: true\) in \d+ ms\n$/);
  assert.deepEqual(readdirSync(out).sort(), [
    'hello-1.0.0.tar.gz',
    'logs',
    'manifest.json',
    'provenance.dsse.json',
  ]);
});

test('usage errors exit 2', async (t) => {
  const rows: readonly [string, string[]][] = [
    ['no recipe', ['--source', example, '--out', join(work, 'x'), '--key', keyPath]],
    ['no key', [join(example, 'recipe.json'), '--source', example, '--out', join(work, 'x')]],
    [
      'bad epoch',
      [
        join(example, 'recipe.json'),
        '--source',
        example,
        '--out',
        join(work, 'x'),
        '--key',
        keyPath,
        '--source-date-epoch',
        '-1',
      ],
    ],
  ];
  for (const [name, args] of rows) {
    await t.test(name, async () => assert.equal((await vouch(args)).code, exitCodes.usage));
  }
});

test('the builder key is not visible inside the sandbox', { skip }, async () => {
  const source = join(work, 'thief');
  cpSync(example, source, { recursive: true });
  writeFileSync(
    join(source, 'build.sh'),
    `mkdir -p "$VOUCH_OUT/bin"; cat '${keyPath}' > "$VOUCH_OUT/bin/stolen"\n`,
  );
  const out = join(work, 'thief-out');
  const args = [join(source, 'recipe.json'), '--source', source, '--out', out, '--key', keyPath];
  const result = await vouch([...args, '--source-date-epoch', '1700000000']);
  assert.equal(result.code, exitCodes.verificationFailed, result.stderr);
  assert.equal(existsSync(out), false);
});

test('vouch build --log appends the provenance to a release log and writes its checked tlog-proof', {
  skip,
}, async () => {
  const log = await startMemoryLog();
  try {
    const out = join(work, 'out-logged');
    const args = [join(example, 'recipe.json'), '--source', example, '--out', out, '--key', keyPath];
    const result = await vouch([
      ...args,
      '--source-date-epoch',
      '1700000000',
      '--log',
      log.url,
      '--log-vkey',
      log.vkey,
    ]);
    assert.equal(result.code, exitCodes.ok, result.stderr);
    assert.match(result.stdout, /\nlogged index 0 in \d+ ms\n$/);
    const provenance = new Uint8Array(readFileSync(join(out, 'provenance.dsse.json')));
    const proof = parseTlogProof(new Uint8Array(readFileSync(join(out, 'provenance.dsse.json.tlog-proof'))));
    const checked = checkTlogProof(
      proof,
      leafHash(provenance),
      log.origin,
      verifierSet([createCheckpointVerifier(log.vkey)]),
    );
    assert.equal(checked.checkpoint.size, 1n);
    // --log without the key to check it is refused before anything is built.
    const refused = await vouch([
      ...args.slice(0, -4),
      '--out',
      join(work, 'never'),
      '--key',
      keyPath,
      '--log',
      log.url,
    ]);
    assert.equal(refused.code, exitCodes.usage);
    assert.equal(existsSync(join(work, 'never')), false);
  } finally {
    await log.close();
  }
});
