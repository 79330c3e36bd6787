/**
 * `npm run demo`: the README's main command until the full end-to-end demo lands. It runs the
 * real `vouch` command line as a user would, in a fresh folder (kept afterwards, or chosen with
 * `--dir DIR`), and prints each command with its output: keys, a signed note, then a release log
 * that publishes only checkpoints cosigned by two independent witnesses (2-of-2 policy), an
 * entry's offline proof checked, a forged history that the witnesses refuse and the monitor
 * reports; then a release: the example product built in the sandbox, rebuilt by the supervisor,
 * approved, published through the TUF repository and installed by an endpoint agent; rule database
 * v1 built by the same conveyer, approved, installed and finding the EICAR test file, v2 shipped
 * as a delta, and a v3 signed by the vendor alone refused by the repository and, served by a
 * rogue mirror holding the online keys, by an agent; and a sabotaged build refused. Then customer data stays in its jurisdiction: two data sites (ch-zrh,
 * ru-mow) from one signed registry, each with an access ledger cosigned by the same two witnesses;
 * a Japanese tenant's telemetry sent to ru-mow is answered 421 and lands at ch-zrh, a Brazilian
 * tenant's lands at ru-mow; staff in Russia are denied the Japanese data; a privacy officer in
 * Switzerland exports it with the customer's approval; the customer verifies its access record
 * offline. Last, the supervisor's audit checks every log, release and access and writes a signed
 * report and an HTML page. Servers run on 127.0.0.1 and are stopped at the end. It exits non-zero
 * if any step misbehaves.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { toBytes } from '../src/core/bytes/index.ts';
import { createSigner } from '../src/core/crypto/index.ts';
import { openKeyFile } from '../src/core/crypto/keyfile.ts';
import { createNoteSigner, signNote } from '../src/core/note/index.ts';
import { formatTenantRecord } from '../src/core/sites/index.ts';
import { formatCheckpoint } from '../src/core/tlog/checkpoint.ts';
import { formatAddCheckpointRequest } from '../src/core/tlog/witness-request.ts';
import { formatMetadata, snapshotSigned, timestampSigned } from '../src/core/tuf/metadata.ts';
import { signMetadata } from '../src/core/tuf/sign.ts';
import { emptyLogEdge, integrate } from '../src/services/log/integrate.ts';
import { parseTenantDirectory } from '../src/services/site/config.ts';
import { FsBlobStore } from '../src/storage/fs/blob.ts';

const { values } = parseArgs({ options: { dir: { type: 'string' } } });
const dir = values.dir === undefined ? mkdtempSync(join(tmpdir(), 'vouch-demo-')) : resolve(values.dir);
mkdirSync(dir, { recursive: true });
const vouchJs = resolve(import.meta.dirname, '..', 'bin', 'vouch.js');
const env: NodeJS.ProcessEnv = { ...process.env, VOUCH_PASSPHRASE: '' };
delete env.DATABASE_URL;
const servers: ChildProcess[] = [];

function say(text: string): void {
  process.stdout.write(`\n# ${text}\n`);
}

function vouch(args: string[], expectExit = 0, options: { quiet?: boolean } = {}): string {
  const shown = args.map((a) => (a.length > 72 ? `${a.slice(0, 40)}...` : a)).join(' ');
  process.stdout.write(`$ vouch ${shown}\n`);
  const result = spawnSync(process.execPath, [vouchJs, ...args], { cwd: dir, encoding: 'utf8', env });
  if (options.quiet !== true) process.stdout.write(result.stdout + result.stderr);
  if (result.status !== expectExit) {
    process.stderr.write(`demo: expected exit ${expectExit}, got ${result.status}\n${result.stderr}`);
    stopServers();
    process.exit(1);
  }
  return result.stdout;
}

async function serve(args: string[]): Promise<string> {
  process.stdout.write(`$ vouch ${args.join(' ')} &\n`);
  const child = spawn(process.execPath, [vouchJs, ...args], {
    cwd: dir,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  servers.push(child);
  let log = '';
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start: ${log}`)), 20_000);
    const watch = (chunk: Buffer): void => {
      log += chunk.toString();
      const match = /serving [^\n]* at (http:\/\/[^\s"]+\/)/.exec(log);
      if (match) {
        clearTimeout(timer);
        child.stderr?.off('data', watch);
        child.stderr?.resume(); // keep draining the server's log so it never blocks
        process.stdout.write(`  serving at ${match[1]}\n`);
        done(match[1] as string);
      }
    };
    child.stderr?.on('data', watch);
  });
}

/** forgeHistory writes a log folder whose tree differs from the real one at entry 1, signed with the log key. */
async function forgeHistory(folder: string, origin: string, size: number): Promise<Uint8Array> {
  const opened = await openKeyFile(new Uint8Array(readFileSync(join(dir, 'log.key'))), undefined);
  const signer = createNoteSigner(createSigner(origin, opened.material));
  const entries = Array.from({ length: size }, (_, i) =>
    toBytes(
      i === 1 ? 'a targeted update for one customer\n' : `vouch release ${['1.0.0', '1.0.1', '1.1.0'][i]}\n`,
    ),
  );
  const result = integrate(emptyLogEdge(), entries);
  const files = new FsBlobStore(folder);
  for (const file of result.files) await files.put(file.path, file.data);
  const note = await signNote(
    formatCheckpoint({ origin, size: BigInt(size), root: result.root, extensions: [] }),
    [signer],
  );
  await files.publish('checkpoint', note);
  return note;
}

