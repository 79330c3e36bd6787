/**
 * The build sandbox: runs one recipe step with no network, a minimal read-only root, the source
 * read-only, a fresh writable output folder at a fixed path and a cleared environment, and kills
 * it at its timeout. Isolation comes from bubblewrap (`bwrap`, https://github.com/containers/bubblewrap)
 * when it works here; otherwise from `unshare -rn` (util-linux: a new user and network namespace
 * only, so no network but the host file system stays visible); otherwise none. Only bwrap counts
 * as hermetic: the other two modes run the step at host paths and label the result
 * `hermetic: false`, which the release process must refuse.
 *
 * Inside bwrap the layout is fixed: `/build/src` (source, read-only), `/build/inputs` (pinned
 * inputs, read-only), `/build/out` (the only writable host folder), `/build/home` (a fresh tmpfs,
 * `HOME`), `/tmp` (a fresh tmpfs); `/usr` and the `/bin`, `/lib*` links or folders read-only, a
 * few `/etc` files for the dynamic loader and user lookups, each recipe tool at its own path, and
 * everything else absent. The environment is exactly {@link stepEnvironment}; umask is 022.
 *
 * Each step may carry rlimits (./limits.ts: CPU time, address space, file size, processes),
 * applied inside the sandbox right before the step's program starts. LIMIT: rlimits, not
 * cgroups, and the step runs as the caller's uid.
 * The builder key is never passed here: nothing outside the folders named above is mounted.
 */

import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../core/json/index.ts';
import { findPrlimit, limitCommand, type ResourceLimits } from './limits.ts';

/** Isolation is how a step is run: bubblewrap, a bare user+network namespace, or not at all. */
export type Isolation = 'bwrap' | 'unshare' | 'none';

/** SandboxProbe reports what isolation works on this machine; only `bwrap` is hermetic. */
export interface SandboxProbe {
  readonly isolation: Isolation;
  readonly hermetic: boolean;
  /** program is the absolute path of bwrap or unshare, when one is used. */
  readonly program?: string;
  /** notes say why stronger modes were not used, for the build log. */
  readonly notes: readonly string[];
}

/** StepSpec is one step to run; every folder is a host path that exists. */
export interface StepSpec {
  readonly argv: readonly string[];
  readonly timeoutMs: number;
  readonly sourceDir: string;
  readonly outDir: string;
  readonly inputsDir: string;
  /** homeDir is the host folder used as HOME when not under bwrap (bwrap uses a tmpfs). */
  readonly homeDir: string;
  readonly tools: readonly string[];
  readonly sourceDateEpoch: number;
  /** maxLogBytes bounds stdout and stderr each; a step writing more is killed and fails. */
  readonly maxLogBytes?: number;
  /** limits are the step's rlimits (./limits.ts); without them the step runs unlimited. */
  readonly limits?: ResourceLimits;
}

/** StepResult is how a step ended and what it printed. */
export interface StepResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly logTooLarge: boolean;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  readonly durationMs: number;
}

/** sandboxPaths are the fixed paths a bwrap step sees. */
export const sandboxPaths = Object.freeze({
  src: '/build/src',
  out: '/build/out',
  inputs: '/build/inputs',
  home: '/build/home',
});

const fixedPath = '/usr/local/bin:/usr/bin:/bin';
const defaultMaxLogBytes = 8 * 1024 * 1024;

/**
 * stepEnvironment returns the complete environment of a step: nothing of the parent's leaks.
 * `VOUCH_SRC`, `VOUCH_OUT` and `VOUCH_INPUTS` name the folders (fixed paths under bwrap).
 */
export function stepEnvironment(
  paths: { src: string; out: string; inputs: string; home: string },
  sourceDateEpoch: number,
): Record<string, string> {
  return {
    PATH: fixedPath,
    HOME: paths.home,
    TZ: 'UTC',
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
    SOURCE_DATE_EPOCH: String(sourceDateEpoch),
    VOUCH_SRC: paths.src,
    VOUCH_OUT: paths.out,
    VOUCH_INPUTS: paths.inputs,
  };
}

