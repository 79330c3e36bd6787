/**
 * The YARA side of the scanner against Debian's `yara` (libyara 4). A generated corpus (random
 * binaries, text, EICAR test files written at test time, MZ-headed files, an empty file, a
 * symbolic link) is scanned by `vouch scan` with a database whose `.yar` files hold a handful of
 * rules (text strings with modifiers, hex patterns with wildcards and jumps, regular expressions,
 * counts, offsets, filesize conditions, a private rule), and by `yara -r` with the same rules as
 * written by `vouch rules export --yara`. Both must report exactly the same (file, rule) pairs,
 * except the one allowed file, which only `yara` reports (it has no allow-list). Skipped when
 * `yara` is not installed, a failure when the environment sets CI.
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

const unavailable = requireTool('yara', 'yara');
const random = seededBytes;

const rulesA = `
rule Test_EICAR {
  strings:
    $a = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
    $b = { 58 35 4F 21 50 25 40 41 50 5B 34 5C }
  condition:
    $b at 0 and $a
}

rule Test_Secret_Wide_Nocase {
  strings:
    $s = "secret-token" nocase ascii wide
  condition:
    $s
}

private rule Looks_MZ {
  condition:
    uint16(0) == 0x5A4D
}

rule Test_MZ_Small {
  strings:
    $stub = { 4D 5A ?? ?? [0-8] 50 45 00 00 }
  condition:
    Looks_MZ and $stub and filesize < 4KB
}
`;

const rulesB = `
rule Test_Many_Markers {
  strings:
    $m = "MARKER"
  condition:
    #m >= 3
}

rule Test_Regex_Url {
  strings:
    $u = /https:\\/\\/evil\\.example\\/[a-z]{4,8}\\.php/
  condition:
    $u
}

rule Test_Tiny_Text {
  condition:
    filesize > 0 and filesize < 16
}
`;

async function run(command: { run(args: readonly string[], io: CliIo): Promise<number> }, args: string[]) {
  const captured = captureIo();
  const io = { ...captured.io, env: { SOURCE_DATE_EPOCH: '0' } };
  const code = await command.run(args, io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

const work = await mkdtemp(join(tmpdir(), 'vouch-yara-'));
after(() => rm(work, { recursive: true, force: true }));

test('vouch scan reports the same (file, rule) pairs as yara -r', { skip: unavailable }, async () => {
  const corpus = join(work, 'corpus');
  const src = join(work, 'src');
  await mkdir(src);
  const next = random(0x7a4a);
  const files: [string, Uint8Array | string][] = [];
  for (let i = 0; i < 120; i++) {
    const size = 1 + ((((next(1)[0] as number) << 8) | (next(1)[0] as number)) % 12000);
    files.push([`bin/${i % 6}/r${i}.bin`, next(size)]);
  }
  for (let i = 0; i < 60; i++) {
    const markers = 'MARKER '.repeat(i % 5);
    const url = i % 9 === 0 ? `see https://evil.example/${'abcdefgh'.slice(0, 3 + (i % 6))}.php\n` : '';
    const secret = i % 11 === 0 ? 'the SECRET-Token is here\n' : '';
    files.push([`text/t${i}.txt`, `line ${i}\n${markers}\n${url}${secret}`.repeat(1 + (i % 4))]);
  }
  const wideSecret = Buffer.from('xx secret-TOKEN xx', 'utf16le');
  const mz = (pad: number, total: number) => {
    const out = new Uint8Array(total);
    out.set([0x4d, 0x5a, 0x90, 0x00], 0);
    out.set([0x50, 0x45, 0x00, 0x00], 4 + pad);
    return out;
  };
  files.push(
    ['eicar.com', eicar],
    ['deep/a/b/eicar.txt', eicar],
    ['eicar-shifted.txt', ` ${eicar}`],
    ['wide.bin', wideSecret],
    ['mz/small.exe', mz(2, 512)],
    ['mz/jump-too-far.exe', mz(12, 512)],
    ['mz/big.exe', mz(0, 8192)],
    ['tiny.txt', 'hi'],
    ['empty', ''],
    // Allowed by digest; it differs from the other EICAR copies by its trailing newline.
    ['allowed/eicar-allowed.com', `${eicar}\n`],
  );
  for (const [name, content] of files) {
    await mkdir(join(corpus, name, '..'), { recursive: true });
    await writeFile(join(corpus, name), content);
  }
  const allowedPath = join(corpus, 'allowed/eicar-allowed.com');
  await writeFile(join(work, 'outside-eicar.com'), eicar);
  await symlink(join(work, 'outside-eicar.com'), join(corpus, 'link-to-eicar'));

  await writeFile(join(src, 'rules.json'), '{"name":"interop","engine":{"min":1,"max":1}}');
  await writeFile(join(src, 'a.yar'), rulesA);
  await writeFile(join(src, 'b.yar'), rulesB);
  await writeFile(join(src, 'allow.sha256'), `${createHash('sha256').update(`${eicar}\n`).digest('hex')}\n`);

  const db = join(work, 'db');
  const exported = join(work, 'all.yar');
  const compiled = await run(rulesCommand, ['compile', src, '--out', db, '--version', '1']);
  assert.equal(compiled.code, 0, compiled.stderr);
  assert.match(compiled.stdout, /2 YARA files compiled with YARA-X \d+\.\d+\.\d+ in /);
  const exportedRun = await run(rulesCommand, ['export', db, '--yara', exported]);
  assert.equal(exportedRun.code, 0, exportedRun.stderr);

  const ours = await run(scanCommand, ['--db', db, corpus]);
  assert.equal(ours.code, 1, ours.stderr);
  const ourPairs = ours.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { path?: string; kind?: string; signature?: string })
    .flatMap((d) => (d.signature === undefined ? [] : [`${resolve(d.path ?? '')}\t${d.signature}`]))
    .sort();
  assert.ok(ours.stdout.includes('"kind":"yara"'));

  // -N: do not follow symbolic links; -w: no warnings; one thread for a stable order.
  const yara = spawnSync('yara', ['-r', '-N', '-w', '-p', '1', exported, corpus], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(yara.status, 0, yara.stderr);
  const yaraAll = yara.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const match = /^(\S+) (.+)$/.exec(l);
      assert.ok(match, `unexpected yara line ${l}`);
      return `${resolve(match[2] ?? '')}\t${match[1]}`;
    });
  // yara has no allow-list: it reports the allowed file, which vouch scan must not.
  assert.ok(yaraAll.includes(`${allowedPath}\tTest_EICAR`), 'the allowed file is an EICAR match for yara');
  const yaraPairs = [...new Set(yaraAll.filter((p) => !p.startsWith(`${allowedPath}\t`)))].sort();

  assert.equal(new Set(ourPairs).size, ourPairs.length, 'vouch scan reported a pair twice');
  assert.deepEqual(ourPairs, yaraPairs);
  assert.ok(ourPairs.length >= 30, `only ${ourPairs.length} detections`);
  // The comparison must not be vacuous: every public rule matched something.
  for (const rule of [
    'Test_EICAR',
    'Test_Secret_Wide_Nocase',
    'Test_MZ_Small',
    'Test_Many_Markers',
    'Test_Regex_Url',
    'Test_Tiny_Text',
  ])
    assert.ok(
      ourPairs.some((p) => p.endsWith(`\t${rule}`)),
      `no file matched ${rule}`,
    );
  assert.ok(ourPairs.includes(`${join(corpus, 'wide.bin')}\tTest_Secret_Wide_Nocase`));
  assert.ok(!ourPairs.some((p) => p.includes('jump-too-far') || p.includes('mz/big.exe')));
  assert.ok(!ourPairs.some((p) => p.includes('eicar-shifted') || p.includes('link-to-eicar')));
  assert.ok(!ourPairs.some((p) => p.includes('Looks_MZ')));
});
