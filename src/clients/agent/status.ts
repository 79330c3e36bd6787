/**
 * status.json: the outcome of the agent's last run — when it ran, what it did, the versions it
 * trusts and has installed, the error (with the attack it names) when it refused, what the run
 * cost (requests, bytes, milliseconds), and whether the site took the report. `vouch agent
 * status` prints it, and `agent run` reads the failure count from it to continue its backoff
 * after a restart. It holds no secret.
 */

import { toBytes } from '../../core/bytes/index.ts';
import { isJsonObject, parseJson } from '../../core/json/index.ts';
import type { InstalledRecord } from './install.ts';
import type { ReportOutcome } from './report.ts';
import { readStateFile, type StatePaths, writeStateFile } from './state.ts';

/** RunOutcome is what a run did. */
export type RunOutcome = 'installed' | 'up-to-date' | 'unchanged' | 'failed';

/** StatusError is the error a failed run ended with. */
export interface StatusError {
  readonly code: string;
  readonly message: string;
  /** attack names the attack the refusal defends against, when it is one. */
  readonly attack?: string;
  readonly field?: string;
}

/** DeltaFailure records a delta that was refused (the full target was used instead). */
export interface DeltaFailure {
  readonly delta: string;
  readonly message: string;
  readonly attack?: string;
}

/** PinnedSkip is a key a run left alone because `vouch agent rollback` pinned it. */
export interface PinnedSkip {
  readonly key: string;
  /** version is the installed (rolled-back-to) version. */
  readonly version: string;
  /** from is the version rolled back from; only a newer one ends the pin. */
  readonly from: string;
  /** newest is the newest version targets offer, which was not installed. */
  readonly newest: string;
}

/** InstalledSummary is one key of status's `installed` map. */
export interface InstalledSummary {
  readonly version: string;
  readonly target: string;
  readonly previous?: string;
  /** pinnedFrom is the version a rollback left; set while the key is pinned. */
  readonly pinnedFrom?: string;
}

/** AgentStatus is status.json. */
export interface AgentStatus {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly outcome: RunOutcome;
  /** metadata holds the trusted version of each top-level role after the run. */
  readonly metadata: Readonly<Record<string, number>>;
  /** installed maps each installed key to its current (and previous) version. */
  readonly installed: Readonly<Record<string, InstalledSummary>>;
  /** changed lists the keys installed by this run. */
  readonly changed: readonly string[];
  readonly error?: StatusError;
  readonly deltaFailures?: readonly DeltaFailure[];
  /** pinned lists the keys skipped because a rollback pinned them (not an error). */
  readonly pinned?: readonly PinnedSkip[];
  readonly requests: number;
  readonly bytes: number;
  readonly ms: number;
  /** consecutiveFailures counts failed runs in a row (0 after a success). */
  readonly consecutiveFailures: number;
  /** retryAfterMs is the repository's Retry-After of a failed run, when it gave one. */
  readonly retryAfterMs?: number;
  readonly report?: ReportOutcome;
}

const maxStatusBytes = 1 << 20;

/** summarizeInstalled turns install records into status's `installed` map. */
export function summarizeInstalled(records: ReadonlyMap<string, InstalledRecord>): AgentStatus['installed'] {
  const out: Record<string, InstalledSummary> = {};
  for (const [key, record] of records) {
    out[key] = {
      version: record.current.version,
      target: record.current.target,
      ...(record.previous === undefined ? {} : { previous: record.previous.version }),
      ...(record.pinned === undefined ? {} : { pinnedFrom: record.pinned.from }),
    };
  }
  return out;
}

/** readStatus returns status.json, or undefined when there is none (or it does not parse). */
export async function readStatus(paths: StatePaths): Promise<AgentStatus | undefined> {
  const bytes = await readStateFile(paths.status, maxStatusBytes);
  if (bytes === undefined) return undefined;
  try {
    const value = parseJson(bytes, { maxBytes: maxStatusBytes });
    return isJsonObject(value) ? (value as unknown as AgentStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** writeStatus writes status.json durably. */
export async function writeStatus(paths: StatePaths, status: AgentStatus): Promise<void> {
  await writeStateFile(paths.status, toBytes(`${JSON.stringify(status, null, 2)}\n`));
}

/** formatStatus renders a status for people, one fact per line. */
export function formatStatus(status: AgentStatus | undefined): string {
  if (status === undefined) return 'no update has run yet\n';
  const lines = [
    `last run:    ${status.finishedAt} (${status.outcome}, ${status.ms} ms, ${status.requests} requests, ${status.bytes} bytes)`,
  ];
  if (status.error !== undefined) {
    const attack = status.error.attack === undefined ? '' : ` [attack: ${status.error.attack}]`;
    lines.push(`error:       ${status.error.message}${attack}`);
  }
  if (status.consecutiveFailures > 0) lines.push(`failures:    ${status.consecutiveFailures} in a row`);
  const roles = Object.entries(status.metadata)
    .map(([role, version]) => `${role} ${version}`)
    .join(', ');
  lines.push(`metadata:    ${roles === '' ? 'none' : roles}`);
  const keys = Object.keys(status.installed);
  if (keys.length === 0) lines.push('installed:   nothing');
  for (const key of keys) {
    const item = status.installed[key];
    if (item === undefined) continue;
    const previous = item.previous === undefined ? '' : ` (previous ${item.previous})`;
    const changed = status.changed.includes(key) ? ' [new]' : '';
    const pinned = item.pinnedFrom === undefined ? '' : ` [pinned: rolled back from ${item.pinnedFrom}]`;
    lines.push(`installed:   ${key} ${item.version}${previous}${changed}${pinned}`);
  }
  for (const skip of status.pinned ?? []) {
    lines.push(
      `pinned:      ${skip.key} stays at ${skip.version}, not updated to ${skip.newest} (rolled back from ${skip.from}; \`vouch agent rollback --target ${skip.key} --unpin\` resumes updates)`,
    );
  }
  for (const failure of status.deltaFailures ?? []) {
    lines.push(`delta:       ${failure.delta} refused: ${failure.message}`);
  }
  if (status.report !== undefined) {
    lines.push(
      `report:      ${status.report.ok ? 'sent' : `failed: ${status.report.error ?? 'unknown'}`} at ${status.report.at}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
