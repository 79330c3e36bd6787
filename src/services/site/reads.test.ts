import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { detection, type SiteData, startSiteData } from '../../../test/support/site-data-fixture.ts';
import { formatEnvelope } from '../../core/attest/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { isVouchError, type VouchError } from '../../core/errors.ts';
import {
  type AccessRequest,
  formatTime,
  type LedgerEntry,
  newAccessRequest,
  parseLedgerEntry,
  signAccessApproval,
} from '../../core/sites/index.ts';
import { Ledger } from './ledger.ts';
import { type ReadRequest, SiteReads, type StaffReader, scopeCovers, scopeOf } from './reads.ts';

const sites: SiteData[] = [];
after(async () => {
  for (const s of sites) await s.close();
});

async function site(options: Parameters<typeof startSiteData>[0] = {}): Promise<SiteData> {
  const s = await startSiteData(options);
  sites.push(s);
  return s;
}

const job = { kind: 'job', id: 'detection-statistics', purpose: 'detection-statistics' } as const;

function jobRead(tenant: string, overrides: Partial<ReadRequest> = {}): ReadRequest {
  return {
    reader: job,
    action: 'read',
    tenant,
    purpose: 'detection-statistics',
    justification: 'registered job detection-statistics',
    select: { kind: 'detection', limit: 100 },
    ...overrides,
  };
}

async function ledgered(s: SiteData, tenant: string): Promise<LedgerEntry[]> {
  const page = await s.witnessed.ledger.entriesOf(tenant, { limit: 100 });
  return page.entries.map((e) => parseLedgerEntry(e.entry));
}

function denied(e: unknown): boolean {
  return isVouchError(e, 'policy-unmet');
}

test('a registered job reads a neutral tenant at ch-zrh: ledgered first, then decrypted', async () => {
  const s = await site();
  await s.addTenant({ id: 'acme', country: 'JP' });
  const events = [
    detection('Win.Test.EICAR', '2025-03-01T08:00:00Z'),
    detection('Win.Trojan.X', '2025-03-01T08:30:00Z'),
  ];
  await s.ingest('acme', events);
  await s.ingest('acme', [
    { kind: 'update', time: '2025-03-01T08:10:00Z', target: 'rules/main', to: '62', outcome: 'ok' },
  ]);

  const result = await s.reads.read(jobRead('acme'));
  assert.deepEqual(
    result.events.map((e) => e.event),
    events,
  );
  const [entry] = await ledgered(s, 'acme');
  assert.ok(entry !== undefined);
  assert.equal(entry.decision, 'allow');
  assert.equal(entry.action, 'read');
  assert.equal(entry.count, 2);
  assert.equal(entry.scope, 'telemetry:detection');
  assert.equal(entry.site, 'ch-zrh');
  assert.equal(entry.policyDigest, s.policy.policyDigest);
  assert.equal(entry.time, formatTime(s.clock));
  assert.deepEqual(entry.principal, { kind: 'job', id: 'detection-statistics', role: 'processing-job' });
  assert.deepEqual(entry.reasons, ['permit: job-registered-purpose']);
  assert.equal(result.receipt.index, 0n);
});

