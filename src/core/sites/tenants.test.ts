import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { toBytes, toText } from '../bytes/index.ts';
import { createSigner, generateKey } from '../crypto/index.ts';
import { isVouchError, type VouchError } from '../errors.ts';
import { createNoteSigner, formatVerifierKey } from '../note/index.ts';
import { buildSiteRegistry, defaultSiteRegistry } from './registry.ts';
import {
  approvalVerifier,
  decideTenantSite,
  formatMigrationRecord,
  formatTenantRecord,
  type MigrationRecord,
  newTenant,
  parseMigrationRecord,
  parseTenantRecord,
  type TenantRecord,
} from './tenants.ts';

const registry = defaultSiteRegistry();
const signer = createSigner('acme-approver', generateKey('ed25519'));
const vkey = formatVerifierKey(createNoteSigner(signer));
const created = '2025-01-01T00:00:00Z';

const acme = newTenant(
  { id: 'acme', name: 'Acme KK', contractCountry: 'JP', approvalKey: vkey, approvalRequired: true, created },
  registry,
);
const bravo = newTenant(
  { id: 'bravo', name: 'Bravo Ltda', contractCountry: 'BR', approvalRequired: false, created },
  registry,
);

test('newTenant derives the site from the registry', () => {
  assert.equal(acme.site, 'ch-zrh');
  assert.equal(bravo.site, 'ru-mow');
  assert.equal(acme.registryVersion, 1);
  assert.equal(
    newTenant(
      { id: 'brit', name: 'Brit plc', contractCountry: 'GB', approvalRequired: false, created },
      registry,
    ).site,
    'ch-zrh',
  );
  assert.throws(
    () =>
      newTenant(
        { id: 'brit', name: 'Brit plc', contractCountry: 'UK', approvalRequired: false, created },
        registry,
      ),
    (e: unknown) => isVouchError(e, 'invalid-argument') && /United Kingdom is GB/.test(e.message),
  );
  assert.equal(approvalVerifier(acme).keyId, signer.keyId);
  assert.throws(
    () => approvalVerifier(bravo),
    (e: unknown) => isVouchError(e, 'not-found'),
  );
});

test('tenant records round-trip through canonical JSON', () => {
  for (const tenant of [acme, bravo]) {
    const bytes = formatTenantRecord(tenant);
    assert.deepEqual(parseTenantRecord(bytes), tenant);
    assert.deepEqual(formatTenantRecord(parseTenantRecord(bytes)), bytes);
  }
  assert.ok(
    toText(formatTenantRecord(bravo)).startsWith(
      '{"_type":"https://vouch.example/tenant/v1","approvalRequired":false,',
    ),
  );
});

function tenantWith(change: (d: Record<string, unknown>) => void, base: TenantRecord = acme): Uint8Array {
  const doc = JSON.parse(toText(formatTenantRecord(base))) as Record<string, unknown>;
  change(doc);
  const sorted = Object.fromEntries(Object.entries(doc).sort(([a], [b]) => (a < b ? -1 : 1)));
  return toBytes(JSON.stringify(sorted));
}

function assertRefused(parse: () => unknown, field: string, name: string, pattern?: RegExp): void {
  assert.throws(
    parse,
    (e: unknown) => {
      assert.ok(isVouchError(e, 'malformed'), `${name}: ${String(e)}`);
      const err = e as VouchError;
      const fields = (err.details.fields as string[] | undefined) ?? [];
      assert.ok(
        err.details.field === field || fields.includes(field),
        `${name}: ${JSON.stringify(err.details)}`,
      );
      if (pattern !== undefined) assert.match(JSON.stringify(err.details) + err.message, pattern, name);
      return true;
    },
    name,
  );
}

