/**
 * The typed inputs of the policy decision point and their mapping to Cedar's JSON forms.
 *
 * Callers describe a request with plain objects — a tenant `{ id, contractCountry, residency,
 * site, approvalRequired }`, a staff member `{ id, employer, officeCountry, physicalCountry, role,
 * site }`, a job, an endpoint, a site, and a context with the deciding site, the time and the
 * approval — and this module turns them into the entity uids, the entity list and the context
 * record of `policies/vouch.cedarschema` (namespace `Vouch`). Every entity a policy may
 * dereference is derived from the request itself (the tenant of a `TenantData`, the deciding
 * site), so a caller cannot forget one.
 *
 * The mapping checks shapes and bounds and reports every problem as a message instead of
 * throwing: the engine turns problems into a deny (fail closed). It does not check meaning (that
 * a site id exists, that an approval's signature verifies): the caller does, and the policy
 * decides on the result. Cedar checks the mapped values once more against the schema.
 */

/** PolicyActionName names the actions of the schema; others are refused by Cedar as unknown. */
export type PolicyActionName = 'ingest' | 'read' | 'process' | 'export' | 'erase' | 'access';

/** Residency is a tenant's residency class: `neutral` (only at ch-zrh) or `home` (its home site). */
export type Residency = 'neutral' | 'home';

/** SiteInput is a data site: its id (`ch-zrh`) and its ISO 3166-1 alpha-2 country. */
export interface SiteInput {
  readonly id: string;
  readonly country: string;
}

/** TenantInput is a customer as the site registry knows it; `site` is a site id. */
export interface TenantInput {
  readonly id: string;
  readonly contractCountry: string;
  readonly residency: Residency;
  readonly site: string;
  readonly approvalRequired: boolean;
}

/** StaffInput is a person; the countries are ISO alpha-2 and `site` is the assigned site's id. */
export interface StaffInput {
  readonly id: string;
  readonly employer: string;
  readonly officeCountry: string;
  readonly physicalCountry: string;
  readonly role: string;
  readonly site: string;
}

/** JobInput is a registered processing job: its purpose and the id of the site it runs at. */
export interface JobInput {
  readonly id: string;
  readonly purpose: string;
  readonly site: string;
}

/** EndpointInput is an endpoint agent bound by its credential to the tenant with id `tenant`. */
export interface EndpointInput {
  readonly id: string;
  readonly tenant: string;
}

/** TenantDataInput is one kind of a tenant's data (`telemetry`, `samples`); its entity id is `tenant/kind`. */
export interface TenantDataInput {
  readonly tenant: TenantInput;
  readonly kind: string;
}

/** PolicyPrincipal is who acts, tagged with its entity type. */
export type PolicyPrincipal =
  | ({ readonly type: 'Site' } & SiteInput)
  | ({ readonly type: 'Staff' } & StaffInput)
  | ({ readonly type: 'Job' } & JobInput)
  | ({ readonly type: 'Endpoint' } & EndpointInput);

/** PolicyResource is what is acted on, tagged with its entity type. */
export type PolicyResource =
  | ({ readonly type: 'Tenant' } & TenantInput)
  | ({ readonly type: 'TenantData' } & TenantDataInput);

/** PolicyEntity is any entity a caller may add to a request (for instance another site with its country). */
export type PolicyEntity = PolicyPrincipal | PolicyResource;

/** ApprovalInput is a customer's approval the caller has checked: `valid` when its signature verified. */
export interface ApprovalInput {
  readonly valid: boolean;
  readonly expiresAt: Date;
}

/** PolicyContextInput is the context of a decision; absent strings are empty, an absent approval is "not present". */
export interface PolicyContextInput {
  /** site is the site where the decision runs. */
  readonly site: SiteInput;
  /** now is the decision time (injected, never read from a clock here). */
  readonly now: Date;
  readonly purpose?: string;
  readonly justification?: string;
  readonly ticket?: string;
  readonly approval?: ApprovalInput;
}

/** PolicyRequest is one question to the policy decision point. */
export interface PolicyRequest {
  readonly principal: PolicyPrincipal;
  readonly action: PolicyActionName;
  readonly resource: PolicyResource;
  readonly context: PolicyContextInput;
  /** entities are added to those derived from the request; an entity given twice must be identical. */
  readonly entities?: readonly PolicyEntity[];
}