/** key generates an unencrypted Ed25519 key file and returns its verifier key. */
function key(name: string, file: string): string {
  return vouch(['key', 'generate', '--type', 'ed25519', '--name', name, '--out', file, '--unencrypted'], 0, {
    quiet: true,
  }).trim();
}

/**
 * releaseStory: the vendor builds the example product in the sandbox and logs its provenance; the
 * supervisor rebuilds it; the update repository stages it; the vendor's signature alone cannot
 * publish; the approver checks the evidence and signs; an endpoint agent installs it only after
 * checking the log, the witnesses and the evidence. Then a sabotaged build is caught by the
 * rebuild, and the approver refuses it.
 */
async function releaseStory(logUrl: string, logVkey: string, logPolicy: string): Promise<void> {
  const examples = resolve(import.meta.dirname, '..', 'examples');
  const builderId = 'https://ch-zrh.build.vouch.example';
  const logFlags = ['--log', logUrl, '--log-vkey', logVkey];
  const sandboxed = spawnSync('bwrap', ['--version']).status === 0;

  say(
    'The vendor builds the example product at ch-zrh, in a sandbox with no network, and logs its provenance',
  );
  const builderVkey = key('ch-zrh.build.vouch.example', 'builder.key');
  const hello = join(examples, 'hello');
  const build = ['--key', 'builder.key', '--builder-id', builderId, '--source-date-epoch', '1700000000'];
  vouch([
    'build',
    join(hello, 'recipe.json'),
    '--source',
    hello,
    '--out',
    'build-hello',
    ...build,
    ...logFlags,
  ]);

  say('The supervisor rebuilds it independently from the provenance and signs that every byte matches');
  const rebuilderVkey = key('rebuilder.supervisor.example', 'rebuilder.key');
  const rebuild = ['--builder-vkey', builderVkey, '--key', 'rebuilder.key', ...logFlags];
  vouch([
    'rebuild',
    '--provenance',
    'build-hello/provenance.dsse.json',
    '--source',
    hello,
    '--out',
    'rebuild-hello',
    ...rebuild,
  ]);

  say('The update repository (TUF): root 2-of-2 offline keys; targets needs the vendor AND the supervisor');
  for (const n of [1, 2]) key(`root${n}.vouch.example`, `root${n}.key`);
  const releaseVkey = key('release.vouch.example', 'release.key');
  const approverVkey = key('approver.supervisor.example', 'approver.key');
  key('snapshot.vouch.example', 'snapshot.key');
  key('timestamp.vouch.example', 'timestamp.key');
  const online = ['--snapshot-key', 'snapshot.key', '--timestamp-key', 'timestamp.key'];
  vouch(
    [
      'repo',
      'init',
      'repo',
      '--name',
      'vouch-demo',
      '--root-key',
      'root1.key',
      '--root-key',
      'root2.key',
    ].concat([
      '--root-threshold',
      '2',
      '--release-vkey',
      releaseVkey,
      '--approver-vkey',
      approverVkey,
      ...online,
    ]),
  );
  vouch(['repo', 'add', 'repo', '--product', 'build-hello', '--rebuild', 'rebuild-hello/rebuild.dsse.json']);
  vouch(['repo', 'sign', 'repo', '--role', 'targets', '--key', 'release.key']);
  say('The vendor alone cannot publish: the targets threshold is 2');
  vouch(['repo', 'publish', 'repo', ...online, ...logFlags], 1);

  say('The approver checks provenance, site and rebuild against the release policy, then signs its share');
  const witnessPolicy = logPolicy
    .split('\n')
    .filter((line) => /^(witness|group|quorum) /.test(line))
    .map((line) => `${line}\n`)
    .join('');
  const releasePolicy = {
    _type: 'https://vouch.example/release-policy/v1',
    builders: [{ id: builderId, keys: [builderVkey], allowNonHermetic: !sandboxed }],
    rebuilders: { required: true, keys: [rebuilderVkey], threshold: 1 },
    review: { required: false, keys: [], threshold: 0 },
    log: { vkey: logVkey, witnessPolicy },
  };
  writeFileSync(join(dir, 'release-policy.json'), `${JSON.stringify(releasePolicy, null, 2)}\n`);
  if (!sandboxed)
    process.stdout.write('  (no bubblewrap here: this demo policy allows non-hermetic builds)\n');
  vouch(['approve', '--release', 'repo', '--key', 'approver.key', '--policy', 'release-policy.json']);
  say(
    "Now it publishes: every metadata version and evidence file is logged first, under the witnesses' quorum",
  );
  vouch(['repo', 'publish', 'repo', ...online, ...logFlags]);
  const repoUrl = await serve(['repo', 'serve', 'repo', '--listen', '127.0.0.1:0']);

  say('An endpoint agent installs only what was built at ch-zrh, logged, witnessed, rebuilt and approved');
  vouch(
    [
      'agent',
      'init',
      '--dir',
      'agent',
      '--root',
      'repo/public/1.root.json',
      '--release-policy',
      'release-policy.json',
    ].concat(['--repository', repoUrl, '--repository-name', 'vouch-demo', '--want', 'products/hello/']),
  );
  vouch(['agent', 'update', '--dir', 'agent']);
  say('Checking again costs two small requests when nothing changed');
  vouch(['agent', 'update', '--dir', 'agent']);

  await rulesStory({ build: [...build, ...logFlags], rebuild, logFlags, online });

  say("A sabotaged build machine: the supervisor's rebuild does not match...");
  const sabotaged = join(examples, 'sabotaged');
  vouch([
    'build',
    join(sabotaged, 'recipe.json'),
    '--source',
    sabotaged,
    '--out',
    'build-sabotaged',
    ...build,
    ...logFlags,
  ]);
  vouch(
    ['rebuild', '--provenance', 'build-sabotaged/provenance.dsse.json', '--source', sabotaged].concat([
      '--out',
      'rebuild-sabotaged',
      ...rebuild,
    ]),
    1,
  );
  say('...so the approver refuses it, and without its signature the release can never reach an endpoint');
  vouch([
    'repo',
    'add',
    'repo',
    '--product',
    'build-sabotaged',
    '--rebuild',
    'rebuild-sabotaged/rebuild.dsse.json',
  ]);
  vouch(['repo', 'sign', 'repo', '--role', 'targets', '--key', 'release.key']);
  vouch(['approve', '--release', 'repo', '--key', 'approver.key', '--policy', 'release-policy.json'], 1);
  vouch(['repo', 'publish', 'repo', ...online, ...logFlags], 1);
}

