/**
 * A witness that lies (issue 10, faults). The release log (services/log with the real
 * WitnessCollector) runs in process with two witnesses over loopback HTTP: an honest one (the
 * real services/witness behind its HTTP face) and a liar, a small C2SP tlog-witness server
 * written here that answers `add-checkpoint` the way it is told to:
 *
 * - `bad-signature`: its own cosignature line with one bit of the signature flipped;
 * - `other-tree`: a valid cosignature by its key, but of another checkpoint of the same size;
 * - `unknown-key`: a valid cosignature by a key the policy does not name;
 * - `fork`: a valid cosignature of whatever the log signed, with no memory — so it also cosigns
 *   a forked history of a size it cosigned, which an honest witness refuses with 409.
 *
 * Checked: with a 2-of-2 policy the log refuses to count a lie (the quorum is unmet, nothing is
 * published, the add is not acknowledged, and the log's line and status name the liar and why),
 * and publishes as soon as the liar tells the truth again, acknowledging the waiting entry; with a
 * 1-of-2 policy the lie is left out of the published note. A forked checkpoint the liar cosigned
 * is refused by a client under the policy (the checks the agent's release verification uses:
 * LogClient/openCheckpoint and checkTlogProofPolicy), naming the missing honest witness; and
 * the monitor, shown the liar's monitoring endpoint, reports the fork with the liar's view.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openCheckpoint } from '../../src/clients/log/client.ts';
import { type MonitorEvent, pollOnce } from '../../src/clients/monitor/monitor.ts';
import { collectBytes, toBytes, toText } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey, sha256 } from '../../src/core/crypto/index.ts';
import { isVouchError } from '../../src/core/errors.ts';
import { leafHash } from '../../src/core/merkle/index.ts';
import { formatNote, parseNote, verifierSet } from '../../src/core/note/index.ts';
import { formatCheckpoint, parseCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import {
  createCheckpointVerifier,
  createCosignatureVerifier,
  signCosignature,
} from '../../src/core/tlog/cosignature.ts';
import { type Policy, parsePolicy } from '../../src/core/tlog/policy.ts';
import { formatTlogProof } from '../../src/core/tlog/proof.ts';
import { checkTlogProofPolicy, evaluateQuorum } from '../../src/core/tlog/quorum.ts';
import {
  formatAddCheckpointRequest,
  formatCosignatureLines,
  parseAddCheckpointRequest,
} from '../../src/core/tlog/witness-request.ts';
import { type RunningServer, serve } from '../../src/faces/http/http.ts';
import { createWitnessHandler } from '../../src/faces/http/witness.ts';
import { Log } from '../../src/services/log/log.ts';
import { WitnessCollector, type WitnessOutcome } from '../../src/services/log/witnesses.ts';
import { originHashOf, Witness } from '../../src/services/witness/witness.ts';
import { MemoryBlobStore, MemoryCasStore } from '../../src/storage/memory/memory.ts';
import { openSqlite } from '../../src/storage/sqlite/database.ts';
import { SqliteSequenceStore } from '../../src/storage/sqlite/sqlite-sequence.ts';
import { forgedCheckpoint, type KeyedParty, makeParty } from '../support/fault-world.ts';
import { sleep } from './log-fault.ts';

type Lie = 'truth' | 'bad-signature' | 'other-tree' | 'unknown-key' | 'fork';

/** Liar is the lying witness: its mode can change between requests. */
interface Liar {
  readonly url: string;
  readonly party: KeyedParty;
  lie: Lie;
  /** latest is the last note it cosigned, served on its monitoring endpoint. */
  latest: Uint8Array | undefined;
  requests: number;
  close(): Promise<void>;
}

let work = '';
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  if (work !== '') await rm(work, { recursive: true, force: true });
});

