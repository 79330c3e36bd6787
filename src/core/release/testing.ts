/**
 * Test support for release approval: real keys, a release policy, a conveyer provenance signed by
 * a trusted site, rebuild attestations, a source review, and an in-memory release log (log key,
 * witnesses, RFC 6962 tree and signed, cosigned checkpoint) that issues C2SP tlog-proofs for any
 * evidence files. Every envelope is signed with core/crypto keys and every proof is real, so the
 * approver and agent suites can test refusals end to end. Nothing here is used outside tests.
 */

import { formatEnvelope } from '../attest/dsse.ts';
import { signStatement } from '../attest/statement.ts';
import { buildRebuildAttestation, type RebuildDifference } from '../build/attestation.ts';
import { buildProvenance, type ProvenanceInput } from '../build/provenance.ts';
import { formatHex, toBytes } from '../bytes/index.ts';
import { createSigner, generateKey, type Signer, sha256, sha512 } from '../crypto/index.ts';
import { leafHash, merkleTreeHash, proveInclusion } from '../merkle/index.ts';
import {
  createNoteSigner,
  formatVerifierKey,
  type NoteSigner,
  signatureTypes,
  signNote,
} from '../note/index.ts';
import { formatCheckpoint } from '../tlog/checkpoint.ts';
import { createCosigner } from '../tlog/cosignature.ts';
import { formatTlogProof } from '../tlog/proof.ts';
import type { ReleaseEvidence, ReleaseTarget } from './evidence.ts';
import { parseReleasePolicy, type ReleasePolicy, releasePolicyType } from './policy.ts';
import { buildReviewStatement, type ReviewedSource, signReviewStatement } from './review.ts';

/** testingOnlyBuilderId is the fixture's trusted build site; testingOnlyOtherBuilderId a second one. */
export const testingOnlyBuilderId = 'https://ch-zrh.build.vouch.example';
export const testingOnlyOtherBuilderId = 'https://us-sfo.build.vouch.example';

/** TestingOnlyPolicyOptions shapes the fixture's release policy. */
export interface TestingOnlyPolicyOptions {
  readonly rebuildThreshold?: number;
  readonly rebuildRequired?: boolean;
  readonly reviewRequired?: boolean;
  readonly reviewThreshold?: number;
  /** quorum is the witness quorum line's argument: a witness name, a group, or `none` (default `both`). */
  readonly quorum?: string;
  readonly allowNonHermetic?: boolean;
}

/** TestingOnlyReleaseFixture is a complete, passing release with the keys to forge variants. */
export interface TestingOnlyReleaseFixture {
  readonly builder: Signer;
  readonly otherBuilder: Signer;
  readonly rebuilders: readonly Signer[];
  readonly reviewers: readonly Signer[];
  /** stranger is a key no policy trusts. */
  readonly stranger: Signer;
  readonly targetBytes: Uint8Array;
  readonly target: ReleaseTarget;
  /** source is what the provenance records (commit and tree hash). */
  readonly source: { readonly commit: string; readonly treeHash: string };
  /** evidence is the passing evidence: provenance, two matching rebuilds, a review, and proofs. */
  readonly evidence: ReleaseEvidence;
  /** policyFor returns a release policy (bytes and parsed) over the fixture's keys. */
  policyFor(options?: TestingOnlyPolicyOptions): {
    readonly bytes: Uint8Array;
    readonly policy: ReleasePolicy;
  };
  /** signProvenance signs a conveyer provenance for the target, with fields overridden. */
  signProvenance(overrides?: Partial<ProvenanceInput>, signer?: Signer): Promise<Uint8Array>;
  /** signRebuild signs a rebuild attestation of `provenance` (mismatch when differences are given). */
  signRebuild(
    signer: Signer,
    provenance: Uint8Array,
    differences?: readonly RebuildDifference[],
  ): Promise<Uint8Array>;
  /** signReview signs an approved review of `source` (the fixture's by default) by `signers`. */
  signReview(
    signers: readonly Signer[],
    source?: ReviewedSource,
    result?: 'approved' | 'rejected',
  ): Promise<Uint8Array>;
  /** logProofs logs `files` in a fresh log tree and returns their tlog-proofs by hex SHA-256. */
  logProofs(
    files: readonly Uint8Array[],
    options?: { readonly witnesses?: readonly ('a' | 'b')[] },
  ): Promise<Map<string, Uint8Array>>;
}

const logOrigin = 'log.vouch.example/release';

function vkeyOf(signer: Signer): string {
  return formatVerifierKey({ name: signer.name, type: signatureTypes.ed25519, publicKey: signer.publicKey });
}

function hexSha256(bytes: Uint8Array): string {
  return formatHex(sha256(bytes));
}

