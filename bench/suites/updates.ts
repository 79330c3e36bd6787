/**
 * The update repository and the endpoint agent (issue 7, Performance), each figure beside a
 * baseline measured in the same run. A real repository is made by services/repo (the test
 * fixture's init, staging, vendor and approver signatures, publish into a witnessed in-process
 * release log) holding a product and a rule database, and its `public/` folder is served over
 * loopback by a bare static file server in a child process that counts requests and response
 * body bytes (support/counting-files.ts), so the server's CPU is never charged to a client.
 *
 * 1. The update check when nothing changed: `updateOnce` (what `vouch agent update` runs) on an
 *    agent that has everything installed, against tuf-js 6's `Updater.refresh()` with a metadata
 *    folder already up to date, alternating, each read from its state folder afresh: requests
 *    and bytes counted at the server, and wall time.
 * 2. A rule database v1→v2 with 1% churn (1% of the hash records removed and as many added, 1% of
 *    the YARA rules removed from one file and as many added in a new file): the agent updating
 *    by the delta against the same agent state taking the full database — the server hides the
 *    `.vdelta` file (404), as a mirror without deltas would, so the agent's fallback path
 *    downloads the full bundle. Each round starts from a copy of one agent that installed v1;
 *    bytes are everything the update fetched (metadata, log proofs, evidence, content), time is
 *    the whole run including the scanner test-load both paths do.
 * 3. CPU time (user + system, `process.cpuUsage`) for a fresh agent trusting root v1 to verify
 *    and install the product release — root chain, TUF metadata, release-log inclusion proofs
 *    with the witness quorum's cosignatures, provenance, rebuild attestations and review, the
 *    target — against tuf-js from the same root doing `refresh()`, `getTargetInfo` and
 *    `downloadTarget` of the same target, which checks TUF only: the ratio is the price of the
 *    transparency checks.
 *
 * LIMIT: loopback only (no latency, so time mostly measures client work); bytes are bodies,
 * without HTTP headers; the release log, its witnesses and the repository are in-process
 * fixtures (test/support), not `vouch log serve` and `vouch witness serve`.
 */

import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Updater } from 'tuf-js';
import type { AgentStatus } from '../../src/clients/agent/status.ts';
import { updateOnce } from '../../src/clients/agent/update.ts';
import { toBytes } from '../../src/core/bytes/index.ts';
import { sha256 } from '../../src/core/crypto/index.ts';
import { packDatabaseBundle } from '../../src/core/rules/bundle.ts';
import { buildDatabase } from '../../src/core/rules/database.ts';
import type { HashSignature } from '../../src/core/rules/source.ts';
import {
  preparePendingTargets,
  publishRepository,
  readPublished,
  repoPaths,
  signPending,
  stageRules,
} from '../../src/services/repo/index.ts';
import { writeDatabase } from '../../src/services/rules/compile.ts';
import { yaraEngineVersion } from '../../src/services/rules/yara.ts';
import { provenanceFor, rebuildFor, reviewFor } from '../../test/support/release-fixture.ts';
import { startUpdateFixture, type UpdateFixture } from '../../test/support/update-fixture.ts';
import { type Figure, median, type Suite } from '../lib.ts';
import {
  type CountingFileServer,
  type ServerCounts,
  startCountingFileServer,
} from '../support/counting-files.ts';
import { createRandom } from '../support/random.ts';

const suiteName = 'updates';
const tufJs = 'tuf-js 6.0.2';
const databaseName = 'main';
const alphanumeric = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

interface Plan {
  readonly hashes: number;
  readonly yaraRules: number;
  readonly yaraFiles: number;
  /** rounds of each measurement, after one warm-up round that is not counted. */
  readonly checkRounds: number;
  readonly deltaRounds: number;
  readonly cpuRounds: number;
}

const fullPlan: Plan = {
  hashes: 100_000,
  yaraRules: 1_000,
  yaraFiles: 20,
  checkRounds: 31,
  deltaRounds: 5,
  cpuRounds: 15,
};
const quickPlan: Plan = {
  hashes: 10_000,
  yaraRules: 100,
  yaraFiles: 10,
  checkRounds: 5,
  deltaRounds: 2,
  cpuRounds: 3,
};