async function startLiar(party: KeyedParty, origin: string): Promise<Liar> {
  const stranger = createSigner(party.name, generateKey('ed25519'));
  let clock = 1_800_000_000n;
  const liar: Liar = {
    url: '',
    party,
    lie: 'truth',
    latest: undefined,
    requests: 0,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method === 'GET' && req.url === `/${originHashOf(origin)}/checkpoint`) {
        if (liar.latest === undefined) res.writeHead(404).end();
        else res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(liar.latest);
        return;
      }
      if (req.method !== 'POST' || req.url !== '/add-checkpoint') {
        res.writeHead(404).end();
        return;
      }
      liar.requests++;
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const request = parseAddCheckpointRequest(new Uint8Array(Buffer.concat(chunks)));
      const note = parseNote(request.checkpoint);
      const checkpoint = parseCheckpoint(note.text);
      clock += 1n;
      let text = note.text;
      let signer = party.signer;
      if (liar.lie === 'other-tree')
        text = formatCheckpoint({ ...checkpoint, root: sha256(toBytes(`not ${note.text}`)) });
      if (liar.lie === 'unknown-key') signer = stranger;
      const cosignature = await signCosignature(signer, text, clock, party.name);
      const signature = new Uint8Array(cosignature.signature);
      if (liar.lie === 'bad-signature') signature[signature.length - 1] = (signature.at(-1) ?? 0) ^ 1;
      const line = { name: cosignature.name, keyId: cosignature.keyId, signature };
      if (liar.lie === 'truth' || liar.lie === 'fork')
        liar.latest = formatNote({ text: note.text, signatures: [...note.signatures, line] });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(formatCosignatureLines([line]));
    })().catch((error: unknown) => {
      res.writeHead(400).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  closers.push(close);
  return Object.assign(liar, { url: `http://127.0.0.1:${port}/`, close });
}

/** World is one log with an honest witness and a liar under a policy of `k` of the two. */
interface World {
  readonly logParty: KeyedParty;
  readonly log: Log;
  readonly files: MemoryBlobStore;
  readonly collector: WitnessCollector;
  readonly policy: Policy;
  readonly liar: Liar;
  readonly honestUrl: string;
  readonly lines: string[];
}

async function makeWorld(tag: string, k: 'all' | 'any'): Promise<World> {
  if (work === '') work = await mkdtemp(join(tmpdir(), 'vouch-lying-witness-'));
  const logParty = await makeParty(work, `${tag}-log.key`, `example.com/lying-${tag}`);
  const honestParty = await makeParty(work, `${tag}-honest.key`, `honest.${tag}.example`);
  const liarParty = await makeParty(work, `${tag}-liar.key`, `liar.${tag}.example`);
  const honest = new Witness({
    name: honestParty.name,
    keys: [honestParty.signer],
    logs: (o) => (o === logParty.name ? verifierSet([createCheckpointVerifier(logParty.vkey)]) : undefined),
    store: new MemoryCasStore(),
    now: () => BigInt(Math.floor(Date.now() / 1000)),
  });
  const honestServer: RunningServer = await serve(createWitnessHandler({ witness: honest }), {
    host: '127.0.0.1',
    port: 0,
    log: () => undefined,
  });
  closers.push(async () => {
    honestServer.server.closeAllConnections();
    await honestServer.close();
  });
  const honestUrl = `${honestServer.url}/`;
  const liar = await startLiar(liarParty, logParty.name);
  const policy = parsePolicy(
    toBytes(
      [
        `log ${logParty.vkey}`,
        `witness honest ${honestParty.cosignerVkey} ${honestUrl}`,
        `witness liar ${liarParty.cosignerVkey} ${liar.url}`,
        `group quorum ${k} honest liar`,
        'quorum quorum',
        '',
      ].join('\n'),
    ),
  );
  const files = new MemoryBlobStore();
  const lines: string[] = [];
  const collector = new WitnessCollector({
    witnesses: [
      { name: 'honest', verifier: createCosignatureVerifier(honestParty.cosignerVkey), url: honestUrl },
      { name: 'liar', verifier: createCosignatureVerifier(liarParty.cosignerVkey), url: liar.url },
    ],
    isQuorum: (cosigned) => evaluateQuorum(policy, cosigned).met,
    files,
    attempts: 1,
    log: (line) => lines.push(line),
  });
  const log = await Log.open({
    origin: logParty.name,
    signer: logParty.noteSigner,
    files,
    checkpoint: new MemoryCasStore().cell('log/checkpoint'),
    sequence: new SqliteSequenceStore(openSqlite(':memory:'), logParty.name),
    batchAgeMs: 1,
    dedup: true, // a client's retry of a stored entry is answered with its first index
    cosign: (note) => collector.cosign(note),
    log: (line) => lines.push(line),
  });
  closers.push(() => log.close());
  return { logParty, log, files, collector, policy, liar, honestUrl, lines };
}

async function published(w: World): Promise<{ note: Uint8Array; size: bigint }> {
  const note = (await w.files.get('checkpoint')) as Uint8Array;
  return { note, size: parseCheckpoint(parseNote(note).text).size };
}

const liarOutcome = (w: World): WitnessOutcome | undefined =>
  w.collector.lastOutcomes.find((o) => o.name === 'liar');

for (const lie of ['bad-signature', 'other-tree', 'unknown-key'] as const) {
  test(`lying witness (${lie}), 2 of 2: not counted, nothing published, the liar named; the truth publishes`, async () => {
    const w = await makeWorld(lie, 'all');
    await w.log.add(toBytes('entry 0, witnessed truthfully'));
    const before = await published(w);
    assert.equal(before.size, 1n);
    w.liar.lie = lie;
    const requestsBefore = w.liar.requests;
    let acked = false;
    let answered: unknown;
    const entry1 = toBytes(`entry 1, while the liar lies (${lie})`);
    const adding = w.log.add(entry1).then(
      (r) => {
        acked = true;
        return r;
      },
      (error: unknown) => {
        answered = error;
        return undefined;
      },
    );
    // Several rounds fail while the liar lies: each is refused, none publishes, none acknowledges.
    for (let i = 0; i < 100 && w.liar.requests < requestsBefore + 3; i++) await sleep(20);
    assert.ok(w.liar.requests >= requestsBefore + 2, 'the log asked the liar again');
    assert.equal(acked, false, 'an entry was acknowledged without the quorum');
    const during = await published(w);
    assert.equal(during.size, before.size, 'a checkpoint without its quorum was published');
    assert.deepEqual(during.note, before.note);
    const outcome = liarOutcome(w);
    assert.equal(outcome?.cosigned, false);
    assert.match(outcome?.reason ?? '', /signature|cosignature|verif/i, `reason: ${outcome?.reason}`);
    assert.ok(
      w.lines.some((l) => /witness liar did not cosign size 2/.test(l)),
      `the log names the liar:\n${w.lines.join('\n')}`,
    );
    assert.ok(w.lines.some((l) => /witness quorum not met for size 2: missing liar/.test(l)));
    // After a few failed rounds the client is answered: stored, not yet publishable, retry.
    assert.equal(await adding, undefined, 'an entry was acknowledged without the quorum');
    assert.ok(isVouchError(answered, 'unavailable'), String(answered));
    assert.match((answered as Error).message, /stored at index 1 but the log cannot publish.*missing liar/);
    // The liar tells the truth again: the stored entry is published under a quorum checkpoint,
    // and the client's retry is answered with its index.
    w.liar.lie = 'truth';
    const result = await w.log.add(entry1);
    assert.equal(result.index, 1n);
    const { cosigners } = openCheckpoint(result.checkpoint, { policy: w.policy });
    assert.deepEqual(
      cosigners.map((c) => c.witness),
      ['honest', 'liar'],
    );
  });
}

test('lying witness, 1 of 2: a bad cosignature is left out of the published note', async () => {
  const w = await makeWorld('any', 'any');
  w.liar.lie = 'bad-signature';
  const result = await w.log.add(toBytes('entry under a 1-of-2 policy'));
  const note = parseNote(result.checkpoint);
  assert.deepEqual(
    note.signatures.map((s) => s.name),
    [w.logParty.name, 'honest.any.example'],
    'only the log and the honest witness signed the published note',
  );
  const { cosigners } = openCheckpoint(result.checkpoint, { policy: w.policy });
  assert.deepEqual(
    cosigners.map((c) => c.witness),
    ['honest'],
  );
});

test('lying witness cosigns a fork: clients refuse it under the policy, the monitor reports it naming the liar', async () => {
  const w = await makeWorld('fork', 'all');
  for (let i = 0; i < 3; i++) await w.log.add(toBytes(`release ${i}`));
  const real = await published(w);
  assert.equal(real.size, 3n);
  // Coerced, the operator signs another tree of size 3 holding a targeted release.
  w.liar.lie = 'fork';
  const evil = toBytes('release 2, targeted at one victim');
  const forkRoot = sha256(toBytes('a forked tree'));
  const forked = await forgedCheckpoint(w.logParty, 3n, forkRoot);
  const request = formatAddCheckpointRequest({ old: 3n, proof: [], checkpoint: forked });
  const honestAnswer = await fetch(`${w.honestUrl}add-checkpoint`, { method: 'POST', body: request });
  assert.equal(honestAnswer.status, 409, 'the honest witness refuses another tree of a size it cosigned');
  await honestAnswer.body?.cancel();
  const liarAnswer = await fetch(`${w.liar.url}add-checkpoint`, { method: 'POST', body: request });
  assert.equal(liarAnswer.status, 200, 'the liar cosigns the fork');
  const liarLines = await collectBytes(liarAnswer.body as ReadableStream<Uint8Array>, 1 << 16, 'answer');
  const forkedNote = toBytes(`${toText(forked)}${toText(liarLines)}`);

  // A client under the policy (as the agent checks a release's tlog-proof) refuses it.
  assert.throws(
    () => openCheckpoint(forkedNote, { policy: w.policy }),
    (e: unknown) => isVouchError(e, 'policy-unmet') && /"honest"/.test(e.message),
  );
  // A single-leaf fork: the targeted release at index 0 of a tree of size 1, cosigned by the liar.
  const single = await forgedCheckpoint(w.logParty, 1n, leafHash(evil));
  const singleLines = await (
    await fetch(`${w.liar.url}add-checkpoint`, {
      method: 'POST',
      body: formatAddCheckpointRequest({ old: 0n, proof: [], checkpoint: single }),
    })
  ).text();
  const proof = formatTlogProof({
    index: 0n,
    proof: [],
    checkpoint: toBytes(`${toText(single)}${singleLines}`),
  });
  assert.throws(
    () => checkTlogProofPolicy(proof, leafHash(evil), w.policy),
    (e: unknown) =>
      isVouchError(e, 'policy-unmet') &&
      /needs 2 of its 2 members and has 1/.test(e.message) &&
      /"honest"/.test(e.message),
  );

  // The monitor follows the real log and compares the liar's view (it now shows the size-3 fork).
  w.liar.latest = forkedNote;
  const events: MonitorEvent[] = [];
  const result = await pollOnce({
    log: { get: (path) => w.files.get(path) },
    logName: 'release log',
    logKey: createCheckpointVerifier(w.logParty.vkey),
    verify: (signed) => {
      const opened = openCheckpoint(signed, { policy: w.policy });
      return { checkpoint: opened.checkpoint, cosigners: opened.cosigners.map((c) => c.witness) };
    },
    sources: [
      {
        name: `witness liar (${w.liar.url})`,
        checkpoint: async () => {
          const response = await fetch(`${w.liar.url}${originHashOf(w.logParty.name)}/checkpoint`);
          return response.status === 404 ? undefined : new Uint8Array(await response.arrayBuffer());
        },
      },
    ],
    state: { load: async () => undefined, save: async () => undefined },
    emit: (event) => events.push(event),
  });
  assert.equal(result.ok, false);
  const fork = events.find((e) => e.event === 'fork');
  assert.ok(fork !== undefined && fork.event === 'fork', JSON.stringify(events));
  assert.match(fork.reason, /two different trees of size 3/);
  assert.ok(
    fork.views.some((v) => v.source.includes('witness liar')),
    'the fork report names the liar',
  );
  // And the log itself never published the fork.
  assert.deepEqual((await published(w)).note, real.note);
});
