/**
 * `npm run demo`: the README's main command while the end-to-end demo is being built. It runs
 * the real `vouch` command line as a user would, in a fresh folder (kept afterwards, or chosen
 * with `--dir DIR`), and prints each command with its output: the help, keys made, a note
 * signed and verified, and a tampered note refused. It exits non-zero if any step misbehaves.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { dir: { type: 'string' } } });
const dir = values.dir === undefined ? mkdtempSync(join(tmpdir(), 'vouch-demo-')) : resolve(values.dir);
mkdirSync(dir, { recursive: true });
const vouchJs = resolve(import.meta.dirname, '..', 'bin', 'vouch.js');

function vouch(args: string[], expectExit = 0, input?: string): string {
  process.stdout.write(`\n$ vouch ${args.join(' ')}${input === undefined ? '' : ' < (stdin)'}\n`);
  const result = spawnSync(process.execPath, [vouchJs, ...args], {
    cwd: dir,
    encoding: 'utf8',
    input,
    env: { ...process.env, VOUCH_PASSPHRASE: '' },
  });
  process.stdout.write(result.stdout + result.stderr);
  if (result.status !== expectExit) {
    process.stderr.write(`demo: expected exit ${expectExit}, got ${result.status}\n`);
    process.exit(1);
  }
  process.stdout.write(`(exit ${result.status})\n`);
  return result.stdout;
}

vouch(['--help']);
const logVkey = vouch([
  'key',
  'generate',
  '--type',
  'ed25519',
  '--name',
  'zurich.vouch.example/release-log',
  '--out',
  'log.key',
  '--unencrypted',
]).trim();
vouch(['key', 'show', 'log.key', '--pem']);

writeFileSync(join(dir, 'release.txt'), 'vouch demo release 1.0.0\nbuilt at ch-zrh from commit 4f2a9c1\n');
const signed = vouch(['note', 'sign', '--key', 'log.key', 'release.txt']);
writeFileSync(join(dir, 'release.signed'), signed);
vouch(['note', 'verify', '--vkey', logVkey, 'release.signed']);

writeFileSync(
  join(dir, 'tampered.signed'),
  readFileSync(join(dir, 'release.signed'), 'utf8').replace('1.0.0', '6.6.6'),
);
vouch(['note', 'verify', '--vkey', logVkey, 'tampered.signed'], 1);

process.stdout.write(`\nDone: the keys and notes are in ${dir}\n`);
