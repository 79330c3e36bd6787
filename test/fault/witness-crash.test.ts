/**
 * A witness killed while the log publishes (issue 10, faults): a release log (`vouch log serve`,
 * a child process) whose policy needs both of two witnesses (`vouch witness serve`, child
 * processes on fixed loopback ports) takes concurrent adds, while one witness at a time is killed
 * with SIGKILL at a seeded random moment — most often in the middle of an `add-checkpoint` — and
 * brought back on its port after a random pause.
 *
 * Checked throughout and after every restart:
 * - the log publishes a quorum checkpoint or none: every checkpoint the log ever serves, polled
 *   every few milliseconds and in every acknowledgement, meets the 2-of-2 policy;
 * - the witness's state on disk is atomic and never goes back: after a restart, its latest
 *   cosigned checkpoint (its monitoring endpoint) is signed by the log, carries its own
 *   cosignature, is at least as large as every published checkpoint it cosigned, and is a tree
 *   of the log (same root as the log's checkpoint of that size, consistent with the log);
 * - the witness never cosigns two trees of one size: at the end each witness is sent, signed with
 *   the log's own key, another tree of its current size (409, no cosignature) and a larger tree
 *   with a bad consistency proof (422);
 * - nothing acknowledged is lost and the log does not fork (LogHistory.check, log-fault.ts).
 *
 * The seed is printed; VOUCH_FAULT_SEED repeats a run.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LogClient } from '../../src/clients/log/client.ts';
import { HttpTileFetcher } from '../../src/clients/log/http-fetcher.ts';
import { equalBytes, formatBase64, toBytes, toText } from '../../src/core/bytes/index.ts';
import { sha256 } from '../../src/core/crypto/index.ts';
import { openNote, parseNote, verifierSet } from '../../src/core/note/index.ts';
import { parseCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { createCheckpointVerifier, createCosignatureVerifier } from '../../src/core/tlog/cosignature.ts';
import { parsePolicy } from '../../src/core/tlog/policy.ts';
import { checkCheckpointPolicy } from '../../src/core/tlog/quorum.ts';
import { formatAddCheckpointRequest } from '../../src/core/tlog/witness-request.ts';
import { initLogFolder } from '../../src/services/log/folder.ts';
import { originHashOf } from '../../src/services/witness/witness.ts';
import {
  forgedCheckpoint,
  freePort,
  type KeyedParty,
  makeParty,
  makeWitnessFolder,
  policyText,
} from '../support/fault-world.ts';
import { type RunningVouch, startVouchServer, stopAll } from '../support/processes.ts';
import {
  addLoad,
  faultSeed,
  killAllChildren,
  LogHistory,
  seededRandom,
  sleep,
  startServer,
  vouchBin,
} from './log-fault.ts';

const seed = faultSeed();
const random = seededRandom(seed);
const between = (low: number, high: number): number => Math.floor(low + random() * (high - low));

let work: string | undefined;
after(async () => {
  killAllChildren();
  stopAll();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

const childEnv: NodeJS.ProcessEnv = { ...process.env, VOUCH_PASSPHRASE: '' };
delete childEnv.DATABASE_URL;
delete childEnv.NODE_TEST_CONTEXT;

interface RunningWitness {
  readonly label: string;
  readonly dir: string;
  readonly party: KeyedParty;
  readonly port: number;
  server: RunningVouch;
  /** cosigned is the largest published checkpoint size seen with this witness's cosignature. */
  cosigned: bigint;
}