/** sandboxSettings describes a probe for provenance `internalParameters.sandbox`. */
export function sandboxSettings(probe: SandboxProbe): JsonObject {
  return {
    isolation: probe.isolation,
    network: probe.isolation === 'none',
    readOnlyRoot: probe.isolation === 'bwrap',
    buildPath: probe.isolation === 'bwrap' ? '/build' : 'host',
    environment: Object.keys(stepEnvironment(sandboxPaths, 0)).sort(),
    umask: '022',
    TZ: 'UTC',
    LC_ALL: 'C.UTF-8',
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function bwrapArgs(spec: StepSpec): Promise<string[]> {
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--clearenv'];
  for (const [name, value] of Object.entries(stepEnvironment(sandboxPaths, spec.sourceDateEpoch))) {
    args.push('--setenv', name, value);
  }
  args.push('--ro-bind', '/usr', '/usr');
  for (const top of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(top);
    } catch {
      continue;
    }
    if (info.isSymbolicLink()) args.push('--symlink', await readlink(top), top);
    else if (info.isDirectory()) args.push('--ro-bind', top, top);
  }
  for (const etc of [
    '/etc/ld.so.cache',
    '/etc/ld.so.conf',
    '/etc/ld.so.conf.d',
    '/etc/alternatives',
    '/etc/passwd',
    '/etc/group',
  ]) {
    args.push('--ro-bind-try', etc, etc);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  // Tools after the fresh /tmp, so a tool that lives under /tmp on the host is not hidden by it.
  for (const tool of spec.tools) args.push('--ro-bind', tool, tool);
  args.push('--ro-bind', spec.sourceDir, sandboxPaths.src);
  args.push('--ro-bind', spec.inputsDir, sandboxPaths.inputs);
  args.push('--bind', spec.outDir, sandboxPaths.out);
  args.push('--tmpfs', sandboxPaths.home);
  args.push('--hostname', 'vouch-build', '--chdir', sandboxPaths.src, '--remount-ro', '/');
  return args;
}

// The umask is process-wide in Node, so it is set by a tiny shell in front of the step.
const umaskPrefix = ['/bin/sh', '-c', 'umask 022 && exec "$@"', 'vouch-step'];

/** commandFor returns the program, arguments and environment that run `spec` under `probe`. */
async function commandFor(probe: SandboxProbe, spec: StepSpec) {
  const argv =
    spec.limits === undefined ? spec.argv : limitCommand(spec.limits, spec.argv, await findPrlimit());
  const hostPaths = { src: spec.sourceDir, out: spec.outDir, inputs: spec.inputsDir, home: spec.homeDir };
  if (probe.isolation === 'bwrap' && probe.program !== undefined) {
    return {
      program: probe.program,
      args: [...(await bwrapArgs(spec)), '--', ...umaskPrefix, ...argv],
      env: {},
      cwd: '/',
    };
  }
  const env = stepEnvironment(hostPaths, spec.sourceDateEpoch);
  if (probe.isolation === 'unshare' && probe.program !== undefined) {
    return {
      program: probe.program,
      args: ['-rn', '--', ...umaskPrefix, ...argv],
      env,
      cwd: spec.sourceDir,
    };
  }
  const [program, ...rest] = [...umaskPrefix, ...argv];
  return { program: program as string, args: rest, env, cwd: spec.sourceDir };
}

/**
 * runStep runs one step under `probe`'s isolation and resolves when it has ended. It never
 * rejects for a failing step (see `exitCode`, `timedOut`); it rejects only if the program cannot
 * be started. At the timeout the whole process group gets SIGKILL (bwrap's `--die-with-parent`
 * and its PID namespace take the sandboxed processes with it).
 */
export async function runStep(probe: SandboxProbe, spec: StepSpec): Promise<StepResult> {
  const { program, args, env, cwd } = await commandFor(probe, spec);
  const maxLogBytes = spec.maxLogBytes ?? defaultMaxLogBytes;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const sizes = { stdout: 0, stderr: 0 };
    let timedOut = false;
    let logTooLarge = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const collect = (chunks: Buffer[], stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      sizes[stream] += chunk.length;
      if (sizes[stream] > maxLogBytes) {
        if (!logTooLarge) killGroup();
        logTooLarge = true;
        return;
      }
      chunks.push(chunk);
    };
    child.stdout.on('data', collect(stdout, 'stdout'));
    child.stderr.on('data', collect(stderr, 'stderr'));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, spec.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      // Anything the step left behind in its group (a daemonised child) goes too.
      killGroup();
      resolve({
        exitCode,
        signal,
        timedOut,
        logTooLarge,
        stdout: new Uint8Array(Buffer.concat(stdout)),
        stderr: new Uint8Array(Buffer.concat(stderr)),
        durationMs: performance.now() - started,
      });
    });
  });
}

/** stepSucceeded reports whether a step exited 0 on its own, in time, within its log bound. */
export function stepSucceeded(result: StepResult): boolean {
  return result.exitCode === 0 && !result.timedOut && !result.logTooLarge;
}

const bwrapCandidates = ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap'];
const unshareCandidates = ['/usr/bin/unshare', '/bin/unshare'];

/**
 * probeSandbox tries bwrap with the real step layout (running `/bin/true` and a network check),
 * then `unshare -rn`, and reports the strongest mode that works. `prefer` caps the mode (tests
 * use it to exercise the weaker paths).
 */
export async function probeSandbox(prefer: Isolation = 'bwrap'): Promise<SandboxProbe> {
  const notes: string[] = [];
  if (prefer === 'bwrap') {
    const bwrap = await firstExisting(bwrapCandidates);
    if (bwrap === undefined) notes.push('bwrap not installed');
    else if (await tryRun({ isolation: 'bwrap', hermetic: true, program: bwrap, notes: [] })) {
      return Object.freeze({
        isolation: 'bwrap',
        hermetic: true,
        program: bwrap,
        notes: Object.freeze(notes),
      });
    } else notes.push('bwrap did not run a probe step');
  }
  if (prefer !== 'none') {
    const unshare = await firstExisting(unshareCandidates);
    if (unshare === undefined) notes.push('unshare not installed');
    else if (await tryRun({ isolation: 'unshare', hermetic: false, program: unshare, notes: [] })) {
      return Object.freeze({
        isolation: 'unshare',
        hermetic: false,
        program: unshare,
        notes: Object.freeze(notes),
      });
    } else notes.push('unshare -rn did not run a probe step');
  }
  return Object.freeze({ isolation: 'none', hermetic: false, notes: Object.freeze(notes) });
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) if (await exists(path)) return path;
  return undefined;
}

async function tryRun(probe: SandboxProbe): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-probe-'));
  try {
    for (const sub of ['src', 'out', 'inputs', 'home']) await mkdir(join(dir, sub));
    const result = await runStep(probe, {
      argv: ['/bin/true'],
      timeoutMs: 10_000,
      sourceDir: join(dir, 'src'),
      outDir: join(dir, 'out'),
      inputsDir: join(dir, 'inputs'),
      homeDir: join(dir, 'home'),
      tools: [],
      sourceDateEpoch: 0,
    });
    return stepSucceeded(result);
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
