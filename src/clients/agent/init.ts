/**
 * `vouch agent init`: create a state folder from what the endpoint ships with — the trusted root
 * metadata, the release policy (builders, rebuilders, reviewers, and the release log's key with
 * its witness quorum) and the configuration. Everything is checked before anything is written:
 * the root must parse and carry its own root threshold (core/tuf), the release policy must parse
 * (core/release), the configuration must validate. The root is copied to `metadata/root.json`,
 * the starting point of the first update's root chain. An existing state folder is refused, so
 * init never replaces the trust an agent already has (`conflict`).
 *
 * Crash story: folders, root, release policy, then config.json last — the commit point; a folder
 * without config.json is not a state folder and init may run on it again.
 */

import { VouchError } from '../../core/errors.ts';
import { maxReleasePolicyBytes, parseReleasePolicy } from '../../core/release/policy.ts';
import { defaultTufLimits } from '../../core/tuf/metadata.ts';
import { TrustedMetadata } from '../../core/tuf/trusted.ts';
import { type AgentConfig, type AgentConfigInput, formatAgentConfig, makeAgentConfig } from './config.ts';
import { ensureStateFolders, metadataPath, readStateFile, statePaths, writeStateFile } from './state.ts';

/** InitAgentInput is what a new state folder is made of. */
export interface InitAgentInput {
  /** root is the trusted root metadata file (any version), shipped out of band. */
  readonly root: Uint8Array;
  /** releasePolicy is the release policy JSON. */
  readonly releasePolicy: Uint8Array;
  readonly config: AgentConfigInput;
}

/** initAgent creates the state folder `dir` (see the module comment) and returns its config. */
export async function initAgent(dir: string, input: InitAgentInput): Promise<AgentConfig> {
  const paths = statePaths(dir);
  if ((await readStateFile(paths.config, 1 << 20)) !== undefined) {
    throw new VouchError('conflict', `${dir} is already an agent state folder (it has config.json)`, {
      field: dir,
    });
  }
  const config = makeAgentConfig(input.config);
  // The root must verify under its own keys; expiry is judged by the first update (§5.3.10).
  TrustedMetadata.fromRoot(input.root, 0, { ...defaultTufLimits, rootBytes: config.limits.maxRootBytes });
  if (input.releasePolicy.length > maxReleasePolicyBytes) {
    throw new VouchError('too-large', 'the release policy is too large', { limit: maxReleasePolicyBytes });
  }
  parseReleasePolicy(input.releasePolicy);
  await ensureStateFolders(paths);
  await writeStateFile(metadataPath(paths, 'root'), input.root);
  await writeStateFile(paths.releasePolicy, input.releasePolicy);
  await writeStateFile(paths.config, formatAgentConfig(config)); // COMMIT POINT
  return config;
}