/** CedarUid is an entity uid in Cedar's JSON form. */
export interface CedarUid {
  readonly type: string;
  readonly id: string;
}

/** CedarValue is the subset of Cedar JSON values this mapping produces. */
export type CedarValue =
  | string
  | boolean
  | { readonly __entity: CedarUid }
  | { readonly __extn: { readonly fn: string; readonly arg: string } }
  | { readonly [key: string]: CedarValue };

/** CedarEntity is one entity in Cedar's JSON form, without parents (the schema has no hierarchy). */
export interface CedarEntity {
  readonly uid: CedarUid;
  readonly attrs: Readonly<Record<string, CedarValue>>;
  readonly parents: readonly CedarUid[];
}

/** CedarRequest is a request mapped to Cedar's JSON forms, ready for evaluation. */
export interface CedarRequest {
  readonly principal: CedarUid;
  readonly action: CedarUid;
  readonly resource: CedarUid;
  readonly context: Readonly<Record<string, CedarValue>>;
  readonly entities: readonly CedarEntity[];
}

/** MappedRequest is either the Cedar request or every problem found in the input. */
export type MappedRequest =
  | { readonly ok: true; readonly request: CedarRequest }
  | { readonly ok: false; readonly errors: readonly string[] };

/** policyNamespace is the schema's namespace. */
export const policyNamespace = 'Vouch';

/** maxIdLength bounds every id and name; maxTextLength bounds purpose, justification and ticket. */
export const maxIdLength = 256;
export const maxTextLength = 4096;
/** maxExtraEntities bounds the entities a caller may add to one request. */
export const maxExtraEntities = 64;

const countryPattern = /^[A-Z]{2}$/;

/** Problems collects the problems found while mapping, each prefixed with its field path. */
class Problems {
  readonly list: string[] = [];

  id(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > maxIdLength) {
      this.list.push(`${field}: want a string of 1 to ${maxIdLength} characters`);
      return '';
    }
    return value;
  }

  text(value: unknown, field: string): string {
    if (value === undefined) return '';
    if (typeof value !== 'string' || value.length > maxTextLength) {
      this.list.push(`${field}: want a string of at most ${maxTextLength} characters`);
      return '';
    }
    return value;
  }

  country(value: unknown, field: string): string {
    if (typeof value !== 'string' || !countryPattern.test(value)) {
      this.list.push(`${field}: want an ISO 3166-1 alpha-2 code in upper case`);
      return '';
    }
    return value;
  }

  flag(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') {
      this.list.push(`${field}: want a boolean`);
      return false;
    }
    return value;
  }

  time(value: unknown, field: string): CedarValue {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
      this.list.push(`${field}: want a valid Date`);
      return '';
    }
    return { __extn: { fn: 'datetime', arg: value.toISOString() } };
  }
}

function uid(type: string, id: string): CedarUid {
  return { type: `${policyNamespace}::${type}`, id };
}

function ref(type: string, id: string): CedarValue {
  return { __entity: uid(type, id) };
}

function entity(type: string, id: string, attrs: Record<string, CedarValue>): CedarEntity {
  return { uid: uid(type, id), attrs, parents: [] };
}

function siteEntity(site: SiteInput, field: string, p: Problems): CedarEntity {
  return entity('Site', p.id(site?.id, `${field}.id`), {
    country: p.country(site?.country, `${field}.country`),
  });
}

function tenantEntity(tenant: TenantInput, field: string, p: Problems): CedarEntity {
  const residency = tenant?.residency;
  if (residency !== 'neutral' && residency !== 'home')
    p.list.push(`${field}.residency: want "neutral" or "home"`);
  return entity('Tenant', p.id(tenant?.id, `${field}.id`), {
    contractCountry: p.country(tenant?.contractCountry, `${field}.contractCountry`),
    residency: typeof residency === 'string' ? residency : '',
    site: ref('Site', p.id(tenant?.site, `${field}.site`)),
    approvalRequired: p.flag(tenant?.approvalRequired, `${field}.approvalRequired`),
  });
}

