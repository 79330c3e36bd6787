/**
 * Test support for the endpoint agent: a real update repository written by services/repo (init,
 * stage, multi-party signing, publish) with a witnessed in-process release log, served read-only
 * from its `public/` folder over loopback HTTP by a server that records every request and lets a
 * test replace the answer for one path (a trickle, an endless body, a 503). It can also craft a
 * release by hand with core/tuf builders and the parties' keys — what an attacker holding some
 * keys, or the repository host, could publish — logged in the real log, in another log, or not
 * at all. And it makes agent state folders that trust root version 1. Nothing here is used
 * outside tests.
 */

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import type { AgentConfigInput } from '../../src/clients/agent/config.ts';
import { initAgent } from '../../src/clients/agent/init.ts';
import type { AgentStatus } from '../../src/clients/agent/status.ts';
import { type UpdateOptions, updateOnce } from '../../src/clients/agent/update.ts';
import { createSigner, generateKey, type Signer } from '../../src/core/crypto/index.ts';
import { releaseRecord } from '../../src/core/release/record.ts';
import { tufKeyForSigner } from '../../src/core/tuf/keys.ts';
import {
  describeFile,
  formatMetadata,
  rootSigned,
  snapshotSigned,
  type TargetFileInput,
  targetFileName,
  targetsSigned,
  timestampSigned,
} from '../../src/core/tuf/metadata.ts';
import { signMetadata } from '../../src/core/tuf/sign.ts';
import { initRepository } from '../../src/services/repo/init.ts';
import { repoPaths } from '../../src/services/repo/layout.ts';
import { preparePendingTargets, signPending } from '../../src/services/repo/pending.ts';
import { type PublishResult, publishRepository } from '../../src/services/repo/publish.ts';
import { pendingFile, readPublished } from '../../src/services/repo/published.ts';
import type { ReleaseLog } from '../../src/services/repo/release-log.ts';
import { stageProduct, stageRules } from '../../src/services/repo/stage.ts';
import {
  makeParties,
  makeProductBuild,
  makeRulesBuild,
  type Parties,
  provenanceFor,
  rebuildFor,
  releasePolicyFor,
} from './release-fixture.ts';
import { startWitnessedMemoryLog, type WitnessedMemoryLog } from './witnessed-memory-log.ts';

/** repositoryName is the fixture repository's name (in every release record). */
export const repositoryName = 'vouch-test';

const daySeconds = 86_400;

/** RepoServer serves `public/` and records requests. */
export interface RepoServer {
  readonly url: string;
  /** requests lists request paths in order (without the leading `/`). */
  readonly requests: string[];
  /** override answers `path` with `handler` instead of the file (undefined removes it). */
  override(path: string, handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined): void;
  close(): Promise<void>;
}

