/**
 * `npm run demo`: the README's main command until the full end-to-end demo lands. It runs the
 * real `vouch` command line as a user would, in a fresh folder (kept afterwards, or chosen with
 * `--dir DIR`), and prints each command with its output: keys, a signed note, then a release log
 * that publishes only checkpoints cosigned by two independent witnesses (2-of-2 policy), an
 * entry's offline proof checked, a forged history that the witnesses refuse and the monitor
 * reports; then a release: the example product built in the sandbox, rebuilt by the supervisor,
 * approved, published through the TUF repository and installed by an endpoint agent, and a
 * sabotaged build refused. Servers run on 127.0.0.1 and are stopped at the end. It exits non-zero
 * if any step misbehaves.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { toBytes } from '../src/core/bytes/index.ts';
import { createSigner } from '../src/core/crypto/index.ts';
import { openKeyFile } from '../src/core/crypto/keyfile.ts';
import { createNoteSigner, signNote } from '../src/core/note/index.ts';
import { formatCheckpoint } from '../src/core/tlog/checkpoint.ts';
import { formatAddCheckpointRequest } from '../src/core/tlog/witness-request.ts';
import { emptyLogEdge, integrate } from '../src/services/log/integrate.ts';
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

  process.stdout.write(`\nDone. Everything is in ${dir}\n`);
} finally {
  stopServers();
}
