import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { openStatement, parseEnvelope } from '../../core/attest/index.ts';
import { parseRebuildAttestation } from '../../core/build/attestation.ts';
import { createSigner, createVerifier, generateKey } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { buildOutputNames, runBuild } from './build.ts';
import { rebuildAttestationName, runRebuild } from './rebuild.ts';
import { probeSandbox } from './sandbox.ts';

const examples = resolve(import.meta.dirname, '../../../examples');
const probe = await probeSandbox();
// On CI bubblewrap is installed by .ci/run, so a missing sandbox there is a failure, never a skip.
const skip =
  probe.isolation !== 'bwrap' && !process.env.CI
    ? `no bwrap isolation here (${probe.notes.join('; ')})`
    : false;
const builderMaterial = generateKey('ed25519');
const builder = createSigner('ch-zrh', builderMaterial);
const builderKeys = [createVerifier('ed25519', builderMaterial.publicKey)];
const rebuilderMaterial = generateKey('ed25519');
const rebuilder = createSigner('de-ber', rebuilderMaterial);
const rebuilderId = 'https://vouch.example/rebuilders/de-ber';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-rebuild-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** build copies an example into `dir/src` and builds it into `dir/build`; it returns both. */
async function build(dir: string, example: string) {
  const source = join(dir, 'src');
  cpSync(join(examples, example), source, { recursive: true });
  const out = join(dir, 'build');
  await runBuild({
    recipePath: join(source, 'recipe.json'),
    sourceDir: source,
    outDir: out,
    signer: builder,
    builderId: 'https://vouch.example/builders/ch-zrh',
    sourceDateEpoch: 1_700_000_000,
    probe,
  });
  return { source, provenancePath: join(out, buildOutputNames.provenance) };
}

function readAttestation(path: string) {
  const envelope = parseEnvelope(new Uint8Array(readFileSync(path)));
  const opened = openStatement(envelope, [createVerifier('ed25519', rebuilderMaterial.publicKey)], 1);
  return parseRebuildAttestation(opened.statement);
}

test('rebuilding the example from its provenance matches and signs a match', { skip }, async (t) => {
  const dir = scratch(t);
  const { source, provenancePath } = await build(dir, 'hello');
  const out = join(dir, 'rebuild');
  const result = await runRebuild({
    provenancePath,
    builderKeys,
    sourceDir: source,
    outDir: out,
    signer: rebuilder,
    rebuilderId,
    probe,
  });
  assert.equal(result.result, 'match');
  assert.deepEqual(result.differences, []);
  assert.equal(result.attestationPath, join(out, rebuildAttestationName));
  const attestation = readAttestation(result.attestationPath);
  assert.equal(attestation.result, 'match');
  assert.equal(attestation.rebuilderId, rebuilderId);
  assert.equal(attestation.provenanceSha256, result.provenanceSha256);
});

test('without an output folder the rebuild goes to a new temporary folder', { skip }, async (t) => {
  const dir = scratch(t);
  const { source, provenancePath } = await build(dir, 'hello');
  const result = await runRebuild({
    provenancePath,
    builderKeys,
    sourceDir: source,
    signer: rebuilder,
    rebuilderId,
    probe,
  });
  t.after(() => rmSync(resolve(result.outDir, '..'), { recursive: true, force: true }));
  assert.equal(result.result, 'match');
  assert.ok(result.outDir.startsWith(tmpdir()));
  assert.ok(existsSync(result.attestationPath));
});

test('the sabotaged example builds differently twice and the rebuild names the file', { skip }, async (t) => {
  const dir = scratch(t);
  const { source, provenancePath } = await build(dir, 'sabotaged');
  const second = join(dir, 'second');
  await runBuild({
    recipePath: join(source, 'recipe.json'),
    sourceDir: source,
    outDir: second,
    signer: builder,
    builderId: 'https://vouch.example/builders/ch-zrh',
    sourceDateEpoch: 1_700_000_000,
    probe,
  });
  const stamp = (root: string) => readFileSync(join(root, 'manifest.json'), 'utf8');
  assert.notEqual(stamp(join(dir, 'build')), stamp(second), 'two builds of the sabotaged recipe agree');

  const result = await runRebuild({
    provenancePath,
    builderKeys,
    sourceDir: source,
    outDir: join(dir, 'rebuild'),
    signer: rebuilder,
    rebuilderId,
    probe,
  });
  assert.equal(result.result, 'mismatch');
  assert.deepEqual(
    result.differences.map((d) => d.name),
    ['sabotaged-1.0.0.tar.gz', 'share/stamp.txt'],
  );
  for (const d of result.differences) assert.ok(d.expected !== undefined && d.actual !== undefined);
  const attestation = readAttestation(result.attestationPath);
  assert.equal(attestation.result, 'mismatch');
  assert.deepEqual(attestation.differences, result.differences);
});

test('the rebuild refuses what it cannot tie to the provenance, and writes nothing', { skip }, async (t) => {
  const dir = scratch(t);
  const { source, provenancePath } = await build(dir, 'hello');
  const other = createVerifier('ed25519', generateKey('ed25519').publicKey);
  const changedSource = join(dir, 'changed');
  cpSync(source, changedSource, { recursive: true });
  writeFileSync(join(changedSource, 'message.txt'), 'not the reviewed source\n');
  const rows: readonly [string, Partial<Parameters<typeof runRebuild>[0]>, (e: unknown) => boolean][] = [
    ['untrusted builder key', { builderKeys: [other] }, (e) => isVouchError(e, 'policy-unmet')],
    ['no builder key', { builderKeys: [] }, (e) => isVouchError(e)],
    ['changed source', { sourceDir: changedSource }, (e) => isVouchError(e, 'bad-digest')],
    ['not provenance', { provenancePath: join(source, 'recipe.json') }, (e) => isVouchError(e, 'malformed')],
  ];
  for (const [name, change, check] of rows) {
    await t.test(name, async () => {
      const out = join(dir, `out-${name.replaceAll(' ', '-')}`);
      await assert.rejects(
        runRebuild({
          provenancePath,
          builderKeys,
          sourceDir: source,
          outDir: out,
          signer: rebuilder,
          rebuilderId,
          probe,
          ...change,
        }),
        check,
      );
      assert.equal(existsSync(out), false);
    });
  }
});
