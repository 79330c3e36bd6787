/**
 * The hash scanner against ClamAV. A generated corpus (random binaries, text files, EICAR test
 * files written at test time, duplicates, an empty file, a symbolic link) is scanned by
 * `vouch scan` with a database compiled from hashes of a subset of it, and by Debian's
 * `clamscan` with the same signatures exported by `vouch rules export --clamav`; both must report
 * exactly the same (file, signature) pairs. clamscan runs with only our database (`-d`, no
 * freshclam), `--allmatch`, container and document parsing off, bytecode off and symbolic links
 * not followed, so it compares raw files only (see shared/reference/av-databases.md §4.2).
 * Skipped when clamscan is not installed, a failure when the environment sets CI.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { rulesCommand } from '../../src/faces/cli/commands/rules.ts';
import { scanCommand } from '../../src/faces/cli/commands/scan.ts';
import type { CliIo } from '../../src/faces/cli/io.ts';
import { eicar, requireTool, seededBytes } from '../support/corpus.ts';
import { captureIo } from '../support/log-fixture.ts';

const unavailable = requireTool('clamscan', 'clamav');
const random = seededBytes;

const hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

async function run(command: { run(args: readonly string[], io: CliIo): Promise<number> }, args: string[]) {
  const captured = captureIo();
  const io = { ...captured.io, env: { SOURCE_DATE_EPOCH: '0' } };
  const code = await command.run(args, io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

const work = await mkdtemp(join(tmpdir(), 'vouch-clamscan-'));
after(() => rm(work, { recursive: true, force: true }));

test('vouch scan reports the same (file, signature) pairs as clamscan', { skip: unavailable }, async () => {
  const corpus = join(work, 'corpus');
  const src = join(work, 'src');
  await mkdir(src);
  const next = random(0x5eed);
  const hashLines: string[] = [];
  const allow: string[] = [];
  const files: [string, Uint8Array | string][] = [];
  for (let i = 0; i < 200; i++) {
    const size = 1 + ((((next(2)[0] as number) << 8) | (next(1)[0] as number)) % 20000);
    files.push([`bin/${i % 10}/r${i}.bin`, next(size)]);
  }
  for (let i = 0; i < 100; i++) files.push([`text/t${i}.txt`, `line ${i}\n`.repeat(1 + (i % 50))]);
  files.push(['eicar.com', eicar], ['deep/a/b/eicar.txt', eicar], ['eicar-newline.txt', `${eicar}\n`]);
  files.push(['dup/copy-of-r5.bin', files[5]?.[1] ?? ''], ['empty', '']);
  for (const [name, content] of files) {
    await mkdir(join(corpus, name, '..'), { recursive: true });
    await writeFile(join(corpus, name), content);
  }
  await writeFile(join(work, 'outside-eicar.com'), eicar);
  await symlink(join(work, 'outside-eicar.com'), join(corpus, 'link-to-eicar'));

  const size = (c: Uint8Array | string) => (typeof c === 'string' ? Buffer.byteLength(c) : c.length);
  hashLines.push(`${hex(eicar)}:68:Test.EICAR.SHA256`, `${hex(eicar)}:*:Test.EICAR.AnySize`);
  files.forEach(([name, content], i) => {
    const base = name.replace(/[^A-Za-z0-9]/g, '-');
    if (name.startsWith('bin/') && i % 5 === 0)
      hashLines.push(`${hex(content)}:${size(content)}:Test.Bin.${base}`);
    if (name.startsWith('bin/') && i % 35 === 1)
      hashLines.push(`${hex(content)}:${size(content) + 1}:Test.WrongSize.${base}`);
    if (name.startsWith('text/') && i % 7 === 0) hashLines.push(`${hex(content)}:*:Test.Text.${base}`);
    // Allowed and signed: the allow-list must win in both scanners.
    if (name.startsWith('bin/') && i % 50 === 11) {
      hashLines.push(`${hex(content)}:${size(content)}:Test.Allowed.${base}`);
      allow.push(hex(content));
    }
  });
  await writeFile(join(src, 'rules.json'), '{"name":"interop","engine":{"min":1,"max":1}}');
  await writeFile(join(src, 'main.hsb'), `${hashLines.join('\n')}\n`);
  await writeFile(join(src, 'allow.sha256'), `${allow.join('\n')}\n`);

  const db = join(work, 'db');
  const exported = join(work, 'clamav');
  const compiled = await run(rulesCommand, ['compile', src, '--out', db, '--version', '1']);
  assert.equal(compiled.code, 0, compiled.stderr);
  const exportedRun = await run(rulesCommand, ['export', db, '--clamav', exported]);
  assert.equal(exportedRun.code, 0, exportedRun.stderr);

  const ours = await run(scanCommand, ['--db', db, corpus]);
  assert.equal(ours.code, 1, ours.stderr);
  const ourPairs = ours.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { path?: string; signature?: string })
    .flatMap((d) => (d.signature === undefined ? [] : [`${resolve(d.path ?? '')}\t${d.signature}`]))
    .sort();

  const clam = spawnSync(
    'clamscan',
    [
      '--no-summary',
      '--infected',
      '--allmatch',
      '--recursive',
      '--follow-dir-symlinks=0',
      '--follow-file-symlinks=0',
      '--bytecode=no',
      ...[
        'archive',
        'mail',
        'ole2',
        'pdf',
        'html',
        'pe',
        'elf',
        'swf',
        'xmldocs',
        'hwp3',
        'onenote',
        'image',
      ].map((kind) => `--scan-${kind}=no`),
      '--max-filesize=100M',
      '--max-scansize=100M',
      '-d',
      exported,
      corpus,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(clam.status, 1, clam.stderr);
  // --allmatch may report one pair twice (a file rescanned as another type): compare sets.
  const clamLines = clam.stdout
    .split('\n')
    .filter((l) => l.endsWith(' FOUND'))
    .map((l) => {
      const match = /^(.*): (\S+)\.UNOFFICIAL FOUND$/.exec(l);
      assert.ok(match, `unexpected clamscan line ${l}`);
      return `${resolve(match[1] ?? '')}\t${match[2]}`;
    });
  const clamPairs = [...new Set(clamLines)].sort();

  assert.equal(new Set(ourPairs).size, ourPairs.length, 'vouch scan reported a pair twice');
  assert.deepEqual(ourPairs, clamPairs);
  // The comparison must not be vacuous: both EICAR copies by both names, hashed binaries, text.
  assert.ok(ourPairs.includes(`${join(corpus, 'eicar.com')}\tTest.EICAR.SHA256`));
  assert.ok(ourPairs.includes(`${join(corpus, 'deep/a/b/eicar.txt')}\tTest.EICAR.AnySize`));
  assert.ok(!ourPairs.some((p) => p.includes('eicar-newline') || p.includes('link-to-eicar')));
  assert.ok(!ourPairs.some((p) => p.includes('WrongSize') || p.includes('Allowed')));
  assert.ok(ourPairs.some((p) => p.includes('Test.Text.')));
  assert.ok(ourPairs.some((p) => p.includes('dup/copy-of-r5.bin')));
  assert.ok(ourPairs.length >= 50, `only ${ourPairs.length} detections`);
});
