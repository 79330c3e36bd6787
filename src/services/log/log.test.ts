import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHex, toBytes } from '../../core/bytes/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { leafHash, merkleTreeHash, verifyConsistency } from '../../core/merkle/index.ts';
import { createNoteSigner, formatVerifierKey, openNote, verifierSet } from '../../core/note/index.ts';
import { parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { createCheckpointVerifier } from '../../core/tlog/cosignature.ts';
import { type FaultHook, MemoryBlobStore, MemoryCasStore } from '../../storage/memory/memory.ts';
import { openSqlite } from '../../storage/sqlite/database.ts';
import { SqliteSequenceStore } from '../../storage/sqlite/sqlite-sequence.ts';
import { type AddResult, Log, type LogOptions } from './log.ts';

const origin = 'example.com/test-log';
const signer = createNoteSigner(createSigner(origin, generateKey('ed25519')));
const verifiers = verifierSet([createCheckpointVerifier(formatVerifierKey(signer))]);

interface World {
  files: MemoryBlobStore;
  cas: MemoryCasStore;
  options: LogOptions;
}

function world(overrides: Partial<LogOptions> = {}): World {
  const files = new MemoryBlobStore();
  const cas = new MemoryCasStore();
  const options: LogOptions = {
    origin,
    signer,
    files,
    checkpoint: cas.cell('log/checkpoint'),
    sequence: new SqliteSequenceStore(openSqlite(':memory:'), origin),
    batchAgeMs: 1,
    ...overrides,
  };
  return { files, cas, options };
}

const entry = (i: number | string): Uint8Array => toBytes(`entry ${i}`);

function checkpointOf(note: Uint8Array) {
  return parseCheckpoint(openNote(note, verifiers).text);
}

test('log: concurrent adds get consecutive indices and a checkpoint over exactly those entries', async () => {
  const w = world({ batchSize: 16 });
  const log = await Log.open(w.options);
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => log.add(entry(i))));
  const indices = results.map((r) => r.index).sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(
    indices,
    Array.from({ length: 100 }, (_, i) => BigInt(i)),
  );
  const byIndex = new Map(results.map((r, i) => [r.index, entry(i)]));
  const leaves = indices.map((i) => leafHash(byIndex.get(i) as Uint8Array));
  const final = checkpointOf(log.head.note);
  assert.equal(final.size, 100n);
  assert.equal(formatHex(final.root), formatHex(merkleTreeHash(leaves)));
  for (const r of results) {
    const cp = checkpointOf(r.checkpoint);
    assert.ok(r.index < cp.size, 'the acknowledging checkpoint includes the entry');
  }
  assert.deepEqual(w.files.blobs.get('checkpoint'), log.head.note, 'the published file is the head');
  await log.close();
});

test('log: dedup returns the first index; without dedup identical entries are logged twice', async () => {
  const w = world({ dedup: true });
  const log = await Log.open(w.options);
  const first = await log.add(entry('same'));
  const again = await log.add(entry('same'));
  assert.equal(again.index, first.index);
  assert.equal(again.duplicate, true);
  await log.close();
  const plain = await Log.open(world().options);
  const a = await plain.add(entry('same'));
  const b = await plain.add(entry('same'));
  assert.notEqual(a.index, b.index);
  await plain.close();
});

test('log: empty and oversized entries are refused, and a full queue pushes back', async () => {
  const log = await Log.open(world({ maxPending: 3, batchAgeMs: 1000 }).options);
  await assert.rejects(log.add(new Uint8Array(0)), (e) => isVouchError(e, 'malformed'));
  await assert.rejects(log.add(new Uint8Array(65536)), (e) => isVouchError(e, 'too-large'));
  const queued = [log.add(entry(1)), log.add(entry(2)), log.add(entry(3))];
  await assert.rejects(log.add(entry(4)), (e) => isVouchError(e, 'pushback'));
  await log.close();
  for (const p of queued) await assert.rejects(p, (e) => isVouchError(e, 'unavailable'));
});

