import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { detection, type SiteData, sample, startSiteData } from '../../../test/support/site-data-fixture.ts';
import { isVouchError } from '../../core/errors.ts';
import { parseHashFiles } from '../../core/rules/source.ts';
import { parseLedgerEntry } from '../../core/sites/index.ts';
import {
  candidateName,
  formatCandidateFile,
  jobRegistration,
  registeredJobs,
  runDetectionStatistics,
  runSampleTriage,
  writeCandidateFile,
} from './jobs.ts';

const sites: SiteData[] = [];
after(async () => {
  for (const s of sites) await s.close();
});

async function site(options: Parameters<typeof startSiteData>[0] = {}): Promise<SiteData> {
  const s = await startSiteData(options);
  sites.push(s);
  return s;
}

test('the registered jobs are exactly the purposes the policy permits', () => {
  assert.deepEqual(
    registeredJobs.map((j) => j.purpose),
    ['detection-statistics', 'sample-triage'],
  );
  assert.throws(
    () => jobRegistration('exfiltrate'),
    (e) => isVouchError(e, 'not-found'),
  );
});

test('detection statistics count per signature and day, paging through ledgered reads', async () => {
  const s = await site();
  await s.addTenant({ id: 'acme', country: 'JP' });
  await s.ingest('acme', [
    detection('Win.Test.EICAR', '2025-03-01T08:00:00Z'),
    detection('Win.Test.EICAR', '2025-03-01T08:00:00Z'),
    detection('Win.Trojan.X', '2025-03-01T23:59:59Z'),
    detection('Win.Test.EICAR', '2025-03-02T00:00:00Z'),
    detection('Win.Test.EICAR', '2025-03-02T00:00:00Z'),
  ]);
  await s.ingest('acme', [sample('c'.repeat(64), 10, 'a.exe', '2025-03-01T08:00:00Z')]);
  const stats = await runDetectionStatistics(s.reads, 'acme', { pageSize: 2 });
  assert.deepEqual(stats.rows, [
    { day: '2025-03-01', signature: 'Win.Test.EICAR', count: 2 },
    { day: '2025-03-01', signature: 'Win.Trojan.X', count: 1 },
    { day: '2025-03-02', signature: 'Win.Test.EICAR', count: 2 },
  ]);
  assert.equal(stats.events, 5);
  assert.ok(stats.ledger.length >= 3, 'every page was a ledgered read');
  const page = await s.witnessed.ledger.entriesOf('acme', { limit: 100 });
  const entries = page.entries.map((e) => parseLedgerEntry(e.entry));
  assert.equal(entries.length, stats.ledger.length);
  for (const e of entries) {
    assert.equal(e.purpose, 'detection-statistics');
    assert.equal(e.action, 'process', 'a job is ledgered with the action the policy decided');
    assert.equal(e.decision, 'allow');
    assert.match(e.scope, /^telemetry:detection/);
  }
  const released = entries.reduce((n, e) => n + e.count, 0);
  assert.ok(released >= 5, 'events at a page boundary may be released twice, never missed');
});

test("jobs run only at the data's site: a neutral tenant's statistics are refused at ru-mow", async () => {
  const home = await site({ site: 'ru-mow', country: 'RU' });
  await home.addTenant({ id: 'acme', country: 'JP' });
  await home.ingest('acme', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  await assert.rejects(runDetectionStatistics(home.reads, 'acme'), (e) => isVouchError(e, 'policy-unmet'));
  await assert.rejects(runSampleTriage(home.reads, 'acme'), (e) => isVouchError(e, 'policy-unmet'));
});

test('sample triage writes candidate hash signatures the rules source parser accepts', async () => {
  const s = await site();
  await s.addTenant({ id: 'acme', country: 'JP' });
  const known = 'e'.repeat(64);
  await s.ingest('acme', [
    sample('b'.repeat(64), 2048, 'invoice.exe', '2025-03-01T08:00:00Z'),
    sample('a'.repeat(64), 100, 'evil; rm -rf /', '2025-03-01T08:01:00Z'),
    {
      ...sample('d'.repeat(64), 5, 'x', '2025-03-01T08:02:00Z'),
      fileType: 'application/x+zip',
    } as ReturnType<typeof sample>,
    sample('b'.repeat(64), 2048, 'copy.exe', '2025-03-01T08:03:00Z'),
    sample(known, 1, 'known.exe', '2025-03-01T08:04:00Z'),
    detection('Win.Test.EICAR', '2025-03-01T08:00:00Z'),
  ]);
  const triage = await runSampleTriage(s.reads, 'acme', { exclude: new Set([known]) });
  assert.deepEqual(triage.lines, [
    `${'a'.repeat(64)}:100:Vouch.Triage.pe32.aaaaaaaaaaaaaaaa`,
    `${'b'.repeat(64)}:2048:Vouch.Triage.pe32.bbbbbbbbbbbbbbbb`,
    `${'d'.repeat(64)}:5:Vouch.Triage.application_x_zip.dddddddddddddddd`,
  ]);
  assert.equal(triage.samples, 5);
  assert.equal(triage.skipped, 2);
  const dir = mkdtempSync(join(tmpdir(), 'vouch-triage-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'triage-acme.hsb');
  await writeCandidateFile(
    path,
    formatCandidateFile(triage, { site: 'ch-zrh', time: '2025-03-01T09:00:00Z' }),
  );
  const parsed = parseHashFiles([{ file: 'triage-acme.hsb', bytes: new Uint8Array(readFileSync(path)) }]);
  assert.equal(parsed.length, 3);
  const [entry] = (await s.witnessed.ledger.entriesOf('acme', { limit: 10 })).entries.map((e) =>
    parseLedgerEntry(e.entry),
  );
  assert.equal(entry?.purpose, 'sample-triage');
  assert.equal(entry?.action, 'process');
  assert.equal(entry?.scope, 'telemetry:sample');
  assert.equal(entry?.count, 5);
});

test('candidate names never carry agent text', () => {
  assert.equal(
    candidateName({ sha256: 'f'.repeat(64), fileType: 'elf/x86_64' }),
    'Vouch.Triage.elf_x86_64.ffffffffffffffff',
  );
});
