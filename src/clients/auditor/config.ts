/**
 * Loading an audit configuration and everything it names (docs/audit.md): the JSON file itself
 * (core/audit/config.ts), then each file it refers to — the release log's tlog-policy, the
 * release policy, each site's ledger key and witness policy, the Cedar policy folder — resolved
 * against the configuration file's folder. Any problem is thrown as a VouchError whose message
 * names the configuration file, the key and what was expected, with a code the CLI maps to exit
 * 2 (bad input): the audit itself never starts on a half-understood configuration.
 */

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type AuditConfig, maxAuditConfigBytes, parseAuditConfig } from '../../core/audit/config.ts';
import { toBytes, toText } from '../../core/bytes/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { parseReleasePolicy, type ReleasePolicy } from '../../core/release/policy.ts';
import { createCheckpointVerifier } from '../../core/tlog/cosignature.ts';
import { maxPolicyBytes, type Policy, parsePolicy } from '../../core/tlog/policy.ts';
import type { PolicyEngine } from '../../services/policy/decide.ts';
import { loadPolicyFolder } from '../../services/policy/files.ts';

/** LoadedSite is a configured site with its parsed ledger policy and resolved folders. */
export interface LoadedSite {
  readonly site: string;
  readonly ledger: string;
  /** policy is the ledger's tlog-policy: `log <vkey>` and the witness lines. */
  readonly policy: Policy;
  readonly tenants?: string;
  readonly approvals?: string;
}

/** LoadedAuditConfig is a configuration with every file it names read and parsed. */
export interface LoadedAuditConfig {
  readonly file: string;
  readonly config: AuditConfig;
  readonly releaseLog: { readonly location: string; readonly policy: Policy };
  readonly repository: {
    readonly location: string;
    readonly name: string;
    readonly releasePolicy: ReleasePolicy;
  };
  readonly sites: readonly LoadedSite[];
  readonly policy: PolicyEngine;
  /** auditorKey is the resolved key file path. */
  readonly auditorKey: string;
}

function configError(file: string, key: string, expected: string, cause?: unknown): VouchError {
  const why = isVouchError(cause) ? ` (${cause.message})` : '';
  return new VouchError(
    'invalid-argument',
    `audit configuration ${file}: key ${key}: expected ${expected}${why}`,
    { field: key, key: file },
    { cause },
  );
}

async function readNamed(file: string, key: string, path: string, limit: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw configError(file, key, `a readable file (${path})`, error);
  }
  if (bytes.length > limit) throw configError(file, key, `a file of at most ${limit} bytes (${path})`);
  return bytes;
}

function isLocation(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

/** loadAuditConfig reads `file` and everything it names; see the module comment. */
export async function loadAuditConfig(file: string): Promise<LoadedAuditConfig> {
  let raw: Uint8Array;
  try {
    raw = await readFile(file);
  } catch (error) {
    throw new VouchError(
      'not-found',
      `audit configuration ${file} cannot be read`,
      { key: file },
      { cause: error },
    );
  }
  if (raw.length > maxAuditConfigBytes) throw configError(file, '$', `at most ${maxAuditConfigBytes} bytes`);
  let config: AuditConfig;
  try {
    config = parseAuditConfig(raw);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    const key = typeof error.details.field === 'string' ? error.details.field : '$';
    throw new VouchError('invalid-argument', `audit configuration ${file}: ${error.message}`, {
      field: key,
      key: file,
    });
  }
  const base = dirname(resolve(file));
  const path = (p: string): string => resolve(base, p);
  const where = (p: string): string => (isLocation(p) ? p : path(p));

  const logPolicyBytes = await readNamed(
    file,
    'releaseLog.policy',
    path(config.releaseLog.policy),
    maxPolicyBytes,
  );
  let logPolicy: Policy;
  try {
    logPolicy = parsePolicy(logPolicyBytes);
  } catch (error) {
    throw configError(file, 'releaseLog.policy', 'a C2SP tlog-policy', error);
  }
  if (logPolicy.logs.length !== 1)
    throw configError(file, 'releaseLog.policy', 'a tlog-policy with exactly one log line');

  const releaseBytes = await readNamed(
    file,
    'repository.releasePolicy',
    path(config.repository.releasePolicy),
    1 << 20,
  );
  let releasePolicy: ReleasePolicy;
  try {
    releasePolicy = parseReleasePolicy(releaseBytes);
  } catch (error) {
    throw configError(file, 'repository.releasePolicy', 'a release policy (docs/updates.md)', error);
  }
  if (releasePolicy.log.origin !== logPolicy.logs[0]?.key.name) {
    throw configError(
      file,
      'releaseLog.policy',
      `the log the release policy names (${releasePolicy.log.origin}), not ${logPolicy.logs[0]?.key.name}`,
    );
  }

  const sites: LoadedSite[] = [];
  for (const [i, site] of config.sites.entries()) {
    try {
      createCheckpointVerifier(site.vkey);
    } catch (error) {
      throw configError(
        file,
        `sites[${i}].vkey`,
        'a signed-note verifier key (Ed25519 or ECDSA P-256)',
        error,
      );
    }
    const witnessBytes = await readNamed(
      file,
      `sites[${i}].witnessPolicy`,
      path(site.witnessPolicy),
      maxPolicyBytes,
    );
    const lines = toText(witnessBytes, 'witness policy')
      .split('\n')
      .filter((line) => !line.startsWith('log '));
    let policy: Policy;
    try {
      policy = parsePolicy(toBytes([`log ${site.vkey}`, ...lines].join('\n')));
    } catch (error) {
      throw configError(
        file,
        `sites[${i}].witnessPolicy`,
        'the witness, group and quorum lines of a tlog-policy',
        error,
      );
    }
    sites.push(
      Object.freeze({
        site: site.site,
        ledger: where(site.ledger),
        policy,
        ...(site.tenants === undefined ? {} : { tenants: where(site.tenants) }),
        ...(site.approvals === undefined ? {} : { approvals: where(site.approvals) }),
      }),
    );
  }
  let policy: PolicyEngine;
  try {
    policy = await loadPolicyFolder(path(config.policy));
  } catch (error) {
    throw configError(file, 'policy', 'a Cedar policy folder (default.cedar, vouch.cedarschema)', error);
  }
  return Object.freeze({
    file,
    config,
    releaseLog: Object.freeze({ location: where(config.releaseLog.location), policy: logPolicy }),
    repository: Object.freeze({
      location: where(config.repository.location),
      name: config.repository.name,
      releasePolicy,
    }),
    sites: Object.freeze(sites),
    policy,
    auditorKey: path(config.auditorKey),
  });
}
