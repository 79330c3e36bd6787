import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatEnvelope } from '../attest/dsse.ts';
import { buildStatement, openStatement, parseEnvelope, signStatement } from '../attest/index.ts';
import { createSigner, createVerifier, generateKey, type Signer } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import type { JsonObject } from '../json/index.ts';
import { evaluateReleaseEvidence, type ReleaseVerdict } from './evidence.ts';
import { testingOnlyReleaseFixture } from './testing.ts';
import {
  buildVerificationSummary,
  parseVerificationSummary,
  type VerificationSummaryInput,
  verificationSummaryType,
  verifiedLevelsOf,
} from './vsa.ts';

const fx = await testingOnlyReleaseFixture();
const { policy } = fx.policyFor();
const passed = evaluateReleaseEvidence(policy, fx.evidence);
const approver = createSigner('approver.vouch.example', generateKey('ed25519'));

function inputFor(verdict: ReleaseVerdict): VerificationSummaryInput {
  return {
    verifierId: 'https://approver.vouch.example',
    verifierVersion: { vouch: '0.1.0' },
    target: fx.target,
    resourceUri: `https://updates.vouch.example/targets/${fx.target.name}`,
    policyUri: 'https://updates.vouch.example/release-policy.json',
    policyDigest: policy.sha256,
    verdict,
    timeVerified: '2026-01-02T03:04:05Z',
    inputs: verdict.evidence
      .filter((e) => e.relied)
      .map((e) => ({ uri: `https://updates.vouch.example/evidence/${e.sha256}.json`, sha256: e.sha256 })),
  };
}

test('a passed hermetic release is summarised as PASSED at Build L3, signed and read back', async () => {
  const statement = buildVerificationSummary(inputFor(passed));
  assert.equal(statement.predicateType, verificationSummaryType);
  assert.deepEqual(
    statement.subject.map((s) => ({ ...s, digest: { ...s.digest } })),
    [{ name: fx.target.name, digest: { sha256: fx.target.sha256 } }],
  );
  const envelope = parseEnvelope(formatEnvelope(await signStatement(statement, [approver])));
  const opened = openStatement(envelope, [createVerifier(approver.keyType, approver.publicKey)], 1);
  const summary = parseVerificationSummary(opened.statement);
  assert.deepEqual(summary, {
    target: { name: fx.target.name, sha256: fx.target.sha256 },
    verifierId: 'https://approver.vouch.example',
    verifierVersion: { vouch: '0.1.0' },
    timeVerified: '2026-01-02T03:04:05Z',
    resourceUri: `https://updates.vouch.example/targets/${fx.target.name}`,
    policy: { uri: 'https://updates.vouch.example/release-policy.json', sha256: policy.sha256 },
    inputs: inputFor(passed).inputs,
    result: 'PASSED',
    verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
    slsaVersion: '1.1',
  });
  assert.equal(summary.inputs.length, 4);
});

test('levels are claimed only when justified', async () => {
  const provenance = await fx.signProvenance({ hermetic: false });
  const rebuilds = [
    await fx.signRebuild(fx.rebuilders[0] as Signer, provenance),
    await fx.signRebuild(fx.rebuilders[1] as Signer, provenance),
  ];
  const evidence = {
    ...fx.evidence,
    provenance,
    rebuilds,
    proofs: await fx.logProofs([provenance, ...rebuilds, fx.evidence.review as Uint8Array]),
  };
  const lax = fx.policyFor({ allowNonHermetic: true }).policy;
  assert.deepEqual(verifiedLevelsOf(evaluateReleaseEvidence(lax, evidence)), ['SLSA_BUILD_LEVEL_2']);
  const failed = evaluateReleaseEvidence(policy, evidence);
  assert.equal(failed.passed, false);
  assert.deepEqual(verifiedLevelsOf(failed), ['FAILED']);
  const summary = parseVerificationSummary(buildVerificationSummary(inputFor(failed)));
  assert.equal(summary.result, 'FAILED');
  assert.deepEqual(summary.verifiedLevels, ['FAILED']);
});

test('buildVerificationSummary refuses a target other than the verdict’s and bad fields', () => {
  const input = inputFor(passed);
  assert.throws(
    () => buildVerificationSummary({ ...input, target: { ...fx.target, sha256: '0'.repeat(64) } }),
    (e: unknown) => isVouchError(e, 'invalid-argument') && e.details.field === 'target',
  );
  for (const [name, bad] of [
    ['relative resource', { resourceUri: 'targets/x' }],
    ['bad time', { timeVerified: '2026-01-02' }],
    ['bad policy digest', { policyDigest: 'abc' }],
    ['relative input', { inputs: [{ uri: 'evidence/x.json', sha256: 'a'.repeat(64) }] }],
  ] as const) {
    assert.throws(
      () => buildVerificationSummary({ ...input, ...bad }),
      (e: unknown) => isVouchError(e, 'invalid-argument'),
      name,
    );
  }
});

test('parseVerificationSummary refuses inconsistent levels', () => {
  const base = buildVerificationSummary(inputFor(passed));
  const withPredicate = (edit: Record<string, unknown>) =>
    buildStatement({
      subject: base.subject,
      predicateType: verificationSummaryType,
      predicate: { ...base.predicate, ...edit } as JsonObject,
    });
  const rows: [string, Record<string, unknown>, string][] = [
    [
      'two build levels',
      { verifiedLevels: ['SLSA_BUILD_LEVEL_3', 'SLSA_BUILD_LEVEL_2'] },
      'predicate.verifiedLevels[1]',
    ],
    ['FAILED on a pass', { verifiedLevels: ['FAILED'] }, 'predicate.verifiedLevels[0]'],
    ['a level on a failure', { verificationResult: 'FAILED' }, 'predicate.verifiedLevels[0]'],
    ['unknown level', { verifiedLevels: ['LEVEL_9000'] }, 'predicate.verifiedLevels[0]'],
    ['unknown result', { verificationResult: 'OK' }, 'predicate.verificationResult'],
    ['no slsaVersion', { slsaVersion: 1 }, 'predicate.slsaVersion'],
  ];
  for (const [name, edit, field] of rows) {
    assert.throws(
      () => parseVerificationSummary(withPredicate(edit)),
      (e: unknown) => isVouchError(e, 'malformed') && (e.details.fields as string[]).includes(field),
      name,
    );
  }
});
