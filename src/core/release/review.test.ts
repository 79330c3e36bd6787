import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildStatement } from '../attest/statement.ts';
import { isVouchError } from '../errors.ts';
import {
  buildReviewStatement,
  parseReviewStatement,
  reviewCoversSource,
  reviewStatementType,
  treeHashDigest,
} from './review.ts';

const commit = 'c'.repeat(40);
const treeHash = 'd'.repeat(64);

test('a review statement names the source by commit and tree hash and parses back', () => {
  const statement = buildReviewStatement({
    source: { uri: 'git+https://git.example/hello', commit, treeHash },
    reviewers: ['alice@example.org', 'Bob Ünicode'],
    result: 'approved',
    reviewedOn: '2026-01-02T03:04:05Z',
  });
  assert.equal(statement.predicateType, reviewStatementType);
  assert.deepEqual(
    statement.subject.map((s) => ({ ...s, digest: { ...s.digest } })),
    [
      {
        name: 'source',
        uri: 'git+https://git.example/hello',
        digest: { gitCommit: commit, [treeHashDigest]: treeHash },
      },
    ],
  );
  assert.deepEqual(parseReviewStatement(statement), {
    source: { uri: 'git+https://git.example/hello', commit, treeHash },
    reviewers: ['alice@example.org', 'Bob Ünicode'],
    result: 'approved',
    reviewedOn: '2026-01-02T03:04:05Z',
  });
});

test('buildReviewStatement refuses what parseReviewStatement would', () => {
  const rows: [string, Parameters<typeof buildReviewStatement>[0]][] = [
    ['no source digest', { source: {}, reviewers: ['a'], result: 'approved' }],
    ['short commit', { source: { commit: 'abc' }, reviewers: ['a'], result: 'approved' }],
    ['no reviewers', { source: { commit }, reviewers: [], result: 'approved' }],
    ['control character', { source: { commit }, reviewers: ['a\nb'], result: 'approved' }],
    ['bad time', { source: { commit }, reviewers: ['a'], result: 'approved', reviewedOn: 'yesterday' }],
    ['bad result', { source: { commit }, reviewers: ['a'], result: 'maybe' as never }],
  ];
  for (const [name, input] of rows) {
    assert.throws(
      () => buildReviewStatement(input),
      (e: unknown) => isVouchError(e, 'invalid-argument'),
      name,
    );
  }
});

test('parseReviewStatement refuses a subject with a foreign digest or two subjects', () => {
  const foreign = buildStatement({
    subject: [{ name: 'source', digest: { sha256: 'a'.repeat(64) } }],
    predicateType: reviewStatementType,
    predicate: { reviewers: ['a'], result: 'approved' },
  });
  assert.throws(
    () => parseReviewStatement(foreign),
    (e: unknown) => isVouchError(e, 'malformed') && e.details.field === 'subject[0].digest.sha256',
  );
  const two = buildStatement(
    {
      subject: [
        { name: 'a', digest: { gitCommit: commit } },
        { name: 'b', digest: { gitCommit: 'e'.repeat(40) } },
      ],
      predicateType: reviewStatementType,
      predicate: { reviewers: ['a'], result: 'approved' },
    },
    ['gitCommit'],
  );
  assert.throws(
    () => parseReviewStatement(two),
    (e: unknown) => isVouchError(e, 'malformed') && e.details.field === 'subject',
  );
});

test('reviewCoversSource needs a shared identity and no disagreement', () => {
  const built = { folder: 'hello', commit, treeHash };
  const rows: [string, Parameters<typeof reviewCoversSource>[0], boolean][] = [
    ['same commit', { commit }, true],
    ['same tree', { treeHash }, true],
    ['both same', { commit, treeHash }, true],
    ['other commit', { commit: 'e'.repeat(40) }, false],
    ['other tree', { treeHash: 'e'.repeat(64) }, false],
    ['same commit, other tree', { commit, treeHash: 'e'.repeat(64) }, false],
    ['nothing', {}, false],
  ];
  for (const [name, reviewed, expected] of rows)
    assert.equal(reviewCoversSource(reviewed, built), expected, name);
  assert.equal(
    reviewCoversSource({ commit }, { treeHash }),
    false,
    'a commit cannot cover a build without one',
  );
});
