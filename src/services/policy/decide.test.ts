/**
 * Decisions of the default policy (policies/default.cedar) through the policy decision point:
 * residency at the neutral and the home site, staff location, justification and approval, jobs'
 * purposes, export and erasure, and the fail-closed paths (unknown action, malformed input,
 * invalid policy text, digest changes).
 */

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatHex, toBytes } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { PolicyEngine, type PolicySources } from './decide.ts';
import type { PolicyContextInput, PolicyRequest, SiteInput, StaffInput, TenantInput } from './entities.ts';
import {
  defaultPolicyDir,
  loadPolicyFolder,
  policyFileName,
  readPolicyFiles,
  schemaFileName,
} from './files.ts';

const zrh: SiteInput = { id: 'ch-zrh', country: 'CH' };
const mow: SiteInput = { id: 'ru-mow', country: 'RU' };
const now = new Date('2026-03-01T12:00:00Z');
const later = new Date('2026-03-01T20:00:00Z');
const earlier = new Date('2026-03-01T08:00:00Z');

const japan: TenantInput = {
  id: 'jp-sakura',
  contractCountry: 'JP',
  residency: 'neutral',
  site: 'ch-zrh',
  approvalRequired: true,
};
const brazil: TenantInput = {
  id: 'br-ipe',
  contractCountry: 'BR',
  residency: 'home',
  site: 'ru-mow',
  approvalRequired: false,
};
// A neutral tenant wrongly registered at the home site: only the residency forbid stops it.
const misplaced: TenantInput = { ...japan, id: 'jp-misplaced', site: 'ru-mow' };

const swissStaff: StaffInput = {
  id: 'anna',
  employer: 'Vouch AG',
  officeCountry: 'CH',
  physicalCountry: 'CH',
  role: 'support',
  site: 'ch-zrh',
};
const travellingStaff: StaffInput = { ...swissStaff, id: 'boris', physicalCountry: 'RU' };
const privacyOfficer: StaffInput = { ...swissStaff, id: 'clara', role: 'privacy-officer' };
const homeStaff: StaffInput = {
  ...swissStaff,
  id: 'dmitri',
  officeCountry: 'RU',
  physicalCountry: 'RU',
  site: 'ru-mow',
};

const statsJob = { type: 'Job', id: 'stats-1', purpose: 'detection-statistics', site: 'ch-zrh' } as const;
const telemetry = (tenant: TenantInput) => ({ type: 'TenantData', tenant, kind: 'telemetry' }) as const;
const ticketed = (site: SiteInput, extra: Partial<PolicyContextInput> = {}): PolicyContextInput => ({
  site,
  now,
  justification: 'customer reported a false positive',
  ticket: 'SUP-1234',
  ...extra,
});

const engine = await loadPolicyFolder();
const defaultSources = await readPolicyFiles();
const policiesText = new TextDecoder().decode(defaultSources.policiesText as Uint8Array);
const schemaText = new TextDecoder().decode(defaultSources.schemaText as Uint8Array);

interface Row {
  readonly name: string;
  readonly request: PolicyRequest;
  readonly decision: 'allow' | 'deny';
  /** reasons must all be among the decision's reasons (exactly [] when empty). */
  readonly reasons: readonly string[];
  readonly error?: RegExp;
}

