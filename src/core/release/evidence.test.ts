import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHex, toBytes } from '../bytes/index.ts';
import type { Signer } from '../crypto/index.ts';
import { sha256 } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import {
  checkReleaseEvidence,
  evaluateReleaseEvidence,
  type ReleaseAttack,
  type ReleaseEvidence,
  type ReleaseVerdict,
} from './evidence.ts';
import type { ReleasePolicy } from './policy.ts';
import { type TestingOnlyPolicyOptions, testingOnlyReleaseFixture } from './testing.ts';

const fx = await testingOnlyReleaseFixture();
const [r0, r1, r2] = fx.rebuilders as [Signer, Signer, Signer];
const [alice, bob] = fx.reviewers as [Signer, Signer];
const { policy } = fx.policyFor();

/** evidenceWith replaces some evidence files and logs every file given in a fresh tree. */
async function evidenceWith(
  parts: { provenance?: Uint8Array; rebuilds?: readonly Uint8Array[]; review?: Uint8Array | null } = {},
  target = fx.target,
): Promise<ReleaseEvidence> {
  const provenance = parts.provenance ?? fx.evidence.provenance;
  const rebuilds =
    parts.rebuilds ??
    (parts.provenance === undefined
      ? fx.evidence.rebuilds
      : [await fx.signRebuild(r0, provenance), await fx.signRebuild(r1, provenance)]);
  const review = parts.review === null ? undefined : (parts.review ?? fx.evidence.review);
  const files = [provenance, ...rebuilds, ...(review === undefined ? [] : [review])];
  return {
    target,
    provenance,
    rebuilds,
    ...(review === undefined ? {} : { review }),
    proofs: await fx.logProofs(files),
  };
}

function refusal(verdict: ReleaseVerdict): { attack: unknown; check: unknown } {
  const failed = verdict.checks.find((c) => c.status === 'failed');
  assert.ok(failed?.error !== undefined, 'expected a failed check');
  return { attack: failed.error.details['attack'], check: failed.error.details['check'] };
}

test('a complete release passes every check and relies on every evidence file', () => {
  const verdict = checkReleaseEvidence(policy, fx.evidence);
  assert.equal(verdict.passed, true);
  assert.deepEqual(
    verdict.checks.map((c) => [c.name, c.status]),
    [
      ['provenance', 'passed'],
      ['builder', 'passed'],
      ['hermetic', 'passed'],
      ['subject', 'passed'],
      ['rebuilds', 'passed'],
      ['review', 'passed'],
      ['logged', 'passed'],
    ],
  );
  assert.equal(verdict.builderTrusted, true);
  assert.equal(verdict.matchingRebuilders, 2);
  assert.equal(verdict.provenance?.source.commit, fx.source.commit);
  assert.deepEqual(
    verdict.evidence.map((e) => [e.kind, e.relied]),
    [
      ['provenance', true],
      ['rebuild', true],
      ['rebuild', true],
      ['review', true],
    ],
  );
  assert.equal(verdict.evidence[0]?.sha256, formatHex(sha256(fx.evidence.provenance)));
  assert.match(verdict.checks[5]?.reason ?? '', /alice\.review\.example/);
});

interface Case {
  readonly name: string;
  readonly attack: ReleaseAttack;
  readonly check: string;
  readonly policy?: TestingOnlyPolicyOptions;
  readonly evidence: () => Promise<ReleaseEvidence>;
}

