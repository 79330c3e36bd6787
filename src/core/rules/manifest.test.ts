import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toBytes, toText } from '../bytes/index.ts';
import { isVouchError } from '../errors.ts';
import { describeMember, formatManifest, type Manifest, parseManifest, verifyMembers } from './manifest.ts';

const table = toBytes('table');
const rule = toBytes('rule a { condition: true }');
const manifest: Manifest = {
  name: 'acme',
  version: 3,
  created: 1700000000,
  engine: { min: 1, max: 2 },
  counts: { hash: 0, allow: 0, yara: 1 },
  members: [describeMember('hashes.vhdb', table), describeMember('yara/a.yar', rule)],
};

describe('manifest', () => {
  test('round-trips in canonical form', () => {
    const bytes = formatManifest(manifest);
    assert.deepEqual(parseManifest(bytes), manifest);
    assert.match(toText(bytes), /^\{"counts":\{"allow":0,"hash":0,"yara":1\},"created":1700000000,/);
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
