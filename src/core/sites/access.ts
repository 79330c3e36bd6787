/**
 * Staff access to customer data (issue 8 "Staff access"; data-residency.md §8.5, the Customer
 * Lockbox / Access Approval model): a request saying who wants which data for how long and why,
 * the customer's signed approval where its contract requires one, and the check that decides
 * whether a grant is active now. A request is canonical JSON, version 1:
 *
 * ```
 * {"_type":"https://vouch.example/access-request/v1","action":"access","duration":43200,
 *  "id":"<16–64 of [A-Za-z0-9_-]>",
 *  "justification":"false positive on invoice.exe","purpose":"support","requested":"2025-01-01T12:00:00Z",
 *  "requester":{"employer":"Vouch AG","id":"alice","kind":"person","officeCountry":"CH",
 *               "physicalCountry":"CH","role":"support"},
 *  "scope":"samples/<sha256>","tenant":"acme","ticket":"SUP-1234"}
 * ```
 *
 * `action` is the one Cedar action the grant allows ({@link AccessAction}): `access` (read the
 * data), `export` (export it) or `erase` (destroy it). The customer signs it with the rest, so an
 * approval given for a read never opens an export or an erasure (the gate, services/site/reads.ts,
 * compares it with the action performed).
 *
 * The requester is always a person with employer, office and physical country. `duration` is in
 * seconds, from {@link minAccessDuration} to {@link maxAccessDuration}, 12 hours by default; the
 * grant is valid from `requested` for `duration` seconds, whenever the customer approves.
 *
 * The approval is a DSSE envelope (`core/attest`) of payload type
 * {@link accessApprovalPayloadType} whose payload is exactly the request's canonical bytes, signed
 * by the tenant's approval key (its signed-note vkey in the tenant record). Because the payload
 * is the whole request, an approval cannot be stretched to another person, action, scope, tenant
 * or duration. {@link checkGrant} reports `forged` for anything that is not such an approval,
 * `missing` when the contract needs one and none came, and `expired` / `not-yet-valid` outside
 * the window; only `active` may open data. This module neither stores grants nor issues
 * credentials, and it does not decide policy (Cedar does, with the grant as one input).
 */

import type { Envelope } from '../attest/index.ts';
import { parseEnvelope, signEnvelope, verifyEnvelope } from '../attest/index.ts';
import { equalBytes, formatHex } from '../bytes/index.ts';
import { type Signer, sha256 } from '../crypto/index.ts';
import { VouchError } from '../errors.ts';
import type { JsonValue } from '../json/index.ts';
import {
  type CanonicalRecord,
  formatCanonicalRecord,
  oneOf,
  Problems,
  parseCanonicalRecord,
  readInteger,
  readObject,
  readString,
  time,
} from './fields.ts';
import { batchIdProblem, tenantIdProblem } from './ids.ts';
import {
  justificationCheck,
  nameCheck,
  type Principal,
  principalToJson,
  readPrincipal,
  scopeCheck,
  ticketCheck,
} from './principal.ts';
import { approvalVerifier, type TenantRecord } from './tenants.ts';
import { formatTime, maxTime, parseTime } from './time.ts';

/** accessRequestType is the `_type` of an access request. */
export const accessRequestType = 'https://vouch.example/access-request/v1';

/** accessApprovalPayloadType is the DSSE payload type of a customer's approval. */
export const accessApprovalPayloadType = 'application/vnd.vouch.access-approval+json';

/** defaultAccessDuration is 12 hours, in seconds. */
export const defaultAccessDuration = 12 * 3600;

/** minAccessDuration is 1 minute, in seconds. */
export const minAccessDuration = 60;

/** maxAccessDuration is 72 hours, in seconds: long enough for an incident over a weekend. */
export const maxAccessDuration = 72 * 3600;

/** maxAccessRequestBytes bounds a request's canonical JSON. */
export const maxAccessRequestBytes = 8 * 1024;

/** maxApprovalBytes bounds an approval envelope. */
export const maxApprovalBytes = 32 * 1024;

/**
 * AccessAction is what a grant allows, spelled as the Cedar action the staff member performs
 * (policies/default.cedar): `access` reads the data, `export` exports it, `erase` destroys it.
 */
export type AccessAction = 'access' | 'export' | 'erase';