const cases: Case[] = [
  {
    name: 'provenance signed by a key no policy trusts',
    attack: 'wrong-builder',
    check: 'provenance',
    evidence: async () => evidenceWith({ provenance: await fx.signProvenance({}, fx.stranger) }),
  },
  {
    name: 'provenance claiming the neutral site, signed by another site',
    attack: 'wrong-builder',
    check: 'builder',
    evidence: async () => evidenceWith({ provenance: await fx.signProvenance({}, fx.otherBuilder) }),
  },
  {
    name: 'provenance from a builder id the policy does not list',
    attack: 'wrong-builder',
    check: 'builder',
    evidence: async () =>
      evidenceWith({ provenance: await fx.signProvenance({ builderId: 'https://evil.example' }) }),
  },
  {
    name: 'provenance whose payload was tampered with',
    attack: 'wrong-builder',
    check: 'provenance',
    evidence: async () => {
      const json = JSON.parse(new TextDecoder().decode(fx.evidence.provenance));
      const statement = JSON.parse(atob(json.payload));
      statement.predicate.runDetails.builder.id = 'https://us-sfo.build.vouch.example';
      json.payload = btoa(JSON.stringify(statement));
      return evidenceWith({ provenance: toBytes(JSON.stringify(json)) });
    },
  },
  {
    name: 'provenance that is not an envelope',
    attack: 'wrong-builder',
    check: 'provenance',
    evidence: async () => evidenceWith({ provenance: toBytes('{"not":"dsse"}'), rebuilds: [] }),
  },
  {
    name: 'a build that was not hermetic',
    attack: 'not-hermetic',
    check: 'hermetic',
    evidence: async () => evidenceWith({ provenance: await fx.signProvenance({ hermetic: false }) }),
  },
  {
    name: 'a target the provenance does not list',
    attack: 'unbuilt',
    check: 'subject',
    evidence: async () => evidenceWith({}, { ...fx.target, sha256: 'f'.repeat(64) }),
  },
  {
    name: 'no rebuild attestation',
    attack: 'rebuild',
    check: 'rebuilds',
    evidence: async () => evidenceWith({ rebuilds: [] }),
  },
  {
    name: 'one matching rebuild of the two required',
    attack: 'rebuild',
    check: 'rebuilds',
    evidence: async () => evidenceWith({ rebuilds: [fx.evidence.rebuilds[0] as Uint8Array] }),
  },
  {
    name: 'a second rebuilder that mismatched',
    attack: 'rebuild',
    check: 'rebuilds',
    evidence: async () =>
      evidenceWith({
        rebuilds: [
          fx.evidence.rebuilds[0] as Uint8Array,
          await fx.signRebuild(r1, fx.evidence.provenance, [
            { name: 'hello-1.0.0.tar.gz', expected: fx.target.sha256, actual: '0'.repeat(64) },
          ]),
        ],
      }),
  },
  {
    name: 'the same rebuilder twice',
    attack: 'rebuild',
    check: 'rebuilds',
    evidence: async () => {
      const again = await fx.signRebuild(r0, fx.evidence.provenance);
      return evidenceWith({ rebuilds: [fx.evidence.rebuilds[0] as Uint8Array, again] });
    },
  },
  {
    name: 'a rebuild of another provenance',
    attack: 'rebuild',
    check: 'rebuilds',
    evidence: async () => {
      const other = await fx.signProvenance({ sourceDateEpoch: 1 });
      return evidenceWith({
        rebuilds: [fx.evidence.rebuilds[0] as Uint8Array, await fx.signRebuild(r1, other)],
      });
    },
  },
  {
    name: 'a "rebuild" signed by the builder itself',
    attack: 'rebuild',
    check: 'rebuilds',
    evidence: async () =>
      evidenceWith({
        rebuilds: [
          fx.evidence.rebuilds[0] as Uint8Array,
          await fx.signRebuild(fx.builder, fx.evidence.provenance),
        ],
      }),
  },
  {
    name: 'no review where the policy requires one',
    attack: 'unreviewed',
    check: 'review',
    evidence: async () => evidenceWith({ review: null }),
  },
  {
    name: 'a review signed by an untrusted key',
    attack: 'unreviewed',
    check: 'review',
    evidence: async () => evidenceWith({ review: await fx.signReview([fx.stranger]) }),
  },
  {
    name: 'a review that rejected the source',
    attack: 'unreviewed',
    check: 'review',
    evidence: async () => evidenceWith({ review: await fx.signReview([alice], fx.source, 'rejected') }),
  },
  {
    name: 'a review of another commit',
    attack: 'unreviewed',
    check: 'review',
    evidence: async () => evidenceWith({ review: await fx.signReview([alice], { commit: '1'.repeat(40) }) }),
  },
  {
    name: 'a review of the same commit with another tree',
    attack: 'unreviewed',
    check: 'review',
    evidence: async () =>
      evidenceWith({
        review: await fx.signReview([alice], { commit: fx.source.commit, treeHash: '2'.repeat(64) }),
      }),
  },
  {
    name: 'a review by one reviewer where two are required',
    attack: 'unreviewed',
    check: 'review',
    policy: { reviewThreshold: 2 },
    evidence: async () => evidenceWith(),
  },
  {
    name: 'evidence without inclusion proofs',
    attack: 'unlogged',
    check: 'logged',
    evidence: async () => ({ ...fx.evidence, proofs: new Map() }),
  },
  {
    name: 'a proof that belongs to another file',
    attack: 'unlogged',
    check: 'logged',
    evidence: async () => {
      const proofs = new Map(fx.evidence.proofs);
      const other = proofs.get(formatHex(sha256(fx.evidence.rebuilds[0] as Uint8Array)));
      assert.ok(other !== undefined);
      proofs.set(formatHex(sha256(fx.evidence.provenance)), other);
      return { ...fx.evidence, proofs };
    },
  },
  {
    name: 'a checkpoint without the witness quorum',
    attack: 'split-view',
    check: 'logged',
    evidence: async () => {
      const e = fx.evidence;
      const files = [e.provenance, ...e.rebuilds, e.review as Uint8Array];
      return { ...e, proofs: await fx.logProofs(files, { witnesses: ['a'] }) };
    },
  },
];

