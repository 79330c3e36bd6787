/**
 * Ledgered reads (issue 8, Performance: "Ledgered reads per second"), each figure beside its
 * baseline measured in the same run. One read is what services/site/reads.ts does for every read
 * of customer data: the Cedar decision, the access-ledger entry appended and published (the real
 * log sequencer with its state in SQLite, synchronous=FULL, and its tiles fsynced on disk, each
 * checkpoint cosigned by two in-process witnesses through the real collector and witness handler,
 * quorum 2 of 2; the tenant index in SQLite), then the tenant key unwrapped and 10 events opened
 * (AES-256-GCM). The baseline is the same read — decision, selection, unwrap and decryption — with
 * a ledger that records nothing. Reads come from 64 concurrent callers (the ledger batches their
 * entries into one checkpoint per round) and, for latency, one at a time. The site store is the
 * SQLite driver on disk (storage/sqlite/sqlite-site.ts), holding 10,000 events of the tenant.
 *
 * Run alone: `node bench/suites/site-reads.ts [--quick]`. Not registered in suites/index.ts.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LedgerReceipt } from '../../src/services/site/ledger.ts';
import { type ReadRequest, SiteReads } from '../../src/services/site/reads.ts';
import { SqliteSiteStore } from '../../src/storage/sqlite/sqlite-site.ts';
import { type SiteData, startSiteData } from '../../test/support/site-data-fixture.ts';
import { type Figure, median, type Suite } from '../lib.ts';

const suiteName = 'Site reads';
const concurrency = 64;
const eventsPerRead = 10;

const request: ReadRequest = {
  reader: { kind: 'job', id: 'detection-statistics', purpose: 'detection-statistics' },
  action: 'process',
  tenant: 'acme',
  purpose: 'detection-statistics',
  justification: 'registered job detection-statistics',
  select: { kind: 'detection', limit: eventsPerRead },
};

/** readsPerSecond runs `workers` callers reading in a loop for `seconds`, `rounds` times, and returns the median rate. */
async function readsPerSecond(
  reads: SiteReads,
  workers: number,
  seconds: number,
  rounds: number,
): Promise<number> {
  const rates: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    let done = 0;
    const start = performance.now();
    const deadline = start + (seconds * 1000) / rounds;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (performance.now() < deadline) {
          const result = await reads.read(request);
          if (result.events.length !== eventsPerRead) throw new Error('the read released the wrong events');
          done++;
        }
      }),
    );
    if (round > 0) rates.push((done * 1000) / (performance.now() - start));
  }
  return median(rates);
}

async function fill(s: SiteData, events: number): Promise<void> {
  await s.addTenant({ id: 'acme', country: 'JP' });
  for (let at = 0; at < events; at += 1000) {
    await s.ingest(
      'acme',
      Array.from({ length: Math.min(1000, events - at) }, (_, i) => ({
        kind: 'detection' as const,
        time: `2025-03-01T${String(((at + i) >> 6) % 24).padStart(2, '0')}:${String((at + i) % 60).padStart(2, '0')}:00Z`,
        sha256: (at + i).toString(16).padStart(64, '0'),
        signature: `Win.Trojan.Agent-${(at + i) % 97}`,
        database: 'main',
        databaseVersion: '62',
      })),
    );
  }
}

export const siteReads: Suite = {
  name: suiteName,
  async run({ quick }) {
    const dir = await mkdtemp(join(tmpdir(), 'vouch-bench-reads-'));
    // batchAgeMs 10 is the log folder's default (`vouch log init`).
    const s = await startSiteData({
      ledger: { dir, batchAgeMs: 10 },
      store: SqliteSiteStore.open(join(dir, 'site.db')),
    });
    try {
      await fill(s, quick ? 1000 : 10_000);
      const unledgered = new SiteReads({
        site: { id: 'ch-zrh', country: 'CH' },
        store: s.store,
        kek: s.kek,
        policy: s.policy,
        registry: s.registry,
        ledger: {
          site: 'ch-zrh',
          record: async (): Promise<LedgerReceipt> => ({
            index: 0n,
            entry: new Uint8Array(0),
            entryDigest: '',
            checkpoint: new Uint8Array(0),
          }),
        },
        now: () => s.clock,
      });
      const seconds = quick ? 0.6 : 4;
      const rounds = quick ? 2 : 4;
      const ledgered = await readsPerSecond(s.reads, concurrency, seconds, rounds);
      const baseline = await readsPerSecond(unledgered, concurrency, seconds, rounds);
      const serial = await readsPerSecond(s.reads, 1, seconds, rounds);
      const serialBaseline = await readsPerSecond(unledgered, 1, seconds, rounds);
      const size = (await s.witnessed.ledger.checkpoint()).checkpoint.size;
      return [
        {
          suite: suiteName,
          name: `ledgered reads/s, ${concurrency} concurrent (decide + witnessed durable ledger append + decrypt ${eventsPerRead} events)`,
          unit: 'reads/s',
          higherIsBetter: true,
          value: ledgered,
          baseline: { name: 'the same reads without the ledger', value: baseline },
          note: `SQLite synchronous=FULL and fsynced tiles on disk, 2-of-2 witnesses in process, batch age 10 ms; ${size} entries ledgered in the run`,
        },
        {
          suite: suiteName,
          name: 'ledgered read latency, one at a time',
          unit: 'ms',
          higherIsBetter: false,
          value: 1000 / serial,
          baseline: { name: 'the same read without the ledger', value: 1000 / serialBaseline },
          note: 'each read waits for its own checkpoint: the batch age, the durable writes and both cosignatures',
        },
      ] satisfies Figure[];
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

if (import.meta.main) {
  const figures = await siteReads.run({ quick: process.argv.includes('--quick') });
  for (const f of figures) {
    console.log(
      `${f.name}: ${f.value.toFixed(f.unit === 'ms' ? 2 : 0)} ${f.unit} (baseline ${f.baseline.name}: ${f.baseline.value.toFixed(f.unit === 'ms' ? 3 : 0)} ${f.unit})`,
    );
  }
}
