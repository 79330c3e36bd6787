/**
 * The identifiers the site formats share: site ids (`<country>-<city>`, lowercase, such as
 * `ch-zrh`), tenant ids, endpoint ids and event ids. Each has exactly one spelling so that it can
 * be a storage key, a URL path segment and associated data without escaping. This module
 * assigns no ids; callers (the registry, tenant onboarding, agents) do.
 */

import { countryCodeProblem, isCountryCode } from './countries.ts';

/** SiteId names a site as `<ISO 3166-1 code, lowercase>-<city code>`, such as `ch-zrh` or `ru-mow`. */
export type SiteId = string;

const sitePattern = /^([a-z]{2})-([a-z][a-z0-9]{1,15})$/;

/**
 * siteIdProblem returns why `value` is not a site id, or undefined: a lowercase assigned ISO
 * 3166-1 code, `-`, and a city code of 2 to 16 lowercase letters and digits starting with a
 * letter (an IATA code such as `zrh` is the convention). `uk-lon` is refused: the country is GB.
 */
export function siteIdProblem(value: string): string | undefined {
  const m = sitePattern.exec(value);
  if (m === null) return 'not a site id of the form <country>-<city> in lowercase, such as ch-zrh';
  const country = (m[1] as string).toUpperCase();
  if (!isCountryCode(country)) return `the site's country: ${countryCodeProblem(country) ?? ''}`;
  return undefined;
}

/** isSiteId reports whether `value` is a well-formed site id. */
export function isSiteId(value: unknown): value is SiteId {
  return typeof value === 'string' && siteIdProblem(value) === undefined;
}

/** siteCountry returns the ISO 3166-1 code (uppercase) of a well-formed site id's country. */
export function siteCountry(site: SiteId): string {
  return site.slice(0, 2).toUpperCase();
}

/** tenantIdPattern: 1 to 63 lowercase letters, digits and hyphens, starting with a letter or digit. */
export const tenantIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** tenantIdProblem returns why `value` is not a tenant id, or undefined. */
export function tenantIdProblem(value: string): string | undefined {
  return tenantIdPattern.test(value)
    ? undefined
    : 'not a tenant id (1 to 63 lowercase letters, digits and hyphens, not starting with a hyphen)';
}

/** endpointIdPattern: 1 to 128 letters, digits, `.`, `_`, `:`, `-`, starting with a letter or digit. */
export const endpointIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** endpointIdProblem returns why `value` is not an endpoint id, or undefined. */
export function endpointIdProblem(value: string): string | undefined {
  return endpointIdPattern.test(value)
    ? undefined
    : 'not an endpoint id (1 to 128 letters, digits, ".", "_", ":", "-")';
}

/**
 * batchIdPattern: 16 to 64 characters of `[A-Za-z0-9_-]`. A UUID in its usual 36-character
 * spelling fits. An agent must make batch ids unique per tenant (a UUIDv4 or 16 random
 * base64url characters): the batch id is the idempotency key of a retried batch.
 */
export const batchIdPattern = /^[A-Za-z0-9_-]{16,64}$/;

/** batchIdProblem returns why `value` is not a batch id, or undefined. */
export function batchIdProblem(value: string): string | undefined {
  return batchIdPattern.test(value)
    ? undefined
    : 'not a batch id (a UUID, or 16 to 64 letters, digits, "_" and "-")';
}

/** eventIdPattern: `<batch id>.<index>`, the index a decimal from 0 without leading zeros. */
export const eventIdPattern = /^[A-Za-z0-9_-]{16,64}\.(?:0|[1-9][0-9]{0,5})$/;

/** eventIdProblem returns why `value` is not an event id, or undefined. */
export function eventIdProblem(value: string): string | undefined {
  return eventIdPattern.test(value) ? undefined : 'not an event id (<batch id>.<index>)';
}
