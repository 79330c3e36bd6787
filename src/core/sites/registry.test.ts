import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatEnvelope } from '../attest/index.ts';
import { toBytes, toText } from '../bytes/index.ts';
import { createSigner, createVerifier, generateKey } from '../crypto/index.ts';
import { isVouchError, type VouchError } from '../errors.ts';
import { countryCodes, euMemberStates } from './countries.ts';
import {
  buildSiteRegistry,
  defaultNeutralCountries,
  defaultSiteRegistry,
  formatSiteRegistry,
  openRegistry,
  parseSiteRegistry,
  type SiteRegistry,
  signRegistry,
  siteForCountry,
  siteUrlProblem,
} from './registry.ts';

const registry = defaultSiteRegistry();

test('the default registry maps the issue countries to ch-zrh and every other country to ru-mow', () => {
  const rows: [string, string, string][] = [
    ['JP', 'ch-zrh', 'neutral'],
    ['GB', 'ch-zrh', 'neutral'],
    ['US', 'ch-zrh', 'neutral'],
    ['KR', 'ch-zrh', 'neutral'],
    ['SG', 'ch-zrh', 'neutral'],
    ['AU', 'ch-zrh', 'neutral'],
    ['CH', 'ch-zrh', 'neutral'],
    ['IS', 'ch-zrh', 'neutral'],
    ['LI', 'ch-zrh', 'neutral'],
    ['NO', 'ch-zrh', 'neutral'],
    ['GR', 'ch-zrh', 'neutral'],
    ['BR', 'ru-mow', 'home'],
    ['RU', 'ru-mow', 'home'],
    ['CN', 'ru-mow', 'home'],
    ['KP', 'ru-mow', 'home'],
    ['CA', 'ru-mow', 'home'],
  ];
  for (const [code, site, residency] of rows) {
    const a = siteForCountry(registry, code);
    assert.equal(a.site, site, code);
    assert.equal(a.residency, residency, code);
  }
  assert.equal(siteForCountry(registry, 'JP').url, 'https://ch-zrh.vouch.example/');
  assert.equal(defaultNeutralCountries.length, 37);
  for (const code of euMemberStates) assert.equal(siteForCountry(registry, code).site, 'ch-zrh', code);
  const neutral = countryCodes.filter((c) => siteForCountry(registry, c).site === 'ch-zrh');
  assert.deepEqual(neutral, [...defaultNeutralCountries]);
});

test('siteForCountry refuses invalid codes saying why', () => {
  const rows: [string, RegExp][] = [
    ['UK', /the United Kingdom is GB/],
    ['EL', /Greece is GR/],
    ['XK', /user-assigned/],
    ['EU', /European Union/],
    ['jp', /uppercase/],
    ['', /two uppercase letters/],
  ];
  for (const [code, pattern] of rows) {
    assert.throws(
      () => siteForCountry(registry, code),
      (e: unknown) => isVouchError(e, 'invalid-argument') && pattern.test(e.message),
      code,
    );
  }
});

test('the registry is canonical JSON that parses back equal and formats back to the same bytes', () => {
  const bytes = formatSiteRegistry(registry);
  const text = toText(bytes);
  assert.ok(text.startsWith('{"_type":"https://vouch.example/site-registry/v1","countries":{"AD":{'));
  assert.ok(text.endsWith(',"version":1}'));
  assert.ok(
    text.includes('"sites":{"ch-zrh":{"residency":"neutral","url":"https://ch-zrh.vouch.example/"},'),
  );
  const parsed = parseSiteRegistry(bytes);
  assert.deepEqual(parsed, registry);
  assert.deepEqual(formatSiteRegistry(parsed), bytes);
  assert.ok(Object.isFrozen(parsed) && Object.isFrozen(parsed.countries) && Object.isFrozen(parsed.sites));
});

function edit(change: (doc: Record<string, unknown>) => void): Uint8Array {
  const doc = JSON.parse(toText(formatSiteRegistry(registry))) as Record<string, unknown>;
  change(doc);
  return toBytes(JSON.stringify(doc));
}

type Doc = Record<string, Record<string, Record<string, unknown>>>;

