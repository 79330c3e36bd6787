/**
 * Property tests of the witness's one safety claim under concurrency: whatever the interleaving
 * of concurrent `add-checkpoint` requests — here from a malicious log that shares one origin and
 * key between two trees that diverge after a random prefix — the witness never cosigns two
 * inconsistent checkpoints, and its stored size never decreases, even when state writes fail
 * before or after they persist. fast-check's scheduler decides when each storage read and swap
 * takes effect and when its answer is delivered.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { equalBytes } from '../../core/bytes/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { parseNote } from '../../core/note/index.ts';
import { parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { createCheckpointVerifier, verifyCosignature } from '../../core/tlog/cosignature.ts';
import { formatAddCheckpointRequest } from '../../core/tlog/witness-request.ts';
import type { CasStore } from '../../storage/cas.ts';
import { type FaultOutcome, MemoryCasStore } from '../../storage/memory/memory.ts';
import { assertPrefixes } from './suite.ts';
import { type TestingOnlyLog, testingOnlyForkOf, testingOnlyLog } from './testing.ts';
import { Witness } from './witness.ts';

const treeSize = 12;
const logKey = createSigner('log.example/split', generateKey('ed25519'));
const honest = testingOnlyLog('log.example/split', treeSize, 'entry', logKey);
const witnessKey = createSigner('witness.example/w', generateKey('ed25519'));
const witnessVerifier = createCheckpointVerifier(
  new Witness({
    name: 'witness.example/w',
    keys: [witnessKey],
    logs: () => undefined,
    store: new MemoryCasStore(),
    now: () => 1n,
  }).vkeys[0] as string,
);

// Signed checkpoints are the slow part; each (tree, size) is signed once for the whole file.
const checkpoints = new Map<string, Promise<Uint8Array>>();
function checkpointOf(tree: TestingOnlyLog, label: string, size: bigint): Promise<Uint8Array> {
  const key = `${label}/${size}`;
  let note = checkpoints.get(key);
  if (note === undefined) {
    note = tree.checkpoint(size);
    checkpoints.set(key, note);
  }
  return note;
}

interface Head {
  readonly size: bigint;
  readonly root: Uint8Array;
}

const headOf = (note: Uint8Array): Head => {
  const checkpoint = parseCheckpoint(parseNote(note).text);
  return { size: checkpoint.size, root: checkpoint.root };
};

/** ClientPlan is one client's request: which tree, what size, and the old size it starts from. */
interface ClientPlan {
  readonly fork: boolean;
  readonly size: number;
  readonly old: number;
}

const plans = fc.array(
  fc
    .record({
      fork: fc.boolean(),
      size: fc.integer({ min: 0, max: treeSize }),
      old: fc.integer({ min: 0, max: treeSize }),
    })
    .map((p) => ({ ...p, old: Math.min(p.old, p.size) })),
  { minLength: 2, maxLength: 8 },
);

/**
 * run plays every client concurrently against one witness whose store is gated by the
 * scheduler, and returns what the witness cosigned (answers) and every state it stored.
 */
async function run(
  s: fc.Scheduler,
  clients: readonly ClientPlan[],
  shared: number,
  faults: readonly FaultOutcome[],
): Promise<{ answered: Head[]; stored: Head[] }> {
  const fork = testingOnlyForkOf(honest, logKey, shared);
  const inner = new MemoryCasStore();
  let writes = 0;
  inner.faults = () => (faults.length === 0 ? 'ok' : (faults[writes++ % faults.length] as FaultOutcome));
  const stored: Head[] = [];
  const gate = (): Promise<void> => s.schedule(Promise.resolve());
  const store: CasStore = {
    cell(name) {
      const cell = inner.cell(name);
      return {
        read: async () => {
          await gate();
          return cell.read();
        },
        replace: async (old, next) => {
          await gate();
          try {
            await cell.replace(old, next);
          } finally {
            // Record what the store holds after every attempt, failed ones included.
            const value = inner.values.get(name);
            if (value !== undefined) stored.push(headOf(value));
            await gate();
          }
        },
      };
    },
  };
  const witness = new Witness({
    name: 'witness.example/w',
    keys: [witnessKey],
    logs: (origin) => (origin === honest.origin ? honest.verifiers : undefined),
    store,
    now: () => 1_700_000_000n,
  });
  const answered: Head[] = [];
  const client = async (plan: ClientPlan): Promise<void> => {
    const tree = plan.fork ? fork : honest;
    const label = plan.fork ? `fork${shared}` : 'honest';
    const size = BigInt(plan.size);
    let old = BigInt(plan.old);
    for (let attempt = 0; attempt < 3; attempt++) {
      const checkpoint = await checkpointOf(tree, label, size);
      const body = formatAddCheckpointRequest({ old, proof: tree.proof(old, size), checkpoint });
      try {
        const [cosignature] = await witness.processAddCheckpoint(body);
        assert.ok(cosignature !== undefined);
        verifyCosignature(witnessVerifier, parseNote(checkpoint).text, cosignature);
        answered.push(headOf(checkpoint));
        return;
      } catch (error) {
        // A client learns the witness's size from a 409 and tries again; any other answer ends it.
        if (!isVouchError(error) || error.code === 'invariant') throw error;
        const known = error.code === 'conflict' ? error.details.size : undefined;
        if (typeof known !== 'bigint' || known > size) return;
        old = known;
      }
    }
  };
  await s.waitFor(Promise.all(clients.map(client)));
  return { answered, stored };
}

test('property: concurrent requests for two trees of one log never get two inconsistent cosignatures', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      plans,
      fc.integer({ min: 0, max: treeSize }),
      async (s, clients, shared) => {
        const { answered, stored } = await run(s, clients, shared, []);
        assertPrefixes([...answered, ...stored], [honest, testingOnlyForkOf(honest, logKey, shared)]);
        // Every answer is durable: the final state is at least as large as anything answered.
        const last = stored.at(-1);
        for (const head of answered) assert.ok(last !== undefined && last.size >= head.size);
      },
    ),
    { seed: 0x5eed, numRuns: 150 },
  );
});

test('property: with writes failing before or after they persist, the stored size never decreases', async () => {
  const outcome = fc.constantFrom<FaultOutcome>('ok', 'ok', 'fail-before', 'fail-after');
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      plans,
      fc.integer({ min: 0, max: treeSize }),
      fc.array(outcome, { minLength: 1, maxLength: 6 }),
      async (s, clients, shared, faults) => {
        const { answered, stored } = await run(s, clients, shared, faults);
        for (let i = 1; i < stored.length; i++) {
          const [before, after] = [stored[i - 1] as Head, stored[i] as Head];
          assert.ok(after.size >= before.size, `stored size went from ${before.size} to ${after.size}`);
          if (after.size === before.size) assert.ok(equalBytes(after.root, before.root));
        }
        assertPrefixes([...answered, ...stored], [honest, testingOnlyForkOf(honest, logKey, shared)]);
      },
    ),
    { seed: 0xfa17, numRuns: 150 },
  );
});
