/**
 * A full disk (issue 10, faults): a service runs inside bubblewrap with its data folder on a
 * small size-limited tmpfs (`bwrap --dev-bind / / --size N --tmpfs DATA`, no root needed), the
 * folder copied in at start and padded with a ballast file, so that the service's own writes
 * fill it. A small shell inside the sandbox takes commands from a FIFO: `free` deletes the
 * ballast, `restart` SIGKILLs the service and starts it again on the same data and port.
 *
 * - The release log (`vouch log serve`) takes 8 KiB entries until the disk is full. Every answer
 *   is 200 (the entry is durably logged) or 503 with Retry-After, or no answer within the client's
 *   deadline (counted, never acknowledged) — never a 200 for an entry it could not store. Every
 *   acknowledged entry stays at its index under a consistent checkpoint; once space is freed the
 *   log takes entries again, and after a SIGKILL and restart on the full-then-freed disk it still
 *   holds everything it acknowledged.
 * - The site gateway (`vouch site serve`) takes telemetry batches until the disk is full: each
 *   answer is 200 (stored) or a 5xx/429 refusal with a message, never a 200 for a batch not
 *   stored; after `free` it stores again, and after a restart every acknowledged event is there
 *   exactly once (read back through the store at rest, inside the sandbox's data, over HTTP
 *   being unavailable for events).
 *
 * Skipped when bubblewrap cannot create the sandbox (no user namespaces); under CI that fails.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { HttpTileFetcher } from '../../src/clients/log/http-fetcher.ts';
import { toBytes } from '../../src/core/bytes/index.ts';
import { formatTelemetryBatch, type TelemetryBatch } from '../../src/core/sites/index.ts';
import { createCheckpointVerifier } from '../../src/core/tlog/cosignature.ts';
import { initLogFolder } from '../../src/services/log/folder.ts';
import { testingOnlySiteFolder } from '../../src/services/site/site.ts';
import { freePort, makeParty } from '../support/fault-world.ts';
import { faultSeed, LogHistory, seededRandom, sleep, vouchBin } from './log-fault.ts';

const seed = faultSeed();
const random = seededRandom(seed);

const probe = spawnSync('bwrap', ['--dev-bind', '/', '/', '--size', '65536', '--tmpfs', tmpdir(), 'true']);
const sandboxProblem =
  probe.error !== undefined || probe.status !== 0
    ? `bubblewrap cannot make a tmpfs here: ${probe.error?.message ?? probe.stderr.toString().trim()}`
    : undefined;
const skip = sandboxProblem !== undefined && process.env.CI === undefined ? sandboxProblem : undefined;

let work: string | undefined;
const sandboxes: ChildProcess[] = [];
after(async () => {
  for (const child of sandboxes)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

const childEnv: NodeJS.ProcessEnv = { ...process.env, VOUCH_PASSPHRASE: '' };
delete childEnv.DATABASE_URL;
delete childEnv.NODE_TEST_CONTEXT;

/** Sandbox is a service running on a small tmpfs; see the module comment. */
interface Sandbox {
  readonly lines: () => string;
  /** serving resolves once the service has logged `serving` `count` times in all. */
  serving(count: number): Promise<void>;
  command(cmd: 'free' | 'restart' | 'stop'): Promise<void>;
  readonly exited: Promise<void>;
}

/**
 * startSandbox copies SRC into a fresh tmpfs of `sizeBytes` at DATA, adds `ballastKiB` of ballast,
 * and runs `node argsFor(DATA)` there; commands arrive through a FIFO.
 */
