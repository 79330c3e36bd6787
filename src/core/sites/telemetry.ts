/**
 * The telemetry batch agents send to their tenant's site (DESIGN.md "The data flow" step 2):
 * detections, update outcomes and sample metadata, in batches with an idempotency key.
 *
 * ```
 * {"batchId":"<UUID, or 16–64 of [A-Za-z0-9_-]>","tenant":"<tenant id>","endpoint":"<endpoint id>",
 *  "events":[
 *   {"kind":"detection","time":T,"sha256":H,"signature":"Win.Test.EICAR","database":"main","databaseVersion":"62"},
 *   {"kind":"update","time":T,"target":"rules/main","from":"61","to":"62","outcome":"ok|refused|failed","attack":"rollback"},
 *   {"kind":"sample","sha256":H,"size":N,"fileType":"pe32","firstSeen":T,"name":"invoice.exe"}]}
 * ```
 *
 * T is RFC 3339 UTC in whole seconds; H is 64 lowercase hex digits. `from` (absent on a first
 * install), `attack` (only with outcome `refused`: the attack the agent's verifier named) and
 * `name` are optional; every other field is required and no other field is accepted. The parser
 * reads any valid JSON (agents need not write canonical JSON) but checks the size cap
 * ({@link maxTelemetryBatchBytes}) before reading and the event count
 * ({@link maxTelemetryEvents}) before looking at an event, and names every bad field in one
 * `malformed` error (`events[3].sha256`), so an agent can fix its output from the 400 alone.
 *
 * Event ids are derived, not sent: `<batchId>.<index>` ({@link telemetryEventId}), so a retried
 * batch yields the same ids and the store keeps one copy. A batch id reused for different
 * content is detected by comparing {@link telemetryBatchDigest}. Each event is stored as its
 * canonical JSON ({@link formatTelemetryEvent}), sealed by `event-crypto.ts`. This module does
 * not authenticate the endpoint or check that the tenant belongs to the site; the gateway does.
 */

import { formatHex } from '../bytes/index.ts';
import { sha256 as sha256Digest } from '../crypto/index.ts';
import { tooLarge, VouchError } from '../errors.ts';
import {
  type FieldPath,
  formatCanonicalJson,
  isJsonArray,
  isJsonObject,
  type JsonValue,
  parseJson,
} from '../json/index.ts';
import {
  matches,
  oneOf,
  Problems,
  readInteger,
  readObject,
  readString,
  rethrowAsArgument,
  sha256Hex,
  text,
  time,
} from './fields.ts';
import { batchIdProblem, endpointIdProblem, tenantIdProblem } from './ids.ts';

/** maxTelemetryBatchBytes bounds a batch: 1 MiB of JSON. */
export const maxTelemetryBatchBytes = 1 << 20;

/** maxTelemetryEvents bounds the events of one batch. */
export const maxTelemetryEvents = 1000;

/** maxTelemetryEventBytes bounds one stored event's canonical JSON. */
export const maxTelemetryEventBytes = 8 * 1024;

/** DetectionEvent reports that a file matched a signature of a rule database. */
export interface DetectionEvent {
  readonly kind: 'detection';
  readonly time: string;
  /** sha256 is the detected file's digest, lowercase hex. */
  readonly sha256: string;
  readonly signature: string;
  readonly database: string;
  readonly databaseVersion: string;
}

/** UpdateOutcome is how an update attempt ended: installed, refused by verification, or failed otherwise. */
export type UpdateOutcome = 'ok' | 'refused' | 'failed';

/** UpdateEvent reports an update attempt of a target (the agent or a rule database). */
export interface UpdateEvent {
  readonly kind: 'update';
  readonly time: string;
  readonly target: string;
  /** from is the version before, absent on a first install. */
  readonly from?: string;
  readonly to: string;
  readonly outcome: UpdateOutcome;
  /** attack names the attack the verifier refused (rollback, freeze, ...); only with outcome `refused`. */
  readonly attack?: string;
}

/** SampleEvent reports the metadata of a new sample (never its content). */
export interface SampleEvent {
  readonly kind: 'sample';
  readonly sha256: string;
  readonly size: number;
  readonly fileType: string;
  readonly firstSeen: string;
  /** name is the file name the agent saw, untrusted text. */
  readonly name?: string;
}

/** TelemetryEvent is one event of a batch. */
export type TelemetryEvent = DetectionEvent | UpdateEvent | SampleEvent;

/** TelemetryBatch is a parsed batch. */
export interface TelemetryBatch {
  readonly batchId: string;
  readonly tenant: string;
  readonly endpoint: string;
  readonly events: readonly TelemetryEvent[];
}

