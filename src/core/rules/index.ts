/** Detection-rule databases: the source layout, the compiled hash table, the manifest, deltas and single-file bundles. */
export {
  bundleMagic,
  maxBundleNameLength,
  maxHashTableBytes,
  packDatabaseBundle,
  unpackDatabaseBundle,
} from './bundle.ts';
export {
  assembleDatabase,
  buildDatabase,
  type DatabaseContent,
  type DatabaseFiles,
  type DatabaseHeader,
  maxYaraFileBytes,
  openDatabase,
  type RuleDatabase,
} from './database.ts';
export {
  applyDelta,
  deltaType,
  diffDatabases,
  maxDeltaBytes,
  maxDeltaEntries,
  parseDelta,
  type RulesDelta,
  type YaraFile,
} from './delta.ts';
export {
  formatHashDb,
  type HashDb,
  hashDbMagic,
  hashDbVersion,
  isAllowed,
  lookupHash,
  maxHashDbRecords,
  parseHashDb,
  readAllowList,
  readHashRecords,
} from './hashdb.ts';
export { diffHashDb, type HashDbChanges, spliceHashDb } from './hashdb-edit.ts';
export {
  describeMember,
  formatManifest,
  hashDbFileName,
  isMemberName,
  type Manifest,
  type ManifestMember,
  manifestFileName,
  manifestType,
  parseManifest,
  type RuleCounts,
  verifyMembers,
} from './manifest.ts';
export {
  defaultSourceLimits,
  type EngineRange,
  formatHashSignature,
  type HashFile,
  type HashSignature,
  type HashSize,
  isSignatureName,
  isYaraFileName,
  parseAllowList,
  parseHashFiles,
  parseHashLine,
  parseRulesMetadata,
  type RulesMetadata,
  type SourceLimits,
} from './source.ts';
