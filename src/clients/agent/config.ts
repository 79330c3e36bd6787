/**
 * The agent's configuration, `config.json` in its state folder, written by `vouch agent init` and
 * read at the start of every run. It names where updates come from (the repository URL), what to
 * install (target path prefixes), where to report (the site URL and the tenant credential file),
 * how long to wait (intervals, timeouts) and how much to accept (size caps). The keys the agent
 * trusts are not in this file but beside it, copied in at init: the trusted root
 * (`metadata/root.json`) and the release policy (`release-policy.json`, core/release), which
 * holds the release log's verifier key and its witness policy (C2SP tlog-policy) besides the
 * builders, rebuilders and reviewers a release needs.
 *
 * Parsing is strict: unknown keys, wrong types and out-of-range numbers are `malformed` naming
 * the field, so a typo never silently falls back to a default. Defaults for caps follow tuf-js
 * (root 512 000, timestamp 16 384, snapshot 2 000 000, targets 5 000 000 bytes, 256 rotations).
 */

import { toBytes } from '../../core/bytes/index.ts';
import { malformed, VouchError } from '../../core/errors.ts';
import {
  isJsonArray,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseJson,
} from '../../core/json/index.ts';
import { parseBaseUrl } from './fetcher.ts';

/** AgentLimits are the size caps and counts an update run enforces (TUF "endless data"). */
export interface AgentLimits {
  /** maxRootBytes caps each N.root.json (default 512 000). */
  readonly maxRootBytes: number;
  /** maxTimestampBytes caps timestamp.json (default 16 384). */
  readonly maxTimestampBytes: number;
  /** maxSnapshotBytes caps N.snapshot.json when timestamp gives no length (default 2 000 000). */
  readonly maxSnapshotBytes: number;
  /** maxTargetsBytes caps N.targets.json when snapshot gives no length (default 5 000 000). */
  readonly maxTargetsBytes: number;
  /** maxRootRotations bounds the root versions fetched in one run (default 256). */
  readonly maxRootRotations: number;
  /** maxEvidenceBytes caps one evidence file (default 65 536, the log's entry bound). */
  readonly maxEvidenceBytes: number;
  /** maxProofBytes caps one tlog-proof (default 262 144). */
  readonly maxProofBytes: number;
  /** maxTargetBytes caps one target file whatever targets says (default 1 GiB). */
  readonly maxTargetBytes: number;
}

/** defaultAgentLimits are the caps used when config.json does not set them. */
export const defaultAgentLimits: AgentLimits = Object.freeze({
  maxRootBytes: 512_000,
  maxTimestampBytes: 16_384,
  maxSnapshotBytes: 2_000_000,
  maxTargetsBytes: 5_000_000,
  maxRootRotations: 256,
  maxEvidenceBytes: 65_536,
  maxProofBytes: 256 * 1024,
  maxTargetBytes: 1 << 30,
});

/** AgentConfig is config.json, parsed and validated. */
export interface AgentConfig {
  /** repository is the base URL of the repository's `public/` folder (ends in `/`). */
  readonly repository: string;
  /** repositoryName is the `repository` field of the release records this repository logs. */
  readonly repositoryName: string;
  /** wanted are target path prefixes to install, such as `products/hello/` or `rules/main/`. */
  readonly wanted: readonly string[];
  /** site, when set, is the base URL of the tenant's site, where outcomes are reported. */
  readonly site?: string;
  /** credentialFile is the path of the tenant credential (a bearer token file); required with `site`. */
  readonly credentialFile?: string;
  /** intervalSeconds is the time between runs of `agent run` (default 3600). */
  readonly intervalSeconds: number;
  /** jitterSeconds is the largest random delay added to each interval (default 300). */
  readonly jitterSeconds: number;
  /** maxBackoffSeconds caps the exponential backoff after failures (default 21 600). */
  readonly maxBackoffSeconds: number;
  /** timeoutMs bounds each HTTP request (default 30 000). */
  readonly timeoutMs: number;
  /** deadlineMs bounds all the requests of one run together (default 600 000). */
  readonly deadlineMs: number;
  /** reportTimeoutMs bounds the report to the site (default 10 000). */
  readonly reportTimeoutMs: number;
  readonly limits: AgentLimits;
}

/** AgentConfigInput is what `vouch agent init` passes; every omitted number gets its default. */
export type AgentConfigInput = Pick<AgentConfig, 'repository' | 'repositoryName' | 'wanted'> &
  Partial<Omit<AgentConfig, 'repository' | 'repositoryName' | 'wanted' | 'limits'>> & {
    readonly limits?: Partial<AgentLimits>;
  };

/** maxConfigBytes bounds config.json. */
export const maxConfigBytes = 64 * 1024;

