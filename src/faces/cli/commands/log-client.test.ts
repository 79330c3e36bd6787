import assert from 'node:assert/strict';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  captureIo,
  entryOf,
  keyFor,
  makeTempDir,
  makeTestLog,
  removeDir,
  type TestLog,
} from '../../../../test/support/log-fixture.ts';
import { serveStaticFolder } from '../../../../test/support/static-log.ts';
import { parseBase64, toBytes } from '../../../core/bytes/index.ts';
import { leafHash } from '../../../core/merkle/index.ts';
import {
  addSignatures,
  formatNote,
  formatVerifierKey,
  type NoteSigner,
  parseNote,
  verifierSet,
} from '../../../core/note/index.ts';
import { createCosigner } from '../../../core/tlog/cosignature.ts';
import { checkTlogProof, parseTlogProof } from '../../../core/tlog/proof.ts';
import { FsBlobStore } from '../../../storage/fs/blob.ts';
import { runCli } from '../main.ts';
import {
  logCheckProof,
  logCheckProofUsage,
  logProof,
  logProofUsage,
  logVerify,
  logVerifyUsage,
} from './log-client.ts';

type Run = (args: readonly string[], io: ReturnType<typeof captureIo>['io']) => Promise<number>;

async function run(command: Run, args: readonly string[], stdin?: Uint8Array) {
  const captured = captureIo(stdin);
  const code = await command(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe('vouch log verify', () => {
  let log: TestLog;
  let work: string;
  before(async () => {
    log = await makeTestLog([100, 785]);
    work = await makeTempDir();
  });
  after(async () => {
    await removeDir(log.dir);
    await removeDir(work);
  });

  test('a good log, from a folder and over HTTP, prints one JSON line', async () => {
    const server = await serveStaticFolder(log.dir);
    try {
      for (const location of [log.dir, server.url]) {
        const result = await run(logVerify, ['--log', location, '--vkey', log.vkey]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stderr, '');
        assert.match(result.stdout, /^\{.*\}\n$/);
        const summary = JSON.parse(result.stdout);
        assert.deepEqual(Object.keys(summary), ['origin', 'size', 'root', 'entries', 'tiles', 'ok']);
        assert.equal(summary.origin, log.origin);
        assert.equal(summary.size, 785);
        assert.equal(summary.entries, 785);
        assert.equal(summary.tiles, 5);
        assert.equal(summary.ok, true);
        assert.equal(parseBase64(summary.root).length, 32);
      }
    } finally {
      await server.close();
    }
  });

  test('the empty log', async () => {
    const empty = await makeTestLog([0]);
    try {
      const result = await run(logVerify, ['--log', empty.dir, '--vkey', empty.vkey]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        origin: empty.origin,
        size: 0,
        root: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
        entries: 0,
        tiles: 0,
        ok: true,
      });
    } finally {
      await removeDir(empty.dir);
    }
  });

  test('exit codes for what can go wrong', async () => {
    const broken = join(work, 'broken');
    await cp(log.dir, broken, { recursive: true });
    const tile = await readFile(join(broken, 'tile/0/001'));
    tile[100] = (tile[100] as number) ^ 1;
    await writeFile(join(broken, 'tile/0/001'), tile);
    const missing = join(work, 'missing');
    await cp(log.dir, missing, { recursive: true });
    await rm(join(missing, 'tile/entries/002'));
    const notFound = await serveStaticFolder(join(work, 'no-such-folder'));
    const other = keyFor(log.origin);
    const rows: { name: string; args: string[]; code: number; stderr: RegExp }[] = [
      {
        name: 'a flipped byte in a tile',
        args: ['--log', broken, '--vkey', log.vkey],
        code: 1,
        stderr: /^vouch: log verify: tile\/0\/001 does not match its hash in tile\/1\/000\.p\/3\n$/,
      },
      {
        name: 'a missing bundle',
        args: ['--log', missing, '--vkey', log.vkey],
        code: 1,
        stderr: /does not serve tile\/entries\/002/,
      },
      {
        name: 'another key of the same name',
        args: ['--log', log.dir, '--vkey', other.vkey],
        code: 1,
        stderr: /not signed by the log key/,
      },
      {
        name: 'another origin',
        args: ['--log', log.dir, '--vkey', log.vkey, '--origin', 'example.com/elsewhere'],
        code: 1,
        stderr: /origin/,
      },
      {
        name: 'no log in the folder',
        args: ['--log', join(work, 'nothing'), '--vkey', log.vkey],
        code: 4,
        stderr: /no checkpoint/,
      },
      {
        name: 'no log at the URL',
        args: ['--log', notFound.url, '--vkey', log.vkey],
        code: 4,
        stderr: /no checkpoint/,
      },
      { name: 'a bad vkey', args: ['--log', log.dir, '--vkey', 'nope'], code: 3, stderr: /verifier key/ },
      { name: 'no --log', args: ['--vkey', log.vkey], code: 2, stderr: /missing --log/ },
      { name: 'no --vkey', args: ['--log', log.dir], code: 2, stderr: /missing --vkey/ },
      {
        name: 'an unknown option',
        args: ['--log', log.dir, '--vkey', log.vkey, '--frob'],
        code: 2,
        stderr: /unknown option/,
      },
      {
        name: 'a bad URL',
        args: ['--log', 'https://u:p@example.com/', '--vkey', log.vkey],
        code: 2,
        stderr: /credentials/,
      },
    ];
    try {
      for (const row of rows) {
        const result = await run(logVerify, row.args);
        assert.equal(result.code, row.code, `${row.name}: ${result.stderr}`);
        assert.match(result.stderr, row.stderr, row.name);
        assert.equal(result.stdout, '', row.name);
      }
    } finally {
      await notFound.close();
    }
  });

  test('vouch log dispatches here', async () => {
    const captured = captureIo();
    const code = await runCli(['log', 'verify', '--log', log.dir, '--vkey', log.vkey], captured.io);
    assert.equal(code, 0, captured.stderr());
    assert.equal(JSON.parse(captured.stdout()).size, 785);
  });

  test('--help prints the usage', async () => {
    const result = await run(logVerify, ['--help']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `Usage:\n${logVerifyUsage}`);
  });

  test('--cache keeps verified tiles and refuses a rollback or a fork', async () => {
    const growing = await makeTestLog([300]);
    const cache = join(work, 'cache');
    try {
      const verify = (dir: string) =>
        run(logVerify, ['--log', dir, '--vkey', growing.vkey, '--cache', cache]);
      assert.equal((await verify(growing.dir)).code, 0);
      const old = await readFile(join(growing.dir, 'checkpoint'));
      await growing.grow(600);
      const grown = await verify(growing.dir);
      assert.equal(grown.code, 0, grown.stderr);
      assert.equal(JSON.parse(grown.stdout).size, 600);
      assert.deepEqual(
        await readFile(join(cache, 'latest-checkpoint')),
        await readFile(join(growing.dir, 'checkpoint')),
      );
      assert.deepEqual(
        await readFile(join(cache, 'tile/0/001')),
        await readFile(join(growing.dir, 'tile/0/001')),
      );
      // The log serves its older checkpoint again: a rollback.
      const rolledBack = join(work, 'rolled-back');
      await cp(growing.dir, rolledBack, { recursive: true });
      await writeFile(join(rolledBack, 'checkpoint'), old);
      const rollback = await verify(rolledBack);
      assert.equal(rollback.code, 1);
      assert.match(rollback.stderr, /size 300, smaller than size 600 seen before/);
      // Another log under the same key and origin, with other entries: a fork.
      const fork = await makeTestLog([], { signer: growing.signer });
      try {
        await fork.grow(700, (i) => toBytes(`fork-${i}`));
        const forked = await verify(fork.dir);
        assert.equal(forked.code, 1);
        assert.match(forked.stderr, /consistency proof/);
      } finally {
        await removeDir(fork.dir);
      }
      assert.deepEqual(
        await readFile(join(cache, 'latest-checkpoint')),
        await readFile(join(growing.dir, 'checkpoint')),
      );
    } finally {
      await removeDir(growing.dir);
    }
  });
});

describe('vouch log proof and check-proof', () => {
  let log: TestLog;
  let work: string;
  before(async () => {
    log = await makeTestLog([1000]);
    work = await makeTempDir();
    await writeFile(join(work, 'entry-500'), entryOf(500));
    await writeFile(join(work, 'entry-501'), entryOf(501));
  });
  after(async () => {
    await removeDir(log.dir);
    await removeDir(work);
  });

  test('prints a tlog-proof that verifies, and writes the same bytes with --out', async () => {
    const result = await run(logProof, ['--log', log.dir, '--vkey', log.vkey, '--index', '500']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^c2sp\.org\/tlog-proof@v1\nindex 500\n/);
    const proof = parseTlogProof(toBytes(result.stdout));
    assert.equal(proof.index, 500n);
    assert.deepEqual(proof.checkpoint, log.checkpoints.get(1000n));
    checkTlogProof(proof, leafHash(entryOf(500)), log.origin, verifierSet([log.logKey]));

    const out = join(work, 'proof-500');
    const written = await run(logProof, [
      '--log',
      log.dir,
      '--vkey',
      log.vkey,
      '--index',
      '500',
      '--out',
      out,
      '--entry',
      join(work, 'entry-500'),
    ]);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stdout, '');
    assert.equal(await readFile(out, 'utf8'), result.stdout);
  });

  test('proof exit codes', async () => {
    const rows: { name: string; args: string[]; code: number; stderr: RegExp }[] = [
      {
        name: 'an index beyond the log',
        args: ['--index', '1000'],
        code: 2,
        stderr: /entry 1000 is not in the log \(size 1000\)/,
      },
      { name: 'a non-canonical index', args: ['--index', '0500'], code: 2, stderr: /--index/ },
      { name: 'a negative index', args: ['--index', '-1'], code: 2, stderr: /--index/ },
      { name: 'no index', args: [], code: 2, stderr: /missing --index/ },
      {
        name: 'the wrong entry',
        args: ['--index', '500', '--entry', join(work, 'entry-501')],
        code: 1,
        stderr: /is not entry 500/,
      },
    ];
    for (const row of rows) {
      const result = await run(logProof, ['--log', log.dir, '--vkey', log.vkey, ...row.args]);
      assert.equal(result.code, row.code, `${row.name}: ${result.stderr}`);
      assert.match(result.stderr, row.stderr, row.name);
      assert.equal(result.stdout, '', row.name);
    }
    assert.equal((await run(logProof, ['-h'])).stdout, `Usage:\n${logProofUsage}`);
  });

  test('check-proof verifies offline and fails closed', async () => {
    const proofFile = join(work, 'proof-for-check');
    assert.equal(
      (await run(logProof, ['--log', log.dir, '--vkey', log.vkey, '--index', '500', '--out', proofFile]))
        .code,
      0,
    );
    const proofBytes = await readFile(proofFile);
    const good = await run(logCheckProof, [
      '--vkey',
      log.vkey,
      '--entry',
      join(work, 'entry-500'),
      proofFile,
    ]);
    assert.equal(good.code, 0, good.stderr);
    assert.deepEqual(JSON.parse(good.stdout), { origin: log.origin, size: 1000, index: 500, ok: true });
    const fromStdin = await run(
      logCheckProof,
      ['--vkey', log.vkey, '--entry', join(work, 'entry-500')],
      proofBytes,
    );
    assert.equal(fromStdin.code, 0, fromStdin.stderr);

    const tampered = join(work, 'tampered-proof');
    const text = proofBytes.toString('utf8').split('\n');
    text[2] = text[3] as string; // the first proof hash replaced by the second
    await writeFile(tampered, text.join('\n'));
    const other = keyFor(log.origin);
    const rows: { name: string; args: string[]; code: number; stderr: RegExp }[] = [
      {
        name: 'another entry',
        args: ['--vkey', log.vkey, '--entry', join(work, 'entry-501'), proofFile],
        code: 1,
        stderr: /inclusion proof/,
      },
      {
        name: 'a tampered proof',
        args: ['--vkey', log.vkey, '--entry', join(work, 'entry-500'), tampered],
        code: 1,
        stderr: /inclusion proof/,
      },
      {
        name: 'another log key',
        args: ['--vkey', other.vkey, '--entry', join(work, 'entry-500'), proofFile],
        code: 1,
        stderr: /not signed by the log key/,
      },
      {
        name: 'another origin',
        args: [
          '--vkey',
          log.vkey,
          '--origin',
          'example.com/x',
          '--entry',
          join(work, 'entry-500'),
          proofFile,
        ],
        code: 1,
        stderr: /origin/,
      },
      {
        name: 'not a proof',
        args: ['--vkey', log.vkey, '--entry', join(work, 'entry-500'), join(work, 'entry-501')],
        code: 2,
        stderr: /tlog-proof/,
      },
      { name: 'no entry', args: ['--vkey', log.vkey, proofFile], code: 2, stderr: /missing --entry/ },
      {
        name: 'both from stdin',
        args: ['--vkey', log.vkey, '--entry', '-'],
        code: 2,
        stderr: /standard input/,
      },
      {
        name: 'two proofs',
        args: ['--vkey', log.vkey, '--entry', join(work, 'entry-500'), proofFile, proofFile],
        code: 2,
        stderr: /one proof/,
      },
    ];
    for (const row of rows) {
      const result = await run(logCheckProof, row.args);
      assert.equal(result.code, row.code, `${row.name}: ${result.stderr}`);
      assert.match(result.stderr, row.stderr, row.name);
      assert.equal(result.stdout, '', row.name);
    }
    assert.equal((await run(logCheckProof, ['--help'])).stdout, `Usage:\n${logCheckProofUsage}`);
  });
});