/** The EICAR anti-virus test file: harmless, and every scanner reports it. */
const eicar = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** sampleText is the content of the demo's generated sample N, which rule database v(N) or later knows. */
function sampleText(n: number): string {
  return `vouch demo malware sample ${n}\n`;
}

/**
 * rulesSource copies examples/rules into a fresh folder for version N: the recipe template gets
 * this host's Node binary and Vouch tree (bound read-only in the sandbox) and the version, and
 * each generated sample beyond the first gets its hash signature.
 */
function rulesSource(version: number, samples: number): string {
  const folder = `rules-src-${version}`;
  const target = join(dir, folder);
  cpSync(resolve(import.meta.dirname, '..', 'examples', 'rules'), target, { recursive: true });
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string')
      return value
        .replaceAll('@NODE@', process.execPath)
        .replaceAll('@VOUCH_ROOT@', resolve(import.meta.dirname, '..'))
        .replaceAll('@VERSION@', String(version));
    if (Array.isArray(value)) return value.map(fill);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    return value;
  };
  const recipe = fill(JSON.parse(readFileSync(join(target, 'recipe.json'), 'utf8')));
  writeFileSync(join(target, 'recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`);
  let extra = '';
  for (let n = 2; n <= samples; n++) {
    const text = sampleText(n);
    const digest = createHash('sha256').update(text).digest('hex');
    extra += `${digest}:${Buffer.byteLength(text)}:Vouch.Demo.Sample-${n}\n`;
  }
  writeFileSync(
    join(target, 'src', 'demo.hsb'),
    readFileSync(join(target, 'src', 'demo.hsb'), 'utf8') + extra,
  );
  return folder;
}

/** forgeRogueMirror makes a copy of the repository whose public folder serves the pending targets (vendor-signed only) under new snapshot and timestamp versions signed with the online keys. */
async function forgeRogueMirror(folder: string): Promise<void> {
  cpSync(join(dir, 'repo'), join(dir, folder), { recursive: true });
  const pub = join(dir, folder, 'public');
  const pending = new Uint8Array(readFileSync(join(dir, 'repo', 'pending', 'targets.json')));
  const targetsVersion = (JSON.parse(new TextDecoder().decode(pending)) as { signed: { version: number } })
    .signed.version;
  writeFileSync(join(pub, `${targetsVersion}.targets.json`), pending);
  const describe = (bytes: Uint8Array) => ({
    length: bytes.length,
    hashes: { sha256: createHash('sha256').update(bytes).digest('hex') },
  });
  const signerOf = async (file: string, name: string) =>
    createSigner(
      name,
      (await openKeyFile(new Uint8Array(readFileSync(join(dir, file))), undefined)).material,
    );
  const snapshotVersion =
    Math.max(
      ...readdirSync(pub)
        .map((n) => /^([0-9]+)\.snapshot\.json$/.exec(n)?.[1])
        .filter((v) => v !== undefined)
        .map(Number),
    ) + 1;
  const expires = Math.floor(Date.now() / 1000) + 86_400;
  const snapshotBody = snapshotSigned({
    version: snapshotVersion,
    expires,
    meta: { 'targets.json': { version: targetsVersion, ...describe(pending) } },
  });
  const snapshot = formatMetadata(
    snapshotBody,
    await signMetadata(snapshotBody, [await signerOf('snapshot.key', 'snapshot.vouch.example')]),
  );
  writeFileSync(join(pub, `${snapshotVersion}.snapshot.json`), snapshot);
  const timestampVersion =
    (JSON.parse(readFileSync(join(pub, 'timestamp.json'), 'utf8')) as { signed: { version: number } }).signed
      .version + 1;
  const timestampBody = timestampSigned({
    version: timestampVersion,
    expires,
    snapshot: { version: snapshotVersion, ...describe(snapshot) },
  });
  writeFileSync(
    join(pub, 'timestamp.json'),
    formatMetadata(
      timestampBody,
      await signMetadata(timestampBody, [await signerOf('timestamp.key', 'timestamp.vouch.example')]),
    ),
  );
}

/**
 * rulesStory: rule databases go down the same conveyer as products. The vendor builds v1 in the
 * sandbox (compile, then pack into the one bundle file the repository publishes, so the
 * provenance names its digest); the supervisor rebuilds it; it is approved and published; an
 * agent installs it and the scanner finds the EICAR test file. v2 ships as a delta. v3, signed by
 * the vendor alone, is refused by the repository, and by an agent when a rogue mirror holding the
 * online keys serves it.
 */
async function rulesStory(ctx: {
  build: string[];
  rebuild: string[];
  logFlags: string[];
  online: string[];
}): Promise<void> {
  const approve = [
    'approve',
    '--release',
    'repo',
    '--key',
    'approver.key',
    '--policy',
    'release-policy.json',
  ];
  const release = async (version: number, samples: number): Promise<void> => {
    const source = rulesSource(version, samples);
    vouch([
      'build',
      join(source, 'recipe.json'),
      '--source',
      source,
      '--out',
      `build-rules-${version}`,
      ...ctx.build,
    ]);
    vouch([
      'rebuild',
      '--provenance',
      `build-rules-${version}/provenance.dsse.json`,
      '--source',
      source,
      '--out',
      `rebuild-rules-${version}`,
      ...ctx.rebuild,
    ]);
    vouch([
      'repo',
      'add',
      'repo',
      '--rules-build',
      `build-rules-${version}`,
      '--rebuild',
      `rebuild-rules-${version}/rebuild.dsse.json`,
    ]);
    vouch(['repo', 'sign', 'repo', '--role', 'targets', '--key', 'release.key'], 0, { quiet: true });
    vouch(approve);
    vouch(['repo', 'publish', 'repo', ...ctx.online, ...ctx.logFlags], 0, { quiet: true });
  };

  say('Rule database v1 goes down the same conveyer: compiled and packed in the sandbox, rebuilt, approved');
  await release(1, 1);
  const repoUrl = await serve(['repo', 'serve', 'repo', '--listen', '127.0.0.1:0']);
  say('An agent that wants rules/demo/ installs v1 after the same checks as for a product');
  const agentInit = (folder: string, url: string): string[] =>
    [
      'agent',
      'init',
      '--dir',
      folder,
      '--root',
      'repo/public/1.root.json',
      '--release-policy',
      'release-policy.json',
    ].concat(['--repository', url, '--repository-name', 'vouch-demo', '--want', 'rules/demo/']);
  vouch(agentInit('agent-rules', repoUrl));
  vouch(['agent', 'update', '--dir', 'agent-rules']);

  say('The scanner, with the installed database, finds the EICAR test file in a generated sample folder');
  mkdirSync(join(dir, 'samples'), { recursive: true });
  writeFileSync(join(dir, 'samples', 'eicar.com'), eicar);
  writeFileSync(join(dir, 'samples', 'notes.txt'), 'an ordinary file\n');
  writeFileSync(join(dir, 'samples', 'sample-2.bin'), sampleText(2));
  const db = join('agent-rules', 'installed', 'rules-demo', 'current');
  vouch(['scan', '--db', db, '--no-progress', 'samples'], 1);

  say('Rule database v2 (two more hash signatures) ships the same way; the agent updates by delta');
  await release(2, 3);
  vouch(['agent', 'update', '--dir', 'agent-rules']);
  const installed = JSON.parse(
    readFileSync(join(dir, 'agent-rules', 'installed', 'rules-demo', 'current.json'), 'utf8'),
  ) as { current: { version: string; via: string; length: number }; previous?: { version: string } };
  const deltaFile = readdirSync(join(dir, 'repo', 'public', 'targets', 'rules', 'demo')).find((n) =>
    n.endsWith('.demo-1-2.vdelta'),
  );
  const deltaBytes =
    deltaFile === undefined
      ? 0
      : readFileSync(join(dir, 'repo', 'public', 'targets', 'rules', 'demo', deltaFile)).length;
  process.stdout.write(
    `  rules-demo ${installed.current.version} installed via ${installed.current.via} from ${installed.previous?.version ?? 'nothing'}: the ${deltaBytes}-byte delta was fetched, not the ${installed.current.length}-byte v2 bundle\n`,
  );
  if (installed.current.via !== 'delta') {
    process.stderr.write('demo: the agent did not update the rule database by delta\n');
    stopServers();
    process.exit(1);
  }
  vouch(['scan', '--db', db, '--no-progress', 'samples'], 1);

  say(
    'An unapproved release: the vendor builds, stages and signs v3, but the repository refuses to publish it',
  );
  const source = rulesSource(3, 4);
  vouch(
    ['build', join(source, 'recipe.json'), '--source', source, '--out', 'build-rules-3', ...ctx.build],
    0,
    {
      quiet: true,
    },
  );
  vouch(['repo', 'add', 'repo', '--rules-build', 'build-rules-3']);
  vouch(['repo', 'sign', 'repo', '--role', 'targets', '--key', 'release.key']);
  vouch(['repo', 'publish', 'repo', ...ctx.online, ...ctx.logFlags], 1);
  say('A rogue mirror with the stolen online keys serves it anyway: the agents refuse it');
  await forgeRogueMirror('rogue-repo');
  const rogueUrl = await serve(['repo', 'serve', 'rogue-repo', '--listen', '127.0.0.1:0']);
  vouch(agentInit('agent-rogue', rogueUrl));
  vouch(['agent', 'update', '--dir', 'agent-rogue'], 1);
}

/** freePort binds port 0 on 127.0.0.1, reads the port the kernel chose and releases it. */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') done(address.port);
        else fail(new Error('no port'));
      });
    });
  });
}

