/**
 * Signed-note interop with Go: golang.org/x/mod/sumdb/note (the reference implementation) must
 * accept what core/note signs and sign what core/note accepts, and both must refuse a tampered
 * note; an Ed25519 cosignature/v1 made by core/tlog must verify with a separate Go verifier
 * built on crypto/ed25519. The Go side is test/interop/go/note, built once per run in GOPATH
 * mode against the Debian golang-golang-x-mod-dev sources (no network).
 *
 * Without `go` or those sources the suite is skipped with the reason, except on CI (`CI` set),
 * where that is a failure.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { toBytes, toText } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey } from '../../src/core/crypto/index.ts';
import { isVouchError } from '../../src/core/errors.ts';
import {
  createNoteSigner,
  createNoteVerifier,
  formatKeyId,
  formatVerifierKey,
  type NoteSigner,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifierSet,
} from '../../src/core/note/index.ts';
import { formatCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { createCheckpointVerifier, createCosigner } from '../../src/core/tlog/cosignature.ts';

const goSource = join(import.meta.dirname, 'go', 'note');
const goPath = '/usr/share/gocode';
const notePackage = join(goPath, 'src', 'golang.org', 'x', 'mod', 'sumdb', 'note');

function unavailable(): string | undefined {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) return '`go` is not installed';
  if (!existsSync(notePackage)) return `${notePackage} is missing (install golang-golang-x-mod-dev)`;
  return undefined;
}

const reason = unavailable();
if (reason !== undefined && process.env.CI) {
  test('Go signed-note interop', () => assert.fail(`Go interop is required on CI: ${reason}`));
} else if (reason !== undefined) {
  test('Go signed-note interop', { skip: `skipped: ${reason}` }, () => undefined);
} else {
  suite();
}

function suite(): void {
  let dir = '';
  let binary = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vouch-go-note-'));
    binary = join(dir, 'note-interop');
    const build = spawnSync('go', ['build', '-o', binary, '.'], {
      cwd: goSource,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: `${goPath}:${dir}`,
        GOFLAGS: '',
        // A shared build cache keeps later runs fast; the binary itself is per run.
        GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'vouch-go-build-cache'),
      },
    });
    assert.equal(build.status, 0, `go build failed: ${build.stderr}`);
  });

  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  function go(
    args: string[],
    stdin: Uint8Array | string = '',
  ): { status: number; stdout: string; stderr: string } {
    const result = spawnSync(binary, args, { input: stdin, encoding: 'utf8', timeout: 10_000 });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  const fresh = (name: string): NoteSigner => createNoteSigner(createSigner(name, generateKey('ed25519')));
  const tamper = (signed: Uint8Array): Uint8Array => toBytes(toText(signed).replace('size 7', 'size 8'));

  test('notes signed by core/note verify with golang.org/x/mod note.Open', async () => {
    const log = fresh('example.com/log');
    const other = fresh('example.com/other');
    const signed = await signNote('hello\nsize 7\n', [log, other]);
    const both = go(['verify', formatVerifierKey(log), formatVerifierKey(other)], signed);
    assert.equal(both.status, 0, both.stderr);
    assert.equal(
      both.stdout,
      `example.com/log+${formatKeyId(log.keyId)}\nexample.com/other+${formatKeyId(other.keyId)}\n`,
    );
    // Go, too, ignores a signature by a key it does not know.
    const one = go(['verify', formatVerifierKey(other)], signed);
    assert.equal(one.stdout, `example.com/other+${formatKeyId(other.keyId)}\n`);
    const tampered = go(['verify', formatVerifierKey(log)], tamper(signed));
    assert.notEqual(tampered.status, 0);
    assert.match(tampered.stderr, /invalid signature/);
  });

  test('keys and notes made by Go are accepted by core/note, and Ed25519 signing agrees byte for byte', async () => {
    const generated = go(['gen', 'example.com/go-log']);
    assert.equal(generated.status, 0, generated.stderr);
    const [skey = '', vkey = ''] = generated.stdout.trim().split('\n');
    const key = parseVerifierKey(vkey);
    assert.equal(formatVerifierKey(key), vkey);
    const signer = parseSignerKey(skey);
    assert.equal(signer.keyId, key.keyId);

    const text = 'a Go note\n\nwith a blank line\nsize 7\n';
    const bySigning = go(['sign', skey], text);
    assert.equal(bySigning.status, 0, bySigning.stderr);
    const goSigned = toBytes(bySigning.stdout);
    const opened = openNote(goSigned, verifierSet([createNoteVerifier(vkey)]));
    assert.equal(opened.text, text);
    assert.equal(opened.verified.length, 1);
    const ours = await signNote(text, [createNoteSigner(createSigner(signer.name, signer.material))]);
    assert.equal(toText(ours), bySigning.stdout);
    assert.throws(
      () => openNote(tamper(goSigned), verifierSet([createNoteVerifier(vkey)])),
      (e) => isVouchError(e, 'bad-signature'),
    );
  });

  // The same through the command line, as a user would run it: `vouch` as a child process.
  function vouch(args: string[], stdin = ''): { status: number; stdout: string; stderr: string } {
    const result = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '..', '..', 'bin', 'vouch.js'), ...args],
      {
        cwd: dir,
        input: stdin,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, VOUCH_PASSPHRASE: '' },
      },
    );
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  test('`vouch note sign` output verifies with Go, and Go-signed notes pass `vouch note verify`', () => {
    const keyFile = join(dir, 'cli.key');
    const generated = vouch([
      'key',
      'generate',
      '--type',
      'ed25519',
      '--name',
      'cli.example/log',
      '--out',
      keyFile,
      '--unencrypted',
    ]);
    assert.equal(generated.status, 0, generated.stderr);
    const vkey = generated.stdout.trim();
    const text = 'signed by the vouch command line\nsize 7\n';
    const signed = vouch(['note', 'sign', '--key', keyFile], text);
    assert.equal(signed.status, 0, signed.stderr);
    const byGo = go(['verify', vkey], signed.stdout);
    assert.equal(byGo.status, 0, byGo.stderr);
    assert.equal(byGo.stdout, `${vkey.split('+').slice(0, 2).join('+')}\n`);
    assert.notEqual(go(['verify', vkey], signed.stdout.replace('size 7', 'size 8')).status, 0);

    const goKey = go(['gen', 'go.example/log']);
    const [skey = '', goVkey = ''] = goKey.stdout.trim().split('\n');
    const goSigned = go(['sign', skey], text);
    assert.equal(goSigned.status, 0, goSigned.stderr);
    const verified = vouch(['note', 'verify', '--vkey', goVkey], goSigned.stdout);
    assert.equal(verified.status, 0, verified.stderr);
    assert.equal(verified.stdout, `verified ${goVkey.split('+').slice(0, 2).join('+')}\n`);
    const tampered = vouch(['note', 'verify', '--vkey', goVkey], goSigned.stdout.replace('size 7', 'size 8'));
    assert.equal(tampered.status, 1);
    assert.equal(tampered.stdout, '');
  });

  test('an Ed25519 cosignature/v1 made by core/tlog verifies with a Go crypto/ed25519 verifier', async () => {
    const log = fresh('example.com/log');
    const witness = createSigner('example.com/witness', generateKey('ed25519'));
    const cosigner = createCosigner(witness, { timestamp: 1_700_000_000n });
    const text = formatCheckpoint({
      origin: 'example.com/log',
      size: 7n,
      root: new Uint8Array(32).fill(1),
      extensions: [],
    });
    const signed = await signNote(text, [log, cosigner]);
    const vkeys = [formatVerifierKey(log), formatVerifierKey(cosigner)];
    assert.equal(parseVerifierKey(vkeys[1] ?? '').type, 0x04);
    const result = go(['verify', ...vkeys], signed);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stdout,
      `example.com/log+${formatKeyId(log.keyId)}\nexample.com/witness+${formatKeyId(cosigner.keyId)} time=1700000000\n`,
    );
    const ourView = openNote(signed, verifierSet(vkeys.map((v) => createCheckpointVerifier(v))));
    assert.equal(ourView.verified[1]?.timestamp, 1_700_000_000n);
    // With only the witness key trusted, a tampered checkpoint fails in Go and in core alike.
    const tampered = toBytes(toText(signed).replace('\n7\n', '\n8\n'));
    const goTampered = go(['verify', vkeys[1] ?? ''], tampered);
    assert.notEqual(goTampered.status, 0);
    assert.match(goTampered.stderr, /invalid signature/);
    assert.throws(
      () => openNote(tampered, verifierSet([createCheckpointVerifier(vkeys[1] ?? '')])),
      (e) => isVouchError(e, 'bad-signature'),
    );
  });
}
