/**
 * Tenant records and migration records (issue 8 "Tenants are registered with a contract
 * country; a change of a tenant's site is an explicit, logged migration, never a silent
 * re-route"; data-residency.md §8.1).
 *
 * A tenant record is canonical JSON, version 1:
 *
 * ```
 * {"_type":"https://vouch.example/tenant/v1","approvalKey":"<signed-note vkey>","approvalRequired":true,
 *  "contractCountry":"JP","created":"2025-01-01T00:00:00Z","id":"acme","name":"Acme KK",
 *  "registryVersion":1,"site":"ch-zrh"}
 * ```
 *
 * `site` is derived by {@link newTenant} from the registry of `registryVersion`
 * (`siteForCountry`), never chosen. `approvalKey` is optional: the customer's key for approving
 * staff access (a c2sp.org/signed-note vkey of type 0x01 Ed25519 or 0x02 ECDSA P-256; the
 * approval itself is a DSSE envelope, see `access.ts`); `approvalRequired` (the contract demands
 * the customer's approval for every staff access) needs an `approvalKey`.
 *
 * A migration record moves one tenant between sites, canonical JSON:
 *
 * ```
 * {"_type":"https://vouch.example/tenant-migration/v1","approvals":["alice","bob"],"from":"ru-mow",
 *  "reason":"registry v2 moves BR to ch-zrh","registryVersion":2,"tenant":"acme",
 *  "time":"2025-02-01T00:00:00Z","to":"ch-zrh"}
 * ```
 *
 * {@link decideTenantSite} replays a tenant's migrations over its registration: the site is the
 * registration's (which is `siteForCountry` of its registry) unless a migration says otherwise.
 * When a newer registry names another site for the country, the tenant stays where it is and
 * the decision says a migration is due: a registry change never re-routes data by itself.
 * This module does not store or log records, and does not move data.
 */

import type { Verifier } from '../crypto/index.ts';
import { tooLarge, VouchError } from '../errors.ts';
import { isJsonArray, type JsonValue } from '../json/index.ts';
import { parseVerifierKey, signatureTypes, verifierOfVkey } from '../note/index.ts';
import { type CountryCode, countryCodeProblem } from './countries.ts';
import {
  type CanonicalRecord,
  type Check,
  formatCanonicalRecord,
  matches,
  Problems,
  parseCanonicalRecord,
  readBoolean,
  readInteger,
  readObject,
  readString,
  text,
  time,
} from './fields.ts';
import { type SiteId, siteIdProblem, tenantIdProblem } from './ids.ts';
import { type ResidencyClass, type SiteRegistry, siteForCountry, siteOf } from './registry.ts';
import { parseTime } from './time.ts';

/** tenantRecordType is the `_type` of a tenant record. */
export const tenantRecordType = 'https://vouch.example/tenant/v1';

/** migrationRecordType is the `_type` of a migration record. */
export const migrationRecordType = 'https://vouch.example/tenant-migration/v1';

/** maxTenantRecordBytes bounds a tenant record (an ML-DSA vkey would not fit; those cannot sign DSSE here). */
export const maxTenantRecordBytes = 8 * 1024;

/** maxMigrationRecordBytes bounds a migration record. */
export const maxMigrationRecordBytes = 8 * 1024;

/** maxApprovals bounds the approvers listed in a migration record. */
export const maxApprovals = 16;

/** TenantRecord is a registered customer. */
export interface TenantRecord {
  readonly id: string;
  readonly name: string;
  readonly contractCountry: CountryCode;
  /** site is where the tenant was registered: `siteForCountry` of registry `registryVersion`. */
  readonly site: SiteId;
  readonly registryVersion: number;
  /** approvalKey is the customer's signed-note vkey for approving staff access, when it has one. */
  readonly approvalKey?: string;
  readonly approvalRequired: boolean;
  readonly created: string;
}

/** MigrationRecord moves one tenant from one site to another. */
export interface MigrationRecord {
  readonly tenant: string;
  readonly from: SiteId;
  readonly to: SiteId;
  readonly reason: string;
  /** registryVersion is the registry in force when the migration was decided. */
  readonly registryVersion: number;
  /** approvals lists the distinct people who approved the migration. */
  readonly approvals: readonly string[];
  readonly time: string;
}

const tenantName = text(256);
const reasonText = text(1024);
const approverId = matches(
  /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/,
  'not an approver id (1 to 128 of [A-Za-z0-9._@+-])',
);
const countryCheck: Check = (value) => countryCodeProblem(value);