/** fail stops the demo with a message when a step misbehaves. */
function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n`);
  stopServers();
  process.exit(1);
}

/** The supervisor's two witnesses (folders w1 and w2): their verifier keys and URLs. */
interface Witnesses {
  readonly vkeys: readonly string[];
  readonly urls: readonly string[];
}

/** What the residency chapter leaves for the audit: each site's ledger key and witness policy file. */
interface SitesWorld {
  readonly ledgers: readonly { site: string; folder: string; vkey: string; policy: string }[];
  readonly approvals: readonly string[];
}

/** agentBatch is one agent's telemetry batch: a detection, an update and a sample, as docs/sites.md shows. */
function agentBatch(tenant: string, endpoint: string): string {
  return JSON.stringify({
    batchId: randomUUID(),
    tenant,
    endpoint,
    events: [
      {
        kind: 'detection',
        time: '2026-03-01T08:00:00Z',
        sha256: createHash('sha256').update(`${tenant} eicar`).digest('hex'),
        signature: 'Win.Test.EICAR',
        database: 'main',
        databaseVersion: '1',
      },
      {
        kind: 'update',
        time: '2026-03-01T08:01:00Z',
        target: 'products/hello/',
        to: '1.0.0',
        outcome: 'ok',
      },
      {
        kind: 'sample',
        sha256: createHash('sha256').update(`${tenant} invoice`).digest('hex'),
        size: 2048,
        fileType: 'pe32',
        firstSeen: '2026-03-01T08:05:00Z',
        name: 'invoice.exe',
      },
    ],
  });
}

/** postBatch sends a batch to a gateway as an agent would, prints the answer and returns its status and body. */
async function postBatch(
  site: string,
  url: string,
  token: string,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const answer = await fetch(`${url}v1/telemetry`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await answer.text();
  const location = answer.headers.get('location');
  process.stdout.write(
    `  POST ${url}v1/telemetry (${site}) -> ${answer.status}${location === null ? '' : ` Location: ${location}`} ${text.trim()}\n`,
  );
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    fail(`${site} answered ${answer.status} with a body that is not JSON`);
  }
  return { status: answer.status, json };
}

/**
 * residencyStory: two data sites from one signed registry, each with an access ledger the
 * supervisor's witnesses cosign; a Japanese tenant's telemetry lands only in Switzerland, a
 * Brazilian tenant's at ru-mow; staff in Russia are denied the Japanese data; a privacy officer
 * in Switzerland exports it with the customer's approval; the customer verifies its access
 * record offline.
 */
async function residencyStory(witnesses: Witnesses): Promise<SitesWorld> {
  const sites = [
    { site: 'ch-zrh', folder: 'ch' },
    { site: 'ru-mow', folder: 'ru' },
  ] as const;
  say("Customer data stays in its jurisdiction: each site's access ledger is cosigned by both witnesses");
  const ledgers: { site: string; folder: string; vkey: string; policy: string }[] = [];
  for (const { site, folder } of sites) {
    const origin = `ledger.${site}.vouch.example`;
    const vkey = key(origin, `ledger-${site}.key`);
    for (const n of [1, 2])
      vouch(['witness', 'add-log', '--dir', `w${n}`, '--origin', origin, '--vkey', vkey]);
    ledgers.push({ site, folder, vkey, policy: `witnesses-${site}.txt` });
  }

  say('Two sites, ch-zrh (neutral, Switzerland) and ru-mow (home), from one signed site registry');
  const urls: Record<string, string> = {};
  for (const { site } of sites) urls[site] = `http://127.0.0.1:${await freePort()}/`;
  const ch = urls['ch-zrh'] ?? '';
  const ru = urls['ru-mow'] ?? '';
  key('site-registry.vouch.example', 'registry.key');
  const registryVkey = vouch(
    ['site', 'init', 'ch', '--site', 'ch-zrh', '--registry-key', 'registry.key'].concat([
      '--neutral-url',
      ch,
      '--home-url',
      ru,
      '--listen',
      new URL(ch).host,
    ]),
  ).trim();
  vouch(
    ['site', 'init', 'ru', '--site', 'ru-mow', '--registry', 'ch/registry.json'].concat([
      '--registry-vkey',
      registryVkey,
      '--listen',
      new URL(ru).host,
    ]),
  );
  for (const { site, folder, vkey, policy } of ledgers) {
    const text = [
      `log ${vkey}`,
      `witness w1 ${witnesses.vkeys[0]} ${witnesses.urls[0]}`,
      `witness w2 ${witnesses.vkeys[1]} ${witnesses.urls[1]}`,
      'group both all w1 w2',
      'quorum both',
      '',
    ].join('\n');
    writeFileSync(join(dir, policy), text);
    vouch(
      ['log', 'init', '--dir', `${folder}/ledger`, '--origin', `ledger.${site}.vouch.example`].concat([
        '--key',
        `ledger-${site}.key`,
        '--policy',
        policy,
      ]),
    );
  }

  say(
    'A tenant in Japan (data in Switzerland, access only with its approval) and one in Brazil (data at ru-mow)',
  );
  const approvalVkey = key('sakura-kk.approver.example', 'sakura-approver.key');
  const jp = { tenant: 'sakura-kk', country: 'JP', endpoint: 'jp-host-1', home: 'ch-zrh' };
  const br = { tenant: 'ipe-ltda', country: 'BR', endpoint: 'br-host-1', home: 'ru-mow' };
  const tokens: Record<string, string> = {};
  for (const t of [jp, br]) {
    for (const { site, folder } of sites) {
      const approval =
        t === jp ? ['--name', 'Sakura KK', '--approval-vkey', approvalVkey, '--approval-required'] : [];
      const elsewhere = site === t.home ? [] : ['--elsewhere'];
      vouch([
        'site',
        'add-tenant',
        folder,
        '--tenant',
        t.tenant,
        '--country',
        t.country,
        ...approval,
        ...elsewhere,
      ]);
      tokens[`${site}/${t.tenant}`] = vouch(
        ['site', 'add-endpoint', folder, '--tenant', t.tenant, '--endpoint', t.endpoint],
        0,
        { quiet: true },
      ).trim();
      process.stdout.write(`  (an endpoint credential for ${t.endpoint}, shown once, kept by the agent)\n`);
    }
  }
  const served = await Promise.all(sites.map(({ folder }) => serve(['site', 'serve', folder])));
  for (const [i, { site }] of sites.entries()) {
    if (served[i] !== urls[site])
      fail(`${site} serves at ${served[i]}, not at its registry URL ${urls[site]}`);
  }

  say('The Japanese agent reports to ru-mow by mistake: 421, its data lives at ch-zrh; it resends there');
  const jpBatch = agentBatch(jp.tenant, jp.endpoint);
  const wrong = await postBatch('ru-mow', ru, tokens[`ru-mow/${jp.tenant}`] ?? '', jpBatch);
  if (wrong.status !== 421 || wrong.json['site'] !== 'ch-zrh' || wrong.json['url'] !== ch)
    fail(`ru-mow answered ${wrong.status} to a Japanese batch, not 421 naming ch-zrh`);
  process.stdout.write(`  ru-mow answers 421: tenant ${jp.tenant}'s data lives at ch-zrh, nothing stored\n`);
  const landed = await postBatch('ch-zrh', ch, tokens[`ch-zrh/${jp.tenant}`] ?? '', jpBatch);
  if (landed.status !== 200 || landed.json['status'] !== 'stored') fail(`ch-zrh did not store the batch`);
  say("The Brazilian agent's telemetry lands at ru-mow");
  const brLanded = await postBatch(
    'ru-mow',
    ru,
    tokens[`ru-mow/${br.tenant}`] ?? '',
    agentBatch(br.tenant, br.endpoint),
  );
  if (brLanded.status !== 200 || brLanded.json['status'] !== 'stored') fail(`ru-mow did not store the batch`);

  const why = ['--justification', 'customer data request under contract', '--ticket', 'PRIV-7'];
  say("A staff member in Russia asks for the Japanese tenant's data: denied by policy, and ledgered");
  vouch(
    ['site', 'export', 'ch', '--tenant', jp.tenant, '--out', 'denied.jsonl', '--as', 'ivan'].concat([
      '--employer',
      'Vouch AG',
      '--office',
      'CH',
      '--location',
      'RU',
      ...why,
    ]),
    1,
  );

  say('A privacy officer in Switzerland requests an export; the Japanese customer approves it');
  const heidi = ['--as', 'heidi', '--employer', 'Vouch AG', '--office', 'CH', '--location', 'CH'];
  const requestId = vouch(
    ['access', 'request', 'ch', '--tenant', jp.tenant, ...heidi, '--role', 'privacy-officer'].concat([
      '--action',
      'export',
      '--purpose',
      'customer-export',
      ...why,
      '--scope',
      'telemetry',
      '--out',
      'sakura-request.json',
    ]),
  ).trim();
  vouch([
    'access',
    'approve',
    '--request',
    'sakura-request.json',
    '--key',
    'sakura-approver.key',
    '--out',
    'sakura-approval.json',
  ]);
  vouch([
    'access',
    'approve',
    'ch',
    '--tenant',
    jp.tenant,
    '--id',
    requestId,
    '--approval',
    'sakura-approval.json',
  ]);
  say('The export happens at ch-zrh, under the approval, recorded in the ledger before any data is released');
  vouch([
    'site',
    'export',
    'ch',
    '--tenant',
    jp.tenant,
    '--out',
    'sakura.jsonl',
    ...heidi,
    ...why,
    '--request',
    requestId,
  ]);

  say("At ru-mow, its own privacy officer exports the Brazilian tenant's data: home data, read at home");
  vouch(
    ['site', 'export', 'ru', '--tenant', br.tenant, '--out', 'ipe.jsonl', '--as', 'olga'].concat([
      '--employer',
      'Vouch RU',
      '--office',
      'RU',
      '--location',
      'RU',
      '--justification',
      'customer data request under contract',
      '--ticket',
      'PRIV-8',
    ]),
  );

  say('The customer fetches its access record and verifies it offline: ledger key and 2-of-2 witnesses');
  vouch(['site', 'my-access', 'ch', '--tenant', jp.tenant, '--out', 'sakura-access.json']);
  const chLedger = ledgers[0];
  if (chLedger === undefined) fail('no ch-zrh ledger');
  vouch(
    ['site', 'verify-access', 'sakura-access.json', '--tenant', jp.tenant].concat([
      '--ledger-vkey',
      chLedger.vkey,
      '--policy',
      chLedger.policy,
    ]),
  );
  return { ledgers, approvals: ['sakura-approval.json'] };
}

