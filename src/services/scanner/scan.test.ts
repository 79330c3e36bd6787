import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir } from '../../../test/support/log-fixture.ts';
import { toBytes } from '../../core/bytes/index.ts';
import { formatHashDb, type HashDb, parseHashDb } from '../../core/rules/hashdb.ts';
import type { HashSignature } from '../../core/rules/source.ts';
import { startYaraMatcher } from '../rules/yara.ts';
import {
  defaultScanLimits,
  hashFile,
  type ScanEvent,
  type ScanSummary,
  scanExitCode,
  scanPaths,
} from './scan.ts';

const digestOf = (text: string) => new Uint8Array(createHash('sha256').update(text).digest());
const sig = (text: string, size: number | '*', name: string): HashSignature => ({
  digest: digestOf(text),
  size,
  name,
});

function makeDb(records: HashSignature[], allow: Uint8Array[] = []): HashDb {
  return parseHashDb(formatHashDb(records, allow));
}

async function scan(db: HashDb, roots: string[], concurrency = 4, onEvent?: (e: ScanEvent) => void) {
  const events: ScanEvent[] = [];
  const summary = await scanPaths(
    db,
    roots,
    (event) => {
      events.push(event);
      onEvent?.(event);
    },
    { limits: { ...defaultScanLimits, concurrency, bufferBytes: 7, maxFileBytes: 1000 } },
  );
  const detections = events
    .flatMap((e) => (e.kind === 'detection' ? [`${e.detection.path} ${e.detection.signature}`] : []))
    .sort();
  const errors = events.flatMap((e) => (e.kind === 'error' ? [e.path] : [])).sort();
  const skipped = events.flatMap((e) => (e.kind === 'skipped' ? [e.path] : [])).sort();
  return { summary, events, detections, errors, skipped };
}