/**
 * approvalKeyProblem returns why `vkey` cannot be a tenant's approval key, or undefined: it must
 * parse as a signed-note vkey of type 0x01 (Ed25519) or 0x02 (ECDSA P-256).
 */
export function approvalKeyProblem(vkey: string): string | undefined {
  try {
    const key = parseVerifierKey(vkey);
    if (key.type !== signatureTypes.ed25519 && key.type !== signatureTypes.ecdsa) {
      return 'not an Ed25519 (0x01) or ECDSA P-256 (0x02) key';
    }
    return undefined;
  } catch {
    return 'not a valid signed-note verifier key';
  }
}

/**
 * approvalVerifier returns the core/crypto verifier of a tenant's approval key, for checking a
 * DSSE approval, or throws `not-found` when the tenant has none.
 */
export function approvalVerifier(tenant: TenantRecord): Verifier {
  if (tenant.approvalKey === undefined) {
    throw new VouchError('not-found', `tenant ${tenant.id} has no approval key`, { field: 'approvalKey' });
  }
  return verifierOfVkey(tenant.approvalKey);
}

/** NewTenantInput is what onboarding knows about a customer; the site comes from the registry. */
export interface NewTenantInput {
  readonly id: string;
  readonly name: string;
  readonly contractCountry: string;
  readonly approvalKey?: string;
  readonly approvalRequired: boolean;
  readonly created: string;
}

/**
 * newTenant registers a tenant: its site is `siteForCountry(registry, contractCountry)` and its
 * registry version the registry's. It throws `invalid-argument` for an invalid country (saying
 * why: "UK is not an ISO 3166-1 code; the United Kingdom is GB") or any other bad field.
 */
export function newTenant(input: NewTenantInput, registry: SiteRegistry): TenantRecord {
  const assignment = siteForCountry(registry, input.contractCountry);
  return parseTenantRecord(
    formatTenantRecord({
      id: input.id,
      name: input.name,
      contractCountry: assignment.country,
      site: assignment.site,
      registryVersion: registry.version,
      ...(input.approvalKey === undefined ? {} : { approvalKey: input.approvalKey }),
      approvalRequired: input.approvalRequired,
      created: input.created,
    }),
  );
}

const tenantRecordKind: CanonicalRecord<TenantRecord> = {
  what: 'tenant record',
  maxBytes: maxTenantRecordBytes,
  maxDepth: 2,
  toJson: (tenant) => {
    return {
      _type: tenantRecordType,
      id: tenant.id,
      name: tenant.name,
      contractCountry: tenant.contractCountry,
      site: tenant.site,
      registryVersion: tenant.registryVersion,
      ...(tenant.approvalKey === undefined ? {} : { approvalKey: tenant.approvalKey }),
      approvalRequired: tenant.approvalRequired,
      created: tenant.created,
    };
  },
  read: (value) => readTenant(value),
};

/** formatTenantRecord returns a tenant record's canonical JSON, or throws `invalid-argument` naming every bad field. */
export function formatTenantRecord(tenant: TenantRecord): Uint8Array {
  return formatCanonicalRecord(tenantRecordKind, tenant);
}

/**
 * parseTenantRecord reads a tenant record: `too-large` over {@link maxTenantRecordBytes},
 * `malformed` naming every bad field or for bytes that are not the canonical encoding.
 */
export function parseTenantRecord(bytes: Uint8Array): TenantRecord {
  return parseCanonicalRecord(tenantRecordKind, bytes);
}

function readTenant(value: JsonValue): TenantRecord {
  const problems = new Problems();
  const o = readObject(
    value,
    [],
    problems,
    ['_type', 'id', 'name', 'contractCountry', 'site', 'registryVersion', 'approvalRequired', 'created'],
    ['approvalKey'],
  );
  if (o === undefined) {
    problems.throwIfAny('tenant record');
    throw new VouchError('invariant', 'internal error: tenant record missing after validation');
  }
  readString(o, [], '_type', problems, (v) =>
    v === tenantRecordType ? undefined : `not ${tenantRecordType}`,
  );
  const approvalKey = readString(o, [], 'approvalKey', problems, approvalKeyProblem, true);
  const approvalRequired = readBoolean(o, [], 'approvalRequired', problems);
  if (approvalRequired === true && approvalKey === undefined && !Object.hasOwn(o, 'approvalKey')) {
    problems.add(['approvalKey'], 'missing: approvalRequired needs an approval key');
  }
  const tenant = {
    id: readString(o, [], 'id', problems, tenantIdProblem),
    name: readString(o, [], 'name', problems, tenantName),
    contractCountry: readString(o, [], 'contractCountry', problems, countryCheck),
    site: readString(o, [], 'site', problems, siteIdProblem),
    registryVersion: readInteger(o, [], 'registryVersion', problems, 1, Number.MAX_SAFE_INTEGER),
    ...(approvalKey === undefined ? {} : { approvalKey }),
    approvalRequired,
    created: readString(o, [], 'created', problems, time),
  };
  problems.throwIfAny('tenant record');
  return Object.freeze(tenant) as TenantRecord;
}

