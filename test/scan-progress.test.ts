// `vouch scan`'s progress line and --jobs: the line is a pure function of the counts, it is drawn
// only on a terminal (and erased before every other line and at the end), and the output is the
// same for any number of YARA workers.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatScanProgress, scanCommand } from '../src/faces/cli/commands/scan.ts';
import type { CliIo } from '../src/faces/cli/io.ts';
import { compileRules, writeDatabase } from '../src/services/rules/compile.ts';
import type { ScanSummary } from '../src/services/scanner/scan.ts';
import { captureIo, makeTempDir, removeDir } from './support/log-fixture.ts';

const hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** eraseLine is the escape sequence that erases from the cursor to the end of the line. */
const eraseLine = '\u001b[K';

/**
 * terminal plays `text` on a one-line-at-a-time terminal: `\r` returns to the start of the line,
 * the erase sequence cuts the line at the cursor, `\n` ends it. It returns the finished lines,
 * the line still being drawn, and each frame: the text drawn between a `\r` and an erase.
 */
function terminal(text: string): { lines: string[]; current: string; frames: string[] } {
  const lines: string[] = [];
  const frames: string[] = [];
  let current = '';
  let column = 0;
  let frameStart: number | undefined;
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith(eraseLine, i)) {
      current = current.slice(0, column);
      if (frameStart !== undefined) frames.push(current.slice(frameStart));
      frameStart = undefined;
      i += eraseLine.length - 1;
    } else if (text[i] === '\r') {
      column = 0;
      frameStart = 0;
    } else if (text[i] === '\n') {
      lines.push(current);
      current = '';
      column = 0;
    } else {
      current = current.slice(0, column) + text[i] + current.slice(column + 1);
      column++;
    }
  }
  return { lines, current, frames };
}

describe('formatScanProgress', () => {
  const base: ScanSummary = { files: 0, bytes: 0, detections: 0, errors: 0, skipped: 0, seconds: 0 };
  const rows: { name: string; counts: ScanSummary; columns: number; line: string }[] = [
    {
      name: 'nothing yet, no time passed',
      counts: base,
      columns: 80,
      line: 'scanning: 0 files, 0 B, 0.0 MiB/s, 0 detections, 0 errors',
    },
    {
      name: 'singular words, bytes under a KiB',
      counts: { ...base, files: 1, bytes: 1023, detections: 1, errors: 1, seconds: 2 },
      columns: 80,
      line: 'scanning: 1 file, 1023 B, 0.0 MiB/s, 1 detection, 1 error',
    },
    {
      name: 'MiB and throughput over the elapsed seconds',
      counts: { ...base, files: 1234, bytes: 64 * 1024 * 1024, detections: 2, skipped: 5, seconds: 2 },
      columns: 80,
      line: 'scanning: 1234 files, 64.0 MiB, 32.0 MiB/s, 2 detections, 0 errors',
    },
    {
      name: 'GiB',
      counts: { ...base, files: 9, bytes: 3 * 1024 ** 3 + 512 * 1024 ** 2, seconds: 35 },
      columns: 80,
      line: 'scanning: 9 files, 3.5 GiB, 102.4 MiB/s, 0 detections, 0 errors',
    },
    {
      name: 'cut to one less than the terminal width, so it never wraps',
      counts: { ...base, files: 1234, bytes: 2048, seconds: 1 },
      columns: 30,
      line: 'scanning: 1234 files, 2.0 KiB',
    },
    { name: 'a terminal with no width', counts: base, columns: 0, line: '' },
  ];
  for (const row of rows)
    test(row.name, () => assert.equal(formatScanProgress(row.counts, row.columns), row.line));
});

