/**
 * Load driver for the log's `POST add` (faces/http/log.ts): a log created with `vouch key
 * generate` and `vouch log init` (default batching) and served by `vouch log serve` on
 * 127.0.0.1:0. Every request adds a distinct 256-byte entry; every 200 answer's index is
 * recorded with the entry sent. Afterwards the log is read back through its tiles with the log
 * client (checkpoint verified with the log key, every entry bundle authenticated against it),
 * and each acknowledged entry must be at its acknowledged index, byte for byte.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogClient } from '../../src/clients/log/client.ts';
import { HttpTileFetcher } from '../../src/clients/log/http-fetcher.ts';
import { createCheckpointVerifier } from '../../src/core/tlog/cosignature.ts';
import { type LoadPlan, measure, type ServiceReport } from './drive.ts';
import type { Shot } from './generator.ts';
import { startVouch, vouch } from './server.ts';

const origin = 'load.vouch.example/log';
const entrySize = 256;

function entry(i: number): Uint8Array {
  const bytes = new Uint8Array(entrySize).fill(0x2e);
  bytes.set(new TextEncoder().encode(`load entry ${i} `));
  return bytes;
}

/** runLogLoad drives `vouch log serve`'s `POST add`; see the module comment. */
export async function runLogLoad(plan: LoadPlan): Promise<ServiceReport> {
  const dir = await mkdtemp(join(tmpdir(), 'vouch-load-log-'));
  const notes: string[] = [];
  try {
    const vkey = vouch(
      dir,
      'key',
      'generate',
      '--type',
      'ed25519',
      '--name',
      origin,
      '--out',
      'log.key',
      '--unencrypted',
    ).trim();
    vouch(dir, 'log', 'init', '--dir', 'log', '--origin', origin, '--key', 'log.key');
    const server = await startVouch(dir, ['log', 'serve', '--dir', 'log', '--listen', '127.0.0.1:0']);
    const acked = new Map<number, Uint8Array>();
    let doubleAcks = 0;
    let sequence = 0;
    let measured: Awaited<ReturnType<typeof measure>>;
    let lost = 0;
    try {
      measured = await measure(
        {
          url: server.url,
          pid: server.pid,
          next: (): Shot => ({
            method: 'POST',
            path: '/add',
            headers: { 'content-type': 'application/octet-stream' },
            body: entry(sequence++),
          }),
          onAnswer: (shot, answer) => {
            if (answer.status !== 200) return;
            const { index } = JSON.parse(answer.body.toString('utf8')) as { index: number };
            if (acked.has(index)) doubleAcks++;
            acked.set(index, shot.body as Uint8Array);
          },
        },
        plan,
      );
      // Read everything back through the tiles, as any client would.
      const client = await LogClient.open(new HttpTileFetcher(`${server.url}/`), {
        logKey: createCheckpointVerifier(vkey),
      });
      const seen = new Map<number, Uint8Array>();
      for await (const e of client.entries(0n, client.size)) seen.set(Number(e.index), e.data);
      for (const [index, bytes] of acked) {
        const found = seen.get(index);
        if (found === undefined || Buffer.compare(found, bytes) !== 0) lost++;
      }
      notes.push(
        `log size after the run ${client.size}; checkpoint verified with the log key and every entry bundle against it`,
      );
    } finally {
      const exit = await server.stop();
      if (exit !== '0') notes.push(`the server exited with ${exit}`);
    }
    if (doubleAcks > 0) notes.push(`${doubleAcks} indexes were acknowledged for two entries`);
    return {
      service: 'log',
      endpoint: 'POST /add (vouch log serve)',
      measured,
      acknowledged: acked.size,
      what: 'entries',
      lost: lost + doubleAcks,
      memoryBoundKiB: 512 * 1024,
      notes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
