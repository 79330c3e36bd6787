/**
 * `vouch repo init|add|sign|publish|timestamp|rotate-root|status`: the update repository of
 * docs/updates.md. The work is services/repo's; this file parses options, loads keys
 * (load-key.ts) and, for publish, connects the release log: each entry is appended over HTTP and
 * its inclusion proof checked under a checkpoint signed by `--log-vkey` (clients/log addAndProve)
 * before the repository may publish anything that depends on it.
 */

import { addAndProve } from '../../../clients/log/add.ts';
import type { Signer } from '../../../core/crypto/index.ts';
import { VouchError } from '../../../core/errors.ts';
import { keyTypeOfSignatureType, parseVerifierKey } from '../../../core/note/keys.ts';
import { createCheckpointVerifier } from '../../../core/tlog/cosignature.ts';
import {
  type Expiries,
  initRepository,
  type PublicKey,
  pendingStatus,
  preparePendingTargets,
  publishRepository,
  type ReleaseLog,
  readConfig,
  refreshTimestamp,
  repoPaths,
  rotateRoot,
  type SignatureStatus,
  signPending,
  stageProduct,
  stageRules,
} from '../../../services/repo/index.ts';
import { stageRulesBuild } from '../../../services/repo/stage.ts';
import { defaultMaxBusyMs, serve } from '../../http/http.ts';
import { createStaticHandler } from '../../http/static.ts';
import { parseCommandLine, parseListen, quote, repeated, required } from '../args.ts';
import type { CliIo, Command } from '../io.ts';
import { exitCodes, jsonLogger, runSubcommand, untilStopped } from '../io.ts';
import { loadSigner } from '../load-key.ts';

const usage = `Usage:
  vouch repo init DIR --name NAME --root-key FILE [--root-key FILE ...] --root-threshold K
        --release-vkey VKEY --approver-vkey VKEY --snapshot-key FILE --timestamp-key FILE
        [--expires ROLE=DAYS ...]
      Create the update repository folder DIR: root with the K-of-n root keys (all sign root
      version 1), targets with a threshold of 2 shared by the vendor's release key and the
      supervisor's approver key, one online snapshot and one timestamp key. Expiries default to
      root=365 targets=90 snapshot=7 timestamp=1 days. Root 1 is published by the first publish.
  vouch repo add DIR --product BUILD_DIR [--rebuild FILE ...] [--review FILE] [--name N --version V]
  vouch repo add DIR --rules DB_DIR [--provenance FILE] [--rebuild FILE ...] [--review FILE] [--delta-from N ...]
  vouch repo add DIR --rules-build BUILD_DIR [--rebuild FILE ...] [--review FILE] [--delta-from N ...]
      Stage a product archive from a vouch build output folder (with its provenance), or a rule
      database as a bundle with a delta from the previous full version (and from each
      --delta-from version), then rebuild the pending targets version. --rules-build takes a
      vouch build folder whose archive holds one bundle made by \`vouch rules pack\`, and stages
      that bundle with the build's provenance. Signatures on a pending
      targets whose content changed are dropped.
  vouch repo sign DIR --role targets|root --key FILE
      Add the key's signature to the pending targets or root, and print who is still missing.
  vouch repo status DIR
      Print the signatures of what is pending.
  vouch repo publish DIR --snapshot-key FILE --timestamp-key FILE --log URL --log-vkey VKEY
      Publish what is pending once its thresholds are met: log every new root, targets and
      snapshot version and every new evidence file in the release log first, then write them to
      DIR/public (consistent snapshots, hash-prefixed targets), timestamp.json last.
  vouch repo timestamp DIR --timestamp-key FILE
      Write the next timestamp version with a later expiry.
  vouch repo rotate-root DIR [--root-key FILE ... | --root-vkey VKEY ...] [--root-threshold K]
        [--release-vkey VKEY] [--approver-vkey VKEY] [--snapshot-key FILE] [--timestamp-key FILE]
      Prepare root version N+1 with the given keys (others kept; keys no role lists are revoked).
      It must then be signed (repo sign --role root) by a threshold of the old root keys and of
      the new ones before publish accepts it.
  vouch repo serve DIR --listen HOST:PORT
      Serve DIR/public read-only over HTTP, as any static web server or CDN could: timestamp.json
      uncached, every other (version- or content-addressed) file cached as immutable.
`;

const now = (): number => Math.floor(Date.now() / 1000);

