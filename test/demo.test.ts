/**
 * The README's main command keeps working: `npm run demo` (scripts/quickstart.ts) runs every step
 * with the real CLI and servers and exits 0 only when each step behaved as shown (refusals
 * included: a step expected to fail must fail).
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
    // The release: the vendor alone cannot publish, the approver signs, the agent installs, and
    // checks again with two requests; the sabotaged build's rebuild mismatches and is refused.
    assert.match(r.stdout, /installed: +product-hello 1\.0\.0 \[new\]/);
    assert.match(r.stdout, /unchanged, \d+ ms, 2 requests/);
    assert.match(r.stdout, /differs share\/stamp\.txt/);
    assert.match(r.stdout, /rebuilds check failed \(rebuild\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
