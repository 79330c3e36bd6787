import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatHex, toBytes, toText } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import { formatReleaseRecord, parseReleaseRecord, releaseRecord } from './record.ts';

const file = toBytes('{"signed":{"_type":"targets"}}');
const digest = formatHex(sha256(file));

test('releaseRecord is the canonical JSON of docs/updates.md and parses back', () => {
  const bytes = releaseRecord({ repository: 'vouch-main', file: '3.targets.json', bytes: file });
  assert.equal(
    toText(bytes),
    `{"_type":"https://vouch.example/release-record/v1","file":"3.targets.json","length":${file.length},"repository":"vouch-main","sha256":"${digest}"}`,
  );
  const record = parseReleaseRecord(bytes);
  assert.deepEqual(record, {
    repository: 'vouch-main',
    file: '3.targets.json',
    length: file.length,
    sha256: digest,
  });
  assert.deepEqual(formatReleaseRecord(record), bytes);
});

test('parseReleaseRecord accepts only the canonical form of a valid record', () => {
  const good = toText(releaseRecord({ repository: 'r', file: '1.root.json', bytes: file }));
  const rows: [string, string, string][] = [
    ['whitespace', good.replace(',', ', '), '$'],
    [
      'reordered keys',
      good
        .replace('"_type":"https://vouch.example/release-record/v1",', '')
        .replace('}', ',"_type":"https://vouch.example/release-record/v1"}'),
      '$',
    ],
    ['extra field', good.replace('}', ',"x":1}'), '$'],
    ['missing field', good.replace(/,"repository":"r"/, ''), '$'],
    ['other type', good.replace('release-record/v1', 'release-record/v2'), '_type'],
    ['upper-case digest', good.replace(digest, digest.toUpperCase()), 'sha256'],
    ['short digest', good.replace(digest, digest.slice(2)), 'sha256'],
    ['negative length', good.replace(/"length":\d+/, '"length":-1'), 'length'],
    ['string length', good.replace(/"length":(\d+)/, '"length":"$1"'), 'length'],
    ['path as file', good.replace('1.root.json', 'a/1.root.json'), 'file'],
    ['dot file', good.replace('1.root.json', '..'), 'file'],
    ['empty repository', good.replace('"repository":"r"', '"repository":""'), 'repository'],
    ['not an object', '[]', '$'],
  ];
  for (const [name, text, field] of rows) {
    assert.throws(
      () => parseReleaseRecord(toBytes(text)),
      (e: unknown) => isVouchError(e, 'malformed') && e.details.field === field,
      name,
    );
  }
  assert.throws(
    () => parseReleaseRecord(new Uint8Array(4096)),
    (e: unknown) => isVouchError(e, 'too-large'),
  );
});

test('releaseRecord refuses names a parser would refuse', () => {
  for (const [repository, name] of [
    ['', 'x.json'],
    ['r "quoted"', 'x.json'],
    ['r', 'dir/x.json'],
    ['r', ''],
  ] as const) {
    assert.throws(
      () => releaseRecord({ repository, file: name, bytes: file }),
      (e: unknown) => isVouchError(e, 'invalid-argument'),
    );
  }
});

test('parseReleaseRecord returns a record or a typed error for any input', () => {
  const base = toText(releaseRecord({ repository: 'vouch-main', file: '12.snapshot.json', bytes: file }));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc
          .tuple(fc.nat({ max: base.length }), fc.nat({ max: 20 }), fc.string({ maxLength: 8 }))
          .map(([at, cut, insert]) => toBytes(base.slice(0, at) + insert + base.slice(at + cut))),
      ),
      (bytes) => {
        try {
          const record = parseReleaseRecord(bytes);
          assert.deepEqual(formatReleaseRecord(record), bytes);
        } catch (error) {
          if (!(error instanceof VouchError) || error.code === 'invariant') throw error;
        }
      },
    ),
    { seed: 7, numRuns: 2000 },
  );
});
