import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toBytes, toText } from '../../core/bytes/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { verifyConsistency } from '../../core/merkle/index.ts';
import {
  createNoteSigner,
  formatSignatureLine,
  formatVerifierKey,
  openNote,
  parseNote,
  signNote,
  signText,
  verifierSet,
} from '../../core/note/index.ts';
import { parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import {
  createCheckpointVerifier,
  createCosignatureVerifier,
  createCosigner,
} from '../../core/tlog/cosignature.ts';
import { MemoryBlobStore, MemoryCasStore } from '../../storage/memory/memory.ts';
import { openSqlite } from '../../storage/sqlite/database.ts';
import { SqliteSequenceStore } from '../../storage/sqlite/sqlite-sequence.ts';
import { Log } from './log.ts';
import { thresholdQuorum, type Witness, WitnessCollector } from './witnesses.ts';

const origin = 'example.com/witnessed-log';
const logSigner = createNoteSigner(createSigner(origin, generateKey('ed25519')));

type Behaviour = 'honest' | 'down' | 'forbidden' | 'lies';

/**
 * A minimal in-memory witness behind an injected fetch: it keeps the size it last cosigned,
 * answers 409 with that size when `old` differs, checks the consistency proof, and cosigns.
 */
function fakeWitness(name: string, behaviour: () => Behaviour) {
  const signer = createCosigner(createSigner(name, generateKey('ed25519')), { timestamp: 1_700_000_000n });
  let size = 0n;
  let root: Uint8Array | undefined;
  const requests: bigint[] = [];
  const handle = async (body: string): Promise<Response> => {
    const mode = behaviour();
    if (mode === 'down') throw new TypeError('fetch failed');
    if (mode === 'forbidden') return new Response('unknown log\n', { status: 404 });
    const [head = '', rest = ''] = body.split(/\n\n(?=[^\n]*\n\d+\n)/);
    const lines = head.split('\n');
    const old = BigInt((lines[0] ?? '').slice(4));
    requests.push(old);
    if (old !== size)
      return new Response(`${size}\n`, { status: 409, headers: { 'content-type': 'text/x.tlog.size' } });
    const note = openNote(
      toBytes(rest),
      verifierSet([createCheckpointVerifier(formatVerifierKey(logSigner))]),
    );
    const cp = parseCheckpoint(note.text);
    const proof = lines
      .slice(1)
      .filter((l) => l !== '')
      .map((l) => Uint8Array.from(Buffer.from(l, 'base64')));
    if (old > 0n && root !== undefined) verifyConsistency(old, cp.size, proof, root, cp.root);
    size = cp.size;
    root = cp.root;
    const text = mode === 'lies' ? note.text.replace(/\n\d+\n/, '\n999\n') : note.text;
    return new Response(`${formatSignatureLine(await signText(text, signer))}\n`, { status: 200 });
  };
  const witness: Witness = {
    name,
    verifier: createCosignatureVerifier(formatVerifierKey(signer)),
    url: `http://${name}/`,
  };
  return { witness, handle, requests, vkey: formatVerifierKey(signer) };
}

function fetchFor(witnesses: ReturnType<typeof fakeWitness>[]): typeof fetch {
  return (async (input: URL | string | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const w = witnesses.find((x) => x.witness.url === `http://${url.host}/`);
    if (w === undefined || url.pathname !== '/add-checkpoint') return new Response('', { status: 404 });
    return w.handle(toText(init?.body as Uint8Array));
  }) as typeof fetch;
}

async function witnessedLog(witnesses: ReturnType<typeof fakeWitness>[], k: number) {
  const files = new MemoryBlobStore();
  const collector = new WitnessCollector({
    witnesses: witnesses.map((w) => w.witness),
    isQuorum: thresholdQuorum(k),
    files,
    fetch: fetchFor(witnesses),
    timeoutMs: 1000,
  });
  const log = await Log.open({
    origin,
    signer: logSigner,
    files,
    checkpoint: new MemoryCasStore().cell('c'),
    sequence: new SqliteSequenceStore(openSqlite(':memory:'), origin),
    batchAgeMs: 1,
    cosign: (note) => collector.cosign(note),
  });
  return { log, collector, files };
}

test('witnessed log: checkpoints are published only with a 2-of-3 quorum of verified cosignatures', async () => {
  const ws = ['w1.example', 'w2.example', 'w3.example'].map((n) => fakeWitness(n, () => 'honest'));
  const { log, files } = await witnessedLog(ws, 2);
  for (let i = 0; i < 5; i++) await log.add(toBytes(`entry ${i}`));
  const published = files.blobs.get('checkpoint') as Uint8Array;
  const opened = openNote(
    published,
    verifierSet([
      createCheckpointVerifier(formatVerifierKey(logSigner)),
      ...ws.map((w) => createCheckpointVerifier(w.vkey)),
    ]),
  );
  assert.ok(opened.verified.length >= 3, 'the log and at least the quorum of two witnesses');
  // Witnesses learned the log's size from 409 only once, then got proofs from their own size.
  for (const w of ws) assert.ok(w.requests.filter((old) => old === 0n).length <= 2);
  await log.close();
});

test('witnessed log: one witness down still meets 2-of-3 and is reported missing', async () => {
  const ws = [
    fakeWitness('w1.example', () => 'honest'),
    fakeWitness('w2.example', () => 'down'),
    fakeWitness('w3.example', () => 'honest'),
  ];
  const { log, collector } = await witnessedLog(ws, 2);
  const r = await log.add(toBytes('x'));
  assert.equal(r.index, 0n);
  const missing = collector.lastOutcomes.filter((o) => !o.cosigned).map((o) => o.name);
  assert.deepEqual(missing, ['w2.example']);
  await log.close();
});

test('witnessed log: without a quorum nothing is published, entries wait, and publish when witnesses return', async () => {
  let mode: Behaviour = 'down';
  const ws = ['w1.example', 'w2.example'].map((n) => fakeWitness(n, () => mode));
  const { log, files } = await witnessedLog(ws, 2);
  const before = files.blobs.get('checkpoint');
  const pending = log.add(toBytes('waits'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(files.blobs.get('checkpoint'), before, 'no checkpoint without the quorum');
  assert.equal(log.pending, 1);
  mode = 'honest';
  const r = await pending;
  assert.equal(parseCheckpoint(parseNote(r.checkpoint).text).size, 1n);
  await log.close();
});

test('witness collector: a lying or refusing witness does not count', async () => {
  const ws = [fakeWitness('w1.example', () => 'lies'), fakeWitness('w2.example', () => 'forbidden')];
  const files = new MemoryBlobStore();
  const collector = new WitnessCollector({
    witnesses: ws.map((w) => w.witness),
    isQuorum: thresholdQuorum(1),
    files,
    fetch: fetchFor(ws),
  });
  const note = await signNote(`${origin}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n`, [logSigner]);
  await assert.rejects(collector.cosign(note), (e) => isVouchError(e, 'policy-unmet'));
  const reasons = collector.lastOutcomes.map((o) => o.reason ?? '');
  assert.match(reasons[0] ?? '', /does not verify/);
  assert.match(reasons[1] ?? '', /404/);
});
