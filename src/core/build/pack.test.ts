import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { isVouchError } from '../errors.ts';
import { buildManifest, formatManifest, type PackFile, packTar } from './pack.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const files: PackFile[] = [
  { path: 'bin/hello', executable: true, bytes: enc('#!/bin/sh\necho hi\n') },
  { path: 'hello.txt', executable: false, bytes: enc('hello\n') },
  { path: 'share/doc/a/b.txt', executable: false, bytes: new Uint8Array(1000).fill(7) },
];
const epoch = 1_700_000_000;

function field(header: Uint8Array, offset: number, length: number): string {
  return new TextDecoder().decode(header.subarray(offset, offset + length)).replace(/\0.*$/s, '');
}

function headers(
  tar: Uint8Array,
): { name: string; mode: string; type: string; mtime: string; size: number }[] {
  const out = [];
  let at = 0;
  while (at + 512 <= tar.length && tar[at] !== 0) {
    const h = tar.subarray(at, at + 512);
    const size = Number.parseInt(field(h, 124, 12), 8);
    const prefix = field(h, 345, 155);
    const name = field(h, 0, 100);
    out.push({
      name: prefix === '' ? name : `${prefix}/${name}`,
      mode: field(h, 100, 8),
      type: field(h, 156, 1),
      mtime: field(h, 136, 12),
      size,
    });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

test('packing is deterministic and independent of input order', () => {
  const a = packTar(files, epoch);
  const b = packTar([...files].reverse(), epoch);
  assert.deepEqual(a, b);
  assert.equal(a.length % 10240, 0);
  assert.notDeepEqual(packTar(files, epoch + 1), a);
});

test('entries are sorted, folders added, modes normalised, mtime fixed', () => {
  const list = headers(packTar(files, epoch));
  assert.deepEqual(
    list.map((h) => `${h.type} ${h.mode} ${h.name}`),
    [
      '5 0000755 bin/',
      '0 0000755 bin/hello',
      '0 0000644 hello.txt',
      '5 0000755 share/',
      '5 0000755 share/doc/',
      '5 0000755 share/doc/a/',
      '0 0000644 share/doc/a/b.txt',
    ],
  );
  for (const h of list) assert.equal(Number.parseInt(h.mtime, 8), epoch);
});

test('long names use the ustar prefix, or are refused', () => {
  const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(90)}`;
  const list = headers(packTar([{ path: long, executable: false, bytes: enc('x') }], 0));
  assert.equal(list.at(-1)?.name, long);
  assert.throws(
    () => packTar([{ path: 'f'.repeat(101), executable: false, bytes: enc('x') }], 0),
    (e: unknown) => isVouchError(e, 'too-large'),
  );
});

test('bad file lists are refused', async (t) => {
  const rows: readonly [string, PackFile[]][] = [
    ['duplicate', [files[1] as PackFile, files[1] as PackFile]],
    ['unsafe path', [{ path: '../x', executable: false, bytes: enc('') }]],
    [
      'file and folder',
      [
        { path: 'a', executable: false, bytes: enc('') },
        { path: 'a/b', executable: false, bytes: enc('') },
      ],
    ],
  ];
  for (const [name, list] of rows) {
    await t.test(name, () =>
      assert.throws(
        () => packTar(list, 0),
        (e: unknown) => isVouchError(e, 'invalid-argument'),
      ),
    );
  }
});

test('the manifest is sorted canonical JSON with both digests', () => {
  const manifest = buildManifest([...files].reverse());
  assert.deepEqual(
    manifest.map((m) => m.path),
    ['bin/hello', 'hello.txt', 'share/doc/a/b.txt'],
  );
  const hello = manifest[1];
  assert.equal(hello?.sha256, createHash('sha256').update('hello\n').digest('hex'));
  assert.equal(hello?.sha512, createHash('sha512').update('hello\n').digest('hex'));
  assert.equal(hello?.mode, '0644');
  assert.equal(manifest[0]?.mode, '0755');
  const text = new TextDecoder().decode(formatManifest(manifest));
  assert.ok(text.startsWith('{"files":[{"mode":"0755","path":"bin/hello","sha256":'), text);
});