const kinds = ['detection', 'update', 'sample'];
const signatureName = text(256);
const databaseName = matches(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  'not a database name (1 to 64 of [A-Za-z0-9._-])',
);
const version = matches(/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/, 'not a version (1 to 64 of [A-Za-z0-9.+_-])');
const target = matches(
  /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/,
  'not an update target (1 to 128 of [A-Za-z0-9._/-])',
);
const outcome = oneOf(['ok', 'refused', 'failed']);
const attack = matches(/^[a-z][a-z0-9-]{0,63}$/, 'not an attack name (lowercase letters, digits, hyphens)');
const fileType = matches(/^[a-z0-9][a-z0-9.+/_-]{0,63}$/, 'not a file type (1 to 64 of [a-z0-9.+/_-])');
const fileName = text(1024);

/**
 * parseTelemetryBatch reads a batch from JSON bytes and returns it frozen. It throws `too-large`
 * over {@link maxTelemetryBatchBytes} or {@link maxTelemetryEvents} (field `events`), and
 * `malformed` naming every bad field (`details.fields`, such as `events[3].sha256`).
 */
export function parseTelemetryBatch(bytes: Uint8Array): TelemetryBatch {
  if (bytes.length > maxTelemetryBatchBytes) throw tooLarge('telemetry batch', maxTelemetryBatchBytes);
  return readBatch(parseJson(bytes, { maxBytes: maxTelemetryBatchBytes, maxDepth: 4 }), 'malformed');
}

/**
 * formatTelemetryBatch returns the canonical JSON of a batch (what an agent may send;
 * {@link parseTelemetryBatch} reads it back equal), or throws `invalid-argument` naming every
 * bad field, or `too-large`.
 */
export function formatTelemetryBatch(batch: TelemetryBatch): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = formatCanonicalJson({
      batchId: batch.batchId,
      tenant: batch.tenant,
      endpoint: batch.endpoint,
      events: batch.events.map(eventToJson),
    });
  } catch (error) {
    rethrowAsArgument(error);
  }
  if (bytes.length > maxTelemetryBatchBytes) throw tooLarge('telemetry batch', maxTelemetryBatchBytes);
  readBatch(parseJson(bytes, { maxBytes: maxTelemetryBatchBytes, maxDepth: 4 }), 'invalid-argument');
  return bytes;
}

/**
 * parseTelemetryEvent reads one stored event (the canonical JSON {@link formatTelemetryEvent}
 * writes); it throws `too-large` over {@link maxTelemetryEventBytes} and `malformed` naming every
 * bad field.
 */
export function parseTelemetryEvent(bytes: Uint8Array): TelemetryEvent {
  if (bytes.length > maxTelemetryEventBytes) throw tooLarge('telemetry event', maxTelemetryEventBytes);
  const problems = new Problems();
  const event = readEvent(parseJson(bytes, { maxBytes: maxTelemetryEventBytes, maxDepth: 2 }), [], problems);
  problems.throwIfAny('telemetry event');
  if (event === undefined)
    throw new VouchError('invariant', 'internal error: event missing after validation');
  return event;
}

/** formatTelemetryEvent returns the canonical JSON of one event, the plaintext the store seals. */
export function formatTelemetryEvent(event: TelemetryEvent): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = formatCanonicalJson(eventToJson(event));
    parseTelemetryEvent(bytes);
  } catch (error) {
    rethrowAsArgument(error);
  }
  return bytes;
}

/**
 * telemetryEventId returns the id of the event at `index` of batch `batchId`: `<batchId>.<index>`.
 * It throws `invalid-argument` for a malformed batch id or an index outside the batch bounds.
 */
export function telemetryEventId(batchId: string, index: number): string {
  const problem = batchIdProblem(batchId);
  if (problem !== undefined)
    throw new VouchError('invalid-argument', `batchId is ${problem}`, { field: 'batchId' });
  if (!Number.isSafeInteger(index) || index < 0 || index >= maxTelemetryEvents) {
    throw new VouchError('invalid-argument', `an event index is from 0 to ${maxTelemetryEvents - 1}`);
  }
  return `${batchId}.${index}`;
}

/**
 * telemetryBatchDigest returns the lowercase hex SHA-256 of a batch's canonical JSON: equal for a
 * retried batch, different when a batch id was reused for other events.
 */
export function telemetryBatchDigest(batch: TelemetryBatch): string {
  return formatHex(sha256Digest(formatTelemetryBatch(batch)));
}

function eventToJson(event: TelemetryEvent): Record<string, unknown> {
  switch (event.kind) {
    case 'detection':
      return {
        kind: event.kind,
        time: event.time,
        sha256: event.sha256,
        signature: event.signature,
        database: event.database,
        databaseVersion: event.databaseVersion,
      };
    case 'update':
      return {
        kind: event.kind,
        time: event.time,
        target: event.target,
        ...(event.from === undefined ? {} : { from: event.from }),
        to: event.to,
        outcome: event.outcome,
        ...(event.attack === undefined ? {} : { attack: event.attack }),
      };
    case 'sample':
      return {
        kind: event.kind,
        sha256: event.sha256,
        size: event.size,
        fileType: event.fileType,
        firstSeen: event.firstSeen,
        ...(event.name === undefined ? {} : { name: event.name }),
      };
    default:
      return { kind: (event as { kind: unknown }).kind };
  }
}

