/**
 * The pure parts of the audit (src/core/audit): the strict configuration parser names the key
 * and the expectation, the state round-trips, and the HTML page escapes what the audited world
 * wrote and fetches nothing.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAuditConfig } from '../../src/core/audit/config.ts';
import { finding } from '../../src/core/audit/findings.ts';
import { renderAuditHtml } from '../../src/core/audit/html.ts';
import type { AuditReport } from '../../src/core/audit/report.ts';
import { formatAuditState, parseAuditState } from '../../src/core/audit/state.ts';
import { toBytes } from '../../src/core/bytes/index.ts';
import { isVouchError } from '../../src/core/errors.ts';

const good = {
  releaseLog: { location: 'log', policy: 'log.policy' },
  repository: { location: 'public', name: 'r', releasePolicy: 'p.json' },
  sites: [{ site: 'ch-zrh', ledger: 'l', vkey: 'k', witnessPolicy: 'w' }],
  policy: 'policies',
  auditorKey: 'a.key',
};

function problem(value: unknown): string {
  try {
    parseAuditConfig(toBytes(JSON.stringify(value)));
  } catch (error) {
    assert.ok(isVouchError(error));
    return error.message;
  }
  return 'accepted';
}

test('config: a good file parses; each bad one names the key and the expectation', () => {
  const config = parseAuditConfig(toBytes(JSON.stringify(good)));
  assert.equal(config.sites[0]?.site, 'ch-zrh');
  assert.equal(config.sites[0]?.tenants, undefined);
  assert.match(problem({ ...good, auditorKey: 3 }), /key auditorKey: expected a non-empty string/);
  assert.match(
    problem({ ...good, releaseLog: { location: 'x' } }),
    /key releaseLog\.policy: expected a string/,
  );
  assert.match(problem({ ...good, sites: {} }), /key sites: expected an array/);
  assert.match(
    problem({ ...good, sites: [{ ...good.sites[0], site: 'zz' }] }),
    /key sites\[0\]\.site: expected a site id/,
  );
  assert.match(problem({ ...good, sites: [good.sites[0], good.sites[0]] }), /listed twice/);
  assert.match(
    problem({ ...good, repository: { ...good.repository, extra: 1 } }),
    /key repository\.extra: expected no such key/,
  );
  assert.throws(
    () => parseAuditConfig(toBytes('{')),
    (e: unknown) => isVouchError(e, 'malformed'),
  );
});

test('state: round-trips and refuses a bad root', () => {
  const state = {
    logs: new Map([['o', { origin: 'o', size: 12n, root: new Uint8Array(32).fill(7) }]]),
    repository: { root: 1, targets: 3, snapshot: 3, timestamp: 4 },
    history: [
      {
        time: '2026-01-01T00:00:00Z',
        logs: { 'release log': 12 },
        targetsVersion: 3,
        releases: 2,
        accesses: 5,
        passed: true,
      },
    ],
  };
  const again = parseAuditState(formatAuditState(state));
  assert.deepEqual(again.logs.get('o')?.root, state.logs.get('o')?.root);
  assert.equal(again.logs.get('o')?.size, 12n);
  assert.deepEqual(again.repository, state.repository);
  assert.equal(again.history.length, 1);
  assert.throws(
    () => parseAuditState(toBytes('{"logs":[{"origin":"o","size":"1","root":"AAAA"}],"history":[]}')),
    (e: unknown) => isVouchError(e, 'malformed'),
  );
});

test('html: findings from the audited world are escaped, and nothing is fetched', () => {
  const report: AuditReport = {
    time: '2026-01-01T00:00:00Z',
    auditor: 'auditor',
    passed: false,
    findings: [finding('evidence', 'products/<script>alert(1)</script>', 'x"y')],
    logs: [],
    repository: { name: 'r', checked: [], releases: [] },
    accesses: [{ site: 'ch-zrh', entries: 2, allowed: 1, byJustification: { '<b>why</b>': 2 } }],
    history: [],
  };
  const html = renderAuditHtml(report);
  assert.doesNotMatch(html, /<script/);
  assert.match(html, /&lt;script&gt;/);
  assert.match(html, /&lt;b&gt;why&lt;\/b&gt;/);
  assert.doesNotMatch(html, / src=| href=|url\(/);
});
