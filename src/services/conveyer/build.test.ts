import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { openStatement, parseEnvelope } from '../../core/attest/index.ts';
import { parseProvenance } from '../../core/build/provenance.ts';
import { formatHex } from '../../core/bytes/index.ts';
import { createSigner, createVerifier, generateKey } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { buildOutputNames, runBuild } from './build.ts';
import { probeSandbox } from './sandbox.ts';

const example = resolve(import.meta.dirname, '../../../examples/hello');
const probe = await probeSandbox();
// On CI bubblewrap is installed by .ci/run, so a missing sandbox there is a failure, never a skip.
const skip =
  probe.isolation !== 'bwrap' && !process.env.CI
    ? `no bwrap isolation here (${probe.notes.join('; ')})`
    : false;
const signer = createSigner('ch-zrh', generateKey('ed25519'));
const builderId = 'https://vouch.example/builders/ch-zrh';
const epoch = 1_700_000_000;

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-build-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function gitCommit(dir: string): void {
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: dir,
    GIT_AUTHOR_NAME: 'a',
    GIT_AUTHOR_EMAIL: 'a@example.com',
    GIT_COMMITTER_NAME: 'a',
    GIT_COMMITTER_EMAIL: 'a@example.com',
    GIT_AUTHOR_DATE: `@${epoch} +0000`,
    GIT_COMMITTER_DATE: `@${epoch} +0000`,
  };
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['commit', '-q', '-m', 'hello'],
  ]) {
    execFileSync('git', ['-C', dir, ...args], { env });
  }
}

test('the example builds twice, in two folders, to identical digests', { skip }, async (t) => {
  const dir = scratch(t);
  const results = [];
  for (const name of ['one', 'two']) {
    const source = join(dir, name, 'src');
    cpSync(example, source, { recursive: true });
    gitCommit(source);
    results.push(
      await runBuild({
        recipePath: join(source, 'recipe.json'),
        sourceDir: source,
        outDir: join(dir, name, 'out'),
        signer,
        builderId,
        probe,
      }),
    );
  }
  const [a, b] = results;
  assert.ok(a !== undefined && b !== undefined);
  assert.equal(a.hermetic, true);
  assert.equal(a.sourceDateEpoch, epoch);
  assert.equal(a.commit, b.commit);
  assert.equal(a.treeHash, b.treeHash);
  assert.equal(a.archiveSha256, b.archiveSha256);
  assert.deepEqual(a.manifest, b.manifest);
  assert.deepEqual(a.statement.subject, b.statement.subject);
  assert.deepEqual(
    a.manifest.map((m) => `${m.mode} ${m.path}`),
    ['0755 bin/hello', '0644 share/hello.bin', '0644 share/hello.txt'],
  );
  assert.deepEqual(
    readFileSync(join(dir, 'one', 'out', a.archiveName)),
    readFileSync(join(dir, 'two', 'out', b.archiveName)),
  );
  // The signed provenance on disk opens with the builder key and describes the build.
  const envelope = parseEnvelope(
    new Uint8Array(readFileSync(join(dir, 'one', 'out', buildOutputNames.provenance))),
  );
  const opened = openStatement(envelope, [createVerifier('ed25519', signer.publicKey)], 1);
  const provenance = parseProvenance(opened.statement);
  assert.equal(provenance.builderId, builderId);
  assert.equal(provenance.hermetic, true);
  assert.equal(provenance.source.commit, a.commit);
  assert.equal(provenance.source.treeHash, a.treeHash);
  assert.deepEqual(
    provenance.resolvedDependencies.map((d) => d.name),
    ['banner.txt'],
  );
  assert.ok(provenance.byproducts.some((d) => d.name === 'logs/1-generate.stderr'));
  assert.deepEqual(JSON.parse(JSON.stringify(provenance.sandbox['stepLimits'])), [
    {
      step: 'generate',
      cpuSeconds: 60 * availableParallelism(),
      addressSpaceBytes: 16 * 1024 ** 3,
      fileSizeBytes: 4 * 1024 ** 3,
      enforcedBy: 'prlimit',
    },
  ]);
  // GNU tar agrees with the manifest.
  const listing = execFileSync('tar', ['-tzf', join(dir, 'one', 'out', a.archiveName)], { encoding: 'utf8' });
  assert.equal(listing, 'bin/\nbin/hello\nshare/\nshare/hello.bin\nshare/hello.txt\n');
  const text = execFileSync('tar', ['-xzOf', join(dir, 'one', 'out', a.archiveName), 'share/hello.txt'], {
    encoding: 'utf8',
  });
  assert.match(text, /^VOUCH HELLO v1\n[\s\S]*built from the source of 2023-11-14T22:13:20Z\n$/);
});

