/**
 * Interop: a repository made by `services/repo` end to end (init, staging a product and rule
 * databases with deltas, the vendor's and the approver's signatures, publish with a release log,
 * a timestamp refresh and a root rotation with a revoked timestamp key) is served from `public/`
 * over loopback HTTP exactly as a static web server would, and tuf-js 6's `Updater` — an
 * independent TUF client — refreshes it from the trusted root version 1, follows the rotation
 * 1→2 and downloads and hash-checks every target. Debian's python3-securesystemslib then
 * re-verifies every key ID, the root chain and every signature of every published file
 * (skipped when /usr/bin/python3 lacks it; required under CI).
 */

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Updater } from 'tuf-js';
import { parseReleasePolicy } from '../../src/core/release/policy.ts';
import {
  approveRelease,
  initRepository,
  preparePendingTargets,
  publishRepository,
  readPublished,
  refreshTimestamp,
  repoPaths,
  rotateRoot,
  signPending,
  stageProduct,
  stageRules,
} from '../../src/services/repo/index.ts';
import {
  makeParties,
  makeProductBuild,
  makeRulesBuild,
  type Parties,
  party,
  type RecordingLog,
  recordingLog,
  releasePolicyFor,
} from '../support/release-fixture.ts';
import { securesystemslibMissing, verifyWithSecuresystemslib } from '../support/securesystemslib.ts';

const now = Math.floor(Date.now() / 1000);

