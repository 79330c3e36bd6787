import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toBytes, toText } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import {
  checkYaraEngine,
  describeMember,
  formatManifest,
  type Manifest,
  type ManifestMember,
  parseManifest,
  verifyMembers,
} from './manifest.ts';

const table = toBytes('table');
const rule = toBytes('rule a { condition: true }');
const manifest: Manifest = {
  name: 'acme',
  version: 3,
  created: 1700000000,
  engine: { min: 1, max: 2, yaraX: '1.20.0' },
  counts: { hash: 0, allow: 0, yara: 1 },
  members: [describeMember('hashes.vhdb', table), describeMember('yara/a.yar', rule)],
};

describe('manifest', () => {
  test('round-trips in canonical form', () => {
    const bytes = formatManifest(manifest);
    assert.deepEqual(parseManifest(bytes), manifest);
    assert.match(
      toText(bytes),
      /^\{"counts":\{"allow":0,"hash":0,"yara":1\},"created":1700000000,"engine":\{"max":2,"min":1,"yaraX":"1.20.0"\},/,
    );
  });

  test('round-trips without a YARA-X version', () => {
    const without = { ...manifest, engine: { min: 1, max: 2 } };
    assert.deepEqual(parseManifest(formatManifest(without)), without);
  });

  test('refuses a YARA-X version for a database without YARA files', () => {
    assert.throws(
      () =>
        formatManifest({
          ...manifest,
          counts: { ...manifest.counts, yara: 0 },
          members: [manifest.members[0] as ManifestMember],
        }),
      (e) =>
        isVouchError(e, 'invalid-argument') &&
        isVouchError(e.cause, 'malformed') &&
        e.cause.details.field === 'engine.yaraX',
    );
  });

  const text = toText(formatManifest(manifest));
  for (const row of [
    {
      name: 'not canonical (space)',
      text: text.replace('"name":"acme"', '"name": "acme"'),
      field: 'manifest',
    },
    { name: 'wrong type', text: text.replace('manifest/v1', 'manifest/v2'), field: 'type' },
    { name: 'version 0', text: text.replace('"version":3', '"version":0'), field: 'version' },
    { name: 'yara count', text: text.replace('"yara":1', '"yara":2'), field: 'counts.yara' },
    { name: 'path traversal', text: text.replace('yara/a.yar', 'yara/../a.yar'), field: 'members[1].name' },
    { name: 'unsorted', text: text.replace('yara/a.yar', 'hashes.vhda'), field: 'members[1].name' },
    { name: 'extra key', text: text.replace('"version":3', '"version":3,"x":1'), field: 'manifest' },
    { name: 'bad YARA-X version', text: text.replace('"1.20.0"', '"1.20"'), field: 'engine.yaraX' },
    { name: 'extra engine key', text: text.replace('"yaraX"', '"x":1,"yaraX"'), field: 'engine' },
  ]) {
    test(`refuses ${row.name}`, () => {
      assert.throws(
        () => parseManifest(toBytes(row.text)),
        (e) => isVouchError(e, 'malformed') && e.details.field === row.field,
      );
    });
  }
});

describe('verifyMembers', () => {
  test('accepts the committed members', () => {
    verifyMembers(
      manifest,
      new Map([
        ['hashes.vhdb', table],
        ['yara/a.yar', rule],
      ]),
    );
  });
  for (const row of [
    {
      name: 'changed member',
      files: [
        ['hashes.vhdb', toBytes('tablf')],
        ['yara/a.yar', rule],
      ],
      code: 'bad-digest',
    },
    { name: 'missing member', files: [['hashes.vhdb', table]], code: 'not-found' },
    {
      name: 'extra member',
      files: [
        ['hashes.vhdb', table],
        ['yara/a.yar', rule],
        ['yara/b.yar', rule],
      ],
      code: 'malformed',
    },
  ] as const) {
    test(`refuses ${row.name}`, () => {
      assert.throws(
        () => verifyMembers(manifest, new Map(row.files.map(([n, b]) => [n, b] as [string, Uint8Array]))),
        (e) => isVouchError(e, row.code),
      );
    });
  }
  test('the error names the member and the expected digest', () => {
    assert.throws(
      () =>
        verifyMembers(
          manifest,
          new Map([
            ['hashes.vhdb', table],
            ['yara/a.yar', table],
          ]),
        ),
      (e) =>
        isVouchError(e, 'bad-digest') &&
        e.message.includes('yara/a.yar') &&
        e.message.includes(manifest.members[1]?.sha256 ?? '-'),
    );
  });
});

describe('checkYaraEngine', () => {
  const rows = [
    { name: 'the same version', running: '1.20.0', ok: true },
    { name: 'a newer patch', running: '1.20.1', ok: true },
    { name: 'a newer minor', running: '1.31.0', ok: true },
    {
      name: 'an older patch',
      running: '1.19.9',
      ok: false,
      why: /is older \(it needs 1\.x at 1\.20\.0 or later\)/,
    },
    { name: 'an older minor', running: '1.2.0', ok: false, why: /is older/ },
    { name: 'the next major', running: '2.0.0', ok: false, why: /is another major version/ },
    { name: 'an older major', running: '0.20.0', ok: false, why: /is another major version/ },
  ];
  for (const row of rows)
    test(`${row.ok ? 'accepts' : 'refuses'} ${row.name}`, () => {
      if (row.ok) checkYaraEngine(manifest, row.running);
      else
        assert.throws(
          () => checkYaraEngine(manifest, row.running),
          (e) =>
            isVouchError(e, 'policy-unmet') &&
            e.message.includes('validated with YARA-X 1.20.0') &&
            e.message.includes(`this scanner has YARA-X ${row.running}`) &&
            (row.why?.test(e.message) ?? false),
        );
    });

  test('refuses YARA files without a recorded version', () => {
    assert.throws(
      () => checkYaraEngine({ ...manifest, engine: { min: 1, max: 2 } }, '1.20.0'),
      (e) => isVouchError(e, 'policy-unmet') && /does not record the YARA-X version/.test(e.message),
    );
  });

  test('does not care without YARA files', () => {
    checkYaraEngine(
      { ...manifest, engine: { min: 1, max: 2 }, counts: { hash: 0, allow: 0, yara: 0 } },
      '9.9.9',
    );
  });

  test('refuses a running version that is not MAJOR.MINOR.PATCH', () => {
    assert.throws(
      () => checkYaraEngine(manifest, '1.21.0-rc.1'),
      (e) => isVouchError(e, 'invalid-argument'),
    );
  });
});
