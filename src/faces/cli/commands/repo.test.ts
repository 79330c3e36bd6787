import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../../../../test/support/cli.ts';
import { type MemoryLog, startMemoryLog } from '../../../../test/support/memory-log.ts';
import {
  makeParties,
  makeProductBuild,
  type Parties,
  recordingLog,
  releasePolicyFor,
  writeKey,
} from '../../../../test/support/release-fixture.ts';
import { approveCommand } from './approve.ts';
import { repoCommand } from './repo.ts';

describe('vouch repo and vouch approve', () => {
  let work = '';
  let log: MemoryLog;
  let parties: Parties;
  const keys: Record<string, string> = {};

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'vouch-repo-cli-'));
    log = await startMemoryLog();
    parties = makeParties();
    for (const [role, p] of Object.entries({
      root1: parties.roots[0],
      root2: parties.roots[1],
      release: parties.release,
      approver: parties.approver,
      snapshot: parties.snapshot,
      timestamp: parties.timestamp,
    }))
      if (p !== undefined) keys[role] = await writeKey(work, p);
  });
  after(async () => {
    await log.close();
    await rm(work, { recursive: true, force: true });
  });

  test('init, add, sign, approve, publish and refresh the timestamp', async () => {
    const repo = join(work, 'repo');
    const init = await runCommand(repoCommand, [
      'init',
      repo,
      '--name',
      'cli-test',
      '--root-key',
      keys['root1'] ?? '',
      '--root-key',
      keys['root2'] ?? '',
      '--root-threshold',
      '2',
      '--release-vkey',
      parties.release.vkey,
      '--approver-vkey',
      parties.approver.vkey,
      '--snapshot-key',
      keys['snapshot'] ?? '',
      '--timestamp-key',
      keys['timestamp'] ?? '',
      '--expires',
      'timestamp=2',
    ]);
    assert.equal(init.code, 0, init.stderr);
    const build = await makeProductBuild(parties, join(work, 'build'), 'hello', '1.0.0');
    const added = await runCommand(repoCommand, [
      'add',
      repo,
      '--product',
      build.dir,
      '--rebuild',
      build.rebuilds[0] ?? '',
      '--rebuild',
      build.rebuilds[1] ?? '',
      '--review',
      build.review,
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /staged products\/hello\/1\.0\.0\/hello-1\.0\.0\.tar\.gz/);
    assert.match(added.stdout, /pending targets version 1: 1 targets/);
    const signed = await runCommand(repoCommand, [
      'sign',
      repo,
      '--role',
      'targets',
      '--key',
      keys['release'] ?? '',
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /signed by release\.vendor; missing: approver\.supervisor/);
    const publishArgs = [
      'publish',
      repo,
      '--snapshot-key',
      keys['snapshot'] ?? '',
      '--timestamp-key',
      keys['timestamp'] ?? '',
      '--log',
      log.url,
      '--log-vkey',
      log.vkey,
    ];
    const refused = await runCommand(repoCommand, publishArgs);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /missing: approver\.supervisor/);

    const policyPath = join(work, 'policy.json');
    await writeFile(policyPath, releasePolicyFor(parties, recordingLog().log));
    const badPolicy = join(work, 'strict-policy.json');
    await writeFile(
      badPolicy,
      releasePolicyFor(
        { ...parties, rebuilders: [parties.rebuilders[0] ?? parties.builder, parties.reviewer] },
        recordingLog().log,
      ),
    );
    const rejected = await runCommand(approveCommand, [
      '--release',
      repo,
      '--key',
      keys['approver'] ?? '',
      '--policy',
      badPolicy,
    ]);
    assert.equal(rejected.code, 1);
    assert.match(
      rejected.stderr,
      /refused; nothing was signed:\n {2}products\/hello\/1\.0\.0\/hello-1\.0\.0\.tar\.gz: rebuilds check failed/,
    );
    const approved = await runCommand(approveCommand, [
      '--release',
      repo,
      '--key',
      keys['approver'] ?? '',
      '--policy',
      policyPath,
    ]);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(
      approved.stdout,
      /approved products\/hello\/1\.0\.0\/hello-1\.0\.0\.tar\.gz \(VSA [0-9a-f]{64}\)\nsigned targets version 1: threshold met/,
    );

    const published = await runCommand(repoCommand, publishArgs);
    assert.equal(published.code, 0, published.stderr);
    assert.match(
      published.stdout,
      /published root 1, targets 1, snapshot 1, timestamp 1; 8 entries logged, 1 target files/,
    );
    const files = await readdir(join(repo, 'public', 'log'));
    assert.ok(files.includes('1.root.json.tlog-proof') && files.includes('1.targets.json.tlog-proof'));
    const status = await runCommand(repoCommand, ['status', repo]);
    assert.equal(status.stdout, 'nothing is pending\n');
    // A longer timestamp lifetime, so that the refresh expires later even within the same second.
    const configPath = join(repo, 'repo.json');
    const config = JSON.parse(await readFile(configPath, 'utf8'));
    config.expires.timestamp = 3;
    await writeFile(configPath, JSON.stringify(config));
    const refreshed = await runCommand(repoCommand, [
      'timestamp',
      repo,
      '--timestamp-key',
      keys['timestamp'] ?? '',
    ]);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.match(refreshed.stdout, /^timestamp version 2, expires /);
  });

  test('usage errors name the command', async () => {
    const r = await runCommand(repoCommand, [
      'sign',
      join(work, 'repo'),
      '--role',
      'snapshot',
      '--key',
      keys['release'] ?? '',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--role must be targets or root/);
    const a = await runCommand(approveCommand, ['--key', 'x']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /missing --release/);
  });
});