const migrationRecordKind: CanonicalRecord<MigrationRecord> = {
  what: 'migration record',
  maxBytes: maxMigrationRecordBytes,
  maxDepth: 2,
  toJson: (migration) => {
    return {
      _type: migrationRecordType,
      tenant: migration.tenant,
      from: migration.from,
      to: migration.to,
      reason: migration.reason,
      registryVersion: migration.registryVersion,
      approvals: [...migration.approvals],
      time: migration.time,
    };
  },
  read: (value) => readMigration(value),
};

/** formatMigrationRecord returns a migration record's canonical JSON, or throws `invalid-argument` naming every bad field. */
export function formatMigrationRecord(migration: MigrationRecord): Uint8Array {
  return formatCanonicalRecord(migrationRecordKind, migration);
}

/**
 * parseMigrationRecord reads a migration record: `too-large` over
 * {@link maxMigrationRecordBytes} or {@link maxApprovals}, `malformed` naming every bad field
 * (`approvals[1]`: a duplicate; `to`: the same as `from`) or for non-canonical bytes.
 */
export function parseMigrationRecord(bytes: Uint8Array): MigrationRecord {
  return parseCanonicalRecord(migrationRecordKind, bytes);
}

function readMigration(value: JsonValue): MigrationRecord {
  const problems = new Problems();
  const o = readObject(value, [], problems, [
    '_type',
    'tenant',
    'from',
    'to',
    'reason',
    'registryVersion',
    'approvals',
    'time',
  ]);
  if (o === undefined) {
    problems.throwIfAny('migration record');
    throw new VouchError('invariant', 'internal error: migration record missing after validation');
  }
  readString(o, [], '_type', problems, (v) =>
    v === migrationRecordType ? undefined : `not ${migrationRecordType}`,
  );
  const from = readString(o, [], 'from', problems, siteIdProblem);
  const to = readString(o, [], 'to', problems, siteIdProblem);
  if (from !== undefined && from === to) problems.add(['to'], 'the same site as from');
  const approvals: string[] = [];
  const list = o['approvals'];
  if (!isJsonArray(list)) {
    if (list !== undefined) problems.add(['approvals'], 'not an array');
  } else if (list.length > maxApprovals) {
    throw tooLarge('migration record approvals', maxApprovals, 'approvals');
  } else if (list.length === 0) {
    problems.add(['approvals'], 'empty: a migration needs an approval');
  } else {
    list.forEach((entry, i) => {
      const problem = typeof entry !== 'string' ? 'not a string' : approverId(entry);
      if (problem !== undefined) problems.add(['approvals', i], problem);
      else if (approvals.includes(entry as string)) problems.add(['approvals', i], 'a duplicate approver');
      else approvals.push(entry as string);
    });
  }
  const migration = {
    tenant: readString(o, [], 'tenant', problems, tenantIdProblem),
    from,
    to,
    reason: readString(o, [], 'reason', problems, reasonText),
    registryVersion: readInteger(o, [], 'registryVersion', problems, 1, Number.MAX_SAFE_INTEGER),
    approvals: Object.freeze(approvals),
    time: readString(o, [], 'time', problems, time),
  };
  problems.throwIfAny('migration record');
  return Object.freeze(migration) as MigrationRecord;
}

/** TenantSiteDecision says where a tenant's data lives and whether that still fits the registry. */
export interface TenantSiteDecision {
  readonly tenant: string;
  /** site is where the tenant's data is stored and processed now. */
  readonly site: SiteId;
  /** url is that site's base URL, for redirecting an agent (421). */
  readonly url: string;
  /** source says whether the site comes from the registration or from the last migration. */
  readonly source: 'registration' | 'migration';
  /** migration is the last migration applied, when source is `migration`. */
  readonly migration?: MigrationRecord;
  /** residency is the class the registry gives the contract country now. */
  readonly residency: ResidencyClass;
  /** siteResidency is the class of `site`. */
  readonly siteResidency: ResidencyClass;
  /** registrySite is the site the registry names for the contract country now. */
  readonly registrySite: SiteId;
  /** migrationDue is true when `registrySite` differs from `site`: a migration record is needed to move. */
  readonly migrationDue: boolean;
  /** compliant is true when the site's class is the country's class; policy must deny otherwise. */
  readonly compliant: boolean;
}

