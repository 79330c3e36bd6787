import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { detection, type SiteData, sample, startSiteData } from '../../../test/support/site-data-fixture.ts';
import { isVouchError } from '../../core/errors.ts';
import type { AccessAction } from '../../core/sites/access.ts';
import {
  formatAccessRequest,
  formatTelemetryEvent,
  formatTime,
  newAccessRequest,
  parseLedgerEntry,
  type TelemetryEvent,
} from '../../core/sites/index.ts';
import { signApproval } from './access.ts';
import { eraseTenant, exportTenantToFile, type OfficerRequest } from './export.ts';
import type { StaffReader } from './reads.ts';

let s: SiteData;
let dir: string;
let approver: Awaited<ReturnType<SiteData['addTenant']>>['approver'];
const events: TelemetryEvent[] = [
  detection('Win.Test.EICAR', '2025-03-01T08:00:00Z'),
  sample('b'.repeat(64), 10, 'a.exe', '2025-03-01T08:00:01Z'),
];

const officer: StaffReader = {
  kind: 'person',
  id: 'olga',
  employer: 'Vouch AG',
  officeCountry: 'CH',
  physicalCountry: 'CH',
  role: 'privacy-officer',
};

before(async () => {
  s = await startSiteData();
  ({ approver } = await s.addTenant({ id: 'acme', country: 'JP', approvalRequired: true }));
  await s.addTenant({ id: 'opentech', country: 'US', approvalRequired: false });
  await s.ingest('acme', events);
  await s.ingest('opentech', events);
  dir = mkdtempSync(join(tmpdir(), 'vouch-export-'));
});
after(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function approvedRequest(
  tenant: string,
  purpose: string,
  action: AccessAction = purpose === 'customer-erasure' ? 'erase' : 'export',
): Promise<OfficerRequest> {
  const request = newAccessRequest({
    id: `${purpose}-${action}-request-0001`,
    tenant,
    requester: { ...officer },
    action,
    purpose,
    justification: 'customer asked for its data',
    ticket: 'DPO-7',
    scope: 'telemetry',
    requested: formatTime(s.clock),
  });
  const approval = await signApproval(formatAccessRequest(request), approver);
  return {
    officer,
    tenant,
    purpose,
    justification: 'customer asked for its data',
    ticket: 'DPO-7',
    grant: { request, approval },
  };
}

test('a privacy officer exports a tenant with its approval: JSON lines of the decrypted events, 0600, ledgered', async () => {
  const out = join(dir, 'acme.jsonl');
  const result = await exportTenantToFile(s.reads, await approvedRequest('acme', 'customer-export'), out);
  assert.equal(result.events, 2);
  const lines = readFileSync(out, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: unknown; kind: string });
  assert.deepEqual(
    lines.map((l) => JSON.stringify(l.event)),
    events.map((e) => new TextDecoder().decode(formatTelemetryEvent(e))),
  );
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const entries = (await s.witnessed.ledger.entriesOf('acme', { limit: 10 })).entries.map((e) =>
    parseLedgerEntry(e.entry),
  );
  assert.deepEqual(
    entries.map((e) => [e.purpose, e.action, e.decision, e.count]),
    [['customer-export', 'export', 'allow', 2]],
  );
  await assert.rejects(
    exportTenantToFile(s.reads, await approvedRequest('acme', 'customer-export'), out),
    (e) => isVouchError(e, 'invalid-argument'),
    'an export never overwrites',
  );
});

test('export is refused to other roles and without the approval the contract requires; nothing is written', async () => {
  const base = await approvedRequest('acme', 'customer-export');
  const cases: [string, OfficerRequest][] = [
    ['support engineer', { ...base, officer: { ...officer, role: 'support' }, grant: undefined }],
    ['no approval', { ...base, grant: undefined }],
    ['officer abroad', { ...base, officer: { ...officer, physicalCountry: 'US' } }],
  ];
  for (const [name, request] of cases) {
    const out = join(dir, `denied-${name.replace(/ /g, '-')}.jsonl`);
    await assert.rejects(
      exportTenantToFile(s.reads, request, out),
      (e) => isVouchError(e, 'policy-unmet'),
      name,
    );
    assert.equal(existsSync(out), false, name);
  }
});

