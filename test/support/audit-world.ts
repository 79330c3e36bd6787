/**
 * Test support for `vouch audit`: a whole world on disk, built from the existing fixtures —
 * the update repository with its witnessed release log (./update-fixture.ts) and one site,
 * ch-zrh, with its witnessed access ledger (./site-data-fixture.ts) — plus an audit
 * configuration naming all of it and an auditor key file.
 *
 * The fixture's release log keeps its entries in memory; the auditor reads a C2SP tiled log, so
 * every entry appended to it is recorded (by wrapping the log's `append`) and mirrored by
 * {@link AuditWorld.syncReleaseLog} into a tile folder through the sequencer's own integration
 * code, with the latest witnessed checkpoint note (log signature and cosignatures) as its
 * `checkpoint`. The ledger is the real sequencer writing tiles to a folder.
 *
 * Tampering helpers make the worlds the audit must refuse: a second history of the release log
 * signed with the same key, a release signed by the vendor only, a release that was never
 * logged, and an access ledgered as allowed for a person outside Switzerland.
 */

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEnvelope } from '../../src/core/attest/index.ts';
import { formatHex, toBytes } from '../../src/core/bytes/index.ts';
import { generateKey, sealKeyFile, sha256 } from '../../src/core/crypto/index.ts';
import {
  formatTenantRecord,
  formatTime,
  type LedgerEntry,
  newAccessRequest,
  signAccessApproval,
} from '../../src/core/sites/index.ts';
import { parseTlogProof } from '../../src/core/tlog/proof.ts';
import { emptyLogEdge, integrate, type LogEdge } from '../../src/services/log/integrate.ts';
import { defaultPolicyDir } from '../../src/services/policy/files.ts';
import type { ReadRequest } from '../../src/services/site/reads.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';
import { writeKeyFile } from '../../src/storage/fs/key-file.ts';
import { detection, type SiteData, startSiteData } from './site-data-fixture.ts';
import { createStaticLog } from './static-log.ts';
import { startUpdateFixture, type UpdateFixture } from './update-fixture.ts';

/** AuditWorld is a world to audit; see the module comment. */
export interface AuditWorld {
  readonly dir: string;
  readonly fixture: UpdateFixture;
  readonly site: SiteData;
  /** config is the audit configuration file; state and out are the audit's folders. */
  readonly config: string;
  readonly state: string;
  readonly out: string;
  readonly releaseLogDir: string;
  /** entries are the release log's entries in order. */
  readonly entries: Uint8Array[];
  /** syncReleaseLog mirrors new release-log entries into the tile folder and publishes the latest checkpoint. */
  syncReleaseLog(): Promise<void>;
  /** forkReleaseLog replaces the release log folder with another history of `size` entries under the same key. */
  forkReleaseLog(size: number): Promise<void>;
  /** ledgerAllowed appends an entry as a compromised site would: `allow`, with the given principal fields. */
  ledgerAllowed(entry: Partial<LedgerEntry>): Promise<bigint>;
  close(): Promise<void>;
}

const tenantId = 'jp-acme';

