import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVouchError } from '../errors.ts';
import { isSiteId, siteCountry, siteIdProblem } from './ids.ts';
import { formatTime, maxTime, parseTime, timeProblem } from './time.ts';

test('times are RFC 3339 UTC whole seconds with one spelling', () => {
  assert.equal(formatTime(0), '1970-01-01T00:00:00Z');
  assert.equal(formatTime(maxTime), '9999-12-31T23:59:59Z');
  assert.equal(parseTime('2024-02-29T23:59:59Z'), 1_709_251_199);
  const bad = [
    '2025-02-29T00:00:00Z',
    '2025-01-01T24:00:00Z',
    '2025-01-01T12:00:60Z',
    '2025-01-01T12:00:00z',
    '2025-01-01 12:00:00Z',
    '2025-01-01T12:00:00.000Z',
    '2025-01-01T12:00:00+00:00',
    '1969-12-31T23:59:59Z',
    '+02025-01-01T00:00:00Z',
  ];
  for (const text of bad) {
    assert.notEqual(timeProblem(text), undefined, text);
    assert.throws(
      () => parseTime(text, 'time'),
      (e: unknown) => isVouchError(e, 'malformed') && e.details.field === 'time',
    );
  }
  assert.throws(
    () => formatTime(-1),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
  assert.throws(
    () => formatTime(1.5),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
});

test('site ids are <country>-<city> in lowercase with an assigned country', () => {
  for (const id of ['ch-zrh', 'ru-mow', 'gb-lon', 'jp-tyo2']) assert.ok(isSiteId(id), id);
  assert.equal(siteCountry('gb-lon'), 'GB');
  const rows: [string, RegExp][] = [
    ['uk-lon', /United Kingdom is GB/],
    ['el-ath', /Greece is GR/],
    ['xk-prn', /user-assigned/],
    ['CH-ZRH', /lowercase/],
    ['ch_zrh', /lowercase/],
    ['ch-', /lowercase/],
    ['ch-z', /lowercase/],
    ['ch-1zr', /lowercase/],
  ];
  for (const [id, pattern] of rows) {
    assert.equal(isSiteId(id), false, id);
    assert.match(siteIdProblem(id) ?? '', pattern, id);
  }
});