describe('vouch scan progress and --jobs', () => {
  let dir = '';
  let db = '';
  let corpus = '';
  before(async () => {
    dir = await makeTempDir('vouch-scan-progress-');
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'rules.json'), '{"name":"acme","engine":{"min":1,"max":2}}');
    await writeFile(join(src, 'main.hsb'), `${hex('evil needle')}:*:Test.Evil\n`);
    await writeFile(join(src, 'n.yar'), 'rule Needle { strings: $a = "needle" condition: $a }\n');
    db = join(dir, 'db');
    await writeDatabase(db, await compileRules(src, { version: 1, created: 0 }));
    corpus = join(dir, 'corpus');
    await mkdir(join(corpus, 'sub'), { recursive: true });
    for (let i = 0; i < 20; i++)
      await writeFile(join(corpus, `f-${String(i).padStart(2, '0')}`), i % 3 === 0 ? 'a needle' : 'clean');
    await writeFile(join(corpus, 'evil'), 'evil needle');
    await writeFile(join(corpus, 'sub', 'needle'), 'needle');
  });
  after(() => removeDir(dir));

  async function run(args: readonly string[], terminal?: { columns: number }) {
    const captured = captureIo();
    const io: CliIo =
      terminal === undefined ? captured.io : { ...captured.io, stderrColumns: terminal.columns };
    const code = await scanCommand.run(args, io);
    // The summary's seconds differ from run to run.
    const stdout = captured.stdout().replace(/"seconds":[0-9.e-]+/, '"seconds":0');
    return { code, stdout, stderr: captured.stderr() };
  }

  test('not on a terminal, nothing but the per-file lines goes to standard error', async () => {
    const r = await run(['--db', db, corpus, join(dir, 'missing')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `vouch: scan: ${join(dir, 'missing')}: lstat failed: ENOENT\n`);
  });

  test('on a terminal, progress lines are drawn, erased before other lines and at the end', async () => {
    for (const roots of [[corpus], [corpus, join(dir, 'missing')]]) {
      const plain = await run(['--db', db, ...roots]);
      const r = await run(['--db', db, ...roots], { columns: 100 });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, plain.stdout);
      const screen = terminal(r.stderr);
      // The first frame is drawn at the first entry (no redraw is due before it).
      assert.ok(screen.frames.length >= 1);
      for (const frame of screen.frames)
        assert.match(
          frame,
          /^(scanning: [0-9]+ files?, [0-9.]+ [KMG]?i?B, [0-9.]+ MiB\/s, [0-9]+ detections?, [0-9]+ errors?)?$/,
        );
      assert.match(screen.frames[0] ?? '', /^scanning: /);
      // What stays on the screen is what a run off a terminal prints, with no progress left over.
      assert.deepEqual(screen.lines, plain.stderr.split('\n').slice(0, -1));
      assert.equal(screen.current, '');
    }
  });

  test('--no-progress draws nothing on a terminal, nor does a dumb terminal', async () => {
    const r = await run(['--db', db, '--no-progress', corpus], { columns: 100 });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, '');
    const captured = captureIo();
    const dumb = { ...captured.io, env: { TERM: 'dumb' }, stderrColumns: 100 };
    assert.equal(await scanCommand.run(['--db', db, corpus], dumb), 1);
    assert.equal(captured.stderr(), '');
  });

  test('the output is the same, in walk order, for one worker or several', async () => {
    const one = await run(['--db', db, '--jobs', '1', corpus]);
    const three = await run(['--db', db, '--jobs', '3', corpus]);
    assert.equal(one.code, 1);
    assert.equal(three.stdout, one.stdout);
    const paths = one.stdout
      .split('\n')
      .filter((l) => l.includes('"signature"'))
      .map((l) => (JSON.parse(l) as { path: string; kind: string }).path);
    assert.deepEqual(paths, [
      join(corpus, 'evil'),
      join(corpus, 'evil'),
      ...[0, 3, 6, 9, 12, 15, 18].map((i) => join(corpus, `f-${String(i).padStart(2, '0')}`)),
      join(corpus, 'sub', 'needle'),
    ]);
  });

  test('--jobs above 64 is refused', async () => {
    const r = await run(['--db', db, '--jobs', '65', corpus]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--jobs must be an integer from 1 to 64/);
  });
});