test('a job outside its registered purpose is denied, and the denial is ledgered with count 0', async () => {
  const s = await site();
  await s.addTenant({ id: 'acme', country: 'JP' });
  await s.ingest('acme', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  const cases: [string, ReadRequest][] = [
    [
      'unregistered purpose',
      jobRead('acme', { reader: { ...job, purpose: 'marketing' }, purpose: 'marketing' }),
    ],
    ['declared purpose differs', jobRead('acme', { purpose: 'sample-triage' })],
    ['export by a job', jobRead('acme', { action: 'export' })],
  ];
  for (const [name, request] of cases) {
    await assert.rejects(s.reads.read(request), denied, name);
  }
  const entries = await ledgered(s, 'acme');
  assert.equal(entries.length, cases.length);
  for (const e of entries) {
    assert.equal(e.decision, 'deny');
    assert.equal(e.count, 0);
    assert.ok(e.reasons.length > 0);
  }
  assert.ok(entries[2]?.reasons.includes('forbid: export-erase-privacy-officer-only'));
});

test('Swiss-only tenant data is never read at a home site, even when it is found there', async () => {
  const home = await site({ site: 'ru-mow', country: 'RU' });
  // A JP (neutral) tenant registered at ru-mow by mistake or malice, with data in the store.
  await home.addTenant({ id: 'acme', country: 'JP' });
  await home.ingest('acme', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  const error = (await s_rejects(home.reads.read(jobRead('acme')))) as VouchError;
  assert.equal(error.code, 'policy-unmet');
  const [entry] = await ledgered(home, 'acme');
  assert.equal(entry?.decision, 'deny');
  assert.equal(entry?.site, 'ru-mow');
  assert.ok(entry?.reasons.includes('forbid: neutral-only-at-ch-zrh'), String(entry?.reasons));
  assert.ok(entry?.reasons.includes('forbid: data-only-at-tenant-site'), String(entry?.reasons));

  // A tenant this site does not host is a ledgered denial too.
  await assert.rejects(home.reads.read(jobRead('nobody')), denied);
  const [other] = await ledgered(home, 'nobody');
  assert.deepEqual(other?.reasons, ['site: tenant nobody is not hosted at ru-mow']);

  // The same job at ru-mow reads a home tenant (Brazil) normally.
  await home.addTenant({ id: 'bravo', country: 'BR' });
  await home.ingest('bravo', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  assert.equal((await home.reads.read(jobRead('bravo'))).events.length, 1);
});

async function s_rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const alice: StaffReader = {
  kind: 'person',
  id: 'alice',
  employer: 'Vouch AG',
  officeCountry: 'CH',
  physicalCountry: 'CH',
  role: 'support',
};

function accessRequest(
  tenant: string,
  requested: number,
  overrides: Partial<AccessRequest> = {},
): AccessRequest {
  return newAccessRequest({
    id: '3f1c2a9e-8b4d-4c6e-9f0a-1b2c3d4e5f60',
    tenant,
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
    requested: formatTime(requested),
    ...overrides,
  });
}

function staffRead(tenant: string, grant: ReadRequest['grant'], reader: StaffReader = alice): ReadRequest {
  return {
    reader,
    action: 'access',
    tenant,
    purpose: 'support',
    justification: 'false positive on invoice.exe',
    ticket: 'SUP-1234',
    ...(grant === undefined ? {} : { grant }),
    select: { limit: 10 },
  };
}

test('staff access: an approved, active grant in Switzerland is allowed; every fault is denied and ledgered', async () => {
  const s = await site();
  const { approver } = await s.addTenant({ id: 'acme', country: 'JP', approvalRequired: true });
  await s.ingest('acme', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  const request = accessRequest('acme', s.clock - 60);
  const approval = formatEnvelope(await signAccessApproval(request, approver));

  const ok = await s.reads.read(staffRead('acme', { request, approval }));
  assert.equal(ok.events.length, 1);
  const [allowed] = await ledgered(s, 'acme');
  assert.equal(allowed?.decision, 'allow');
  assert.equal(allowed?.action, 'access');
  assert.equal(allowed?.ticket, 'SUP-1234');
  assert.match(allowed?.approval ?? '', /^[0-9a-f]{64}$/);
  assert.equal(allowed?.principal.physicalCountry, 'CH');

  const forger = createSigner('acme-approver', generateKey('ed25519'));
  const forged = formatEnvelope(await signAccessApproval(request, forger));
  const other = accessRequest('acme', s.clock - 60, { id: 'ffffffff-8b4d-4c6e-9f0a-1b2c3d4e5f60' });
  const otherApproval = formatEnvelope(await signAccessApproval(other, approver));
  const cases: [string, ReadRequest, string][] = [
    [
      'staff outside Switzerland',
      staffRead('acme', { request, approval }, { ...alice, physicalCountry: 'DE' }),
      'forbid: neutral-staff-located-in-ch',
    ],
    [
      'office outside Switzerland',
      staffRead('acme', { request, approval }, { ...alice, officeCountry: 'RU' }),
      'forbid: neutral-staff-located-in-ch',
    ],
    ['forged approval', staffRead('acme', { request, approval: forged }), 'forbid: staff-customer-approval'],
    [
      'approval of another request',
      staffRead('acme', { request, approval: otherApproval }),
      'forbid: staff-customer-approval',
    ],
    ['missing approval', staffRead('acme', { request }), 'forbid: staff-customer-approval'],
    ['no grant at all', staffRead('acme', undefined), 'forbid: staff-customer-approval'],
    [
      'grant of another person',
      staffRead('acme', { request, approval }, { ...alice, id: 'mallory' }),
      'grant: the grant was requested by another person or role',
    ],
    [
      'garbage approval',
      staffRead('acme', { request, approval: new TextEncoder().encode('{"x":1}') }),
      'forbid: staff-customer-approval',
    ],
  ];
  for (const [name, read, reason] of cases) {
    await assert.rejects(s.reads.read(read), denied, name);
    const entries = await ledgered(s, 'acme');
    const last = entries[entries.length - 1];
    assert.equal(last?.decision, 'deny', name);
    assert.equal(last?.count, 0, name);
    assert.ok(last?.reasons.includes(reason), `${name}: ${last?.reasons.join(' | ')}`);
  }

  // Twelve hours later the same grant has expired.
  s.clock += 12 * 3600;
  await assert.rejects(s.reads.read(staffRead('acme', { request, approval })), denied);
  const entries = await ledgered(s, 'acme');
  const expired = entries[entries.length - 1];
  assert.ok(expired?.reasons.includes('forbid: staff-customer-approval'), String(expired?.reasons));
  assert.ok(
    expired?.reasons.some((r) => r.startsWith('grant expired:')),
    String(expired?.reasons),
  );
});

test('staff access to a tenant without an approval clause still needs an active grant', async () => {
  const s = await site();
  await s.addTenant({ id: 'opentech', country: 'US', approvalRequired: false });
  await s.ingest('opentech', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  const request = accessRequest('opentech', s.clock);
  assert.equal((await s.reads.read(staffRead('opentech', { request }))).events.length, 1);
  await assert.rejects(s.reads.read(staffRead('opentech', undefined)), denied, 'no grant');
  s.clock += 12 * 3600;
  await assert.rejects(s.reads.read(staffRead('opentech', { request })), denied, 'expired');
  const scoped = accessRequest('opentech', s.clock, { scope: 'telemetry:sample' });
  await assert.rejects(s.reads.read(staffRead('opentech', { request: scoped })), denied, 'scope not covered');
  const entries = await ledgered(s, 'opentech');
  assert.deepEqual(
    entries.map((e) => e.decision),
    ['allow', 'deny', 'deny', 'deny'],
  );
});

test('when the ledger cannot be written the read fails closed and releases nothing', async () => {
  const s = await site();
  await s.addTenant({ id: 'acme', country: 'JP' });
  await s.ingest('acme', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  const logs = {
    throwing: { origin: s.witnessed.origin, add: async () => Promise.reject(new Error('disk full')) },
    hanging: { origin: s.witnessed.origin, add: () => new Promise<never>(() => undefined) },
  };
  for (const [name, log] of Object.entries(logs)) {
    let opened = false;
    const reads = new SiteReads({
      site: { id: 'ch-zrh', country: 'CH' },
      store: s.store,
      kek: new Proxy(s.kek, {
        get(target, property, receiver) {
          opened = true;
          return Reflect.get(target, property, receiver);
        },
      }),
      policy: s.policy,
      ledger: new Ledger({
        site: 'ch-zrh',
        log,
        files: s.witnessed.files,
        index: s.witnessed.index,
        timeoutMs: 50,
      }),
      registry: s.registry,
      now: () => s.clock,
    });
    await assert.rejects(reads.read(jobRead('acme')), (e) => isVouchError(e, 'unavailable'), name);
    assert.equal(opened, false, `${name}: the site key was never touched`);
  }
  // Witnesses down: the real ledger cannot publish, so the read fails the same way.
  const slow = await site({ ledger: { timeoutMs: 200 } });
  await slow.addTenant({ id: 'acme', country: 'JP' });
  await slow.ingest('acme', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  slow.witnessed.setDown('w1', true);
  await assert.rejects(slow.reads.read(jobRead('acme')), (e) => isVouchError(e, 'unavailable'));
  slow.witnessed.setDown('w1', false);
});

test('an erased tenant cannot be read: a clear error, and the attempt is ledgered', async () => {
  const s = await site();
  await s.addTenant({ id: 'acme', country: 'JP' });
  await s.ingest('acme', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  await s.store.eraseTenant('acme', s.clock);
  await assert.rejects(
    s.reads.read(jobRead('acme')),
    (e) => isVouchError(e, 'not-found') && /erased at 2025-03-01T09:00:00Z/.test((e as Error).message),
  );
  const [entry] = await ledgered(s, 'acme');
  assert.equal(entry?.decision, 'deny');
});

test('scopes spell the selection, and a grant covers a scope by prefix', () => {
  assert.equal(scopeOf({ limit: 1 }), 'telemetry');
  assert.equal(scopeOf({ kind: 'sample', from: 10, to: 20, limit: 1 }), 'telemetry:sample:from-10:to-20');
  assert.ok(scopeCovers('telemetry', 'telemetry:sample'));
  assert.ok(!scopeCovers('telemetry:sample', 'telemetry'));
  assert.ok(!scopeCovers('tele', 'telemetry'));
});

test('bad selections are refused before anything is decided or ledgered', async () => {
  const s = await site();
  await s.addTenant({ id: 'acme', country: 'JP' });
  for (const select of [{ limit: 0 }, { limit: 100_001 }, { limit: 1, from: 5, to: 1 }]) {
    await assert.rejects(s.reads.read(jobRead('acme', { select })), (e) =>
      isVouchError(e, 'invalid-argument'),
    );
  }
  assert.deepEqual(await ledgered(s, 'acme'), []);
});

test('a grant opens only the action and the location the customer approved', async () => {
  // A home tenant (Brazil) at ru-mow: the policy itself has no location rule for it, so only the
  // grant binds the person to where the customer saw them.
  const home = await site({ site: 'ru-mow', country: 'RU' });
  const { approver } = await home.addTenant({ id: 'bravo', country: 'BR', approvalRequired: true });
  await home.ingest('bravo', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  const ivan: StaffReader = {
    ...alice,
    id: 'ivan',
    employer: 'Vouch RU',
    officeCountry: 'RU',
    physicalCountry: 'RU',
  };
  const granted = (overrides: Partial<AccessRequest>): AccessRequest =>
    accessRequest('bravo', home.clock - 60, { requester: { ...ivan }, ...overrides });
  const signed = async (request: AccessRequest): Promise<ReadRequest['grant']> => ({
    request,
    approval: formatEnvelope(await signAccessApproval(request, approver)),
  });
  const read = await signed(granted({}));
  const ok = await home.reads.read(staffRead('bravo', read, ivan));
  assert.equal(ok.events.length, 1);
  assert.equal(parseLedgerEntry(ok.receipt.entry).action, 'access');

  const cases: [string, ReadRequest, string][] = [
    [
      'the person is elsewhere than approved',
      staffRead('bravo', read, { ...ivan, physicalCountry: 'BR' }),
      'grant: the grant was approved for a person with office in RU and located in RU, not RU and BR',
    ],
    [
      'the person works from another office than approved',
      staffRead('bravo', read, { ...ivan, officeCountry: 'DE' }),
      'grant: the grant was approved for a person with office in RU and located in RU, not DE and RU',
    ],
    [
      'an approval to export used for a read',
      staffRead('bravo', await signed(granted({ action: 'export' })), ivan),
      'grant: the grant allows export, not access',
    ],
    [
      'an approval to erase used for a read',
      staffRead('bravo', await signed(granted({ action: 'erase' })), ivan),
      'grant: the grant allows erase, not access',
    ],
  ];
  for (const [name, request, reason] of cases) {
    await assert.rejects(home.reads.read(request), denied, name);
    const entries = await ledgered(home, 'bravo');
    const last = entries[entries.length - 1];
    assert.deepEqual([last?.decision, last?.action, last?.count], ['deny', 'access', 0], name);
    assert.ok(last?.reasons.includes(reason), `${name}: ${last?.reasons.join(' | ')}`);
  }
});
