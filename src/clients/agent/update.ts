/**
 * `vouch agent update`: one update run, fail-closed, in the order docs/updates.md ("What the
 * agent checks") gives:
 *
 * 1. Metadata (refresh.ts): the TUF client workflow of spec §5 — root chain, timestamp, and when
 *    the timestamp changed, snapshot and targets — on core/tuf's trusted-metadata state machine.
 * 2. The release log: every root, snapshot and targets version trusted for the first time is
 *    rebuilt into its release record (core/release/record.ts) from the exact bytes fetched, and
 *    `log/<file>.tlog-proof` must prove it under a checkpoint with the witness quorum — also a
 *    new root when the timestamp is unchanged. Then an unchanged timestamp with everything
 *    wanted installed ends the run (after two requests when no root is new), keeping a new root.
 * 3. The newest version of each name under any wanted target prefix, once per name; an older
 *    version than the installed one is a rollback. A name pinned by `vouch agent rollback` is
 *    skipped (listed in status `pinned`) unless targets offer a newer version than the one
 *    rolled back from. Its evidence (`evidence/<sha256>.json`, each logged) must pass the
 *    release policy (core/release `checkReleaseEvidence`).
 * 4. Content: a rule database by delta when one applies to the installed version (its result
 *    must equal the full target, else the delta is reported and the full target fetched), or the
 *    full target, at most its length, checked against its SHA-256; staged into a version folder
 *    (the kept previous folder is reused when it holds that SHA-256), and a rule database
 *    test-loaded the way `vouch scan` opens it.
 * 5. Only when every wanted target is staged: swap each in atomically (install.ts), then persist
 *    the trusted metadata. A run that fails anywhere before leaves the previous metadata and
 *    installed versions as they were; staged folders are removed.
 *
 * The run then writes status.json and, when a site is configured, reports the outcome there.
 * Errors carry `details.attack` naming the attack a refusal stops; status keeps it.
 */

import { basename } from 'node:path';
import { equalBytes, formatHex } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { describeUntrusted, isVouchError, VouchError } from '../../core/errors.ts';
import { checkReleaseEvidence } from '../../core/release/evidence.ts';
import { checkLoggedEntry } from '../../core/release/logged.ts';
import { maxReleasePolicyBytes, parseReleasePolicy, type ReleasePolicy } from '../../core/release/policy.ts';
import { releaseRecord } from '../../core/release/record.ts';
import type { DatabaseFiles } from '../../core/rules/database.ts';
import { readDatabase } from '../../services/rules/compile.ts';
import type { AgentConfig } from './config.ts';
import { AgentFetcher } from './fetcher.ts';
import {
  type InstalledRecord,
  type InstalledVersion,
  InstallStore,
  installKey,
  type StagedVersion,
  versionFolder,
} from './install.ts';
import { type RefreshResult, refreshMetadata } from './refresh.ts';
import { sendReport } from './report.ts';
import { applyDeltaToInstalled, databaseFromBundle, testLoadDatabase } from './rules.ts';
import {
  persistTrustedFiles,
  readConfig,
  readRequiredStateFile,
  readTrustedFiles,
  type StatePaths,
  statePaths,
} from './state.ts';
import {
  type AgentStatus,
  type DeltaFailure,
  type PinnedSkip,
  readStatus,
  summarizeInstalled,
  writeStatus,
} from './status.ts';
import {
  compareVersions,
  findDelta,
  newestWanted,
  targetUrl,
  type VouchTarget,
  vouchTargets,
} from './targets.ts';

/** UpdateOptions tunes one run; everything but `dir` has a default. */
export interface UpdateOptions {
  /** dir is the agent's state folder. */
  readonly dir: string;
  /** fetch replaces the global fetch for the repository and the site (tests). */
  readonly fetch?: typeof globalThis.fetch;
  /** now returns milliseconds since the epoch (default Date.now); TUF expiry uses it. */
  readonly now?: () => number;
  /** signal stops the run at its next request. */
  readonly signal?: AbortSignal;
  /** testLoad replaces the rule database test-load (default: open as `vouch scan` does). */
  readonly testLoad?: (dir: string) => Promise<void>;
  /** report, when false, skips the report to the site even if one is configured. */
  readonly report?: boolean;
}

/** Planned is a target to install, with the evidence checked and its content staged. */
interface Planned {
  readonly target: VouchTarget;
  readonly key: string;
  readonly staged: StagedVersion;
  readonly via: 'full' | 'delta';
}

