/**
 * The witness against independent and in-tree peers. (1) Go: a static C2SP log is cosigned by a
 * Vouch witness over HTTP, the cosignature is appended to the log's published checkpoint, and
 * `tlogcheck` (golang.org/x/mod/sumdb/note with its own cosignature/v1 verifier) verifies the log
 * signature and the witness's cosignature, before and after the log grows and is cosigned again
 * with a consistency proof built by our Merkle code from the log's tiles. Skipped without Go, a
 * failure on CI. (2) The log's own witness client (services/log/witnesses.ts), which speaks the
 * protocol from the other side, reaches a 2-of-2 quorum with two Vouch witnesses, learning their
 * sizes from 409 answers.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { concatBytes, toBytes } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey } from '../../src/core/crypto/index.ts';
import { leafHash, proveConsistency } from '../../src/core/merkle/index.ts';
import { createNoteSigner, formatVerifierKey, openNote, verifierSet } from '../../src/core/note/index.ts';
import { createCheckpointVerifier } from '../../src/core/tlog/cosignature.ts';
import { formatAddCheckpointRequest } from '../../src/core/tlog/witness-request.ts';
import { serve } from '../../src/faces/http/http.ts';
import { createWitnessHandler } from '../../src/faces/http/witness.ts';
import { thresholdQuorum, WitnessCollector } from '../../src/services/log/witnesses.ts';
import { Witness } from '../../src/services/witness/witness.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';
import { MemoryCasStore } from '../../src/storage/memory/memory.ts';
import { createStaticLog, serveStaticFolder } from '../support/static-log.ts';
import { buildGoTlog, goTlogUnavailable, goVerifyLog } from './go-tlog.ts';

const work = await mkdtemp(join(tmpdir(), 'vouch-witness-interop-'));
after(() => rm(work, { recursive: true, force: true }));

const origin = 'log.vouch.example/witnessed';
const logKey = createSigner(origin, generateKey('ed25519'));
const logVkey = formatVerifierKey(createNoteSigner(logKey, origin));

async function startWitness(name: string, clock: () => bigint) {
  const witness = new Witness({
    name,
    keys: [createSigner(name, generateKey('ed25519'))],
    logs: (o) => (o === origin ? verifierSet([createCheckpointVerifier(logVkey)]) : undefined),
    store: new MemoryCasStore(),
    now: clock,
  });
  const server = await serve(createWitnessHandler({ witness }), {
    host: '127.0.0.1',
    port: 0,
    log: () => undefined,
  });
  after(() => server.close());
  return { witness, url: `${server.url}/`, vkey: witness.vkeys[0] as string };
}

const reason = goTlogUnavailable();
if (reason !== undefined && process.env.CI) {
  test('Go verifies a witness cosignature', () => assert.fail(`Go interop is required on CI: ${reason}`));
} else if (reason !== undefined) {
  test('Go verifies a witness cosignature', { skip: `skipped: ${reason}` }, () => undefined);
} else {
  test('Go verifies the log signature and a Vouch witness cosignature on a served log, as it grows', async () => {
    await buildGoTlog();
    const dir = join(work, 'go-log');
    const log = await createStaticLog(dir, origin, logKey);
    const files = new FsBlobStore(dir);
    const entries: Uint8Array[] = [];
    let now = 0n;
    const { url: witnessUrl, vkey: witnessVkey } = await startWitness('witness.vouch.example/go', () => now);
    const site = await serveStaticFolder(dir);
    after(() => site.close());

    let old = 0n;
    for (const [batch, clock] of [
      [7, 1_760_000_000n],
      [300, 1_760_000_100n],
    ] as const) {
      now = clock;
      const batchEntries = Array.from({ length: batch }, (_, i) => toBytes(`entry ${entries.length + i}`));
      entries.push(...batchEntries);
      const checkpoint = await log.append(batchEntries);
      const leaves = entries.map(leafHash);
      const proof = old === 0n ? [] : proveConsistency(leaves, old, log.size);
      const r = await fetch(`${witnessUrl}add-checkpoint`, {
        method: 'POST',
        body: formatAddCheckpointRequest({ old, proof, checkpoint }),
      });
      assert.equal(r.status, 200, await r.clone().text());
      // The witness's answer is appended to the checkpoint as is, as tlog-witness suggests.
      await files.publish('checkpoint', concatBytes(checkpoint, new Uint8Array(await r.arrayBuffer())));
      const summary = await goVerifyLog(site.url, logVkey, [witnessVkey]);
      assert.equal(summary.size, log.size);
      assert.equal(summary.entries, entries.length);
      const keyId = witnessVkey.split('+')[1];
      assert.deepEqual(summary.cosignatures, [
        { key: `witness.vouch.example/go+${keyId}`, timestamp: clock },
      ]);
      old = log.size;
    }
  });
}

test("the log's witness client reaches a 2-of-2 quorum with two Vouch witnesses, learning sizes from 409", async () => {
  const dir = join(work, 'collector-log');
  const log = await createStaticLog(dir, origin, logKey);
  const files = new FsBlobStore(dir);
  const a = await startWitness('witness.vouch.example/a', () => 1_760_000_200n);
  const b = await startWitness('witness.vouch.example/b', () => 1_760_000_300n);
  const collector = () =>
    new WitnessCollector({
      witnesses: [a, b].map((w) => ({
        name: w.witness.name,
        verifier: createCheckpointVerifier(w.vkey),
        url: w.url,
      })),
      isQuorum: thresholdQuorum(2),
      files,
    });
  const first = await collector().cosign(await log.append([toBytes('one'), toBytes('two')]));
  // A fresh client (a restarted log) believes both witnesses are at 0: each answers 409 with its size.
  const second = await collector().cosign(
    await log.append(Array.from({ length: 40 }, (_, i) => toBytes(`e${i}`))),
  );
  for (const [note, size] of [
    [first, 2n],
    [second, 42n],
  ] as const) {
    const opened = openNote(
      note,
      verifierSet([
        createCheckpointVerifier(logVkey),
        createCheckpointVerifier(a.vkey),
        createCheckpointVerifier(b.vkey),
      ]),
    );
    assert.equal(opened.verified.length, 3);
    assert.match(opened.text, new RegExp(`\n${size}\n`));
  }
  assert.equal((await a.witness.state(origin))?.checkpoint.size, 42n);
  assert.equal((await b.witness.state(origin))?.checkpoint.size, 42n);
});