test('erasure is ledgered, destroys the key, and afterwards reads fail with a clear error', async () => {
  await assert.rejects(
    eraseTenant(
      s.reads,
      s.store,
      { officer: { ...officer, role: 'support' }, tenant: 'opentech', justification: 'x', ticket: 'T-1' },
      () => s.clock,
    ),
    (e) => isVouchError(e, 'policy-unmet'),
  );
  assert.equal(await s.store.countEvents('opentech'), 2, 'a denied erasure erases nothing');

  const erased = await eraseTenant(
    s.reads,
    s.store,
    { officer, tenant: 'opentech', justification: 'contract ended', ticket: 'DPO-9' },
    () => s.clock,
  );
  assert.equal(erased.events, 2);
  assert.equal(erased.erasedAt, formatTime(s.clock));
  const entry = parseLedgerEntry(erased.receipt.entry);
  assert.deepEqual(
    [entry.purpose, entry.action, entry.decision, entry.count],
    ['customer-erasure', 'erase', 'allow', 2],
  );
  const stored = await s.store.getTenant('opentech');
  assert.equal(stored?.wrappedKey, undefined);
  assert.equal(await s.store.countEvents('opentech'), 0);

  const out = join(dir, 'opentech.jsonl');
  await assert.rejects(
    exportTenantToFile(
      s.reads,
      { officer, tenant: 'opentech', justification: 'again', ticket: 'DPO-10' },
      out,
    ),
    (e) => isVouchError(e, 'not-found') && /erased at/.test((e as Error).message),
  );
  assert.equal(existsSync(out), false);
  await assert.rejects(
    eraseTenant(
      s.reads,
      s.store,
      { officer, tenant: 'opentech', justification: 'again', ticket: 'DPO-11' },
      () => s.clock,
    ),
    (e) => isVouchError(e, 'not-found'),
  );
});

test('an approval opens only the action the customer signed: a read or an export never erases', async () => {
  const last = async (): Promise<ReturnType<typeof parseLedgerEntry> | undefined> => {
    const page = await s.witnessed.ledger.entriesOf('acme', { limit: 100 });
    const bytes = page.entries[page.entries.length - 1]?.entry;
    return bytes === undefined ? undefined : parseLedgerEntry(bytes);
  };
  // The review's proof of concept: a customer approved a read ("access"), the officer erases.
  const cases: [string, OfficerRequest, 'erase' | 'export'][] = [
    ['a read approval used to erase', await approvedRequest('acme', 'incident-review', 'access'), 'erase'],
    [
      'an export approval used to erase',
      await approvedRequest('acme', 'customer-erasure', 'export'),
      'erase',
    ],
    [
      'an erasure approval used to export',
      await approvedRequest('acme', 'customer-export', 'erase'),
      'export',
    ],
    ['a read approval used to export', await approvedRequest('acme', 'customer-export', 'access'), 'export'],
  ];
  for (const [name, request, action] of cases) {
    const out = join(dir, `mismatch-${name.replace(/ /g, '-')}.jsonl`);
    await assert.rejects(
      action === 'erase'
        ? eraseTenant(s.reads, s.store, request, () => s.clock)
        : exportTenantToFile(s.reads, request, out),
      (e) => isVouchError(e, 'policy-unmet'),
      name,
    );
    const entry = await last();
    assert.deepEqual([entry?.action, entry?.decision, entry?.count], [action, 'deny', 0], name);
    const allowed = request.grant?.request.action ?? '';
    assert.ok(
      entry?.reasons.includes(`grant: the grant allows ${allowed}, not ${action}`),
      `${name}: ${entry?.reasons.join(' | ')}`,
    );
    assert.equal(existsSync(out), false, name);
  }
  assert.notEqual((await s.store.getTenant('acme'))?.wrappedKey, undefined, 'nothing was erased');
  assert.equal(await s.store.countEvents('acme'), 2);

  // The approval the customer gave for exactly this erasure erases.
  const erased = await eraseTenant(
    s.reads,
    s.store,
    await approvedRequest('acme', 'customer-erasure', 'erase'),
    () => s.clock,
  );
  assert.equal(erased.events, 2);
  assert.deepEqual(
    [parseLedgerEntry(erased.receipt.entry).action, parseLedgerEntry(erased.receipt.entry).decision],
    ['erase', 'allow'],
  );
  assert.equal((await s.store.getTenant('acme'))?.wrappedKey, undefined);
});
