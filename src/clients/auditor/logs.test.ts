import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeTestLog, removeDir } from '../../../test/support/log-fixture.ts';
import { toBytes } from '../../core/bytes/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { formatVerifierKey } from '../../core/note/index.ts';
import { createCosigner } from '../../core/tlog/cosignature.ts';
import { parsePolicy } from '../../core/tlog/policy.ts';
import { auditLog } from './logs.ts';

function policyFor(logVkey: string): ReturnType<typeof parsePolicy> {
  const witness = createCosigner(createSigner('w1.example', generateKey('ed25519')), { timestamp: 1n });
  const witnessVkey = formatVerifierKey(witness);
  return parsePolicy(toBytes(`log ${logVkey}\nwitness w1 ${witnessVkey}\nquorum w1\n`));
}

test('an empty, unwitnessed log is unverifiable at a first audit; once it has entries it needs the quorum', async () => {
  const log = await makeTestLog([0]);
  try {
    const policy = policyFor(log.vkey);
    const empty = await auditLog({ name: 'ledger ch-zrh', location: `${log.dir}/`, policy });
    assert.deepEqual(
      empty.findings.map((f) => [f.kind, f.detail]),
      [['unverifiable', 'empty and not yet witnessed; nothing can be audited']],
    );
    assert.equal(empty.consistent, false);
    // Still a log-signed checkpoint proved consistent with nothing before: kept as seen.
    assert.equal(empty.seen?.size, 0n);

    await log.grow(3);
    const grown = await auditLog({ name: 'ledger ch-zrh', location: `${log.dir}/`, policy });
    assert.deepEqual(
      grown.findings.map((f) => f.kind),
      ['quorum'],
    );
  } finally {
    await removeDir(log.dir);
  }
});

test('an empty, unwitnessed log below a larger checkpoint seen before is a fork, not merely unverifiable', async () => {
  const log = await makeTestLog([0]);
  try {
    const policy = policyFor(log.vkey);
    const previous = { origin: log.origin, size: 3n, root: new Uint8Array(32).fill(7), audited: 3n };
    const run = await auditLog({ name: 'ledger ch-zrh', location: `${log.dir}/`, policy, previous });
    assert.deepEqual(
      run.findings.map((f) => f.kind),
      ['fork'],
    );
    assert.equal(run.seen, undefined, 'a rollback never replaces the newer checkpoint');
    assert.equal(run.from, 0n);
  } finally {
    await removeDir(log.dir);
  }
});

test('the replay starts at the audited size, not at the newest checkpoint seen', async () => {
  const log = await makeTestLog([0, 2]);
  try {
    const policy = policyFor(log.vkey);
    const first = await auditLog({ name: 'ledger ch-zrh', location: `${log.dir}/`, policy });
    assert.equal(first.seen?.size, 2n);
    await log.grow(5);
    const previous = first.seen === undefined ? undefined : { ...first.seen, audited: 1n };
    assert.ok(previous !== undefined);
    const run = await auditLog({ name: 'ledger ch-zrh', location: `${log.dir}/`, policy, previous });
    assert.equal(run.from, 1n);
    assert.equal(run.seen?.size, 5n);
    assert.deepEqual(
      run.findings.map((f) => f.kind),
      ['quorum'],
    );
  } finally {
    await removeDir(log.dir);
  }
});
