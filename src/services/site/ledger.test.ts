import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startWitnessedLedger } from '../../../test/support/witnessed-ledger.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { leafHash } from '../../core/merkle/index.ts';
import { type LedgerEntry, parseLedgerEntry } from '../../core/sites/index.ts';
import { parsePolicy } from '../../core/tlog/policy.ts';
import { checkTlogProofPolicy } from '../../core/tlog/quorum.ts';
import type { AccessStore } from '../../storage/access.ts';
import { MemoryBlobStore } from '../../storage/memory/memory.ts';
import { openSqlite } from '../../storage/sqlite/database.ts';
import { SqliteAccessStore } from '../../storage/sqlite/sqlite-access.ts';
import { Ledger, type LedgerLog, ledgerOrigin } from './ledger.ts';

function entry(tenant: string, n: number, site = 'ch-zrh'): LedgerEntry {
  return {
    principal: { kind: 'job', id: 'detection-statistics', role: 'processing-job' },
    action: 'read',
    purpose: 'detection-statistics',
    justification: `scheduled run ${n}`,
    tenant,
    site,
    scope: 'telemetry:detection',
    count: n,
    time: '2025-03-01T09:00:00Z',
    policyDigest: 'b'.repeat(64),
    decision: 'allow',
    reasons: ['permit: job-registered-purpose'],
  };
}

test('the ledger origin is ledger.<site>.vouch.example', () => {
  assert.equal(ledgerOrigin('ch-zrh'), 'ledger.ch-zrh.vouch.example');
});

test('recorded entries are published under a 2-of-2 witnessed checkpoint and prove offline', async () => {
  const w = await startWitnessedLedger();
  after(() => w.close());
  const receipts = await Promise.all([
    w.ledger.record(entry('acme', 1)),
    w.ledger.record(entry('bravo', 2)),
    w.ledger.record(entry('acme', 3)),
  ]);
  assert.deepEqual(receipts.map((r) => r.index).sort(), [0n, 1n, 2n]);
  for (const receipt of receipts) {
    const proof = await w.ledger.proofFor(receipt.index);
    const checked = checkTlogProofPolicy(proof, leafHash(receipt.entry), w.policy);
    assert.equal(checked.index, receipt.index);
    assert.deepEqual(
      checked.cosigners.map((c) => c.witness),
      ['w1', 'w2'],
      'both witnesses cosigned the published checkpoint',
    );
  }
  const acme = await w.ledger.entriesOf('acme', { limit: 10 });
  assert.deepEqual(
    acme.entries.map((e) => parseLedgerEntry(e.entry).count),
    [1, 3],
  );
  await assert.rejects(w.ledger.proofFor(3n), (e) => isVouchError(e, 'not-found'));
  await assert.rejects(w.ledger.record(entry('acme', 4, 'ru-mow')), (e) =>
    isVouchError(e, 'invalid-argument'),
  );
});

test('a proof does not satisfy a policy whose quorum needs a witness that did not cosign', async () => {
  const w = await startWitnessedLedger({ witnesses: 3, k: 2 });
  after(() => w.close());
  w.setDown('w3', true);
  const receipt = await w.ledger.record(entry('acme', 1));
  const proof = await w.ledger.proofFor(receipt.index);
  checkTlogProofPolicy(proof, leafHash(receipt.entry), w.policy);
  const strict = parsePolicy(
    new TextEncoder().encode(
      new TextDecoder().decode(w.policyText).replace('group quorum 2 w1 w2 w3', 'group quorum 3 w1 w2 w3'),
    ),
  );
  assert.throws(
    () => checkTlogProofPolicy(proof, leafHash(receipt.entry), strict),
    (e) => isVouchError(e, 'policy-unmet'),
  );
});

test('without the witness quorum nothing is published, record times out, and the entry lands once witnesses return', async () => {
  const w = await startWitnessedLedger({ timeoutMs: 300 });
  after(() => w.close());
  w.setDown('w2', true);
  await assert.rejects(w.ledger.record(entry('acme', 1)), (e) => isVouchError(e, 'unavailable'));
  assert.equal((await w.ledger.checkpoint()).checkpoint.size, 0n, 'nothing was published without the quorum');
  w.setDown('w2', false);
  // The sequenced entry is retried by the log's next rounds; the next record waits behind it.
  const second = await w.ledger.record(entry('acme', 2));
  assert.equal(second.index, 1n);
  assert.equal((await w.ledger.checkpoint()).checkpoint.size, 2n);
});

test('a crash between the log and the index is repaired by reconcile', async () => {
  const w = await startWitnessedLedger();
  after(() => w.close());
  let failNext = true;
  const inner = w.index;
  const flaky: AccessStore = {
    indexLedger: async (rows) => {
      if (failNext) {
        failNext = false;
        throw new VouchError('unavailable', 'injected: the database went away');
      }
      return inner.indexLedger(rows);
    },
    ledgerEntries: (tenant, options) => inner.ledgerEntries(tenant, options),
    ledgerWatermark: () => inner.ledgerWatermark(),
    advanceLedgerWatermark: (size) => inner.advanceLedgerWatermark(size),
    putRequest: (request) => inner.putRequest(request),
    getRequest: (tenant, id) => inner.getRequest(tenant, id),
    approveRequest: (tenant, id, approval, at) => inner.approveRequest(tenant, id, approval, at),
    listRequests: (options) => inner.listRequests(options),
    close: () => inner.close(),
  };
  const ledger = new Ledger({ site: 'ch-zrh', log: w.log, files: w.files, index: flaky });
  await assert.rejects(ledger.record(entry('acme', 1)), (e) => isVouchError(e, 'unavailable'));
  await ledger.record(entry('acme', 2));
  assert.deepEqual(
    (await ledger.entriesOf('acme', { limit: 10 })).entries.map((e) => e.index),
    [1n],
    'entry 0 is in the log but not yet in the index',
  );
  assert.equal(await ledger.reconcile(), 2);
  assert.deepEqual(
    (await ledger.entriesOf('acme', { limit: 10 })).entries.map((e) => e.index),
    [0n, 1n],
  );
  assert.equal(await w.index.ledgerWatermark(), 2n);
  assert.equal(await ledger.reconcile(), 0, 'nothing left to index');
});

test('a ledger whose log throws, hangs or is not running fails the record', async () => {
  const files = new MemoryBlobStore();
  const index = new SqliteAccessStore(openSqlite(':memory:'), 'ledger.ch-zrh.vouch.example', {
    ownsDatabase: true,
  });
  after(() => index.close());
  const throwing: LedgerLog = {
    origin: 'ledger.ch-zrh.vouch.example',
    add: async () => {
      throw new Error('disk on fire');
    },
  };
  const hanging: LedgerLog = { origin: throwing.origin, add: () => new Promise(() => undefined) };
  const cases: [string, Ledger][] = [
    ['throws', new Ledger({ site: 'ch-zrh', log: throwing, files, index })],
    ['hangs', new Ledger({ site: 'ch-zrh', log: hanging, files, index, timeoutMs: 50 })],
    ['not running', new Ledger({ site: 'ch-zrh', log: () => undefined, files, index })],
  ];
  for (const [name, ledger] of cases) {
    await assert.rejects(
      ledger.record(entry('acme', 1)),
      (e) => isVouchError(e, 'unavailable') && /nothing is released/.test((e as Error).message),
      name,
    );
  }
  assert.deepEqual(await index.ledgerEntries('acme', { limit: 10 }), [], 'nothing indexed');
});