test('parseTenantRecord refuses bad records naming the field', () => {
  const rows: [string, Uint8Array, string, RegExp?][] = [
    [
      'UK',
      tenantWith((d) => {
        d['contractCountry'] = 'UK';
      }),
      'contractCountry',
      /United Kingdom is GB/,
    ],
    [
      'EL',
      tenantWith((d) => {
        d['contractCountry'] = 'EL';
      }),
      'contractCountry',
      /Greece is GR/,
    ],
    [
      'XK',
      tenantWith((d) => {
        d['contractCountry'] = 'XK';
      }),
      'contractCountry',
      /user-assigned/,
    ],
    [
      'bad site',
      tenantWith((d) => {
        d['site'] = 'zrh';
      }),
      'site',
    ],
    [
      'bad id',
      tenantWith((d) => {
        d['id'] = '-acme';
      }),
      'id',
    ],
    [
      'empty name',
      tenantWith((d) => {
        d['name'] = '';
      }),
      'name',
    ],
    [
      'bad vkey',
      tenantWith((d) => {
        d['approvalKey'] = 'acme+00000000+AAAA';
      }),
      'approvalKey',
    ],
    [
      'required without key',
      tenantWith((d) => {
        delete d['approvalKey'];
      }),
      'approvalKey',
      /approvalRequired/,
    ],
    [
      'string flag',
      tenantWith((d) => {
        d['approvalRequired'] = 'yes';
      }),
      'approvalRequired',
    ],
    [
      'bad time',
      tenantWith((d) => {
        d['created'] = '2025-01-01';
      }),
      'created',
    ],
    [
      'version 0',
      tenantWith((d) => {
        d['registryVersion'] = 0;
      }),
      'registryVersion',
    ],
    [
      'unknown field',
      tenantWith((d) => {
        d['residency'] = 'neutral';
      }),
      'residency',
    ],
    ['not canonical', toBytes(toText(formatTenantRecord(acme)).replace('{', '{ ')), '$'],
  ];
  for (const [name, bytes, field, pattern] of rows)
    assertRefused(() => parseTenantRecord(bytes), field, name, pattern);
});

const toZrh: MigrationRecord = {
  tenant: 'bravo',
  from: 'ru-mow',
  to: 'ch-zrh',
  reason: 'registry v2 moves BR to ch-zrh',
  registryVersion: 2,
  approvals: ['alice', 'bob'],
  time: '2025-02-01T00:00:00Z',
};

test('migration records round-trip and refuse bad fields by name', () => {
  const bytes = formatMigrationRecord(toZrh);
  assert.deepEqual(parseMigrationRecord(bytes), toZrh);
  const edit = (change: (d: Record<string, unknown>) => void): Uint8Array => {
    const doc = JSON.parse(toText(bytes)) as Record<string, unknown>;
    change(doc);
    return toBytes(
      JSON.stringify(Object.fromEntries(Object.entries(doc).sort(([a], [b]) => (a < b ? -1 : 1)))),
    );
  };
  const rows: [string, Uint8Array, string][] = [
    [
      'same site',
      edit((d) => {
        d['to'] = 'ru-mow';
      }),
      'to',
    ],
    [
      'duplicate approver',
      edit((d) => {
        d['approvals'] = ['alice', 'alice'];
      }),
      'approvals[1]',
    ],
    [
      'no approvals',
      edit((d) => {
        d['approvals'] = [];
      }),
      'approvals',
    ],
    [
      'bad approver',
      edit((d) => {
        d['approvals'] = ['alice', 'b ob'];
      }),
      'approvals[1]',
    ],
    [
      'bad from',
      edit((d) => {
        d['from'] = 'uk-lon';
      }),
      'from',
    ],
    [
      'missing reason',
      edit((d) => {
        delete d['reason'];
      }),
      'reason',
    ],
    [
      'bad time',
      edit((d) => {
        d['time'] = 'yesterday';
      }),
      'time',
    ],
  ];
  for (const [name, b, field] of rows) assertRefused(() => parseMigrationRecord(b), field, name);
  assert.throws(
    () =>
      parseMigrationRecord(
        edit((d) => {
          d['approvals'] = Array.from({ length: 17 }, (_, i) => `p${i}`);
        }),
      ),
    (e: unknown) => isVouchError(e, 'too-large') && e.details.field === 'approvals',
  );
});

const v2 = buildSiteRegistry({
  version: 2,
  sites: registry.sites,
  countries: { ...registry.countries, BR: { residency: 'neutral', site: 'ch-zrh' } },
});

