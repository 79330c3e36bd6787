/**
 * The conveyer's build: fetch and check the recipe's pinned inputs, run its steps in the sandbox,
 * pack the declared outputs deterministically, and sign SLSA provenance for them with the builder
 * key after the sandbox has exited (the key is held by this process and never mounted inside).
 *
 * Crash story. Everything is staged in a fresh work folder (removed at the end) and a sibling
 * `OUT.partial-*` folder; the commit point is the rename of the staging folder to `OUT`, which
 * must not exist beforehand. A failing step, a bad input or a crash before the rename therefore
 * leaves no `OUT` at all, so nothing partial is ever marked good; a crash may leave a stray
 * `.partial-*` folder, which holds no provenance until its last write and is never read.
 *
 * Inputs are fetched and checked outside the sandbox by ./inputs.ts (remote ones through a
 * content-addressed store). LIMIT: `tarball` inputs are placed as files; a step unpacks them. The provenance is not yet appended to the release log.
 */

import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, realpath, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Statement } from '../../core/attest/index.ts';
import { type Envelope, formatEnvelope, signStatement } from '../../core/attest/index.ts';
import { buildManifest, formatManifest, type ManifestEntry, packTar } from '../../core/build/pack.ts';
import { buildProvenance, type NamedDigest } from '../../core/build/provenance.ts';
import { parseRecipe, recipeLimits } from '../../core/build/recipe.ts';
import { computeTreeHash } from '../../core/build/tree-hash.ts';
import { formatHex } from '../../core/bytes/index.ts';
import { type Signer, sha256, sha512 } from '../../core/crypto/index.ts';
import { tooLarge, VouchError } from '../../core/errors.ts';
import { mkdirDurable, syncDirectory, writeFileDurable } from '../../storage/fs/durable.ts';
import { readOutputs, readSourceTree } from './files.ts';
import { gzipDeterministic } from './gzip.ts';
import { fetchInputs } from './inputs.ts';
import { describeLimitExit, findPrlimit, limitSettings, stepLimits } from './limits.ts';
import { probeSandbox, runStep, type SandboxProbe, sandboxSettings, stepSucceeded } from './sandbox.ts';

const run = promisify(execFile);

/** BuildOptions configure {@link runBuild}. */
export interface BuildOptions {
  readonly recipePath: string;
  readonly sourceDir: string;
  /** outDir receives the results; it must not exist (its parent must). */
  readonly outDir: string;
  /** signer is the builder key; it signs the provenance outside the sandbox. */
  readonly signer: Signer;
  /** builderId names the building site, e.g. `https://vouch.example/builders/ch-zrh`. */
  readonly builderId: string;
  /** sourceDateEpoch is required unless the source is a git repository (then it must agree). */
  readonly sourceDateEpoch?: number;
  /** probe is the sandbox to use (default: {@link probeSandbox}). */
  readonly probe?: SandboxProbe;
  /**
   * casDir is the content-addressed store for remote inputs (default: `.vouch-cas` beside
   * `outDir`); it is shared between builds and each file in it is re-verified on use.
   */
  readonly casDir?: string;
  /** fetchTimeoutMs bounds each remote input's download (default 5 minutes). */
  readonly fetchTimeoutMs?: number;
  readonly onProgress?: (line: string) => void;
}

/** defaultCasName is the store folder created beside `outDir` when no `casDir` is given. */
export const defaultCasName = '.vouch-cas';

/** BuildResult is what a successful build wrote to `outDir`. */
export interface BuildResult {
  readonly archiveName: string;
  readonly archiveSha256: string;
  readonly manifest: readonly ManifestEntry[];
  readonly statement: Statement;
  readonly envelope: Envelope;
  readonly hermetic: boolean;
  readonly treeHash: string;
  readonly commit?: string;
  readonly sourceDateEpoch: number;
}

/** buildOutputNames are the files a build writes into `outDir`, besides the archive and logs. */
export const buildOutputNames = Object.freeze({
  manifest: 'manifest.json',
  provenance: 'provenance.dsse.json',
  logs: 'logs',
});

/**
 * runBuild performs one build (see the module comment) and resolves once `outDir` holds the
 * archive, `manifest.json`, `provenance.dsse.json` and `logs/`, all durable. A failing step
 * throws `policy-unmet` (details: step, exitCode, timedOut); a mismatching input `bad-digest`;
 * bad options or recipes `invalid-argument`/`malformed`. On any throw `outDir` does not exist.
 */
