import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatEnvelope, signEnvelope } from '../attest/index.ts';
import { formatHex, parseBase64, toBytes, toText } from '../bytes/index.ts';
import { createSigner, generateKey, sha256 } from '../crypto/index.ts';
import { isVouchError, type VouchError } from '../errors.ts';
import { createNoteSigner, formatVerifierKey } from '../note/index.ts';
import {
  type AccessRequest,
  accessApprovalPayloadType,
  checkGrant,
  formatAccessRequest,
  newAccessRequest,
  parseAccessRequest,
  signAccessApproval,
} from './access.ts';
import { defaultSiteRegistry } from './registry.ts';
import { newTenant } from './tenants.ts';
import { parseTime } from './time.ts';

const registry = defaultSiteRegistry();
const customer = createSigner('acme-approver', generateKey('ed25519'));
const created = '2025-01-01T00:00:00Z';
const acme = newTenant(
  {
    id: 'acme',
    name: 'Acme KK',
    contractCountry: 'JP',
    approvalKey: formatVerifierKey(createNoteSigner(customer)),
    approvalRequired: true,
    created,
  },
  registry,
);
const open = newTenant(
  { id: 'opentech', name: 'Open Tech', contractCountry: 'US', approvalRequired: false, created },
  registry,
);

const request = newAccessRequest({
  id: '3f1c2a9e-8b4d-4c6e-9f0a-1b2c3d4e5f60',
  tenant: 'acme',
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
  scope: `samples/${'a'.repeat(64)}`,
  requested: '2025-03-01T08:00:00Z',
});
const start = parseTime(request.requested);

test('a request defaults to 12 hours and round-trips through canonical JSON', () => {
  assert.equal(request.duration, 12 * 3600);
  const bytes = formatAccessRequest(request);
  assert.deepEqual(parseAccessRequest(bytes), request);
  assert.ok(
    toText(bytes).startsWith(
      '{"_type":"https://vouch.example/access-request/v1","action":"access","duration":43200,',
    ),
  );
  for (const action of ['export', 'erase'] as const) {
    const other = newAccessRequest({ ...request, action });
    assert.equal(parseAccessRequest(formatAccessRequest(other)).action, action);
  }
});

function edit(change: (d: Record<string, Record<string, unknown>>) => void): Uint8Array {
  const doc = JSON.parse(toText(formatAccessRequest(request))) as Record<string, Record<string, unknown>>;
  change(doc);
  return toBytes(JSON.stringify(doc));
}

test('parseAccessRequest refuses bad requests naming the field', () => {
  const rows: [string, Uint8Array, string][] = [
    [
      'too long',
      edit((d) => {
        (d as Record<string, unknown>)['duration'] = 72 * 3600 + 1;
      }),
      'duration',
    ],
    [
      'too short',
      edit((d) => {
        (d as Record<string, unknown>)['duration'] = 59;
      }),
      'duration',
    ],
    [
      'job requester',
      edit((d) => {
        d['requester'] = { ...d['requester'], kind: 'job' };
      }),
      'requester.kind',
    ],
    [
      'UK physical',
      edit((d) => {
        d['requester'] = { ...d['requester'], physicalCountry: 'UK' };
      }),
      'requester.physicalCountry',
    ],
    [
      'no office',
      edit((d) => {
        const { officeCountry: _, ...rest } = d['requester'] ?? {};
        d['requester'] = rest;
      }),
      'requester.officeCountry',
    ],
    [
      'no ticket',
      edit((d) => {
        delete (d as Record<string, unknown>)['ticket'];
      }),
      'ticket',
    ],
    [
      'empty justification',
      edit((d) => {
        (d as Record<string, unknown>)['justification'] = '';
      }),
      'justification',
    ],
    [
      'bad scope',
      edit((d) => {
        (d as Record<string, unknown>)['scope'] = '*';
      }),
      'scope',
    ],
    [
      'bad id',
      edit((d) => {
        (d as Record<string, unknown>)['id'] = 'x';
      }),
      'id',
    ],
    [
      'bad requested',
      edit((d) => {
        (d as Record<string, unknown>)['requested'] = 'now';
      }),
      'requested',
    ],
    [
      'no action',
      edit((d) => {
        delete (d as Record<string, unknown>)['action'];
      }),
      'action',
    ],
    [
      'an action the policy has no staff grant for',
      edit((d) => {
        (d as Record<string, unknown>)['action'] = 'read';
      }),
      'action',
    ],
  ];
  for (const [name, bytes, field] of rows) {
    assert.throws(
      () => parseAccessRequest(bytes),
      (e: unknown) => {
        assert.ok(isVouchError(e, 'malformed'), `${name}: ${String(e)}`);
        const err = e as VouchError;
        const fields = (err.details.fields as string[] | undefined) ?? [];
        assert.ok(
          err.details.field === field || fields.includes(field),
          `${name}: ${JSON.stringify(err.details)}`,
        );
        return true;
      },
      name,
    );
  }
  assert.throws(
    () => newAccessRequest({ ...request, duration: 100 * 3600 }),
    (e: unknown) => isVouchError(e, 'invalid-argument') && e.details.field === 'duration',
  );
});