for (const c of cases) {
  test(`refused (${c.attack}): ${c.name}`, async () => {
    const p: ReleasePolicy = c.policy === undefined ? policy : fx.policyFor(c.policy).policy;
    const evidence = await c.evidence();
    const verdict = evaluateReleaseEvidence(p, evidence);
    assert.equal(verdict.passed, false);
    assert.deepEqual(refusal(verdict), { attack: c.attack, check: c.check });
    assert.throws(
      () => checkReleaseEvidence(p, evidence),
      (error: unknown) =>
        isVouchError(error) &&
        error.details['attack'] === c.attack &&
        error.message.includes(`(${c.attack})`) &&
        error.message.includes('products/hello/1.0.0/hello-1.0.0.tar.gz'),
    );
  });
}

test('a non-hermetic build passes where the builder is allowed one', async () => {
  const evidence = await evidenceWith({ provenance: await fx.signProvenance({ hermetic: false }) });
  const verdict = checkReleaseEvidence(fx.policyFor({ allowNonHermetic: true }).policy, evidence);
  assert.equal(verdict.provenance?.hermetic, false);
  assert.match(verdict.checks[2]?.reason ?? '', /allowed/);
});

test('the second trusted site passes with its own builder id', async () => {
  const provenance = await fx.signProvenance(
    { builderId: 'https://us-sfo.build.vouch.example' },
    fx.otherBuilder,
  );
  const verdict = checkReleaseEvidence(policy, await evidenceWith({ provenance }));
  assert.equal(verdict.provenance?.builderId, 'https://us-sfo.build.vouch.example');
});

test('k of n: any two of three rebuilders, with a mismatch from the third tolerated', async () => {
  const mismatch = await fx.signRebuild(r2, fx.evidence.provenance, [
    { name: 'share/hello.txt', expected: 'a'.repeat(64) },
  ]);
  const evidence = await evidenceWith({
    rebuilds: [mismatch, fx.evidence.rebuilds[1] as Uint8Array, fx.evidence.rebuilds[0] as Uint8Array],
  });
  const verdict = checkReleaseEvidence(policy, evidence);
  assert.equal(verdict.matchingRebuilders, 2);
  assert.deepEqual(
    verdict.evidence.filter((e) => e.kind === 'rebuild').map((e) => e.relied),
    [false, true, true],
  );
  assert.match(verdict.evidence[1]?.reason ?? '', /mismatch/);
});