test('log: a restart resumes from the stored head and keeps growing consistently', async () => {
  const w = world();
  const log = await Log.open(w.options);
  await Promise.all([1, 2, 3, 4, 5].map((i) => log.add(entry(i))));
  const before = log.head;
  await log.close();
  const again = await Log.open(w.options);
  assert.deepEqual(again.head.note, before.note);
  const r = await again.add(entry(6));
  assert.equal(r.index, 5n);
  await again.close();
});

// Fault injection: each row makes one kind of write fail once, before or after it persists.
// Progress must resume: every add is eventually acknowledged at a unique index and the
// checkpoints stay consistent.
const faultRows: { name: string; files?: FaultHook; cas?: FaultHook }[] = [
  {
    name: 'tile write fails, not persisted',
    files: once((op, key) => op === 'put' && key.startsWith('tile/0/'), 'fail-before'),
  },
  {
    name: 'tile write fails but persisted',
    files: once((op, key) => op === 'put' && key.startsWith('tile/0/'), 'fail-after'),
  },
  {
    name: 'bundle write fails',
    files: once((op, key) => op === 'put' && key.startsWith('tile/entries/'), 'fail-before'),
  },
  { name: 'checkpoint swap fails, not persisted', cas: once((op) => op === 'replace', 'fail-before', 1) },
  { name: 'checkpoint swap fails but persisted', cas: once((op) => op === 'replace', 'fail-after', 1) },
  { name: 'checkpoint publish fails', files: once((_op, key) => key === 'checkpoint', 'fail-before', 1) },
];

function once(
  match: (op: 'put' | 'replace', key: string) => boolean,
  outcome: 'fail-before' | 'fail-after',
  skip = 0,
): FaultHook {
  let seen = 0;
  let fired = false;
  return (op, key) => {
    if (fired || !match(op, key)) return 'ok';
    if (seen++ < skip) return 'ok';
    fired = true;
    return outcome;
  };
}

for (const row of faultRows) {
  test(`log fault: ${row.name}`, async () => {
    const w = world({ batchSize: 8 });
    const log = await Log.open(w.options);
    const notes: Uint8Array[] = [log.head.note];
    if (row.files) w.files.faults = row.files;
    if (row.cas) w.cas.faults = row.cas;
    // Whatever fails, an entry is acknowledged only once the published file covers it.
    const published = async (i: number): Promise<AddResult> => {
      const r = await log.add(entry(i));
      const file = checkpointOf(w.files.blobs.get('checkpoint') as Uint8Array);
      assert.ok(
        r.index < file.size,
        `entry ${r.index} acknowledged before a published checkpoint covered it`,
      );
      return r;
    };
    const settled = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => published(i)));
    const done = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    // Entries that failed before getting an index are reported, never silently lost: retry them.
    for (const [i, s] of settled.entries()) {
      if (s.status === 'rejected') {
        assert.ok(isVouchError(s.reason), String(s.reason));
        done.push(await published(i));
      }
    }
    notes.push(log.head.note);
    assert.equal(new Set(done.map((r: AddResult) => r.index)).size, 40);
    const sizes = notes.map(checkpointOf);
    verifyConsistencyOf(sizes[0], sizes[1], done);
    await log.close();
    // A restart after the fault agrees with the head and the published file.
    const again = await Log.open(w.options);
    assert.deepEqual(again.head.note, log.head.note);
    assert.deepEqual(w.files.blobs.get('checkpoint'), log.head.note);
    await again.close();
  });
}

function verifyConsistencyOf(
  a: ReturnType<typeof checkpointOf> | undefined,
  b: ReturnType<typeof checkpointOf> | undefined,
  results: AddResult[],
): void {
  assert.ok(a && b);
  const leaves = [...results].sort((x, y) => (x.index < y.index ? -1 : 1)).map((r) => r.leafHash);
  assert.equal(formatHex(b.root), formatHex(merkleTreeHash(leaves)));
  if (a.size > 0n) verifyConsistency(a.size, b.size, [], a.root, b.root);
}

