import { tooLarge, VouchError } from '../errors.ts';
import { isJsonArray, type JsonValue } from '../json/index.ts';
import {
  type CanonicalRecord,
  formatCanonicalRecord,
  oneOf,
  Problems,
  parseCanonicalRecord,
  readInteger,
  readObject,
  readString,
  sha256Hex,
  text,
  time,
} from './fields.ts';
import { type SiteId, siteIdProblem, tenantIdProblem } from './ids.ts';
import {
  justificationCheck,
  nameCheck,
  type Principal,
  principalToJson,
  readPrincipal,
  scopeCheck,
  ticketCheck,
} from './principal.ts';

/** ledgerEntryType is the `_type` of an access-ledger entry. */
export const ledgerEntryType = 'https://vouch.example/access-ledger-entry/v1';

/** maxLedgerEntryBytes bounds one entry's canonical JSON. */
export const maxLedgerEntryBytes = 8 * 1024;

/** maxLedgerReasons bounds the reasons of one entry. */
export const maxLedgerReasons = 32;

/**
 * LedgerAction is the Cedar action the entry records (policies/default.cedar): `read` and
 * `process` by a registered job, `access` (a staff read under a grant), `export` and `erase` (by
 * a privacy officer). An auditor replays the entry with exactly this action.
 */
export type LedgerAction = 'read' | 'process' | 'access' | 'export' | 'erase';

/** ledgerActions are the {@link LedgerAction} values. */
export const ledgerActions: readonly LedgerAction[] = Object.freeze([
  'read',
  'process',
  'access',
  'export',
  'erase',
]);

/** LedgerDecision is the policy's answer. */
export type LedgerDecision = 'allow' | 'deny';

/** LedgerEntry is one access to one tenant's data, allowed or denied. */
export interface LedgerEntry {
  readonly principal: Principal;
  /** action is the Cedar action that was decided; see {@link LedgerAction}. */
  readonly action: LedgerAction;
  readonly purpose: string;
  readonly justification: string;
  readonly ticket?: string;
  /** approval is the lowercase hex SHA-256 of the customer's approval envelope, when there was one. */
  readonly approval?: string;
  readonly tenant: string;
  /** site is the site whose ledger holds the entry and whose data was read. */
  readonly site: SiteId;
  readonly scope: string;
  readonly count: number;
  readonly time: string;
  /** policyDigest is the lowercase hex SHA-256 of the policy set that decided. */
  readonly policyDigest: string;
  readonly decision: LedgerDecision;
  readonly reasons: readonly string[];
}

const reasonText = text(256);
const fields = [
  '_type',
  'principal',
  'action',
  'purpose',
  'justification',
  'tenant',
  'site',
  'scope',
  'count',
  'time',
  'policyDigest',
  'decision',
  'reasons',
];

const ledgerEntryRecord: CanonicalRecord<LedgerEntry> = {
  what: 'access-ledger entry',
  maxBytes: maxLedgerEntryBytes,
  maxDepth: 3,
  toJson: (entry) => {
    return {
      _type: ledgerEntryType,
      principal: principalToJson(entry.principal),
      action: entry.action,
      purpose: entry.purpose,
      justification: entry.justification,
      ...(entry.ticket === undefined ? {} : { ticket: entry.ticket }),
      ...(entry.approval === undefined ? {} : { approval: entry.approval }),
      tenant: entry.tenant,
      site: entry.site,
      scope: entry.scope,
      count: entry.count,
      time: entry.time,
      policyDigest: entry.policyDigest,
      decision: entry.decision,
      reasons: [...entry.reasons],
    };
  },
  read: (value) => readEntry(value),
};

/** formatLedgerEntry returns an entry's canonical JSON, or throws `invalid-argument` naming every bad field, or `too-large`. */
export function formatLedgerEntry(entry: LedgerEntry): Uint8Array {
  return formatCanonicalRecord(ledgerEntryRecord, entry);
}

/**
 * parseLedgerEntry reads an entry: `too-large` over {@link maxLedgerEntryBytes} or
 * {@link maxLedgerReasons}, `malformed` naming every bad field (`principal.physicalCountry`:
 * "UK is not an ISO 3166-1 code; ...") or for bytes that are not the canonical encoding.
 */
export function parseLedgerEntry(bytes: Uint8Array): LedgerEntry {
  return parseCanonicalRecord(ledgerEntryRecord, bytes);
}

function readEntry(value: JsonValue): LedgerEntry {
  const problems = new Problems();
  const o = readObject(value, [], problems, fields, ['ticket', 'approval']);
  if (o === undefined) {
    problems.throwIfAny('access-ledger entry');
    throw new VouchError('invariant', 'internal error: ledger entry missing after validation');
  }
  readString(o, [], '_type', problems, (v) => (v === ledgerEntryType ? undefined : `not ${ledgerEntryType}`));
  const principal = readPrincipal(o['principal'], ['principal'], problems);
  const ticket = readString(o, [], 'ticket', problems, ticketCheck, true);
  const approval = readString(o, [], 'approval', problems, sha256Hex, true);
  const reasons: string[] = [];
  const list = o['reasons'];
  if (!isJsonArray(list)) {
    if (list !== undefined) problems.add(['reasons'], 'not an array');
  } else if (list.length > maxLedgerReasons) {
    throw tooLarge('access-ledger entry reasons', maxLedgerReasons, 'reasons');
  } else {
    list.forEach((reason, i) => {
      const problem = typeof reason === 'string' ? reasonText(reason) : 'not a string';
      if (problem === undefined) reasons.push(reason as string);
      else problems.add(['reasons', i], problem);
    });
  }
  const entry = {
    principal,
    action: readString(o, [], 'action', problems, oneOf(ledgerActions)),
    purpose: readString(o, [], 'purpose', problems, nameCheck),
    justification: readString(o, [], 'justification', problems, justificationCheck),
    ...(ticket === undefined ? {} : { ticket }),
    ...(approval === undefined ? {} : { approval }),
    tenant: readString(o, [], 'tenant', problems, tenantIdProblem),
    site: readString(o, [], 'site', problems, siteIdProblem),
    scope: readString(o, [], 'scope', problems, scopeCheck),
    count: readInteger(o, [], 'count', problems, 0, Number.MAX_SAFE_INTEGER),
    time: readString(o, [], 'time', problems, time),
    policyDigest: readString(o, [], 'policyDigest', problems, sha256Hex),
    decision: readString(o, [], 'decision', problems, oneOf(['allow', 'deny'])),
    reasons: Object.freeze(reasons),
  };
  problems.throwIfAny('access-ledger entry');
  return Object.freeze(entry) as LedgerEntry;
}