async function init(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis =
    'vouch repo init DIR --name NAME --root-key FILE ... --root-threshold K --release-vkey VKEY --approver-vkey VKEY --snapshot-key FILE --timestamp-key FILE [--expires ROLE=DAYS ...]';
  const { values, positionals } = parseCommandLine(
    'repo init',
    synopsis,
    args,
    {
      name: { type: 'string' },
      'root-key': { type: 'string', multiple: true },
      'root-threshold': { type: 'string' },
      'release-vkey': { type: 'string' },
      'approver-vkey': { type: 'string' },
      'snapshot-key': { type: 'string' },
      'timestamp-key': { type: 'string' },
      expires: { type: 'string', multiple: true },
    },
    true,
  );
  const dir = onePositional('repo init', synopsis, positionals);
  const rootSigners: Signer[] = [];
  for (const path of repeated('repo init', synopsis, values['root-key'], '--root-key'))
    rootSigners.push(await loadSigner(path, io));
  const result = await initRepository(dir, {
    name: required('repo init', synopsis, values.name, '--name'),
    rootSigners,
    rootThreshold: integer(
      required('repo init', synopsis, values['root-threshold'], '--root-threshold'),
      '--root-threshold',
    ),
    release: required('repo init', synopsis, values['release-vkey'], '--release-vkey'),
    approver: required('repo init', synopsis, values['approver-vkey'], '--approver-vkey'),
    snapshotKey: await loadSigner(
      required('repo init', synopsis, values['snapshot-key'], '--snapshot-key'),
      io,
    ),
    timestampKey: await loadSigner(
      required('repo init', synopsis, values['timestamp-key'], '--timestamp-key'),
      io,
    ),
    expires: expiries(values.expires),
    now: now(),
  });
  io.stdout(
    `${dir}: repository created; root version 1 (threshold ${values['root-threshold']} of ${result.rootKeyIds.length}) is pending until the first publish\n`,
  );
  return exitCodes.ok;
}

async function add(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis =
    'vouch repo add DIR (--product BUILD_DIR | --rules DB_DIR [--provenance FILE] [--delta-from N ...] | --rules-build BUILD_DIR [--delta-from N ...]) [--rebuild FILE ...] [--review FILE]';
  const { values, positionals } = parseCommandLine(
    'repo add',
    synopsis,
    args,
    {
      product: { type: 'string' },
      rules: { type: 'string' },
      'rules-build': { type: 'string' },
      provenance: { type: 'string' },
      rebuild: { type: 'string', multiple: true },
      review: { type: 'string' },
      name: { type: 'string' },
      version: { type: 'string' },
      'delta-from': { type: 'string', multiple: true },
    },
    true,
  );
  const dir = onePositional('repo add', synopsis, positionals);
  const rebuilds = strings(values.rebuild);
  const review = typeof values.review === 'string' ? values.review : undefined;
  const evidence = { rebuilds, ...(review === undefined ? {} : { review }) };
  const kinds = [values.product, values.rules, values['rules-build']].filter((v) => typeof v === 'string');
  if (kinds.length !== 1)
    throw new VouchError(
      'invalid-argument',
      `repo add: give exactly one of --product, --rules and --rules-build (usage: ${synopsis})`,
    );
  if (typeof values.product === 'string') {
    if (typeof values.provenance === 'string' || values['delta-from'] !== undefined)
      throw new VouchError(
        'invalid-argument',
        'repo add: --provenance and --delta-from go with --rules; a product build folder holds its provenance',
      );
    const entry = await stageProduct(dir, {
      buildDir: values.product,
      ...evidence,
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      ...(typeof values.version === 'string' ? { version: values.version } : {}),
    });
    io.stdout(`staged ${entry.path} (${entry.target.length} bytes, sha256 ${entry.target.sha256})\n`);
  } else if (typeof values.rules === 'string') {
    const entries = await stageRules(dir, {
      databaseDir: values.rules,
      ...evidence,
      ...(typeof values.provenance === 'string' ? { provenance: values.provenance } : {}),
      deltaFrom: strings(values['delta-from']).map((n) => integer(n, '--delta-from')),
    });
    for (const entry of entries)
      io.stdout(`staged ${entry.path} (${entry.target.length} bytes, sha256 ${entry.target.sha256})\n`);
  } else if (typeof values['rules-build'] === 'string') {
    if (typeof values.provenance === 'string')
      throw new VouchError(
        'invalid-argument',
        'repo add: --provenance goes with --rules; a rules build folder holds its provenance',
      );
    const entries = await stageRulesBuild(dir, {
      buildDir: values['rules-build'],
      ...evidence,
      deltaFrom: strings(values['delta-from']).map((n) => integer(n, '--delta-from')),
    });
    for (const entry of entries)
      io.stdout(`staged ${entry.path} (${entry.target.length} bytes, sha256 ${entry.target.sha256})\n`);
  }
  const pending = await preparePendingTargets(dir, now());
  io.stdout(
    `pending targets version ${pending.version}: ${pending.targets} targets${pending.changed ? ', needs the release and approver signatures' : ', unchanged'}\n`,
  );
  return exitCodes.ok;
}