// An independent DSSE check: Debian's python3-securesystemslib (0.26 has no DSSE module, so the
// few lines of PAE are written here from the protocol text) verifies our builder signature.
const python = '/usr/bin/python3';
const interop = `
import json, base64, sys
from securesystemslib.signer import SSlibKey, Signature
env = json.load(open(sys.argv[1]))
key = SSlibKey(sys.argv[2], 'ed25519', 'ed25519', {'public': sys.argv[3]})
payload = base64.b64decode(env['payload'])
t = env['payloadType'].encode()
pae = b'DSSEv1 %d %s %d %s' % (len(t), t, len(payload), payload)
for s in env['signatures']:
    key.verify_signature(Signature(s['keyid'], base64.b64decode(s['sig']).hex()), pae)
st = json.loads(payload)
print(st['predicateType'], ' '.join(s['name'] for s in st['subject']))
`;
let noSecuresystemslib: string | false = 'python3-securesystemslib is not installed';
try {
  execFileSync(python, ['-c', 'import securesystemslib.signer'], { stdio: 'ignore' });
  noSecuresystemslib = false;
} catch {
  // Left as the skip reason.
}

test('securesystemslib verifies the provenance envelope', {
  skip: skip || (!process.env.CI && noSecuresystemslib),
}, async (t) => {
  const dir = scratch(t);
  const options = { recipePath: join(example, 'recipe.json'), sourceDir: example, signer, builderId, probe };
  await runBuild({ ...options, outDir: join(dir, 'out'), sourceDateEpoch: epoch });
  const envelopePath = join(dir, 'out', buildOutputNames.provenance);
  const args = ['-c', interop, envelopePath, signer.keyId, formatHex(signer.publicKey)];
  const printed = execFileSync(python, args, { encoding: 'utf8' });
  assert.equal(
    printed,
    'https://slsa.dev/provenance/v1 bin/hello share/hello.bin share/hello.txt hello-1.0.0.tar.gz\n',
  );
  // A flipped payload byte is refused by the independent verifier too.
  const envelope = JSON.parse(readFileSync(envelopePath, 'utf8'));
  envelope.payload = Buffer.concat([Buffer.from(envelope.payload, 'base64'), Buffer.from(' ')]).toString(
    'base64',
  );
  writeFileSync(envelopePath, JSON.stringify(envelope));
  assert.throws(() => execFileSync(python, args, { stdio: 'ignore' }));
});

test('a folder source needs --source-date-epoch', { skip }, async (t) => {
  const dir = scratch(t);
  const options = { recipePath: join(example, 'recipe.json'), sourceDir: example, signer, builderId, probe };
  await assert.rejects(runBuild({ ...options, outDir: join(dir, 'a') }), (e: unknown) =>
    isVouchError(e, 'invalid-argument'),
  );
  const built = await runBuild({ ...options, outDir: join(dir, 'b'), sourceDateEpoch: epoch });
  assert.equal(built.commit, undefined);
  assert.equal(built.sourceDateEpoch, epoch);
});

