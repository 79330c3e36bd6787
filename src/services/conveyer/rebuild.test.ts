import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

test('a remote input is pinned, recorded with its URL, and refetched or reused by the rebuild', {
  skip,
}, async (t) => {
  const dir = scratch(t);
  const source = join(dir, 'src');
  cpSync(join(examples, 'hello'), source, { recursive: true });
  const banner = readFileSync(join(source, 'vendor', 'banner.txt'));
  let served: Uint8Array = banner;
  let hits = 0;
  const server = createServer((_request, response) => {
    hits++;
    response.end(served);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/banner.txt`;
  rmSync(join(source, 'vendor'), { recursive: true });
  const recipe = JSON.parse(readFileSync(join(source, 'recipe.json'), 'utf8'));
  const { path: _local, ...pin } = recipe.inputs[0];
  recipe.inputs[0] = { ...pin, url };
  writeFileSync(join(source, 'recipe.json'), JSON.stringify(recipe));

  await runBuild({
    recipePath: join(source, 'recipe.json'),
    sourceDir: source,
    outDir: join(dir, 'build'),
    casDir: join(dir, 'cas'),
    signer: builder,
    builderId: 'https://vouch.example/builders/ch-zrh',
    sourceDateEpoch: 1_700_000_000,
    probe,
  });
  assert.equal(hits, 1);
  const provenancePath = join(dir, 'build', buildOutputNames.provenance);
  const rebuild = (name: string, casDir: string) =>
    runRebuild({
      provenancePath,
      builderKeys,
      sourceDir: source,
      outDir: join(dir, name),
      casDir,
      signer: rebuilder,
      rebuilderId,
      probe,
    });
  const fresh = await rebuild('rebuild-fresh', join(dir, 'cas-fresh'));
  assert.equal(fresh.result, 'match');
  assert.equal(hits, 2, 'a fresh store refetches from the recorded URL');
  assert.deepEqual(
    fresh.provenance.resolvedDependencies.map((d) => [d.name, d.uri, d.digest?.['sha256']]),
    [['banner.txt', url, pin.sha256]],
  );

  served = new TextEncoder().encode('a swapped banner, 30 bytes..\n\n');
  await assert.rejects(
    rebuild('rebuild-swapped', join(dir, 'cas-swapped')),
    (e: unknown) => isVouchError(e, 'bad-digest') && e.message.includes(pin.sha256),
  );
  assert.equal(existsSync(join(dir, 'rebuild-swapped')), false);
  const cached = await rebuild('rebuild-cached', join(dir, 'cas'));
  assert.equal(cached.result, 'match', 'the verified store copy is used while the server lies');
});