/** hashRecord is record `i` of the generated database (`tag` separates the churned additions). */
function hashRecord(tag: string, i: number): HashSignature {
  return { digest: sha256(toBytes(`${tag} ${i}`)), size: 64 + (i % 100_000), name: `Bench.${tag}.${i}` };
}

/** yaraRule is rule `i` (`tag` separates additions): two text strings and a hex string, each a good atom. */
function yaraRule(tag: string, i: number): string {
  const random = createRandom(tag === 'Base' ? i : 1_000_000 + i);
  const token = (n: number) =>
    Array.from({ length: n }, () => alphanumeric[random.below(alphanumeric.length)]).join('');
  const hex = Array.from({ length: 8 }, () => (16 + random.below(200)).toString(16).toUpperCase()).join(' ');
  return [
    `rule Bench_${tag}_${i} {`,
    '  strings:',
    `    $a = "${token(14)}"`,
    `    $b = "${token(12)}" nocase wide`,
    `    $c = { ${hex} }`,
    '  condition:',
    '    any of them',
    '}',
    '',
  ].join('\n');
}

/** Content is the hash records and YARA files of one database version. */
interface Content {
  readonly hashes: HashSignature[];
  readonly yara: Map<string, Uint8Array>;
}

/** databaseContent is version 1 (the base) or version 2 (1% of the hashes and of the rules churned). */
function databaseContent(plan: Plan, version: 1 | 2): Content {
  const churnHashes = version === 1 ? 0 : Math.max(1, Math.floor(plan.hashes / 100));
  const churnRules = version === 1 ? 0 : Math.max(1, Math.floor(plan.yaraRules / 100));
  const hashes: HashSignature[] = [];
  for (let i = churnHashes; i < plan.hashes; i++) hashes.push(hashRecord('Base', i));
  for (let i = 0; i < churnHashes; i++) hashes.push(hashRecord('Added', i));
  const perFile = Math.ceil(plan.yaraRules / plan.yaraFiles);
  const yara = new Map<string, Uint8Array>();
  for (let f = 0; f < plan.yaraFiles; f++) {
    const rules: string[] = [];
    for (let i = f * perFile; i < Math.min(plan.yaraRules, (f + 1) * perFile); i++) {
      if (i >= churnRules) rules.push(yaraRule('Base', i));
    }
    yara.set(`family${String(f).padStart(2, '0')}.yar`, toBytes(rules.join('')));
  }
  if (churnRules > 0) {
    const added = Array.from({ length: churnRules }, (_, i) => yaraRule('Added', i)).join('');
    yara.set('added-2.yar', toBytes(added));
  }
  return { hashes, yara };
}

/** releaseDatabase builds, stages (with a delta from the previous version), signs and publishes a database. */
async function releaseDatabase(fx: UpdateFixture, version: number, content: Content): Promise<void> {
  const files = buildDatabase({
    name: databaseName,
    version,
    created: 1_700_000_000 + version,
    engine: { min: 1, max: 1, yaraX: yaraEngineVersion() },
    hashes: content.hashes,
    allow: [],
    yara: content.yara,
  });
  const dir = join(fx.dir, 'bench-builds', `${databaseName}-${version}`);
  await writeDatabase(dir, files);
  const provenance = await provenanceFor(fx.parties, [
    { name: `${databaseName}-${version}.vdb`, bytes: packDatabaseBundle(files) },
  ]);
  const provenancePath = `${dir}.provenance.dsse.json`;
  await writeFile(provenancePath, provenance);
  const rebuilds: string[] = [];
  for (const r of fx.parties.rebuilders) {
    const path = `${dir}.${r.name}.rebuild.dsse.json`;
    await writeFile(path, await rebuildFor(r, provenance));
    rebuilds.push(path);
  }
  const review = `${dir}.review.dsse.json`;
  await writeFile(review, await reviewFor(fx.parties.reviewer));
  await stageRules(fx.repo, { databaseDir: dir, provenance: provenancePath, rebuilds, review });
  await preparePendingTargets(fx.repo, fx.now);
  await signPending(fx.repo, 'targets', fx.parties.release.signer);
  await signPending(fx.repo, 'targets', fx.parties.approver.signer);
  await publishRepository(fx.repo, {
    snapshotSigner: fx.parties.snapshot.signer,
    timestampSigner: fx.parties.timestamp.signer,
    log: fx.releaseLog,
    now: fx.now,
  });
}