async function startSandbox(
  src: string,
  sizeBytes: number,
  ballastKiB: number,
  argsFor: (data: string) => string[],
): Promise<Sandbox> {
  const dir = await mkdtemp(join(work as string, 'sandbox-'));
  const data = join(dir, 'data');
  const fifo = join(dir, 'control');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const quoted = argsFor(data)
    .map((a) => `'${a.replaceAll("'", `'\\''`)}'`)
    .join(' ');
  const script = [
    'set -u',
    `cp -a '${src}/.' '${data}/'`,
    `dd if=/dev/zero of='${data}/ballast' bs=1024 count=${ballastKiB} 2>/dev/null`,
    `run() { '${process.execPath}' ${quoted} & pid=$!; }`,
    'run',
    `while read cmd < '${fifo}'; do`,
    '  case "$cmd" in',
    `    free) rm -f '${data}/ballast'; echo 'sandbox: freed' >&2;;`,
    '    restart) kill -KILL $pid; wait $pid; run;;',
    '    stop) kill -TERM $pid; wait $pid; exit 0;;',
    '  esac',
    'done',
  ].join('\n');
  const child = spawn(
    'bwrap',
    [
      '--dev-bind',
      '/',
      '/',
      '--size',
      String(sizeBytes),
      '--tmpfs',
      data,
      '--die-with-parent',
      'sh',
      '-c',
      script,
    ],
    { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  sandboxes.push(child);
  let text = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    lines: () => text,
    exited,
    async serving(count) {
      for (let i = 0; i < 1500; i++) {
        if ((text.match(/serving (log|site) /g) ?? []).length >= count) return;
        if (child.exitCode !== null) break;
        await sleep(10);
      }
      assert.fail(`the sandboxed service did not serve:\n${text}`);
    },
    async command(cmd) {
      await writeFile(fifo, `${cmd}\n`);
    },
  };
}

/** post sends a request and returns its status and body, or undefined when no answer came in time. */
async function post(
  url: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; retryAfter: string | null } | undefined> {
  try {
    const response = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(4_000) });
    return {
      status: response.status,
      body: await response.text(),
      retryAfter: response.headers.get('retry-after'),
    };
  } catch {
    return undefined;
  }
}

test('full disk: the log refuses what it cannot store, keeps what it acknowledged, and recovers', {
  skip,
  timeout: 90_000,
}, async (t) => {
  assert.equal(sandboxProblem, undefined, sandboxProblem);
  t.diagnostic(`seed ${seed} (repeat with VOUCH_FAULT_SEED=${seed})`);
  work ??= await mkdtemp(join(tmpdir(), 'vouch-full-disk-'));
  const src = join(work, 'log-src');
  const log = await makeParty(work, 'log.key', 'example.com/full-disk');
  await initLogFolder(join(src, 'log'), { origin: log.name, key: log.path, vkey: log.vkey, batchAgeMs: 5 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const box = await startSandbox(src, 2 * 1024 * 1024, 1600, (data) => [
    vouchBin,
    'log',
    'serve',
    '--dir',
    join(data, 'log'),
    '--listen',
    `127.0.0.1:${port}`,
  ]);
  await box.serving(1);
  const history = new LogHistory(createCheckpointVerifier(log.vkey));
  const refusals = new Map<string, number>();
  let next = 0;
  // addUntil sends 8 KiB entries (two clients) until `stop` says so; it returns what was acknowledged.
  const addUntil = async (
    label: string,
    stop: (acked: number, refused: number) => boolean,
  ): Promise<number> => {
    let acked = 0;
    let refused = 0;
    const client = async (): Promise<void> => {
      for (let i = 0; i < 400 && !stop(acked, refused); i++) {
        const n = next++;
        const entry = `${label} entry ${n} ${String(Math.floor(random() * 1e9))} ${'x'.repeat(8192)}`;
        history.sent.add(entry);
        const answer = await post(`${url}add`, toBytes(entry));
        if (answer?.status === 200) {
          history.recordAckBody(entry, answer.body);
          acked++;
          continue;
        }
        refused++;
        const kind =
          answer === undefined ? 'no answer' : `${answer.status} ${answer.body.trim().slice(0, 80)}`;
        refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
        if (answer !== undefined) {
          assert.equal(answer.status, 503, `${label}: a full disk answered ${answer.status}: ${answer.body}`);
          assert.ok(answer.retryAfter !== null, `${label}: 503 without Retry-After`);
        }
        await sleep(20);
      }
    };
    await Promise.all([client(), client()]);
    return acked;
  };
  // Fill the disk: entries are taken until the log refuses them several times in a row.
  const filled = await addUntil('fill', (_, refused) => refused >= 6);
  assert.ok(filled > 0, 'some entries were stored before the disk filled');
  assert.ok(refusals.size > 0, `the disk never filled:\n${box.lines()}`);
  await history.check(new HttpTileFetcher(url), 'with the disk full');
  // Space is freed: the log takes entries again.
  await box.command('free');
  await sleep(300);
  const recovered = await addUntil('freed', (acked) => acked >= 6);
  assert.ok(
    recovered >= 6,
    `after freeing space the log stores again (refusals ${JSON.stringify([...refusals])})`,
  );
  await history.check(new HttpTileFetcher(url), 'after freeing space');
  // A SIGKILL on the once-full disk: the restarted log holds everything acknowledged and goes on.
  await box.command('restart');
  await box.serving(2);
  await history.check(new HttpTileFetcher(url), 'after a restart');
  assert.ok((await addUntil('restarted', (acked) => acked >= 2)) >= 2);
  const final = await history.check(new HttpTileFetcher(url), 'final');
  await box.command('stop');
  await box.exited;
  t.diagnostic(
    `stored ${filled} before full; refusals ${JSON.stringify([...refusals])}; ${recovered} after freeing; ` +
      `final size ${final.checkpoint.size}, acknowledged ${history.acks.length}`,
  );
});

const siteModule = pathToFileURL(
  join(import.meta.dirname, '..', '..', 'src', 'faces', 'cli', 'commands', 'site.ts'),
).href;
const ioModule = pathToFileURL(join(import.meta.dirname, '..', '..', 'src', 'faces', 'cli', 'io.ts')).href;
const siteScript = `
import { siteCommand } from ${JSON.stringify(siteModule)};
import { processIo, reportError } from ${JSON.stringify(ioModule)};
const io = processIo();
try { process.exitCode = await siteCommand.run(process.argv.slice(1), io); }
catch (error) { process.exitCode = reportError(error, io); }
`;

test('full disk: the site gateway refuses telemetry it cannot store, keeps what it acknowledged, and recovers', {
  skip,
  timeout: 90_000,
}, async (t) => {
  assert.equal(sandboxProblem, undefined, sandboxProblem);
  t.diagnostic(`seed ${seed} (repeat with VOUCH_FAULT_SEED=${seed})`);
  work ??= await mkdtemp(join(tmpdir(), 'vouch-full-disk-'));
  const src = join(work, 'site-src');
  const { tokens } = await testingOnlySiteFolder(join(src, 'site'), {
    site: 'ru-mow',
    tenants: [{ id: 'bravo', country: 'BR' }],
    endpoints: [{ tenant: 'bravo', endpoint: 'bravo-1' }],
  });
  const headers = { authorization: `Bearer ${tokens['bravo-1']}`, 'content-type': 'application/json' };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/v1/telemetry`;
  const box = await startSandbox(src, 3 * 1024 * 1024, 2300, (data) => [
    '--input-type=module',
    '-e',
    siteScript,
    'serve',
    join(data, 'site'),
    '--port',
    String(port),
  ]);
  await box.serving(1);
  const batch = (n: number): Uint8Array => {
    const value: TelemetryBatch = {
      batchId: `full-disk-${seed}-${String(n).padStart(6, '0')}`,
      tenant: 'bravo',
      endpoint: 'bravo-1',
      events: Array.from({ length: 100 }, (_, j) => ({
        kind: 'sample' as const,
        sha256: ((n * 1000 + j) >>> 0).toString(16).padStart(64, '0'),
        size: 1000 + j,
        fileType: 'text',
        firstSeen: '2025-01-01T00:00:00Z',
        name: `sample-${n}-${j}-${'n'.repeat(100)}.txt`,
      })),
    };
    return formatTelemetryBatch(value);
  };
  const acked: number[] = [];
  const refusals = new Map<string, number>();
  let next = 0;
  const sendUntil = async (stop: (ok: number, refused: number) => boolean): Promise<number> => {
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 400 && !stop(ok, refused); i++) {
      const n = next++;
      const answer = await post(url, batch(n), headers);
      if (answer?.status === 200) {
        assert.equal((JSON.parse(answer.body) as { status: string }).status, 'stored');
        acked.push(n);
        ok++;
        continue;
      }
      refused++;
      const kind =
        answer === undefined ? 'no answer' : `${answer.status} ${answer.body.trim().slice(0, 100)}`;
      refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
      if (answer !== undefined) {
        // A full disk is the storage failing, not the request: 503 with Retry-After, naming it
        // (or 503/429 shedding, which also carries Retry-After).
        assert.ok(
          answer.status === 503 || answer.status === 429,
          `a full disk answered ${answer.status}: ${answer.body}`,
        );
        assert.ok(answer.retryAfter !== null, `${answer.status} without Retry-After`);
        assert.ok(answer.body.trim() !== '', 'a refusal without a message');
      }
      await sleep(20);
    }
    return ok;
  };
  const filled = await sendUntil((_, refused) => refused >= 4);
  assert.ok(filled > 0 && refusals.size > 0, `the disk never filled:\n${box.lines()}`);
  await box.command('free');
  await sleep(300);
  const recovered = await sendUntil((ok) => ok >= 3);
  assert.ok(
    recovered >= 3,
    `after freeing space the gateway stores again (${JSON.stringify([...refusals])})`,
  );
  await box.command('restart');
  await box.serving(2);
  // Every acknowledged batch is still stored: resent, each is a duplicate.
  for (const n of acked) {
    const answer = await post(url, batch(n), headers);
    assert.equal(answer?.status, 200, `batch ${n} resent after the restart: ${answer?.body}`);
    assert.equal(
      (JSON.parse(answer?.body ?? '{}') as { status: string }).status,
      'duplicate',
      `batch ${n} was lost`,
    );
  }
  await box.command('stop');
  await box.exited;
  t.diagnostic(
    `stored ${filled} batches before full; refusals ${JSON.stringify([...refusals])}; ${recovered} after freeing; ` +
      `${acked.length} acknowledged, all still stored after a restart`,
  );
});
