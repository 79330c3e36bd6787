/**
 * Regressions from the security review of `vouch audit`: a targets version published after a
 * skipped number is still audited; a history rewritten behind a failing run is a fork, and every
 * run keeps its own report; an approval stretched to another person or action is forged; data
 * released on a deny is named.
 */

import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAuditState } from '../../src/core/audit/state.ts';
import { formatHex, toBytes } from '../../src/core/bytes/index.ts';
import { sha256 } from '../../src/core/crypto/index.ts';
import { releaseRecord } from '../../src/core/release/record.ts';
import {
  describeFile,
  formatMetadata,
  snapshotSigned,
  targetsSigned,
  timestampSigned,
} from '../../src/core/tuf/metadata.ts';
import { signMetadata } from '../../src/core/tuf/sign.ts';
import { auditCommand } from '../../src/faces/cli/commands/audit.ts';
import { type AuditWorld, startAuditWorld } from '../support/audit-world.ts';
import { runCommand } from '../support/cli.ts';
import { createStaticLog } from '../support/static-log.ts';
import { repositoryName } from '../support/update-fixture.ts';

async function audit(world: AuditWorld): Promise<Awaited<ReturnType<typeof runCommand>>> {
  return runCommand(auditCommand, ['--config', world.config, '--state', world.state, '--out', world.out]);
}

const day = 86_400;

test('a vendor-only targets version published after a skipped number, named by the snapshot, is audited', async () => {
  const world = await startAuditWorld();
  try {
    const { fixture } = world;
    const pub = fixture.publicDir;
    const evil = toBytes('evil\n');
    const path = 'products/evil/1.0.0/evil.tar.gz';
    // 1.targets.json is the clean release; 3.targets.json skips 2 and carries the vendor's signature only.
    const targets = targetsSigned({
      version: 3,
      expires: fixture.now + 90 * day,
      targets: { [path]: { length: evil.length, hashes: { sha256: formatHex(sha256(evil)) } } },
    });
    const targetsBytes = formatMetadata(
      targets,
      await signMetadata(targets, [fixture.parties.release.signer]),
    );
    const snapshot = snapshotSigned({
      version: 2,
      expires: fixture.now + 7 * day,
      meta: { 'targets.json': { version: 3, ...describeFile(targetsBytes) } },
    });
    const snapshotBytes = formatMetadata(
      snapshot,
      await signMetadata(snapshot, [fixture.parties.snapshot.signer]),
    );
    const timestamp = timestampSigned({
      version: 2,
      expires: fixture.now + day,
      snapshot: { version: 2, ...describeFile(snapshotBytes) },
    });
    const timestampBytes = formatMetadata(
      timestamp,
      await signMetadata(timestamp, [fixture.parties.timestamp.signer]),
    );
    for (const [file, bytes] of [
      ['3.targets.json', targetsBytes],
      ['2.snapshot.json', snapshotBytes],
    ] as const) {
      await fixture.releaseLog.append(releaseRecord({ repository: repositoryName, file, bytes }));
      await writeFile(join(pub, file), bytes);
    }
    await writeFile(join(pub, 'timestamp.json'), timestampBytes);
    await world.syncReleaseLog();

    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /^unreadable: 2\.targets\.json — not published, though 2\.snapshot\.json names targets version 3/m,
    );
    assert.match(run.stdout, new RegExp(`^unapproved: ${path} — 3\\.targets\\.json lacks`, 'm'));
  } finally {
    await world.close();
  }
});

test('a history rewritten behind a failing run is a fork, and each run keeps its own report', async () => {
  const world = await startAuditWorld();
  try {
    const first = await audit(world);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const clean = world.entries.slice();

    // Run 2: the witnessed log grows by a violating entry (a second 1.targets.json): it fails.
    const other = toBytes('{"signed":{"_type":"targets","version":1},"signatures":[]}');
    await world.fixture.releaseLog.append(
      releaseRecord({ repository: repositoryName, file: '1.targets.json', bytes: other }),
    );
    await world.syncReleaseLog();
    const second = await audit(world);
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(second.stdout, /^equivocation: 1\.targets\.json/m);
    const state = parseAuditState(await readFile(join(world.state, 'audit-state.json')));
    const seen = state.logs.get(world.fixture.log.origin);
    assert.equal(seen?.size, BigInt(clean.length + 1), 'the checkpoint proved consistent is kept');
    assert.equal(seen?.audited, BigInt(clean.length), 'the replay start stays at the last pass');

    // Run 3: the same size, consistent with run 1's checkpoint, the violating entry rewritten.
    await rm(world.releaseLogDir, { recursive: true, force: true });
    const rewritten = await createStaticLog(
      world.releaseLogDir,
      world.fixture.log.origin,
      world.fixture.logSigner,
    );
    await rewritten.append([...clean, toBytes('nothing to see here')]);
    const third = await audit(world);
    assert.equal(third.code, 1, third.stdout + third.stderr);
    assert.match(third.stdout, /^fork: release log — size \d+ is not consistent with size \d+/m);

    const reports = (await readdir(world.out)).filter((f) => f.endsWith('-report.dsse.json'));
    assert.equal(reports.length, 3, reports.join(', '));
    assert.equal((await readdir(world.out)).filter((f) => f.endsWith('-report.html')).length, 3);
    const latest = await readFile(join(world.out, 'report.dsse.json'));
    const thirdFile = third.stdout.match(/report: (\S+-report\.dsse\.json),/)?.[1];
    assert.ok(thirdFile !== undefined, third.stdout);
    assert.deepEqual(latest, await readFile(thirdFile));
  } finally {
    await world.close();
  }
});

async function approvalDigest(world: AuditWorld): Promise<string> {
  const [file] = await readdir(join(world.dir, 'approvals'));
  assert.ok(file !== undefined);
  return file.replace(/\.json$/, '');
}

test("an approval attached to another person's access or another action is a forged approval", async () => {
  const world = await startAuditWorld();
  try {
    const approval = await approvalDigest(world);
    const bob = await world.ledgerAllowed({
      approval,
      principal: {
        kind: 'person',
        id: 'bob',
        employer: 'Vouch AG',
        officeCountry: 'CH',
        physicalCountry: 'CH',
        role: 'support',
      },
    });
    const exported = await world.ledgerAllowed({ approval, action: 'export', scope: 'everything' });
    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        `^forged approval: ledger ch-zrh entry ${bob} — .* is for another access: requester bob \\(approved: alice\\)`,
        'm',
      ),
    );
    assert.match(
      run.stdout,
      new RegExp(
        `^forged approval: ledger ch-zrh entry ${exported} — .*action export \\(approved: access\\); scope everything \\(approved: telemetry\\)`,
        'm',
      ),
    );
  } finally {
    await world.close();
  }
});

test('a deny that records data released is named', async () => {
  const world = await startAuditWorld();
  try {
    const index = await world.ledgerAllowed({ decision: 'deny', count: 5, reasons: ['forbid: outside-ch'] });
    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`^released on deny: ledger ch-zrh entry ${index} — .* 5 record`, 'm'),
    );
  } finally {
    await world.close();
  }
});
