/**
 * Processing jobs (DESIGN.md "The data flow" step 4; issue 8 "Processing jobs registered with a
 * purpose and run only at the data's site"). A job is registered with one purpose, which the
 * Cedar policy knows by name (`job-registered-purpose`); it reads only through the gate
 * (./reads.ts), so every page it reads is decided and ledgered first, and Cedar refuses it
 * anywhere but the site hosting the tenant (`data-only-at-tenant-site`, `neutral-only-at-ch-zrh`).
 *
 * - `detection-statistics`: counts of a tenant's detections per signature and UTC day.
 * - `sample-triage`: new sample metadata becomes candidate hash signatures in the rules source
 *   format (core/rules/source.ts, ClamAV `.hsb`: `sha256:size:name`), written to a file the
 *   conveyer's rule sources take in after review.
 *
 * Reads are paged by event time (./reads.ts readPages, {@link defaultPageSize} events a page);
 * events at a page boundary's second are released again by the next read and counted once.
 * Jobs do not schedule themselves; the CLI (`vouch site jobs run`) or a timer runs them.
 */

import { VouchError } from '../../core/errors.ts';
import {
  formatHashSignature,
  type HashSignature,
  isSignatureName,
  parseHashLine,
} from '../../core/rules/source.ts';
import type { SampleEvent, SiteId } from '../../core/sites/index.ts';
import { writeFileDurable } from '../../storage/fs/durable.ts';
import {
  type EventKind,
  type JobReader,
  type OpenedEvent,
  type ReadRequest,
  readPages,
  type SiteReads,
} from './reads.ts';

/** JobPurpose names a registered job's purpose, as the policy spells it. */
export type JobPurpose = 'detection-statistics' | 'sample-triage';

/** JobRegistration is a registered job: its id (the ledger's principal), purpose and what it does. */
export interface JobRegistration {
  readonly id: string;
  readonly purpose: JobPurpose;
  readonly description: string;
}

/** registeredJobs lists the jobs this version of Vouch runs; the policy permits exactly these purposes. */
export const registeredJobs: readonly JobRegistration[] = Object.freeze([
  Object.freeze({
    id: 'detection-statistics',
    purpose: 'detection-statistics',
    description: 'counts of detections per signature and UTC day',
  }),
  Object.freeze({
    id: 'sample-triage',
    purpose: 'sample-triage',
    description: 'candidate hash signatures from new sample metadata, for the conveyer',
  }),
]);

/** defaultPageSize is the events one ledgered read of a job releases. */
export const defaultPageSize = 1000;

/** defaultMaxPages bounds the pages of one job run. */
export const defaultMaxPages = 1000;

/** JobWindow is the part of a tenant's data a run looks at, by event time. */
export interface JobWindow {
  /** from and to are seconds since the epoch, inclusive and exclusive. */
  readonly from?: number;
  readonly to?: number;
  readonly pageSize?: number;
  readonly maxPages?: number;
}

/** jobRegistration returns a registered job by id, or throws `not-found` listing the ids. */
export function jobRegistration(id: string): JobRegistration {
  const job = registeredJobs.find((j) => j.id === id);
  if (job === undefined) {
    throw new VouchError(
      'not-found',
      `no registered job ${JSON.stringify(id).slice(0, 80)}; registered: ${registeredJobs.map((j) => j.id).join(', ')}`,
      { field: 'job' },
    );
  }
  return job;
}

/** jobReader is the gate's reader for a registered job. */
export function jobReader(job: JobRegistration): JobReader {
  return { kind: 'job', id: job.id, purpose: job.purpose };
}

/** JobPages is what a paged run read: the events and the ledger indices of its reads. */
interface JobPages {
  readonly events: OpenedEvent[];
  readonly ledger: bigint[];
}

async function readAll(
  reads: SiteReads,
  job: JobRegistration,
  tenant: string,
  kind: EventKind,
  window: JobWindow,
): Promise<JobPages> {
  const pageSize = window.pageSize ?? defaultPageSize;
  const maxPages = window.maxPages ?? defaultMaxPages;
  const base: Omit<ReadRequest, 'select'> = {
    reader: jobReader(job),
    action: 'process',
    tenant,
    purpose: job.purpose,
    justification: `registered job ${job.id}: ${job.description}`,
  };
  const events: OpenedEvent[] = [];
  const ledger: bigint[] = [];
  const select = {
    kind,
    ...(window.from === undefined ? {} : { from: window.from }),
    ...(window.to === undefined ? {} : { to: window.to }),
    limit: pageSize,
  };
  for await (const page of readPages(reads, base, select, maxPages)) {
    ledger.push(page.receipt.index);
    events.push(...page.events);
  }
  return { events, ledger };
}

/** StatisticsRow is the count of one signature's detections on one UTC day. */
export interface StatisticsRow {
  /** day is `YYYY-MM-DD` (UTC) of the detection time. */
  readonly day: string;
  readonly signature: string;
  readonly count: number;
}

