/**
 * The site registry of DESIGN.md "The data flow" step 1 and data-residency.md §8.1: a signed,
 * versioned table from every ISO 3166-1 alpha-2 country code to a residency class and a site,
 * plus the sites themselves with their public base URLs. A tenant's site comes from its contract
 * country through this table, never from an IP address.
 *
 * Residency classes: `neutral` — the customer is promised that its data is stored and processed
 * only in Switzerland, so its country must map to a neutral site, and a neutral site must be in
 * Switzerland (its id starts with `ch-`); `home` — the data stays at a home site (`ru-mow` by
 * default). A country's class must equal its site's class, so moving a country between classes
 * is one explicit edit of both, never a typo in a site id.
 *
 * The document is canonical JSON (OLPC, `core/json` formatCanonicalJson), version 1:
 *
 * ```
 * {"_type":"https://vouch.example/site-registry/v1",
 *  "countries":{"AD":{"residency":"home","site":"ru-mow"}, ... every one of the 249 codes ...},
 *  "sites":{"ch-zrh":{"residency":"neutral","url":"https://ch-zrh.vouch.example/"}, ...},
 *  "version":1}
 * ```
 *
 * Every assigned code appears exactly once (no fall-through default, so a lookup never guesses),
 * and no other key does; at most {@link maxSites} sites; `version` from 1. Site URLs are absolute,
 * `https:` (`http:` only for a loopback host, for tests and one-machine demos), without
 * credentials, query or fragment, ending in `/`, in the WHATWG URL parser's canonical spelling.
 * The registry is signed as a DSSE envelope with payload type {@link siteRegistryPayloadType};
 * {@link openRegistry} verifies it and refuses a rollback to an older version.
 *
 * The default ({@link defaultSiteRegistry}) is the issue's: the US, the EU-27, IS, LI, NO, CH, GB,
 * JP, KR, SG and AU are neutral at `ch-zrh`; every other code is home at `ru-mow`.
 * LIMIT: territories with codes of their own (PR, GU, RE, GF, AX, GG, JE, IM, ...) are home by
 * default, as the issue lists countries; an operator who promises them Swiss residency says so in
 * a new registry version. This module does not log registries or migrate tenants.
 */

import type { Envelope, EnvelopeSigner, EnvelopeVerifier } from '../attest/index.ts';
import { parseEnvelope, signEnvelope, verifyEnvelope } from '../attest/index.ts';
import { equalBytes } from '../bytes/index.ts';
import { tooLarge, VouchError } from '../errors.ts';
import type { JsonObject, parseJson } from '../json/index.ts';
import {
  assertCountryCode,
  type CountryCode,
  countryCodeProblem,
  countryCodes,
  euMemberStates,
} from './countries.ts';
import {
  type CanonicalRecord,
  formatCanonicalRecord,
  matches,
  oneOf,
  Problems,
  parseCanonicalRecord,
  readInteger,
  readObject,
  readRecord,
  readString,
} from './fields.ts';
import { type SiteId, siteCountry, siteIdProblem } from './ids.ts';

/** siteRegistryType is the `_type` of every site registry document. */
export const siteRegistryType = 'https://vouch.example/site-registry/v1';

/** siteRegistryPayloadType is the DSSE payload type of a signed site registry. */
export const siteRegistryPayloadType = 'application/vnd.vouch.site-registry+json';

/** maxSiteRegistryBytes bounds a registry document; the default one is about 11 KiB. */
export const maxSiteRegistryBytes = 64 * 1024;

/** maxSites bounds the number of sites in a registry. */
export const maxSites = 64;

/** maxSiteUrlLength bounds a site's base URL. */
export const maxSiteUrlLength = 2048;

/** neutralCountry is the one country neutral sites may be in. */
export const neutralCountry: CountryCode = 'CH';

/** ResidencyClass is `neutral` (stored and processed only in Switzerland) or `home` (at the home site). */
export type ResidencyClass = 'neutral' | 'home';

/** residencyClasses lists every {@link ResidencyClass}. */
export const residencyClasses: readonly ResidencyClass[] = Object.freeze(['neutral', 'home']);

/** Site is one site of the registry: the class of data it holds and its public base URL. */
export interface Site {
  readonly residency: ResidencyClass;
  readonly url: string;
}

/** CountryAssignment is where one country's tenants live: their residency class and site. */
export interface CountryAssignment {
  readonly residency: ResidencyClass;
  readonly site: SiteId;
}

