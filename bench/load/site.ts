/**
 * Load driver for the site gateway's `POST /v1/telemetry` (faces/http/site.ts,
 * services/site/ingest.ts): a data site created with `vouch site init`, `add-tenant` and
 * `add-endpoint` (one tenant, one endpoint credential), served by `vouch site serve` on
 * 127.0.0.1:0 with its configuration's defaults (8 batches in flight, then 429). Every request
 * is a new batch of {@link eventsPerBatch} detection events with its own id, sent with the
 * endpoint's bearer token; a 200 `stored` answer is the acknowledgement. Afterwards the server
 * is stopped and the site's store opened as `vouch site` opens it: every event of every
 * acknowledged batch (event ids `<batchId>.<i>`) must be there. Batch n's events are stamped n
 * seconds after a fixed time, so the store is read back in time windows under its read limit.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSite } from '../../src/services/site/site.ts';
import { maxReadEvents } from '../../src/storage/site.ts';
import { type LoadPlan, measure, type ServiceReport } from './drive.ts';
import type { Shot } from './generator.ts';
import { startVouch, vouch } from './server.ts';

/** eventsPerBatch is the size of each telemetry batch sent. */
export const eventsPerBatch = 10;
const tenant = 'load-tenant';
// Batch n's events are stamped firstSecond + n (seconds), so the store can be read back in windows.
const firstSecond = Date.UTC(2025, 2, 1) / 1000;
const secondsPerWindow = 5000;
const endpoint = 'load-host-1';

function batch(n: number): Uint8Array {
  const events = Array.from({ length: eventsPerBatch }, (_, i) => ({
    kind: 'detection',
    time: new Date((firstSecond + n) * 1000).toISOString().replace('.000Z', 'Z'),
    sha256: ((n * eventsPerBatch + i) % 2 ** 32).toString(16).padStart(64, '0'),
    signature: 'Win.Test.EICAR',
    database: 'main',
    databaseVersion: '62',
  }));
  return new TextEncoder().encode(
    JSON.stringify({ batchId: `load-batch-${String(n).padStart(8, '0')}`, tenant, endpoint, events }),
  );
}

/** runSiteLoad drives `vouch site serve`'s `POST /v1/telemetry`; see the module comment. */
export async function runSiteLoad(plan: LoadPlan): Promise<ServiceReport> {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-load-site-'));
  const notes: string[] = [];
  try {
    vouch(
      dir,
      'key',
      'generate',
      '--type',
      'ed25519',
      '--name',
      'registry.load.example',
      '--out',
      'r.key',
      '--unencrypted',
    );
    vouch(dir, 'site', 'init', 'site', '--site', 'ch-zrh', '--registry-key', 'r.key');
    vouch(dir, 'site', 'add-tenant', 'site', '--tenant', tenant, '--country', 'CH');
    const token = vouch(
      dir,
      'site',
      'add-endpoint',
      'site',
      '--tenant',
      tenant,
      '--endpoint',
      endpoint,
    ).trim();
    const server = await startVouch(dir, ['site', 'serve', 'site', '--listen', '127.0.0.1:0']);
    const acked = new Map<string, number>();
    let sequence = 0;
    let measured: Awaited<ReturnType<typeof measure>>;
    try {
      measured = await measure(
        {
          url: server.url,
          pid: server.pid,
          next: (): Shot => ({
            method: 'POST',
            path: '/v1/telemetry',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: batch(sequence++),
          }),
          onAnswer: (_shot, answer) => {
            if (answer.status !== 200) return;
            const ack = JSON.parse(answer.body.toString('utf8')) as {
              batchId: string;
              status: string;
              count: number;
            };
            acked.set(ack.batchId, ack.count);
          },
        },
        plan,
      );
    } finally {
      const exit = await server.stop();
      if (exit !== '0') notes.push(`the server exited with ${exit}`);
    }
    // Read the store back, as the site itself opens it.
    const site = await openSite(join(dir, 'site'));
    let lost = 0;
    let stored = 0;
    try {
      stored = await site.store.countEvents(tenant);
      const ids = new Set<string>();
      // Windows of 5,000 batch seconds (50,000 events), each under the store's read limit.
      for (let from = firstSecond; from < firstSecond + sequence; from += secondsPerWindow) {
        const window = await site.store.readEvents(tenant, {
          from,
          to: from + secondsPerWindow,
          limit: maxReadEvents,
        });
        for (const e of window) ids.add(e.eventId);
      }
      if (ids.size !== stored) notes.push(`read back ${ids.size} distinct events of the ${stored} counted`);
      for (const [batchId, count] of acked) {
        if (count !== eventsPerBatch) lost++;
        for (let i = 0; i < eventsPerBatch; i++) if (!ids.has(`${batchId}.${i}`)) lost++;
      }
      const unacknowledged = stored - acked.size * eventsPerBatch;
      notes.push(
        `${eventsPerBatch} events per batch; the store holds ${stored} events` +
          (unacknowledged > 0 ? ` (${unacknowledged} of batches whose answer was lost or late)` : ''),
      );
    } finally {
      await site.close();
    }
    return {
      service: 'site gateway',
      endpoint: 'POST /v1/telemetry (vouch site serve)',
      measured,
      acknowledged: acked.size * eventsPerBatch,
      what: 'events (in acknowledged batches)',
      lost,
      memoryBoundKiB: 512 * 1024,
      notes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