async function sign(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch repo sign DIR --role targets|root --key FILE';
  const { values, positionals } = parseCommandLine(
    'repo sign',
    synopsis,
    args,
    { role: { type: 'string' }, key: { type: 'string' } },
    true,
  );
  const dir = onePositional('repo sign', synopsis, positionals);
  const role = required('repo sign', synopsis, values.role, '--role');
  if (role !== 'targets' && role !== 'root')
    throw new VouchError('invalid-argument', `repo sign: --role must be targets or root, not ${quote(role)}`);
  const signer = await loadSigner(required('repo sign', synopsis, values.key, '--key'), io);
  printStatus(io, await signPending(dir, role, signer));
  return exitCodes.ok;
}

async function status(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch repo status DIR';
  const { positionals } = parseCommandLine('repo status', synopsis, args, {}, true);
  const dir = onePositional('repo status', synopsis, positionals);
  let any = false;
  for (const role of ['root', 'targets'] as const) {
    try {
      printStatus(io, await pendingStatus(dir, role));
      any = true;
    } catch (error) {
      if (!(error instanceof VouchError) || error.code !== 'not-found') throw error;
    }
  }
  if (!any) io.stdout('nothing is pending\n');
  return exitCodes.ok;
}

async function publish(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis =
    'vouch repo publish DIR --snapshot-key FILE --timestamp-key FILE --log URL --log-vkey VKEY';
  const { values, positionals } = parseCommandLine(
    'repo publish',
    synopsis,
    args,
    {
      'snapshot-key': { type: 'string' },
      'timestamp-key': { type: 'string' },
      log: { type: 'string' },
      'log-vkey': { type: 'string' },
    },
    true,
  );
  const dir = onePositional('repo publish', synopsis, positionals);
  const url = required('repo publish', synopsis, values.log, '--log');
  const logKey = createCheckpointVerifier(
    required('repo publish', synopsis, values['log-vkey'], '--log-vkey'),
  );
  const snapshotSigner = await loadSigner(
    required('repo publish', synopsis, values['snapshot-key'], '--snapshot-key'),
    io,
  );
  const timestampSigner = await loadSigner(
    required('repo publish', synopsis, values['timestamp-key'], '--timestamp-key'),
    io,
  );
  const log: ReleaseLog = {
    append: async (entry) => (await addAndProve(url, entry, { logKey })).proof,
  };
  const started = performance.now();
  const result = await publishRepository(dir, { snapshotSigner, timestampSigner, log, now: now() });
  io.stdout(
    `published${result.root === undefined ? '' : ` root ${result.root},`} targets ${result.targets}, snapshot ${result.snapshot}, timestamp ${result.timestamp}; ${result.logged.length} entries logged, ${result.targetFiles.length} target files in ${Math.round(performance.now() - started)} ms\n`,
  );
  return exitCodes.ok;
}

async function timestamp(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch repo timestamp DIR --timestamp-key FILE';
  const { values, positionals } = parseCommandLine(
    'repo timestamp',
    synopsis,
    args,
    { 'timestamp-key': { type: 'string' } },
    true,
  );
  const dir = onePositional('repo timestamp', synopsis, positionals);
  const signer = await loadSigner(
    required('repo timestamp', synopsis, values['timestamp-key'], '--timestamp-key'),
    io,
  );
  const result = await refreshTimestamp(dir, signer, now());
  io.stdout(
    `timestamp version ${result.version}, expires ${new Date(result.expires * 1000).toISOString()}\n`,
  );
  return exitCodes.ok;
}