/** serveRepository serves `dir` on 127.0.0.1 (see {@link RepoServer}). */
export async function serveRepository(dir: string): Promise<RepoServer> {
  const requests: string[] = [];
  const overrides = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const server = createServer((req, res) => {
    const raw = (req.url ?? '/').split('?')[0] ?? '/';
    const path = decodeURIComponent(raw).replace(/^\/+/, '');
    requests.push(path);
    const override = overrides.get(path);
    if (override !== undefined) {
      override(req, res);
      return;
    }
    const file = normalize(path);
    if (file.startsWith('..') || file.includes('/../')) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(dir, file)).then(
      (data) =>
        res
          .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length })
          .end(data),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    override: (path, handler) => {
      if (handler === undefined) overrides.delete(path);
      else overrides.set(path, handler);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** CraftOptions describe a hand-made release: new targets, snapshot and timestamp versions. */
export interface CraftOptions {
  /** targets maps the current target entries to the new ones (default: unchanged). */
  readonly targets?: (current: Record<string, TargetFileInput>) => Record<string, TargetFileInput>;
  /** targetsSigners sign targets (default: the release and approver keys). */
  readonly targetsSigners?: readonly Signer[];
  /** log is where the records go: the real log (default), another log, or 'none'. */
  readonly log?: ReleaseLog | 'none';
  /** files are written under public/ (target files, evidence) before the metadata. */
  readonly files?: Readonly<Record<string, Uint8Array>>;
  /** snapshotTargetsVersion, when set, is the targets version the new snapshot names (a rollback). */
  readonly snapshotTargetsVersion?: number;
}

/** UpdateFixture is a repository, its log, its server and helpers; see the module comment. */
export interface UpdateFixture {
  readonly dir: string;
  readonly repo: string;
  readonly publicDir: string;
  readonly parties: Parties;
  readonly log: WitnessedMemoryLog;
  /** releaseLog appends to `log` and returns proofs (what publish uses). */
  readonly releaseLog: ReleaseLog;
  /** logSigner is the release log's key (for a fork with the same key). */
  readonly logSigner: Signer;
  readonly server: RepoServer;
  readonly releasePolicy: Uint8Array;
  readonly now: number;
  /** releaseProduct builds, stages, signs (vendor and approver) and publishes a product version. */
  releaseProduct(
    name: string,
    version: string,
    evidence?: { rebuilds?: 'none' | 'mismatch'; builderId?: string },
  ): Promise<PublishResult>;
  /** releaseRules compiles, stages (with a delta from the previous version), signs and publishes a database. */
  releaseRules(name: string, version: number, records: number): Promise<PublishResult>;
  /** rotateRoot publishes root v+1 with new root keys, signed by `oldSigners` and every new key. */
  rotateRoot(oldSigners: readonly Signer[]): Promise<{ newRoots: Signer[]; result: PublishResult }>;
  /** craft publishes a hand-made release (see {@link CraftOptions}). */
  craft(options?: CraftOptions): Promise<void>;
  /** makeAgent creates an agent state folder trusting 1.root.json. */
  makeAgent(config?: Partial<AgentConfigInput>): Promise<string>;
  /** update runs one agent update against the server. */
  update(agentDir: string, options?: Partial<UpdateOptions>): Promise<AgentStatus>;
  close(): Promise<void>;
}

/** logOf wraps a witnessed log as the repository's ReleaseLog. */
export function logOf(log: WitnessedMemoryLog): ReleaseLog {
  return {
    async append(entry) {
      await log.append(entry);
      return log.proofOf(entry);
    },
  };
}

/** startUpdateFixture makes a repository with root v1 published (and nothing else yet). */
export async function startUpdateFixture(): Promise<UpdateFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-agent-'));
  const repo = join(dir, 'repo');
  const paths = repoPaths(repo);
  const parties = makeParties();
  const logSigner = createSigner('release-log.vouch.example', generateKey('ed25519'));
  const log = startWitnessedMemoryLog({ signer: logSigner });
  const releaseLog = logOf(log);
  const now = Math.floor(Date.now() / 1000);
  await initRepository(repo, {
    name: repositoryName,
    rootSigners: parties.roots.map((r) => r.signer),
    rootThreshold: 2,
    release: parties.release.vkey,
    approver: parties.approver.vkey,
    snapshotKey: parties.snapshot.signer,
    timestampKey: parties.timestamp.signer,
    now,
  });
  await mkdir(paths.public, { recursive: true });
  const server = await serveRepository(paths.public);
  const releasePolicy = releasePolicyFor(parties, log);
  let builds = 0;

  const signAndPublish = async (): Promise<PublishResult> => {
    await preparePendingTargets(repo, now);
    await signPending(repo, 'targets', parties.release.signer);
    await signPending(repo, 'targets', parties.approver.signer);
    return publishRepository(repo, {
      snapshotSigner: parties.snapshot.signer,
      timestampSigner: parties.timestamp.signer,
      log: releaseLog,
      now,
    });
  };

  const fixture: UpdateFixture = {
    dir,
    repo,
    publicDir: paths.public,
    parties,
    log,
    releaseLog,
    logSigner,
    server,
    releasePolicy,
    now,
    async releaseProduct(name, version, evidence = {}) {
      const buildDir = join(dir, 'builds', `${name}-${version}-${builds++}`);
      const build = await makeProductBuild(parties, buildDir, name, version);
      if (evidence.builderId !== undefined) {
        const archiveName = `${name}-${version}.tar.gz`;
        await writeFile(
          join(buildDir, 'provenance.dsse.json'),
          await provenanceFor(parties, [{ name: archiveName, bytes: build.archive }], {
            builderId: evidence.builderId,
          }),
        );
      }
      let rebuilds: string[] = [...build.rebuilds];
      if (evidence.rebuilds === 'none') rebuilds = [];
      if (evidence.rebuilds === 'mismatch') {
        rebuilds = [];
        for (const r of parties.rebuilders) {
          const path = `${buildDir}.${r.name}.mismatch.dsse.json`;
          await writeFile(path, await rebuildFor(r, build.provenance, true));
          rebuilds.push(path);
        }
      }
      await stageProduct(repo, { buildDir, rebuilds, review: build.review });
      return signAndPublish();
    },
    async releaseRules(name, version, records) {
      const dbDir = join(dir, 'builds', `${name}-${version}-${builds++}`);
      const build = await makeRulesBuild(parties, dbDir, name, version, records);
      await stageRules(repo, {
        databaseDir: dbDir,
        provenance: build.provenance,
        rebuilds: build.rebuilds,
        review: build.review,
      });
      return signAndPublish();
    },
    async rotateRoot(oldSigners) {
      const current = await readPublished(paths, 'root');
      if (current === undefined) throw new Error('no root published');
      const newRoots = [0, 1, 2].map((i) => createSigner(`root${i + 1}.rotated`, generateKey('ed25519')));
      const keyOf = (s: Signer) => tufKeyForSigner(s).key;
      const keysOf = (role: 'targets' | 'snapshot' | 'timestamp') =>
        current.fields.roles[role].keyids.map((id) => {
          const key = current.fields.keys.get(id);
          if (key === undefined) throw new Error('missing key');
          return key.raw;
        });
      const signed = rootSigned({
        version: current.fields.version + 1,
        expires: now + 365 * daySeconds,
        roles: {
          root: { keys: newRoots.map(keyOf), threshold: 2 },
          targets: { keys: keysOf('targets'), threshold: 2 },
          snapshot: { keys: keysOf('snapshot'), threshold: 1 },
          timestamp: { keys: keysOf('timestamp'), threshold: 1 },
        },
      });
      const signatures = await signMetadata(signed, [...oldSigners, ...newRoots]);
      await writeFile(pendingFile(paths, 'root'), formatMetadata(signed, signatures));
      const result = await publishRepository(repo, {
        snapshotSigner: parties.snapshot.signer,
        timestampSigner: parties.timestamp.signer,
        log: releaseLog,
        now,
      });
      return { newRoots, result };
    },
    async craft(options = {}) {
      const targets = await readPublished(paths, 'targets');
      const snapshot = await readPublished(paths, 'snapshot');
      const timestamp = await readPublished(paths, 'timestamp');
      if (targets === undefined || snapshot === undefined || timestamp === undefined)
        throw new Error('publish first');
      for (const [path, bytes] of Object.entries(options.files ?? {})) {
        await mkdir(dirname(join(paths.public, path)), { recursive: true });
        await writeFile(join(paths.public, path), bytes);
      }
      const current: Record<string, TargetFileInput> = {};
      for (const [path, t] of targets.fields.targets) {
        current[path] = {
          length: t.length,
          hashes: t.hashes,
          ...(t.custom === undefined ? {} : { custom: t.custom as never }),
        };
      }
      const log = options.log ?? releaseLog;
      const logged = async (name: string, bytes: Uint8Array): Promise<void> => {
        if (log === 'none') return;
        const proof = await log.append(releaseRecord({ repository: repositoryName, file: name, bytes }));
        await mkdir(join(paths.public, 'log'), { recursive: true });
        await writeFile(join(paths.public, 'log', `${name}.tlog-proof`), proof);
      };
      const targetsVersion = targets.fields.version + 1;
      const newTargets = targetsSigned({
        version: targetsVersion,
        expires: now + 90 * daySeconds,
        targets: (options.targets ?? ((t) => t))(current),
      });
      const targetsBytes = formatMetadata(
        newTargets,
        await signMetadata(
          newTargets,
          options.targetsSigners ?? [parties.release.signer, parties.approver.signer],
        ),
      );
      const named = options.snapshotTargetsVersion;
      const targetsMeta =
        named === undefined
          ? { version: targetsVersion, ...describeFile(targetsBytes) }
          : { version: named, ...describeFile(await readFile(join(paths.public, `${named}.targets.json`))) };
      const snapshotVersion = snapshot.fields.version + 1;
      const newSnapshot = snapshotSigned({
        version: snapshotVersion,
        expires: now + 7 * daySeconds,
        meta: { 'targets.json': targetsMeta },
      });
      const snapshotBytes = formatMetadata(
        newSnapshot,
        await signMetadata(newSnapshot, [parties.snapshot.signer]),
      );
      const newTimestamp = timestampSigned({
        version: timestamp.fields.version + 1,
        expires: now + daySeconds,
        snapshot: { version: snapshotVersion, ...describeFile(snapshotBytes) },
      });
      const timestampBytes = formatMetadata(
        newTimestamp,
        await signMetadata(newTimestamp, [parties.timestamp.signer]),
      );
      if (named === undefined) {
        await logged(`${targetsVersion}.targets.json`, targetsBytes);
        await writeFile(join(paths.public, `${targetsVersion}.targets.json`), targetsBytes);
      }
      await logged(`${snapshotVersion}.snapshot.json`, snapshotBytes);
      await writeFile(join(paths.public, `${snapshotVersion}.snapshot.json`), snapshotBytes);
      await writeFile(join(paths.public, 'timestamp.json'), timestampBytes);
    },
    async makeAgent(config = {}) {
      const agentDir = await mkdtemp(join(dir, 'agent-'));
      await initAgent(agentDir, {
        root: await readFile(join(paths.public, '1.root.json')),
        releasePolicy,
        config: {
          repository: server.url,
          repositoryName,
          wanted: ['products/hello/', 'rules/main/'],
          timeoutMs: 5000,
          ...config,
        },
      });
      return agentDir;
    },
    update(agentDir, options = {}) {
      return updateOnce({ dir: agentDir, testLoad: async () => undefined, ...options });
    },
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** publicTargetPath returns where a target's file is published under public/. */
export function publicTargetPath(path: string, sha256: string): string {
  return join('targets', targetFileName(path, sha256));
}