/** accessActions are the {@link AccessAction} values, in the order documented. */
export const accessActions: readonly AccessAction[] = Object.freeze(['access', 'export', 'erase']);

/** AccessRequest is one person's request for access to one tenant's data. */
export interface AccessRequest {
  /** id is the request's id, 16 to 64 of `[A-Za-z0-9_-]` (a UUID fits). */
  readonly id: string;
  readonly tenant: string;
  /** requester is a person, with employer, office and physical country. */
  readonly requester: Principal;
  /** action is the one action the grant allows; see {@link AccessAction}. */
  readonly action: AccessAction;
  readonly purpose: string;
  readonly justification: string;
  readonly ticket: string;
  readonly scope: string;
  /** requested is when the grant window starts, RFC 3339 UTC seconds. */
  readonly requested: string;
  /** duration is the grant window's length in seconds. */
  readonly duration: number;
}

/** AccessRequestInput is an {@link AccessRequest} whose duration may be left to the default. */
export type AccessRequestInput = Omit<AccessRequest, 'duration'> & { readonly duration?: number };

const requestFields = [
  '_type',
  'id',
  'tenant',
  'requester',
  'action',
  'purpose',
  'justification',
  'ticket',
  'scope',
  'requested',
  'duration',
];

/** newAccessRequest validates a request, filling the 12-hour default duration; `invalid-argument` names every bad field. */
export function newAccessRequest(input: AccessRequestInput): AccessRequest {
  return parseAccessRequest(
    formatAccessRequest({ ...input, duration: input.duration ?? defaultAccessDuration }),
  );
}

const accessRequestRecord: CanonicalRecord<AccessRequest> = {
  what: 'access request',
  maxBytes: maxAccessRequestBytes,
  maxDepth: 2,
  toJson: (request) => {
    return {
      _type: accessRequestType,
      id: request.id,
      tenant: request.tenant,
      requester: principalToJson(request.requester),
      action: request.action,
      purpose: request.purpose,
      justification: request.justification,
      ticket: request.ticket,
      scope: request.scope,
      requested: request.requested,
      duration: request.duration,
    };
  },
  read: (value) => readRequest(value),
};

/** formatAccessRequest returns a request's canonical JSON (the bytes an approval signs), or throws `invalid-argument` naming every bad field. */
export function formatAccessRequest(request: AccessRequest): Uint8Array {
  return formatCanonicalRecord(accessRequestRecord, request);
}

/**
 * parseAccessRequest reads a request: `too-large` over {@link maxAccessRequestBytes},
 * `malformed` naming every bad field (`requester.physicalCountry`, `duration`) or for bytes that
 * are not the canonical encoding.
 */
export function parseAccessRequest(bytes: Uint8Array): AccessRequest {
  return parseCanonicalRecord(accessRequestRecord, bytes);
}

function readRequest(value: JsonValue): AccessRequest {
  const problems = new Problems();
  const o = readObject(value, [], problems, requestFields);
  if (o === undefined) {
    problems.throwIfAny('access request');
    throw new VouchError('invariant', 'internal error: access request missing after validation');
  }
  readString(o, [], '_type', problems, (v) =>
    v === accessRequestType ? undefined : `not ${accessRequestType}`,
  );
  const request = {
    id: readString(o, [], 'id', problems, batchIdProblem),
    tenant: readString(o, [], 'tenant', problems, tenantIdProblem),
    requester: readPrincipal(o['requester'], ['requester'], problems, ['person']),
    action: readString(o, [], 'action', problems, oneOf(accessActions)),
    purpose: readString(o, [], 'purpose', problems, nameCheck),
    justification: readString(o, [], 'justification', problems, justificationCheck),
    ticket: readString(o, [], 'ticket', problems, ticketCheck),
    scope: readString(o, [], 'scope', problems, scopeCheck),
    requested: readString(o, [], 'requested', problems, time),
    duration: readInteger(o, [], 'duration', problems, minAccessDuration, maxAccessDuration),
  };
  problems.throwIfAny('access request');
  return Object.freeze(request) as AccessRequest;
}

/**
 * signAccessApproval is the customer's side: it signs the request's canonical bytes with the
 * tenant's approval key as a DSSE envelope of type {@link accessApprovalPayloadType}. Format the
 * result with `formatEnvelope` to send it.
 */