/**
 * auditStory: the supervisor's audit over the whole world: the release log and both ledgers
 * (consistency, witness quorum), the repository (every version logged, approved, rebuilt), and
 * every ledger entry replayed against the Cedar policy. It writes a signed report and a page.
 */
function auditStory(logPolicy: string, world: SitesWorld): void {
  say("The supervisor's audit: every log, every release and every access, against every promise");
  key('auditor.supervisor.example', 'auditor.key');
  mkdirSync(join(dir, 'audit'), { recursive: true });
  writeFileSync(join(dir, 'audit', 'release-log.policy'), logPolicy);
  const sites = world.ledgers.map(({ site, folder, vkey, policy }) => {
    // The tenant records each site hosts, one `<tenant>.json` each, as the audit reads them.
    const tenantsDir = join(dir, 'audit', 'tenants', site);
    mkdirSync(tenantsDir, { recursive: true });
    const directory = parseTenantDirectory(new Uint8Array(readFileSync(join(dir, folder, 'tenants.json'))));
    for (const record of directory.tenants) {
      if (record.site === site)
        writeFileSync(join(tenantsDir, `${record.id}.json`), formatTenantRecord(record));
    }
    return {
      site,
      ledger: `../${folder}/ledger/tiles`,
      vkey,
      witnessPolicy: `../${policy}`,
      tenants: `tenants/${site}`,
      approvals: `approvals/${site}`,
    };
  });
  // The customers' approvals, named by their SHA-256, as the ledger entries cite them.
  for (const { site } of world.ledgers) mkdirSync(join(dir, 'audit', 'approvals', site), { recursive: true });
  for (const file of world.approvals) {
    const bytes = readFileSync(join(dir, file));
    const digest = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(dir, 'audit', 'approvals', 'ch-zrh', `${digest}.json`), bytes);
  }
  const config = {
    releaseLog: { location: '../log/tiles', policy: 'release-log.policy' },
    repository: { location: '../repo/public', name: 'vouch-demo', releasePolicy: '../release-policy.json' },
    sites,
    policy: resolve(import.meta.dirname, '..', 'policies'),
    auditorKey: '../auditor.key',
  };
  writeFileSync(join(dir, 'audit', 'audit.json'), `${JSON.stringify(config, null, 2)}\n`);
  process.stdout.write(readFileSync(join(dir, 'audit', 'audit.json'), 'utf8'));
  vouch(['audit', '--config', 'audit/audit.json', '--state', 'audit/state', '--out', 'audit/report']);
  process.stdout.write(
    `  the signed report: ${join(dir, 'audit', 'report', 'report.dsse.json')}\n  the page: ${join(dir, 'audit', 'report', 'report.html')}\n`,
  );
}

