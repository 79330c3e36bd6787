/**
 * Issue 4's end-to-end story, with the real commands as child processes: a log with two `vouch
 * witness` instances and a 2-of-2 policy publishes only cosigned checkpoints, which Go's
 * golang.org/x/mod verifier accepts (log signature and both cosignatures); a witness that is down
 * holds publication back and is named; and a malicious log that shows another tree of the same
 * size is refused by the witnesses and reported as a fork by `vouch monitor`, naming both views.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { toBytes } from '../../src/core/bytes/index.ts';
import { createSigner, importPrivateKey } from '../../src/core/crypto/index.ts';
import { openKeyFile } from '../../src/core/crypto/keyfile.ts';
import { formatAddCheckpointRequest } from '../../src/core/tlog/witness-request.ts';
import { type RunningVouch, runVouch, startVouchServer, stopAll, vouchOk } from '../support/processes.ts';
import { createStaticLog } from '../support/static-log.ts';
import { buildGoTlog, goTlogUnavailable, goVerifyLog } from './go-tlog.ts';

const origin = 'release-log.vouch.example';
const goReason = goTlogUnavailable();
let dir = '';
let logVkey = '';
const witnessVkeys: string[] = [];
const witnesses: RunningVouch[] = [];
let log: RunningVouch | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vouch-witnessed-'));
  logVkey = vouchOk(
    ['key', 'generate', '--type', 'ed25519', '--name', origin, '--out', 'log.key', '--unencrypted'],
    dir,
  ).trim();
  for (const n of [1, 2]) {
    const name = `witness${n}.supervisor.example`;
    vouchOk(
      ['key', 'generate', '--type', 'ed25519', '--name', name, '--out', `w${n}.key`, '--unencrypted'],
      dir,
    );
    witnessVkeys.push(
      vouchOk(['witness', 'init', '--dir', `w${n}`, '--name', name, '--key', `w${n}.key`], dir).trim(),
    );
    vouchOk(['witness', 'add-log', '--dir', `w${n}`, '--origin', origin, '--vkey', logVkey], dir);
    witnesses.push(
      await startVouchServer(['witness', 'serve', '--dir', `w${n}`, '--listen', '127.0.0.1:0'], dir),
    );
  }
  writeFileSync(
    join(dir, 'policy.txt'),
    [
      `log ${logVkey}`,
      `witness w1 ${witnessVkeys[0]} ${witnesses[0]?.url}`,
      `witness w2 ${witnessVkeys[1]} ${witnesses[1]?.url}`,
      'group both all w1 w2',
      'quorum both',
      '',
    ].join('\n'),
  );
  vouchOk(
    [
      'log',
      'init',
      '--dir',
      'log',
      '--origin',
      origin,
      '--key',
      'log.key',
      '--policy',
      'policy.txt',
      '--batch-age-ms',
      '5',
    ],
    dir,
  );
  log = await startVouchServer(['log', 'serve', '--dir', 'log', '--listen', '127.0.0.1:0'], dir);
});

after(() => {
  stopAll();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

async function add(entry: string, timeoutMs = 10_000): Promise<Response> {
  return fetch(`${log?.url}add`, { method: 'POST', body: entry, signal: AbortSignal.timeout(timeoutMs) });
}

test('a 2-of-2 witnessed log publishes cosigned checkpoints that verify under the policy', async () => {
  for (let i = 0; i < 20; i++) assert.equal((await add(`release ${i}`)).status, 200);
  const verified = JSON.parse(
    vouchOk(['log', 'verify', '--log', log?.url ?? '', '--policy', 'policy.txt'], dir),
  );
  assert.equal(verified.ok, true);
  assert.equal(verified.size, 20);
  assert.deepEqual(verified.cosigners, ['w1', 'w2']);
});

test('Go verifies the log signature and both cosignatures', {
  skip: goReason !== undefined && !process.env.CI ? goReason : false,
}, async () => {
  assert.equal(goReason, undefined, `Go interop is required on CI: ${goReason}`);
  await buildGoTlog();
  const summary = await goVerifyLog(log?.url ?? '', logVkey, witnessVkeys);
  assert.equal(summary.size, 20n);
  assert.equal(summary.cosignatures.length, 2);
});

test('a witness that is down holds publication back, is named, and publication resumes when it returns', async () => {
  const w2 = witnesses[1] as RunningVouch;
  await w2.stop();
  const pending = add('during the outage', 30_000);
  const deadline = Date.now() + 10_000;
  while (!/witness w2 did not cosign/.test(log?.stderr() ?? '') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.match(log?.stderr() ?? '', /witness w2 did not cosign size 21/);
  const published = await fetch(`${log?.url}checkpoint`);
  assert.match(await published.text(), new RegExp(`^${origin}\n20\n`), 'no checkpoint without the quorum');
  // The same witness comes back on the same port and state.
  const port = new URL(w2.url).port;
  witnesses[1] = await startVouchServer(
    ['witness', 'serve', '--dir', 'w2', '--listen', `127.0.0.1:${port}`],
    dir,
  );
  // A client kept waiting past the log's patience is answered 503: stored at its index, not yet
  // publishable, retry. Either way the entry is published at index 20 once the quorum is back.
  const first = await pending;
  if (first.status === 503) {
    assert.ok(first.headers.get('retry-after') !== null);
    assert.match(await first.text(), /stored at index 20 but the log cannot publish a checkpoint now/);
  } else {
    assert.equal(first.status, 200);
    assert.equal(((await first.json()) as { index: number }).index, 20);
  }
  const deadlineBack = Date.now() + 20_000;
  let size = 20;
  while (size < 21 && Date.now() < deadlineBack) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    size = Number((await (await fetch(`${log?.url}checkpoint`)).text()).split('\n')[1]);
  }
  assert.equal(size, 21, 'the stored entry is published once the witness is back');
});

test('a split view: witnesses refuse another tree of the same size, and the monitor reports the fork', async () => {
  // The log operator, coerced, builds a second history of the same size with the same key.
  const key = await openKeyFile(new Uint8Array(readFileSync(join(dir, 'log.key'))), undefined);
  const evil = await createStaticLog(
    join(dir, 'evil'),
    origin,
    createSigner(origin, importPrivateKey(key.material.keyType, key.material.pkcs8)),
  );
  const size = Number(
    JSON.parse(vouchOk(['log', 'verify', '--log', log?.url ?? '', '--policy', 'policy.txt'], dir)).size,
  );
  const entries = Array.from({ length: size }, (_, i) =>
    toBytes(i === 5 ? 'a targeted update for one endpoint' : `release ${i}`),
  );
  const evilCheckpoint = await evil.append(entries);

  // Each witness refuses to cosign it: it already cosigned another tree of that size.
  for (const w of witnesses) {
    const r = await fetch(`${w.url}add-checkpoint`, {
      method: 'POST',
      body: formatAddCheckpointRequest({ old: BigInt(size), proof: [], checkpoint: evilCheckpoint }),
    });
    assert.equal(r.status, 409);
  }
  // So the forged history cannot meet the policy...
  const refused = runVouch(['log', 'verify', '--log', join(dir, 'evil'), '--policy', 'policy.txt'], dir);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /quorum/);
  // ...and a monitor shown the forged log sees the witnesses' views disagree with it.
  const monitor = runVouch(
    [
      'monitor',
      '--log',
      join(dir, 'evil'),
      '--vkey',
      logVkey,
      '--state',
      'monitor-state',
      '--mirror',
      log?.url ?? '',
    ],
    dir,
  );
  assert.equal(monitor.status, 1, monitor.stderr);
  const fork = monitor.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((e) => e.event === 'fork');
  assert.ok(fork, monitor.stdout);
  assert.equal(fork.views.length, 2);
  assert.notEqual(fork.views[0].root, fork.views[1].root);
});