/** DecideTenantSiteOptions tunes {@link decideTenantSite}. */
export interface DecideTenantSiteOptions {
  /** minApprovals is how many distinct approvers a migration needs (default 2, data-residency.md §8.1). */
  readonly minApprovals?: number;
}

/**
 * decideTenantSite returns where `tenant` lives under `registry`, given its migration records in
 * the order they were logged. The site is the registration's unless a migration moved it; each
 * migration must be this tenant's (`invalid-argument`), start where the previous one ended, come
 * no earlier than the previous one or the registration, cite a registry version from the
 * tenant's to `registry`'s, carry `minApprovals` approvals, and end at a site of `registry`
 * (each refusal is `policy-unmet` naming `migrations[i].<field>`). A tenant record that claims
 * another site than its own registry version gives is `policy-unmet`; a `registry` older than the
 * tenant's is `invalid-argument`.
 */
export function decideTenantSite(
  tenant: TenantRecord,
  registry: SiteRegistry,
  migrations: readonly MigrationRecord[] = [],
  options: DecideTenantSiteOptions = {},
): TenantSiteDecision {
  const minApprovals = options.minApprovals ?? 2;
  if (!Number.isSafeInteger(minApprovals) || minApprovals < 1 || minApprovals > maxApprovals) {
    throw new VouchError('invalid-argument', `minApprovals must be from 1 to ${maxApprovals}`);
  }
  if (registry.version < tenant.registryVersion) {
    throw new VouchError(
      'invalid-argument',
      `the site registry (version ${registry.version}) is older than tenant ${tenant.id}'s (version ${tenant.registryVersion})`,
      { field: 'registryVersion' },
    );
  }
  const assignment = siteForCountry(registry, tenant.contractCountry);
  if (registry.version === tenant.registryVersion && assignment.site !== tenant.site) {
    throw new VouchError(
      'policy-unmet',
      `tenant ${tenant.id} claims site ${tenant.site} but registry version ${registry.version} maps ${tenant.contractCountry} to ${assignment.site}`,
      { field: 'site' },
    );
  }
  let site = tenant.site;
  let last: MigrationRecord | undefined;
  let since = parseTime(tenant.created, 'created');
  migrations.forEach((m, i) => {
    const refuse = (field: string, what: string): never => {
      throw new VouchError('policy-unmet', `migration ${i} of tenant ${tenant.id} ${what}`, {
        field: `migrations[${i}].${field}`,
      });
    };
    if (m.tenant !== tenant.id) {
      throw new VouchError('invalid-argument', `migration ${i} is not tenant ${tenant.id}'s`, {
        field: `migrations[${i}].tenant`,
      });
    }
    if (m.from !== site) refuse('from', `starts at ${m.from}, but the tenant is at ${site}`);
    const at = parseTime(m.time, `migrations[${i}].time`);
    if (at < since) refuse('time', 'is dated before the registration or the previous migration');
    if (m.registryVersion < tenant.registryVersion || m.registryVersion > registry.version) {
      refuse(
        'registryVersion',
        `cites registry version ${m.registryVersion}, outside ${tenant.registryVersion} to ${registry.version}`,
      );
    }
    if (new Set(m.approvals).size < minApprovals) {
      refuse('approvals', `has ${new Set(m.approvals).size} of the ${minApprovals} approvals required`);
    }
    if (!Object.hasOwn(registry.sites, m.to))
      refuse('to', `moves to ${m.to}, which is not in the site registry`);
    site = m.to;
    since = at;
    last = m;
  });
  const current = siteOf(registry, site);
  return Object.freeze({
    tenant: tenant.id,
    site,
    url: current.url,
    source: last === undefined ? 'registration' : 'migration',
    ...(last === undefined ? {} : { migration: last }),
    residency: assignment.residency,
    siteResidency: current.residency,
    registrySite: assignment.site,
    migrationDue: assignment.site !== site,
    compliant: assignment.residency === current.residency,
  });
}
