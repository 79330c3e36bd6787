/**
 * `vouch log`: create and run a transparency log (init, serve), add entries to one over HTTP
 * (add), and check one as a client (verify, proof, check-proof; see log-client.ts). It only
 * wires: the log is services/log, the HTTP face faces/http, the client clients/log.
 */

import { join, resolve } from 'node:path';
import { addEntry } from '../../../clients/log/add.ts';
import { formatBase64 } from '../../../core/bytes/index.ts';
import { VouchError } from '../../../core/errors.ts';
import { createNoteSigner, formatVerifierKey } from '../../../core/note/index.ts';
import { maxEntrySize } from '../../../core/tlog/entry-bundle.ts';
import { maxPolicyBytes, parsePolicy } from '../../../core/tlog/policy.ts';
import {
  initLogFolder,
  keyPathOf,
  LogService,
  readLogFolderConfig,
  readLogPolicy,
} from '../../../services/log/folder.ts';
import { writeFileDurable } from '../../../storage/fs/durable.ts';
import { defaultMaxBusyMs, serve } from '../../http/http.ts';
import { createLogHandler } from '../../http/log.ts';
import { parseCommandLine, parseListen, quote, required } from '../args.ts';
import {
  type CliIo,
  type Command,
  exitCodes,
  jsonLogger,
  readInput,
  runSubcommand,
  untilStopped,
} from '../io.ts';
import { loadSigner } from '../load-key.ts';
import {
  logCheckProof,
  logCheckProofUsage,
  logProof,
  logProofUsage,
  logVerify,
  logVerifyUsage,
} from './log-client.ts';

const initSynopsis =
  'vouch log init --dir DIR --origin ORIGIN --key KEYFILE [--policy FILE] [--batch-size N] [--batch-age-ms MS] [--dedup]';
const serveSynopsis = 'vouch log serve --dir DIR --listen HOST:PORT [--database-url URL]';
const addSynopsis = 'vouch log add --log URL FILE...';

const usage = `Usage:
  ${initSynopsis}
      Create a log in DIR: DIR/log.json (configuration), DIR/tiles/ (the public C2SP tiles,
      entry bundles and checkpoint, servable by any web server) and DIR/state.db. The key's name
      must equal ORIGIN. With --policy (a C2SP tlog-policy file listing this log, the witnesses
      with their URLs and the quorum; copied to DIR/policy.txt), every checkpoint is published
      only once the quorum of witnesses has cosigned it. Prints the log's verifier key.
  ${serveSynopsis}
      Serve the log: the C2SP tlog-tiles read API (GET checkpoint, tile/...) and POST add.
      With --database-url, the sequencing state lives in PostgreSQL and
      several servers may run: one sequences, the others serve reads and wait for its lease.
  ${addSynopsis}
      Add each FILE (or - for standard input) as one entry and print one JSON line per entry
      with its index, once the log has durably integrated it under a signed checkpoint.
${logVerifyUsage}${logProofUsage}${logCheckProofUsage}`;

async function init(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('log init', initSynopsis, args, {
    dir: { type: 'string' },
    origin: { type: 'string' },
    key: { type: 'string' },
    'batch-size': { type: 'string' },
    'batch-age-ms': { type: 'string' },
    dedup: { type: 'boolean' },
    policy: { type: 'string' },
  });
  const dir = required('log init', initSynopsis, values.dir, '--dir');
  const origin = required('log init', initSynopsis, values.origin, '--origin');
  const keyPath = resolve(required('log init', initSynopsis, values.key, '--key'));
  const signer = await loadSigner(keyPath, io);
  if (signer.name !== origin) {
    throw new VouchError(
      'invalid-argument',
      `log init: the key is named ${quote(signer.name)}; a log key's name must equal its origin`,
    );
  }
  const noteSigner = createNoteSigner(signer);
  const vkey = formatVerifierKey(noteSigner);
  const policyBytes =
    typeof values.policy === 'string' ? await readInput(values.policy, io, maxPolicyBytes) : undefined;
  if (policyBytes !== undefined) parsePolicy(policyBytes); // refuse a bad policy before creating anything
  await initLogFolder(dir, {
    ...(policyBytes === undefined ? {} : { policy: 'policy.txt' }),
    origin,
    key: keyPath,
    vkey,
    ...(values['batch-size'] === undefined
      ? {}
      : { batchSize: integer(values['batch-size'], '--batch-size') }),
    ...(values['batch-age-ms'] === undefined
      ? {}
      : { batchAgeMs: integer(values['batch-age-ms'], '--batch-age-ms') }),
    ...(values.dedup === true ? { dedup: true } : {}),
  });
  if (policyBytes !== undefined) {
    await writeFileDurable(join(dir, 'policy.txt'), policyBytes, { mode: 0o644 });
    await readLogPolicy(dir, await readLogFolderConfig(dir));
  }
  // Opening the log once writes its empty, signed checkpoint, so the folder is servable at once.
  const service = await LogService.start({ dir, signer: noteSigner });
  await service.close();
  io.stdout(`${vkey}\n`);
  return exitCodes.ok;
}

async function serveLog(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('log serve', serveSynopsis, args, {
    dir: { type: 'string' },
    listen: { type: 'string' },
    'database-url': { type: 'string' },
  });
  const dir = required('log serve', serveSynopsis, values.dir, '--dir');
  const { host, port } = parseListen(required('log serve', serveSynopsis, values.listen, '--listen'));
  const databaseUrl = typeof values['database-url'] === 'string' ? values['database-url'] : undefined;
  const config = await readLogFolderConfig(dir);
  const signer = createNoteSigner(await loadSigner(keyPathOf(dir, config), io));
  const logLine = jsonLogger(io);
  const service = await LogService.start({
    dir,
    signer,
    log: logLine,
    ...(databaseUrl === undefined || databaseUrl === '' ? {} : { databaseUrl }),
  });
  const server = await serve(createLogHandler({ files: service.files, log: () => service.log }), {
    host,
    port,
    log: logLine,
    maxBusyMs: defaultMaxBusyMs,
  });
  logLine(`serving log ${config.origin} at ${server.url}/`);
  await untilStopped();
  logLine('shutting down');
  await server.close();
  await service.close();
  return exitCodes.ok;
}

async function add(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'log add',
    addSynopsis,
    args,
    { log: { type: 'string' } },
    true,
  );
  const base = required('log add', addSynopsis, values.log, '--log');
  if (positionals.length === 0)
    throw new VouchError('invalid-argument', `log add: no FILE given (usage: ${addSynopsis})`);
  for (const file of positionals) {
    const entry = await readInput(file, io, maxEntrySize);
    const ack = await addEntry(base, entry);
    io.stdout(
      `${JSON.stringify({ file, index: Number(ack.index), leafHash: formatBase64(ack.leafHash) })}\n`,
    );
  }
  return exitCodes.ok;
}

function integer(value: unknown, flag: string): number {
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new VouchError('invalid-argument', `${flag} must be a whole number`);
  }
  return n;
}

/** logCommand is `vouch log`. */
export const logCommand: Command = {
  name: 'log',
  summary: 'run a C2SP transparency log, add entries, verify a log and its proofs',
  usage,
  run: (args, io) =>
    runSubcommand(args, io, usage, {
      init,
      serve: serveLog,
      add,
      verify: logVerify,
      proof: logProof,
      'check-proof': logCheckProof,
    }),
};
