/**
 * Per-step resource limits for the build sandbox: CPU time, address space, file size and,
 * optionally, the process count, set as POSIX rlimits (setrlimit(2)) on the step's process just
 * before it starts, inside the sandbox, so every process the step forks inherits them. They are
 * applied by util-linux `prlimit` when it is installed (it takes bytes and sets soft and hard
 * limits), otherwise by the shell's `ulimit` (CPU, address space and file size only).
 *
 * The CPU soft limit sends SIGXCPU, the hard limit one second later SIGKILL; a write past the
 * file size limit gets SIGXFSZ (or EFBIG); an allocation past the address space limit fails,
 * which a program reports or crashes on. {@link describeLimitExit} turns those endings into a
 * plain sentence for the build error.
 *
 * LIMIT: rlimits are per process, not per step: a step that forks many processes can use the
 * CPU and memory limit in each. The process limit counts all processes of the user and is not
 * enforced at all for root (the kernel exempts uid 0). cgroups would fix both and are not used.
 */

import { lstat } from 'node:fs/promises';
import { availableParallelism, constants } from 'node:os';

/** ResourceLimits are the rlimits one step runs under; `processes` is optional. */
export interface ResourceLimits {
  readonly cpuSeconds: number;
  readonly addressSpaceBytes: number;
  readonly fileSizeBytes: number;
  readonly processes?: number;
}

/** defaultAddressSpaceBytes is the address space a step may map unless its recipe says less (16 GiB). */
export const defaultAddressSpaceBytes = 16 * 1024 * 1024 * 1024;
/** defaultFileSizeBytes is the largest file a step may write unless its recipe says otherwise (4 GiB). */
export const defaultFileSizeBytes = 4 * 1024 * 1024 * 1024;

/**
 * stepLimits returns the limits of a step: the recipe's own where given, else CPU time for the
 * step's timeout on every core of this host (a parallel compiler uses CPU seconds faster than
 * wall seconds; the wall-clock timeout still applies) and the default address space and file
 * size; no process limit by default.
 */
export function stepLimits(
  timeoutSeconds: number,
  recipe: Partial<ResourceLimits> | undefined,
  cores = availableParallelism(),
): ResourceLimits {
  return Object.freeze({
    cpuSeconds: recipe?.cpuSeconds ?? timeoutSeconds * cores,
    addressSpaceBytes: recipe?.addressSpaceBytes ?? defaultAddressSpaceBytes,
    fileSizeBytes: recipe?.fileSizeBytes ?? defaultFileSizeBytes,
    ...(recipe?.processes === undefined ? {} : { processes: recipe.processes }),
  });
}

const prlimitCandidates = ['/usr/bin/prlimit', '/bin/prlimit'];

/**
 * findPrlimit returns the path of util-linux prlimit under `/usr` or `/bin` (both visible inside
 * the sandbox at the same path), or undefined when it is not installed.
 */
export async function findPrlimit(): Promise<string | undefined> {
  for (const path of prlimitCandidates) {
    if ((await lstat(path).catch(() => undefined)) !== undefined) return path;
  }
  return undefined;
}

/**
 * limitCommand returns the argv that runs `argv` under `limits`: through `prlimit` when its path
 * is given, else through `/bin/sh` and `ulimit` (the process limit is then not applied).
 */
export function limitCommand(
  limits: ResourceLimits,
  argv: readonly string[],
  prlimit: string | undefined,
): string[] {
  if (prlimit !== undefined) {
    return [
      prlimit,
      `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
      `--as=${limits.addressSpaceBytes}`,
      `--fsize=${limits.fileSizeBytes}`,
      ...(limits.processes === undefined ? [] : [`--nproc=${limits.processes}`]),
      '--',
      ...argv,
    ];
  }
  // POSIX ulimit: -t in seconds, -v in KiB, -f in 512-byte blocks (dash and bash in sh mode).
  const script = [
    `ulimit -t ${limits.cpuSeconds}`,
    `ulimit -v ${Math.floor(limits.addressSpaceBytes / 1024)}`,
    `ulimit -f ${Math.floor(limits.fileSizeBytes / 512)}`,
    'exec "$@"',
  ].join(' && ');
  return ['/bin/sh', '-c', script, 'vouch-limits', ...argv];
}

/** limitSettings describes limits for the provenance's sandbox settings. */
export function limitSettings(limits: ResourceLimits, enforcedBy: 'prlimit' | 'ulimit') {
  return {
    cpuSeconds: limits.cpuSeconds,
    addressSpaceBytes: limits.addressSpaceBytes,
    fileSizeBytes: limits.fileSizeBytes,
    ...(limits.processes === undefined ? {} : { processes: limits.processes }),
    enforcedBy,
  };
}

/**
 * describeLimitExit explains how a step ended when that ending points at a limit: SIGXCPU or
 * SIGKILL after the CPU limit, SIGXFSZ, or any crash or failure with the address space limit
 * named as a likely cause. A signal is read from `signal` or from a shell's 128+N exit status.
 */
export function describeLimitExit(
  exitCode: number | null,
  signal: string | null,
  limits: ResourceLimits,
): string {
  const name = signal ?? (exitCode !== null && exitCode > 128 ? signalName(exitCode - 128) : undefined);
  if (name === 'SIGXCPU') return `exceeded its CPU time limit of ${limits.cpuSeconds} s`;
  if (name === 'SIGXFSZ') return `exceeded its file size limit of ${limits.fileSizeBytes} bytes`;
  const how = name === undefined ? `exited ${exitCode}` : `was killed by ${name}`;
  return `${how} (limits: ${limits.cpuSeconds} s CPU, ${limits.addressSpaceBytes} bytes of address space, ${limits.fileSizeBytes} bytes per file; a failed allocation shows as a crash or an error in its log)`;
}

function signalName(signo: number): string | undefined {
  for (const [name, value] of Object.entries(constants.signals)) if (value === signo) return name;
  return undefined;
}
