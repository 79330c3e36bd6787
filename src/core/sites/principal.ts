/**
 * Who reads customer data (data-residency.md §2.5, "accessor identity, employer entity, job role,
 * office country + physical country at time of access"): a person or a processing job, as the
 * access ledger and staff access requests spell it, and the shared scope and purpose syntax.
 *
 * A person must state employer, office country and physical country (the policy denies staff
 * outside Switzerland Swiss-only data: "remote access is a transfer", §9); a job may omit them.
 * Countries are ISO 3166-1 alpha-2 (GB, not UK). Internal to core/sites; no I/O.
 */

import type { FieldPath, JsonObject, JsonValue } from '../json/index.ts';
import { type CountryCode, countryCodeProblem } from './countries.ts';
import { type Check, matches, oneOf, type Problems, readObject, readString, text } from './fields.ts';

/** PrincipalKind is a person (staff) or a job (a registered processing job). */
export type PrincipalKind = 'person' | 'job';

/** Principal is who accesses data. */
export interface Principal {
  readonly kind: PrincipalKind;
  /** id is the person's account or the job's registered name. */
  readonly id: string;
  /** employer is the legal entity employing the person; required for a person. */
  readonly employer?: string;
  /** officeCountry is the country of the person's office; required for a person. */
  readonly officeCountry?: CountryCode;
  /** physicalCountry is where the person is at the time of access; required for a person. */
  readonly physicalCountry?: CountryCode;
  readonly role: string;
}

/** principalIdCheck: 1 to 128 of `[A-Za-z0-9._@+-]`, starting with a letter or digit. */
export const principalIdCheck: Check = matches(
  /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/,
  'not an id (1 to 128 of [A-Za-z0-9._@+-])',
);

/** nameCheck accepts a role or purpose: 1 to 64 lowercase letters, digits and hyphens, from a letter. */
export const nameCheck: Check = matches(
  /^[a-z][a-z0-9-]{0,63}$/,
  'not a name (1 to 64 of [a-z0-9-], from a letter)',
);

/**
 * scopeCheck accepts a data scope: a dataset name and up to 8 qualifiers, each after `:` or `/`,
 * such as `telemetry`, `samples/<sha256>` or `detections:2025-01-01`.
 */
export const scopeCheck: Check = matches(
  /^[a-z][a-z0-9-]{0,63}(?:[:/][A-Za-z0-9._-]{1,128}){0,8}$/,
  'not a scope (a dataset name and up to 8 qualifiers after ":" or "/")',
);

/** ticketCheck accepts a ticket reference such as `SUP-1234`: 1 to 128 of `[A-Za-z0-9._:#/-]`. */
export const ticketCheck: Check = matches(
  /^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,127}$/,
  'not a ticket reference (1 to 128 of [A-Za-z0-9._:#/-])',
);

/** employerCheck accepts an employer's legal name. */
export const employerCheck: Check = text(256);

/** justificationCheck accepts a justification: one line of up to 1024 characters. */
export const justificationCheck: Check = text(1024);

const countryCheck: Check = (value) => countryCodeProblem(value);

/** readPrincipal reads a principal at `path`, recording problems; undefined when any was found. */
export function readPrincipal(
  value: JsonValue | undefined,
  path: FieldPath,
  problems: Problems,
  kinds: readonly PrincipalKind[] = ['person', 'job'],
): Principal | undefined {
  const before = problems.count;
  const o: JsonObject | undefined = readObject(
    value,
    path,
    problems,
    ['kind', 'id', 'role'],
    ['employer', 'officeCountry', 'physicalCountry'],
  );
  if (o === undefined) return undefined;
  const kind = readString(o, path, 'kind', problems, oneOf(kinds)) as PrincipalKind | undefined;
  const optional = kind !== 'person';
  const employer = readString(o, path, 'employer', problems, employerCheck, optional);
  const officeCountry = readString(o, path, 'officeCountry', problems, countryCheck, optional);
  const physicalCountry = readString(o, path, 'physicalCountry', problems, countryCheck, optional);
  const principal = {
    kind,
    id: readString(o, path, 'id', problems, principalIdCheck),
    ...(employer === undefined ? {} : { employer }),
    ...(officeCountry === undefined ? {} : { officeCountry }),
    ...(physicalCountry === undefined ? {} : { physicalCountry }),
    role: readString(o, path, 'role', problems, nameCheck),
  };
  return problems.count === before ? (Object.freeze(principal) as Principal) : undefined;
}

/** principalToJson returns the JSON form of a principal, omitting absent fields. */
export function principalToJson(p: Principal): Record<string, unknown> {
  return {
    kind: p.kind,
    id: p.id,
    ...(p.employer === undefined ? {} : { employer: p.employer }),
    ...(p.officeCountry === undefined ? {} : { officeCountry: p.officeCountry }),
    ...(p.physicalCountry === undefined ? {} : { physicalCountry: p.physicalCountry }),
    role: p.role,
  };
}
