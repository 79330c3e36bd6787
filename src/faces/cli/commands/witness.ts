/**
 * `vouch witness`: create a C2SP witness (https://c2sp.org/tlog-witness) in a folder (init),
 * configure the logs it witnesses (add-log), and serve it over HTTP (serve). It only wires: the
 * witness is services/witness, the HTTP face faces/http/witness.ts. It never removes or re-keys
 * a configured log.
 */

import { resolve } from 'node:path';
import { VouchError } from '../../../core/errors.ts';
import { formatVerifierKey } from '../../../core/note/index.ts';
import { createCosigner } from '../../../core/tlog/cosignature.ts';
import {
  addWitnessedLog,
  initWitnessFolder,
  keyPathOf,
  readWitnessFolderConfig,
  WitnessService,
} from '../../../services/witness/folder.ts';
import { defaultMaxBusyMs, serve } from '../../http/http.ts';
import { createWitnessHandler } from '../../http/witness.ts';
import { parseCommandLine, parseListen, quote, repeated, required } from '../args.ts';
import { type CliIo, type Command, exitCodes, jsonLogger, runSubcommand, untilStopped } from '../io.ts';
import { loadSigner } from '../load-key.ts';

const initSynopsis = 'vouch witness init --dir DIR --name NAME --key KEYFILE';
const addLogSynopsis = 'vouch witness add-log --dir DIR --origin ORIGIN --vkey VKEY [--vkey VKEY...]';
const serveSynopsis = 'vouch witness serve --dir DIR --listen HOST:PORT [--database-url URL]';

const usage = `Usage:
  ${initSynopsis}
      Create a witness in DIR (DIR/witness.json). KEYFILE is an Ed25519 key (cosignature/v1,
      type 0x04) or an ML-DSA-44 key (type 0x06) whose name is NAME. Prints the witness's
      verifier key, which logs and clients configure.
  ${addLogSynopsis}
      Witness the log ORIGIN, whose checkpoints must carry a signature by one of the VKEYs.
      Adding the same log again is a no-op; a log is never removed or given other keys.
  ${serveSynopsis}
      Serve the witness: POST add-checkpoint and GET <hex sha256(origin)>/checkpoint. The
      per-log state lives in DIR/state.db, or with --database-url in
      PostgreSQL, where several servers may share it. Logs added while it runs are picked up.
`;

async function init(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('witness init', initSynopsis, args, {
    dir: { type: 'string' },
    name: { type: 'string' },
    key: { type: 'string' },
  });
  if (values.help === true) return help(io);
  const dir = required('witness init', initSynopsis, values.dir, '--dir');
  const name = required('witness init', initSynopsis, values.name, '--name');
  const keyPath = resolve(required('witness init', initSynopsis, values.key, '--key'));
  const signer = await loadSigner(keyPath, io);
  if (signer.name !== name) {
    throw new VouchError(
      'invalid-argument',
      `witness init: the key is named ${quote(signer.name)}; a witness key's name must equal the witness name`,
    );
  }
  const vkey = formatVerifierKey(createCosigner(signer, { name, timestamp: 1n }));
  await initWitnessFolder(dir, { name, key: keyPath, vkey });
  io.stdout(`${vkey}\n`);
  return exitCodes.ok;
}

async function addLog(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('witness add-log', addLogSynopsis, args, {
    dir: { type: 'string' },
    origin: { type: 'string' },
    vkey: { type: 'string', multiple: true },
  });
  if (values.help === true) return help(io);
  const dir = required('witness add-log', addLogSynopsis, values.dir, '--dir');
  const origin = required('witness add-log', addLogSynopsis, values.origin, '--origin');
  const vkeys = repeated('witness add-log', addLogSynopsis, values.vkey, '--vkey');
  const { added } = await addWitnessedLog(dir, { origin, vkeys });
  io.stdout(`${added ? 'added' : 'already witnessing'} ${origin}\n`);
  return exitCodes.ok;
}

async function serveWitness(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('witness serve', serveSynopsis, args, {
    dir: { type: 'string' },
    listen: { type: 'string' },
    'database-url': { type: 'string' },
  });
  if (values.help === true) return help(io);
  const dir = required('witness serve', serveSynopsis, values.dir, '--dir');
  const { host, port } = parseListen(required('witness serve', serveSynopsis, values.listen, '--listen'));
  const databaseUrl = typeof values['database-url'] === 'string' ? values['database-url'] : undefined;
  const config = await readWitnessFolderConfig(dir);
  const key = await loadSigner(keyPathOf(dir, config), io);
  const logLine = jsonLogger(io);
  const service = await WitnessService.start({
    dir,
    key,
    log: logLine,
    ...(databaseUrl === undefined || databaseUrl === '' ? {} : { databaseUrl }),
  });
  let server: Awaited<ReturnType<typeof serve>>;
  try {
    server = await serve(createWitnessHandler({ witness: service.witness, log: logLine }), {
      host,
      port,
      log: logLine,
      maxBusyMs: defaultMaxBusyMs,
    });
  } catch (error) {
    await service.close();
    throw error;
  }
  logLine(`serving witness ${config.name} at ${server.url}/`);
  await untilStopped();
  logLine('shutting down');
  await server.close();
  await service.close();
  return exitCodes.ok;
}

function help(io: CliIo): number {
  io.stdout(usage);
  return exitCodes.ok;
}

/** witnessCommand is `vouch witness` with its subcommands `init`, `add-log` and `serve`. */
export const witnessCommand: Command = {
  name: 'witness',
  summary: 'run a C2SP witness that cosigns checkpoints of the logs it follows',
  usage,
  run: (args, io) => runSubcommand(args, io, usage, { init, 'add-log': addLog, serve: serveWitness }),
};
