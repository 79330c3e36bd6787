import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../errors.ts';
import {
  assertCountryCode,
  countryCodeProblem,
  countryCodes,
  countryName,
  euMemberStates,
  isCountryCode,
} from './countries.ts';

test('the table holds the 249 officially assigned codes, sorted and distinct', () => {
  assert.equal(countryCodes.length, 249);
  assert.equal(new Set(countryCodes).size, 249);
  assert.deepEqual([...countryCodes], [...countryCodes].sort());
  for (const code of countryCodes) {
    assert.match(code, /^[A-Z]{2}$/);
    assert.ok((countryName(code) ?? '').length > 0, code);
  }
});

test('the EU-27 are 27 distinct assigned codes, with GR for Greece', () => {
  assert.equal(euMemberStates.length, 27);
  assert.equal(new Set(euMemberStates).size, 27);
  assert.ok(euMemberStates.every(isCountryCode));
  assert.ok(euMemberStates.includes('GR'));
  assert.ok(!euMemberStates.includes('GB'));
});

test('the countries of the issue are assigned', () => {
  for (const code of ['US', 'IS', 'LI', 'NO', 'CH', 'GB', 'JP', 'KR', 'SG', 'AU', 'RU', 'BR', 'GR']) {
    assert.ok(isCountryCode(code), code);
  }
  assert.equal(countryName('GB'), 'United Kingdom of Great Britain and Northern Ireland');
});

test('refusals say why', () => {
  const rows: [string, unknown, RegExp][] = [
    ['UK', 'UK', /^UK is not an ISO 3166-1 code; the United Kingdom is GB$/],
    ['EL', 'EL', /Greece is GR/],
    ['EU', 'EU', /European Union/],
    ['XK', 'XK', /user-assigned/],
    ['AA', 'AA', /user-assigned/],
    ['QM', 'QM', /user-assigned/],
    ['QZ', 'QZ', /user-assigned/],
    ['XA', 'XA', /user-assigned/],
    ['XZ', 'XZ', /user-assigned/],
    ['ZZ', 'ZZ', /user-assigned/],
    ['AN withdrawn', 'AN', /BQ, CW or SX/],
    ['lowercase', 'gb', /uppercase/],
    ['three letters', 'GBR', /two uppercase letters/],
    ['digits', '12', /two uppercase letters/],
    ['empty', '', /two uppercase letters/],
    ['unassigned', 'QA1', /two uppercase letters/],
    ['not assigned', 'OO', /^OO is not an officially assigned/],
    ['number', 44, /must be a string/],
  ];
  for (const [name, value, pattern] of rows) {
    assert.equal(isCountryCode(value), false, name);
    assert.match(countryCodeProblem(value) ?? '', pattern, name);
  }
  assert.equal(countryCodeProblem('GB'), undefined);
  assert.throws(
    () => assertCountryCode('UK', 'contractCountry'),
    (e: unknown) =>
      isVouchError(e, 'invalid-argument') &&
      e.details.field === 'contractCountry' &&
      e.message === 'UK is not an ISO 3166-1 code; the United Kingdom is GB',
  );
});

test('every one of the 676 two-letter codes is either assigned or refused with a reason', () => {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let assigned = 0;
  for (const a of letters) {
    for (const b of letters) {
      const code = a + b;
      if (isCountryCode(code)) assigned++;
      else assert.ok((countryCodeProblem(code) ?? '').startsWith(code), code);
    }
  }
  assert.equal(assigned, 249);
});
