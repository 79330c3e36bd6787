/**
 * The access-ledger entry (DESIGN.md "The data flow" step 5; issue 8 "The access ledger";
 * data-residency.md §2.5): what a site appends to its access ledger, a transparency log, before
 * any customer data is released to a person or a job. Canonical JSON, version 1:
 *
 * ```
 * {"_type":"https://vouch.example/access-ledger-entry/v1","approval":"<sha256 hex>","count":12,
 *  "decision":"allow","justification":"customer ticket: false positive","policyDigest":"<sha256 hex>",
 *  "principal":{"employer":"Vouch AG","id":"alice","kind":"person","officeCountry":"CH",
 *               "physicalCountry":"CH","role":"support"},
 *  "purpose":"support","reasons":["permit: staff-in-ch"],"scope":"samples/<sha256>","site":"ch-zrh",
 *  "tenant":"acme","ticket":"SUP-1234","time":"2025-01-01T12:00:00Z"}
 * ```
 *
 * `approval` (the SHA-256 of the customer's approval envelope bytes, when one was needed) and
 * `ticket` are optional; everything else is required and nothing else is accepted. `count` is
 * how many records were released (0 for a denial). `policyDigest` is the SHA-256 of the policy
 * set that decided; `reasons` (at most {@link maxLedgerReasons}) are the policy's diagnostics.
 * An entry is at most {@link maxLedgerEntryBytes}; parsing accepts only the canonical bytes, so
 * format(parse(b)) = b and the log leaf a customer recomputes is the one the site appended.
 * This module does not append, hash into leaves or decide; the site's ledger service does.
 */

import { equalBytes } from '../bytes/index.ts';
import { malformed, tooLarge, VouchError } from '../errors.ts';
import { formatCanonicalJson, isJsonArray, type JsonValue, parseJson } from '../json/index.ts';
import {
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

/** LedgerDecision is the policy's answer. */
export type LedgerDecision = 'allow' | 'deny';

/** LedgerEntry is one access to one tenant's data, allowed or denied. */
export interface LedgerEntry {
  readonly principal: Principal;
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

/** formatLedgerEntry returns an entry's canonical JSON, or throws `invalid-argument` naming every bad field, or `too-large`. */
export function formatLedgerEntry(entry: LedgerEntry): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = formatCanonicalJson({
      _type: ledgerEntryType,
      principal: principalToJson(entry.principal),
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
    });
    readEntry(parseJson(bytes, { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: 3 }));
  } catch (error) {
    rethrowAsArgument(error);
  }
  if (bytes.length > maxLedgerEntryBytes) throw tooLarge('access-ledger entry', maxLedgerEntryBytes);
  return bytes;
}

/**
 * parseLedgerEntry reads an entry: `too-large` over {@link maxLedgerEntryBytes} or
 * {@link maxLedgerReasons}, `malformed` naming every bad field (`principal.physicalCountry`:
 * "UK is not an ISO 3166-1 code; ...") or for bytes that are not the canonical encoding.
 */
export function parseLedgerEntry(bytes: Uint8Array): LedgerEntry {
  if (bytes.length > maxLedgerEntryBytes) throw tooLarge('access-ledger entry', maxLedgerEntryBytes);
  const entry = readEntry(parseJson(bytes, { maxBytes: maxLedgerEntryBytes, maxDepth: 3 }));
  if (!equalBytes(formatLedgerEntry(entry), bytes)) {
    throw malformed('access-ledger entry is not in canonical JSON', '$');
  }
  return entry;
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