/** RunContext is what the steps of one run share. */
interface RunContext {
  readonly paths: StatePaths;
  readonly config: AgentConfig;
  readonly policy: ReleasePolicy;
  readonly fetcher: AgentFetcher;
  readonly store: InstallStore;
  readonly nowMs: number;
  readonly testLoad: (dir: string) => Promise<void>;
  readonly deltaFailures: DeltaFailure[];
  /** pinned collects the keys skipped because a rollback pinned them. */
  readonly pinned: PinnedSkip[];
}

/** RunResult is what a successful run did. */
interface RunResult {
  readonly outcome: AgentStatus['outcome'];
  readonly metadata: Record<string, number>;
  readonly changed: readonly string[];
}

/**
 * updateOnce runs one update (see the module comment), writes status.json, reports to the site
 * when configured, and returns the status. It throws only when the state folder itself cannot
 * be read (no config, no release policy); every failure of the update is recorded in the status
 * with outcome `failed`.
 */
export async function updateOnce(options: UpdateOptions): Promise<AgentStatus> {
  const now = options.now ?? Date.now;
  const paths = statePaths(options.dir);
  const [config, policyBytes, previous] = await Promise.all([
    readConfig(paths),
    readRequiredStateFile(paths.releasePolicy, maxReleasePolicyBytes),
    readStatus(paths),
  ]);
  const policy = parsePolicyOnce(policyBytes);
  const started = now();
  const fetcher = new AgentFetcher(config.repository, {
    timeoutMs: config.timeoutMs,
    deadlineMs: config.deadlineMs,
    now,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const store = new InstallStore(paths.installed);
  const context: RunContext = {
    paths,
    config,
    policy,
    fetcher,
    store,
    nowMs: started,
    testLoad: options.testLoad ?? testLoadDatabase,
    deltaFailures: [],
    pinned: [],
  };
  let result: RunResult | undefined;
  let failure: unknown;
  try {
    result = await runUpdate(context);
  } catch (error) {
    failure = error;
  }
  const installed = summarizeInstalled(await store.list());
  const finished = now();
  const counters = fetcher.counters;
  const base = {
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    installed,
    requests: counters.requests,
    bytes: counters.bytes,
    ms: finished - started,
    ...(context.deltaFailures.length === 0 ? {} : { deltaFailures: context.deltaFailures }),
    ...(context.pinned.length === 0 ? {} : { pinned: context.pinned }),
  };
  let status: AgentStatus;
  if (result !== undefined) {
    status = {
      ...base,
      outcome: result.outcome,
      metadata: result.metadata,
      changed: result.changed,
      consecutiveFailures: 0,
    };
  } else {
    const error = describeFailure(failure);
    const retryAfterMs =
      isVouchError(failure) && typeof failure.details.retryAfterMs === 'number'
        ? failure.details.retryAfterMs
        : undefined;
    status = {
      ...base,
      outcome: 'failed',
      metadata: previous?.metadata ?? {},
      changed: [],
      error,
      consecutiveFailures: (previous?.consecutiveFailures ?? 0) + 1,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  await writeStatus(paths, status);
  if (options.report !== false && config.site !== undefined && config.credentialFile !== undefined) {
    const report = await sendReport(status, {
      site: config.site,
      credentialFile: config.credentialFile,
      timeoutMs: config.reportTimeoutMs,
      now,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
    status = { ...status, report };
    await writeStatus(paths, status);
  }
  return status;
}

let lastPolicy: { readonly bytes: Uint8Array; readonly policy: ReleasePolicy } | undefined;

/**
 * parsePolicyOnce parses the release policy, reusing the previous run's result when the file's
 * bytes are unchanged: `agent run` checks every few minutes, and parsing its keys is most of the
 * CPU a no-change check would otherwise spend.
 */
function parsePolicyOnce(bytes: Uint8Array): ReleasePolicy {
  if (lastPolicy !== undefined && equalBytes(lastPolicy.bytes, bytes)) return lastPolicy.policy;
  const policy = parseReleasePolicy(bytes);
  lastPolicy = { bytes, policy };
  return policy;
}

async function runUpdate(context: RunContext): Promise<RunResult> {
  const { paths, config, fetcher, store } = context;
  const trusted = await readTrustedFiles(paths, config.limits);
  const installed = await store.list();
  const refresh = await refreshMetadata(fetcher, trusted, {
    limits: config.limits,
    nowSeconds: Math.floor(context.nowMs / 1000),
  });
  const metadata = refresh.versions;

  // 2. Every metadata version trusted for the first time must be in the release log, before
  // anything else (a new root comes with an unchanged timestamp too).
  for (const file of refresh.newlyTrusted) {
    await requireLogged(
      context,
      file.name,
      releaseRecord({ repository: config.repositoryName, file: file.name, bytes: file.bytes }),
    );
  }
  if (refresh.unchanged && allWantedInstalled(context, refresh, installed)) {
    // A new root (now logged) may come with an unchanged timestamp: keep it, so the next run
    // starts from it instead of fetching and checking it again.
    await persistTrustedFiles(paths, refresh.persist);
    return { outcome: 'unchanged', metadata, changed: [] };
  }

  // 3 and 4. Choose, check and stage each wanted target, once per install key.
  const targets = vouchTargets(refresh.targets);
  const staged: Planned[] = [];
  try {
    for (const target of newestWanted(targets, config.wanted)) {
      const planned = await prepare(context, target, targets, installed);
      if (planned !== undefined) staged.push(planned);
    }
  } catch (error) {
    for (const p of staged) await store.discard(p.staged);
    throw error;
  }

  // 5. Swap in, then persist the metadata.
  const changed: string[] = [];
  const at = new Date(context.nowMs).toISOString();
  for (const p of staged) {
    const version: InstalledVersion = {
      kind: p.target.kind === 'rules' ? 'rules' : 'product',
      name: p.target.name,
      version: p.target.version,
      target: p.target.path,
      length: p.target.length,
      sha256: p.target.sha256,
      folder: p.staged.folder,
      installedAt: at,
      via: p.via,
    };
    await store.commit(p.staged, version);
    changed.push(p.key);
  }
  await persistTrustedFiles(paths, refresh.persist);
  return { outcome: changed.length > 0 ? 'installed' : 'up-to-date', metadata, changed };
}

function allWantedInstalled(
  context: RunContext,
  refresh: RefreshResult,
  installed: ReadonlyMap<string, InstalledRecord>,
): boolean {
  for (const t of newestWanted(vouchTargets(refresh.targets), context.config.wanted)) {
    const record = installed.get(installKey(t.kind === 'rules' ? 'rules' : 'product', t.name));
    if (record === undefined || record.current.sha256 !== t.sha256) return false;
  }
  return true;
}

// prepare checks one chosen target against what is installed, checks its evidence, obtains and
// stages its content; undefined when it is already installed or its key is pinned (recorded in
// context.pinned).
async function prepare(
  context: RunContext,
  target: VouchTarget,
  targets: readonly VouchTarget[],
  installed: ReadonlyMap<string, InstalledRecord>,
): Promise<Planned | undefined> {
  const kind = target.kind === 'rules' ? 'rules' : 'product';
  const key = installKey(kind, target.name);
  const record = installed.get(key);
  const current = record?.current;
  if (current !== undefined) {
    const order = compareVersions(target.version, current.version);
    if (order < 0) {
      throw new VouchError(
        'policy-unmet',
        `rollback: the newest ${kind} ${describeUntrusted(target.name)} in targets is version ${describeUntrusted(target.version)}, older than the installed ${current.version}`,
        { field: target.path, attack: 'rollback' },
      );
    }
    if (order === 0) {
      if (current.sha256 === target.sha256) return undefined;
      throw new VouchError(
        'bad-digest',
        `arbitrary software: ${kind} ${describeUntrusted(target.name)} version ${current.version} is installed with sha256 ${current.sha256}, but targets now lists it with ${target.sha256}`,
        { field: target.path, attack: 'arbitrary-software' },
      );
    }
  }
  const pin = record?.pinned;
  if (current !== undefined && pin !== undefined && compareVersions(target.version, pin.from) <= 0) {
    context.pinned.push({ key, version: current.version, from: pin.from, newest: target.version });
    return undefined;
  }
  await checkEvidence(context, target);

  const folder = versionFolder(target.version, target.sha256);
  if (kind === 'product') {
    const bytes = await fetchTarget(context, target);
    const files = new Map([[basename(target.path), bytes]]);
    const staged = await context.store.stage(key, folder, files, target.sha256);
    return { target, key, staged, via: 'full' };
  }

  let files: DatabaseFiles | undefined;
  let via: 'full' | 'delta' = 'full';
  const delta = current === undefined ? undefined : findDelta(targets, target, current.version);
  if (current !== undefined && delta !== undefined) {
    try {
      const deltaBytes = await fetchTarget(context, delta);
      const base = await readDatabase(context.store.versionDir(key, current.folder));
      files = applyDeltaToInstalled(delta.path, base.files, deltaBytes, target).files;
      via = 'delta';
    } catch (error) {
      if (isVouchError(error, 'unavailable') && error.details.stopped === true) throw error;
      context.deltaFailures.push({
        delta: delta.path,
        message: error instanceof Error ? error.message : String(error),
        ...(isVouchError(error) && typeof error.details.attack === 'string'
          ? { attack: error.details.attack }
          : {}),
      });
    }
  }
  if (files === undefined) files = databaseFromBundle(await fetchTarget(context, target));
  const staged = await context.store.stage(key, folder, files, target.sha256);
  try {
    await context.testLoad(staged.dir);
  } catch (error) {
    await context.store.discard(staged);
    const why = error instanceof Error ? error.message : String(error);
    throw new VouchError(
      'malformed',
      `rule database ${describeUntrusted(target.path)} does not load in the scanner: ${why}`,
      {
        field: target.path,
      },
      { cause: error },
    );
  }
  return { target, key, staged, via };
}

// fetchTarget downloads a target file from its hash-prefixed URL, at most its length (and the
// configured cap), and checks its length and SHA-256 against targets.
async function fetchTarget(context: RunContext, target: VouchTarget): Promise<Uint8Array> {
  if (target.length > context.config.limits.maxTargetBytes) {
    throw new VouchError(
      'too-large',
      `endless data: target ${describeUntrusted(target.path)} is over the limit of ${context.config.limits.maxTargetBytes} bytes`,
      {
        field: target.path,
        limit: context.config.limits.maxTargetBytes,
        attack: 'endless-data',
      },
    );
  }
  const bytes = await context.fetcher.getFound(
    targetUrl(target.path, target.sha256),
    target.length,
    target.path,
  );
  const digest = formatHex(sha256(bytes));
  if (bytes.length !== target.length || digest !== target.sha256) {
    throw new VouchError(
      'bad-digest',
      `arbitrary software: target ${describeUntrusted(target.path)} is ${bytes.length} bytes with sha256 ${digest}, but targets says ${target.length} bytes with sha256 ${target.sha256}`,
      { field: target.path, attack: 'arbitrary-software' },
    );
  }
  return bytes;
}

// checkEvidence fetches the evidence files a target names, each checked against its digest,
// with their log proofs, and applies the release policy.
async function checkEvidence(context: RunContext, target: VouchTarget): Promise<void> {
  const evidence = target.evidence;
  if (evidence === undefined) {
    throw new VouchError('policy-unmet', `target ${describeUntrusted(target.path)} names no evidence`, {
      field: target.path,
      attack: 'unbuilt',
    });
  }
  const proofs = new Map<string, Uint8Array>();
  const get = async (digest: string): Promise<Uint8Array> => {
    const bytes = await context.fetcher.getFound(
      `evidence/${digest}.json`,
      context.config.limits.maxEvidenceBytes,
      `evidence/${digest}.json`,
    );
    if (formatHex(sha256(bytes)) !== digest) {
      throw new VouchError('bad-digest', `evidence/${digest}.json does not have that SHA-256`, {
        field: `evidence/${digest}.json`,
        attack: 'arbitrary-software',
      });
    }
    const proof = await fetchProof(context, digest);
    if (proof !== undefined) proofs.set(digest, proof);
    return bytes;
  };
  const provenance = await get(evidence.provenance);
  const rebuilds: Uint8Array[] = [];
  for (const digest of evidence.rebuilds) rebuilds.push(await get(digest));
  const review = evidence.review === undefined ? undefined : await get(evidence.review);
  checkReleaseEvidence(context.policy, {
    target: { name: basename(target.path), sha256: target.sha256, length: target.length },
    provenance,
    rebuilds,
    ...(review === undefined ? {} : { review }),
    proofs,
  });
}

async function fetchProof(context: RunContext, name: string): Promise<Uint8Array | undefined> {
  const result = await context.fetcher.get(
    `log/${encodeURIComponent(name)}.tlog-proof`,
    context.config.limits.maxProofBytes,
    `log/${name}.tlog-proof`,
  );
  return result.found ? result.data : undefined;
}

async function requireLogged(context: RunContext, file: string, record: Uint8Array): Promise<void> {
  const proof = await fetchProof(context, file);
  checkLoggedEntry(context.policy.log, record, proof, file);
}

function describeFailure(error: unknown): NonNullable<AgentStatus['error']> {
  if (isVouchError(error)) {
    return {
      code: error.code,
      message: error.message,
      ...(typeof error.details.attack === 'string' ? { attack: error.details.attack } : {}),
      ...(typeof error.details.field === 'string' ? { field: error.details.field } : {}),
    };
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string')
    return { code: 'unavailable', message: `${code}: ${error instanceof Error ? error.message : ''}` };
  return { code: 'invariant', message: error instanceof Error ? error.message : String(error) };
}
