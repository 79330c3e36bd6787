/**
 * The supervisor's audit (`vouch audit`): one run checks every promise since the last run and
 * writes a signed report. In order:
 *
 * 1. the release log (logs.ts): consistent with the checkpoint the last audit verified, its
 *    checkpoint cosigned by the witness quorum; its entries are read from authenticated tiles
 *    and indexed by SHA-256;
 * 2. the repository (repository.ts): every new metadata version logged and signed, every targets
 *    version approved by vendor and supervisor, every new target's evidence passing the release
 *    policy;
 * 3. each site's ledger (logs.ts, then ledger.ts): consistent, witnessed, and every new entry
 *    obeying the policy.
 *
 * The report (core/audit/report.ts) is signed by the auditor key into
 * `<time>-report.dsse.json`, and rendered as `<time>-report.html`; both are written durably to
 * the output folder, never overwritten (a failed run's report stays), and copied to
 * `report.dsse.json` and `report.html` as the latest. The state folder (`audit-state.json`) then
 * gets every checkpoint proved consistent, pass or fail, so the next run compares with the newest
 * history it was shown and a rewrite of it is a fork. The replay start of each ledger and the
 * repository versions advance only when the audit passed, so a broken promise is reported again
 * by every later run until someone acts on it; the history (for the charts) grows either way.
 * Crash story: outputs first, state last (the commit point); a crash between them re-audits the
 * same range next time, which is harmless.
 */

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatEnvelope, signStatement } from '../../core/attest/index.ts';
import { type Finding, finding } from '../../core/audit/findings.ts';
import { renderAuditHtml } from '../../core/audit/html.ts';
import {
  type AccessSummary,
  type AuditedLog,
  type AuditReport,
  buildAuditStatement,
} from '../../core/audit/report.ts';
import {
  type AuditState,
  emptyAuditState,
  formatAuditState,
  type HistoryPoint,
  maxAuditHistory,
  maxAuditStateBytes,
  parseAuditState,
  type SeenCheckpoint,
} from '../../core/audit/state.ts';
import { formatHex, toBytes } from '../../core/bytes/index.ts';
import { type Signer, sha256 } from '../../core/crypto/index.ts';
import { isVouchError, tooLarge, VouchError } from '../../core/errors.ts';
import { maxReleaseRecordBytes, parseReleaseRecord, type ReleaseRecord } from '../../core/release/record.ts';
import { defaultSiteRegistry, formatTime } from '../../core/sites/index.ts';
import { mkdirDurable, writeFileDurable } from '../../storage/fs/durable.ts';
import { type LoadedAuditConfig, loadAuditConfig } from './config.ts';
import { auditLedger } from './ledger.ts';
import { auditLog } from './logs.ts';
import { auditRepository, type RepositoryAudit } from './repository.ts';
import { openFileSource } from './source.ts';

/** releaseLogName is how the report names the release log. */
export const releaseLogName = 'release log';

/** stateFileName is the state file in the state folder. */
export const stateFileName = 'audit-state.json';

/** RunAuditOptions are the command's inputs. */
export interface RunAuditOptions {
  readonly configFile: string;
  readonly stateDir: string;
  readonly outDir: string;
  /** loadSigner opens the auditor key file the configuration names. */
  readonly loadSigner: (path: string) => Promise<Signer>;
  /** now is the audit time in seconds (default: the clock). */
  readonly now?: number;
}

/** AuditOutcome is what a run found and wrote. */
export interface AuditOutcome {
  readonly passed: boolean;
  readonly findings: readonly Finding[];
  readonly report: AuditReport;
  readonly reportFile: string;
  readonly htmlFile: string;
}

/** ledgerName is how the report names a site's ledger. */
export function ledgerName(site: string): string {
  return `ledger ${site}`;
}

async function readState(dir: string): Promise<AuditState> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, stateFileName));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return emptyAuditState();
    throw error;
  }
  if (bytes.length > maxAuditStateBytes) throw tooLarge('audit state', maxAuditStateBytes);
  return parseAuditState(bytes);
}

