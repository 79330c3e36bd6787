/** Release approval: release records, the release policy, the evidence check, review statements and VSAs. */
export {
  checkReleaseEvidence,
  type EvaluateOptions,
  type EvidenceFile,
  type EvidenceKind,
  evaluateReleaseEvidence,
  maxEvidenceBytes,
  maxRebuildAttestations,
  type ReleaseAttack,
  type ReleaseCheck,
  type ReleaseCheckName,
  type ReleaseEvidence,
  type ReleaseTarget,
  type ReleaseVerdict,
} from './evidence.ts';
export { checkLoggedEntry, type LogAttack } from './logged.ts';
export {
  maxReleasePolicyBuilders,
  maxReleasePolicyBytes,
  maxReleasePolicyKeys,
  parseReleasePolicy,
  type ReleaseBuilder,
  type ReleaseKeySet,
  type ReleaseLogPolicy,
  type ReleasePolicy,
  releasePolicyType,
  type TrustedKey,
  trustedKeyOf,
} from './policy.ts';
export {
  formatReleaseRecord,
  maxReleaseRecordBytes,
  parseReleaseRecord,
  type ReleaseRecord,
  releaseRecord,
  releaseRecordType,
} from './record.ts';
export {
  buildReviewStatement,
  maxReviewers,
  parseReviewStatement,
  type Review,
  type ReviewedSource,
  type ReviewResult,
  reviewCoversSource,
  reviewStatementType,
  signReviewStatement,
  treeHashDigest,
} from './review.ts';
export {
  buildVerificationSummary,
  maxVsaInputs,
  parseVerificationSummary,
  type VerificationResult,
  type VerificationSummary,
  type VerificationSummaryInput,
  type VsaInput,
  verificationSummaryType,
  verifiedLevelsOf,
  vsaSlsaVersion,
} from './vsa.ts';