/** SiteRegistry is a parsed, valid registry. Its records are frozen; look keys up with {@link siteForCountry}. */
export interface SiteRegistry {
  readonly version: number;
  readonly sites: Readonly<Record<SiteId, Site>>;
  readonly countries: Readonly<Record<string, CountryAssignment>>;
}

/** SiteAssignment is the answer of {@link siteForCountry}. */
export interface SiteAssignment {
  readonly country: CountryCode;
  readonly residency: ResidencyClass;
  readonly site: SiteId;
  readonly url: string;
}

/**
 * defaultNeutralCountries lists the countries the issue promises Swiss residency: the US, the
 * EU-27, Iceland, Liechtenstein, Norway, Switzerland, the United Kingdom (GB), Japan, South Korea
 * (KR), Singapore and Australia — 37 codes.
 */
export const defaultNeutralCountries: readonly CountryCode[] = Object.freeze(
  [...euMemberStates, 'US', 'IS', 'LI', 'NO', 'CH', 'GB', 'JP', 'KR', 'SG', 'AU'].sort() as CountryCode[],
);

/** DefaultRegistryOptions adjusts {@link defaultSiteRegistry}. */
export interface DefaultRegistryOptions {
  readonly version?: number;
  /** neutralUrl is `ch-zrh`'s base URL (default `https://ch-zrh.vouch.example/`). */
  readonly neutralUrl?: string;
  /** homeUrl is `ru-mow`'s base URL (default `https://ru-mow.vouch.example/`). */
  readonly homeUrl?: string;
}

/**
 * defaultSiteRegistry returns the default registry (see the module comment), version 1
 * unless told. It throws `invalid-argument` for a URL the format refuses.
 */
export function defaultSiteRegistry(options: DefaultRegistryOptions = {}): SiteRegistry {
  const neutral = new Set<string>(defaultNeutralCountries);
  const countries: Record<string, CountryAssignment> = {};
  for (const code of countryCodes) {
    countries[code] = neutral.has(code)
      ? { residency: 'neutral', site: 'ch-zrh' }
      : { residency: 'home', site: 'ru-mow' };
  }
  return buildSiteRegistry({
    version: options.version ?? 1,
    sites: {
      'ch-zrh': { residency: 'neutral', url: options.neutralUrl ?? 'https://ch-zrh.vouch.example/' },
      'ru-mow': { residency: 'home', url: options.homeUrl ?? 'https://ru-mow.vouch.example/' },
    },
    countries,
  });
}

/**
 * buildSiteRegistry validates a registry given as plain data and returns it frozen, in the exact
 * shape {@link parseSiteRegistry} returns. It throws `invalid-argument` naming every bad field.
 */
export function buildSiteRegistry(input: SiteRegistry): SiteRegistry {
  return parseSiteRegistry(formatSiteRegistry(input));
}

const siteRegistryKind: CanonicalRecord<SiteRegistry> = {
  what: 'site registry',
  maxBytes: maxSiteRegistryBytes,
  maxDepth: 3,
  toJson: (registry) => {
    const sites: Record<string, unknown> = {};
    for (const [id, site] of Object.entries(registry.sites))
      sites[id] = { residency: site.residency, url: site.url };
    const countries: Record<string, unknown> = {};
    for (const [code, a] of Object.entries(registry.countries)) {
      countries[code] = { residency: a.residency, site: a.site };
    }
    return { _type: siteRegistryType, version: registry.version, sites, countries };
  },
  read: (value) => readRegistry(value),
};

/**
 * formatSiteRegistry returns the canonical JSON bytes of a registry, or throws
 * `invalid-argument` naming every field {@link parseSiteRegistry} would refuse.
 */
export function formatSiteRegistry(registry: SiteRegistry): Uint8Array {
  return formatCanonicalRecord(siteRegistryKind, registry);
}

/**
 * parseSiteRegistry reads a registry document. It throws `too-large` over
 * {@link maxSiteRegistryBytes}, and `malformed` naming every bad field (`countries.UK`: not an
 * ISO code; `countries.JP.site`: no such site; a missing country; a neutral site outside CH) or
 * when the bytes are not the canonical encoding of what they say.
 */
export function parseSiteRegistry(bytes: Uint8Array): SiteRegistry {
  return parseCanonicalRecord(siteRegistryKind, bytes);
}

