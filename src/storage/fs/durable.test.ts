import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DurableStep, mkdirDurable, writeFileDurable } from './durable.ts';

let root = '';
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vouch-durable-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** freshDir returns a new empty directory for one case. */
async function freshDir(): Promise<string> {
  const dir = join(root, `case-${counter++}`);
  await mkdirDurable(dir);
  return dir;
}

const text = (bytes: Buffer | undefined) => bytes?.toString('utf8');

async function readOrUndefined(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
}

const newBytes = new TextEncoder().encode('new content\n');

test('writes a new file and replaces an existing one', async () => {
  const dir = await freshDir();
  const path = join(dir, 'state');
  await writeFileDurable(path, newBytes);
  assert.equal(text(await readFile(path)), 'new content\n');
  await writeFileDurable(path, new TextEncoder().encode('second'));
  assert.equal(text(await readFile(path)), 'second');
  await writeFileDurable(path, new Uint8Array(0));
  assert.equal((await readFile(path)).length, 0);
  assert.deepEqual(await readdir(dir), ['state']);
});

test('writes large contents completely', async () => {
  const dir = await freshDir();
  const big = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => i % 251);
  await writeFileDurable(join(dir, 'big'), big);
  assert.deepEqual(new Uint8Array(await readFile(join(dir, 'big'))), big);
});

test('exclusive creates a missing file and refuses an existing one, leaving it untouched', async () => {
  const dir = await freshDir();
  const path = join(dir, 'key');
  await writeFileDurable(path, newBytes, { exclusive: true });
  assert.equal(text(await readFile(path)), 'new content\n');
  await assert.rejects(writeFileDurable(path, new TextEncoder().encode('other'), { exclusive: true }), {
    code: 'EEXIST',
  });
  assert.equal(text(await readFile(path)), 'new content\n');
  assert.deepEqual(await readdir(dir), ['key']);
});

test('mode is applied exactly, whatever the umask', async () => {
  const dir = await freshDir();
  const saved = process.umask(0o077);
  try {
    for (const mode of [0o600, 0o640, 0o644, 0o400]) {
      const path = join(dir, `m${mode.toString(8)}`);
      await writeFileDurable(path, newBytes, { mode, exclusive: true });
      assert.equal((await stat(path)).mode & 0o777, mode, mode.toString(8));
    }
    // Replacing an existing file gives it the new mode too.
    const path = join(dir, 'replaced');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeFileDurable(path, newBytes, { mode: 0o600 });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  } finally {
    process.umask(saved);
  }
});

test('a failure at any step leaves no temporary file and never a partial target', async () => {
  const steps: { step: DurableStep; exclusive: boolean; published: boolean }[] = [
    { step: 'create-temp', exclusive: false, published: false },
    { step: 'write', exclusive: false, published: false },
    { step: 'sync', exclusive: false, published: false },
    { step: 'close', exclusive: false, published: false },
    { step: 'publish', exclusive: false, published: true },
    { step: 'sync-directory', exclusive: false, published: true },
    { step: 'create-temp', exclusive: true, published: false },
    { step: 'write', exclusive: true, published: false },
    { step: 'sync', exclusive: true, published: false },
    { step: 'close', exclusive: true, published: false },
    { step: 'publish', exclusive: true, published: true },
    { step: 'remove-temp', exclusive: true, published: true },
    { step: 'sync-directory', exclusive: true, published: true },
  ];
  for (const row of steps) {
    const name = `${row.step}${row.exclusive ? ' (exclusive)' : ''}`;
    const dir = await freshDir();
    const path = join(dir, 'target');
    // Replacing an old file, or (exclusive) creating a new one.
    if (!row.exclusive) await writeFile(path, 'old content');
    const seen: DurableStep[] = [];
    await assert.rejects(
      writeFileDurable(path, newBytes, {
        mode: 0o600,
        exclusive: row.exclusive,
        testingOnlyAfterStep: (step) => {
          seen.push(step);
          if (step === row.step) throw new Error(`injected failure after ${step}`);
        },
      }),
      /injected failure/,
      name,
    );
    assert.equal(seen.at(-1), row.step, name);
    assert.deepEqual(await readdir(dir), row.exclusive && !row.published ? [] : ['target'], name);
    const expected = row.published ? 'new content\n' : row.exclusive ? undefined : 'old content';
    assert.equal(text(await readOrUndefined(path)), expected, name);
  }
});

test('steps run in the documented order', async () => {
  const dir = await freshDir();
  for (const [exclusive, order] of [
    [false, ['create-temp', 'write', 'sync', 'close', 'publish', 'sync-directory']],
    [true, ['create-temp', 'write', 'sync', 'close', 'publish', 'remove-temp', 'sync-directory']],
  ] as const) {
    const seen: DurableStep[] = [];
    await writeFileDurable(join(dir, `f${String(exclusive)}`), newBytes, {
      exclusive,
      testingOnlyAfterStep: (step) => void seen.push(step),
    });
    assert.deepEqual(seen, order);
  }
});

test('real system failures clean up too', async () => {
  const dir = await freshDir();
  // The target is a non-empty directory: rename fails after the temporary file was written.
  await mkdirDurable(join(dir, 'occupied', 'child'));
  await assert.rejects(writeFileDurable(join(dir, 'occupied'), newBytes), (error: unknown) => {
    assert.match(String((error as { code?: unknown }).code), /^E(ISDIR|NOTEMPTY|EXIST)$/);
    return true;
  });
  assert.deepEqual(await readdir(dir), ['occupied']);
  assert.deepEqual(await readdir(join(dir, 'occupied')), ['child']);
  // A missing directory: nothing is created.
  await assert.rejects(writeFileDurable(join(dir, 'missing', 'file'), newBytes), { code: 'ENOENT' });
  assert.deepEqual(await readdir(dir), ['occupied']);
});

test('mkdirDurable creates nested directories and accepts existing ones', async () => {
  const dir = await freshDir();
  const nested = join(dir, 'a', 'b', 'c');
  await mkdirDurable(nested);
  assert.ok((await stat(nested)).isDirectory());
  await mkdirDurable(nested);
  await mkdirDurable(dir);
  await writeFile(join(dir, 'file'), '');
  await assert.rejects(mkdirDurable(join(dir, 'file')), { code: 'EEXIST' });
});