const rows: readonly Row[] = [
  {
    name: 'job reads neutral (Japanese) data at ch-zrh',
    request: {
      principal: statsJob,
      action: 'read',
      resource: telemetry(japan),
      context: { site: zrh, now, purpose: 'detection-statistics' },
    },
    decision: 'allow',
    reasons: ['job-registered-purpose'],
  },
  {
    name: 'job reads neutral (Japanese) data at ru-mow',
    request: {
      principal: { ...statsJob, site: 'ru-mow' },
      action: 'read',
      resource: telemetry(japan),
      context: { site: mow, now, purpose: 'detection-statistics' },
    },
    decision: 'deny',
    reasons: ['neutral-only-at-ch-zrh', 'data-only-at-tenant-site'],
  },
  {
    name: 'neutral tenant misregistered at ru-mow is still not processed there',
    request: {
      principal: { ...statsJob, site: 'ru-mow' },
      action: 'process',
      resource: telemetry(misplaced),
      context: { site: mow, now, purpose: 'detection-statistics' },
    },
    decision: 'deny',
    reasons: ['neutral-only-at-ch-zrh'],
  },
  {
    name: 'job with an unregistered purpose',
    request: {
      principal: { ...statsJob, purpose: 'marketing' },
      action: 'process',
      resource: telemetry(japan),
      context: { site: zrh, now, purpose: 'marketing' },
    },
    decision: 'deny',
    reasons: ['job-registered-purposes-only'],
  },
  {
    name: 'job declaring another purpose than its registration',
    request: {
      principal: statsJob,
      action: 'read',
      resource: telemetry(japan),
      context: { site: zrh, now, purpose: 'sample-triage' },
    },
    decision: 'deny',
    reasons: ['job-registered-purposes-only'],
  },
  {
    name: 'staff at ch-zrh physically in RU',
    request: {
      principal: { type: 'Staff', ...travellingStaff },
      action: 'access',
      resource: telemetry(japan),
      context: ticketed(zrh, { approval: { valid: true, expiresAt: later } }),
    },
    decision: 'deny',
    reasons: ['neutral-staff-located-in-ch'],
  },
  {
    name: 'staff in CH with justification, ticket and a valid approval',
    request: {
      principal: { type: 'Staff', ...swissStaff },
      action: 'access',
      resource: telemetry(japan),
      context: ticketed(zrh, { approval: { valid: true, expiresAt: later } }),
    },
    decision: 'allow',
    reasons: ['staff-justified-access'],
  },
  {
    name: 'staff in CH with an expired approval',
    request: {
      principal: { type: 'Staff', ...swissStaff },
      action: 'access',
      resource: telemetry(japan),
      context: ticketed(zrh, { approval: { valid: true, expiresAt: earlier } }),
    },
    decision: 'deny',
    reasons: ['staff-customer-approval'],
  },
  {
    name: 'staff in CH with a forged (invalid) approval',
    request: {
      principal: { type: 'Staff', ...swissStaff },
      action: 'access',
      resource: { type: 'Tenant', ...japan },
      context: ticketed(zrh, { approval: { valid: false, expiresAt: later } }),
    },
    decision: 'deny',
    reasons: ['staff-customer-approval'],
  },
  {
    name: 'staff in CH without an approval where the contract requires one',
    request: {
      principal: { type: 'Staff', ...swissStaff },
      action: 'access',
      resource: telemetry(japan),
      context: ticketed(zrh),
    },
    decision: 'deny',
    reasons: ['staff-customer-approval'],
  },
  {
    name: 'staff in CH without a ticket',
    request: {
      principal: { type: 'Staff', ...swissStaff },
      action: 'access',
      resource: telemetry(japan),
      context: { ...ticketed(zrh, { approval: { valid: true, expiresAt: later } }), ticket: '' },
    },
    decision: 'deny',
    reasons: ['staff-justification-and-ticket'],
  },
  {
    name: 'home staff access a home tenant without required approval',
    request: {
      principal: { type: 'Staff', ...homeStaff },
      action: 'access',
      resource: telemetry(brazil),
      context: ticketed(mow),
    },
    decision: 'allow',
    reasons: ['staff-justified-access'],
  },
  {
    name: 'Brazilian (home) tenant ingest at ru-mow',
    request: {
      principal: { type: 'Endpoint', id: 'agent-7', tenant: 'br-ipe' },
      action: 'ingest',
      resource: telemetry(brazil),
      context: { site: mow, now },
    },
    decision: 'allow',
    reasons: ['endpoint-ingest-own-tenant'],
  },
  {
    name: 'Brazilian (home) tenant ingest at ch-zrh',
    request: {
      principal: { type: 'Endpoint', id: 'agent-7', tenant: 'br-ipe' },
      action: 'ingest',
      resource: telemetry(brazil),
      context: { site: zrh, now },
    },
    decision: 'deny',
    reasons: ['data-only-at-tenant-site'],
  },
  {
    name: 'site gateway ingests a hosted tenant',
    request: {
      principal: { type: 'Site', ...mow },
      action: 'ingest',
      resource: { type: 'Tenant', ...brazil },
      context: { site: mow, now },
    },
    decision: 'allow',
    reasons: ['site-ingest-hosted-tenant'],
  },
  {
    name: 'endpoint of another tenant ingests',
    request: {
      principal: { type: 'Endpoint', id: 'agent-9', tenant: 'br-other' },
      action: 'ingest',
      resource: telemetry(brazil),
      context: { site: mow, now },
    },
    decision: 'deny',
    reasons: [],
  },
  {
    name: 'privacy officer erases with an approval',
    request: {
      principal: { type: 'Staff', ...privacyOfficer },
      action: 'erase',
      resource: { type: 'Tenant', ...japan },
      context: ticketed(zrh, { approval: { valid: true, expiresAt: later } }),
    },
    decision: 'allow',
    reasons: ['privacy-officer-export-erase'],
  },
  {
    name: 'support staff export',
    request: {
      principal: { type: 'Staff', ...swissStaff },
      action: 'export',
      resource: { type: 'Tenant', ...japan },
      context: ticketed(zrh, { approval: { valid: true, expiresAt: later } }),
    },
    decision: 'deny',
    reasons: ['export-erase-privacy-officer-only'],
  },
  {
    name: 'job exports',
    request: {
      principal: statsJob,
      action: 'export',
      resource: telemetry(japan),
      context: { site: zrh, now, purpose: 'detection-statistics' },
    },
    decision: 'deny',
    reasons: ['export-erase-privacy-officer-only'],
  },
  {
    name: 'unknown action',
    request: {
      principal: statsJob,
      action: 'teleport' as 'read',
      resource: telemetry(japan),
      context: { site: zrh, now, purpose: 'detection-statistics' },
    },
    decision: 'deny',
    reasons: [],
    error: /teleport.*does not exist/,
  },
  {
    name: 'action not applicable to the principal (job access)',
    request: {
      principal: statsJob,
      action: 'access',
      resource: telemetry(japan),
      context: { site: zrh, now, purpose: 'detection-statistics' },
    },
    decision: 'deny',
    reasons: [],
    error: /principal type/,
  },
  {
    name: 'malformed tenant (approvalRequired is a string)',
    request: {
      principal: statsJob,
      action: 'read',
      resource: telemetry({ ...japan, approvalRequired: 'no' as unknown as boolean }),
      context: { site: zrh, now, purpose: 'detection-statistics' },
    },
    decision: 'deny',
    reasons: [],
    error: /resource\.tenant\.approvalRequired: want a boolean/,
  },
  {
    name: 'unknown residency class',
    request: {
      principal: statsJob,
      action: 'read',
      resource: telemetry({ ...japan, residency: 'anywhere' as 'home' }),
      context: { site: zrh, now, purpose: 'detection-statistics' },
    },
    decision: 'deny',
    reasons: [],
    error: /residency: want "neutral" or "home"/,
  },
  {
    name: 'invalid decision time',
    request: {
      principal: statsJob,
      action: 'read',
      resource: telemetry(japan),
      context: { site: zrh, now: new Date(Number.NaN), purpose: 'detection-statistics' },
    },
    decision: 'deny',
    reasons: [],
    error: /context\.now: want a valid Date/,
  },
  {
    name: 'an entity given twice with different attributes',
    request: {
      principal: statsJob,
      action: 'read',
      resource: telemetry(japan),
      context: { site: zrh, now, purpose: 'detection-statistics' },
      entities: [{ type: 'Site', id: 'ch-zrh', country: 'RU' }],
    },
    decision: 'deny',
    reasons: [],
    error: /given twice/,
  },
  {
    name: 'not an object at all',
    request: null as unknown as PolicyRequest,
    decision: 'deny',
    reasons: [],
    error: /principal\.type/,
  },
];