const numberFields = {
  intervalSeconds: [1, 31 * 86_400, 3600],
  jitterSeconds: [0, 86_400, 300],
  maxBackoffSeconds: [1, 31 * 86_400, 21_600],
  timeoutMs: [1, 3_600_000, 30_000],
  deadlineMs: [1, 86_400_000, 600_000],
  reportTimeoutMs: [1, 600_000, 10_000],
} as const;

/**
 * makeAgentConfig validates an init input and fills defaults, or throws `invalid-argument`
 * naming the field.
 */
export function makeAgentConfig(input: AgentConfigInput): AgentConfig {
  try {
    return parseAgentConfig(formatAgentConfig(input as AgentConfig));
  } catch (error) {
    if (error instanceof VouchError && error.code === 'malformed') {
      throw new VouchError('invalid-argument', error.message, error.details);
    }
    throw error;
  }
}

/** formatAgentConfig writes config.json (pretty JSON, sorted keys as given). */
export function formatAgentConfig(config: AgentConfig): Uint8Array {
  return toBytes(`${JSON.stringify(config, null, 2)}\n`);
}

/**
 * parseAgentConfig parses config.json, or throws `malformed` naming the first bad field,
 * `too-large` over {@link maxConfigBytes}.
 */
export function parseAgentConfig(bytes: Uint8Array): AgentConfig {
  const value = parseJson(bytes, { maxBytes: maxConfigBytes });
  if (!isJsonObject(value)) throw malformed('agent config is not a JSON object');
  const known = new Set([
    'repository',
    'repositoryName',
    'wanted',
    'site',
    'credentialFile',
    'limits',
    ...Object.keys(numberFields),
  ]);
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw malformed('unknown agent config field', key);
  }
  const repository = parseBaseUrl(stringField(value, 'repository'), 'repository').href;
  const repositoryName = stringField(value, 'repositoryName');
  const wantedValue = value.wanted;
  if (!isJsonArray(wantedValue) || wantedValue.length === 0 || wantedValue.length > 256) {
    throw malformed('wanted must be a list of 1 to 256 target path prefixes', 'wanted');
  }
  const wanted = wantedValue.map((w, i) => {
    if (typeof w !== 'string' || !isTargetPrefix(w)) {
      throw malformed('a wanted prefix must be a relative target path ending in "/"', `wanted[${i}]`);
    }
    return w;
  });
  let site: string | undefined;
  let credentialFile: string | undefined;
  if (value.site !== undefined) site = parseBaseUrl(stringField(value, 'site'), 'site').href;
  if (value.credentialFile !== undefined) credentialFile = stringField(value, 'credentialFile');
  if (site !== undefined && credentialFile === undefined) {
    throw malformed('a site URL needs a tenant credential file', 'credentialFile');
  }
  const numbers = {} as Record<keyof typeof numberFields, number>;
  for (const [key, [min, max, fallback]] of Object.entries(numberFields) as [
    keyof typeof numberFields,
    readonly [number, number, number],
  ][]) {
    numbers[key] = integerField(value[key], key, min, max, fallback);
  }
  const limitsValue = value.limits ?? {};
  if (!isJsonObject(limitsValue)) throw malformed('limits must be an object', 'limits');
  const limits = { ...defaultAgentLimits } as Record<keyof AgentLimits, number>;
  for (const key of Object.keys(limitsValue)) {
    if (!Object.hasOwn(defaultAgentLimits, key)) throw malformed('unknown limit', `limits.${key}`);
    limits[key as keyof AgentLimits] = integerField(
      limitsValue[key],
      `limits.${key}`,
      1,
      Number.MAX_SAFE_INTEGER,
      0,
    );
  }
  return Object.freeze({
    repository,
    repositoryName,
    wanted: Object.freeze(wanted),
    ...(site === undefined ? {} : { site }),
    ...(credentialFile === undefined ? {} : { credentialFile }),
    ...numbers,
    limits: Object.freeze(limits),
  });
}

/** isTargetPrefix says whether `text` is a relative slash-separated path prefix ending in `/`. */
export function isTargetPrefix(text: string): boolean {
  if (!text.endsWith('/') || text.length > 512) return false;
  const segments = text.slice(0, -1).split('/');
  return segments.every((s) => /^[A-Za-z0-9._+-]+$/.test(s) && s !== '.' && s !== '..');
}

function stringField(value: JsonObject, field: string): string {
  const v = value[field];
  if (typeof v !== 'string' || v === '' || v.length > 4096)
    throw malformed(`${field} must be a non-empty string`, field);
  return v;
}

function integerField(
  v: JsonValue | undefined,
  field: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw malformed(`${field} must be an integer from ${min} to ${max}`, field);
  }
  return v;
}