describe('scanPaths', () => {
  let dir = '';
  let root = '';
  let outside = '';
  before(async () => {
    dir = await makeTempDir('vouch-scan-');
    root = join(dir, 'root');
    outside = join(dir, 'outside');
    await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(root, 'evil.txt'), 'evil');
    await writeFile(join(root, 'sub', 'evil-copy'), 'evil');
    await writeFile(join(root, 'sub', 'deeper', 'any'), 'any size');
    await writeFile(join(root, 'clean'), 'clean');
    await writeFile(join(root, 'allowed'), 'allowed');
    await writeFile(join(root, 'big'), 'x'.repeat(1001));
    await writeFile(join(root, 'wrong-size'), 'evil!');
    await writeFile(join(outside, 'evil-outside'), 'evil');
    await symlink(join(outside, 'evil-outside'), join(root, 'link-to-file'));
    await symlink(outside, join(root, 'link-to-dir'));
  });
  after(() => removeDir(dir));

  const db = () =>
    makeDb(
      [
        sig('evil', 4, 'Test.Evil'),
        sig('evil', '*', 'Test.Evil.Any'),
        sig('any size', '*', 'Test.Any'),
        sig('allowed', 7, 'Test.Allowed'),
        sig('evil!', 99, 'Test.OtherSize'),
      ],
      [digestOf('allowed')],
    );

  test('reports exact-size and any-size matches, honours the allow-list, skips links, errors on big files', async () => {
    const r = await scan(db(), [root]);
    assert.deepEqual(r.detections, [
      `${join(root, 'evil.txt')} Test.Evil`,
      `${join(root, 'evil.txt')} Test.Evil.Any`,
      `${join(root, 'sub', 'deeper', 'any')} Test.Any`,
      `${join(root, 'sub', 'evil-copy')} Test.Evil`,
      `${join(root, 'sub', 'evil-copy')} Test.Evil.Any`,
    ]);
    assert.deepEqual(r.errors, [join(root, 'big')]);
    assert.deepEqual(r.skipped, [join(root, 'link-to-dir'), join(root, 'link-to-file')]);
    assert.equal(r.summary.files, 6);
    assert.equal(r.summary.bytes, 4 + 4 + 8 + 5 + 7 + 5);
    assert.equal(r.summary.detections, 5);
    assert.equal(r.summary.errors, 1);
    assert.equal(r.summary.skipped, 2);
    const first = r.events.find((e) => e.kind === 'detection');
    assert.ok(first?.kind === 'detection');
    assert.equal(first.detection.sha256, createHash('sha256').update('evil').digest('hex'));
    assert.equal(first.detection.size, 4);
    assert.equal(scanExitCode(r.summary), 1);
  });

  test('the same results with one file in flight as with four', async () => {
    const one = await scan(db(), [root], 1);
    const four = await scan(db(), [root], 4);
    assert.deepEqual(one.detections, four.detections);
    assert.deepEqual(one.errors, four.errors);
  });

  test('roots: a file, a symbolic link and a missing path', async () => {
    const r = await scan(db(), [join(root, 'evil.txt'), join(root, 'link-to-dir'), join(dir, 'missing')]);
    assert.deepEqual(r.detections, [
      `${join(root, 'evil.txt')} Test.Evil`,
      `${join(root, 'evil.txt')} Test.Evil.Any`,
    ]);
    assert.deepEqual(r.skipped, [join(root, 'link-to-dir')]);
    assert.deepEqual(r.errors, [join(dir, 'missing')]);
  });

  test('a directory that vanishes during the walk is a per-file error', async () => {
    const tree = join(dir, 'vanish');
    await mkdir(join(tree, 'z-gone'), { recursive: true });
    await writeFile(join(tree, 'a-evil'), 'evil');
    await writeFile(join(tree, 'z-gone', 'evil'), 'evil');
    // With one file in flight the walk reads z-gone only after a-evil's detection was reported.
    const r = await scan(db(), [tree], 1, (event) => {
      if (event.kind === 'detection') rmSync(join(tree, 'z-gone'), { recursive: true, force: true });
    });
    assert.deepEqual(r.errors, [join(tree, 'z-gone')]);
    assert.equal(r.summary.files, 1);
  });

  test('a FIFO is skipped, not opened', { skip: process.platform === 'win32' }, async () => {
    const tree = join(dir, 'fifo');
    await mkdir(tree);
    const made = spawnSync('mkfifo', [join(tree, 'pipe')]);
    if (made.status !== 0) return;
    await writeFile(join(tree, 'clean'), 'clean');
    const r = await scan(db(), [tree]);
    assert.deepEqual(r.skipped, [join(tree, 'pipe')]);
    assert.equal(r.summary.files, 1);
    assert.equal(scanExitCode(r.summary), 0);
  });

  test('scanExitCode follows clamscan', () => {
    const base: ScanSummary = { files: 1, bytes: 1, detections: 0, errors: 0, skipped: 0, seconds: 0 };
    const rows: [string, ScanSummary, number][] = [
      ['clean', base, 0],
      ['detections', { ...base, detections: 1 }, 1],
      ['errors', { ...base, errors: 1 }, 2],
      ['both', { ...base, detections: 1, errors: 1 }, 1],
    ];
    for (const [name, summary, code] of rows) assert.equal(scanExitCode(summary), code, name);
  });
});

describe('hashFile', () => {
  test('streams SHA-256 through a small buffer', async () => {
    const dir = await makeTempDir('vouch-hash-');
    try {
      const text = 'abc'.repeat(1000);
      await writeFile(join(dir, 'f'), text);
      const r = await hashFile(join(dir, 'f'), 1 << 20, new Uint8Array(13));
      assert.deepEqual(r.digest, digestOf(text));
      assert.equal(r.size, 3000);
      await symlink(join(dir, 'f'), join(dir, 'l'));
      await assert.rejects(hashFile(join(dir, 'l'), 1 << 20, new Uint8Array(13)), { code: 'ELOOP' });
      await assert.rejects(hashFile(dir, 1 << 20, new Uint8Array(13)), { code: 'malformed' });
      await assert.rejects(hashFile(join(dir, 'f'), 2999, new Uint8Array(13)), { code: 'too-large' });
    } finally {
      await removeDir(dir);
    }
  });

  test('a file whose length differs from its size is refused', {
    skip: process.platform !== 'linux',
  }, async () => {
    // /proc files report size 0 but have content: the same check catches a file that grows.
    await assert.rejects(hashFile('/proc/self/status', 1 << 20, new Uint8Array(64)), { code: 'unavailable' });
  });
});

