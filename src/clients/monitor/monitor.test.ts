import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createStaticLog } from '../../../test/support/static-log.ts';
import { toBytes } from '../../core/bytes/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { createNoteSigner, formatVerifierKey } from '../../core/note/index.ts';
import { createCheckpointVerifier } from '../../core/tlog/cosignature.ts';
import { openCheckpoint } from '../log/client.ts';
import { FolderTileFetcher } from '../log/folder-fetcher.ts';
import { isFatal, type MonitorEvent, type MonitorOptions, pollOnce, type Source } from './monitor.ts';

const dir = mkdtempSync(join(tmpdir(), 'vouch-monitor-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const origin = 'example.com/monitored';
const key = createSigner(origin, generateKey('ed25519'));
const logKey = createCheckpointVerifier(formatVerifierKey(createNoteSigner(key)));
let n = 0;

async function logWith(entries: string[]) {
  const path = join(dir, `log-${n++}`);
  const log = await createStaticLog(path, origin, key);
  if (entries.length > 0) await log.append(entries.map((e) => toBytes(e)));
  return log;
}

function monitor(logDir: string, sources: Source[] = [], entries = false) {
  let saved: Uint8Array | undefined;
  const events: MonitorEvent[] = [];
  const options = (folder: string): MonitorOptions => ({
    log: new FolderTileFetcher(folder),
    logName: folder,
    logKey,
    verify: (signed) => {
      const opened = openCheckpoint(signed, { logKey });
      return { checkpoint: opened.checkpoint, cosigners: [] };
    },
    sources,
    entries,
    state: {
      load: async () => saved,
      save: async (s) => {
        saved = s;
      },
    },
    emit: (e) => events.push(e),
  });
  return { events, poll: (folder = logDir) => pollOnce(options(folder)) };
}

const sourceOf = (name: string, folder: string): Source => ({
  name,
  checkpoint: async () => new Uint8Array(await readFile(join(folder, 'checkpoint'))),
});

test('monitor: a growing log is consistent poll after poll, and new entries are read', async () => {
  const log = await logWith(['a', 'b', 'c']);
  const m = monitor(log.dir, [], true);
  assert.equal((await m.poll()).ok, true);
  await log.append([toBytes('d'), toBytes('e')]);
  const r = await m.poll();
  assert.deepEqual(r, { ok: true, size: 5n });
  assert.ok(m.events.some((e) => e.event === 'entries' && e.from === '3' && e.to === '5'));
  assert.ok(!m.events.some(isFatal));
});

test('monitor: a log that rewrites its history is a fork against the monitor state', async () => {
  const honest = await logWith(['a', 'b', 'c']);
  const rewritten = await logWith(['a', 'X', 'c', 'd']);
  const m = monitor(honest.dir);
  await m.poll();
  const r = await m.poll(rewritten.dir);
  assert.equal(r.ok, false);
  const fork = m.events.find((e) => e.event === 'fork');
  assert.ok(fork && fork.event === 'fork');
  assert.equal(fork.views.length, 2);
  assert.match(fork.views[0]?.source ?? '', /monitor state/);
});

test('monitor: a split view (same size, another root) shown to a witness is reported with both views', async () => {
  const shown = await logWith(['a', 'b', 'c']);
  const other = await logWith(['a', 'b', 'Z']);
  const m = monitor(shown.dir, [sourceOf('witness.example/w1', other.dir)]);
  const r = await m.poll();
  assert.equal(r.ok, false);
  const fork = m.events.find((e) => e.event === 'fork');
  assert.ok(fork && fork.event === 'fork');
  assert.deepEqual(
    fork.views.map((v) => [v.source, v.size]),
    [
      [shown.dir, '3'],
      ['witness.example/w1', '3'],
    ],
  );
  assert.ok(isFatal(fork));
});

test('monitor: smaller and larger views of one history are consistent; a larger foreign one is a fork', async () => {
  const log = await logWith(['a', 'b']);
  const old = await logWith(['a']);
  const m = monitor(log.dir, [sourceOf('mirror', old.dir)]);
  assert.equal((await m.poll()).ok, true);
  assert.ok(m.events.some((e) => e.event === 'view' && e.source === 'mirror' && e.status === 'consistent'));

  // A view ahead of what the log serves is pending, not an alarm...
  const ahead = await logWith(['a', 'b', 'c', 'd']);
  const m2 = monitor(log.dir, [sourceOf('witness', ahead.dir)]);
  assert.equal((await m2.poll()).ok, true);
  assert.ok(m2.events.some((e) => e.event === 'view' && e.status === 'pending'));
  // ...but a view that is not an extension of the log's tree, checked at a smaller size, is.
  const foreign = await logWith(['Q']);
  const m3 = monitor(log.dir, [sourceOf('witness', foreign.dir)]);
  assert.equal((await m3.poll()).ok, false);
});

test('monitor: a checkpoint not signed by the log key is a fatal error', async () => {
  const log = await logWith(['a']);
  const impostor = await createStaticLog(
    join(dir, 'impostor'),
    origin,
    createSigner(origin, generateKey('ed25519')),
  );
  await impostor.append([toBytes('a')]);
  const m = monitor(impostor.dir, [sourceOf('honest log', log.dir)]);
  const r = await m.poll();
  assert.equal(r.ok, false);
  assert.ok(m.events.some(isFatal));
});