test('parseSiteRegistry refuses bad documents naming the field', () => {
  const canonical = toText(formatSiteRegistry(registry));
  const rows: [string, Uint8Array, string, RegExp?][] = [
    ['not canonical (space)', toBytes(canonical.replace('{"AD"', '{ "AD"')), '$'],
    [
      'UK instead of GB',
      toBytes(canonical.replace('"GB":', '"UK":')),
      'countries.UK',
      /the United Kingdom is GB/,
    ],
    [
      'EL added',
      edit((d) => {
        (d as Doc)['countries'] = {
          ...(d as Doc)['countries'],
          EL: { residency: 'neutral', site: 'ch-zrh' },
        };
      }),
      'countries.EL',
      /Greece is GR/,
    ],
    [
      'missing country',
      edit((d) => {
        delete (d as Doc)['countries']?.['JP'];
      }),
      'countries.JP',
      /missing/,
    ],
    [
      'unknown site',
      edit((d) => {
        ((d as Doc)['countries'] as Record<string, unknown>)['JP'] = { residency: 'neutral', site: 'ch-gva' };
      }),
      'countries.JP.site',
      /no site/,
    ],
    [
      'class mismatch',
      edit((d) => {
        ((d as Doc)['countries'] as Record<string, unknown>)['JP'] = { residency: 'neutral', site: 'ru-mow' };
      }),
      'countries.JP.residency',
      /differs/,
    ],
    [
      'neutral site outside CH',
      edit((d) => {
        ((d as Doc)['sites'] as Record<string, unknown>)['de-fra'] = {
          residency: 'neutral',
          url: 'https://x.example/',
        };
      }),
      'sites.de-fra.residency',
      /must be in CH/,
    ],
    [
      'bad site id',
      edit((d) => {
        ((d as Doc)['sites'] as Record<string, unknown>)['uk-lon'] = {
          residency: 'home',
          url: 'https://x.example/',
        };
      }),
      'sites.uk-lon',
      /United Kingdom is GB/,
    ],
    [
      'uppercase site id',
      edit((d) => {
        ((d as Doc)['sites'] as Record<string, unknown>)['CH-ZRH'] = {
          residency: 'neutral',
          url: 'https://x.example/',
        };
      }),
      'sites.CH-ZRH',
      /lowercase/,
    ],
    [
      'http URL',
      edit((d) => {
        (((d as Doc)['sites'] as Doc)['ru-mow'] as Record<string, unknown>)['url'] = 'http://ru-mow.example/';
      }),
      'sites.ru-mow.url',
      /https/,
    ],
    [
      'bad class',
      edit((d) => {
        (((d as Doc)['sites'] as Doc)['ru-mow'] as Record<string, unknown>)['residency'] = 'local';
      }),
      'sites.ru-mow.residency',
    ],
    [
      'version 0',
      edit((d) => {
        d['version'] = 0;
      }),
      'version',
    ],
    [
      'unknown top-level field',
      edit((d) => {
        d['extra'] = 1;
      }),
      'extra',
      /unknown field/,
    ],
    [
      'wrong type',
      edit((d) => {
        d['_type'] = 'x';
      }),
      '_type',
    ],
    [
      'no sites',
      edit((d) => {
        d['sites'] = {};
      }),
      'sites',
    ],
    ['not an object', toBytes('[]'), '$'],
  ];
  for (const [name, bytes, field, message] of rows) {
    assert.throws(
      () => parseSiteRegistry(bytes),
      (e: unknown) => {
        const err = e as VouchError;
        assert.ok(isVouchError(e, 'malformed'), `${name}: ${String(e)}`);
        assert.ok(
          err.details.field === field || (err.details.fields as string[] | undefined)?.includes(field),
          `${name}: ${JSON.stringify(err.details)}`,
        );
        if (message !== undefined) assert.match(err.message + JSON.stringify(err.details), message, name);
        return true;
      },
      name,
    );
  }
  assert.throws(
    () => parseSiteRegistry(new Uint8Array(64 * 1024 + 1)),
    (e: unknown) => isVouchError(e, 'too-large'),
  );
});

test('site URLs: https, or http on loopback, canonical, no credentials, query or fragment, ending in /', () => {
  const good = [
    'https://ch-zrh.vouch.example/',
    'https://a.example:8443/v1/',
    'http://127.0.0.1:8080/',
    'http://localhost:1/',
  ];
  for (const url of good) assert.equal(siteUrlProblem(url), undefined, url);
  const bad = [
    'https://a.example',
    'https://A.example/',
    'https://u:p@a.example/',
    'https://a.example/?q=1',
    'https://a.example/#f',
    'http://a.example/',
    'ftp://a.example/',
    'a.example/',
    `https://a.example/${'x'.repeat(2048)}/`,
  ];
  for (const url of bad) assert.notEqual(siteUrlProblem(url), undefined, url);
});

test('buildSiteRegistry accepts a registry with a second home site and refuses one with a bad URL', () => {
  const countries = { ...registry.countries, CN: { residency: 'home' as const, site: 'cn-sha' } };
  const sites = {
    ...registry.sites,
    'cn-sha': { residency: 'home' as const, url: 'https://cn-sha.example/' },
  };
  const built = buildSiteRegistry({ version: 2, sites, countries });
  assert.equal(siteForCountry(built, 'CN').site, 'cn-sha');
  assert.throws(
    () => defaultSiteRegistry({ homeUrl: 'http://ru-mow.example/' }),
    (e: unknown) => isVouchError(e, 'invalid-argument') && e.details.field === 'sites.ru-mow.url',
  );
});