/** runAudit runs one audit; see the module comment. Config problems throw (exit 2); findings do not. */
export async function runAudit(options: RunAuditOptions): Promise<AuditOutcome> {
  const loaded: LoadedAuditConfig = await loadAuditConfig(options.configFile);
  let signer: Signer;
  try {
    signer = await options.loadSigner(loaded.auditorKey);
  } catch (error) {
    if (isVouchError(error) && error.code !== 'not-found') throw error;
    throw new VouchError(
      'invalid-argument',
      `audit configuration ${loaded.file}: key auditorKey: expected a readable key file (${loaded.auditorKey})`,
      { field: 'auditorKey', key: loaded.file },
      { cause: error },
    );
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const state = await readState(options.stateDir);
  const findings: Finding[] = [];
  const logs: AuditedLog[] = [];
  // proved are the checkpoints proved consistent this run, with what the state held for them.
  const proved: { seen: SeenCheckpoint; previous: SeenCheckpoint | undefined }[] = [];

  // 1. The release log.
  const releasePolicy = loaded.repository.releasePolicy;
  const release = await auditLog({
    name: releaseLogName,
    location: loaded.releaseLog.location,
    policy: loaded.releaseLog.policy,
    ...previousOf(state, releasePolicy.log.origin),
  });
  findings.push(...release.findings);
  if (release.audited !== undefined) logs.push(release.audited);
  if (release.seen !== undefined) {
    proved.push({ seen: release.seen, previous: state.logs.get(releasePolicy.log.origin) });
  }
  const logged = new Set<string>();
  // Two release records naming one published file with different bytes are an equivocation:
  // the repository showed (or could show) different clients different versions under one number.
  const recorded = new Map<string, string>();
  if (release.client !== undefined) {
    try {
      for await (const { data } of release.client.entries(0n, release.client.size)) {
        logged.add(formatHex(sha256(data)));
        const record = releaseRecordOf(data);
        if (record === undefined || record.repository !== loaded.repository.name) continue;
        const earlier = recorded.get(record.file);
        if (earlier === undefined) recorded.set(record.file, record.sha256);
        else if (earlier !== record.sha256) {
          findings.push(
            finding(
              'equivocation',
              record.file,
              `the release log holds two versions of it: SHA-256 ${earlier} and ${record.sha256}`,
            ),
          );
        }
      }
    } catch (error) {
      findings.push(
        finding('unreadable', releaseLogName, isVouchError(error) ? error.message : 'entries unreadable'),
      );
    }
  }

  // 2. The repository.
  let repository: RepositoryAudit;
  try {
    repository = await auditRepository({
      name: loaded.repository.name,
      source: openFileSource(loaded.repository.location),
      releasePolicy,
      logged,
      ...(state.repository === undefined ? {} : { previous: state.repository }),
    });
  } catch (error) {
    if (!isVouchError(error)) throw error;
    findings.push(finding('unreadable', `repository ${loaded.repository.name}`, error.message));
    repository = {
      versions: state.repository ?? { root: 0, targets: 0, snapshot: 0, timestamp: 0 },
      checked: [],
      releases: [],
      findings: [],
    };
  }
  findings.push(...repository.findings);

  // 3. The ledgers.
  const registry = defaultSiteRegistry();
  const accesses: AccessSummary[] = [];
  for (const site of loaded.sites) {
    const name = ledgerName(site.site);
    const origin = site.policy.logs[0]?.key.name ?? '';
    const audit = await auditLog({
      name,
      location: site.ledger,
      policy: site.policy,
      ...previousOf(state, origin),
    });
    findings.push(...audit.findings);
    if (audit.audited !== undefined) logs.push(audit.audited);
    if (audit.seen !== undefined) proved.push({ seen: audit.seen, previous: state.logs.get(origin) });
    if (audit.client === undefined) continue;
    try {
      const replay = await auditLedger({
        site: site.site,
        client: audit.client,
        from: audit.from,
        policy: loaded.policy,
        registry,
        ...(site.tenants === undefined ? {} : { tenants: openFileSource(site.tenants) }),
        ...(site.approvals === undefined ? {} : { approvals: openFileSource(site.approvals) }),
      });
      findings.push(...replay.findings);
      accesses.push(replay.summary);
    } catch (error) {
      if (!isVouchError(error)) throw error;
      findings.push(finding('unreadable', name, error.message));
    }
  }

  // 4. The report.
  const passed = findings.length === 0;
  const report: AuditReport = Object.freeze({
    time: formatTime(now),
    auditor: signer.name,
    passed,
    findings: Object.freeze(findings),
    logs: Object.freeze(logs),
    repository: Object.freeze({
      name: loaded.repository.name,
      ...(repository.timestamp === undefined ? {} : { timestamp: repository.timestamp }),
      ...(repository.snapshot === undefined ? {} : { snapshot: repository.snapshot }),
      checked: repository.checked,
      releases: repository.releases,
    }),
    accesses: Object.freeze(accesses),
    history: state.history,
  });
  const envelope = await signStatement(buildAuditStatement(report), [signer]);
  await mkdirDurable(options.outDir);
  const stamp = await freeStamp(options.outDir, report.time);
  const reportFile = join(options.outDir, `${stamp}-report.dsse.json`);
  const htmlFile = join(options.outDir, `${stamp}-report.html`);
  const envelopeBytes = formatEnvelope(envelope);
  const htmlBytes = toBytes(renderAuditHtml(report));
  await writeFileDurable(reportFile, envelopeBytes);
  await writeFileDurable(htmlFile, htmlBytes);
  await writeFileDurable(join(options.outDir, 'report.dsse.json'), envelopeBytes);
  await writeFileDurable(join(options.outDir, 'report.html'), htmlBytes);

  // 5. The state: the commit point of a clean audit.
  const point: HistoryPoint = Object.freeze({
    time: report.time,
    logs: Object.freeze(Object.fromEntries(logs.map((l) => [l.name, Number(l.size)]))),
    targetsVersion: repository.versions.targets,
    releases: repository.releases.length,
    accesses: accesses.reduce((n, a) => n + a.entries, 0),
    passed,
  });
  const seen = new Map(state.logs);
  for (const { seen: checkpoint, previous } of proved) {
    const audited = passed ? checkpoint.size : (previous?.audited ?? previous?.size ?? 0n);
    seen.set(checkpoint.origin, Object.freeze({ ...checkpoint, audited }));
  }
  const next: AuditState = {
    logs: seen,
    ...(passed
      ? { repository: repository.versions }
      : state.repository === undefined
        ? {}
        : { repository: state.repository }),
    history: [...state.history, point].slice(-maxAuditHistory),
  };
  await mkdirDurable(options.stateDir);
  await writeFileDurable(join(options.stateDir, stateFileName), formatAuditState(next));
  return Object.freeze({ passed, findings: report.findings, report, reportFile, htmlFile });
}

/** maxReportsPerSecond bounds the reports kept for runs within one second. */
const maxReportsPerSecond = 100;

/** freeStamp names this run's report: the audit time (`20261127T085009Z`), suffixed when a report of that second exists. */
async function freeStamp(dir: string, time: string): Promise<string> {
  const base = time.replace(/[^0-9TZ]/g, '');
  for (let i = 1; i <= maxReportsPerSecond; i++) {
    const stamp = i === 1 ? base : `${base}-${i}`;
    try {
      await stat(join(dir, `${stamp}-report.dsse.json`));
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return stamp;
      throw error;
    }
  }
  throw new VouchError(
    'invalid-argument',
    `output folder ${dir}: ${maxReportsPerSecond} reports at ${time} already`,
    {
      field: 'out',
    },
  );
}

function previousOf(state: AuditState, origin: string): { previous?: SeenCheckpoint } {
  const previous = state.logs.get(origin);
  return previous === undefined ? {} : { previous };
}

/** releaseRecordOf reads a release-log entry as a release record, or undefined for any other entry (evidence). */
function releaseRecordOf(entry: Uint8Array): ReleaseRecord | undefined {
  if (entry.length > maxReleaseRecordBytes || entry[0] !== 0x7b) return undefined;
  try {
    return parseReleaseRecord(entry);
  } catch {
    return undefined;
  }
}