describe('tuf-js and securesystemslib accept the published repository', () => {
  let work = '';
  let repo = '';
  let server: Server;
  let base = '';
  const requests: string[] = [];
  let parties: Parties;
  let log: RecordingLog;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'vouch-tuf-repo-'));
    repo = join(work, 'repo');
    const pub = join(repo, 'public');
    server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      requests.push(path);
      readFile(join(pub, path)).then(
        (body) => res.writeHead(200, { 'content-length': body.length }).end(body),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    parties = makeParties();
    log = recordingLog();
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  async function release(at: number, timestampSigner = parties.timestamp.signer): Promise<void> {
    await preparePendingTargets(repo, at);
    await signPending(repo, 'targets', parties.release.signer);
    await approveRelease(repo, {
      signer: parties.approver.signer,
      policy: parseReleasePolicy(releasePolicyFor(parties, log.log)),
      now: at,
    });
    await publishRepository(repo, { snapshotSigner: parties.snapshot.signer, timestampSigner, log, now: at });
  }

  /** updater opens the client `name`; a new client trusts root version 1, an existing one keeps its state. */
  async function updater(name: string, existing = false): Promise<Updater> {
    const dir = join(work, name);
    await mkdir(join(dir, 'metadata'), { recursive: true });
    await mkdir(join(dir, 'targets'), { recursive: true });
    if (!existing)
      await writeFile(
        join(dir, 'metadata', 'root.json'),
        await readFile(join(repo, 'public', '1.root.json')),
      );
    return new Updater({
      metadataDir: join(dir, 'metadata'),
      metadataBaseUrl: base,
      targetDir: join(dir, 'targets'),
      targetBaseUrl: `${base}/targets`,
      config: { fetchRetry: 0 },
    });
  }

  async function downloadAll(client: Updater): Promise<number> {
    const targets = await readPublished(repoPaths(repo), 'targets');
    assert.ok(targets);
    let count = 0;
    for (const [path, target] of targets.fields.targets) {
      const info = await client.getTargetInfo(path);
      assert.ok(info, path);
      assert.deepEqual(info.custom, JSON.parse(JSON.stringify(target.custom)));
      const file = await client.downloadTarget(info);
      const bytes = new Uint8Array(await readFile(file));
      assert.equal(bytes.length, target.length, path);
      count++;
    }
    return count;
  }

  test('tuf-js refreshes, follows the root rotation and downloads every target', async () => {
    await initRepository(repo, {
      name: 'interop',
      rootSigners: parties.roots.map((p) => p.signer),
      rootThreshold: 2,
      release: parties.release.vkey,
      approver: parties.approver.vkey,
      snapshotKey: parties.snapshot.signer,
      timestampKey: parties.timestamp.signer,
      now,
    });
    const hello = await makeProductBuild(parties, join(work, 'hello'), 'hello', '1.0.0');
    await stageProduct(repo, { buildDir: hello.dir, rebuilds: hello.rebuilds, review: hello.review });
    const v1 = await makeRulesBuild(parties, join(work, 'main-1'), 'main', 1, 100);
    await stageRules(repo, {
      databaseDir: v1.dir,
      provenance: v1.provenance,
      rebuilds: v1.rebuilds,
      review: v1.review,
    });
    await release(now);

    const first = await updater('client-a');
    requests.length = 0;
    await first.refresh();
    assert.deepEqual(requests, ['/2.root.json', '/timestamp.json', '/1.snapshot.json', '/1.targets.json']);
    assert.equal(await downloadAll(first), 2);
    assert.ok(
      requests.some((r) => /^\/targets\/rules\/main\/[0-9a-f]{64}\.main-1\.vdb$/.test(r)),
      requests.join(' '),
    );

    // Version 2: a new database with its delta; then a timestamp refresh.
    const v2 = await makeRulesBuild(parties, join(work, 'main-2'), 'main', 2, 120);
    await stageRules(repo, {
      databaseDir: v2.dir,
      provenance: v2.provenance,
      rebuilds: v2.rebuilds,
      review: v2.review,
    });
    await release(now + 10);
    await refreshTimestamp(repo, parties.timestamp.signer, now + 20);

    // Root 2: new root keys (2 of 2, one kept), a new timestamp key; the old one is revoked.
    const newRoot = party('root4.supervisor');
    const newTimestamp = party('timestamp2.repo');
    await rotateRoot(repo, {
      rootKeys: [parties.roots[0]?.signer ?? newRoot.signer, newRoot.signer],
      rootThreshold: 2,
      timestampKey: newTimestamp.signer,
      now: now + 30,
    });
    for (const signer of [parties.roots[0], parties.roots[1], newRoot])
      await signPending(repo, 'root', signer?.signer ?? newRoot.signer);
    const hello2 = await makeProductBuild(parties, join(work, 'hello2'), 'hello', '2.0.0');
    await stageProduct(repo, { buildDir: hello2.dir, rebuilds: hello2.rebuilds, review: hello2.review });
    await release(now + 30, newTimestamp.signer);

    // The client that saw version 1 moves on, and a fresh one starts from root 1.
    for (const name of ['client-a', 'client-b']) {
      const client = await updater(name, name === 'client-a');
      requests.length = 0;
      await client.refresh();
      assert.deepEqual(requests.slice(0, 3), ['/2.root.json', '/3.root.json', '/timestamp.json'], name);
      assert.equal(await downloadAll(client), 5, name); // hello 1 and 2, main-1, main-2, main-1-2 delta
      const persisted = JSON.parse(await readFile(join(work, name, 'metadata', 'root.json'), 'utf8'));
      assert.equal(persisted.signed.version, 2, name);
    }
  });

  // Every published file: key IDs recomputed, each root signed by its own threshold and by its
  // predecessor's, every targets and snapshot version and the timestamp by the keys of the root in
  // force when it was published (the last root unless the file predates a key change).

  test('securesystemslib verifies every key ID, the root chain and every signature', {
    skip: securesystemslibMissing(),
  }, () => {
    // 2 roots; targets 1-3, snapshots 1-3 and the timestamp; signatures: root 1 (3), root 2 by its
    // own keys (2) and by root 1's (2), 3 targets × 2, 3 snapshots × 1, timestamp 1.
    assert.deepEqual(verifyWithSecuresystemslib(join(repo, 'public')), {
      roots: 2,
      files: 7,
      signatures: 3 + 2 + 2 + 6 + 3 + 1,
    });
  });
});