test('checkGrant: a customer-signed approval is active within the window, then expired', async () => {
  const approval = formatEnvelope(await signAccessApproval(request, customer));
  const at = (offset: number) => checkGrant(request, approval, acme, start + offset);
  assert.equal(at(0).status, 'active');
  assert.equal(at(12 * 3600 - 1).status, 'active');
  assert.equal(at(12 * 3600).status, 'expired');
  assert.equal(at(-1).status, 'not-yet-valid');
  const active = at(60);
  assert.equal(active.approvalDigest, formatHex(sha256(approval)));
  assert.equal(active.expires, start + 12 * 3600);
  assert.match(active.reasons.join(), /approved by tenant acme/);
  assert.match(at(12 * 3600).reasons.join(), /expired at 2025-03-01T20:00:00Z/);
});

test('checkGrant: forged and missing approvals are never active', async () => {
  const mallory = createSigner('acme-approver', generateKey('ed25519'));
  const good = await signAccessApproval(request, customer);
  const longer = newAccessRequest({ ...request, duration: 72 * 3600 });
  const otherPerson = newAccessRequest({ ...request, requester: { ...request.requester, id: 'mallory' } });
  const erase = newAccessRequest({ ...request, action: 'erase' });
  const elsewhere = newAccessRequest({
    ...request,
    requester: { ...request.requester, physicalCountry: 'US' },
  });
  const rows: [string, Uint8Array | undefined, AccessRequest, RegExp][] = [
    [
      'signed by another key',
      formatEnvelope(await signAccessApproval(request, mallory)),
      request,
      /not signed by the tenant/,
    ],
    [
      'approval of a shorter request reused for a longer one',
      formatEnvelope(good),
      longer,
      /different request/,
    ],
    ['approval of one person reused for another', formatEnvelope(good), otherPerson, /different request/],
    ['approval of a read reused for an erasure', formatEnvelope(good), erase, /different request/],
    ['approval of one location reused for another', formatEnvelope(good), elsewhere, /different request/],
    [
      'wrong payload type',
      formatEnvelope(await signEnvelope('application/json', formatAccessRequest(request), [customer])),
      request,
      /payload type/,
    ],
    ['not an envelope', toBytes('{"payload":"x"}'), request, /not a DSSE envelope/],
    ['garbage', new Uint8Array([1, 2, 3]), request, /not a DSSE envelope/],
    [
      'tampered payload',
      toBytes(
        toText(formatEnvelope(good)).replace(
          /"payload":"(.)/,
          (_m, c: string) => `"payload":"${c === 'A' ? 'B' : 'A'}`,
        ),
      ),
      request,
      /not signed by the tenant|not a DSSE envelope/,
    ],
  ];
  for (const [name, approval, req, reason] of rows) {
    const result = checkGrant(req, approval, acme, start + 60);
    assert.equal(result.status, 'forged', name);
    assert.match(result.reasons.join(), reason, name);
    assert.equal(result.approvalDigest, undefined, name);
  }
  const missing = checkGrant(request, undefined, acme, start + 60);
  assert.equal(missing.status, 'missing');
  assert.match(missing.reasons.join(), /requires the customer's approval/);
  // A request for another tenant is not a grant for this one.
  const forOther = newAccessRequest({ ...request, tenant: 'opentech' });
  assert.equal(checkGrant(forOther, formatEnvelope(good), acme, start + 60).status, 'forged');
});

test('checkGrant: a tenant without an approval requirement gets active grants that still expire', async () => {
  const req = newAccessRequest({ ...request, tenant: 'opentech', duration: 3600 });
  assert.equal(checkGrant(req, undefined, open, start + 10).status, 'active');
  assert.equal(checkGrant(req, undefined, open, start + 3600).status, 'expired');
  assert.match(checkGrant(req, undefined, open, start).reasons.join(), /no customer approval required/);
  // An approval offered to a tenant with no approval key cannot verify.
  const stray = formatEnvelope(await signAccessApproval(req, customer));
  assert.equal(checkGrant(req, stray, open, start + 10).status, 'forged');
  assert.throws(
    () => checkGrant(req, undefined, open, 1.5),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
});

test('the approval is a DSSE envelope over exactly the canonical request', async () => {
  const envelope = await signAccessApproval(request, customer);
  assert.equal(envelope.payloadType, accessApprovalPayloadType);
  const json = JSON.parse(toText(formatEnvelope(envelope))) as { payload: string };
  assert.equal(toText(parseBase64(json.payload)), toText(formatAccessRequest(request)));
});

test('property: mutated request bytes give a request or our typed error', () => {
  const bytes = formatAccessRequest(request);
  fc.assert(
    fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const m = new Uint8Array(bytes);
      m[at] = value;
      try {
        parseAccessRequest(m);
      } catch (e) {
        assert.ok(isVouchError(e, 'malformed') || isVouchError(e, 'too-large'), String(e));
      }
    }),
    { seed: 51, numRuns: 400 },
  );
});

test('property: valid requests round-trip', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 60, max: 72 * 3600 }),
      fc.constantFrom('CH', 'DE', 'RU', 'GB', 'US'),
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,30}$/),
      (duration, country, ticket) => {
        const r = newAccessRequest({
          ...request,
          duration,
          ticket,
          requester: { ...request.requester, physicalCountry: country },
        });
        assert.deepEqual(parseAccessRequest(formatAccessRequest(r)), r);
      },
    ),
    { seed: 52, numRuns: 100 },
  );
});
