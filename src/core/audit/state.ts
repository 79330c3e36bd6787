/**
 * The auditor's state between runs (`--state DIR`, file `audit-state.json`): the last verified
 * checkpoint of every log (origin, size, root), the last audited repository versions, and a short
 * history of past audits for the report's charts. A run reads it and proves every log consistent
 * with what it saw before. Every checkpoint so proved is kept (so a later run compares with the
 * newest history shown, and a rewritten one is a fork), but the size up to which entries were
 * replayed and the repository versions advance only after a clean audit wrote its report, so a
 * broken promise stays visible to the next run. Pure: parse and format only.
 */

import { formatBase64, parseBase64 } from '../bytes/index.ts';
import { VouchError } from '../errors.ts';
import { formatJson, isJsonArray, isJsonObject, type JsonValue, parseJson } from '../json/index.ts';

/** maxAuditStateBytes bounds the state file. */
export const maxAuditStateBytes = 4 * 1024 * 1024;

/** maxAuditHistory bounds the audits kept for charts. */
export const maxAuditHistory = 200;

/** SeenCheckpoint is a log checkpoint verified by an earlier audit. */
export interface SeenCheckpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Uint8Array;
  /**
   * audited is the size up to which a passing audit replayed the entries (at most `size`);
   * absent means `size`. The checkpoint advances on every consistent run, this only on a pass.
   */
  readonly audited?: bigint;
}

/** RepositoryVersions are the metadata versions an audit covered. */
export interface RepositoryVersions {
  readonly root: number;
  readonly targets: number;
  readonly snapshot: number;
  readonly timestamp: number;
}

/** HistoryPoint is one past audit: when, each log's size, releases and accesses seen. */
export interface HistoryPoint {
  readonly time: string;
  /** logs maps a log's display name to its size. */
  readonly logs: Readonly<Record<string, number>>;
  readonly targetsVersion: number;
  /** releases counts the targets added or changed in the versions this audit covered. */
  readonly releases: number;
  /** accesses counts the ledger entries this audit replayed, over every site. */
  readonly accesses: number;
  readonly passed: boolean;
}

/** AuditState is the state kept between audits. */
export interface AuditState {
  /** logs maps a log's origin to the last checkpoint verified. */
  readonly logs: ReadonlyMap<string, SeenCheckpoint>;
  readonly repository?: RepositoryVersions;
  readonly history: readonly HistoryPoint[];
}

/** emptyAuditState is the state of a first audit. */
export function emptyAuditState(): AuditState {
  return Object.freeze({ logs: new Map(), history: Object.freeze([]) });
}

function bad(what: string): VouchError {
  return new VouchError('malformed', `audit state: ${what}`, { field: what });
}

function num(value: JsonValue | undefined, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad(what);
  return value;
}

const decimal = /^(0|[1-9][0-9]{0,19})$/;

/** parseAuditState reads `audit-state.json`; it throws `malformed` or `too-large` naming the field. */
export function parseAuditState(bytes: Uint8Array): AuditState {
  if (bytes.length > maxAuditStateBytes) {
    throw new VouchError('too-large', `audit state is larger than ${maxAuditStateBytes} bytes`);
  }
  const value = parseJson(bytes, { maxBytes: maxAuditStateBytes, maxDepth: 6 });
  if (!isJsonObject(value)) throw bad('$');
  const logs = new Map<string, SeenCheckpoint>();
  const rawLogs = value['logs'];
  if (!isJsonArray(rawLogs)) throw bad('logs');
  for (const item of rawLogs) {
    if (!isJsonObject(item)) throw bad('logs[]');
    const { origin, size, root, audited } = item;
    if (typeof origin !== 'string' || typeof size !== 'string' || !decimal.test(size))
      throw bad('logs[].size');
    if (typeof root !== 'string') throw bad('logs[].root');
    const rootBytes = parseBase64(root);
    if (rootBytes.length !== 32) throw bad('logs[].root');
    if (audited !== undefined && (typeof audited !== 'string' || !decimal.test(audited)))
      throw bad('logs[].audited');
    const replayed = audited === undefined ? undefined : BigInt(audited);
    if (replayed !== undefined && replayed > BigInt(size)) throw bad('logs[].audited');
    logs.set(
      origin,
      Object.freeze({
        origin,
        size: BigInt(size),
        root: rootBytes,
        ...(replayed === undefined ? {} : { audited: replayed }),
      }),
    );
  }
  const repo = value['repository'];
  let repository: RepositoryVersions | undefined;
  if (repo !== undefined) {
    if (!isJsonObject(repo)) throw bad('repository');
    repository = Object.freeze({
      root: num(repo['root'], 'repository.root'),
      targets: num(repo['targets'], 'repository.targets'),
      snapshot: num(repo['snapshot'], 'repository.snapshot'),
      timestamp: num(repo['timestamp'], 'repository.timestamp'),
    });
  }
  const rawHistory = value['history'];
  if (!isJsonArray(rawHistory)) throw bad('history');
  const history = rawHistory.slice(-maxAuditHistory).map((h): HistoryPoint => {
    if (!isJsonObject(h) || typeof h['time'] !== 'string' || !isJsonObject(h['logs'])) throw bad('history[]');
    const sizes: Record<string, number> = {};
    for (const [k, v] of Object.entries(h['logs'])) sizes[k] = num(v, 'history[].logs');
    return Object.freeze({
      time: h['time'],
      logs: Object.freeze(sizes),
      targetsVersion: num(h['targetsVersion'], 'history[].targetsVersion'),
      releases: num(h['releases'] ?? 0, 'history[].releases'),
      accesses: num(h['accesses'] ?? 0, 'history[].accesses'),
      passed: h['passed'] === true,
    });
  });
  return Object.freeze({
    logs,
    ...(repository === undefined ? {} : { repository }),
    history: Object.freeze(history),
  });
}

/** formatAuditState writes the state as JSON (sizes as decimal strings, roots as base64). */
export function formatAuditState(state: AuditState): Uint8Array {
  const json = {
    logs: [...state.logs.values()].map((c) => ({
      origin: c.origin,
      size: c.size.toString(),
      root: formatBase64(c.root),
      ...(c.audited === undefined ? {} : { audited: c.audited.toString() }),
    })),
    ...(state.repository === undefined ? {} : { repository: { ...state.repository } }),
    history: state.history.slice(-maxAuditHistory).map((h) => ({
      time: h.time,
      logs: { ...h.logs },
      targetsVersion: h.targetsVersion,
      releases: h.releases,
      accesses: h.accesses,
      passed: h.passed,
    })),
  };
  return formatJson(json);
}