describe('--policy: the log key and witness quorum from a C2SP tlog-policy file', () => {
  let log: TestLog;
  let work: string;
  const witnesses = ['w1', 'w2', 'w3'].map((name) => {
    const cosigner = createCosigner(keyFor(`${name}.witness.example`).signer, { timestamp: 1_700_000_000n });
    return { name, cosigner, vkey: formatVerifierKey(cosigner) };
  });
  const [w1, w2, w3] = witnesses.map((w) => w.cosigner) as [NoteSigner, NoteSigner, NoteSigner];
  const policyFiles: Record<string, string> = {};

  // cosignServed adds the cosigners' signatures to the log's current checkpoint and publishes it.
  async function cosignServed(cosigners: readonly NoteSigner[]): Promise<Uint8Array> {
    const served = await readFile(join(log.dir, 'checkpoint'));
    const note = parseNote(served);
    const bytes = formatNote(
      await addSignatures({ text: note.text, signatures: note.signatures.slice(0, 1) }, cosigners),
    );
    await new FsBlobStore(log.dir).publish('checkpoint', bytes);
    return bytes;
  }

  async function writePolicy(name: string, rest: string, logLine = `log ${log.vkey} https://log.example/\n`) {
    const witnessLines = witnesses.map((w) => `witness ${w.name} ${w.vkey}\n`).join('');
    const path = join(work, `${name}.policy`);
    await writeFile(path, `# ${name}\n${logLine}${witnessLines}${rest}`);
    policyFiles[name] = path;
    return path;
  }

  const file = (name: string): string => policyFiles[name] as string;

  before(async () => {
    log = await makeTestLog([300]);
    work = await makeTempDir();
    await writePolicy('two', 'group two 2 w1 w2 w3\nquorum two\n');
    await writePolicy('all', 'group all3 all w1 w2 w3\nquorum all3\n');
    await writePolicy('w3', 'quorum w3\n');
    await writePolicy('none', 'quorum none\n');
    await writePolicy('other-log', 'quorum none\n', `log ${keyFor('example.com/other').vkey}\n`);
    await writeFile(join(work, 'entry-7'), entryOf(7));
    await cosignServed([w1, w2]);
  });
  after(async () => {
    await removeDir(log.dir);
    await removeDir(work);
  });

  test('verify: a met quorum, from a folder and over HTTP, lists the cosigners', async () => {
    const server = await serveStaticFolder(log.dir);
    try {
      for (const location of [log.dir, server.url]) {
        const result = await run(logVerify, ['--log', location, '--policy', file('two')]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stderr, '');
        const summary = JSON.parse(result.stdout);
        assert.deepEqual(Object.keys(summary), [
          'origin',
          'size',
          'root',
          'entries',
          'tiles',
          'cosigners',
          'ok',
        ]);
        assert.deepEqual(
          [summary.origin, summary.size, summary.cosigners, summary.ok],
          [log.origin, 300, ['w1', 'w2'], true],
        );
      }
    } finally {
      await server.close();
    }
    const none = await run(logVerify, ['--log', log.dir, '--policy', file('none'), '--origin', log.origin]);
    assert.equal(none.code, 0, none.stderr);
    assert.deepEqual(JSON.parse(none.stdout).cosigners, ['w1', 'w2']);
    // --vkey keeps working on the cosigned checkpoint, and prints no cosigners.
    const byKey = await run(logVerify, ['--log', log.dir, '--vkey', log.vkey]);
    assert.equal(byKey.code, 0, byKey.stderr);
    assert.ok(!('cosigners' in JSON.parse(byKey.stdout)));
    const captured = captureIo();
    assert.equal(await runCli(['log', 'verify', '--log', log.dir, '--policy', file('two')], captured.io), 0);
  });

  test('verify: what fails, with one line naming the reason', async () => {
    const malformed = join(work, 'malformed.policy');
    await writeFile(malformed, `witness w1 ${witnesses[0]?.vkey}\ngroup g 2 w1\nquorum g\n`);
    const goKey = join(work, 'go-key.policy');
    const noteKey = keyFor('w9.witness.example');
    await writeFile(goKey, `witness w9 ${noteKey.vkey}\nquorum w9\n`);
    const rows: { name: string; args: string[]; code: number; stderr: RegExp }[] = [
      {
        name: 'a quorum one short',
        args: ['--policy', file('all')],
        code: 1,
        stderr:
          /^vouch: log verify: witness quorum "all3" is not met: group "all3" needs 3 of its 3 members and has 2, so 1 more of "w3"\n$/,
      },
      {
        name: 'a witness that did not cosign',
        args: ['--policy', file('w3')],
        code: 1,
        stderr: /^vouch: log verify: witness quorum "w3" is not met: witness "w3" did not cosign\n$/,
      },
      {
        name: 'another log',
        args: ['--policy', file('other-log')],
        code: 1,
        stderr: /^vouch: log verify: the policy has no log for origin "example\.com\/log"\n$/,
      },
      {
        name: 'another origin',
        args: ['--policy', file('two'), '--origin', 'example.com/x'],
        code: 1,
        stderr: /origin/,
      },
      {
        name: 'both --vkey and --policy',
        args: ['--policy', file('two'), '--vkey', log.vkey],
        code: 2,
        stderr: /give --vkey or --policy, not both/,
      },
      {
        name: 'a malformed policy',
        args: ['--policy', malformed],
        code: 2,
        stderr:
          /^vouch: policy .*malformed\.policy: group threshold 2 is more than its 1 members \(line 2\)\n$/,
      },
      {
        name: 'a type 0x01 witness key',
        args: ['--policy', goKey],
        code: 3,
        stderr: /type 0x01.*w9\.witness\.example\+[0-9a-f]{8}\+B/,
      },
    ];
    for (const row of rows) {
      const result = await run(logVerify, ['--log', log.dir, ...row.args]);
      assert.equal(result.code, row.code, `${row.name}: ${result.stderr}`);
      assert.match(result.stderr, row.stderr, row.name);
      assert.equal(result.stdout, '', row.name);
    }
    const neither = await run(logVerify, ['--log', log.dir]);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /missing --vkey or --policy/);
  });

  test('verify: the log must have signed, whatever the witnesses', async () => {
    const good = await readFile(join(log.dir, 'checkpoint'));
    const note = parseNote(good);
    const witnessesOnly = formatNote(await addSignatures({ text: note.text, signatures: [] }, [w1, w2, w3]));
    const copy = join(work, 'witnesses-only');
    await cp(log.dir, copy, { recursive: true });
    await writeFile(join(copy, 'checkpoint'), witnessesOnly);
    const result = await run(logVerify, ['--log', copy, '--policy', file('two')]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^vouch: log verify: the checkpoint is not signed by a policy log key for origin "example\.com\/log"\n$/,
    );
  });

  test('verify --cache: consistency across runs, with the quorum checked on the new checkpoint', async () => {
    const growing = await makeTestLog([100]);
    const cache = join(work, 'policy-cache');
    const policy = join(work, 'growing.policy');
    await writeFile(
      policy,
      `log ${growing.vkey}\n${witnesses.map((w) => `witness ${w.name} ${w.vkey}\n`).join('')}group two 2 w1 w2 w3\nquorum two\n`,
    );
    const cosign = async (cosigners: NoteSigner[]) => {
      const note = parseNote(await readFile(join(growing.dir, 'checkpoint')));
      await new FsBlobStore(growing.dir).publish(
        'checkpoint',
        formatNote(await addSignatures(note, cosigners)),
      );
    };
    try {
      const verify = (policyPath: string) =>
        run(logVerify, ['--log', growing.dir, '--policy', policyPath, '--cache', cache]);
      await cosign([w1, w2]);
      assert.equal((await verify(policy)).code, 0);
      await growing.grow(200);
      const uncosigned = await verify(policy);
      assert.equal(uncosigned.code, 1);
      assert.match(uncosigned.stderr, /needs 2 of its 3 members and has 0/);
      await cosign([w3, w1]);
      const grown = await verify(policy);
      assert.equal(grown.code, 0, grown.stderr);
      assert.deepEqual(JSON.parse(grown.stdout).cosigners, ['w1', 'w3']);
      // A policy that changed its witnesses still chains from the cached checkpoint.
      const onlyW3 = join(work, 'only-w3.policy');
      await writeFile(onlyW3, `log ${growing.vkey}\nwitness w3 ${witnesses[2]?.vkey}\nquorum w3\n`);
      const changed = await verify(onlyW3);
      assert.equal(changed.code, 0, changed.stderr);
      assert.deepEqual(JSON.parse(changed.stdout).cosigners, ['w3']);
    } finally {
      await removeDir(growing.dir);
    }
  });

  test('proof and check-proof: the cosigned checkpoint travels in the proof', async () => {
    const proofFile = join(work, 'proof-7');
    const made = await run(logProof, [
      '--log',
      log.dir,
      '--policy',
      file('two'),
      '--index',
      '7',
      '--out',
      proofFile,
    ]);
    assert.equal(made.code, 0, made.stderr);
    const proofBytes = await readFile(proofFile);
    const proof = parseTlogProof(proofBytes);
    assert.equal(parseNote(proof.checkpoint).signatures.length, 3);
    assert.deepEqual(proof.checkpoint, new Uint8Array(await readFile(join(log.dir, 'checkpoint'))));

    const entry = join(work, 'entry-7');
    const checked = await run(logCheckProof, ['--policy', file('two'), '--entry', entry, proofFile]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.deepEqual(JSON.parse(checked.stdout), {
      origin: log.origin,
      size: 300,
      index: 7,
      cosigners: ['w1', 'w2'],
      ok: true,
    });
    const fromStdin = await run(logCheckProof, ['--policy', file('two'), '--entry', entry], proofBytes);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const policyFromStdin = await run(
      logCheckProof,
      ['--policy', '-', '--entry', entry, proofFile],
      await readFile(file('two')),
    );
    assert.equal(policyFromStdin.code, 0, policyFromStdin.stderr);
    const byKey = await run(logCheckProof, ['--vkey', log.vkey, '--entry', entry, proofFile]);
    assert.equal(byKey.code, 0, byKey.stderr);

    const rows: { name: string; command: Run; args: string[]; code: number; stderr: RegExp }[] = [
      {
        name: 'check-proof, a quorum one short',
        command: logCheckProof,
        args: ['--policy', file('all'), '--entry', entry, proofFile],
        code: 1,
        stderr:
          /^vouch: witness quorum "all3" is not met: group "all3" needs 3 of its 3 members and has 2, so 1 more of "w3" \(quorum\)\n$/,
      },
      {
        name: 'check-proof, another entry',
        command: logCheckProof,
        args: ['--policy', file('two'), '--entry', join(work, 'proof-7'), proofFile],
        code: 1,
        stderr: /inclusion proof/,
      },
      {
        name: 'check-proof, three from stdin',
        command: logCheckProof,
        args: ['--policy', '-', '--entry', entry],
        code: 2,
        stderr: /standard input/,
      },
      {
        name: 'proof, a quorum one short',
        command: logProof,
        args: ['--log', log.dir, '--policy', file('all'), '--index', '7'],
        code: 1,
        stderr: /^vouch: log proof: witness quorum "all3" is not met/,
      },
      {
        name: 'proof, entry and policy from stdin',
        command: logProof,
        args: ['--log', log.dir, '--policy', '-', '--entry', '-', '--index', '7'],
        code: 2,
        stderr: /standard input/,
      },
    ];
    for (const row of rows) {
      const result = await run(row.command, row.args);
      assert.equal(result.code, row.code, `${row.name}: ${result.stderr}`);
      assert.match(result.stderr, row.stderr, row.name);
      assert.equal(result.stdout, '', row.name);
    }
  });
});
