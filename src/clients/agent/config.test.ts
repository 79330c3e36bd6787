import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toBytes } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { defaultAgentLimits, formatAgentConfig, makeAgentConfig, parseAgentConfig } from './config.ts';
import {
  compareVersions,
  findDelta,
  newestByName,
  targetUrl,
  toVouchTarget,
  type VouchTarget,
} from './targets.ts';

const base = { repository: 'https://updates.example/repo', repositoryName: 'vouch', wanted: ['rules/main/'] };

test('config: defaults, round trip, strictness', () => {
  const config = makeAgentConfig(base);
  assert.equal(config.repository, 'https://updates.example/repo/');
  assert.equal(config.intervalSeconds, 3600);
  assert.deepEqual(config.limits, defaultAgentLimits);
  assert.deepEqual(parseAgentConfig(formatAgentConfig(config)), config);
  const bad = (value: Record<string, unknown>, field: string) =>
    assert.throws(
      () => parseAgentConfig(toBytes(JSON.stringify({ ...base, ...value }))),
      (e) => isVouchError(e, 'malformed') && e.details.field === field,
    );
  bad({ typo: 1 }, 'typo');
  bad({ wanted: ['../x/'] }, 'wanted[0]');
  bad({ wanted: [] }, 'wanted');
  bad({ timeoutMs: 0 }, 'timeoutMs');
  bad({ site: 'https://site.example/' }, 'credentialFile');
  bad({ limits: { maxTimestampBytes: -1 } }, 'limits.maxTimestampBytes');
  assert.throws(
    () => makeAgentConfig({ ...base, repository: 'ftp://x/' }),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

test('targets: custom.vouch is read strictly', () => {
  const sha = 'a'.repeat(64);
  const info = (vouch: unknown) => ({ length: 3, hashes: { sha256: sha }, custom: { vouch } });
  assert.equal(toVouchTarget('x', { length: 1, hashes: { sha256: sha } }), undefined);
  const rules = toVouchTarget(
    'rules/main/main-2.vdb',
    info({ kind: 'rules', name: 'main', version: '2', evidence: { provenance: sha, rebuilds: [sha] } }),
  );
  assert.equal(rules?.evidence?.rebuilds.length, 1);
  const bad = (vouch: unknown) =>
    assert.throws(
      () => toVouchTarget('p', info(vouch)),
      (e) => isVouchError(e, 'malformed'),
    );
  bad({ kind: 'other', name: 'main', version: '1' });
  bad({ kind: 'rules', name: 'main', version: '1.0', evidence: { provenance: sha } });
  bad({ kind: 'product', name: '../x', version: '1', evidence: { provenance: sha } });
  bad({ kind: 'product', name: 'x', version: '1' });
  bad({ kind: 'rules-delta', name: 'main', version: '2', delta: { from: 2, to: 2, result: 'r' } });
});

test('targets: versions, newest, deltas, URLs', () => {
  assert.ok(compareVersions('1.10.0', '1.9.2') > 0);
  assert.ok(compareVersions('42', '41') > 0);
  assert.equal(compareVersions('1.0.0+b1', '1.0.0'), 0);
  assert.ok(compareVersions('1.0', '1.0.1') < 0);
  const t = (
    path: string,
    kind: VouchTarget['kind'],
    version: string,
    extra: Partial<VouchTarget> = {},
  ): VouchTarget => ({
    path,
    length: 1,
    sha256: 'b'.repeat(64),
    kind,
    name: 'main',
    version,
    ...extra,
  });
  const full1 = t('rules/main/main-1.vdb', 'rules', '1');
  const full2 = t('rules/main/main-2.vdb', 'rules', '2');
  const delta = t('rules/main/main-1-2.vdelta', 'rules-delta', '2', {
    delta: { from: 1, to: 2, result: 'rules/main/main-2.vdb' },
  });
  assert.deepEqual(newestByName([full1, full2, delta], 'rules/main/'), [full2]);
  assert.deepEqual(newestByName([full1], 'products/'), []);
  assert.throws(
    () => newestByName([full1, { ...full1, path: 'rules/main/other.vdb' }], 'rules/'),
    (e) => isVouchError(e, 'malformed'),
  );
  assert.equal(findDelta([full1, full2, delta], full2, '1'), delta);
  assert.equal(findDelta([full1, full2, delta], full2, '0'), undefined);
  assert.equal(
    targetUrl('rules/main/main 2.vdb', 'c'.repeat(64)),
    `targets/rules/main/${'c'.repeat(64)}.main%202.vdb`,
  );
  assert.throws(
    () => targetUrl('rules/../x', 'c'),
    (e) => isVouchError(e, 'malformed'),
  );
});