const residencyCheck = oneOf(residencyClasses);

function readRegistry(value: ReturnType<typeof parseJson>): SiteRegistry {
  const problems = new Problems();
  const root = readObject(value, [], problems, ['_type', 'version', 'sites', 'countries']);
  if (root === undefined) problems.throwIfAny('site registry');
  const top = root as JsonObject;
  readString(
    top,
    [],
    '_type',
    problems,
    matches(/^https:\/\/vouch\.example\/site-registry\/v1$/, `not ${siteRegistryType}`),
  );
  const version = readInteger(top, [], 'version', problems, 1, Number.MAX_SAFE_INTEGER);

  const sites: Record<string, Site> = {};
  const siteList = readRecord(top['sites'], ['sites'], problems);
  if (siteList !== undefined) {
    const ids = Object.keys(siteList);
    if (ids.length === 0) problems.add(['sites'], 'has no site');
    if (ids.length > maxSites) throw tooLarge('site registry site count', maxSites, 'sites');
    for (const id of ids) {
      const path = ['sites', id];
      const idProblem = siteIdProblem(id);
      if (idProblem !== undefined) problems.add(path, idProblem);
      const entry = readObject(siteList[id], path, problems, ['residency', 'url']);
      if (entry === undefined) continue;
      const residency = readString(entry, path, 'residency', problems, residencyCheck) as
        | ResidencyClass
        | undefined;
      const url = readString(entry, path, 'url', problems, siteUrlProblem);
      if (residency === 'neutral' && idProblem === undefined && siteCountry(id) !== neutralCountry) {
        problems.add([...path, 'residency'], `a neutral site must be in ${neutralCountry}`);
      }
      if (idProblem === undefined && residency !== undefined && url !== undefined) {
        sites[id] = Object.freeze({ residency, url });
      }
    }
  }

  const countries: Record<string, CountryAssignment> = {};
  const countryList = readRecord(top['countries'], ['countries'], problems);
  if (countryList !== undefined) {
    for (const code of Object.keys(countryList)) {
      const path = ['countries', code];
      const codeProblem = countryCodeProblem(code);
      if (codeProblem !== undefined) {
        problems.add(path, codeProblem);
        continue;
      }
      const entry = readObject(countryList[code], path, problems, ['residency', 'site']);
      if (entry === undefined) continue;
      const residency = readString(entry, path, 'residency', problems, residencyCheck) as
        | ResidencyClass
        | undefined;
      const site = readString(entry, path, 'site', problems, (s) => siteIdProblem(s));
      if (site === undefined || residency === undefined) continue;
      if (siteList !== undefined && !Object.hasOwn(siteList, site)) {
        problems.add([...path, 'site'], 'names no site of the registry');
        continue;
      }
      const target = sites[site];
      if (target !== undefined && target.residency !== residency) {
        problems.add([...path, 'residency'], `differs from the residency of site ${site}`);
        continue;
      }
      countries[code] = Object.freeze({ residency, site });
    }
    for (const code of countryCodes) {
      if (!Object.hasOwn(countryList, code))
        problems.add(['countries', code], 'missing: every assigned code is mapped');
    }
  }
  problems.throwIfAny('site registry');
  if (version === undefined) throw new VouchError('invariant', 'internal error: registry version missing');
  return Object.freeze({ version, sites: Object.freeze(sites), countries: Object.freeze(countries) });
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/** siteUrlProblem returns why `url` is not an acceptable site base URL (see the module comment), or undefined. */
export function siteUrlProblem(url: string): string | undefined {
  if (url.length > maxSiteUrlLength) return `longer than ${maxSiteUrlLength} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not an absolute URL';
  }
  if (parsed.href !== url) return 'not in canonical URL form';
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopbackHosts.has(parsed.hostname))) {
    return 'not an https URL (http is allowed only for a loopback host)';
  }
  if (parsed.username !== '' || parsed.password !== '') return 'has credentials';
  if (parsed.search !== '' || parsed.hash !== '') return 'has a query or fragment';
  if (!parsed.pathname.endsWith('/')) return 'does not end with /';
  return undefined;
}

/**
 * siteForCountry returns the residency class, site and base URL of a contract country. It throws
 * `invalid-argument` for a code that is not an assigned ISO 3166-1 alpha-2 code, saying why
 * ("UK is not an ISO 3166-1 code; the United Kingdom is GB"). A valid registry maps every
 * assigned code, so a missing one is an `invariant` failure.
 */
export function siteForCountry(registry: SiteRegistry, code: string): SiteAssignment {
  assertCountryCode(code, 'country');
  const assignment = Object.hasOwn(registry.countries, code) ? registry.countries[code] : undefined;
  const site =
    assignment && Object.hasOwn(registry.sites, assignment.site)
      ? registry.sites[assignment.site]
      : undefined;
  if (assignment === undefined || site === undefined) {
    throw new VouchError('invariant', `internal error: the site registry does not map ${code}`);
  }
  return Object.freeze({
    country: code,
    residency: assignment.residency,
    site: assignment.site,
    url: site.url,
  });
}

/** siteOf returns the registry's entry for a site id, or throws `not-found` naming it. */
export function siteOf(registry: SiteRegistry, site: SiteId): Site {
  const entry = Object.hasOwn(registry.sites, site) ? registry.sites[site] : undefined;
  if (entry === undefined) {
    throw new VouchError(
      'not-found',
      `site ${siteIdProblem(site) === undefined ? site : '(invalid id)'} is not in the site registry`,
      {
        field: 'site',
      },
    );
  }
  return entry;
}

/**
 * signRegistry signs the canonical bytes of `registry` as a DSSE envelope of payload type
 * {@link siteRegistryPayloadType}. It throws `invalid-argument` for an invalid registry.
 */
export async function signRegistry(
  registry: SiteRegistry,
  signers: readonly EnvelopeSigner[],
): Promise<Envelope> {
  return signEnvelope(siteRegistryPayloadType, formatSiteRegistry(registry), signers);
}

/** OpenRegistryOptions are the checks of {@link openRegistry}. */
export interface OpenRegistryOptions {
  /** minVersion is the lowest version accepted: the version of the registry already trusted. */
  readonly minVersion: number;
  /** threshold is how many distinct trusted keys must have signed (default 1). */
  readonly threshold?: number;
  /**
   * current, when given, is the registry already trusted: a different registry of the same
   * version is refused as equivocation, and its version raises `minVersion`.
   */
  readonly current?: SiteRegistry;
}

/** OpenedRegistry is a verified registry with the key ids that signed it. */
export interface OpenedRegistry {
  readonly registry: SiteRegistry;
  /** bytes is the canonical registry document that was signed, for logging. */
  readonly bytes: Uint8Array;
  readonly verifiedKeyIds: readonly string[];
}

/**
 * openRegistry parses a DSSE envelope (`bytes`, JSON), verifies it against `trustedKeys` with
 * the threshold, checks the payload type and parses the registry. It refuses with `policy-unmet`
 * and `details.attack`: 'rollback' for a version below `minVersion` (or below `current`'s), and
 * 'equivocation' for a registry of `current`'s version with different contents. Envelope and
 * signature failures propagate from core/attest (`malformed`, `too-large`, `policy-unmet`,
 * `invalid-argument` for a foreign payload type); a bad document is `malformed`.
 */
export function openRegistry(
  bytes: Uint8Array,
  trustedKeys: readonly EnvelopeVerifier[],
  options: OpenRegistryOptions,
): OpenedRegistry {
  const { minVersion, threshold = 1, current } = options;
  if (!Number.isSafeInteger(minVersion) || minVersion < 0) {
    throw new VouchError('invalid-argument', 'minVersion must be a non-negative integer');
  }
  const envelope = parseEnvelope(bytes, { maxBytes: 2 * maxSiteRegistryBytes });
  const verified = verifyEnvelope(envelope, trustedKeys, threshold, { payloadType: siteRegistryPayloadType });
  const registry = parseSiteRegistry(verified.payload);
  const floor = Math.max(minVersion, current?.version ?? 0);
  if (registry.version < floor) {
    throw new VouchError(
      'policy-unmet',
      `site registry version ${registry.version} is older than the trusted version ${floor}`,
      { field: 'version', limit: floor, attack: 'rollback' },
    );
  }
  if (current !== undefined && registry.version === current.version) {
    if (!equalBytes(formatSiteRegistry(current), verified.payload)) {
      throw new VouchError(
        'policy-unmet',
        `two different site registries are signed as version ${registry.version}`,
        { field: 'version', attack: 'equivocation' },
      );
    }
  }
  return Object.freeze({ registry, bytes: verified.payload, verifiedKeyIds: verified.verifiedKeyIds });
}
