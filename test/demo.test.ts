/**
 * The README's main command keeps working: `vouch demo --dir D` runs every step with the real CLI
 * and servers and exits 0 only when each step behaved as shown (refusals included: a step
 * expected to fail must fail). Its narration shows one numbered line per step and a summary; the
 * transcript (D/demo.log) shows the facts: the witnesses' refusal of a forged history, the
 * release conveyer, the rule databases (v1 detecting EICAR, v2 by delta, an unapproved v3
 * refused), the agents of the Japanese and Brazilian tenants reporting to their own sites (a
 * 421 from the wrong one), staff access under policy and the customer's approval, and the
 * supervisor's audit, which must pass. It leaves D/vouch.yaml for `vouch serve`, whose
 * dashboard then verifies the whole world with the page's own verification code.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toBytes } from '../src/core/bytes/index.ts';
import { parseServeConfig } from '../src/core/config/serve-config.ts';
import { startServe } from '../src/faces/cli/commands/serve.ts';
import { processIo } from '../src/faces/cli/main.ts';
import {
  decodeLedgerEntry,
  decodeReleaseEntry,
  httpReader,
  loadIndex,
  offeredAnchors,
  openLog,
  openReport,
  openRepository,
  openSiteRegistry,
  proveEntry,
  type WorldIndex,
} from '../src/faces/dashboard/world.ts';

// The demo takes about a minute on an idle 2-core machine and longer when the machine is shared.
test('vouch demo runs from start to end, and its world shows verified on the dashboard', {
  timeout: 300_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-demo-test-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.DATABASE_URL;
    const vouchJs = join(import.meta.dirname, '..', 'bin', 'vouch.js');
    // A folder that holds something else is never cleared.
    writeFileSync(join(dir, 'precious.txt'), 'not the demo\n');
    const refused = spawnSync(process.execPath, [vouchJs, 'demo', '--dir', dir], { encoding: 'utf8', env });
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /is not empty and holds no previous demo/);
    assert.equal(readFileSync(join(dir, 'precious.txt'), 'utf8'), 'not the demo\n');
    rmSync(join(dir, 'precious.txt'));
    const r = spawnSync(process.execPath, [vouchJs, 'demo', '--dir', dir], {
      encoding: 'utf8',
      timeout: 280_000,
      env,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);

    // The narration: one numbered line per step, each with its check and time, then the summary.
    const steps = r.stdout.match(/^\[ ?\d+\/\d+\] .* \.\.\. ok .* \(\d+\.\d s\)$/gm) ?? [];
    const total = Number(/^\[ ?1\/(\d+)\]/m.exec(r.stdout)?.[1]);
    assert.ok(total >= 18, r.stdout);
    assert.equal(steps.length, total, r.stdout);
    assert.match(r.stdout, /The supervisor rebuilds the product in its own sandbox \.\.\. ok match \(/);
    assert.match(
      r.stdout,
      /A coerced operator forges .* ok both witnesses answer 409; the monitor reports the fork/,
    );
    assert.match(r.stdout, /Agents in Japan and Brazil .* ok installed; reports taken by ch-zrh and ru-mow/);
    assert.match(
      r.stdout,
      /ok ru-mow answers 421 to the Japanese batch; stored at ch-zrh \(\d+ events\) and ru-mow/,
    );
    assert.match(
      r.stdout,
      /ok approved by the customer; ch-zrh holds the Japanese agent's [1-9]\d* update reports/,
    );
    assert.match(r.stdout, /ok ru-mow holds the Brazilian agent's [1-9]\d* update reports/);
    assert.match(r.stdout, /ok publish refused; the rogue mirror's copy refused \(attack: threshold\)/);
    assert.match(r.stdout, /^Done in \d+ s\. What was shown:$/m);
    assert.match(r.stdout, /release log: +\d+ entries/);
    assert.match(r.stdout, /releases: +3 published \(hello 1\.0\.0, rules-demo 1, rules-demo 2\)/);
    assert.match(r.stdout, /rule versions: +2 /);
    assert.match(r.stdout, /sites: +2 \(ch-zrh, ru-mow\)/);
    assert.match(r.stdout, /ledger entries: ch-zrh 2, ru-mow 1/);
    assert.match(r.stdout, /audit: +passed: every promise held/);
    assert.ok(r.stdout.includes(join(dir, 'audit', 'report', 'report.html')));
    assert.ok(r.stdout.includes(join(dir, 'demo.log')));
    assert.ok(r.stdout.includes(`vouch serve --config ${join(dir, 'vouch.yaml')}`));

    // The transcript holds every command and its output.
    const log = readFileSync(join(dir, 'demo.log'), 'utf8');
    assert.match(log, /"cosigners":\["w1","w2"\],"ok":true/);
    assert.match(log, /witness w1 answers 409/);
    assert.match(log, /witness w2 answers 409/);
    assert.match(log, /"event":"fork"/);
    // The release: the vendor alone cannot publish, the approver signs, the agents install, and
    // check again with two requests; the sabotaged build's rebuild mismatches and is refused.
    assert.match(log, /installed: +product-hello 1\.0\.0 \[new\]/);
    assert.match(log, /unchanged, \d+ ms, 2 requests/);
    // Rule databases: v1 built by the conveyer, installed, and the scanner finds EICAR with it;
    // v2 arrives as a delta; v3, signed by the vendor alone, is refused by the repository and,
    // served by a rogue mirror holding the online keys, by a fresh agent naming the attack.
    assert.match(log, /staged rules\/demo\/demo-1\.vdb /);
    assert.match(log, /approved rules\/demo\/demo-1\.vdb \(VSA /);
    assert.match(log, /installed: +rules-demo 1 \[new\]/);
    assert.match(log, /"path":"samples\/eicar\.com","kind":"hash","signature":"Eicar-Test-Signature"/);
    assert.match(log, /installed: +rules-demo 2 \(previous 1\) \[new\]/);
    assert.match(log, /rules-demo 2 installed via delta from 1: the \d+-byte delta was fetched/);
    assert.match(log, /targets version \d+ has 1 of the 2 signatures it needs; missing: approver/);
    assert.match(log, /error: +threshold: targets has 1\/2 valid signatures[^\n]*\[attack: threshold\]/);
    assert.match(log, /differs share\/stamp\.txt/);
    assert.match(log, /rebuilds check failed \(rebuild\)/);
    // Residency: each agent's update reports were taken by its tenant's site; the Japanese batch
    // sent to ru-mow is refused with 421 naming ch-zrh, then stored there; staff in Russia are
    // denied by the forbid policy; the exports read back what each agent reported; the
    // customer's access record verifies offline against the 2-of-2 witness policy.
    assert.ok((log.match(/^report: +sent at /gm) ?? []).length >= 2);
    assert.match(log, /\(ru-mow\) -> 421 [^\n]*"site":"ch-zrh"/);
    assert.match(log, /\(ch-zrh\) -> 200 [^\n]*"status":"stored","count":\d+/);
    assert.match(log, /\(ru-mow\) -> 200 [^\n]*"status":"stored","count":\d+/);
    assert.match(
      log,
      /export of tenant sakura-kk.s data at ch-zrh is denied: forbid: neutral-staff-located-in-ch/,
    );
    assert.equal(existsSync(join(dir, 'denied.jsonl')), false);
    assert.match(log, /\tallow\tperson heidi \(privacy-officer, in CH\)\tcustomer-export\t/);
    assert.match(
      log,
      /sakura\.jsonl: \d+ events of sakura-kk at ch-zrh: [1-9]\d* update reports, [1-9]\d* detections?/,
    );
    assert.match(
      log,
      /ipe\.jsonl: \d+ events of ipe-ltda at ru-mow: [1-9]\d* update reports, [1-9]\d* detections?/,
    );
    assert.match(
      log,
      /verified 2 entries of tenant sakura-kk in ledger\.ch-zrh\.vouch\.example, cosigned by w1, w2/,
    );
    // The supervisor's audit passes on the demo's world and writes its report.
    assert.match(
      log,
      /audit passed: every promise held \(release log at size \d+, ledger ch-zrh at size 2, ledger ru-mow at size 1\)/,
    );
    assert.match(readFileSync(join(dir, 'audit', 'report', 'report.html'), 'utf8'), /Every promise held/);
    assert.ok(existsSync(join(dir, 'audit', 'report', 'report.dsse.json')));

    // The configuration for `vouch serve`, with paths relative to the data folder.
    const yaml = readFileSync(join(dir, 'vouch.yaml'), 'utf8');
    assert.match(
      yaml,
      /^listen: 127\.0\.0\.1:8080\nlog:\n {2}dir: log\nrepository:\n {2}dir: repo\nsite:\n {2}dir: ch\n/,
    );
    assert.match(
      yaml,
      /\ndashboard:\n {2}audit_config: audit\/audit\.json\n {2}reports: audit\/report\n {2}registry: ch\/registry\.json\n {2}registry_vkey: site-registry\.vouch\.example\+[0-9a-f]{8}\+\S+\n {2}auditor_vkey: auditor\.supervisor\.example\+[0-9a-f]{8}\+\S+\n$/,
    );

    // `vouch serve` of that configuration (as npm start runs it) shows the world, and the
    // dashboard's own verification code finds every part of it sound.
    const config = parseServeConfig(toBytes(yaml), 'vouch.yaml');
    const quiet = { ...processIo(), stderr: () => undefined };
    const served = await startServe(
      { ...config, listen: { host: '127.0.0.1', port: 0 } },
      { baseDir: dir, io: quiet },
    );
    try {
      const url = new URL(`${served.url}/dashboard/`);
      const read = httpReader(url);
      const index = await loadIndex(read);
      const anchors = offeredAnchors(index);
      const log = await openLog(
        'release log',
        url,
        index.releaseLog?.base ?? '',
        anchors.releaseLog ?? '',
        decodeReleaseEntry,
      );
      assert.deepEqual(
        log.cosigners.map((c) => c.witness),
        ['w1', 'w2'],
      );
      const proof = await proveEntry(log, log.checkpoint.size - 1n);
      assert.ok(proof.check.ok, JSON.stringify(proof.check));
      assert.ok(index.repository !== undefined);
      const repo = await openRepository(read, url, index.repository, anchors);
      assert.deepEqual(
        repo.releases.filter((r) => r.evidence !== undefined && !r.evidence.ok).map((r) => r.path),
        [],
      );
      assert.deepEqual(
        repo.releases.map((r) => `${r.kind} ${r.name} ${r.version}`),
        ['product hello 1.0.0', 'rules-delta demo 2', 'rules demo 1', 'rules demo 2'],
      );
      for (const site of index.sites ?? []) {
        const ledger = await openLog(
          site.site,
          url,
          site.ledger,
          anchors.sites[site.site] ?? '',
          decodeLedgerEntry,
        );
        assert.ok(ledger.entries.length >= 1, site.site);
      }
      const registry = await openSiteRegistry(read, index.registry ?? '', anchors.registryVkey);
      assert.ok(registry.check.ok);
      const report = await openReport(
        read,
        index.reports[0] as WorldIndex['reports'][number],
        anchors.auditorVkey,
      );
      assert.ok(report.signature.ok);
      assert.equal(report.result, 'PASSED');
    } finally {
      await served.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
