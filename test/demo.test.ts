/**
 * The README's main command keeps working: `npm run demo` (scripts/quickstart.ts) runs every step
 * with the real CLI and servers and exits 0 only when each step behaved as shown.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

test('npm run demo runs from start to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-demo-test-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.DATABASE_URL;
    const r = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '..', 'scripts', 'quickstart.ts'), '--dir', dir],
      {
        encoding: 'utf8',
        timeout: 120_000,
        env,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"cosigners":\["w1","w2"\],"ok":true/);
    assert.match(r.stdout, /witness w1 answers 409/);
    assert.match(r.stdout, /witness w2 answers 409/);
    assert.match(r.stdout, /"event":"fork"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
