/**
 * Export and erasure of a tenant's data (issue 8 "`vouch site export --tenant` and `vouch site
 * erase --tenant` (the tenant key destroyed, so every copy becomes unreadable; logged)"). Both are
 * done by a privacy officer, decided by Cedar (`privacy-officer-export-erase`; with the
 * customer's approval where the contract requires one) and ledgered through the gate
 * (./reads.ts) before anything happens.
 *
 * Export pages through the tenant's events with action `export` (each page a ledger entry) and
 * writes them as JSON lines, `{"event":<canonical event>,"eventId":"...","kind":"...","time":N}`
 * in (time, event id) order, to a file created with mode 0600 next to its final name and linked
 * into place only once complete and synced (a crash leaves no partial export under the name).
 *
 * Erasure is ledgered (count = the events destroyed) and then calls SiteStore.eraseTenant, which
 * deletes the wrapped tenant key: every sealed copy — backups included — is unreadable from then
 * on, and reads fail with a `not-found` naming the erasure time. Erasure is not undoable.
 */

import { link, open, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { VouchError } from '../../core/errors.ts';
import { formatTime } from '../../core/sites/index.ts';
import { syncDirectory } from '../../storage/fs/durable.ts';
import type { SiteStore } from '../../storage/site.ts';
import type { LedgerReceipt } from './ledger.ts';
import { type Grant, type OpenedEvent, readPages, type SiteReads, type StaffReader } from './reads.ts';

/** exportPageSize is the events one ledgered export read releases. */
export const exportPageSize = 1000;

/** maxExportPages bounds one export (10 million events). */
export const maxExportPages = 10_000;

/** OfficerRequest is who asks for an export or erasure, and why. */
export interface OfficerRequest {
  /** officer is the privacy officer (role `privacy-officer`). */
  readonly officer: StaffReader;
  readonly tenant: string;
  readonly justification: string;
  readonly ticket: string;
  /** purpose defaults to `customer-export` or `customer-erasure`. */
  readonly purpose?: string;
  /** grant carries the customer's approval where the contract requires one. */
  readonly grant?: Grant;
}

/** ExportResult says how many events were written and which ledger entries record the export. */
export interface ExportResult {
  readonly events: number;
  readonly ledger: readonly bigint[];
}

/** formatExportLine renders one event as its JSON line (with the newline). */
export function formatExportLine(event: OpenedEvent): string {
  const body = new TextDecoder().decode(event.bytes);
  return `{"event":${body},"eventId":${JSON.stringify(event.eventId)},"kind":${JSON.stringify(event.kind)},"time":${event.time}}\n`;
}

/**
 * exportTenant reads every event of the tenant through the gate and hands each JSON line to
 * `write`, in order. A deny (`policy-unmet`), a ledger failure or a `write` failure stops it.
 */
export async function exportTenant(
  reads: SiteReads,
  request: OfficerRequest,
  write: (line: string) => Promise<void>,
): Promise<ExportResult> {
  const ledger: bigint[] = [];
  let events = 0;
  const base = {
    reader: request.officer,
    action: 'export',
    tenant: request.tenant,
    purpose: request.purpose ?? 'customer-export',
    justification: request.justification,
    ticket: request.ticket,
    ...(request.grant === undefined ? {} : { grant: request.grant }),
  } as const;
  for await (const page of readPages(reads, base, { limit: exportPageSize }, maxExportPages)) {
    ledger.push(page.receipt.index);
    for (const e of page.events) {
      await write(formatExportLine(e));
      events++;
    }
  }
  return Object.freeze({ events, ledger: Object.freeze(ledger) });
}

/**
 * exportTenantToFile runs {@link exportTenant} into `path`: a 0600 temporary file in the same
 * folder, synced and linked into place only on success, then the folder synced. It refuses to
 * overwrite an existing file (`invalid-argument`).
 */
export async function exportTenantToFile(
  reads: SiteReads,
  request: OfficerRequest,
  path: string,
): Promise<ExportResult> {
  const final = resolve(path);
  const temp = join(dirname(final), `.${basename(final)}.${process.pid}.tmp`);
  if (
    await open(final, 'r').then(
      async (h) => {
        await h.close();
        return true;
      },
      () => false,
    )
  )
    throw exists(final);
  const handle = await open(temp, 'wx', 0o600);
  let result: ExportResult;
  try {
    const encoder = new TextEncoder();
    result = await exportTenant(reads, request, async (line) => {
      await handle.write(encoder.encode(line));
    });
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    // link, unlike rename, never replaces an existing file: the export appears whole or not at all.
    await link(temp, final);
  } catch (error) {
    throw (error as { code?: unknown }).code === 'EEXIST' ? exists(final) : error;
  } finally {
    await rm(temp, { force: true });
  }
  await syncDirectory(dirname(final));
  return result;
}

function exists(path: string): VouchError {
  return new VouchError('invalid-argument', `${path} already exists; an export never overwrites a file`, {
    field: 'out',
  });
}

/** ErasureResult is a completed erasure: its ledger receipt, the events destroyed and when. */
export interface ErasureResult {
  readonly receipt: LedgerReceipt;
  readonly events: number;
  readonly erasedAt: string;
}

/**
 * eraseTenant decides and ledgers the erasure, then destroys the tenant key and events through
 * `store.eraseTenant`. It throws `policy-unmet` when denied (ledgered), and `not-found` when the
 * tenant is not hosted here or was erased before (also ledgered, as a deny).
 */
export async function eraseTenant(
  reads: SiteReads,
  store: SiteStore,
  request: OfficerRequest,
  now: () => number = () => Math.floor(Date.now() / 1000),
): Promise<ErasureResult> {
  const gated = await reads.gate(
    {
      reader: request.officer,
      action: 'erase',
      tenant: request.tenant,
      purpose: request.purpose ?? 'customer-erasure',
      justification: request.justification,
      ticket: request.ticket,
      scope: 'telemetry',
      ...(request.grant === undefined ? {} : { grant: request.grant }),
    },
    async (tenant) => {
      const count = await store.countEvents(tenant);
      return { count, value: count };
    },
  );
  const at = now();
  // The ledger entry is durable; the key is destroyed only after it.
  await store.eraseTenant(request.tenant, at);
  return Object.freeze({ receipt: gated.receipt, events: gated.value, erasedAt: formatTime(at) });
}
