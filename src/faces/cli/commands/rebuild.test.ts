import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { keyCommand } from './key.ts';
import { rebuildCommand } from './rebuild.ts';

const examples = resolve(import.meta.dirname, '../../../../examples');
const probe = await probeSandbox();
// On CI bubblewrap is installed by .ci/run, so a missing sandbox there is a failure, never a skip.
const skip =
  probe.isolation !== 'bwrap' && !process.env.CI
    ? `no bwrap isolation here (${probe.notes.join('; ')})`
    : false;
const work = mkdtempSync(join(tmpdir(), 'vouch-rebuild-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const builderKey = join(work, 'builder.key');
const rebuilderKey = join(work, 'rebuilder.key');
await writeKeyFile(builderKey, await sealKeyFile(generateKey('ed25519'), 'ch-zrh', undefined));
await writeKeyFile(rebuilderKey, await sealKeyFile(generateKey('ed25519'), 'de-ber', undefined));

const vouch = runCommand;

const builderVkey = (await vouch(keyCommand, ['show', builderKey])).stdout.trim();
const rebuilderVkey = (await vouch(keyCommand, ['show', rebuilderKey])).stdout.trim();

/** built copies an example and builds it with `vouch build`; it returns the source and provenance. */
async function built(example: string, name: string) {
  const source = join(work, `${name}-src`);
  cpSync(join(examples, example), source, { recursive: true });
  const out = join(work, `${name}-build`);
  const args = [join(source, 'recipe.json'), '--source', source, '--out', out, '--key', builderKey];
  const result = await vouch(buildCommand, [...args, '--source-date-epoch', '1700000000']);
  assert.equal(result.code, exitCodes.ok, result.stderr);
  return { source, provenance: join(out, 'provenance.dsse.json') };
}

test('vouch rebuild of the example matches and exits 0', { skip }, async () => {
  const { source, provenance } = await built('hello', 'hello');
  const out = join(work, 'hello-rebuild');
  const args = ['--provenance', provenance, '--builder-vkey', builderVkey, '--key', rebuilderKey];
  const result = await vouch(rebuildCommand, [...args, '--source', source, '--out', out]);
  assert.equal(result.code, exitCodes.ok, result.stderr);
  assert.equal(result.stdout, `match\nattestation ${join(out, 'rebuild.dsse.json')}\nhermetic true\n`);
  assert.match(result.stderr, /provenance verified/);
});

test('vouch rebuild of the sabotaged example exits 1 and names the file', { skip }, async () => {
  const { source, provenance } = await built('sabotaged', 'sabotaged');
  const out = join(work, 'sabotaged-rebuild');
  const args = ['--provenance', provenance, '--builder-vkey', builderVkey, '--key', rebuilderKey];
  const result = await vouch(rebuildCommand, [...args, '--source', source, '--out', out]);
  assert.equal(result.code, exitCodes.verificationFailed, result.stderr);
  assert.match(result.stdout, /^mismatch\n/);
  assert.match(result.stdout, /\ndiffers share\/stamp\.txt expected [0-9a-f]{64} actual [0-9a-f]{64}\n/);
  assert.doesNotMatch(result.stdout, /stable\.txt/);
  assert.ok(existsSync(join(out, 'rebuild.dsse.json')));
});

test('vouch rebuild fails closed on a wrong builder key and on usage errors', { skip }, async (t) => {
  const { source, provenance } = await built('hello', 'closed');
  const base = ['--provenance', provenance, '--key', rebuilderKey, '--source', source];
  const rows: readonly [string, string[], number][] = [
    ['wrong builder key', [...base, '--builder-vkey', rebuilderVkey], exitCodes.verificationFailed],
    ['no builder key', base, exitCodes.usage],
    ['garbage builder key', [...base, '--builder-vkey', 'not-a-key'], exitCodes.key],
    ['no provenance', base.slice(2).concat('--builder-vkey', builderVkey), exitCodes.usage],
  ];
  for (const [name, args, code] of rows) {
    await t.test(name, async () => {
      const out = join(work, `closed-${name.replaceAll(' ', '-')}`);
      const result = await vouch(rebuildCommand, [...args, '--out', out]);
      assert.equal(result.code, code, result.stderr);
      assert.equal(existsSync(out), false);
    });
  }
});

test('vouch rebuild --log appends the attestation to the release log with a checked tlog-proof', {
  skip,
}, async () => {
  const log = await startMemoryLog();
  try {
    const { source, provenance } = await built('hello', 'hello-logged');
    const out = join(work, 'hello-logged-rebuild');
    const args = ['--provenance', provenance, '--builder-vkey', builderVkey, '--key', rebuilderKey];
    const result = await vouch(rebuildCommand, [
      ...args,
      '--source',
      source,
      '--out',
      out,
      '--log',
      log.url,
      '--log-vkey',
      log.vkey,
    ]);
    assert.equal(result.code, exitCodes.ok, result.stderr);
    assert.match(result.stdout, /^match\n[\s\S]*\nlogged index 0 in \d+ ms\n$/);
    const attestation = new Uint8Array(readFileSync(join(out, 'rebuild.dsse.json')));
    const proof = parseTlogProof(new Uint8Array(readFileSync(join(out, 'rebuild.dsse.json.tlog-proof'))));
    checkTlogProof(
      proof,
      leafHash(attestation),
      log.origin,
      verifierSet([createCheckpointVerifier(log.vkey)]),
    );
  } finally {
    await log.close();
  }
});
