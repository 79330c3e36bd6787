/**
 * Test support: one data site with everything the read path needs — an in-memory site store, a
 * key-encryption key, the default site registry, the repository's Cedar policy, a witnessed
 * access ledger (./witnessed-ledger.ts) and the read gate (services/site/reads.ts) — plus helpers
 * that register tenants (with a customer approval key) and store sealed telemetry the way the
 * gateway does. The clock is a number the test moves.
 */

import { formatHex, parseHex } from '../../src/core/bytes/index.ts';
import {
  createSigner,
  generateDataKey,
  generateKey,
  type Signer,
  sha256,
} from '../../src/core/crypto/index.ts';
import { createNoteSigner, formatVerifierKey } from '../../src/core/note/index.ts';
import {
  type CountryCode,
  defaultSiteRegistry,
  formatTelemetryEvent,
  formatTenantRecord,
  newTenant,
  parseTime,
  type SiteId,
  type SiteRegistry,
  sealEvent,
  type TelemetryEvent,
  type TenantRecord,
  telemetryEventId,
  wrapTenantKey,
} from '../../src/core/sites/index.ts';
import type { PolicyEngine } from '../../src/services/policy/decide.ts';
import { loadPolicyFolder } from '../../src/services/policy/files.ts';
import { SiteReads } from '../../src/services/site/reads.ts';
import type { SiteStore } from '../../src/storage/site.ts';
import { MemorySiteStore } from './memory-site-store.ts';
import {
  startWitnessedLedger,
  type WitnessedLedger,
  type WitnessedLedgerOptions,
} from './witnessed-ledger.ts';

let policyEngine: Promise<PolicyEngine> | undefined;

/** defaultPolicy loads the repository's policy folder once per process. */
export function defaultPolicy(): Promise<PolicyEngine> {
  policyEngine ??= loadPolicyFolder();
  return policyEngine;
}

/** SiteData is a running test site; see the module comment. */
export interface SiteData {
  readonly site: SiteId;
  /** store is the site store: in memory unless the caller gave one. */
  readonly store: SiteStore;
  readonly kek: Uint8Array;
  readonly registry: SiteRegistry;
  readonly policy: PolicyEngine;
  readonly witnessed: WitnessedLedger;
  readonly reads: SiteReads;
  /** clock is the site's time in seconds; tests move it. */
  clock: number;
  /** addTenant registers a tenant here (whatever its contract country says) with a fresh data key. */
  addTenant(input: TenantInput): Promise<{ record: TenantRecord; approver: Signer }>;
  /** ingest seals and stores events for a tenant as one batch; it returns the event ids. */
  ingest(tenant: string, events: readonly TelemetryEvent[], batchId?: string): Promise<string[]>;
  close(): Promise<void>;
}

/** TenantInput names a tenant, its contract country and whether its contract requires approvals. */
export interface TenantInput {
  readonly id: string;
  readonly country: string;
  readonly approvalRequired?: boolean;
}

/** startSiteData opens a test site (default `ch-zrh` in CH). */
export async function startSiteData(
  options: { site?: SiteId; country?: CountryCode; ledger?: WitnessedLedgerOptions; store?: SiteStore } = {},
): Promise<SiteData> {
  const site = options.site ?? 'ch-zrh';
  const country = options.country ?? (site.slice(0, 2).toUpperCase() as CountryCode);
  const store = options.store ?? new MemorySiteStore();
  const kek = generateDataKey();
  const registry = defaultSiteRegistry();
  const policy = await defaultPolicy();
  const witnessed = await startWitnessedLedger({ ...options.ledger, site });
  const keys = new Map<string, Uint8Array>();
  let batches = 0;
  const data: SiteData = {
    site,
    store,
    kek,
    registry,
    policy,
    witnessed,
    clock: parseTime('2025-03-01T09:00:00Z'),
    reads: undefined as unknown as SiteReads,
    async addTenant(input) {
      const approver = createSigner(`${input.id}-approver`, generateKey('ed25519'));
      const record = newTenant(
        {
          id: input.id,
          name: `Tenant ${input.id}`,
          contractCountry: input.country,
          approvalKey: formatVerifierKey(createNoteSigner(approver)),
          approvalRequired: input.approvalRequired ?? true,
          created: '2025-01-01T00:00:00Z',
        },
        registry,
      );
      const dataKey = generateDataKey();
      keys.set(input.id, dataKey);
      await store.putTenant({
        tenant: input.id,
        record: formatTenantRecord(record),
        wrappedKey: wrapTenantKey(kek, dataKey, { tenant: input.id, site }),
        erasedAt: undefined,
      });
      return { record, approver };
    },
    async ingest(tenant, events, batchId) {
      const dataKey = keys.get(tenant);
      if (dataKey === undefined) throw new Error(`no key for ${tenant}`);
      const id = batchId ?? `batch-${String(++batches).padStart(12, '0')}`;
      const rows = events.map((event, i) => {
        const eventId = telemetryEventId(id, i);
        const bytes = formatTelemetryEvent(event);
        return {
          tenant,
          eventId,
          kind: event.kind,
          time: parseTime(event.kind === 'sample' ? event.firstSeen : event.time),
          sealed: sealEvent(dataKey, { tenant, site, eventId }, bytes),
        };
      });
      await store.storeBatch(tenant, id, parseHex(formatHex(sha256(new TextEncoder().encode(id)))), rows);
      return rows.map((r) => r.eventId);
    },
    async close() {
      await witnessed.close();
      await store.close();
    },
  };
  const reads = new SiteReads({
    site: { id: site, country },
    store,
    kek,
    policy,
    ledger: witnessed.ledger,
    registry,
    now: () => data.clock,
  });
  (data as { reads: SiteReads }).reads = reads;
  return data;
}

/** detection builds a detection event. */
export function detection(signature: string, time: string, sha = 'a'.repeat(64)): TelemetryEvent {
  return { kind: 'detection', time, sha256: sha, signature, database: 'main', databaseVersion: '62' };
}

/** sample builds a sample-metadata event. */
export function sample(sha: string, size: number, name: string, firstSeen: string): TelemetryEvent {
  return { kind: 'sample', sha256: sha, size, fileType: 'pe32', firstSeen, name };
}
