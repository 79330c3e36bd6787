/**
 * `vouch agent`: the endpoint agent (src/clients/agent) — `init` a state folder from the trusted
 * root and the release policy, run one `update`, `run` updates periodically (jitter, backoff,
 * Retry-After; stopped by SIGINT/SIGTERM), print the last run's `status`, and `rollback` an
 * installed target to its previous version (pinning it there until `--unpin` or a newer
 * release). It only wires: every check is in the agent.
 */

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { AgentConfigInput } from '../../../clients/agent/config.ts';
import { initAgent } from '../../../clients/agent/init.ts';
import { InstallStore } from '../../../clients/agent/install.ts';
import { runLoop } from '../../../clients/agent/run.ts';
import { readConfig, statePaths } from '../../../clients/agent/state.ts';
import {
  type AgentStatus,
  formatStatus,
  readStatus,
  summarizeInstalled,
} from '../../../clients/agent/status.ts';
import { updateOnce } from '../../../clients/agent/update.ts';
import { VouchError } from '../../../core/errors.ts';
import { parseCommandLine, quote, repeated, required } from '../args.ts';
import { type CliIo, type Command, exitCodes, runSubcommand } from '../io.ts';

const initSynopsis =
  'vouch agent init --dir DIR --root ROOT.json --release-policy FILE --repository URL --repository-name NAME --want PREFIX... [--site URL --credential FILE] [--interval S] [--jitter S] [--timeout-ms MS]';
const updateSynopsis = 'vouch agent update --dir DIR [--json]';
const runSynopsis = 'vouch agent run --dir DIR [--once] [--max-runs N] [--json]';
const statusSynopsis = 'vouch agent status --dir DIR [--json]';
const rollbackSynopsis = 'vouch agent rollback --dir DIR --target KEY [--unpin]';

const usage = `Usage:
  ${initSynopsis}
      Create the agent state folder DIR trusting ROOT.json (TUF root metadata shipped out of
      band) and the release policy FILE (builders, rebuilders, reviewers, and the release log
      key with its witness quorum). It installs targets under each --want prefix (such as
      products/hello/ or rules/main/) from the repository at URL, whose release records are
      named NAME. With --site, each run is reported to SITE/v1/agent-reports with the tenant
      credential read from --credential.
  ${updateSynopsis}
      Run one update: the TUF client workflow, release-log inclusion under the witness quorum
      for every new metadata version and evidence file, the release policy, delta or full
      download, test-load, atomic swap. Prints the status; exit 0 when installed or up to
      date, 1 when refused (the error names the attack), 4 when the repository was unavailable.
  ${runSynopsis}
      Update now and then every interval (plus jitter; sooner with backoff after a failure,
      never before a Retry-After), until SIGINT/SIGTERM, --once or --max-runs.
  ${statusSynopsis}
      Print the last run's outcome and trusted versions, and the installed versions now
      (with any pin).
  ${rollbackSynopsis}
      Make the previous installed version of KEY (such as rules-main) current again. Going back
      to an older version PINS KEY: later updates skip it (status lists it under "pinned"; not
      an error, other targets still update) until targets offer a version newer than the one
      rolled back from. With --unpin, only remove the pin: the next update installs the newest
      version again.
`;

function positiveInteger(text: unknown, flag: string, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = typeof text === 'string' && /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : 0;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new VouchError(
      'invalid-argument',
      `agent: ${flag} must be an integer from 1 to ${max}, not ${quote(String(text))}`,
    );
  }
  return value;
}

