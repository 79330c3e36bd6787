import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type PackFile, packTar } from '../../core/build/pack.ts';
import { gzipDeterministic } from './gzip.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const files: PackFile[] = [
  { path: 'bin/hello', executable: true, bytes: enc('#!/bin/sh\necho hi\n') },
  { path: 'hello.txt', executable: false, bytes: enc('hello\n') },
  {
    path: 'data/blob.bin',
    executable: false,
    bytes: Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) & 255),
  },
];
const epoch = 1_700_000_000;

test('the gzip header carries no time, no name and a fixed OS byte', () => {
  const gz = gzipDeterministic(packTar(files, epoch));
  assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]);
  assert.deepEqual(gzipDeterministic(packTar([...files].reverse(), epoch)), gz);
});

test('GNU tar lists and extracts the archive exactly', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const archive = join(dir, 'out.tar.gz');
  writeFileSync(archive, gzipDeterministic(packTar(files, epoch)));
  const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvzf', archive], {
    env: { TZ: 'UTC', LC_ALL: 'C', PATH: '/usr/bin:/bin' },
    encoding: 'utf8',
  });
  const rows = listing
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/));
  assert.deepEqual(
    rows.map((r) => [r[0], r[1], r[3], r[4], r[5]]),
    [
      ['drwxr-xr-x', '0/0', '2023-11-14', '22:13:20', 'bin/'],
      ['-rwxr-xr-x', '0/0', '2023-11-14', '22:13:20', 'bin/hello'],
      ['drwxr-xr-x', '0/0', '2023-11-14', '22:13:20', 'data/'],
      ['-rw-r--r--', '0/0', '2023-11-14', '22:13:20', 'data/blob.bin'],
      ['-rw-r--r--', '0/0', '2023-11-14', '22:13:20', 'hello.txt'],
    ],
  );
  const out = join(dir, 'x');
  execFileSync('mkdir', [out]);
  execFileSync('tar', ['-xzf', archive, '-C', out]);
  for (const file of files) {
    assert.deepEqual(new Uint8Array(readFileSync(join(out, file.path))), file.bytes, file.path);
    assert.equal(statSync(join(out, file.path)).mode & 0o111, file.executable ? 0o111 : 0, file.path);
    assert.equal(statSync(join(out, file.path)).mtimeMs, epoch * 1000);
  }
});