export async function signAccessApproval(request: AccessRequest, signer: Signer): Promise<Envelope> {
  return signEnvelope(accessApprovalPayloadType, formatAccessRequest(request), [signer]);
}

/** GrantStatus is the state of a grant at one moment; only `active` opens data. */
export type GrantStatus = 'active' | 'expired' | 'not-yet-valid' | 'forged' | 'missing';

/** GrantCheck is the answer of {@link checkGrant}. */
export interface GrantCheck {
  readonly status: GrantStatus;
  /** reasons explain the status in fixed phrases (safe to log and to put in a ledger entry). */
  readonly reasons: readonly string[];
  /** notBefore and expires bound the grant window, in seconds since the epoch. */
  readonly notBefore: number;
  readonly expires: number;
  /** approvalDigest is the lowercase hex SHA-256 of the approval envelope bytes, when one verified. */
  readonly approvalDigest?: string;
}

/**
 * checkGrant decides whether `request` is an active grant for `tenant` at `now` (seconds since
 * the epoch), given the approval envelope bytes the customer sent, if any. The result is
 * `forged` when the request names another tenant, or an approval is given that is not a DSSE
 * envelope of type {@link accessApprovalPayloadType} signed by the tenant's approval key over
 * exactly this request; `missing` when the tenant's contract requires an approval and none is
 * given; then `not-yet-valid` before `requested` and `expired` from `requested + duration` on;
 * else `active`. It throws only for a caller error: an invalid request or a non-integer `now`
 * (`invalid-argument`).
 */
export function checkGrant(
  request: AccessRequest,
  approval: Uint8Array | undefined,
  tenant: TenantRecord,
  now: number,
): GrantCheck {
  if (!Number.isSafeInteger(now) || now < 0) {
    throw new VouchError('invalid-argument', 'now must be whole seconds since the epoch');
  }
  const payload = formatAccessRequest(request);
  const notBefore = parseTime(request.requested, 'requested');
  const expires = notBefore + request.duration;
  const result = (status: GrantStatus, reasons: string[], approvalDigest?: string): GrantCheck =>
    Object.freeze({
      status,
      reasons: Object.freeze(reasons),
      notBefore,
      expires,
      ...(approvalDigest === undefined ? {} : { approvalDigest }),
    });

  if (request.tenant !== tenant.id) return result('forged', ['the request names another tenant']);
  let approvalDigest: string | undefined;
  let approvedBy = '';
  if (approval !== undefined) {
    const problem = approvalProblem(approval, payload, tenant);
    if (problem !== undefined) return result('forged', [problem]);
    approvalDigest = formatHex(sha256(approval));
    approvedBy = `approved by tenant ${tenant.id}'s approval key`;
  } else if (tenant.approvalRequired) {
    return result('missing', [`tenant ${tenant.id}'s contract requires the customer's approval`]);
  }
  const basis = approvedBy === '' ? 'no customer approval required by contract' : approvedBy;
  if (now < notBefore) {
    return result('not-yet-valid', [basis, `the grant starts at ${formatTime(notBefore)}`], approvalDigest);
  }
  if (now >= expires) {
    return result(
      'expired',
      [basis, `the grant expired at ${formatTime(Math.min(expires, maxTime))}`],
      approvalDigest,
    );
  }
  return result('active', [basis], approvalDigest);
}

function approvalProblem(
  approval: Uint8Array,
  payload: Uint8Array,
  tenant: TenantRecord,
): string | undefined {
  if (tenant.approvalKey === undefined) return 'the tenant has no approval key, so no approval can verify';
  if (approval.length > maxApprovalBytes) return 'the approval is larger than any real one';
  let envelope: Envelope;
  try {
    envelope = parseEnvelope(approval, { maxBytes: maxApprovalBytes, maxSignatures: 8 });
  } catch {
    return 'the approval is not a DSSE envelope';
  }
  if (envelope.payloadType !== accessApprovalPayloadType) return 'the approval has another payload type';
  let signed: Uint8Array;
  try {
    signed = verifyEnvelope(envelope, [approvalVerifier(tenant)], 1).payload;
  } catch {
    return "the approval is not signed by the tenant's approval key";
  }
  if (!equalBytes(signed, payload)) return 'the approval is for a different request';
  return undefined;
}