async function init(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('agent init', initSynopsis, args, {
    dir: { type: 'string' },
    root: { type: 'string' },
    'release-policy': { type: 'string' },
    repository: { type: 'string' },
    'repository-name': { type: 'string' },
    want: { type: 'string', multiple: true },
    site: { type: 'string' },
    credential: { type: 'string' },
    interval: { type: 'string' },
    jitter: { type: 'string' },
    'timeout-ms': { type: 'string' },
  });
  if (values.help === true) return help(io);
  const dir = required('agent init', initSynopsis, values.dir, '--dir');
  const root = await readFile(required('agent init', initSynopsis, values.root, '--root'));
  const releasePolicy = await readFile(
    required('agent init', initSynopsis, values['release-policy'], '--release-policy'),
  );
  const site = typeof values.site === 'string' ? values.site : undefined;
  const credential = typeof values.credential === 'string' ? resolve(values.credential) : undefined;
  if ((site === undefined) !== (credential === undefined)) {
    throw new VouchError(
      'invalid-argument',
      `agent init: --site and --credential go together (usage: ${initSynopsis})`,
    );
  }
  const interval = positiveInteger(values.interval, '--interval', 31 * 86_400);
  const jitter = positiveInteger(values.jitter, '--jitter', 86_400);
  const timeoutMs = positiveInteger(values['timeout-ms'], '--timeout-ms', 3_600_000);
  const config: AgentConfigInput = {
    repository: required('agent init', initSynopsis, values.repository, '--repository'),
    repositoryName: required('agent init', initSynopsis, values['repository-name'], '--repository-name'),
    wanted: repeated('agent init', initSynopsis, values.want, '--want'),
    ...(site === undefined ? {} : { site }),
    ...(credential === undefined ? {} : { credentialFile: credential }),
    ...(interval === undefined ? {} : { intervalSeconds: interval }),
    ...(jitter === undefined ? {} : { jitterSeconds: jitter }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
  const made = await initAgent(dir, {
    root: new Uint8Array(root.buffer, root.byteOffset, root.byteLength),
    releasePolicy: new Uint8Array(releasePolicy.buffer, releasePolicy.byteOffset, releasePolicy.byteLength),
    config,
  });
  io.stdout(`agent state in ${dir}: ${made.repository} → ${made.wanted.join(', ')}\n`);
  return exitCodes.ok;
}

function printStatus(status: AgentStatus | undefined, json: boolean, io: CliIo): void {
  io.stdout(json ? `${JSON.stringify(status ?? null)}\n` : formatStatus(status));
}

/** exitCodeOf maps a run's status to the command's exit code. */
export function exitCodeOf(status: AgentStatus): number {
  if (status.outcome !== 'failed') return exitCodes.ok;
  const code = status.error?.code;
  const transient = code === 'unavailable' || code === 'pushback' || code === 'conflict';
  return transient && status.error?.attack === undefined
    ? exitCodes.unavailable
    : exitCodes.verificationFailed;
}

async function update(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('agent update', updateSynopsis, args, {
    dir: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help === true) return help(io);
  const dir = required('agent update', updateSynopsis, values.dir, '--dir');
  const status = await updateOnce({ dir });
  printStatus(status, values.json === true, io);
  return exitCodeOf(status);
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('agent run', runSynopsis, args, {
    dir: { type: 'string' },
    once: { type: 'boolean' },
    'max-runs': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help === true) return help(io);
  const dir = required('agent run', runSynopsis, values.dir, '--dir');
  const maxRuns = values.once === true ? 1 : positiveInteger(values['max-runs'], '--max-runs', 1_000_000);
  const config = await readConfig(statePaths(dir));
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let last: AgentStatus | undefined;
  try {
    await runLoop({
      update: (signal) => updateOnce({ dir, signal }),
      timing: {
        intervalMs: config.intervalSeconds * 1000,
        jitterMs: config.jitterSeconds * 1000,
        maxBackoffMs: config.maxBackoffSeconds * 1000,
      },
      signal: controller.signal,
      ...(maxRuns === undefined ? {} : { maxRuns }),
      onRun: (status, next) => {
        last = status;
        if (values.json === true) io.stdout(`${JSON.stringify({ ...status, nextRunMs: next ?? null })}\n`);
        else {
          const error = status.error === undefined ? '' : `: ${status.error.message}`;
          const after = next === undefined ? '' : `; next run in ${Math.round(next / 1000)} s`;
          io.stdout(`${status.finishedAt} ${status.outcome}${error}${after}\n`);
        }
      },
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return last === undefined ? exitCodes.ok : exitCodeOf(last);
}

async function status(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('agent status', statusSynopsis, args, {
    dir: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help === true) return help(io);
  const dir = required('agent status', statusSynopsis, values.dir, '--dir');
  const paths = statePaths(dir);
  await readConfig(paths);
  const last = await readStatus(paths);
  // The installed versions and pins as they are now: a rollback since the last run changed them.
  const installed = summarizeInstalled(await new InstallStore(paths.installed).list());
  printStatus(last === undefined ? undefined : { ...last, installed }, values.json === true, io);
  return exitCodes.ok;
}

async function rollback(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('agent rollback', rollbackSynopsis, args, {
    dir: { type: 'string' },
    target: { type: 'string' },
    unpin: { type: 'boolean' },
  });
  if (values.help === true) return help(io);
  const dir = required('agent rollback', rollbackSynopsis, values.dir, '--dir');
  const key = required('agent rollback', rollbackSynopsis, values.target, '--target');
  const store = new InstallStore(statePaths(dir).installed);
  if (values.unpin === true) {
    const record = await store.unpin(key);
    io.stdout(`${key}: not pinned; ${record.current.version} stays current until the next update\n`);
    return exitCodes.ok;
  }
  const record = await store.rollback(key);
  const pin =
    record.pinned === undefined
      ? ''
      : `; pinned: updates skip ${key} until a version newer than ${record.pinned.from} (or --unpin)`;
  io.stdout(
    `${key}: ${record.current.version} is current again (previous ${record.previous?.version ?? 'none'})${pin}\n`,
  );
  return exitCodes.ok;
}

function help(io: CliIo): number {
  io.stdout(usage);
  return exitCodes.ok;
}

/** agentCommand is `vouch agent` with `init`, `update`, `run`, `status` and `rollback`. */
export const agentCommand: Command = {
  name: 'agent',
  summary: 'the endpoint agent: verify and install updates from the repository',
  usage,
  run: (args, io) => runSubcommand(args, io, usage, { init, update, run, status, rollback }),
};