/** DetectionStatistics is a run's result: rows by day, then signature. */
export interface DetectionStatistics {
  readonly tenant: string;
  readonly rows: readonly StatisticsRow[];
  /** events is how many detections were counted. */
  readonly events: number;
  /** ledger lists the ledger indices of the run's reads. */
  readonly ledger: readonly bigint[];
}

/** runDetectionStatistics counts a tenant's detections per signature and day in `window`. */
export async function runDetectionStatistics(
  reads: SiteReads,
  tenant: string,
  window: JobWindow = {},
): Promise<DetectionStatistics> {
  const job = jobRegistration('detection-statistics');
  const { events, ledger } = await readAll(reads, job, tenant, 'detection', window);
  const counts = new Map<string, StatisticsRow>();
  for (const { event } of events) {
    if (event.kind !== 'detection') continue;
    const day = event.time.slice(0, 10);
    const key = `${day}\u0000${event.signature}`;
    const row = counts.get(key);
    counts.set(key, { day, signature: event.signature, count: (row?.count ?? 0) + 1 });
  }
  const rows = [...counts.values()].sort((a, b) =>
    a.day !== b.day
      ? a.day < b.day
        ? -1
        : 1
      : a.signature < b.signature
        ? -1
        : a.signature > b.signature
          ? 1
          : 0,
  );
  return Object.freeze({
    tenant,
    rows: Object.freeze(rows),
    events: events.length,
    ledger: Object.freeze(ledger),
  });
}

/** SampleTriage is a run's result: candidate signatures and their `.hsb` lines. */
export interface SampleTriage {
  readonly tenant: string;
  readonly candidates: readonly HashSignature[];
  /** lines are the candidates as rules source lines, `sha256:size:name`, in digest order. */
  readonly lines: readonly string[];
  /** samples is how many sample events were read; skipped, how many gave no new candidate. */
  readonly samples: number;
  readonly skipped: number;
  readonly ledger: readonly bigint[];
}

/** TriageOptions: the window, and digests (lowercase hex) already known (in the rules or the allow-list). */
export interface TriageOptions extends JobWindow {
  readonly exclude?: ReadonlySet<string>;
}

/**
 * candidateName is the signature name a triaged sample gets: `Vouch.Triage.<file type>.<first 16
 * hex digits of its SHA-256>`, with characters ClamAV does not allow in names replaced by `_`.
 * The sample's own file name is untrusted agent text and never becomes part of a rule.
 */
export function candidateName(sample: Pick<SampleEvent, 'sha256' | 'fileType'>): string {
  const name = `Vouch.Triage.${sample.fileType.replace(/[^A-Za-z0-9._-]/g, '_')}.${sample.sha256.slice(0, 16)}`;
  if (!isSignatureName(name))
    throw new VouchError('invariant', 'internal error: a candidate name is not a signature name');
  return name;
}

/**
 * runSampleTriage turns a tenant's sample metadata in `window` into candidate hash signatures,
 * one per digest not in `exclude` (the first size seen wins; a digest reported with another size
 * later is skipped as inconsistent). Every line is checked with the rules source parser.
 */
export async function runSampleTriage(
  reads: SiteReads,
  tenant: string,
  options: TriageOptions = {},
): Promise<SampleTriage> {
  const job = jobRegistration('sample-triage');
  const { events, ledger } = await readAll(reads, job, tenant, 'sample', options);
  const byDigest = new Map<string, HashSignature>();
  let skipped = 0;
  for (const { event } of events) {
    if (
      event.kind !== 'sample' ||
      options.exclude?.has(event.sha256) === true ||
      byDigest.has(event.sha256)
    ) {
      skipped++;
      continue;
    }
    const line = `${event.sha256}:${event.size}:${candidateName(event)}`;
    byDigest.set(event.sha256, parseHashLine(line, `candidate for ${event.sha256}`));
  }
  const candidates = [...byDigest.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, c]) => c);
  return Object.freeze({
    tenant,
    candidates: Object.freeze(candidates),
    lines: Object.freeze(candidates.map(formatHashSignature)),
    samples: events.length,
    skipped,
    ledger: Object.freeze(ledger),
  });
}

/**
 * formatCandidateFile renders a triage as a `.hsb` file: `#` comment lines saying where it came
 * from (site, tenant, time, the ledger entries of its reads) — which the rules parser skips —
 * then one line per candidate, each ending in LF.
 */
export function formatCandidateFile(
  triage: SampleTriage,
  context: { readonly site: SiteId; readonly time: string },
): Uint8Array {
  const header = [
    `# candidate hash signatures from sample-triage at ${context.site}, ${context.time}`,
    `# tenant ${triage.tenant}; ledger entries ${triage.ledger.join(', ') || 'none'}; review before adding to a rules source`,
  ];
  return new TextEncoder().encode(`${[...header, ...triage.lines].join('\n')}\n`);
}

/** writeCandidateFile writes a candidate file durably (temp file, fsync, rename, fsync the folder). */
export async function writeCandidateFile(path: string, bytes: Uint8Array): Promise<void> {
  await writeFileDurable(path, bytes);
}
