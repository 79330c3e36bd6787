import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { ConflictError, isVouchError } from '../../core/errors.ts';
import { parseNote } from '../../core/note/index.ts';
import { createCheckpointVerifier, verifyCosignature } from '../../core/tlog/cosignature.ts';
import type { CasStore } from '../../storage/cas.ts';
import { MemoryCasStore } from '../../storage/memory/memory.ts';
import { openSqlite } from '../../storage/sqlite/database.ts';
import { SqliteCasStore } from '../../storage/sqlite/sqlite-cas.ts';
import { testWitness } from './suite.ts';
import { testingOnlyLog } from './testing.ts';
import { originHashOf, Witness } from './witness.ts';

const dir = await mkdtemp(join(tmpdir(), 'vouch-witness-'));
after(() => rm(dir, { recursive: true, force: true }));

testWitness('memory', async () => new MemoryCasStore());
let files = 0;
testWitness('sqlite', async () => new SqliteCasStore(openSqlite(join(dir, `suite-${files++}.db`))));

const name = 'witness.example/w1';
const key = createSigner(name, generateKey('ed25519'));
const log = testingOnlyLog('log.example/restart');

function witnessOn(store: CasStore, now: () => bigint = () => 1_700_000_000n): Witness {
  return new Witness({
    name,
    keys: [key],
    logs: (origin) => (origin === log.origin ? log.verifiers : undefined),
    store,
    now,
  });
}

test('a restarted witness (a new object on the same SQLite file) keeps its state', async () => {
  const path = join(dir, 'restart.db');
  const first = openSqlite(path);
  const before = witnessOn(new SqliteCasStore(first));
  await before.processAddCheckpoint(await log.request(0n, 10n));
  const note = await before.latestCheckpoint(originHashOf(log.origin));
  first.close();

  const second = openSqlite(path);
  try {
    const after = witnessOn(new SqliteCasStore(second));
    assert.equal((await after.state(log.origin))?.checkpoint.size, 10n);
    assert.deepEqual(await after.latestCheckpoint(originHashOf(log.origin)), note);
    // It still answers 409 to a client that believes it never cosigned, and moves on from 10.
    await assert.rejects(after.processAddCheckpoint(await log.request(0n, 12n)), (e) => {
      return isVouchError(e, 'conflict') && e.details.size === 10n;
    });
    await after.processAddCheckpoint(await log.request(10n, 12n));
    assert.equal((await after.state(log.origin))?.checkpoint.size, 12n);
  } finally {
    second.close();
  }
});

test('a write that fails before it persists leaves the state; one that fails after it moves it', async () => {
  const store = new MemoryCasStore();
  const witness = witnessOn(store);
  await witness.processAddCheckpoint(await log.request(0n, 4n));

  store.faults = () => 'fail-before';
  await assert.rejects(witness.processAddCheckpoint(await log.request(4n, 6n)), (e) =>
    isVouchError(e, 'unavailable'),
  );
  assert.equal((await witness.state(log.origin))?.checkpoint.size, 4n);

  store.faults = () => 'fail-after';
  await assert.rejects(witness.processAddCheckpoint(await log.request(4n, 6n)), (e) =>
    isVouchError(e, 'unavailable'),
  );
  assert.equal((await witness.state(log.origin))?.checkpoint.size, 6n);

  // The client, never answered, retries: it learns 6 from the 409 and gets the same checkpoint cosigned.
  store.faults = () => 'ok';
  await assert.rejects(witness.processAddCheckpoint(await log.request(4n, 6n)), (e) => {
    return isVouchError(e, 'conflict') && e.details.size === 6n;
  });
  const [cosignature] = await witness.processAddCheckpoint(await log.request(6n, 6n));
  assert.ok(cosignature !== undefined);
  const text = parseNote(await log.checkpoint(6n)).text;
  verifyCosignature(createCheckpointVerifier(witness.vkeys[0] as string), text, cosignature);
});

test('a witness that keeps losing swaps pushes back instead of answering from stale state', async () => {
  const inner = new MemoryCasStore();
  let writes = 0;
  // Every replace finds that another writer got there first, with the same state it read.
  const store: CasStore = {
    cell: (cellName) => {
      const cell = inner.cell(cellName);
      return {
        read: () => cell.read(),
        replace: async () => {
          writes++;
          throw new ConflictError('lost', await cell.read());
        },
      };
    },
  };
  const witness = new Witness({
    name,
    keys: [key],
    logs: () => log.verifiers,
    store,
    now: () => 1n,
    maxSwapAttempts: 3,
  });
  await assert.rejects(witness.processAddCheckpoint(await log.request(0n, 1n)), (e) =>
    isVouchError(e, 'pushback'),
  );
  assert.equal(writes, 3);
});

test('a clock that gives 0 is an internal error, never a cosignature or a 400', async () => {
  const witness = witnessOn(new MemoryCasStore(), () => 0n);
  await assert.rejects(witness.processAddCheckpoint(await log.request(0n, 1n)), (e) =>
    isVouchError(e, 'invariant'),
  );
  assert.equal(await witness.state(log.origin), undefined);
});

test('latestCheckpoint answers only a 64-hex-digit origin hash it has state for', async () => {
  const witness = witnessOn(new MemoryCasStore());
  assert.equal(await witness.latestCheckpoint(originHashOf(log.origin)), undefined);
  await witness.processAddCheckpoint(await log.request(0n, 3n));
  assert.ok((await witness.latestCheckpoint(originHashOf(log.origin))) !== undefined);
  for (const bad of [
    '',
    'x',
    originHashOf(log.origin).toUpperCase(),
    `${originHashOf(log.origin)}0`,
    '../x',
  ]) {
    assert.equal(await witness.latestCheckpoint(bad), undefined, bad);
  }
});

test('a witness refuses an ECDSA key and no keys', () => {
  const options = { name, logs: () => undefined, store: new MemoryCasStore(), now: () => 1n };
  assert.throws(
    () => new Witness({ ...options, keys: [createSigner(name, generateKey('ecdsa-p256'))] }),
    (e) => isVouchError(e, 'bad-key'),
  );
  assert.throws(
    () => new Witness({ ...options, keys: [] }),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});