test('failures leave no output folder and no provenance', { skip }, async (t) => {
  const dir = scratch(t);
  const limitRecipe = (source: string, limits: object, script: string) => {
    const recipe = JSON.parse(readFileSync(join(source, 'recipe.json'), 'utf8'));
    recipe.steps[0].limits = limits;
    writeFileSync(join(source, 'recipe.json'), JSON.stringify(recipe));
    writeFileSync(join(source, 'build.sh'), script);
  };
  const rows: readonly { name: string; change: (source: string) => void; code: string; message?: RegExp }[] =
    [
      {
        name: 'a step writing past its file size limit',
        change: (source) =>
          limitRecipe(source, { fileSizeBytes: 65536 }, 'head -c 1000000 /dev/zero > "$VOUCH_OUT/big"\n'),
        code: 'policy-unmet',
        message: /generate exceeded its file size limit of 65536 bytes/,
      },
      {
        name: 'a step allocating past its address space limit',
        change: (source) =>
          limitRecipe(
            source,
            { addressSpaceBytes: 64 * 1024 * 1024 },
            'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo "$x" | wc -c\n',
          ),
        code: 'policy-unmet',
        message: /generate .*67108864 bytes of address space/,
      },
      {
        name: 'a failing step',
        change: (source) =>
          writeFileSync(join(source, 'build.sh'), 'echo partial > "$VOUCH_OUT/x"; exit 3\n'),
        code: 'policy-unmet',
      },
      {
        name: 'a hanging step',
        change: (source) => {
          const recipe = readFileSync(join(source, 'recipe.json'), 'utf8').replace(
            '"timeoutSeconds": 60',
            '"timeoutSeconds": 1',
          );
          writeFileSync(join(source, 'recipe.json'), recipe);
          writeFileSync(join(source, 'build.sh'), 'sleep 30\n');
        },
        code: 'policy-unmet',
      },
      {
        name: 'an input that does not match its pin',
        change: (source) =>
          writeFileSync(join(source, 'vendor', 'banner.txt'), 'VOUCH HELLO v2\n==============\n'),
        code: 'bad-digest',
      },
      {
        name: 'a declared output that was not produced',
        change: (source) => writeFileSync(join(source, 'build.sh'), 'mkdir "$VOUCH_OUT/bin"\n'),
        code: 'invalid-argument',
      },
    ];
  for (const [i, row] of rows.entries()) {
    await t.test(row.name, async () => {
      const source = join(dir, `src-${i}`);
      cpSync(example, source, { recursive: true });
      row.change(source);
      const outDir = join(dir, `out-${i}`);
      await assert.rejects(
        runBuild({
          recipePath: join(source, 'recipe.json'),
          sourceDir: source,
          outDir,
          signer,
          builderId,
          probe,
          sourceDateEpoch: epoch,
        }),
        (e: unknown) => isVouchError(e) && e.code === row.code && (row.message?.test(e.message) ?? true),
      );
      assert.equal(existsSync(outDir), false);
      assert.deepEqual(
        readdirSync(dir).filter((name) => name.startsWith(`out-${i}`)),
        [],
      );
    });
  }
});

test('without isolation the build still runs but is labelled hermetic: false', async (t) => {
  const dir = scratch(t);
  const none = { isolation: 'none' as const, hermetic: false, notes: ['testing the fallback'] };
  const lines: string[] = [];
  const built = await runBuild({
    recipePath: join(example, 'recipe.json'),
    sourceDir: example,
    outDir: join(dir, 'out'),
    signer,
    builderId,
    probe: none,
    sourceDateEpoch: epoch,
    onProgress: (line) => lines.push(line),
  });
  assert.equal(built.hermetic, false);
  assert.equal(parseProvenance(built.statement).hermetic, false);
  assert.equal(parseProvenance(built.statement).sandbox['isolation'], 'none');
  assert.ok(lines.some((line) => line.includes('hermetic: false')));
});

test('an existing output folder is refused', async (t) => {
  const dir = scratch(t);
  await assert.rejects(
    runBuild({
      recipePath: join(example, 'recipe.json'),
      sourceDir: example,
      outDir: dir,
      signer,
      builderId,
      probe,
      sourceDateEpoch: epoch,
    }),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
});