test('witness crash: SIGKILL of a witness mid-publication never forks it, loses nothing, publishes only quorum checkpoints', {
  timeout: 120_000,
}, async (t) => {
  t.diagnostic(`seed ${seed} (repeat with VOUCH_FAULT_SEED=${seed})`);
  const started = Date.now();
  work = await mkdtemp(join(tmpdir(), 'vouch-witness-crash-'));
  const log = await makeParty(work, 'log.key', 'example.com/witness-crash');
  const witnesses: RunningWitness[] = [];
  for (const label of ['w1', 'w2']) {
    const party = await makeParty(work, `${label}.key`, `${label}.witness-crash.example`);
    const dir = join(work, label);
    await makeWitnessFolder(dir, party, log);
    const port = await freePort();
    const server = await startVouchServer(
      ['witness', 'serve', '--dir', dir, '--listen', `127.0.0.1:${port}`],
      work,
    );
    witnesses.push({ label, dir, party, port, server, cosigned: 0n });
  }
  const policyBytes = policyText(
    log,
    witnesses.map((w) => ({ name: w.label, party: w.party, url: `http://127.0.0.1:${w.port}/` })),
  );
  const policy = parsePolicy(toBytes(policyBytes));
  await writeFile(join(work, 'policy.txt'), policyBytes);
  const logDir = join(work, 'log');
  await initLogFolder(logDir, {
    origin: log.name,
    key: log.path,
    vkey: log.vkey,
    batchAgeMs: 5,
    policy: join(work, 'policy.txt'),
  });
  const logServer = startServer(
    [vouchBin, 'log', 'serve', '--dir', logDir, '--listen', '127.0.0.1:0'],
    childEnv,
  );
  const logUrl = await logServer.serving;
  const history = new LogHistory(createCheckpointVerifier(log.vkey));

  // The log publishes a quorum checkpoint or none: every checkpoint it serves meets the policy.
  let polling = true;
  let polled = 0;
  const policyFailures: string[] = [];
  const checkPublished = (note: Uint8Array, where: string): void => {
    try {
      // The empty log's checkpoint is signed at creation, before any witness could see it.
      if (parseCheckpoint(parseNote(note).text).size === 0n) return;
      const checked = checkCheckpointPolicy(note, policy);
      for (const w of witnesses) {
        if (checked.cosigners.some((c) => c.witness === w.label) && checked.checkpoint.size > w.cosigned)
          w.cosigned = checked.checkpoint.size;
      }
    } catch (error) {
      policyFailures.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const poller = (async () => {
    while (polling) {
      try {
        const response = await fetch(`${logUrl}checkpoint`, { signal: AbortSignal.timeout(5_000) });
        const bytes = new Uint8Array(await response.arrayBuffer());
        if (response.status === 200) {
          history.recordCheckpoint(bytes, 'polled checkpoint');
          checkPublished(bytes, 'polled checkpoint');
          polled++;
        }
      } catch {
        // a poll carries no promise
      }
      await sleep(5);
    }
  })();

  // After a restart the witness's state must still hold everything it released.
  const checkWitnessState = async (w: RunningWitness, where: string): Promise<bigint> => {
    const response = await fetch(`${w.server.url}${originHashOf(log.name)}/checkpoint`);
    const body = new Uint8Array(await response.arrayBuffer());
    if (w.cosigned === 0n && response.status === 404) return 0n;
    assert.equal(response.status, 200, `${where}: ${w.label}'s state: ${toText(body)}`);
    const opened = openNote(
      body,
      verifierSet([createCheckpointVerifier(log.vkey), createCosignatureVerifier(w.party.cosignerVkey)]),
    );
    assert.ok(
      opened.verified.some((s) => s.name === log.name),
      `${where}: ${w.label}'s state is not signed by the log`,
    );
    assert.ok(
      opened.verified.some((s) => s.name === w.party.name),
      `${where}: ${w.label}'s state lacks its own cosignature`,
    );
    const checkpoint = parseCheckpoint(opened.text);
    assert.ok(
      checkpoint.size >= w.cosigned,
      `${where}: ${w.label} went back to size ${checkpoint.size} after cosigning ${w.cosigned}`,
    );
    const known = history.seen.get(checkpoint.size);
    if (known !== undefined)
      assert.ok(
        equalBytes(known, checkpoint.root),
        `${where}: ${w.label} holds another tree of size ${checkpoint.size}`,
      );
    const client = await LogClient.open(new HttpTileFetcher(logUrl), {
      logKey: createCheckpointVerifier(log.vkey),
    });
    if (checkpoint.size <= client.checkpoint.size) await client.checkConsistency(checkpoint);
    return checkpoint.size;
  };

  const rounds = 4;
  let kills = 0;
  for (let round = 0; round < rounds; round++) {
    const w = witnesses[between(0, 2)] as RunningWitness;
    const killAt = between(20, 500);
    const downFor = between(0, 400);
    const label = `round ${round}`;
    const fault = (async () => {
      await sleep(killAt);
      w.server.child.kill('SIGKILL');
      await once(w.server.child, 'exit');
      kills++;
      await sleep(downFor);
      w.server = await startVouchServer(
        ['witness', 'serve', '--dir', w.dir, '--listen', `127.0.0.1:${w.port}`],
        work as string,
      );
      return checkWitnessState(w, `${label} after ${w.label}'s restart`);
    })();
    const stats = await addLoad(logUrl, history, { label, clients: 4, perClient: 200, deadlineMs: 1_000 });
    const size = await fault;
    t.diagnostic(
      `${label}: ${w.label} killed ${killAt} ms in, down ${downFor} ms, restarted at size ${size}; ` +
        `sent ${stats.sent}, acked ${stats.acked}, 503 ${stats.pushedBack}, failed ${stats.failed}`,
    );
  }
  // Once both witnesses are back, the log publishes again and acknowledges.
  const tail = await addLoad(logUrl, history, {
    label: 'final',
    clients: 4,
    perClient: 5,
    deadlineMs: 20_000,
  });
  assert.equal(tail.acked, tail.sent, 'with both witnesses up every add is acknowledged');
  polling = false;
  await poller;
  assert.deepEqual(policyFailures, [], 'the log served a checkpoint without its quorum');
  const final = await history.check(new HttpTileFetcher(logUrl), 'final');
  const finalNote = new Uint8Array(await (await fetch(`${logUrl}checkpoint`)).arrayBuffer());
  checkPublished(finalNote, 'final checkpoint');
  assert.deepEqual(policyFailures, []);
  const failedRounds = logServer.lines.filter((l) => l.includes('witness quorum not met')).length;

  // Neither witness ever cosigns another tree of a size it cosigned, nor an inconsistent larger one.
  for (const w of witnesses) {
    const size = await checkWitnessState(w, `${w.label} at the end`);
    assert.ok(size > 0n, `${w.label} cosigned something`);
    const other = await forgedCheckpoint(log, size, sha256(toBytes(`another tree ${seed}`)));
    const fork = await fetch(`${w.server.url}add-checkpoint`, {
      method: 'POST',
      body: formatAddCheckpointRequest({ old: size, proof: [], checkpoint: other }),
    });
    assert.equal(fork.status, 409, `${w.label} answered ${fork.status} to another tree of size ${size}`);
    assert.ok(!(await fork.text()).includes('—'), `${w.label} returned a cosignature for a fork`);
    const bigger = await forgedCheckpoint(log, size + 3n, sha256(toBytes(`a larger fork ${seed}`)));
    const larger = await fetch(`${w.server.url}add-checkpoint`, {
      method: 'POST',
      body: formatAddCheckpointRequest({
        old: size,
        proof: [sha256(toBytes('not a proof'))],
        checkpoint: bigger,
      }),
    });
    await larger.body?.cancel();
    assert.equal(larger.status, 422, `${w.label} answered ${larger.status} to an inconsistent larger tree`);
    const after = await checkWitnessState(w, `${w.label} after the forks`);
    assert.equal(after, size, `${w.label} moved on a fork`);
  }
  logServer.child.kill('SIGTERM');
  await logServer.exited;
  for (const w of witnesses) await w.server.stop();
  assert.ok(history.acks.length > 0);
  t.diagnostic(
    `final size ${final.checkpoint.size}, ${history.acks.length} acknowledged, ${kills} witness kills, ` +
      `${failedRounds} rounds without quorum, ${polled} polls all with quorum, ` +
      `root ${formatBase64(final.checkpoint.root).slice(0, 12)}…, ${Date.now() - started} ms`,
  );
});