/** startAuditWorld builds a clean world: one product release, a job read and an approved staff access at ch-zrh. */
export async function startAuditWorld(): Promise<AuditWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-audit-'));
  const fixture = await startUpdateFixture();
  const entries: Uint8Array[] = [];
  const log = fixture.log as { append: (...e: Uint8Array[]) => Promise<bigint[]> };
  const append = log.append.bind(log);
  log.append = async (...batch) => {
    entries.push(...batch);
    return append(...batch);
  };
  await fixture.releaseProduct('hello', '1.0.0');

  const releaseLogDir = join(dir, 'release-log');
  let edge: LogEdge = emptyLogEdge();
  let synced = 0;
  const syncReleaseLog = async (): Promise<void> => {
    const store = new FsBlobStore(releaseLogDir);
    if (entries.length > synced) {
      const result = integrate(edge, entries.slice(synced));
      for (const file of result.files) await store.put(file.path, file.data);
      edge = result.edge;
      synced = entries.length;
    }
    await store.publish('checkpoint', parseTlogProof(fixture.log.proof(0n)).checkpoint);
  };
  await syncReleaseLog();

  // ch-zrh with a Japanese (neutral) tenant, a job read, an approved staff access and a denied one.
  const ledgerDir = join(dir, 'ledger-ch-zrh');
  await mkdir(ledgerDir, { recursive: true });
  const site = await startSiteData({ ledger: { dir: ledgerDir } });
  const { record, approver } = await site.addTenant({ id: tenantId, country: 'JP', approvalRequired: true });
  await site.ingest(tenantId, [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  await site.reads.read({
    reader: { kind: 'job', id: 'stats', purpose: 'detection-statistics' },
    action: 'read',
    tenant: tenantId,
    purpose: 'detection-statistics',
    justification: 'registered job detection-statistics',
    select: { limit: 10 },
  });
  const alice = {
    kind: 'person',
    id: 'alice',
    employer: 'Vouch AG',
    officeCountry: 'CH',
    physicalCountry: 'CH',
    role: 'support',
  } as const;
  const request = newAccessRequest({
    id: '3f1c2a9e-8b4d-4c6e-9f0a-1b2c3d4e5f60',
    tenant: tenantId,
    requester: alice,
    action: 'access',
    purpose: 'support',
    justification: 'false positive on invoice.exe',
    ticket: 'SUP-1234',
    scope: 'telemetry',
    requested: formatTime(site.clock - 60),
  });
  const approval = formatEnvelope(await signAccessApproval(request, approver));
  const staffRead = (physicalCountry: 'CH' | 'DE'): ReadRequest => ({
    reader: { ...alice, physicalCountry },
    action: 'access',
    tenant: tenantId,
    purpose: 'support',
    justification: 'false positive on invoice.exe',
    ticket: 'SUP-1234',
    grant: { request, approval },
    select: { limit: 10 },
  });
  await site.reads.read(staffRead('CH'));
  await site.reads.read(staffRead('DE')).catch(() => undefined); // denied, and ledgered as such

  const tenantsDir = join(dir, 'tenants');
  const approvalsDir = join(dir, 'approvals');
  await mkdir(tenantsDir, { recursive: true });
  await mkdir(approvalsDir, { recursive: true });
  await writeFile(join(tenantsDir, `${tenantId}.json`), formatTenantRecord(record));
  await writeFile(join(approvalsDir, `${formatHex(sha256(approval))}.json`), approval);

  await writeFile(join(dir, 'release-log.policy'), fixture.log.policy);
  await writeFile(join(dir, 'release-policy.json'), fixture.releasePolicy);
  await writeFile(join(dir, 'ch-zrh.policy'), site.witnessed.policyText);
  await writeKeyFile(
    join(dir, 'auditor.key'),
    await sealKeyFile(generateKey('ed25519'), 'auditor.supervisor.example', undefined),
  );
  const config = join(dir, 'audit.json');
  await writeFile(
    config,
    JSON.stringify(
      {
        releaseLog: { location: 'release-log', policy: 'release-log.policy' },
        repository: { location: fixture.publicDir, name: 'vouch-test', releasePolicy: 'release-policy.json' },
        sites: [
          {
            site: 'ch-zrh',
            ledger: join(ledgerDir, 'tiles'),
            vkey: site.witnessed.vkey,
            witnessPolicy: 'ch-zrh.policy',
            tenants: 'tenants',
            approvals: 'approvals',
          },
        ],
        policy: defaultPolicyDir,
        auditorKey: 'auditor.key',
      },
      null,
      2,
    ),
  );

  return {
    dir,
    fixture,
    site,
    config,
    state: join(dir, 'state'),
    out: join(dir, 'out'),
    releaseLogDir,
    entries,
    syncReleaseLog,
    async forkReleaseLog(size) {
      await rm(releaseLogDir, { recursive: true, force: true });
      const fork = await createStaticLog(releaseLogDir, fixture.log.origin, fixture.logSigner);
      await fork.append(Array.from({ length: size }, (_, i) => toBytes(`another history ${i}`)));
    },
    async ledgerAllowed(fields) {
      const entry: LedgerEntry = {
        principal: { ...alice },
        action: 'access',
        purpose: 'support',
        justification: 'false positive on invoice.exe',
        ticket: 'SUP-1234',
        tenant: tenantId,
        site: 'ch-zrh',
        scope: 'telemetry',
        count: 1,
        time: formatTime(site.clock),
        policyDigest: site.policy.policyDigest,
        decision: 'allow',
        reasons: ['permit: staff-justified-access'],
        ...fields,
      };
      const receipt = await site.witnessed.ledger.record(entry);
      return receipt.index;
    },
    async close() {
      await site.close();
      await fixture.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