test('evidence the policy does not require never fails the verdict', async () => {
  const lax = fx.policyFor({
    rebuildRequired: false,
    rebuildThreshold: 0,
    reviewRequired: false,
    reviewThreshold: 0,
  }).policy;
  const bare = await evidenceWith({ rebuilds: [], review: null });
  const verdict = checkReleaseEvidence(lax, bare);
  assert.match(verdict.checks[4]?.reason ?? '', /not required/);
  assert.match(verdict.checks[5]?.reason ?? '', /not required/);
  // A bad review given anyway is reported, not relied on, and not required to be logged.
  const withBadReview = await evidenceWith({ rebuilds: [], review: await fx.signReview([fx.stranger]) });
  const second = checkReleaseEvidence(lax, {
    ...withBadReview,
    proofs: await fx.logProofs([withBadReview.provenance]),
  });
  assert.deepEqual(
    second.evidence.map((e) => [e.kind, e.relied]),
    [
      ['provenance', true],
      ['review', false],
    ],
  );
});

test('two reviewers in one envelope meet a threshold of two', async () => {
  const review = await fx.signReview([alice, bob]);
  const verdict = checkReleaseEvidence(
    fx.policyFor({ reviewThreshold: 2 }).policy,
    await evidenceWith({ review }),
  );
  assert.match(verdict.checks[5]?.reason ?? '', /alice.*bob/);
});

test('a review by tree hash alone covers the source', async () => {
  const review = await fx.signReview([alice], { treeHash: fx.source.treeHash });
  checkReleaseEvidence(policy, await evidenceWith({ review }));
});

test('the approver can check before logging; the logged check is then skipped', () => {
  const verdict = checkReleaseEvidence(
    policy,
    { ...fx.evidence, proofs: new Map() },
    { requireLogged: false },
  );
  assert.equal(verdict.passed, true);
  assert.equal(verdict.checks[6]?.status, 'skipped');
});

test('stale witness cosignatures do not count when freshness is asked for', () => {
  assert.throws(
    () => checkReleaseEvidence(policy, fx.evidence, { freshness: { now: 1_800_000_000n, maxAge: 3600n } }),
    (error: unknown) => isVouchError(error, 'policy-unmet') && error.details['attack'] === 'split-view',
  );
  checkReleaseEvidence(policy, fx.evidence, { freshness: { now: 1_700_000_100n, maxAge: 3600n } });
});

test('every failure is listed, and dependent checks are skipped', async () => {
  const verdict = evaluateReleaseEvidence(policy, {
    target: fx.target,
    provenance: toBytes('garbage'),
    rebuilds: [toBytes('more garbage')],
    proofs: new Map(),
  });
  assert.deepEqual(
    verdict.checks.map((c) => [c.name, c.status]),
    [
      ['provenance', 'failed'],
      ['builder', 'skipped'],
      ['hermetic', 'skipped'],
      ['subject', 'skipped'],
      ['rebuilds', 'failed'],
      ['review', 'failed'],
      ['logged', 'skipped'],
    ],
  );
  assert.deepEqual(
    verdict.checks.filter((c) => c.error !== undefined).map((c) => c.error?.details['attack']),
    ['wrong-builder', 'rebuild', 'unreviewed'],
  );
  assert.equal(verdict.provenance, undefined);
});

test('oversized evidence and too many rebuilds are failed checks, not throws', async () => {
  const big = new Uint8Array(64 * 1024 + 1).fill(0x20);
  const verdict = evaluateReleaseEvidence(policy, {
    ...fx.evidence,
    provenance: big,
    rebuilds: Array(65).fill(big),
  });
  assert.equal(verdict.checks[0]?.error?.code, 'too-large');
  assert.equal(verdict.checks[4]?.error?.code, 'too-large');
  assert.equal(verdict.evidence.length, 1 + 64 + 1);
});

test('a target that is not a name, digest and length is a caller error', () => {
  assert.throws(
    () => evaluateReleaseEvidence(policy, { ...fx.evidence, target: { ...fx.target, sha256: 'ABC' } }),
    (error: unknown) => isVouchError(error, 'invalid-argument'),
  );
});
