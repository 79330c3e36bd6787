/**
 * The access store: what a site keeps about access to customer data besides the data itself —
 * the per-tenant index of its access ledger (which ledger entries concern which tenant, so a
 * customer's "my access" query does not scan the whole log) and staff access requests with the
 * customer's approvals. It lives in the same database as the site store (one SQLite file, or one
 * PostgreSQL database per site) in tables of its own, and every row carries the tenant id in its
 * primary key (DESIGN.md "Deployment").
 *
 * The ledger itself is a transparency log (services/site/ledger.ts); this index is derived from
 * it and can be rebuilt: every entry is first durable in the log, then indexed here, and a
 * watermark records the log size up to which the index is known to be complete, so start-up
 * re-indexes what a crash between the two steps left out. Indexing is idempotent: the same
 * (tenant, index) with the same bytes succeeds again, with other bytes it is a `conflict` (the
 * index would be lying about the log).
 *
 * A request is stored once (same bytes again succeed, other bytes under the same id are a
 * `conflict`); an approval is attached once (the same approval again succeeds, another one is a
 * `conflict`: a signed approval is never silently replaced). The store checks shapes and bounds;
 * it does not verify approvals or decide policy (services/site/access.ts does).
 */

import { VouchError } from '../core/errors.ts';

/** maxAccessListLimit bounds one page of ledger entries or requests. */
export const maxAccessListLimit = 10_000;

/** maxStoredEntryBytes bounds one indexed ledger entry (core/sites maxLedgerEntryBytes). */
export const maxStoredEntryBytes = 8 * 1024;

/** maxStoredRequestBytes bounds one stored access request (core/sites maxAccessRequestBytes). */
export const maxStoredRequestBytes = 8 * 1024;

/** maxStoredApprovalBytes bounds one stored approval envelope (core/sites maxApprovalBytes). */
export const maxStoredApprovalBytes = 32 * 1024;

/** LedgerIndexRow says that the ledger entry at `index` concerns `tenant`; `entry` is its exact bytes. */
export interface LedgerIndexRow {
  readonly tenant: string;
  readonly index: bigint;
  readonly entry: Uint8Array;
}

/** StoredAccessRequest is one staff access request and, once given, the customer's approval. */
export interface StoredAccessRequest {
  readonly tenant: string;
  /** id is the request's id (core/sites AccessRequest.id). */
  readonly id: string;
  /** request is the canonical request bytes (core/sites formatAccessRequest). */
  readonly request: Uint8Array;
  /** created is when the site stored the request, seconds since the epoch. */
  readonly created: number;
  /** approval is the customer's DSSE approval envelope, exactly as received, once attached. */
  readonly approval: Uint8Array | undefined;
  /** approvedAt is when the approval was attached, seconds since the epoch. */
  readonly approvedAt: number | undefined;
}

/** AccessStore is one site's access store for one ledger; see the module comment. */
export interface AccessStore {
  /** indexLedger records rows, all or none; see the module comment for idempotency. */
  indexLedger(rows: readonly LedgerIndexRow[]): Promise<void>;
  /** ledgerEntries returns the tenant's rows with index ≥ `from` (default 0), by index, at most `limit`. */
  ledgerEntries(
    tenant: string,
    options: { readonly from?: bigint; readonly limit: number },
  ): Promise<LedgerIndexRow[]>;
  /** ledgerWatermark is the log size below which every entry is indexed (0 when never set). */
  ledgerWatermark(): Promise<bigint>;
  /** advanceLedgerWatermark raises the watermark to `size`; a lower value leaves it unchanged. */
  advanceLedgerWatermark(size: bigint): Promise<void>;
  /** putRequest stores a request without an approval; see the module comment. */
  putRequest(request: Omit<StoredAccessRequest, 'approval' | 'approvedAt'>): Promise<void>;
  /** getRequest returns a request, or undefined. */
  getRequest(tenant: string, id: string): Promise<StoredAccessRequest | undefined>;
  /** approveRequest attaches an approval: `not-found` for an unknown request, `conflict` for a different approval. */
  approveRequest(tenant: string, id: string, approval: Uint8Array, at: number): Promise<void>;
  /** listRequests returns requests (of one tenant, if given) newest first, then by tenant and id, at most `limit`. */
  listRequests(options: { readonly tenant?: string; readonly limit: number }): Promise<StoredAccessRequest[]>;
  close(): Promise<void>;
}

const tenantPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
const requestIdPattern = /^[A-Za-z0-9_-]{16,64}$/;
const maxIndex = (1n << 63n) - 1n;

function bad(message: string, field: string): VouchError {
  return new VouchError('invalid-argument', message, { field });
}

/** checkTenant throws `invalid-argument` unless `tenant` is a tenant id. */
export function checkTenant(tenant: string): void {
  if (typeof tenant !== 'string' || !tenantPattern.test(tenant)) throw bad('not a tenant id', 'tenant');
}

/** checkLimit throws `invalid-argument` unless 1 ≤ limit ≤ {@link maxAccessListLimit}. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxAccessListLimit) {
    throw bad(`limit must be 1..${maxAccessListLimit}`, 'limit');
  }
}

/** checkIndex throws `invalid-argument` unless `index` is a bigint in 0..2^63-1 (a database BIGINT). */
export function checkIndex(index: bigint, field = 'index'): void {
  if (typeof index !== 'bigint' || index < 0n || index > maxIndex) throw bad('index out of range', field);
}

/** checkRows validates rows for {@link AccessStore.indexLedger}. */
export function checkRows(rows: readonly LedgerIndexRow[]): void {
  if (rows.length > maxAccessListLimit) throw bad(`at most ${maxAccessListLimit} rows at once`, 'rows');
  for (const row of rows) {
    checkTenant(row.tenant);
    checkIndex(row.index);
    if (
      !(row.entry instanceof Uint8Array) ||
      row.entry.length === 0 ||
      row.entry.length > maxStoredEntryBytes
    ) {
      throw bad(`a ledger entry is 1..${maxStoredEntryBytes} bytes`, 'entry');
    }
  }
}

/** checkSeconds throws `invalid-argument` unless `value` is whole seconds since the epoch. */
export function checkSeconds(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw bad('not whole seconds since the epoch', field);
}

/** checkRequest validates a request for {@link AccessStore.putRequest}. */
export function checkRequest(request: Omit<StoredAccessRequest, 'approval' | 'approvedAt'>): void {
  checkTenant(request.tenant);
  checkRequestId(request.id);
  checkSeconds(request.created, 'created');
  if (
    !(request.request instanceof Uint8Array) ||
    request.request.length === 0 ||
    request.request.length > maxStoredRequestBytes
  ) {
    throw bad(`a request is 1..${maxStoredRequestBytes} bytes`, 'request');
  }
}

/** checkRequestId throws `invalid-argument` unless `id` is a request id. */
export function checkRequestId(id: string): void {
  if (typeof id !== 'string' || !requestIdPattern.test(id)) throw bad('not a request id', 'id');
}

/** checkApproval validates an approval for {@link AccessStore.approveRequest}. */
export function checkApproval(approval: Uint8Array, at: number): void {
  if (
    !(approval instanceof Uint8Array) ||
    approval.length === 0 ||
    approval.length > maxStoredApprovalBytes
  ) {
    throw bad(`an approval is 1..${maxStoredApprovalBytes} bytes`, 'approval');
  }
  checkSeconds(at, 'at');
}

/** ledgerConflict is the error for an index row that contradicts the stored one. */
export function ledgerConflict(tenant: string, index: bigint): VouchError {
  return new VouchError(
    'conflict',
    `ledger entry ${index} of tenant ${tenant} is already indexed with other bytes`,
    { field: 'entry', size: index },
  );
}

/** AccessRequestRow is a stored request as either driver returns it (PostgreSQL BIGINT as text, SQLite as bigint). */
export interface AccessRequestRow {
  tenant: string;
  id: string;
  request: Uint8Array;
  created: string | bigint;
  approval: Uint8Array | null;
  approved_at: string | bigint | null;
}

/** accessRequestFromRow turns a driver's row into a {@link StoredAccessRequest}, copying the bytes out. */
export function accessRequestFromRow(row: AccessRequestRow): StoredAccessRequest {
  return Object.freeze({
    tenant: row.tenant,
    id: row.id,
    request: new Uint8Array(row.request),
    created: Number(row.created),
    approval: row.approval === null ? undefined : new Uint8Array(row.approval),
    approvedAt: row.approved_at === null ? undefined : Number(row.approved_at),
  });
}