function readBatch(value: JsonValue, code: 'malformed' | 'invalid-argument'): TelemetryBatch {
  const problems = new Problems();
  const root = readObject(value, [], problems, ['batchId', 'tenant', 'endpoint', 'events']);
  if (root === undefined) {
    problems.throwIfAny('telemetry batch', code);
    throw new VouchError('invariant', 'internal error: batch missing after validation');
  }
  const batchId = readString(root, [], 'batchId', problems, batchIdProblem);
  const tenant = readString(root, [], 'tenant', problems, tenantIdProblem);
  const endpoint = readString(root, [], 'endpoint', problems, endpointIdProblem);
  const list = root['events'];
  const events: TelemetryEvent[] = [];
  if (!isJsonArray(list)) {
    if (list !== undefined) problems.add(['events'], 'not an array');
  } else if (list.length > maxTelemetryEvents) {
    throw tooLarge('telemetry batch event count', maxTelemetryEvents, 'events');
  } else if (list.length === 0) {
    problems.add(['events'], 'empty');
  } else {
    list.forEach((entry, index) => {
      const event = readEvent(entry, ['events', index], problems);
      if (event !== undefined) events.push(event);
    });
  }
  problems.throwIfAny('telemetry batch', code);
  if (batchId === undefined || tenant === undefined || endpoint === undefined) {
    throw new VouchError('invariant', 'internal error: batch fields missing after validation');
  }
  return Object.freeze({ batchId, tenant, endpoint, events: Object.freeze(events) });
}

function readEvent(
  value: JsonValue | undefined,
  path: FieldPath,
  problems: Problems,
): TelemetryEvent | undefined {
  const before = problems.count;
  if (!isJsonObject(value)) {
    problems.add(path, value === undefined ? 'missing' : 'not an object');
    return undefined;
  }
  const kind = readString(value, path, 'kind', problems, oneOf(kinds));
  if (kind === undefined) return undefined;
  const kindProbe = value;
  if (kind === 'detection') {
    const o = readObject(kindProbe, path, problems, [
      'kind',
      'time',
      'sha256',
      'signature',
      'database',
      'databaseVersion',
    ]);
    if (o === undefined) return undefined;
    const event = {
      kind,
      time: readString(o, path, 'time', problems, time),
      sha256: readString(o, path, 'sha256', problems, sha256Hex),
      signature: readString(o, path, 'signature', problems, signatureName),
      database: readString(o, path, 'database', problems, databaseName),
      databaseVersion: readString(o, path, 'databaseVersion', problems, version),
    };
    return problems.count === before ? (Object.freeze(event) as DetectionEvent) : undefined;
  }
  if (kind === 'update') {
    const o = readObject(
      kindProbe,
      path,
      problems,
      ['kind', 'time', 'target', 'to', 'outcome'],
      ['from', 'attack'],
    );
    if (o === undefined) return undefined;
    const from = readString(o, path, 'from', problems, version, true);
    const result = readString(o, path, 'outcome', problems, outcome) as UpdateOutcome | undefined;
    const attackName = readString(o, path, 'attack', problems, attack, true);
    if (attackName !== undefined && result !== undefined && result !== 'refused') {
      problems.add([...path, 'attack'], 'only an update with outcome refused names an attack');
    }
    const event = {
      kind,
      time: readString(o, path, 'time', problems, time),
      target: readString(o, path, 'target', problems, target),
      ...(from === undefined ? {} : { from }),
      to: readString(o, path, 'to', problems, version),
      outcome: result,
      ...(attackName === undefined ? {} : { attack: attackName }),
    };
    return problems.count === before ? (Object.freeze(event) as UpdateEvent) : undefined;
  }
  const o = readObject(
    kindProbe,
    path,
    problems,
    ['kind', 'sha256', 'size', 'fileType', 'firstSeen'],
    ['name'],
  );
  if (o === undefined) return undefined;
  const name = readString(o, path, 'name', problems, fileName, true);
  const event = {
    kind,
    sha256: readString(o, path, 'sha256', problems, sha256Hex),
    size: readInteger(o, path, 'size', problems, 0, Number.MAX_SAFE_INTEGER),
    fileType: readString(o, path, 'fileType', problems, fileType),
    firstSeen: readString(o, path, 'firstSeen', problems, time),
    ...(name === undefined ? {} : { name }),
  };
  return problems.count === before ? (Object.freeze(event) as SampleEvent) : undefined;
}