test('decideTenantSite: the registration site, unless a migration says otherwise; never a silent re-route', () => {
  const d1 = decideTenantSite(acme, registry);
  assert.equal(d1.site, 'ch-zrh');
  assert.equal(d1.source, 'registration');
  assert.equal(d1.url, 'https://ch-zrh.vouch.example/');
  assert.equal(d1.migrationDue, false);
  assert.equal(d1.compliant, true);

  // Registry v2 moves BR to the neutral site: bravo stays at ru-mow until a migration is logged.
  const due = decideTenantSite(bravo, v2);
  assert.equal(due.site, 'ru-mow');
  assert.equal(due.registrySite, 'ch-zrh');
  assert.equal(due.migrationDue, true);
  assert.equal(due.compliant, false);

  const moved = decideTenantSite(bravo, v2, [toZrh]);
  assert.equal(moved.site, 'ch-zrh');
  assert.equal(moved.source, 'migration');
  assert.deepEqual(moved.migration, toZrh);
  assert.equal(moved.migrationDue, false);
  assert.equal(moved.compliant, true);
});

test('decideTenantSite refuses broken migration chains naming the migration and field', () => {
  const rows: [string, MigrationRecord[], string, string][] = [
    ['wrong start', [{ ...toZrh, from: 'ch-zrh', to: 'ru-mow' }], 'migrations[0].from', 'policy-unmet'],
    ['one approval', [{ ...toZrh, approvals: ['alice'] }], 'migrations[0].approvals', 'policy-unmet'],
    ['future registry', [{ ...toZrh, registryVersion: 3 }], 'migrations[0].registryVersion', 'policy-unmet'],
    [
      'before registration',
      [{ ...toZrh, time: '2024-12-31T23:59:59Z' }],
      'migrations[0].time',
      'policy-unmet',
    ],
    ['unknown site', [{ ...toZrh, to: 'ch-gva' }], 'migrations[0].to', 'policy-unmet'],
    [
      'out of order',
      [toZrh, { ...toZrh, from: 'ch-zrh', to: 'ru-mow', time: '2025-01-15T00:00:00Z' }],
      'migrations[1].time',
      'policy-unmet',
    ],
    ['other tenant', [{ ...toZrh, tenant: 'acme' }], 'migrations[0].tenant', 'invalid-argument'],
  ];
  for (const [name, migrations, field, code] of rows) {
    assert.throws(
      () => decideTenantSite(bravo, v2, migrations),
      (e: unknown) => isVouchError(e) && e.code === code && e.details.field === field,
      name,
    );
  }
  // A tenant record claiming another site than its registry version gives is refused.
  const forged = { ...bravo, site: 'ch-zrh' };
  assert.throws(
    () => decideTenantSite(forged, registry),
    (e: unknown) => isVouchError(e, 'policy-unmet'),
  );
  // A registry older than the tenant's is a caller error.
  const later = { ...bravo, registryVersion: 2 };
  assert.throws(
    () => decideTenantSite(later, registry),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
  // One approval suffices when the caller's policy says so.
  assert.equal(
    decideTenantSite(bravo, v2, [{ ...toZrh, approvals: ['alice'] }], { minApprovals: 1 }).site,
    'ch-zrh',
  );
});

test('property: tenant records with arbitrary valid fields round-trip', () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/),
      fc
        .string({ minLength: 1, maxLength: 50 })
        .filter((s) => s.trim() === s && s.length > 0 && !/\p{Cc}/u.test(s) && s.isWellFormed()),
      fc.constantFrom('JP', 'BR', 'GB', 'GR', 'US', 'RU', 'CN', 'CH'),
      fc.boolean(),
      (id, name, country, withKey) => {
        const t = newTenant(
          {
            id,
            name,
            contractCountry: country,
            ...(withKey ? { approvalKey: vkey } : {}),
            approvalRequired: withKey,
            created,
          },
          registry,
        );
        assert.deepEqual(parseTenantRecord(formatTenantRecord(t)), t);
      },
    ),
    { seed: 91, numRuns: 100 },
  );
});

test('property: mutated tenant and migration bytes give a value or our typed error', () => {
  const inputs = [formatTenantRecord(acme), formatMigrationRecord(toZrh)];
  fc.assert(
    fc.property(fc.nat(1), fc.nat(10_000), fc.integer({ min: 0, max: 255 }), (which, at, value) => {
      const base = inputs[which] as Uint8Array;
      const mutated = new Uint8Array(base);
      mutated[at % base.length] = value;
      try {
        if (which === 0) parseTenantRecord(mutated);
        else parseMigrationRecord(mutated);
      } catch (e) {
        assert.ok(isVouchError(e, 'malformed') || isVouchError(e, 'too-large'), String(e));
      }
    }),
    { seed: 92, numRuns: 400 },
  );
});
