/**
 * The demo's last chapter: the supervisor's audit over the whole world — the release log and both
 * access ledgers (consistency, witness quorum), the repository (every version logged, approved,
 * rebuilt) and every ledger entry replayed against the Cedar policy — which writes a signed
 * report and an HTML page (docs/audit.md). The audit configuration is the one the dashboard
 * reads too (audit/audit.json).
 */

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTenantRecord } from '../../../core/sites/index.ts';
import { parseTenantDirectory } from '../../../services/site/config.ts';
import { type Demo, vouchRoot } from './runner.ts';
import type { Step, World } from './world.ts';

async function audit(demo: Demo, world: World): Promise<string> {
  demo.say("The supervisor's audit: every log, every release and every access, against every promise");
  mkdirSync(demo.path('audit'), { recursive: true });
  writeFileSync(demo.path('audit', 'release-log.policy'), world.logPolicy);
  const sites = world.sites.map(({ site, folder, ledgerVkey, policy }) => {
    // The tenant records each site hosts, one `<tenant>.json` each, as the audit reads them.
    const tenantsDir = demo.path('audit', 'tenants', site);
    mkdirSync(tenantsDir, { recursive: true });
    const directory = parseTenantDirectory(new Uint8Array(readFileSync(demo.path(folder, 'tenants.json'))));
    for (const record of directory.tenants) {
      if (record.site === site)
        writeFileSync(join(tenantsDir, `${record.id}.json`), formatTenantRecord(record));
    }
    mkdirSync(demo.path('audit', 'approvals', site), { recursive: true });
    return {
      site,
      ledger: `../${folder}/ledger/tiles`,
      vkey: ledgerVkey,
      witnessPolicy: `../${policy}`,
      tenants: `tenants/${site}`,
      approvals: `approvals/${site}`,
    };
  });
  // The customers' approvals, named by their SHA-256, as the ledger entries cite them.
  for (const file of world.approvals) {
    const bytes = readFileSync(demo.path(file));
    const digest = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(demo.path('audit', 'approvals', 'ch-zrh', `${digest}.json`), bytes);
  }
  const config = {
    releaseLog: { location: '../log/tiles', policy: 'release-log.policy' },
    repository: { location: '../repo/public', name: 'vouch-demo', releasePolicy: '../release-policy.json' },
    sites,
    policy: join(vouchRoot, 'policies'),
    auditorKey: '../auditor.key',
  };
  const text = `${JSON.stringify(config, null, 2)}\n`;
  writeFileSync(demo.path('audit', 'audit.json'), text);
  demo.log(text);
  const out = await demo.vouch([
    'audit',
    '--config',
    'audit/audit.json',
    '--state',
    'audit/state',
    '--out',
    'audit/report',
  ]);
  world.audit =
    demo.expect(out, /^audit passed: every promise held \(([^)]*)\)/m, 'the audit did not pass')[1] ?? '';
  demo.log(
    `  the signed report: ${demo.path('audit', 'report', 'report.dsse.json')}\n  the page: ${demo.path('audit', 'report', 'report.html')}\n`,
  );
  return 'every promise held; signed report written';
}

/** auditStep is the supervisor's audit. */
export const auditStep: Step = {
  title: "The supervisor's audit checks every log, release and access",
  run: audit,
};