describe('scanPaths with YARA rules', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('vouch-scan-yara-');
    await writeFile(join(dir, 'needle'), 'hay needle hay');
    await writeFile(join(dir, 'evil'), 'evil needle');
    await writeFile(join(dir, 'allowed'), 'allowed needle');
    await writeFile(join(dir, 'large'), `needle${'x'.repeat(100)}`);
    await writeFile(join(dir, 'clean'), 'nothing');
  });
  after(() => removeDir(dir));

  test('reports hash and rule detections by kind; the allow-list wins; big files skip YARA only', async () => {
    const yara = await startYaraMatcher(
      new Map([
        [
          'n.yar',
          toBytes(
            'rule Needle { strings: $a = "needle" condition: $a }\nrule Tiny { condition: filesize < 8 }',
          ),
        ],
      ]),
    );
    const events: ScanEvent[] = [];
    const summary = await scanPaths(
      makeDb(
        [sig('evil needle', 11, 'Test.Evil'), sig('allowed needle', '*', 'Test.Allowed')],
        [digestOf('allowed needle')],
      ),
      [dir],
      (e) => events.push(e),
      { limits: { ...defaultScanLimits, maxYaraFileBytes: 50 }, yara },
    );
    await yara.close();
    const found = events
      .flatMap((e) =>
        e.kind === 'detection' ? [`${e.detection.kind} ${e.detection.signature} ${e.detection.path}`] : [],
      )
      .sort();
    assert.deepEqual(found, [
      `hash Test.Evil ${join(dir, 'evil')}`,
      `yara Needle ${join(dir, 'evil')}`,
      `yara Needle ${join(dir, 'needle')}`,
      `yara Tiny ${join(dir, 'clean')}`,
    ]);
    assert.deepEqual(
      events.flatMap((e) => (e.kind === 'skipped' ? [e.path] : [])),
      [join(dir, 'large')],
    );
    assert.equal(summary.files, 5);
    assert.equal(summary.detections, 4);
  });
});

describe('scanPaths with a YARA rule that runs away', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('vouch-scan-yara-slow-');
    // Slow loops 4*10^8 times on a file that starts with "S" and has no 0xFF byte.
    await writeFile(join(dir, 'a-slow'), `S${'x'.repeat(20_000)}`);
    await writeFile(join(dir, 'b-evil'), 'evil needle');
    await writeFile(join(dir, 'c-needle'), 'a needle');
  });
  after(() => removeDir(dir));
  const rules = new Map([
    [
      's.yar',
      toBytes(
        [
          'rule Slow { condition: uint8(0) == 0x53 and for any i in (0..400000000) : (uint8(i % filesize) == 0xFF) }',
          'rule Needle { strings: $a = "needle" condition: $a }',
        ].join('\n'),
      ),
    ],
  ]);
  const rows: { name: string; roots: () => string[]; found: () => string[]; exit: number }[] = [
    {
      name: 'the file that overruns is an error; the others are still matched',
      roots: () => [dir],
      found: () => [
        `hash Test.Evil ${join(dir, 'b-evil')}`,
        `yara Needle ${join(dir, 'b-evil')}`,
        `yara Needle ${join(dir, 'c-needle')}`,
      ],
      exit: 1,
    },
    { name: 'an overrun alone is exit code 2', roots: () => [join(dir, 'a-slow')], found: () => [], exit: 2 },
  ];
  for (const row of rows)
    test(row.name, async () => {
      const yara = await startYaraMatcher(rules);
      const events: ScanEvent[] = [];
      const started = performance.now();
      let summary: ScanSummary;
      try {
        summary = await scanPaths(
          makeDb([sig('evil needle', 11, 'Test.Evil')]),
          row.roots(),
          (e) => events.push(e),
          {
            limits: { ...defaultScanLimits, yaraTimeoutMs: 300 },
            yara,
          },
        );
      } finally {
        await yara.close();
      }
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 2000, `scan took ${elapsed} ms`);
      assert.deepEqual(
        events.flatMap((e) => (e.kind === 'error' ? [`${e.path}: ${e.message}`] : [])),
        [`${join(dir, 'a-slow')}: YARA matching timed out after 300 ms`],
      );
      const found = events
        .flatMap((e) =>
          e.kind === 'detection' ? [`${e.detection.kind} ${e.detection.signature} ${e.detection.path}`] : [],
        )
        .sort();
      assert.deepEqual(found, row.found());
      assert.equal(summary.errors, 1);
      assert.equal(scanExitCode(summary), row.exit);
    });
});

