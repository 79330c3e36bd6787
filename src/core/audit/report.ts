/**
 * The audit report as an in-toto Statement v1 (predicate type {@link auditPredicateType}), signed
 * by the auditor into a DSSE envelope by the client. Its subjects pin exactly what was audited:
 * every log's checkpoint (name `<origin>@<size>`, digest the checkpoint's root hash as
 * `sha256`) and the repository's timestamp and snapshot versions (name the published file,
 * digest its SHA-256). The predicate carries the verdict and every finding. Pure; no I/O.
 */

import { buildStatement, type Statement, type Subject } from '../attest/index.ts';
import { formatHex } from '../bytes/index.ts';
import type { JsonObject } from '../json/index.ts';
import type { Finding } from './findings.ts';
import type { HistoryPoint } from './state.ts';

/** auditPredicateType is the predicate type of an audit report. */
export const auditPredicateType = 'https://vouch.example/attestations/audit/v1';

/** AuditedLog is a log as audited: where its checkpoint stood before and now, and who cosigned. */
export interface AuditedLog {
  /** name is how the report names it: `release log` or `ledger ch-zrh`. */
  readonly name: string;
  readonly origin: string;
  readonly size: bigint;
  readonly root: Uint8Array;
  /** previousSize is the size verified by the previous audit, when there was one. */
  readonly previousSize?: bigint;
  /** cosigners are the policy witnesses whose cosignatures counted toward the quorum. */
  readonly cosigners: readonly string[];
}

/** AuditedFile is a published metadata file: its name, version and SHA-256. */
export interface AuditedFile {
  readonly file: string;
  readonly version: number;
  readonly sha256: string;
}

/** AuditedRelease is one target of a targets version as audited. */
export interface AuditedRelease {
  readonly targetsVersion: number;
  readonly path: string;
  readonly sha256: string;
  /** evidence is `passed`, `failed` or `none` (a delta, trusted through its result). */
  readonly evidence: 'passed' | 'failed' | 'none';
  readonly rebuilds: number;
}

/** AccessSummary counts one ledger's entries audited in this run. */
export interface AccessSummary {
  readonly site: string;
  readonly entries: number;
  readonly allowed: number;
  /** byJustification counts entries per justification text. */
  readonly byJustification: Readonly<Record<string, number>>;
}

/** AuditReport is everything a report says. */
export interface AuditReport {
  /** time is when the audit ran, `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly time: string;
  /** auditor is the auditor key's name. */
  readonly auditor: string;
  readonly passed: boolean;
  readonly findings: readonly Finding[];
  readonly logs: readonly AuditedLog[];
  readonly repository: {
    readonly name: string;
    readonly timestamp?: AuditedFile;
    readonly snapshot?: AuditedFile;
    readonly checked: readonly AuditedFile[];
    readonly releases: readonly AuditedRelease[];
  };
  readonly accesses: readonly AccessSummary[];
  /** history are the previous audits (oldest first), for charts. */
  readonly history: readonly HistoryPoint[];
}

/** buildAuditStatement returns the report's in-toto statement; see the module comment. */
export function buildAuditStatement(report: AuditReport): Statement {
  const subject: Subject[] = report.logs.map((log) => ({
    name: `${log.origin}@${log.size}`,
    digest: { sha256: formatHex(log.root) },
  }));
  for (const file of [report.repository.timestamp, report.repository.snapshot]) {
    if (file === undefined) continue;
    subject.push({ name: `${report.repository.name}/${file.file}`, digest: { sha256: file.sha256 } });
  }
  const predicate: JsonObject = {
    time: report.time,
    auditor: report.auditor,
    result: report.passed ? 'PASSED' : 'FAILED',
    findings: report.findings.map((f) => ({ kind: f.kind, subject: f.subject, detail: f.detail })),
    logs: report.logs.map((log) => ({
      name: log.name,
      origin: log.origin,
      size: log.size.toString(),
      root: formatHex(log.root),
      ...(log.previousSize === undefined ? {} : { previousSize: log.previousSize.toString() }),
      cosigners: [...log.cosigners],
    })),
    repository: {
      name: report.repository.name,
      ...(report.repository.timestamp === undefined
        ? {}
        : { timestampVersion: report.repository.timestamp.version }),
      ...(report.repository.snapshot === undefined
        ? {}
        : { snapshotVersion: report.repository.snapshot.version }),
      checked: report.repository.checked.map((f) => ({ file: f.file, sha256: f.sha256 })),
      releases: report.repository.releases.map((r) => ({
        targetsVersion: r.targetsVersion,
        path: r.path,
        sha256: r.sha256,
        evidence: r.evidence,
        rebuilds: r.rebuilds,
      })),
    },
    accesses: report.accesses.map((a) => ({
      site: a.site,
      entries: a.entries,
      allowed: a.allowed,
      byJustification: { ...a.byJustification },
    })),
  };
  return buildStatement({ subject, predicateType: auditPredicateType, predicate });
}