function stopServers(): void {
  for (const child of servers) child.kill('SIGTERM');
}

try {
  say('Keys and signed notes (C2SP signed-note)');
  const origin = 'zurich.vouch.example/release-log';
  const logVkey = vouch([
    'key',
    'generate',
    '--type',
    'ed25519',
    '--name',
    origin,
    '--out',
    'log.key',
    '--unencrypted',
  ]).trim();
  writeFileSync(join(dir, 'release.txt'), 'vouch demo release 1.0.0\nbuilt at ch-zrh from commit 4f2a9c1\n');
  writeFileSync(join(dir, 'release.signed'), vouch(['note', 'sign', '--key', 'log.key', 'release.txt']));
  vouch(['note', 'verify', '--vkey', logVkey, 'release.signed']);
  writeFileSync(
    join(dir, 'tampered.signed'),
    readFileSync(join(dir, 'release.signed'), 'utf8').replace('1.0.0', '6.6.6'),
  );
  vouch(['note', 'verify', '--vkey', logVkey, 'tampered.signed'], 1);

  say('Two independent witnesses run by the supervisor (C2SP tlog-witness)');
  const witnessVkeys: string[] = [];
  const witnessUrls: string[] = [];
  for (const n of [1, 2]) {
    const name = `witness${n}.supervisor.example`;
    vouch(
      ['key', 'generate', '--type', 'ed25519', '--name', name, '--out', `w${n}.key`, '--unencrypted'],
      0,
      { quiet: true },
    );
    witnessVkeys.push(
      vouch(['witness', 'init', '--dir', `w${n}`, '--name', name, '--key', `w${n}.key`]).trim(),
    );
    vouch(['witness', 'add-log', '--dir', `w${n}`, '--origin', origin, '--vkey', logVkey], 0, {
      quiet: true,
    });
    witnessUrls.push(await serve(['witness', 'serve', '--dir', `w${n}`, '--listen', '127.0.0.1:0']));
  }

  say('The release log publishes only checkpoints both witnesses cosigned (C2SP tlog-policy, 2 of 2)');
  const policy = [
    `log ${logVkey}`,
    `witness w1 ${witnessVkeys[0]} ${witnessUrls[0]}`,
    `witness w2 ${witnessVkeys[1]} ${witnessUrls[1]}`,
    'group both all w1 w2',
    'quorum both',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'policy.txt'), policy);
  process.stdout.write(policy);
  vouch(['log', 'init', '--dir', 'log', '--origin', origin, '--key', 'log.key', '--policy', 'policy.txt']);
  const logUrl = await serve(['log', 'serve', '--dir', 'log', '--listen', '127.0.0.1:0']);
  for (const v of ['1.0.0', '1.0.1', '1.1.0'])
    writeFileSync(join(dir, `release-${v}.txt`), `vouch release ${v}\n`);
  vouch(['log', 'add', '--log', logUrl, 'release-1.0.0.txt', 'release-1.0.1.txt', 'release-1.1.0.txt']);
  vouch(['log', 'verify', '--log', logUrl, '--policy', 'policy.txt']);

  say('An offline proof for one release (C2SP tlog-proof), checked without the network');
  vouch([
    'log',
    'proof',
    '--log',
    logUrl,
    '--policy',
    'policy.txt',
    '--index',
    '1',
    '--out',
    'release-1.0.1.tlog-proof',
  ]);
  vouch([
    'log',
    'check-proof',
    '--policy',
    'policy.txt',
    '--entry',
    'release-1.0.1.txt',
    'release-1.0.1.tlog-proof',
  ]);

  say('A monitor follows the log and compares it with the witnesses');
  vouch(['monitor', '--log', logUrl, '--policy', 'policy.txt', '--state', 'monitor']);

  say('Coerced, the operator forges another history of the same size with the same key...');
  const forged = await forgeHistory(join(dir, 'forged'), origin, 3);
  for (const [i, url] of witnessUrls.entries()) {
    const answer = await fetch(`${url}add-checkpoint`, {
      method: 'POST',
      body: formatAddCheckpointRequest({ old: 3n, proof: [], checkpoint: forged }),
    });
    if (answer.status !== 409) {
      process.stderr.write(
        `demo: witness w${i + 1} answered ${answer.status} to a forged history, not 409\n`,
      );
      stopServers();
      process.exit(1);
    }
    process.stdout.write(`  witness w${i + 1} answers 409: it already cosigned another tree of size 3\n`);
  }
  say('...so it cannot meet the policy, and a monitor shown it reports the split view');
  vouch(['log', 'verify', '--log', 'forged', '--policy', 'policy.txt'], 1);
  vouch(
    ['monitor', '--log', 'forged', '--vkey', logVkey, '--state', 'monitor-forged', '--mirror', logUrl],
    1,
  );

  await releaseStory(logUrl, logVkey, policy);
  const world = await residencyStory({ vkeys: witnessVkeys, urls: witnessUrls });
  auditStory(policy, world);

  process.stdout.write(
    [
      '',
      `Done. Everything is in ${dir}`,
      `  the audit report:   ${join(dir, 'audit', 'report', 'report.html')} (signed: report.dsse.json)`,
      `  the release log:    ${join(dir, 'log')} (tiles, checkpoint cosigned by w1 and w2)`,
      `  the update repo:    ${join(dir, 'repo', 'public')}`,
      `  the sites:          ${join(dir, 'ch')} (ch-zrh), ${join(dir, 'ru')} (ru-mow), each with its ledger/`,
      `  the customer's proof: ${join(dir, 'sakura-access.json')}`,
      '',
    ].join('\n'),
  );
} finally {
  stopServers();
}
