/**
 * `vouch witness` end to end: init and add-log run in-process with a captured CliIo, and serve
 * runs as a real process on a real port, answering add-checkpoint and the monitoring endpoint,
 * picking up a log added while it runs, shutting down on SIGTERM, and keeping its state across a
 * restart. The child runs `witnessCommand` through a one-line runner, so this test does not
 * depend on the command table.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { runCommand } from '../../../../test/support/cli.ts';
import { parseNote } from '../../../core/note/index.ts';
import { createCheckpointVerifier, verifyCosignature } from '../../../core/tlog/cosignature.ts';
import { parseCosignatureLines } from '../../../core/tlog/witness-request.ts';
import { testingOnlyLog } from '../../../services/witness/testing.ts';
import { originHashOf } from '../../../services/witness/witness.ts';
import { exitCodes } from '../io.ts';
import { keyCommand } from './key.ts';
import { witnessCommand } from './witness.ts';

const work = await mkdtemp(join(tmpdir(), 'vouch-witness-cli-'));
after(() => rm(work, { recursive: true, force: true }));

const vouch = runCommand;

const runner = `
import { witnessCommand } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'witness.ts')).href)};
import { processIo, reportError } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '..', 'io.ts')).href)};
const io = processIo();
try { process.exitCode = await witnessCommand.run(process.argv.slice(1), io); }
catch (error) { process.exitCode = reportError(error, io); }
`;

/** startServe runs `vouch witness serve` in a child process and returns it with its URL. */
async function startServe(dir: string): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', runner, '--', 'serve', '--dir', dir, '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DATABASE_URL: '' } },
  );
  let seen = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`witness did not start: ${seen}`)), 20_000);
    const check = (): void => {
      const match = /"serving witness witness\.example\/cli at (http:\/\/[^"]+\/)"/.exec(seen);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', () => reject(new Error(`witness exited: ${seen}`)));
  });
  return { child, url, stderr: () => seen };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

