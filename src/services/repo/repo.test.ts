import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  makeParties,
  makeProductBuild,
  makeRulesBuild,
  type Parties,
  party,
  type RecordingLog,
  type RulesBuild,
  recordingLog,
  releasePolicyFor,
} from '../../../test/support/release-fixture.ts';
import { packTar } from '../../core/build/pack.ts';
import { formatHex, toText } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { leafHash } from '../../core/merkle/index.ts';
import { parseReleasePolicy, type ReleasePolicy } from '../../core/release/policy.ts';
import { parseReleaseRecord, releaseRecord } from '../../core/release/record.ts';
import { checkTlogProofPolicy } from '../../core/tlog/quorum.ts';
import { parseMetadata } from '../../core/tuf/metadata.ts';
import { verifyThreshold } from '../../core/tuf/verify.ts';
import { gzipDeterministic } from '../conveyer/gzip.ts';
import {
  approveRelease,
  initRepository,
  preparePendingTargets,
  publishRepository,
  refreshTimestamp,
  rotateRoot,
  signPending,
  stageProduct,
  stageRules,
} from './index.ts';
import { stageRulesBuild } from './stage.ts';

const now = 1_800_000_000;

async function rejects(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isVouchError(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

async function readJson(path: string): Promise<{ signed: Record<string, unknown>; signatures: unknown[] }> {
  return JSON.parse(await readFile(path, 'utf8'));
}

describe('the update repository', () => {
  let work: string;
  let repo: string;
  let parties: Parties;
  let log: RecordingLog;
  let policy: ReleasePolicy;
  let timestampSigner: Parties['timestamp']['signer'];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'vouch-repo-'));
    repo = join(work, 'repo');
    parties = makeParties();
    log = recordingLog();
    policy = parseReleasePolicy(releasePolicyFor(parties, log.log));
    timestampSigner = parties.timestamp.signer;
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const publishOptions = () => ({
    snapshotSigner: parties.snapshot.signer,
    timestampSigner,
    log,
    now,
  });

  test('init writes repo.json and a root v1 signed by the root keys, pending', async () => {
    const result = await initRepository(repo, {
      name: 'vouch-test',
      rootSigners: parties.roots.map((p) => p.signer),
      rootThreshold: 2,
      release: parties.release.vkey,
      approver: parties.approver.vkey,
      snapshotKey: parties.snapshot.signer,
      timestampKey: parties.timestamp.signer,
      expires: { timestamp: 2 },
      now,
    });
    assert.equal(result.rootKeyIds.length, 3);
    assert.equal(result.expires.timestamp, 2);
    const root = await readJson(join(repo, 'pending', 'root.json'));
    assert.equal(root.signatures.length, 3);
    assert.equal((root.signed['roles'] as Record<string, { threshold: number }>)['targets']?.threshold, 2);
    assert.equal(root.signed['consistent_snapshot'], true);
    assert.deepEqual(await readdir(join(repo, 'public')), ['targets']);
    await rejects(
      initRepository(repo, {
        name: 'again',
        rootSigners: [parties.roots[0]?.signer ?? parties.release.signer],
        rootThreshold: 1,
        release: parties.release.vkey,
        approver: parties.approver.vkey,
        snapshotKey: parties.snapshot.signer,
        timestampKey: parties.timestamp.signer,
        now,
      }),
      'invalid-argument',
      /already a repository/,
    );
  });

  test('a product and a rule database are staged with their evidence', async () => {
    const build = await makeProductBuild(parties, join(work, 'hello-build'), 'hello', '1.0.0');
    const entry = await stageProduct(repo, {
      buildDir: build.dir,
      rebuilds: build.rebuilds,
      review: build.review,
    });
    assert.equal(entry.path, 'products/hello/1.0.0/hello-1.0.0.tar.gz');
    const vouch = entry.target.custom['vouch'] as Record<string, unknown>;
    assert.equal(vouch['kind'], 'product');
    assert.equal(
      (vouch['evidence'] as Record<string, unknown>)['provenance'],
      formatHex(sha256(build.provenance)),
    );
    const rules = await makeRulesBuild(parties, join(work, 'main-1'), 'main', 1, 50);
    const staged = await stageRules(repo, {
      databaseDir: rules.dir,
      provenance: rules.provenance,
      rebuilds: rules.rebuilds,
      review: rules.review,
    });
    assert.deepEqual(
      staged.map((s) => s.path),
      ['rules/main/main-1.vdb'],
    );
    const pending = await preparePendingTargets(repo, now);
    assert.deepEqual(pending, { version: 1, targets: 2, changed: true });
    assert.equal((await preparePendingTargets(repo, now + 5)).changed, false);
  });

  test('publish refuses targets signed by the vendor alone, naming the approver', async () => {
    const status = await signPending(repo, 'targets', parties.release.signer);
    assert.deepEqual(status.signedBy, ['release.vendor']);
    assert.deepEqual(status.missing, ['approver.supervisor']);
    assert.equal(status.complete, false);
    await rejects(
      publishRepository(repo, publishOptions()),
      'policy-unmet',
      /1 of the 2 signatures.*missing: approver\.supervisor/,
    );
    assert.equal(log.entries.length, 0, 'nothing is logged before the thresholds are met');
    await rejects(signPending(repo, 'targets', parties.snapshot.signer), 'policy-unmet', /not a targets key/);
  });

  test('approval refuses bad or missing evidence with every reason, and signs nothing', async () => {
    const other = join(work, 'other');
    await initRepository(other, {
      name: 'other',
      rootSigners: [parties.roots[0]?.signer ?? parties.release.signer],
      rootThreshold: 1,
      release: parties.release.vkey,
      approver: parties.approver.vkey,
      snapshotKey: parties.snapshot.signer,
      timestampKey: parties.timestamp.signer,
      now,
    });
    // A build signed by a key the policy does not trust, with one mismatching rebuild and no review.
    const rogue = party('rogue.builder');
    const build = await makeProductBuild(
      { ...parties, builder: rogue },
      join(work, 'rogue-build'),
      'evil',
      '6.6.6',
    );
    await stageProduct(other, { buildDir: build.dir, rebuilds: build.rebuilds.slice(0, 1) });
    const good = await makeProductBuild(parties, join(work, 'tool-build'), 'tool', '2.0');
    await stageProduct(other, { buildDir: good.dir, rebuilds: good.rebuilds.slice(0, 1) });
    await preparePendingTargets(other, now);
    await assert.rejects(
      approveRelease(other, { signer: parties.approver.signer, policy, now }),
      (error: unknown) => {
        assert.ok(isVouchError(error, 'policy-unmet'), String(error));
        const reasons = error.details['reasons'] as string[];
        assert.ok(
          reasons.some((r) =>
            r.startsWith('products/evil/6.6.6/evil-6.6.6.tar.gz: provenance check failed (wrong-builder)'),
          ),
          reasons.join('\n'),
        );
        assert.ok(
          reasons.some((r) =>
            r.startsWith('products/tool/2.0/tool-2.0.tar.gz: rebuilds check failed (rebuild)'),
          ),
          reasons.join('\n'),
        );
        assert.ok(
          reasons.some((r) =>
            r.startsWith('products/tool/2.0/tool-2.0.tar.gz: review check failed (unreviewed)'),
          ),
          reasons.join('\n'),
        );
        return true;
      },
    );
    const pending = await readJson(join(other, 'pending', 'targets.json'));
    assert.equal(pending.signatures.length, 0);
    // Missing evidence: the staged provenance file is gone.
    await rm(join(other, 'staged', 'evidence', `${formatHex(sha256(good.provenance))}.json`));
    await rejects(
      approveRelease(other, { signer: parties.approver.signer, policy, now }),
      'policy-unmet',
      /provenance [0-9a-f]{64} is neither staged nor published/,
    );
    await rejects(
      approveRelease(other, {
        signer: parties.release.signer,
        policy: parseReleasePolicy(releasePolicyFor(parties, log.log)),
        now,
      }).then(() => {
        throw new Error('unreachable');
      }),
      'policy-unmet',
      /approval refused/,
    );
  });

  test('approval signs the second share and stages VSAs; publish logs before it writes', async () => {
    const approved = await approveRelease(repo, { signer: parties.approver.signer, policy, now });
    assert.equal(approved.targets.length, 2);
    assert.ok(approved.targets.every((t) => t.vsa !== undefined && t.reasons.length === 0));
    assert.equal(approved.status.complete, true);
    const result = await publishRepository(repo, publishOptions());
    assert.equal(result.root, 1);
    assert.equal(result.targets, 1);
    assert.equal(result.snapshot, 1);
    assert.equal(result.timestamp, 1);
    assert.deepEqual(result.logged.slice(0, 3), ['1.root.json', '1.targets.json', '1.snapshot.json']);
    // Provenance and 2 rebuilds each, one review (the same statement for both), and 2 VSAs.
    assert.equal(result.logged.length, 3 + 7 + 2);
    const pub = join(repo, 'public');
    const names = await readdir(pub);
    for (const f of [
      '1.root.json',
      '1.targets.json',
      '1.snapshot.json',
      'timestamp.json',
      'evidence',
      'log',
      'targets',
    ])
      assert.ok(names.includes(f), f);
    // Each logged metadata entry is the release record of the published bytes, with a valid proof.
    for (const file of ['1.root.json', '1.targets.json', '1.snapshot.json']) {
      const bytes = new Uint8Array(await readFile(join(pub, file)));
      const record = releaseRecord({ repository: 'vouch-test', file, bytes });
      assert.ok(
        log.entries.some((e) => toText(e) === toText(record)),
        file,
      );
      assert.equal(parseReleaseRecord(record).file, file);
      const proof = new Uint8Array(await readFile(join(pub, 'log', `${file}.tlog-proof`)));
      checkTlogProofPolicy(proof, leafHash(record), policy.log.policy, { origin: policy.log.origin });
    }
    const product = await readdir(join(pub, 'targets', 'products', 'hello', '1.0.0'));
    assert.equal(product.length, 1);
    assert.match(product[0] ?? '', /^[0-9a-f]{64}\.hello-1\.0\.0\.tar\.gz$/);
    const targets = parseMetadata('targets', new Uint8Array(await readFile(join(pub, '1.targets.json'))));
    const root = parseMetadata('root', new Uint8Array(await readFile(join(pub, '1.root.json'))));
    assert.equal(
      verifyThreshold(targets.signed, targets.signatures, root.fields.keys, root.fields.roles.targets, {
        role: 'targets',
      }).signedBy.length,
      2,
    );
    assert.deepEqual(await readdir(join(repo, 'pending')), []);
  });

  test('a new rules version gets a delta, and a cumulative one on request', async () => {
    const v2 = await makeRulesBuild(parties, join(work, 'main-2'), 'main', 2, 60);
    await stageRules(repo, {
      databaseDir: v2.dir,
      provenance: v2.provenance,
      rebuilds: v2.rebuilds,
      review: v2.review,
    });
    const v3 = await makeRulesBuild(parties, join(work, 'main-3'), 'main', 3, 70);
    const staged = await stageRules(repo, {
      databaseDir: v3.dir,
      provenance: v3.provenance,
      rebuilds: v3.rebuilds,
      review: v3.review,
      deltaFrom: [1],
    });
    assert.deepEqual(
      staged.map((s) => s.path),
      ['rules/main/main-3.vdb', 'rules/main/main-1-3.vdelta', 'rules/main/main-2-3.vdelta'],
    );
    assert.deepEqual((staged[2]?.target.custom['vouch'] as Record<string, unknown> | undefined)?.['delta'], {
      from: 2,
      to: 3,
      result: 'rules/main/main-3.vdb',
    });
    const pending = await preparePendingTargets(repo, now + 60);
    assert.equal(pending.version, 2);
    // hello, main-1, main-2 with its delta from 1, main-3 with deltas from 2 and (cumulative) 1.
    assert.equal(pending.targets, 2 + 2 + 3);
    await signPending(repo, 'targets', parties.release.signer);
    await approveRelease(repo, { signer: parties.approver.signer, policy, now: now + 60 });
    const result = await publishRepository(repo, { ...publishOptions(), now: now + 60 });
    assert.equal(result.root, undefined);
    assert.deepEqual([result.targets, result.snapshot, result.timestamp], [2, 2, 2]);
    assert.deepEqual([...result.targetFiles].sort(), [
      'rules/main/main-1-2.vdelta',
      'rules/main/main-1-3.vdelta',
      'rules/main/main-2-3.vdelta',
      'rules/main/main-2.vdb',
      'rules/main/main-3.vdb',
    ]);
  });

  test('approval refuses a delta whose result does not match', async () => {
    const v4 = await makeRulesBuild(parties, join(work, 'main-4'), 'main', 4, 80);
    const [, delta] = await stageRules(repo, {
      databaseDir: v4.dir,
      provenance: v4.provenance,
      rebuilds: v4.rebuilds,
      review: v4.review,
    });
    assert.ok(delta !== undefined);
    // Tamper with the staged delta file and its index entry consistently: the bytes now lead elsewhere.
    const v5 = await makeRulesBuild(parties, join(work, 'main-5x'), 'main', 5, 10);
    const { diffDatabases } = await import('../../core/rules/delta.ts');
    const { readDatabase } = await import('../rules/compile.ts');
    const bogus = diffDatabases(
      (await readDatabase(join(work, 'main-3'))).files,
      (await readDatabase(v5.dir)).files,
    );
    const indexPath = join(repo, 'staged', 'index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    const digest = formatHex(sha256(bogus));
    index.targets[delta.path] = { ...index.targets[delta.path], length: bogus.length, sha256: digest };
    await writeFile(join(repo, 'staged', 'targets', digest), bogus);
    await writeFile(indexPath, JSON.stringify(index));
    await preparePendingTargets(repo, now + 120);
    await rejects(
      approveRelease(repo, { signer: parties.approver.signer, policy, now: now + 120 }),
      'policy-unmet',
      /main-3-4\.vdelta: applied to rules\/main\/main-3\.vdb it does not give rules\/main\/main-4\.vdb/,
    );
  });

  test('the timestamp is refreshed with a later expiry only', async () => {
    const before = await readJson(join(repo, 'public', 'timestamp.json'));
    const refreshed = await refreshTimestamp(repo, parties.timestamp.signer, now + 3600);
    assert.equal(refreshed.version, 3);
    const afterTs = await readJson(join(repo, 'public', 'timestamp.json'));
    assert.deepEqual(afterTs.signed['meta'], before.signed['meta']);
    assert.ok((afterTs.signed['expires'] as string) > (before.signed['expires'] as string));
    await rejects(
      refreshTimestamp(repo, parties.timestamp.signer, now),
      'invalid-argument',
      /would not expire later/,
    );
    await rejects(
      refreshTimestamp(repo, parties.snapshot.signer, now + 7200),
      'policy-unmet',
      /not the timestamp key/,
    );
  });

  test('root rotation needs the old threshold and the new; revoked keys disappear', async () => {
    const newRoots = [party('root4.vendor'), party('root5.supervisor')];
    const newTimestamp = party('timestamp2.repo');
    const rotated = await rotateRoot(repo, {
      rootKeys: [parties.roots[0]?.signer ?? parties.release.signer, ...newRoots.map((p) => p.signer)],
      rootThreshold: 2,
      timestampKey: newTimestamp.signer,
      now: now + 200,
    });
    assert.equal(rotated.version, 2);
    assert.equal(rotated.revoked.length, 3, 'root2, root3 and the old timestamp key');
    // Signed only by new keys: the old root's threshold (2 of root1..3) is not met.
    for (const p of newRoots) await signPending(repo, 'root', p.signer);
    const opts = { ...publishOptions(), timestampSigner: newTimestamp.signer, now: now + 200 };
    await rejects(publishRepository(repo, opts), 'policy-unmet', /root version 2 .*missing: .*\(old root\)/);
    await rejects(signPending(repo, 'root', parties.release.signer), 'policy-unmet', /not a root key/);
    await signPending(repo, 'root', parties.roots[1]?.signer ?? parties.release.signer);
    await rejects(
      publishRepository(repo, opts),
      'policy-unmet',
      /^(?!.*\(new root\))root version 2 .*missing: (?=.*root1\.vendor \(old root\))(?=.*root3\.vendor \(old root\))/,
    );
    await signPending(repo, 'root', parties.roots[0]?.signer ?? parties.release.signer);
    // Pending targets from the refused delta are still pending; drop it so the root goes alone.
    await rm(join(repo, 'pending', 'targets.json'));
    // The old timestamp key is revoked by the new root.
    await rejects(
      publishRepository(repo, publishOptions()),
      'policy-unmet',
      /not the timestamp key of root version 2/,
    );
    const count = log.entries.length;
    const result = await publishRepository(repo, opts);
    timestampSigner = newTimestamp.signer;
    assert.equal(result.root, 2);
    assert.deepEqual(result.logged, ['2.root.json', '3.snapshot.json']);
    assert.equal(log.entries.length, count + 2);
    const root2 = parseMetadata('root', new Uint8Array(await readFile(join(repo, 'public', '2.root.json'))));
    const root1 = parseMetadata('root', new Uint8Array(await readFile(join(repo, 'public', '1.root.json'))));
    verifyThreshold(root2.signed, root2.signatures, root1.fields.keys, root1.fields.roles.root, {
      role: 'root 2 by 1',
    });
    verifyThreshold(root2.signed, root2.signatures, root2.fields.keys, root2.fields.roles.root, {
      role: 'root 2',
    });
    assert.equal(root2.fields.keys.size, 3 + 2 + 1 + 1);
  });

  test('a failing log publishes nothing', async () => {
    const build = await makeProductBuild(parties, join(work, 'hello-2'), 'hello', '2.0.0');
    await stageProduct(repo, { buildDir: build.dir, rebuilds: build.rebuilds, review: build.review });
    await preparePendingTargets(repo, now + 300);
    // The refused delta of version 4 is still staged: approval refuses until it is gone.
    const indexPath = join(repo, 'staged', 'index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    delete index.targets['rules/main/main-3-4.vdelta'];
    await writeFile(indexPath, JSON.stringify(index));
    await preparePendingTargets(repo, now + 300);
    await signPending(repo, 'targets', parties.release.signer);
    await approveRelease(repo, { signer: parties.approver.signer, policy, now: now + 300 });
    const timestampBefore = await readFile(join(repo, 'public', 'timestamp.json'));
    log.failAfter = 1;
    await rejects(
      publishRepository(repo, { ...publishOptions(), now: now + 300 }),
      'unavailable',
      /could not log 3\.snapshot\.json|could not log 4\.snapshot\.json/,
    );
    assert.deepEqual(await readFile(join(repo, 'public', 'timestamp.json')), timestampBefore);
    assert.ok(!(await readdir(join(repo, 'public'))).includes('3.targets.json'));
    log.failAfter = undefined;
    const result = await publishRepository(repo, { ...publishOptions(), now: now + 300 });
    assert.equal(result.targets, 3);
    assert.ok(
      !result.logged.includes('3.targets.json'),
      'the entry logged before the failure is not logged twice',
    );
  });

  test('a version logged by a failed publish is frozen: never a second record of one file', async () => {
    const opts = { ...publishOptions(), now: now + 400 };
    const stageHello = async (version: string) => {
      const build = await makeProductBuild(parties, join(work, `hello-${version}`), 'hello', version);
      await stageProduct(repo, { buildDir: build.dir, rebuilds: build.rebuilds, review: build.review });
    };
    await stageHello('3.0.0');
    assert.equal((await preparePendingTargets(repo, now + 400)).version, 4);
    await signPending(repo, 'targets', parties.release.signer);
    await approveRelease(repo, { signer: parties.approver.signer, policy, now: now + 400 });
    // 4.targets.json is logged, then the snapshot's append fails.
    log.failAfter = 1;
    await rejects(publishRepository(repo, opts), 'unavailable', /could not log 5\.snapshot\.json/);
    log.failAfter = undefined;
    const loggedTargets = new Uint8Array(await readFile(join(repo, 'pending', 'targets.json')));
    const proofPath = join(repo, 'public', 'log', '4.targets.json.tlog-proof');
    const proof = await readFile(proofPath);

    // The operator stages another product: version 4 may not change now that it is logged.
    await stageHello('3.1.0');
    const before = log.entries.length;
    await rejects(
      preparePendingTargets(repo, now + 400),
      'conflict',
      /prepare targets version 4: 4\.targets\.json is already in the release log with other bytes/,
    );
    assert.deepEqual(new Uint8Array(await readFile(join(repo, 'pending', 'targets.json'))), loggedTargets);

    // A kept proof for other bytes (here 3.targets.json's) is refused, not silently trusted.
    await writeFile(proofPath, await readFile(join(repo, 'public', 'log', '3.targets.json.tlog-proof')));
    await rejects(publishRepository(repo, opts), 'conflict', /publish 4\.targets\.json: .*equivocation/);
    assert.equal(log.entries.length, before, 'a refused publish appends nothing');
    assert.ok(!(await readdir(join(repo, 'public'))).includes('4.targets.json'));
    await writeFile(proofPath, proof);

    // Evidence named by its SHA-256 with a proof of other bytes is logged again and its proof replaced.
    const pending = parseMetadata('targets', loggedTargets);
    const custom = pending.fields.targets.get('products/hello/3.0.0/hello-3.0.0.tar.gz')?.custom as
      | { vouch: { evidence: { provenance: string } } }
      | undefined;
    const provenance = custom?.vouch.evidence.provenance ?? '';
    await writeFile(join(repo, 'public', 'log', `${provenance}.tlog-proof`), proof);

    const result = await publishRepository(repo, opts);
    assert.equal(result.targets, 4);
    assert.ok(!result.logged.includes('4.targets.json'), 'the logged version is published, not logged again');
    assert.ok(result.logged.includes(provenance));
    const published = new Uint8Array(await readFile(join(repo, 'public', '4.targets.json')));
    assert.deepEqual(published, loggedTargets, 'what is published is what was logged');
    const records = log.entries.filter((e) => toText(e).includes('"file":"4.targets.json"'));
    assert.equal(records.length, 1, 'one record of 4.targets.json in the log');
    for (const [name, entry] of [
      [
        '4.targets.json',
        releaseRecord({ repository: 'vouch-test', file: '4.targets.json', bytes: published }),
      ],
      [provenance, new Uint8Array(await readFile(join(repo, 'public', 'evidence', `${provenance}.json`)))],
    ] as const) {
      const kept = new Uint8Array(await readFile(join(repo, 'public', 'log', `${name}.tlog-proof`)));
      checkTlogProofPolicy(kept, leafHash(entry), policy.log.policy, { origin: policy.log.origin });
    }

    // The product staged meanwhile goes out as the next version.
    assert.equal((await preparePendingTargets(repo, now + 400)).version, 5);
    await signPending(repo, 'targets', parties.release.signer);
    await approveRelease(repo, { signer: parties.approver.signer, policy, now: now + 400 });
    const next = await publishRepository(repo, opts);
    assert.equal(next.targets, 5);
    assert.deepEqual(next.targetFiles, ['products/hello/3.1.0/hello-3.1.0.tar.gz']);
  });
});

/**
 * conveyerFolder lays out what `vouch build` writes for a rules recipe whose output is the
 * bundle: `NAME-VERSION.tar.gz` holding `files`, and `provenance.dsse.json`.
 */
async function conveyerFolder(
  dir: string,
  build: RulesBuild,
  archive: string,
  files: readonly { path: string; bytes: Uint8Array }[],
): Promise<string> {
  await mkdir(dir);
  const tar = packTar(
    files.map((f) => ({ ...f, executable: false })),
    1_700_000_000,
  );
  await writeFile(join(dir, archive), gzipDeterministic(tar));
  await copyFile(build.provenance, join(dir, 'provenance.dsse.json'));
  return dir;
}

describe('rule databases staged from a conveyer build', () => {
  let work: string;
  let repo: string;
  let parties: Parties;
  let policy: ReleasePolicy;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'vouch-repo-rules-build-'));
    repo = join(work, 'repo');
    parties = makeParties();
    const log = recordingLog();
    policy = parseReleasePolicy(releasePolicyFor(parties, log.log));
    await initRepository(repo, {
      name: 'vouch-test',
      rootSigners: parties.roots.map((p) => p.signer),
      rootThreshold: 2,
      release: parties.release.vkey,
      approver: parties.approver.vkey,
      snapshotKey: parties.snapshot.signer,
      timestampKey: parties.timestamp.signer,
      now,
    });
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test('the .vdb output is staged with the build provenance, approved, and v2 gets a delta', async () => {
    const v1 = await makeRulesBuild(parties, join(work, 'demo-1'), 'demo', 1, 20);
    const build1 = await conveyerFolder(join(work, 'build-1'), v1, 'rules-demo-1.tar.gz', [
      { path: 'demo-1.vdb', bytes: v1.bundle },
    ]);
    const staged = await stageRulesBuild(repo, {
      buildDir: build1,
      rebuilds: v1.rebuilds,
      review: v1.review,
    });
    assert.deepEqual(
      staged.map((s) => s.path),
      ['rules/demo/demo-1.vdb'],
    );
    assert.equal(staged[0]?.target.sha256, formatHex(sha256(v1.bundle)));
    const vouch = staged[0]?.target.custom['vouch'] as Record<string, unknown>;
    assert.equal(
      (vouch['evidence'] as Record<string, unknown>)['provenance'],
      formatHex(sha256(new Uint8Array(await readFile(v1.provenance)))),
    );
    await preparePendingTargets(repo, now);
    await signPending(repo, 'targets', parties.release.signer);
    const approved = await approveRelease(repo, { signer: parties.approver.signer, policy, now });
    assert.deepEqual(
      approved.targets.map((t) => t.reasons),
      [[]],
    );
    assert.equal(approved.status.complete, true);

    const v2 = await makeRulesBuild(parties, join(work, 'demo-2'), 'demo', 2, 24);
    const build2 = await conveyerFolder(join(work, 'build-2'), v2, 'rules-demo-2.tar.gz', [
      { path: 'demo-2.vdb', bytes: v2.bundle },
    ]);
    const next = await stageRulesBuild(repo, { buildDir: build2, rebuilds: v2.rebuilds });
    assert.deepEqual(
      next.map((s) => s.path),
      ['rules/demo/demo-2.vdb', 'rules/demo/demo-1-2.vdelta'],
    );
  });

  test('a build without exactly one canonical bundle is refused, naming it', async () => {
    const v3 = await makeRulesBuild(parties, join(work, 'demo-3'), 'demo', 3, 5);
    const none = await conveyerFolder(join(work, 'build-none'), v3, 'rules-demo-3.tar.gz', [
      { path: 'readme.txt', bytes: new TextEncoder().encode('no bundle\n') },
    ]);
    await rejects(
      stageRulesBuild(repo, { buildDir: none }),
      'invalid-argument',
      /exactly one rule database bundle/,
    );
    const two = await conveyerFolder(join(work, 'build-two'), v3, 'rules-demo-3.tar.gz', [
      { path: 'a.vdb', bytes: v3.bundle },
      { path: 'b.vdb', bytes: v3.bundle },
    ]);
    await rejects(stageRulesBuild(repo, { buildDir: two }), 'invalid-argument', /found 2/);
    const junk = await conveyerFolder(join(work, 'build-junk'), v3, 'rules-demo-3.tar.gz', [
      { path: 'demo-3.vdb', bytes: new TextEncoder().encode('not a bundle') },
    ]);
    await rejects(stageRulesBuild(repo, { buildDir: junk }), 'malformed', /bad magic/);
    const empty = join(work, 'build-empty');
    await mkdir(empty);
    await rejects(
      stageRulesBuild(repo, { buildDir: empty }),
      'invalid-argument',
      /exactly one NAME-VERSION\.tar\.gz/,
    );
  });
});
