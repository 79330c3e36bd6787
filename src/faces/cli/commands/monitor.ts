/**
 * `vouch monitor`: follow a log and report forks. It wires clients/monitor to the command line:
 * the log (URL or folder), the trust policy (C2SP tlog-policy, or a bare log key), the state
 * folder where the last verified checkpoint is kept, and the other views to compare — every
 * witness in the policy that has a URL (its monitoring endpoint `<url>/<hex sha256(origin)>/
 * checkpoint`) and any mirrors given. It prints JSON lines and exits 1 on a fork or a checkpoint
 * that breaks the policy, naming the views.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openCheckpoint } from '../../../clients/log/client.ts';
import { HttpTileFetcher } from '../../../clients/log/http-fetcher.ts';
import { openTileFetcher } from '../../../clients/log/open-fetcher.ts';
import { isFatal, type MonitorOptions, pollOnce, type Source } from '../../../clients/monitor/monitor.ts';
import { VouchError } from '../../../core/errors.ts';
import { formatVerifierKey, type NoteVerifier } from '../../../core/note/index.ts';
import { createCheckpointVerifier } from '../../../core/tlog/cosignature.ts';
import { maxPolicyBytes, type Policy, parsePolicy } from '../../../core/tlog/policy.ts';
import { checkCheckpointPolicy } from '../../../core/tlog/quorum.ts';
import { originHashOf } from '../../../services/witness/witness.ts';
import { mkdirDurable, writeFileDurable } from '../../../storage/fs/durable.ts';
import { parseCommandLine, required } from '../args.ts';
import { type CliIo, type Command, exitCodes, readInput } from '../io.ts';

const synopsis =
  'vouch monitor --log URL|DIR (--policy FILE | --vkey VKEY) --state DIR [--mirror URL...] [--entries] [--interval SECONDS] [--polls N]';

const usage = `Usage:
  ${synopsis}
      Follow a log: each poll verifies its checkpoint against the policy (log signature and
      witness quorum) or the log key, proves it consistent with the last checkpoint verified
      (kept in the state folder), with --entries reads and checks every new entry, and compares
      the checkpoints shown by each witness of the policy (its monitoring endpoint) and each
      mirror with the log's. One JSON line per event; exit 1 on a fork or a broken policy,
      naming both views. Polls once unless --interval is given (then --polls bounds the count).
`;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('monitor', synopsis, args, {
    log: { type: 'string' },
    policy: { type: 'string' },
    vkey: { type: 'string' },
    state: { type: 'string' },
    mirror: { type: 'string', multiple: true },
    entries: { type: 'boolean' },
    interval: { type: 'string' },
    polls: { type: 'string' },
  });
  const logLocation = required('monitor', synopsis, values.log, '--log');
  const stateDir = required('monitor', synopsis, values.state, '--state');
  if ((values.policy === undefined) === (values.vkey === undefined)) {
    throw new VouchError(
      'invalid-argument',
      `monitor: give exactly one of --policy and --vkey (usage: ${synopsis})`,
    );
  }
  const policy =
    typeof values.policy === 'string'
      ? parsePolicy(await readInput(values.policy, io, maxPolicyBytes))
      : undefined;
  const logKey = logKeyOf(policy, typeof values.vkey === 'string' ? values.vkey : undefined);
  const origin = logKey.name;
  const originHash = originHashOf(origin);
  const sources: Source[] = [];
  for (const witness of policy?.witnesses ?? []) {
    if (witness.url === undefined) continue;
    const fetcher = new HttpTileFetcher(new URL(`${originHash}/`, withSlash(witness.url)).href, {
      retries: 1,
    });
    sources.push({ name: `witness ${witness.name}`, checkpoint: () => fetcher.get('checkpoint') });
  }
  for (const mirror of Array.isArray(values.mirror) ? values.mirror : []) {
    const fetcher = openTileFetcher(String(mirror));
    sources.push({ name: `mirror ${String(mirror)}`, checkpoint: () => fetcher.get('checkpoint') });
  }
  await mkdirDurable(stateDir);
  const statePath = join(stateDir, `${originHash}.checkpoint`);
  const options: MonitorOptions = {
    log: openTileFetcher(logLocation),
    logName: `log ${logLocation}`,
    logKey,
    verify: (signed) => {
      if (policy === undefined)
        return { checkpoint: openCheckpoint(signed, { logKey }).checkpoint, cosigners: [] };
      const checked = checkCheckpointPolicy(signed, policy, { origin });
      return { checkpoint: checked.checkpoint, cosigners: checked.cosigners.map((c) => c.witness) };
    },
    sources,
    entries: values.entries === true,
    state: {
      load: async () => {
        try {
          return new Uint8Array(await readFile(statePath));
        } catch (error) {
          if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
          throw error;
        }
      },
      save: (signed) => writeFileDurable(statePath, signed, { mode: 0o644 }),
    },
    emit: (event) => io.stdout(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`),
  };
  const interval = values.interval === undefined ? 0 : Number(values.interval);
  const polls =
    values.polls === undefined ? (interval > 0 ? Number.POSITIVE_INFINITY : 1) : Number(values.polls);
  if (!Number.isFinite(interval) || interval < 0 || !(polls >= 1)) {
    throw new VouchError('invalid-argument', `monitor: --interval and --polls must be positive numbers`);
  }
  let fatal = false;
  const emit = options.emit;
  const watched: MonitorOptions = {
    ...options,
    emit: (event) => {
      if (isFatal(event)) fatal = true;
      emit(event);
    },
  };
  for (let poll = 0; poll < polls; poll++) {
    if (poll > 0) await new Promise((done) => setTimeout(done, interval * 1000));
    await pollOnce(watched);
    if (fatal) return exitCodes.verificationFailed;
  }
  return exitCodes.ok;
}

function logKeyOf(policy: Policy | undefined, vkey: string | undefined): NoteVerifier {
  if (vkey !== undefined) return createCheckpointVerifier(vkey);
  const logs = policy?.logs ?? [];
  if (logs.length !== 1) {
    throw new VouchError('invalid-argument', 'monitor: the policy must list exactly one log to follow');
  }
  return createCheckpointVerifier(formatVerifierKey((logs[0] as Policy['logs'][number]).key));
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** monitorCommand is `vouch monitor`. */
export const monitorCommand: Command = {
  name: 'monitor',
  summary: "follow a log, check it never forks, compare witnesses' and mirrors' views",
  usage,
  run,
};