describe('scanPaths with a pool of YARA workers', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('vouch-scan-yara-pool-');
    // a-slow runs away (as above); the files after it finish first on the other worker.
    await writeFile(join(dir, 'a-slow'), `S${'x'.repeat(20_000)}`);
    await writeFile(join(dir, 'b-evil'), 'evil needle');
    await mkdir(join(dir, 'c'));
    await writeFile(join(dir, 'c', 'needle'), 'a needle');
    await symlink(join(dir, 'b-evil'), join(dir, 'c', 'link'));
    await writeFile(join(dir, 'c', 'plain'), 'plain');
    for (let i = 0; i < 12; i++) await writeFile(join(dir, `d-${String(i).padStart(2, '0')}`), `needle ${i}`);
  });
  after(() => removeDir(dir));
  const rules = new Map([
    [
      's.yar',
      toBytes(
        [
          'rule Slow { condition: uint8(0) == 0x53 and for any i in (0..400000000) : (uint8(i % filesize) == 0xFF) }',
          'rule Needle { strings: $a = "needle" condition: $a }',
          'rule Evil { strings: $a = "evil" condition: $a }',
        ].join('\n'),
      ),
    ],
  ]);
  const describeEvent = (e: ScanEvent) =>
    e.kind === 'detection'
      ? `${e.detection.path} ${e.detection.kind} ${e.detection.signature}`
      : `${e.path} ${e.kind} ${e.kind === 'error' ? e.message : e.reason}`;

  async function scanWith(workers: number, concurrency: number) {
    const yara = await startYaraMatcher(rules, { workers });
    const events: string[] = [];
    const progress: ScanSummary[] = [];
    try {
      const summary = await scanPaths(
        makeDb([sig('evil needle', 11, 'Test.Evil')]),
        [dir],
        (e) => events.push(describeEvent(e)),
        {
          limits: { ...defaultScanLimits, concurrency, yaraTimeoutMs: 1000 },
          yara,
          onProgress: (counts) => progress.push(counts),
        },
      );
      return { events, progress, summary };
    } finally {
      await yara.close();
    }
  }

  test('events come in walk order, whichever worker finishes first', async () => {
    const { events, summary } = await scanWith(2, 4);
    assert.deepEqual(events, [
      `${join(dir, 'a-slow')} error YARA matching timed out after 1000 ms`,
      `${join(dir, 'b-evil')} hash Test.Evil`,
      `${join(dir, 'b-evil')} yara Evil`,
      `${join(dir, 'b-evil')} yara Needle`,
      // A directory's files come before its subdirectories.
      ...Array.from({ length: 12 }, (_, i) => `${join(dir, `d-${String(i).padStart(2, '0')}`)} yara Needle`),
      `${join(dir, 'c', 'link')} skipped symbolic link (not followed)`,
      `${join(dir, 'c', 'needle')} yara Needle`,
    ]);
    assert.deepEqual(
      { ...summary, seconds: 0 },
      {
        files: 16,
        bytes: 20_001 + 11 + 8 + 5 + 10 * 8 + 2 * 9,
        detections: 16,
        errors: 1,
        skipped: 1,
        seconds: 0,
      },
    );
  });

  test('one worker and one file at a time give the same events', async () => {
    const pool = await scanWith(3, 8);
    const single = await scanWith(1, 1);
    assert.deepEqual(single.events, pool.events);
  });

  test('progress counts grow once per walk entry and end at the summary', async () => {
    const { progress, summary } = await scanWith(2, 4);
    // 16 files and one link.
    assert.equal(progress.length, 17);
    for (let i = 1; i < progress.length; i++) {
      const [a, b] = [progress[i - 1] as ScanSummary, progress[i] as ScanSummary];
      assert.ok(b.files >= a.files && b.bytes >= a.bytes && b.seconds >= a.seconds);
      assert.equal(b.files + b.skipped + b.errors - (a.files + a.skipped + a.errors) >= 1, true);
    }
    const last = progress.at(-1);
    assert.deepEqual({ ...last, seconds: 0 }, { ...summary, seconds: 0 });
  });
});
