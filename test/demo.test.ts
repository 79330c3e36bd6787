/**
 * The README's main command keeps working: `npm run demo` (scripts/quickstart.ts) runs every step
 * with the real CLI and servers and exits 0 only when each step behaved as shown (refusals
 * included: a step expected to fail must fail), through the rule databases (v1 detecting EICAR,
 * v2 by delta, an unapproved v3 refused), the residency chapter (421, a denial
 * in Russia, the customer's offline check) and the supervisor's audit, which must pass.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// The demo takes ~40 s on an idle 2-core machine and over a minute when the machine is shared.
test('npm run demo runs from start to end', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-demo-test-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.DATABASE_URL;
    const r = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '..', 'scripts', 'quickstart.ts'), '--dir', dir],
      {
        encoding: 'utf8',
        timeout: 280_000,
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
    // Rule databases: v1 built by the conveyer, installed, and the scanner finds EICAR with it;
    // v2 arrives as a delta; v3, signed by the vendor alone, is refused by the repository and,
    // served by a rogue mirror holding the online keys, by a fresh agent naming the attack.
    assert.match(r.stdout, /staged rules\/demo\/demo-1\.vdb /);
    assert.match(r.stdout, /approved rules\/demo\/demo-1\.vdb \(VSA /);
    assert.match(r.stdout, /installed: +rules-demo 1 \[new\]/);
    assert.match(r.stdout, /"path":"samples\/eicar\.com","kind":"hash","signature":"Eicar-Test-Signature"/);
    assert.match(r.stdout, /installed: +rules-demo 2 \(previous 1\) \[new\]/);
    assert.match(r.stdout, /rules-demo 2 installed via delta from 1: the \d+-byte delta was fetched/);
    assert.match(r.stdout, /targets version \d+ has 1 of the 2 signatures it needs; missing: approver/);
    assert.match(r.stdout, /error: +threshold: targets has 1\/2 valid signatures[^\n]*\[attack: threshold\]/);
    assert.match(r.stdout, /differs share\/stamp\.txt/);
    assert.match(r.stdout, /rebuilds check failed \(rebuild\)/);
    // Residency: the Japanese batch sent to ru-mow is refused with 421 naming ch-zrh, then
    // stored there; staff in Russia are denied by the forbid policy; the customer's access
    // record verifies offline against the 2-of-2 witness policy.
    assert.match(r.stdout, /\(ru-mow\) -> 421 [^\n]*"site":"ch-zrh"/);
    assert.match(r.stdout, /\(ch-zrh\) -> 200 [^\n]*"status":"stored","count":3/);
    assert.match(r.stdout, /\(ru-mow\) -> 200 [^\n]*"status":"stored","count":3/);
    assert.match(
      r.stdout,
      /export of tenant sakura-kk.s data at ch-zrh is denied: forbid: neutral-staff-located-in-ch/,
    );
    assert.equal(existsSync(join(dir, 'denied.jsonl')), false);
    assert.match(r.stdout, /\tallow\tperson heidi \(privacy-officer, in CH\)\tcustomer-export\t/);
    assert.match(
      r.stdout,
      /verified 2 entries of tenant sakura-kk in ledger\.ch-zrh\.vouch\.example, cosigned by w1, w2/,
    );
    // The supervisor's audit passes on the demo's world and writes its report.
    assert.match(
      r.stdout,
      /audit passed: every promise held \(release log at size \d+, ledger ch-zrh at size 2, ledger ru-mow at size 1\)/,
    );
    assert.match(readFileSync(join(dir, 'audit', 'report', 'report.html'), 'utf8'), /Every promise held/);
    assert.ok(existsSync(join(dir, 'audit', 'report', 'report.dsse.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