async function rotate(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis =
    'vouch repo rotate-root DIR [--root-key FILE ... | --root-vkey VKEY ...] [--root-threshold K] [--release-vkey VKEY] [--approver-vkey VKEY] [--snapshot-key FILE] [--timestamp-key FILE]';
  const { values, positionals } = parseCommandLine(
    'repo rotate-root',
    synopsis,
    args,
    {
      'root-key': { type: 'string', multiple: true },
      'root-vkey': { type: 'string', multiple: true },
      'root-threshold': { type: 'string' },
      'release-vkey': { type: 'string' },
      'approver-vkey': { type: 'string' },
      'snapshot-key': { type: 'string' },
      'timestamp-key': { type: 'string' },
    },
    true,
  );
  const dir = onePositional('repo rotate-root', synopsis, positionals);
  const rootKeys: (PublicKey | Signer)[] = [];
  for (const path of strings(values['root-key'])) rootKeys.push(await loadSigner(path, io));
  for (const vkey of strings(values['root-vkey'])) rootKeys.push(publicKeyOfVkey(vkey));
  const optionalSigner = async (flag: 'snapshot-key' | 'timestamp-key'): Promise<Signer | undefined> => {
    const path = values[flag];
    return typeof path === 'string' ? loadSigner(path, io) : undefined;
  };
  const snapshotKey = await optionalSigner('snapshot-key');
  const timestampKey = await optionalSigner('timestamp-key');
  const result = await rotateRoot(dir, {
    ...(rootKeys.length === 0 ? {} : { rootKeys }),
    ...(typeof values['root-threshold'] === 'string'
      ? { rootThreshold: integer(values['root-threshold'], '--root-threshold') }
      : {}),
    ...(typeof values['release-vkey'] === 'string' ? { release: values['release-vkey'] } : {}),
    ...(typeof values['approver-vkey'] === 'string' ? { approver: values['approver-vkey'] } : {}),
    ...(snapshotKey === undefined ? {} : { snapshotKey }),
    ...(timestampKey === undefined ? {} : { timestampKey }),
    now: now(),
  });
  io.stdout(
    `root version ${result.version} is pending; ${result.revoked.length} keys revoked; sign it with a threshold of the old and of the new root keys (vouch repo sign --role root)\n`,
  );
  return exitCodes.ok;
}

function printStatus(io: CliIo, s: SignatureStatus): void {
  io.stdout(
    `${s.role} version ${s.version}: signed by ${s.signedBy.length === 0 ? 'nobody' : s.signedBy.join(', ')}; ${s.complete ? 'threshold met' : `missing: ${s.missing.join(', ')}`}\n`,
  );
}

function publicKeyOfVkey(vkey: string): PublicKey {
  const key = parseVerifierKey(vkey);
  return { name: key.name, keyType: keyTypeOfSignatureType(key.type), publicKey: key.publicKey };
}

function expiries(value: unknown): Partial<Expiries> {
  const out: Record<string, number> = {};
  for (const item of strings(value)) {
    const match = /^(root|targets|snapshot|timestamp)=([1-9][0-9]{0,3})$/.exec(item);
    if (match === null)
      throw new VouchError(
        'invalid-argument',
        `--expires takes ROLE=DAYS with ROLE root, targets, snapshot or timestamp, not ${quote(item)}`,
      );
    out[match[1] as string] = Number(match[2]);
  }
  return out;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

function integer(text: string, flag: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text))
    throw new VouchError('invalid-argument', `${flag} must be a positive integer, not ${quote(text)}`);
  return Number(text);
}

function onePositional(command: string, synopsis: string, positionals: readonly string[]): string {
  const [dir, ...extra] = positionals;
  if (dir === undefined || extra.length > 0)
    throw new VouchError('invalid-argument', `${command}: give exactly one DIR (usage: ${synopsis})`);
  return dir;
}

/** repoCommand is `vouch repo`. */
async function serveRepository(args: readonly string[], io: CliIo): Promise<number> {
  const synopsis = 'vouch repo serve DIR --listen HOST:PORT';
  const { values, positionals } = parseCommandLine(
    'repo serve',
    synopsis,
    args,
    { listen: { type: 'string' } },
    true,
  );
  const dir = positionals[0];
  if (dir === undefined || positionals.length !== 1)
    throw new VouchError('invalid-argument', `repo serve: give one DIR (usage: ${synopsis})`);
  const { host, port } = parseListen(required('repo serve', synopsis, values.listen, '--listen'));
  const paths = repoPaths(dir);
  await readConfig(paths); // refuse a folder that is not a repository before listening
  const root = paths.public;
  const logLine = jsonLogger(io);
  const server = await serve(createStaticHandler({ root }), {
    host,
    port,
    log: logLine,
    maxBusyMs: defaultMaxBusyMs,
  });
  logLine(`serving repository ${dir} at ${server.url}/`);
  await untilStopped();
  logLine('shutting down');
  await server.close();
  return exitCodes.ok;
}

export const repoCommand: Command = {
  name: 'repo',
  summary: 'the update repository: init, add targets, sign, publish, refresh the timestamp, rotate the root',
  usage,
  run: (args, io) =>
    runSubcommand(args, io, usage, {
      init,
      add,
      sign,
      status,
      publish,
      timestamp,
      'rotate-root': rotate,
      serve: serveRepository,
    }),
};