const vendor = createSigner('vendor', generateKey('ed25519'));
const vendorVerifier = createVerifier('ed25519', vendor.publicKey);

test('a signed registry opens with the trusted key and refuses rollback and equivocation', async () => {
  const v1 = await signRegistry(registry, [vendor]);
  const v2reg = defaultSiteRegistry({ version: 2 });
  const v2 = await signRegistry(v2reg, [vendor]);
  const opened = openRegistry(formatEnvelope(v2), [vendorVerifier], { minVersion: 1 });
  assert.deepEqual(opened.registry, v2reg);
  assert.deepEqual(opened.verifiedKeyIds, [vendor.keyId]);
  assert.deepEqual(opened.bytes, formatSiteRegistry(v2reg));

  assert.throws(
    () => openRegistry(formatEnvelope(v1), [vendorVerifier], { minVersion: 2 }),
    (e: unknown) => isVouchError(e, 'policy-unmet') && e.details['attack'] === 'rollback',
  );
  assert.throws(
    () => openRegistry(formatEnvelope(v1), [vendorVerifier], { minVersion: 0, current: v2reg }),
    (e: unknown) => isVouchError(e, 'policy-unmet') && e.details['attack'] === 'rollback',
  );
  // The same version again is fine; a different registry under the same version is equivocation.
  assert.ok(openRegistry(formatEnvelope(v2), [vendorVerifier], { minVersion: 2, current: v2reg }));
  const other = buildSiteRegistry({
    version: 2,
    sites: registry.sites,
    countries: { ...registry.countries, BR: { residency: 'neutral', site: 'ch-zrh' } },
  });
  const forked = await signRegistry(other, [vendor]);
  assert.throws(
    () => openRegistry(formatEnvelope(forked), [vendorVerifier], { minVersion: 2, current: v2reg }),
    (e: unknown) => isVouchError(e, 'policy-unmet') && e.details['attack'] === 'equivocation',
  );
});

test('openRegistry refuses an untrusted signer and a foreign payload type', async () => {
  const mallory = createSigner('mallory', generateKey('ed25519'));
  const signed = await signRegistry(registry, [mallory]);
  assert.throws(
    () => openRegistry(formatEnvelope(signed), [vendorVerifier], { minVersion: 1 }),
    (e: unknown) => isVouchError(e, 'policy-unmet'),
  );
  const { signEnvelope } = await import('../attest/index.ts');
  const foreign = await signEnvelope('application/json', formatSiteRegistry(registry), [vendor]);
  assert.throws(
    () => openRegistry(formatEnvelope(foreign), [vendorVerifier], { minVersion: 1 }),
    (e: unknown) => isVouchError(e, 'invalid-argument') && e.details.field === 'payloadType',
  );
  assert.throws(
    () => openRegistry(toBytes('not json'), [vendorVerifier], { minVersion: 1 }),
    (e: unknown) => isVouchError(e, 'malformed'),
  );
});

const sitePool = ['ch-zrh', 'ch-gva', 'ru-mow', 'cn-sha'] as const;

test('property: any valid registry round-trips exactly', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 249, maxLength: 249 }),
      (version, picks) => {
        const sites: SiteRegistry['sites'] = {
          'ch-zrh': { residency: 'neutral', url: 'https://ch-zrh.example/' },
          'ch-gva': { residency: 'neutral', url: 'https://ch-gva.example/' },
          'ru-mow': { residency: 'home', url: 'https://ru-mow.example/' },
          'cn-sha': { residency: 'home', url: 'http://127.0.0.1:9000/' },
        };
        const countries: Record<string, { residency: 'neutral' | 'home'; site: string }> = {};
        countryCodes.forEach((code, i) => {
          const site = sitePool[picks[i] ?? 0] ?? 'ch-zrh';
          countries[code] = { residency: site.startsWith('ch-') ? 'neutral' : 'home', site };
        });
        const built = buildSiteRegistry({ version, sites, countries });
        const bytes = formatSiteRegistry(built);
        assert.deepEqual(parseSiteRegistry(bytes), built);
        assert.deepEqual(formatSiteRegistry(parseSiteRegistry(bytes)), bytes);
      },
    ),
    { seed: 81, numRuns: 25 },
  );
});

test('property: mutated registry bytes give a registry or our typed error, never another throw', () => {
  const bytes = formatSiteRegistry(registry);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: bytes.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
      (at, value) => {
        const mutated = new Uint8Array(bytes);
        mutated[at] = value;
        try {
          parseSiteRegistry(mutated);
        } catch (e) {
          assert.ok(isVouchError(e, 'malformed') || isVouchError(e, 'too-large'), String(e));
        }
      },
    ),
    { seed: 82, numRuns: 300 },
  );
});
