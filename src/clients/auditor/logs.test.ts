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

test('an empty log needs no witness quorum; once it has entries, it does', async () => {
  const log = await makeTestLog([0]);
  try {
    const policy = policyFor(log.vkey);
    const empty = await auditLog({ name: 'ledger ch-zrh', location: `${log.dir}/`, policy });
    assert.deepEqual(empty.findings, []);
    assert.equal(empty.consistent, true);

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
