import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ProcessLock } from './process-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'vouch-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('process lock: one holder in a process, free again once released', () => {
  const path = join(dir, 'a.lock');
  const [one, two] = [new ProcessLock(path), new ProcessLock(path)];
  assert.equal(one.tryAcquire(), true);
  assert.equal(one.tryAcquire(), true, 'idempotent for the holder');
  assert.equal(two.tryAcquire(), false);
  one.release();
  assert.equal(two.tryAcquire(), true);
  two.release();
});

test('process lock: a SIGKILLed holder in another process frees the lock at once', async () => {
  const path = join(dir, 'b.lock');
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { ProcessLock } from ${JSON.stringify(new URL('./process-lock.ts', import.meta.url).href)};
       const lock = new ProcessLock(${JSON.stringify(path)});
       console.log(lock.tryAcquire() ? 'held' : 'busy');
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const first = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  assert.equal(first, 'held');
  const mine = new ProcessLock(path);
  assert.equal(mine.tryAcquire(), false, 'held by the child');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(mine.tryAcquire(), true, 'released by the operating system');
  mine.release();
});
