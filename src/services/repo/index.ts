/** The update repository (docs/updates.md): init, staging, pending metadata and signing, approval, publishing, timestamp refresh and root rotation. */
export { type ApproveOptions, type ApproveResult, approveRelease, type TargetApproval } from './approve.ts';
export { type InitOptions, type InitResult, initRepository } from './init.ts';
export { describeKeys, type NamedKey, namedKeyOf, namedKeyOfVkey, type PublicKey } from './keys.ts';
export {
  defaultExpiries,
  type Expiries,
  parseRepoConfig,
  type RepoConfig,
  type RepoPaths,
  readConfig,
  repoPaths,
  type TopRole,
} from './layout.ts';
export {
  type PendingTargetsResult,
  pendingStatus,
  preparePendingTargets,
  type SignatureStatus,
  signPending,
} from './pending.ts';
export {
  checkTargetsThreshold,
  type PublishOptions,
  type PublishResult,
  publishRepository,
} from './publish.ts';
export { currentTargets, effectiveRoot, readPending, readPublished, type TargetEntry } from './published.ts';
export type { ReleaseLog } from './release-log.ts';
export { type RotateOptions, type RotateResult, rotateRoot } from './rotate.ts';
export {
  type StagedEntry,
  type StageProductOptions,
  type StageRulesBuildOptions,
  type StageRulesOptions,
  stageProduct,
  stageRules,
  stageRulesBuild,
} from './stage.ts';
export { refreshTimestamp, type TimestampResult } from './timestamp.ts';