for (const row of rows) {
  test(`decide: ${row.name}`, () => {
    const got = engine.decide(row.request);
    assert.equal(got.decision, row.decision, JSON.stringify(got));
    assert.equal(got.policyDigest, engine.policyDigest);
    if (row.reasons.length === 0) assert.deepEqual(got.reasons, []);
    for (const reason of row.reasons) assert.ok(got.reasons.includes(reason), `${reason} in ${got.reasons}`);
    if (row.error === undefined) {
      assert.deepEqual(got.errors, []);
    } else {
      const pattern = row.error;
      assert.ok(
        got.errors.some((e) => pattern.test(e)),
        `${pattern} in ${JSON.stringify(got.errors)}`,
      );
    }
  });
}

test('decide: an evaluation error in a policy is a deny, even where a permit holds', () => {
  // The permit needs nothing missing; the forbid reads the deciding site's country, which a
  // schema-valid request cannot omit, so build a policy that dereferences an absent entity.
  const sources = {
    policiesText: [
      '@id("everything") permit (principal, action, resource);',
      '@id("tenant-site-country") forbid (principal, action, resource is Vouch::Tenant) when { resource.site.country == "XX" };',
    ].join('\n'),
    schemaText: schemaText,
  };
  const loose = PolicyEngine.load(sources);
  const got = loose.decide({
    principal: statsJob,
    action: 'read',
    resource: { type: 'Tenant', ...brazil },
    context: { site: zrh, now, purpose: 'detection-statistics' },
  });
  assert.equal(got.decision, 'deny');
  assert.deepEqual(got.reasons, []);
  assert.match(got.errors.join('\n'), /tenant-site-country: .*ru-mow/);
});

