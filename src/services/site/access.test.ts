import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { detection, type SiteData, startSiteData } from '../../../test/support/site-data-fixture.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { type CountryCode, formatTime, parseLedgerEntry } from '../../core/sites/index.ts';
import { StaffAccess, signApproval } from './access.ts';
import type { StaffReader } from './reads.ts';

let s: SiteData;
let staff: StaffAccess;
let approver: ReturnType<typeof createSigner>;
let n = 0;

const alice: StaffReader = {
  kind: 'person',
  id: 'alice',
  employer: 'Vouch AG',
  officeCountry: 'CH',
  physicalCountry: 'CH',
  role: 'support',
};

before(async () => {
  s = await startSiteData();
  ({ approver } = await s.addTenant({ id: 'acme', country: 'JP', approvalRequired: true }));
  await s.ingest('acme', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  staff = new StaffAccess({
    site: 'ch-zrh',
    store: s.store,
    access: s.witnessed.index,
    now: () => s.clock,
    newId: () => `request-${String(++n).padStart(12, '0')}`,
  });
});
after(() => s.close());

function file(overrides: { tenant?: string; duration?: number } = {}) {
  return {
    tenant: overrides.tenant ?? 'acme',
    requester: {
      kind: 'person',
      id: 'alice',
      employer: 'Vouch AG',
      officeCountry: 'CH',
      physicalCountry: 'CH',
      role: 'support',
    },
    action: 'access',
    purpose: 'support',
    justification: 'false positive on invoice.exe',
    ticket: 'SUP-1234',
    scope: 'telemetry',
    ...(overrides.duration === undefined ? {} : { duration: overrides.duration }),
  } as const;
}

test('request, customer approval, a ledgered read under the grant, and expiry after 12 hours', async () => {
  const filed = await staff.request(file());
  assert.equal(filed.request.duration, 12 * 3600);
  assert.equal(filed.request.requested, formatTime(s.clock));
  assert.equal(filed.check.status, 'missing', 'the contract requires an approval');

  const approval = await signApproval(filed.requestBytes, approver);
  const approved = await staff.approve('acme', filed.request.id, approval);
  assert.equal(approved.check.status, 'active');
  assert.equal(approved.approvedAt, s.clock);

  const grant = await staff.grantFor('acme', filed.request.id);
  const read = await s.reads.read({
    reader: alice,
    action: 'access',
    tenant: 'acme',
    purpose: 'support',
    justification: 'false positive on invoice.exe',
    ticket: 'SUP-1234',
    grant,
    select: { limit: 10 },
  });
  assert.equal(read.events.length, 1);
  const entry = parseLedgerEntry(read.receipt.entry);
  assert.equal(entry.approval, approved.check.approvalDigest);

  s.clock += 12 * 3600;
  const [listed] = await staff.list({ tenant: 'acme', limit: 10 });
  assert.equal(listed?.check.status, 'expired');
});

test('forged approvals are refused and nothing is stored', async () => {
  const filed = await staff.request(file());
  const other = await staff.request(file());
  const forger = createSigner('acme-approver', generateKey('ed25519'));
  const cases: [string, Uint8Array][] = [
    ['another key', await signApproval(filed.requestBytes, forger)],
    ['another request', await signApproval(other.requestBytes, approver)],
    ['not an envelope', new TextEncoder().encode('approved!')],
  ];
  for (const [name, approval] of cases) {
    await assert.rejects(
      staff.approve('acme', filed.request.id, approval),
      (e) => isVouchError(e, 'bad-signature'),
      name,
    );
  }
  assert.equal((await staff.get('acme', filed.request.id)).approval, undefined);
});

test('an approval after the window is refused; requests for tenants not hosted here are refused', async () => {
  const filed = await staff.request(file({ duration: 3600 }));
  s.clock += 3600;
  await assert.rejects(
    staff.approve('acme', filed.request.id, await signApproval(filed.requestBytes, approver)),
    (e) => isVouchError(e, 'policy-unmet'),
  );
  await assert.rejects(staff.request(file({ tenant: 'bravo' })), (e) => isVouchError(e, 'not-found'));
  await assert.rejects(staff.get('acme', 'request-999999999999'), (e) => isVouchError(e, 'not-found'));
  await assert.rejects(
    staff.request({ ...file(), requester: { ...file().requester, physicalCountry: 'UK' as CountryCode } }),
    (e) => isVouchError(e, 'invalid-argument') && /GB/.test((e as Error).message),
  );
});

test('the customer signs only canonical requests', async () => {
  await assert.rejects(signApproval(new TextEncoder().encode('{"_type":"x"}'), approver), (e) =>
    isVouchError(e),
  );
});