test('vouch witness init, add-log and serve, end to end on a real port', async () => {
  const dir = join(work, 'witness');
  const keyFile = join(work, 'witness.key');
  const generated = await vouch(keyCommand, [
    'generate',
    '--type',
    'ed25519',
    '--name',
    'witness.example/cli',
    '--out',
    keyFile,
    '--unencrypted',
  ]);
  assert.equal(generated.code, 0, generated.stderr);

  // A key whose name is not the witness name, and an ECDSA key, are refused.
  const misnamed = await vouch(witnessCommand, [
    'init',
    '--dir',
    dir,
    '--name',
    'other.example',
    '--key',
    keyFile,
  ]);
  assert.equal(misnamed.code, exitCodes.usage);
  assert.match(misnamed.stderr, /must equal the witness name/);

  const init = await vouch(witnessCommand, [
    'init',
    '--dir',
    dir,
    '--name',
    'witness.example/cli',
    '--key',
    keyFile,
  ]);
  assert.equal(init.code, 0, init.stderr);
  const vkey = init.stdout.trim();
  assert.match(vkey, /^witness\.example\/cli\+[0-9a-f]{8}\+B[A-P]/); // type 0x04: base64 "B[A-P]…"
  assert.equal(createCheckpointVerifier(vkey).type, 0x04);
  const config = JSON.parse(await readFile(join(dir, 'witness.json'), 'utf8'));
  assert.equal(config.vkey, vkey);
  assert.deepEqual(config.logs, []);
  const again = await vouch(witnessCommand, [
    'init',
    '--dir',
    dir,
    '--name',
    'witness.example/cli',
    '--key',
    keyFile,
  ]);
  assert.equal(again.code, exitCodes.usage);

  const first = testingOnlyLog('log.example/cli-one');
  const second = testingOnlyLog('log.example/cli-two');
  const added = await vouch(witnessCommand, [
    'add-log',
    '--dir',
    dir,
    '--origin',
    first.origin,
    '--vkey',
    first.vkey,
  ]);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(added.stdout, `added ${first.origin}\n`);
  const rekey = await vouch(witnessCommand, [
    'add-log',
    '--dir',
    dir,
    '--origin',
    first.origin,
    '--vkey',
    second.vkey,
  ]);
  assert.equal(rekey.code, exitCodes.usage);
  assert.match(rekey.stderr, /never re-keys/);
  const noKey = await vouch(witnessCommand, ['add-log', '--dir', dir, '--origin', first.origin]);
  assert.equal(noKey.code, exitCodes.usage);

  const verifier = createCheckpointVerifier(vkey);
  const served = await startServe(dir);
  try {
    const r = await fetch(`${served.url}add-checkpoint`, {
      method: 'POST',
      body: await first.request(0n, 9n),
    });
    assert.equal(r.status, 200);
    const [line] = parseCosignatureLines(new Uint8Array(await r.arrayBuffer()));
    assert.ok(line !== undefined);
    const checked = verifyCosignature(verifier, parseNote(await first.checkpoint(9n)).text, line);
    const now = BigInt(Math.floor(Date.now() / 1000));
    assert.ok(checked.timestamp > now - 120n && checked.timestamp <= now + 1n);

    const probe = await fetch(`${served.url}add-checkpoint`, {
      method: 'POST',
      body: await first.request(0n, 12n),
    });
    assert.equal(probe.status, 409);
    assert.equal(probe.headers.get('content-type'), 'text/x.tlog.size');
    assert.equal(await probe.text(), '9\n');

    const monitored = await fetch(`${served.url}${originHashOf(first.origin)}/checkpoint`);
    assert.equal(monitored.status, 200);
    assert.match(await monitored.text(), /^log\.example\/cli-one\n9\n/);
    assert.equal((await fetch(`${served.url}${originHashOf(second.origin)}/checkpoint`)).status, 404);

    // A log added while the witness runs is witnessed without a restart.
    const unknown = await fetch(`${served.url}add-checkpoint`, {
      method: 'POST',
      body: await second.request(0n, 2n),
    });
    assert.equal(unknown.status, 404);
    await unknown.arrayBuffer();
    const addSecond = await vouch(witnessCommand, [
      'add-log',
      '--dir',
      dir,
      '--origin',
      second.origin,
      '--vkey',
      second.vkey,
    ]);
    assert.equal(addSecond.code, 0, addSecond.stderr);
    const known = await fetch(`${served.url}add-checkpoint`, {
      method: 'POST',
      body: await second.request(0n, 2n),
    });
    assert.equal(known.status, 200);
    await known.arrayBuffer();
  } finally {
    assert.equal(await stop(served.child), 0);
  }
  assert.match(served.stderr(), /"shutting down"/);
  for (const line of served.stderr().trim().split('\n')) assert.ok(JSON.parse(line).msg !== undefined, line);

  // Restarted on the same folder, it remembers what it cosigned.
  const restarted = await startServe(dir);
  try {
    const r = await fetch(`${restarted.url}add-checkpoint`, {
      method: 'POST',
      body: await first.request(0n, 12n),
    });
    assert.equal(r.status, 409);
    assert.equal(await r.text(), '9\n');
    const grown = await fetch(`${restarted.url}add-checkpoint`, {
      method: 'POST',
      body: await first.request(9n, 12n),
    });
    assert.equal(grown.status, 200);
    await grown.arrayBuffer();
  } finally {
    assert.equal(await stop(restarted.child), 0);
  }
});

test('vouch witness: usage errors', async () => {
  assert.equal((await vouch(witnessCommand, [])).code, exitCodes.usage);
  assert.equal((await vouch(witnessCommand, ['frobnicate'])).code, exitCodes.usage);
  assert.equal((await vouch(witnessCommand, ['init', '--dir', join(work, 'x')])).code, exitCodes.usage);
  assert.equal(
    (await vouch(witnessCommand, ['serve', '--dir', join(work, 'none'), '--listen', '127.0.0.1:0'])).code,
    exitCodes.usage,
  );
  const badListen = await vouch(witnessCommand, ['serve', '--dir', join(work, 'none'), '--listen', 'nope']);
  assert.equal(badListen.code, exitCodes.usage);
  const help = await vouch(witnessCommand, ['init', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /vouch witness add-log/);
});