test('load: the digest is the SHA-256 of the exact policy file bytes', async () => {
  const bytes = await readFile(join(defaultPolicyDir, policyFileName));
  assert.equal(engine.policyDigest, formatHex(sha256(new Uint8Array(bytes))));
  assert.equal(PolicyEngine.load({ policiesText, schemaText }).policyDigest, engine.policyDigest);
  assert.ok(engine.policyIds.includes('neutral-only-at-ch-zrh'));
  assert.equal(engine.policyIds.length, 13);
});

test('load: the digest changes when the policy changes, even by one byte', () => {
  const spaced = PolicyEngine.load({ policiesText: `${policiesText}\n`, schemaText });
  assert.notEqual(spaced.policyDigest, engine.policyDigest);
  assert.equal(spaced.policyDigest, formatHex(sha256(toBytes(`${policiesText}\n`))));
  const stricter = policiesText.replace('"sample-triage"', '"sample-triage-v2"');
  assert.notEqual(stricter, policiesText);
  assert.notEqual(
    PolicyEngine.load({ policiesText: stricter, schemaText }).policyDigest,
    engine.policyDigest,
  );
});

test('load: two engines with different policies decide independently', () => {
  const nothing = PolicyEngine.load({
    policiesText: '@id("nothing") forbid (principal, action, resource);',
    schemaText,
  });
  const request: PolicyRequest = {
    principal: statsJob,
    action: 'read',
    resource: telemetry(japan),
    context: { site: zrh, now, purpose: 'detection-statistics' },
  };
  assert.deepEqual(nothing.decide(request).reasons, ['nothing']);
  assert.equal(engine.decide(request).decision, 'allow');
});