test('log: entries sequenced before a crash are integrated when the log opens again', async () => {
  const w = world();
  const log = await Log.open(w.options);
  await log.add(entry('before'));
  // The swap fails for good: the batch is sequenced but never committed, as in a crash.
  w.cas.faults = () => 'fail-before';
  const lost = log.add(entry('crashed'));
  await new Promise((resolve) => setTimeout(resolve, 30));
  w.cas.faults = () => 'ok';
  const crashedHead = log.head.note;
  await log.close();
  await assert.rejects(lost, (e) => isVouchError(e, 'unavailable'));
  const again = await Log.open(w.options);
  assert.equal(checkpointOf(crashedHead).size, 1n);
  assert.equal(checkpointOf(again.head.note).size, 2n, 'the sequenced entry is integrated at start-up');
  await again.close();
});

test('log: rounds that keep failing answer sequenced entries with unavailable, and publish them on recovery', async () => {
  const w = world({ dedup: true });
  const log = await Log.open(w.options);
  await log.add(entry('before'));
  // Every tile write fails, as on a full disk: the entry is sequenced but cannot be published.
  w.files.faults = (op, key) => (op === 'put' && key.startsWith('tile/') ? 'fail-before' : 'ok');
  const started = Date.now();
  await assert.rejects(
    log.add(entry('stuck')),
    (e) =>
      isVouchError(e, 'unavailable') &&
      /stored at index 1 but the log cannot publish a checkpoint now/.test(e.message) &&
      e.details['retryAfterSeconds'] === 5,
  );
  assert.ok(Date.now() - started < 5_000, 'answered after a few rounds, not left to the client timeout');
  // Space is back: the log keeps retrying on its own and publishes the stored entry, and the
  // client's retry gets its index.
  w.files.faults = () => 'ok';
  for (let i = 0; i < 100 && checkpointOf(log.head.note).size < 2n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(checkpointOf(log.head.note).size, 2n, 'published without another add');
  const retried = await log.add(entry('stuck'));
  assert.equal(retried.index, 1n);
  assert.equal(checkpointOf(log.head.note).size, 2n);
  await log.close();
});

test('log: tiles that do not reproduce the stored root stop the log from starting', async () => {
  const w = world();
  const log = await Log.open(w.options);
  await Promise.all([1, 2, 3].map((i) => log.add(entry(i))));
  await log.close();
  const tile = w.files.blobs.get('tile/0/000.p/3') as Uint8Array;
  tile[0] = (tile[0] as number) ^ 1;
  await assert.rejects(Log.open(w.options), (e) => isVouchError(e, 'invariant'));
});

test('log: two sequencers sharing one store never fork the log', async () => {
  const files = new MemoryBlobStore();
  const cas = new MemoryCasStore();
  const db = openSqlite(':memory:');
  const shared = (): LogOptions => ({
    origin,
    signer,
    files,
    checkpoint: cas.cell('log/checkpoint'),
    sequence: new SqliteSequenceStore(db, origin),
    batchSize: 4,
    batchAgeMs: 1,
  });
  const [a, b] = [await Log.open(shared()), await Log.open(shared())];
  const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).add(entry(i))));
  assert.equal(new Set(results.map((r) => r.index)).size, 60, 'no index is handed out twice');
  const head = checkpointOf((await cas.cell('log/checkpoint').read()) as Uint8Array);
  const byIndex = [...results].sort((x, y) => (x.index < y.index ? -1 : 1));
  assert.equal(head.size, 60n);
  assert.equal(formatHex(head.root), formatHex(merkleTreeHash(byIndex.map((r) => r.leafHash))));
  for (const r of results) {
    const cp = checkpointOf(r.checkpoint);
    // Every acknowledging checkpoint is a prefix of the final tree.
    const prefix = merkleTreeHash(byIndex.slice(0, Number(cp.size)).map((x) => x.leafHash));
    assert.equal(formatHex(cp.root), formatHex(prefix));
  }
  await Promise.all([a.close(), b.close()]);
});