/** testingOnlyReleaseFixture makes fresh keys and a passing release; see the module comment. */
export async function testingOnlyReleaseFixture(): Promise<TestingOnlyReleaseFixture> {
  const key = (name: string): Signer => createSigner(name, generateKey('ed25519'));
  const builder = key('ch-zrh.build.vouch.example');
  const otherBuilder = key('us-sfo.build.vouch.example');
  const rebuilders = [
    key('de-ber.rebuild.example'),
    key('jp-tyo.rebuild.example'),
    key('br-sao.rebuild.example'),
  ];
  const reviewers = [key('alice.review.example'), key('bob.review.example')];
  const stranger = key('ch-zrh.build.vouch.example'); // same name as the builder, another key
  const logSigner = key(logOrigin);
  const witnessA = key('a.witness.example');
  const witnessB = key('b.witness.example');
  const logNoteSigner: NoteSigner = createNoteSigner(logSigner);
  const cosigners = {
    a: createCosigner(witnessA, { timestamp: 1_700_000_000n }),
    b: createCosigner(witnessB, { timestamp: 1_700_000_001n }),
  };

  const targetBytes = toBytes('hello, release\n');
  const target: ReleaseTarget = {
    name: 'products/hello/1.0.0/hello-1.0.0.tar.gz',
    sha256: hexSha256(targetBytes),
    length: targetBytes.length,
  };
  const source = { commit: 'c'.repeat(40), treeHash: 'd'.repeat(64) };
  const baseProvenance: ProvenanceInput = {
    builderId: testingOnlyBuilderId,
    source: { folder: 'hello', commit: source.commit, treeHash: source.treeHash },
    recipe: { path: 'vouch.recipe', sha256: 'e'.repeat(64) },
    resolvedDependencies: [],
    sandbox: { isolation: 'bwrap' },
    hermetic: true,
    sourceDateEpoch: 1_700_000_000,
    byproducts: [],
    subjects: [
      { name: 'hello-1.0.0.tar.gz', sha256: target.sha256, sha512: formatHex(sha512(targetBytes)) },
      { name: 'share/hello.txt', sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) },
    ],
  };

  const signProvenance = async (
    overrides: Partial<ProvenanceInput> = {},
    signer: Signer = builder,
  ): Promise<Uint8Array> =>
    formatEnvelope(await signStatement(buildProvenance({ ...baseProvenance, ...overrides }), [signer]));
  const signRebuild = async (
    signer: Signer,
    provenance: Uint8Array,
    differences: readonly RebuildDifference[] = [],
  ): Promise<Uint8Array> =>
    formatEnvelope(
      await signStatement(
        buildRebuildAttestation({
          rebuilderId: `https://${signer.name}`,
          provenanceName: 'provenance.json',
          provenanceSha256: hexSha256(provenance),
          differences,
        }),
        [signer],
      ),
    );
  const signReview = async (
    signers: readonly Signer[],
    reviewed: ReviewedSource = source,
    result: 'approved' | 'rejected' = 'approved',
  ): Promise<Uint8Array> =>
    formatEnvelope(
      await signReviewStatement(
        buildReviewStatement({
          source: reviewed,
          reviewers: signers.map((s) => s.name),
          result,
          reviewedOn: '2026-01-02T03:04:05Z',
        }),
        signers,
      ),
    );
  const logProofs = async (
    files: readonly Uint8Array[],
    options: { readonly witnesses?: readonly ('a' | 'b')[] } = {},
  ): Promise<Map<string, Uint8Array>> => {
    const padding = [toBytes('earlier entry 0'), toBytes('earlier entry 1'), toBytes('earlier entry 2')];
    const entries = [...padding, ...files];
    const leaves = entries.map(leafHash);
    const text = formatCheckpoint({
      origin: logOrigin,
      size: BigInt(leaves.length),
      root: merkleTreeHash(leaves),
      extensions: [],
    });
    const witnesses = options.witnesses ?? ['a', 'b'];
    const checkpoint = await signNote(text, [logNoteSigner, ...witnesses.map((w) => cosigners[w])]);
    const proofs = new Map<string, Uint8Array>();
    files.forEach((file, i) => {
      const index = BigInt(padding.length + i);
      proofs.set(
        hexSha256(file),
        formatTlogProof({ index, proof: proveInclusion(leaves, index), checkpoint }),
      );
    });
    return proofs;
  };
  const policyFor = (
    options: TestingOnlyPolicyOptions = {},
  ): { bytes: Uint8Array; policy: ReleasePolicy } => {
    const witnessPolicy =
      `witness a ${formatVerifierKey(cosigners.a)}\n` +
      `witness b ${formatVerifierKey(cosigners.b)}\n` +
      'group both all a b\n' +
      `quorum ${options.quorum ?? 'both'}\n`;
    const json = {
      _type: releasePolicyType,
      builders: [
        {
          id: testingOnlyBuilderId,
          keys: [vkeyOf(builder)],
          allowNonHermetic: options.allowNonHermetic ?? false,
        },
        { id: testingOnlyOtherBuilderId, keys: [vkeyOf(otherBuilder)], allowNonHermetic: false },
      ],
      rebuilders: {
        required: options.rebuildRequired ?? true,
        keys: rebuilders.map(vkeyOf),
        threshold: options.rebuildThreshold ?? 2,
      },
      review: {
        required: options.reviewRequired ?? true,
        keys: reviewers.map(vkeyOf),
        threshold: options.reviewThreshold ?? 1,
      },
      log: { vkey: formatVerifierKey(logNoteSigner), witnessPolicy },
    };
    const bytes = toBytes(JSON.stringify(json, null, 2));
    return { bytes, policy: parseReleasePolicy(bytes) };
  };

  const provenance = await signProvenance();
  const rebuilds = [
    await signRebuild(rebuilders[0] as Signer, provenance),
    await signRebuild(rebuilders[1] as Signer, provenance),
  ];
  const review = await signReview([reviewers[0] as Signer]);
  const proofs = await logProofs([provenance, ...rebuilds, review]);
  return Object.freeze({
    builder,
    otherBuilder,
    rebuilders,
    reviewers,
    stranger,
    targetBytes,
    target,
    source,
    evidence: Object.freeze({ target, provenance, rebuilds, review, proofs }),
    policyFor,
    signProvenance,
    signRebuild,
    signReview,
    logProofs,
  });
}
