/**
 * The supervisor's audit configuration (`vouch audit --config FILE`, docs/audit.md): a strict
 * JSON document naming what to audit — the release log and its C2SP tlog-policy, the update
 * repository's public folder with its name and release policy, each site's access ledger with
 * its key, witness policy and (optionally) the tenant records and approvals needed to replay its
 * entries, the Cedar policy folder and the auditor's key file.
 *
 * Parsing is pure: paths are returned as written (the client resolves them against the config
 * file's folder). Every problem names the key at fault and what was expected, so that the CLI
 * can say "file, key, expectation". Unknown keys are refused: a typo must not silently drop a
 * check.
 */

import { VouchError } from '../errors.ts';
import { isJsonArray, isJsonObject, type JsonObject, type JsonValue, parseJson } from '../json/index.ts';
import { type SiteId, siteIdProblem } from '../sites/ids.ts';

/** maxAuditConfigBytes bounds the configuration file. */
export const maxAuditConfigBytes = 256 * 1024;

/** maxAuditSites bounds the number of sites audited in one run. */
export const maxAuditSites = 64;

/** AuditReleaseLog is the release log: its location and the tlog-policy file (log key and witness quorum). */
export interface AuditReleaseLog {
  /** location is an http(s) URL or a folder holding the log's tiles and checkpoint. */
  readonly location: string;
  /** policy is a file holding the C2SP tlog-policy with exactly one `log` line. */
  readonly policy: string;
}

/** AuditRepository is the update repository's public folder (URL or folder), its name and release policy file. */
export interface AuditRepository {
  readonly location: string;
  /** name is the repository name found in its release records (repo.json `name`). */
  readonly name: string;
  /** releasePolicy is a file holding the release policy JSON (core/release/policy.ts). */
  readonly releasePolicy: string;
}

/** AuditSite is one site's access ledger. */
export interface AuditSite {
  readonly site: SiteId;
  /** ledger is an http(s) URL or a folder holding the ledger's tiles and checkpoint. */
  readonly ledger: string;
  /** vkey is the ledger's signed-note verifier key; its name is the ledger's origin. */
  readonly vkey: string;
  /** witnessPolicy is a file with the witness, group and quorum lines of a tlog-policy (log lines are ignored). */
  readonly witnessPolicy: string;
  /** tenants, when set, is a folder of tenant records named `<tenant>.json`. */
  readonly tenants?: string;
  /** approvals, when set, is a folder of customer approval envelopes named `<sha256>.json`. */
  readonly approvals?: string;
}

/** AuditConfig is a parsed configuration; see the module comment. */
export interface AuditConfig {
  readonly releaseLog: AuditReleaseLog;
  readonly repository: AuditRepository;
  readonly sites: readonly AuditSite[];
  /** policy is the Cedar policy folder (`default.cedar`, `vouch.cedarschema`). */
  readonly policy: string;
  /** auditorKey is the auditor's key file (signs the report). */
  readonly auditorKey: string;
}

function bad(key: string, expected: string): VouchError {
  return new VouchError('invalid-argument', `key ${key}: expected ${expected}`, { field: key });
}

function objectAt(value: JsonValue | undefined, key: string, allowed: readonly string[]): JsonObject {
  if (!isJsonObject(value)) throw bad(key, 'an object');
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) {
      throw bad(key === '$' ? k : `${key}.${k}`, `no such key (known: ${allowed.join(', ')})`);
    }
  }
  return value;
}

function stringAt(o: JsonObject, parent: string, k: string, optional: true): string | undefined;
function stringAt(o: JsonObject, parent: string, k: string, optional?: false): string;
function stringAt(o: JsonObject, parent: string, k: string, optional = false): string | undefined {
  const key = parent === '$' ? k : `${parent}.${k}`;
  const v = o[k];
  if (v === undefined) {
    if (optional) return undefined;
    throw bad(key, 'a string (it is required)');
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096) throw bad(key, 'a non-empty string');
  return v;
}

/**
 * parseAuditConfig reads a configuration, or throws `too-large`, `malformed` (not JSON) or
 * `invalid-argument` whose message and `details.field` name the key and what was expected.
 */
export function parseAuditConfig(bytes: Uint8Array): AuditConfig {
  if (bytes.length > maxAuditConfigBytes) {
    throw new VouchError('too-large', `the audit configuration is larger than ${maxAuditConfigBytes} bytes`, {
      limit: maxAuditConfigBytes,
    });
  }
  const root = objectAt(parseJson(bytes, { maxBytes: maxAuditConfigBytes, maxDepth: 8 }), '$', [
    'releaseLog',
    'repository',
    'sites',
    'policy',
    'auditorKey',
  ]);
  const log = objectAt(root['releaseLog'], 'releaseLog', ['location', 'policy']);
  const repo = objectAt(root['repository'], 'repository', ['location', 'name', 'releasePolicy']);
  const list = root['sites'];
  if (!isJsonArray(list)) throw bad('sites', 'an array of sites (it may be empty)');
  if (list.length > maxAuditSites) throw bad('sites', `at most ${maxAuditSites} sites`);
  const seen = new Set<string>();
  const sites = list.map((value, i): AuditSite => {
    const key = `sites[${i}]`;
    const o = objectAt(value, key, ['site', 'ledger', 'vkey', 'witnessPolicy', 'tenants', 'approvals']);
    const site = stringAt(o, key, 'site');
    const problem = siteIdProblem(site);
    if (problem !== undefined) throw bad(`${key}.site`, `a site id such as ch-zrh (${problem})`);
    if (seen.has(site)) throw bad(`${key}.site`, `a site not listed before (${site} is listed twice)`);
    seen.add(site);
    const tenants = stringAt(o, key, 'tenants', true);
    const approvals = stringAt(o, key, 'approvals', true);
    return Object.freeze({
      site: site as SiteId,
      ledger: stringAt(o, key, 'ledger'),
      vkey: stringAt(o, key, 'vkey'),
      witnessPolicy: stringAt(o, key, 'witnessPolicy'),
      ...(tenants === undefined ? {} : { tenants }),
      ...(approvals === undefined ? {} : { approvals }),
    });
  });
  return Object.freeze({
    releaseLog: Object.freeze({
      location: stringAt(log, 'releaseLog', 'location'),
      policy: stringAt(log, 'releaseLog', 'policy'),
    }),
    repository: Object.freeze({
      location: stringAt(repo, 'repository', 'location'),
      name: stringAt(repo, 'repository', 'name'),
      releasePolicy: stringAt(repo, 'repository', 'releasePolicy'),
    }),
    sites: Object.freeze(sites),
    policy: stringAt(root, '$', 'policy'),
    auditorKey: stringAt(root, '$', 'auditorKey'),
  });
}