const refusals: readonly { name: string; sources: PolicySources; code: string; message: RegExp }[] = [
  {
    name: 'syntax error',
    sources: { policiesText: '@id("a") permit (principal, action, resource', schemaText },
    code: 'malformed',
    message: /does not parse/,
  },
  {
    name: 'attribute not in the schema',
    sources: {
      policiesText:
        '@id("a") permit (principal is Vouch::Staff, action, resource) when { principal.clearance == "top" };',
      schemaText,
    },
    code: 'invalid-argument',
    message: /policy a does not validate.*clearance/,
  },
  {
    name: 'unknown entity type',
    sources: { policiesText: '@id("a") permit (principal is Vouch::Robot, action, resource);', schemaText },
    code: 'invalid-argument',
    message: /policy a does not validate/,
  },
  {
    name: 'policy without @id',
    sources: { policiesText: 'permit (principal, action, resource);', schemaText },
    code: 'invalid-argument',
    message: /has no @id/,
  },
  {
    name: 'repeated @id',
    sources: {
      policiesText:
        '@id("a") permit (principal, action, resource);\n@id("a") forbid (principal, action, resource);',
      schemaText,
    },
    code: 'invalid-argument',
    message: /used twice/,
  },
  {
    name: 'template',
    sources: { policiesText: '@id("t") permit (principal == ?principal, action, resource);', schemaText },
    code: 'invalid-argument',
    message: /templates/,
  },
  {
    name: 'empty policy set',
    sources: { policiesText: '// nothing\n', schemaText },
    code: 'invalid-argument',
    message: /empty/,
  },
  {
    name: 'broken schema',
    sources: { policiesText, schemaText: 'namespace Vouch { entity Site = { country: Strin }; }' },
    code: 'malformed',
    message: /refused/,
  },
  {
    name: 'policy text over the size bound',
    sources: { policiesText: `${policiesText}${'/'.repeat(1024 * 1024)}`, schemaText },
    code: 'too-large',
    message: /larger than/,
  },
  {
    name: 'policy bytes that are not UTF-8',
    sources: { policiesText: new Uint8Array([0x40, 0xff, 0xfe]), schemaText },
    code: 'malformed',
    message: /policy text/,
  },
];

for (const row of refusals) {
  test(`load refuses: ${row.name}`, () => {
    assert.throws(
      () => PolicyEngine.load(row.sources),
      (error: unknown) => isVouchError(error) && error.code === row.code && row.message.test(error.message),
    );
  });
}

test('readPolicyFiles: refuses a folder without the policy files', async () => {
  await assert.rejects(readPolicyFiles(join(defaultPolicyDir, 'no-such-folder')), (error: unknown) =>
    isVouchError(error, 'not-found'),
  );
  assert.equal(schemaFileName, 'vouch.cedarschema');
});

test('decide: any field replaced by junk gives a decision, never a throw; errors always deny', () => {
  const base: PolicyRequest = {
    principal: { type: 'Staff', ...swissStaff },
    action: 'access',
    resource: telemetry(japan),
    context: ticketed(zrh, { approval: { valid: true, expiresAt: later } }),
  };
  const paths = [
    ['principal', 'type'],
    ['principal', 'officeCountry'],
    ['principal', 'site'],
    ['action'],
    ['resource', 'kind'],
    ['resource', 'tenant'],
    ['resource', 'tenant', 'site'],
    ['resource', 'tenant', 'residency'],
    ['context', 'site'],
    ['context', 'ticket'],
    ['context', 'approval'],
    ['context', 'approval', 'expiresAt'],
    ['context', 'now'],
  ] as const;
  const junk = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: false }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  );
  fc.assert(
    fc.property(fc.constantFrom(...paths), junk, (path, value) => {
      const request = structuredClone(base) as unknown as Record<string, unknown>;
      let holder = request;
      for (const key of path.slice(0, -1)) holder = holder[key] as Record<string, unknown>;
      holder[path[path.length - 1] as string] = value;
      const got = engine.decide(request as unknown as PolicyRequest);
      assert.ok(got.decision === 'allow' || got.decision === 'deny');
      if (got.errors.length > 0) assert.equal(got.decision, 'deny');
      if (got.decision === 'allow') assert.deepEqual(got.reasons, ['staff-justified-access']);
    }),
    { seed: 0x8ced, numRuns: 300 },
  );
});