function expectOutcome(status: AgentStatus, outcome: AgentStatus['outcome'], what: string): void {
  if (status.outcome !== outcome) {
    throw new Error(`bench: ${what}: agent outcome ${status.outcome}: ${JSON.stringify(status.error)}`);
  }
}

/** tufClient opens a tuf-js client in `dir` (a fresh one trusts root version 1). */
async function tufClient(
  fx: UpdateFixture,
  server: CountingFileServer,
  dir: string,
  fresh: boolean,
): Promise<Updater> {
  const base = server.url.replace(/\/$/, '');
  if (fresh) {
    await mkdir(join(dir, 'metadata'), { recursive: true });
    await mkdir(join(dir, 'targets'), { recursive: true });
    await writeFile(join(dir, 'metadata', 'root.json'), await readFile(join(fx.publicDir, '1.root.json')));
  }
  return new Updater({
    metadataDir: join(dir, 'metadata'),
    metadataBaseUrl: base,
    targetDir: join(dir, 'targets'),
    targetBaseUrl: `${base}/targets`,
    config: { fetchRetry: 0 },
  });
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

function describeSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** describeFetches lists each request (a hash prefix shortened) with its size or 404. */
function describeFetches(counts: ServerCounts): string {
  return counts.served
    .map(
      (f) => `${f.path.replace(/[0-9a-f]{64}/, '…')} (${f.status === 404 ? '404' : describeSize(f.bytes)})`,
    )
    .join(', ');
}

/** summarizeFetches groups requests: metadata, evidence and log proofs in totals, target files one by one. */
function summarizeFetches(counts: ServerCounts): string {
  const groups = new Map<string, { count: number; bytes: number }>();
  const files: string[] = [];
  for (const f of counts.served) {
    if (f.path.startsWith('targets/')) {
      const name = basename(f.path).replace(/^[0-9a-f]{64}\./, '');
      files.push(`${name} (${f.status === 404 ? '404' : describeSize(f.bytes)})`);
      continue;
    }
    const kind = f.path.startsWith('log/')
      ? 'log proofs'
      : f.path.startsWith('evidence/')
        ? 'evidence'
        : 'metadata';
    const group = groups.get(kind) ?? { count: 0, bytes: 0 };
    groups.set(kind, { count: group.count + 1, bytes: group.bytes + f.bytes });
  }
  const parts = [...groups].map(([kind, g]) => `${g.count} ${kind} ${describeSize(g.bytes)}`);
  return `${counts.requests} requests: ${[...parts, ...files].join(', ')}`;
}

/** noChangeFigures: figure 1 (see the module comment). */
async function noChangeFigures(fx: UpdateFixture, server: CountingFileServer, plan: Plan): Promise<Figure[]> {
  const agent = await fx.makeAgent({ repository: server.url });
  expectOutcome(await updateOnce({ dir: agent, report: false }), 'installed', 'first install');
  const tufDir = await mkdtemp(join(fx.dir, 'tuf-'));
  await (await tufClient(fx, server, tufDir, true)).refresh();
  await server.take();

  const ours = { requests: [] as number[], bytes: [] as number[], ms: [] as number[] };
  const theirs = { requests: [] as number[], bytes: [] as number[], ms: [] as number[] };
  let ourPaths = '';
  let theirPaths = '';
  for (let round = 0; round <= plan.checkRounds; round++) {
    const runOurs = async (): Promise<void> => {
      const start = performance.now();
      const status = await updateOnce({ dir: agent, report: false });
      const ms = performance.now() - start;
      expectOutcome(status, 'unchanged', 'no-change check');
      const counts = await server.take();
      ourPaths = describeFetches(counts);
      if (round > 0) {
        ours.ms.push(ms);
        ours.requests.push(counts.requests);
        ours.bytes.push(counts.bytes);
      }
    };
    const runTheirs = async (): Promise<void> => {
      const start = performance.now();
      await (await tufClient(fx, server, tufDir, false)).refresh();
      const ms = performance.now() - start;
      const counts = await server.take();
      theirPaths = describeFetches(counts);
      if (round > 0) {
        theirs.ms.push(ms);
        theirs.requests.push(counts.requests);
        theirs.bytes.push(counts.bytes);
      }
    };
    if (round % 2 === 0) {
      await runOurs();
      await runTheirs();
    } else {
      await runTheirs();
      await runOurs();
    }
  }
  const baseline = (values: number[]) => ({ name: `${tufJs} Updater.refresh()`, value: median(values) });
  const what = 'update check, nothing changed';
  return [
    {
      suite: suiteName,
      name: `${what}: HTTP requests`,
      unit: 'requests',
      higherIsBetter: false,
      value: median(ours.requests),
      baseline: baseline(theirs.requests),
      goal: 'no more than tuf-js (root probe + timestamp: 2)',
      note: `counted at the server; vouch agent fetched ${ourPaths}; tuf-js fetched ${theirPaths}`,
    },
    {
      suite: suiteName,
      name: `${what}: bytes`,
      unit: 'bytes',
      higherIsBetter: false,
      value: median(ours.bytes),
      baseline: baseline(theirs.bytes),
      goal: 'no more than tuf-js, under 4 KB',
      note: 'response body bytes counted at the server (HTTP headers not included)',
    },
    {
      suite: suiteName,
      name: `${what}: time`,
      unit: 'ms',
      higherIsBetter: false,
      value: median(ours.ms),
      baseline: baseline(theirs.ms),
      goal: 'less than tuf-js',
      note: `loopback, ${plan.checkRounds} alternating rounds; each run reads its state folder afresh (agent: config, release policy, metadata, installed versions; writes status.json)`,
    },
  ];
}

/** cpuFigure: figure 3 (see the module comment). */
async function cpuFigure(fx: UpdateFixture, server: CountingFileServer, plan: Plan): Promise<Figure> {
  const targets = await readPublished(repoPaths(fx.repo), 'targets');
  const product = [...(targets?.fields.targets.keys() ?? [])].find((p) => p.startsWith('products/hello/'));
  if (product === undefined) throw new Error('bench: no product target published');
  const ours: number[] = [];
  const theirs: number[] = [];
  const oursWall: number[] = [];
  const theirsWall: number[] = [];
  let ourRequests = 0;
  let theirRequests = 0;
  for (let round = 0; round <= plan.cpuRounds; round++) {
    const agent = await fx.makeAgent({ repository: server.url, wanted: ['products/hello/'] });
    const tufDir = await mkdtemp(join(fx.dir, 'tuf-fresh-'));
    await server.take();
    const runOurs = async (): Promise<void> => {
      const wall = performance.now();
      const since = process.cpuUsage();
      const status = await updateOnce({ dir: agent, report: false });
      const cpu = cpuMs(since);
      const ms = performance.now() - wall;
      expectOutcome(status, 'installed', 'product install');
      ourRequests = (await server.take()).requests;
      if (round > 0) {
        ours.push(cpu);
        oursWall.push(ms);
      }
    };
    const runTheirs = async (): Promise<void> => {
      const wall = performance.now();
      const since = process.cpuUsage();
      const client = await tufClient(fx, server, tufDir, true);
      await client.refresh();
      const info = await client.getTargetInfo(product);
      if (info === undefined) throw new Error(`bench: tuf-js does not find ${product}`);
      await client.downloadTarget(info);
      const cpu = cpuMs(since);
      const ms = performance.now() - wall;
      theirRequests = (await server.take()).requests;
      if (round > 0) {
        theirs.push(cpu);
        theirsWall.push(ms);
      }
    };
    if (round % 2 === 0) {
      await runOurs();
      await runTheirs();
    } else {
      await runTheirs();
      await runOurs();
    }
    await rm(agent, { recursive: true, force: true });
    await rm(tufDir, { recursive: true, force: true });
  }
  return {
    suite: suiteName,
    name: 'CPU to verify and install a product release from root v1 (TUF + log proofs + cosignatures + evidence)',
    unit: 'ms CPU',
    higherIsBetter: false,
    value: median(ours),
    baseline: { name: `${tufJs} refresh + download (TUF only)`, value: median(theirs) },
    note: `user + system CPU of this process (the server is a child process), ${plan.cpuRounds} alternating rounds; wall ${median(oursWall).toFixed(1)} ms vs ${median(theirsWall).toFixed(1)} ms; ${ourRequests} requests vs ${theirRequests}`,
  };
}

/** deltaFigures: figure 2 (see the module comment); publishes version 2. */
async function deltaFigures(
  fx: UpdateFixture,
  server: CountingFileServer,
  plan: Plan,
  template: string,
): Promise<Figure[]> {
  await releaseDatabase(fx, 2, databaseContent(plan, 2));
  const results = {
    delta: { bytes: [] as number[], ms: [] as number[], fetched: '' },
    full: { bytes: [] as number[], ms: [] as number[], fetched: '' },
  };
  for (let round = 0; round <= plan.deltaRounds; round++) {
    const order: ('delta' | 'full')[] = round % 2 === 0 ? ['delta', 'full'] : ['full', 'delta'];
    for (const via of order) {
      const dir = await mkdtemp(join(fx.dir, `agent-${via}-`));
      await cp(template, dir, { recursive: true, verbatimSymlinks: true });
      await server.hide(via === 'full' ? ['.vdelta'] : []);
      await server.take();
      const start = performance.now();
      const status = await updateOnce({ dir, report: false });
      const ms = performance.now() - start;
      const counts = await server.take();
      expectOutcome(status, 'installed', `rules update (${via})`);
      const record = JSON.parse(
        await readFile(join(dir, 'installed', `rules-${databaseName}`, 'current.json'), 'utf8'),
      ) as { current?: { via?: string; version?: string } };
      if (record.current?.via !== via || record.current.version !== '2') {
        throw new Error(`bench: rules update expected via ${via}, got ${JSON.stringify(record.current)}`);
      }
      const result = results[via];
      result.fetched = summarizeFetches(counts);
      if (round > 0) {
        result.bytes.push(counts.bytes);
        result.ms.push(ms);
      }
      await rm(dir, { recursive: true, force: true });
    }
  }
  await server.hide([]);
  const what = `rule database v1→v2, 1% churn of ${plan.hashes.toLocaleString('en-US')} hashes + ${plan.yaraRules.toLocaleString('en-US')} YARA rules`;
  const baselineName = 'same agent, full database (delta hidden: 404)';
  const kib = (n: number) => n / 1024;
  return [
    {
      suite: suiteName,
      name: `${what}: bytes fetched`,
      unit: 'KiB',
      higherIsBetter: false,
      value: kib(median(results.delta.bytes)),
      baseline: { name: baselineName, value: kib(median(results.full.bytes)) },
      note: `everything the update fetched, counted at the server. Delta run: ${results.delta.fetched}. Full run: ${results.full.fetched}`,
    },
    {
      suite: suiteName,
      name: `${what}: time`,
      unit: 'ms',
      higherIsBetter: false,
      value: median(results.delta.ms),
      baseline: { name: baselineName, value: median(results.full.ms) },
      note: `whole \`updateOnce\` from a copy of an agent with v1 installed, including the scanner test-load (YARA compile) both paths do; ${plan.deltaRounds} alternating rounds. On loopback the download is nearly free, so this is mostly the cost of applying the delta (read the installed v1, apply, pack and hash the result) against unpacking the bundle`,
    },
  ];
}

export const updates: Suite = {
  name: 'updates',
  async run({ quick }) {
    const plan = quick ? quickPlan : fullPlan;
    const fx = await startUpdateFixture();
    let server: CountingFileServer | undefined;
    try {
      await fx.releaseProduct('hello', '1.0.0');
      await releaseDatabase(fx, 1, databaseContent(plan, 1));
      server = await startCountingFileServer(fx.publicDir);
      // The delta rounds start from an agent that installed v1, made before v2 is published.
      const template = await fx.makeAgent({ repository: server.url, wanted: [`rules/${databaseName}/`] });
      expectOutcome(await updateOnce({ dir: template, report: false }), 'installed', 'rules v1 install');
      const figures = [...(await noChangeFigures(fx, server, plan))];
      figures.push(await cpuFigure(fx, server, plan));
      figures.push(...(await deltaFigures(fx, server, plan, template)));
      return figures;
    } finally {
      await server?.stop();
      await fx.close();
    }
  },
};