export async function runBuild(options: BuildOptions): Promise<BuildResult> {
  const progress = options.onProgress ?? ignoreProgress;
  const started = performance.now();
  const recipeBytes = await readCapped(options.recipePath, recipeLimits.maxBytes);
  const recipe = parseRecipe(recipeBytes);
  const outDir = resolve(options.outDir);
  if (await pathExists(outDir)) {
    throw new VouchError('invalid-argument', 'the output folder already exists', { field: '--out' });
  }
  const sourceDir = await realpath(options.sourceDir);
  const git = await gitSource(sourceDir);
  const sourceDateEpoch = chooseEpoch(git?.commitTime, options.sourceDateEpoch);
  for (const tool of recipe.tools) {
    if (!(await pathExists(tool)))
      throw new VouchError('invalid-argument', 'a recipe tool is missing on this host', { field: tool });
  }
  const treeHash = computeTreeHash(await readSourceTree(sourceDir));
  const probe = options.probe ?? (await probeSandbox());
  if (!probe.hermetic)
    progress(`warning: no hermetic sandbox (${probe.isolation}); the build is labelled hermetic: false`);

  const work = await mkdtemp(join(tmpdir(), 'vouch-build-'));
  const staging = `${outDir}.partial-${basename(work)}`;
  try {
    const dirs = { inputs: join(work, 'inputs'), out: join(work, 'out'), home: join(work, 'home') };
    for (const dir of Object.values(dirs)) await mkdir(dir);
    const resolved = await fetchInputs(recipe, {
      recipeDir: dirname(resolve(options.recipePath)),
      inputsDir: dirs.inputs,
      casDir: resolve(options.casDir ?? join(dirname(outDir), defaultCasName)),
      ...(options.fetchTimeoutMs === undefined ? {} : { timeoutMs: options.fetchTimeoutMs }),
      onProgress: progress,
    });

    const logs: { name: string; bytes: Uint8Array }[] = [];
    const startedOn = new Date().toISOString();
    const prlimit = await findPrlimit();
    const limits = recipe.steps.map((step) => stepLimits(step.timeoutSeconds, step.limits));
    for (const [i, step] of recipe.steps.entries()) {
      const label = `step ${i + 1}/${recipe.steps.length} ${step.name}`;
      const stepLimit = limits[i] ?? stepLimits(step.timeoutSeconds, step.limits);
      progress(`${label}: started (timeout ${step.timeoutSeconds} s)`);
      const result = await runStep(probe, {
        argv: step.argv,
        timeoutMs: step.timeoutSeconds * 1000,
        sourceDir,
        outDir: dirs.out,
        inputsDir: dirs.inputs,
        homeDir: dirs.home,
        tools: recipe.tools,
        sourceDateEpoch,
        limits: stepLimit,
      });
      const prefix = `${buildOutputNames.logs}/${i + 1}-${step.name}`;
      logs.push(
        { name: `${prefix}.stdout`, bytes: result.stdout },
        { name: `${prefix}.stderr`, bytes: result.stderr },
      );
      const elapsed = formatElapsed(result.durationMs);
      if (!stepSucceeded(result)) {
        const why = result.timedOut
          ? `timed out after ${step.timeoutSeconds} s`
          : result.logTooLarge
            ? 'wrote too much log'
            : describeLimitExit(result.exitCode, result.signal, stepLimit);
        progress(`${label}: failed after ${elapsed}`);
        throw new VouchError('policy-unmet', `build step ${step.name} ${why}; no output was produced`, {
          step: step.name,
          exitCode: result.exitCode,
          timedOut: result.timedOut,
          stderrTail: new TextDecoder().decode(result.stderr.slice(-2000)),
        });
      }
      progress(`${label}: ok (${elapsed})`);
    }

    const files = await readOutputs(dirs.out, recipe.outputs);
    const manifest = buildManifest(files);
    const tar = packTar(files, sourceDateEpoch);
    const archive = gzipDeterministic(tar);
    const archiveName = `${recipe.name}-${recipe.version}.tar.gz`;
    if (manifest.some((m) => m.path === archiveName)) {
      throw new VouchError('invalid-argument', 'an output has the archive name', { field: archiveName });
    }
    const digest = (name: string, bytes: Uint8Array): NamedDigest => ({
      name,
      sha256: formatHex(sha256(bytes)),
      sha512: formatHex(sha512(bytes)),
    });
    const statement = buildProvenance({
      builderId: options.builderId,
      source: { folder: options.sourceDir, ...(git === undefined ? {} : { commit: git.commit }), treeHash },
      recipe: { path: options.recipePath, sha256: formatHex(sha256(recipeBytes)) },
      resolvedDependencies: resolved,
      sandbox: {
        ...sandboxSettings(probe),
        notes: [...probe.notes],
        stepLimits: recipe.steps.map((step, i) => ({
          step: step.name,
          ...limitSettings(
            limits[i] ?? stepLimits(step.timeoutSeconds, step.limits),
            prlimit === undefined ? 'ulimit' : 'prlimit',
          ),
        })),
      },
      hermetic: probe.hermetic,
      sourceDateEpoch,
      byproducts: [
        digest(`${recipe.name}-${recipe.version}.tar`, tar),
        ...logs.map((log) => ({ name: log.name, sha256: formatHex(sha256(log.bytes)) })),
      ],
      subjects: [
        ...manifest.map((m) => ({ name: m.path, sha256: m.sha256, sha512: m.sha512 })),
        digest(archiveName, archive),
      ],
      startedOn,
      finishedOn: new Date().toISOString(),
    });
    // The sandbox has exited; only now is the key used.
    const envelope = await signStatement(statement, [options.signer]);

    await mkdirDurable(staging);
    await mkdirDurable(join(staging, buildOutputNames.logs));
    for (const log of logs) await writeFileDurable(join(staging, log.name), log.bytes, { mode: 0o644 });
    await writeFileDurable(join(staging, archiveName), archive, { mode: 0o644 });
    await writeFileDurable(join(staging, buildOutputNames.manifest), formatManifest(manifest), {
      mode: 0o644,
    });
    await writeFileDurable(join(staging, buildOutputNames.provenance), formatEnvelope(envelope), {
      mode: 0o644,
    });
    // Commit point: OUT appears complete, or not at all.
    await rename(staging, outDir);
    await syncDirectory(dirname(outDir));
    progress(
      `built ${archiveName} (hermetic: ${probe.hermetic}) in ${formatElapsed(performance.now() - started)}`,
    );
    return Object.freeze({
      archiveName,
      archiveSha256: formatHex(sha256(archive)),
      manifest,
      statement,
      envelope,
      hermetic: probe.hermetic,
      treeHash,
      ...(git === undefined ? {} : { commit: git.commit }),
      sourceDateEpoch,
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** formatElapsed prints a duration for progress lines: milliseconds below 10 s, else seconds. */
function formatElapsed(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function ignoreProgress(_line: string): void {
  // No progress reporting was asked for.
}

async function readCapped(path: string, limit: number): Promise<Uint8Array> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined || !info.isFile())
    throw new VouchError('not-found', 'file not found', { field: path });
  if (info.size > limit) throw tooLarge(basename(path), limit);
  return new Uint8Array(await readFile(path));
}

async function pathExists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

async function gitSource(dir: string): Promise<{ commit: string; commitTime: number } | undefined> {
  if (!(await pathExists(join(dir, '.git')))) return undefined;
  const env = { PATH: '/usr/bin:/bin', LC_ALL: 'C', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' };
  try {
    const { stdout } = await run('git', ['-C', dir, 'log', '-1', '--format=%H %ct'], { env });
    const match = /^([0-9a-f]{40}|[0-9a-f]{64}) (\d+)\n$/.exec(stdout);
    if (match === null) throw new Error('unexpected git output');
    return { commit: match[1] as string, commitTime: Number(match[2]) };
  } catch (cause) {
    throw new VouchError(
      'unavailable',
      'could not read the source commit with git',
      { field: '--source' },
      { cause },
    );
  }
}

function chooseEpoch(gitTime: number | undefined, flag: number | undefined): number {
  if (gitTime !== undefined && flag !== undefined && gitTime !== flag) {
    throw new VouchError('invalid-argument', 'SOURCE_DATE_EPOCH differs from the commit time', {
      field: '--source-date-epoch',
    });
  }
  const epoch = gitTime ?? flag;
  if (epoch === undefined) {
    throw new VouchError('invalid-argument', 'the source is not a git repository: give --source-date-epoch', {
      field: '--source-date-epoch',
    });
  }
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new VouchError('invalid-argument', 'SOURCE_DATE_EPOCH is not a non-negative integer', {
      field: '--source-date-epoch',
    });
  }
  return epoch;
}
