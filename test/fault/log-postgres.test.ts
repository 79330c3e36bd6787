/**
 * Two sequencers against one PostgreSQL database never both write (issue 3). Against the real
 * server at DATABASE_URL (skipped without it, a failure on CI), on one log folder each:
 *
 * - two LogServices with a 500 ms lease: at every sample at most one has a running log; adds
 *   through the standby get 503 with Retry-After while the active one acknowledges; when the
 *   active one closes, the standby takes over within a few lease periods and continues the same
 *   log;
 * - the same when the active sequencer is a child process killed with SIGKILL under load, so its
 *   lease is never released and must expire;
 * - with the lease bypassed, two `Log`s on one sequence store, checkpoint cell and folder adding
 *   concurrently: every acknowledged index is unique, every acknowledging checkpoint is a prefix
 *   of the final tree, and the final tiles verify — the compare-and-swap alone prevents a fork:
 *   no two successful swaps replace the same checkpoint, and the cell never goes back;
 * - a sequencer that stalls between its swap and its publish must not leave
 *   the published checkpoint behind the committed one.
 *
 * Each log gets a fresh random origin (the PostgreSQL tables are keyed by it), so runs never
 * collide. LogHistory (log-fault.ts) checks each log against everything it promised.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LogClient } from '../../src/clients/log/client.ts';
import { FolderTileFetcher } from '../../src/clients/log/folder-fetcher.ts';
import { equalBytes, formatBase64, toBytes } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey } from '../../src/core/crypto/index.ts';
import { sealKeyFile } from '../../src/core/crypto/keyfile.ts';
import { createNoteSigner, formatVerifierKey, type NoteSigner } from '../../src/core/note/index.ts';
import { createCheckpointVerifier } from '../../src/core/tlog/cosignature.ts';
import { type RunningServer, serve } from '../../src/faces/http/http.ts';
import { createLogHandler } from '../../src/faces/http/log.ts';
import { initLogFolder, LogService } from '../../src/services/log/folder.ts';
import { type AddResult, Log, type LogFiles } from '../../src/services/log/log.ts';
import type { CasCell } from '../../src/storage/cas.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';
import { writeKeyFile } from '../../src/storage/fs/key-file.ts';
import { PgCasStore } from '../../src/storage/postgres/pg-cas.ts';
import { PgSequenceStore } from '../../src/storage/postgres/pg-sequence.ts';
import { openPgPool } from '../../src/storage/postgres/pool.ts';
import { testingOnlyNamespace, testingOnlyPgPool } from '../../src/storage/postgres/testing.ts';
import {
  addLoad,
  faultSeed,
  killAllChildren,
  LogHistory,
  seededRandom,
  sleep,
  startServer,
} from './log-fault.ts';

// Short enough for a quick test, long enough that a busy two-core machine does not lose it.
const leaseMs = 500;
const childScript = join(import.meta.dirname, 'sequencer-child.ts');

const db = testingOnlyPgPool();
if ('skip' in db) {
  test('log on PostgreSQL: two sequencers never both write', { skip: db.skip }, () => undefined);
} else {
  const databaseUrl = process.env.DATABASE_URL as string;
  const seed = faultSeed();
  const random = seededRandom(seed);
  const folders: string[] = [];
  const servers: RunningServer[] = [];
  const services: LogService[] = [];
  after(async () => {
    killAllChildren();
    for (const service of services) await service.close().catch(() => undefined);
    for (const server of servers) {
      server.server.closeAllConnections();
      await server.close();
    }
    await db.pool.end();
    for (const dir of folders) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  /** A fresh log folder with its own origin and key, on PostgreSQL. */
  interface Folder {
    readonly dir: string;
    readonly origin: string;
    readonly signer: NoteSigner;
    readonly history: LogHistory;
    readonly tiles: FolderTileFetcher;
    readonly lines: string[];
  }

  const newFolder = async (): Promise<Folder> => {
    const dir = await mkdtemp(join(tmpdir(), 'vouch-pg-fault-'));
    folders.push(dir);
    const origin = `example.com/fault-${randomBytes(6).toString('hex')}`;
    const material = generateKey('ed25519');
    const keyPath = join(dir, 'log.key');
    await writeKeyFile(keyPath, await sealKeyFile(material, origin, undefined));
    const signer = createNoteSigner(createSigner(origin, material));
    const vkey = formatVerifierKey(signer);
    await initLogFolder(dir, { origin, key: keyPath, vkey, batchAgeMs: 5 });
    return {
      dir,
      origin,
      signer,
      history: new LogHistory(createCheckpointVerifier(vkey)),
      tiles: new FolderTileFetcher(join(dir, 'tiles')),
      lines: [],
    };
  };

  const startService = async (folder: Folder, name: string): Promise<LogService> => {
    const service = await LogService.start({
      dir: folder.dir,
      signer: folder.signer,
      databaseUrl,
      leaseMs,
      log: (line) => folder.lines.push(`${name}: ${line}`),
    });
    services.push(service);
    return service;
  };

  const serveService = async (service: LogService): Promise<string> => {
    const server = await serve(createLogHandler({ files: service.files, log: () => service.log }), {
      host: '127.0.0.1',
      port: 0,
      log: () => undefined,
    });
    servers.push(server);
    return `${server.url}/`;
  };

  /**
   * watchActive calls `active` (how many sequencers are running) every few milliseconds until
   * stopped, and counts the samples where it was more than one.
   */
  const watchActive = (active: () => number): { stop(): { samples: number; both: number } } => {
    let samples = 0;
    let both = 0;
    const timer = setInterval(() => {
      samples++;
      if (active() > 1) both++;
    }, 2);
    timer.unref(); // a failed test must not keep the process alive through it
    return {
      stop: () => {
        clearInterval(timer);
        return { samples, both };
      },
    };
  };

  const running = (...watched: LogService[]): number => watched.filter((s) => s.log !== undefined).length;

  /** Swap is one successful compare-and-swap of the checkpoint cell. */
  interface Swap {
    readonly old: Uint8Array | undefined;
    readonly next: Uint8Array;
  }

  /** recordSwaps wraps `cell` so that each successful replace is appended to `swaps`. */
  const recordSwaps = (cell: CasCell, swaps: Swap[]): CasCell => ({
    read: () => cell.read(),
    replace: async (old, next) => {
      await cell.replace(old, next);
      swaps.push({ old, next });
    },
  });

  /** withTimeout rejects when `promise` has not settled after `ms`. */
  const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  /** expectPushback posts one entry to a standby and expects 503 with Retry-After. */
  const expectPushback = async (url: string, label: string): Promise<void> => {
    const response = await fetch(`${url}add`, { method: 'POST', body: toBytes(`${label} refused`) });
    const text = await response.text();
    assert.equal(response.status, 503, `${label}: the standby answered ${response.status}: ${text}`);
    assert.ok(Number(response.headers.get('retry-after')) >= 1, `${label}: no Retry-After`);
  };

  /** takeOver waits until `service` sequences and returns how long that took, failing after 10 lease periods. */
  const takeOver = async (service: LogService, label: string, folder: Folder): Promise<number> => {
    const since = Date.now();
    while (service.log === undefined) {
      const lines = folder.lines.join('\n');
      assert.ok(Date.now() - since < 10 * leaseMs, `${label}: the standby did not take over:\n${lines}`);
      await sleep(5);
    }
    return Date.now() - since;
  };

  test('log on PostgreSQL: a standby waits with 503 and takes over the same log when the active one closes', async (t) => {
    const folder = await newFolder();
    const active = await startService(folder, 'active');
    assert.ok(active.log !== undefined, 'the first service takes the free lease at once');
    const standby = await startService(folder, 'standby');
    const watch = watchActive(() => running(active, standby));
    const [activeUrl, standbyUrl] = await Promise.all([serveService(active), serveService(standby)]);

    // Three lease periods under load: the active one renews, the standby only pushes back.
    const pushbacks = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        await expectPushback(standbyUrl, `standby ${i}`);
        await sleep(leaseMs / 2);
      }
    };
    const [before] = await Promise.all([
      addLoad(activeUrl, folder.history, { label: 'active', perClient: 1_000, deadlineMs: 3 * leaseMs }),
      pushbacks(),
    ]);
    assert.equal(before.pushedBack + before.failed, 0, 'the active service acknowledges every add');
    assert.ok(before.acked > 0);
    assert.equal(standby.log, undefined, 'the standby never sequenced');
    const last = await folder.history.check(folder.tiles, 'before the hand-over');

    await active.close();
    const took = await takeOver(standby, 'after close', folder);
    const handed = await folder.history.check(folder.tiles, 'after the hand-over');
    assert.equal(handed.checkpoint.size, last.checkpoint.size, 'the new sequencer continues the same log');
    const afterwards = await addLoad(standbyUrl, folder.history, { label: 'standby', perClient: 10 });
    assert.equal(afterwards.acked, 80, 'the new sequencer acknowledges every add');
    const final = await folder.history.check(folder.tiles, 'final');
    const { samples, both } = watch.stop();
    assert.equal(both, 0, `two services were sequencing at once in ${both} of ${samples} samples`);
    t.diagnostic(
      `acked ${folder.history.acks.length}, size ${final.checkpoint.size}, takeover after close ${took} ms, ${samples} samples`,
    );
  });

  test('log on PostgreSQL: a standby takes over from a SIGKILLed sequencer once its lease expires', async (t) => {
    t.diagnostic(`seed ${seed} (repeat with VOUCH_FAULT_SEED=${seed})`);
    const folder = await newFolder();
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl };
    delete env.NODE_TEST_CONTEXT;
    const child = startServer([childScript, folder.dir, String(leaseMs)], env);
    const childUrl = await child.serving;
    assert.ok(
      child.lines.some((line) => line.includes('sequencing from size 0')),
      child.lines.join('\n'),
    );
    const standby = await startService(folder, 'standby');
    const standbyUrl = await serveService(standby);
    const alive = (): number => (child.child.exitCode === null && child.child.signalCode === null ? 1 : 0);
    const watch = watchActive(() => alive() + running(standby));

    let stop = false;
    const wait = Math.floor(100 + random() * 400);
    let killedAt = 0;
    const killing = async (): Promise<void> => {
      // The child must have acknowledged something before it dies (bounded: addLoad's deadline).
      for (let i = 0; i < 1_000 && folder.history.acks.length === 0; i++) await sleep(5);
      await sleep(wait / 2);
      await expectPushback(standbyUrl, 'the standby while the child sequences').finally(async () => {
        await sleep(wait / 2);
        await child.kill();
        killedAt = Date.now();
        stop = true;
      });
    };
    const [stats] = await Promise.all([
      addLoad(childUrl, folder.history, { label: 'child', perClient: 1_000, stopped: () => stop }),
      killing(),
    ]);
    const watched = watch.stop();
    assert.equal(watched.both, 0, `the standby sequenced beside the live child in ${watched.both} samples`);
    assert.ok(stats.acked > 0, 'the child acknowledged entries before it died');
    await takeOver(standby, 'after the kill', folder);
    const took = Date.now() - killedAt;
    const handed = await folder.history.check(folder.tiles, 'after the crash');
    const afterwards = await addLoad(standbyUrl, folder.history, { label: 'standby', perClient: 10 });
    assert.equal(afterwards.acked, 80, 'the new sequencer acknowledges every add');
    const final = await folder.history.check(folder.tiles, 'final');
    t.diagnostic(
      `killed ${wait} ms after the first acknowledgement: sent ${stats.sent}, acked ${stats.acked}, lost in flight ${stats.failed}; ` +
        `takeover ${took} ms after the kill at size ${handed.checkpoint.size} ` +
        `(${handed.unacknowledged} unacknowledged entries recovered); final size ${final.checkpoint.size}`,
    );
  });

  test('log on PostgreSQL: two Logs bypassing the lease on one store never fork the log', async (t) => {
    const folder = await newFolder();
    const namespace = testingOnlyNamespace();
    const pools = [openPgPool(databaseUrl), openPgPool(databaseUrl)];
    const logs: Log[] = [];
    const swaps: Swap[] = [];
    try {
      for (const pool of pools) {
        const cas = await PgCasStore.open(pool, namespace);
        logs.push(
          await Log.open({
            origin: folder.origin,
            signer: folder.signer,
            files: new FsBlobStore(join(folder.dir, 'tiles')),
            checkpoint: recordSwaps(cas.cell('log/checkpoint'), swaps),
            sequence: await PgSequenceStore.open(pool, folder.origin),
            batchSize: 16,
            batchAgeMs: 2,
            log: (line) => folder.lines.push(line),
          }),
        );
      }
      const acks: { entry: string; result: AddResult }[] = [];
      let unanswered = 0;
      const deadline = Date.now() + 10_000;
      const client = async (log: Log, name: string): Promise<void> => {
        for (let i = 0; i < 40 && Date.now() < deadline; i++) {
          const entry = `${name} entry ${i}`;
          folder.history.sent.add(entry);
          try {
            acks.push({ entry, result: await withTimeout(log.add(toBytes(entry)), 5_000) });
          } catch {
            unanswered++; // never promised (see the liveness note in the diagnostic)
          }
        }
      };
      // The cell only ever moves forward: a swap from a stale head must lose. Every value it
      // held is remembered too, so the final check proves it consistent with the end state.
      const cell = (await PgCasStore.open(db.pool, namespace)).cell('log/checkpoint');
      let adding = true;
      let cellReads = 0;
      const backwards: string[] = [];
      const watchCell = async (): Promise<void> => {
        let size = 0n;
        while (adding) {
          const note = await cell.read();
          assert.ok(note !== undefined);
          const checkpoint = folder.history.recordCheckpoint(note, 'the checkpoint cell');
          if (checkpoint.size < size) backwards.push(`${size} to ${checkpoint.size}`);
          size = checkpoint.size;
          cellReads++;
          await sleep(2);
        }
      };
      const watching = watchCell();
      await Promise.all(
        logs.flatMap((log, l) => Array.from({ length: 8 }, (_, c) => client(log, `log ${l} client ${c}`))),
      ).finally(() => {
        adding = false;
      });
      await watching;
      for (const log of logs) await log.close();

      assert.deepEqual(backwards, [], 'the checkpoint cell never goes back');
      // Never both write: no two successful swaps replaced the same value, and each one replaced
      // what an earlier one wrote, so the cell's history is one chain from the empty log.
      const replaced = new Set<string>();
      const written = new Set(swaps.map((swap) => formatBase64(swap.next)));
      for (const swap of swaps) {
        const old = swap.old === undefined ? 'empty' : formatBase64(swap.old);
        assert.ok(!replaced.has(old), 'two sequencers both swapped the same checkpoint');
        replaced.add(old);
        assert.ok(old === 'empty' || written.has(old), 'a swap replaced a checkpoint nobody wrote');
      }
      // A Log that loses the swap reloads and acknowledges what the new head covers, so every add
      // is acknowledged.
      assert.equal(acks.length, 640, `adds went unacknowledged:\n${folder.lines.slice(-20).join('\n')}`);
      const indices = new Set(acks.map((a) => a.result.index));
      assert.equal(indices.size, acks.length, 'every acknowledged index is unique');
      // The published file may lag the cell only while a round is in flight; both logs are closed.
      const committed = await cell.read();
      const published = await folder.tiles.get('checkpoint');
      assert.ok(committed !== undefined && published !== undefined);
      assert.equal(
        formatBase64(published),
        formatBase64(committed),
        'the published checkpoint is the committed one',
      );

      for (const { entry, result } of acks) folder.history.recordAck(entry, result);
      const final = await folder.history.check(folder.tiles, 'final');
      const client2 = await LogClient.open(folder.tiles, { logKey: folder.history.logKey });
      for (const { checkpoint } of folder.history.acks) {
        const root = await client2.rootAt(checkpoint.size);
        assert.ok(equalBytes(root, checkpoint.root), `the checkpoint of size ${checkpoint.size} is a prefix`);
      }
      const conflicts = folder.lines.filter((line) =>
        line.includes('another sequencer moved the log'),
      ).length;
      t.diagnostic(
        `acked ${acks.length} of 640 (${unanswered} not within 5 s), final size ${final.checkpoint.size}, ${conflicts} reloads after a lost swap, ` +
          `${swaps.length} swaps, ` +
          `${cellReads} reads of the cell`,
      );
    } finally {
      for (const log of logs) await log.close();
      for (const pool of pools) await pool.end();
    }
  });

  // A sequencer that stalls between its swap and its publish (a GC or disk pause longer than the
  // lease, or no lease) must not overwrite a newer checkpoint with its older one: after publishing,
  // the log re-reads the cell and republishes the newest.
  test('log on PostgreSQL: a sequencer stalled before publishing never rolls the published checkpoint back', async () => {
    const folder = await newFolder();
    const cas = await PgCasStore.open(db.pool, testingOnlyNamespace());
    const sequence = await PgSequenceStore.open(db.pool, folder.origin);
    const files = new FsBlobStore(join(folder.dir, 'tiles'));
    let otherAcked: () => void = () => undefined;
    const acked = new Promise<void>((resolve) => {
      otherAcked = resolve;
    });
    // The stalled sequencer's files: its first non-empty checkpoint is published only once the
    // other sequencer has acknowledged an entry (or after 3 s).
    const stalled: LogFiles = {
      get: (key) => files.get(key),
      put: (key, bytes) => files.put(key, bytes),
      publish: async (key, bytes) => {
        if (!new TextDecoder().decode(bytes).includes('\n0\n'))
          await withTimeout(acked, 3_000).catch(() => undefined);
        await files.publish(key, bytes);
      },
    };
    const common = {
      origin: folder.origin,
      signer: folder.signer,
      checkpoint: cas.cell('log/checkpoint'),
      sequence,
      batchAgeMs: 1,
    };
    const slow = await Log.open({ ...common, files: stalled });
    const fast = await Log.open({ ...common, files });
    try {
      const first = slow.add(toBytes('from the stalled sequencer'));
      await sleep(50);
      const second = await fast.add(toBytes('from the other sequencer'));
      otherAcked();
      await first;
      const committed = await common.checkpoint.read();
      assert.ok(committed !== undefined);
      const cell = folder.history.recordCheckpoint(committed, 'the cell');
      const published = await files.get('checkpoint');
      assert.ok(published !== undefined);
      const file = folder.history.recordCheckpoint(published, 'the published file');
      assert.ok(second.index < file.size, 'the published checkpoint holds every acknowledged entry');
      assert.equal(file.size, cell.size, 'the published checkpoint is the committed one');
    } finally {
      await slow.close();
      await fast.close();
    }
  });
}