/** toEntities maps one tagged input to its entities (a TenantData brings its tenant). */
function toEntities(input: PolicyEntity, field: string, p: Problems): CedarEntity[] {
  switch (input?.type) {
    case 'Site':
      return [siteEntity(input, field, p)];
    case 'Tenant':
      return [tenantEntity(input, field, p)];
    case 'TenantData': {
      const tenant = tenantEntity(input.tenant, `${field}.tenant`, p);
      const kind = p.id(input.kind, `${field}.kind`);
      const data = entity('TenantData', `${tenant.uid.id}/${kind}`, {
        tenant: { __entity: tenant.uid },
        kind,
      });
      return [data, tenant];
    }
    case 'Staff':
      return [
        entity('Staff', p.id(input.id, `${field}.id`), {
          employer: p.id(input.employer, `${field}.employer`),
          officeCountry: p.country(input.officeCountry, `${field}.officeCountry`),
          physicalCountry: p.country(input.physicalCountry, `${field}.physicalCountry`),
          role: p.id(input.role, `${field}.role`),
          site: ref('Site', p.id(input.site, `${field}.site`)),
        }),
      ];
    case 'Job':
      return [
        entity('Job', p.id(input.id, `${field}.id`), {
          purpose: p.id(input.purpose, `${field}.purpose`),
          site: ref('Site', p.id(input.site, `${field}.site`)),
        }),
      ];
    case 'Endpoint':
      return [
        entity('Endpoint', p.id(input.id, `${field}.id`), {
          tenant: ref('Tenant', p.id(input.tenant, `${field}.tenant`)),
        }),
      ];
    default:
      p.list.push(`${field}.type: want Site, Tenant, TenantData, Staff, Job or Endpoint`);
      return [];
  }
}

/** mapRequest maps a request to Cedar's JSON forms, or lists every problem in it. */
export function mapRequest(request: PolicyRequest): MappedRequest {
  const p = new Problems();
  const byUid = new Map<string, { entity: CedarEntity; json: string }>();
  const add = (entities: readonly CedarEntity[]): void => {
    for (const e of entities) {
      const key = `${e.uid.type}\u0000${e.uid.id}`;
      const json = JSON.stringify(e);
      const seen = byUid.get(key);
      if (seen === undefined) byUid.set(key, { entity: e, json });
      else if (seen.json !== json)
        p.list.push(`entities: ${e.uid.type}::"${e.uid.id}" is given twice, differently`);
    }
  };

  const principal = toEntities(request?.principal, 'principal', p);
  const resource = toEntities(request?.resource, 'resource', p);
  const ctx = request?.context;
  const site = siteEntity(ctx?.site, 'context.site', p);
  add(principal);
  add(resource);
  add([site]);
  const extra = request?.entities ?? [];
  if (!Array.isArray(extra) || extra.length > maxExtraEntities) {
    p.list.push(`entities: want an array of at most ${maxExtraEntities} entities`);
  } else {
    extra.forEach((e, i) => {
      add(toEntities(e, `entities[${i}]`, p));
    });
  }

  const action = p.id(request?.action, 'action');
  const approval = ctx?.approval;
  const approvalRecord: Record<string, CedarValue> =
    approval === undefined
      ? { present: false, valid: false }
      : {
          present: true,
          valid: p.flag(approval?.valid, 'context.approval.valid'),
          expiresAt: p.time(approval?.expiresAt, 'context.approval.expiresAt'),
        };
  const context: Record<string, CedarValue> = {
    site: { __entity: site.uid },
    purpose: p.text(ctx?.purpose, 'context.purpose'),
    justification: p.text(ctx?.justification, 'context.justification'),
    ticket: p.text(ctx?.ticket, 'context.ticket'),
    approval: approvalRecord,
    now: p.time(ctx?.now, 'context.now'),
  };

  const principalEntity = principal[0];
  const resourceEntity = resource[0];
  if (p.list.length > 0 || principalEntity === undefined || resourceEntity === undefined) {
    return { ok: false, errors: p.list };
  }
  return {
    ok: true,
    request: {
      principal: principalEntity.uid,
      action: uid('Action', action),
      resource: resourceEntity.uid,
      context,
      entities: [...byUid.values()].map((v) => v.entity),
    },
  };
}
