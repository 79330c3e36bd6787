/**
 * The Done-when line of the log: a log served by `vouch log serve` verifies with an independent
 * implementation of C2SP and RFC 6962 — Go's golang.org/x/mod/sumdb/{note,tlog} in `tlogcheck`.
 * The log here is the real command (`vouch log init` then `vouch log serve` as a child process),
 * fed through `vouch log add` and concurrent HTTP adds, then checked by Go entry by entry, with
 * Go's proofs accepted by our verifier and Go's consistency check across growth.
 *
 * Skipped without Go (with the reason) except on CI, where that is a failure.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { formatBase64, toBytes } from '../../src/core/bytes/index.ts';
import { leafHash } from '../../src/core/merkle/index.ts';
import { verifierSet } from '../../src/core/note/index.ts';
import { createCheckpointVerifier } from '../../src/core/tlog/cosignature.ts';
import { checkTlogProof, parseTlogProof } from '../../src/core/tlog/proof.ts';
import { buildGoTlog, goCheckConsistency, goProveEntry, goTlogUnavailable, goVerifyLog } from './go-tlog.ts';

const vouchJs = join(import.meta.dirname, '..', '..', 'bin', 'vouch.js');
const origin = 'log.vouch.example/interop';
const reason = goTlogUnavailable();

function vouch(args: string[], cwd: string): string {
  const r = spawnSync(process.execPath, [vouchJs, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, VOUCH_PASSPHRASE: '' },
  });
  assert.equal(r.status, 0, `vouch ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

if (reason !== undefined && process.env.CI) {
  test('Go verifies a served log', () => assert.fail(`Go interop is required on CI: ${reason}`));
} else if (reason !== undefined) {
  test('Go verifies a served log', { skip: `skipped: ${reason}` }, () => undefined);
} else {
  let dir = '';
  let server: ChildProcess | undefined;
  let url = '';
  let vkey = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vouch-log-serve-'));
    await buildGoTlog();
    vkey = vouch(
      ['key', 'generate', '--type', 'ed25519', '--name', origin, '--out', 'log.key', '--unencrypted'],
      dir,
    ).trim();
    vouch(
      ['log', 'init', '--dir', 'log', '--origin', origin, '--key', 'log.key', '--batch-age-ms', '5'],
      dir,
    );
    server = spawn(process.execPath, [vouchJs, 'log', 'serve', '--dir', 'log', '--listen', '127.0.0.1:0'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`server did not start: ${seen}`)), 20_000);
      server?.stderr?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /serving log \S+ at (http:\/\/\S+\/)/.exec(seen);
        if (match) {
          clearTimeout(timer);
          resolve(match[1] as string);
        }
      });
    });
  });

  after(() => {
    server?.kill('SIGKILL');
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  test('Go verifies a log served by vouch log serve, as it grows', async () => {
    const empty = await goVerifyLog(url, vkey);
    assert.equal(empty.size, 0n);

    for (let i = 0; i < 3; i++) writeFileSync(join(dir, `file${i}`), `file entry ${i}\n`);
    const added = vouch(['log', 'add', '--log', url, 'file0', 'file1', 'file2'], dir)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      added.map((a) => a.index),
      [0, 1, 2],
    );
    const small = await goVerifyLog(url, vkey);
    assert.equal(small.size, 3n);

    // Concurrent clients over HTTP, bounded: 600 entries in 20 parallel streams, across tile edges.
    const acks = await Promise.all(
      Array.from({ length: 20 }, async (_, stream) => {
        const out: { index: number; leafHash: string; entry: string }[] = [];
        for (let i = 0; i < 30; i++) {
          const entry = `stream ${stream} entry ${i}`;
          const r = await fetch(`${url}add`, {
            method: 'POST',
            body: entry,
            signal: AbortSignal.timeout(10_000),
          });
          assert.equal(r.status, 200);
          const ack = (await r.json()) as { index: number; leafHash: string };
          out.push({ ...ack, entry });
        }
        return out;
      }),
    );
    const all = acks.flat();
    assert.equal(new Set(all.map((a) => a.index)).size, 600);
    for (const a of all) assert.equal(a.leafHash, formatBase64(leafHash(toBytes(a.entry))));

    const grown = await goVerifyLog(url, vkey);
    assert.equal(grown.size, 603n);
    assert.equal(grown.entries, 603);
    const consistency = await goCheckConsistency(url, vkey, small.size, small.root);
    assert.equal(consistency.size, 603n);

    const verifiers = verifierSet([createCheckpointVerifier(vkey)]);
    for (const a of all.filter((_, i) => i % 97 === 0)) {
      const proof = parseTlogProof(await goProveEntry(url, vkey, BigInt(a.index)));
      checkTlogProof(proof, leafHash(toBytes(a.entry)), origin, verifiers);
    }
  });
}
