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
import { verifierSet } from '../../../core/note/index.ts';
import { checkTlogProof, parseTlogProof } from '../../../core/tlog/proof.ts';
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
