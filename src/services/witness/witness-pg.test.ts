/**
 * The witness suite against PostgreSQL, the scale-out store, plus what only scale-out can do: two
 * witness processes (two connection pools) sharing one state, racing on one log. Skipped without
 * DATABASE_URL, except on CI, where that is a failure.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { formatVerifierKey, parseNote } from '../../core/note/index.ts';
import { parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { createCosigner } from '../../core/tlog/cosignature.ts';
import { parseAddCheckpointRequest } from '../../core/tlog/witness-request.ts';
import { PgCasStore } from '../../storage/postgres/pg-cas.ts';
import { openPgPool } from '../../storage/postgres/pool.ts';
import { testingOnlyNamespace, testingOnlyPgPool } from '../../storage/postgres/testing.ts';
import { addWitnessedLog, initWitnessFolder, WitnessService } from './folder.ts';
import { assertPrefixes, testWitness } from './suite.ts';
import { testingOnlyForkOf, testingOnlyLog } from './testing.ts';
import { Witness } from './witness.ts';

const db = testingOnlyPgPool();
if ('skip' in db) {
  test('postgres witness', { skip: db.skip }, () => undefined);
} else {
  const second = openPgPool(process.env.DATABASE_URL as string, 20);
  after(async () => {
    await db.pool.end();
    await second.end();
  });
  testWitness('postgres', () => PgCasStore.open(db.pool, testingOnlyNamespace()));

  test('postgres witness: two witness services on one folder share their state through the database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vouch-witness-pg-'));
    try {
      const name = `witness.example/${testingOnlyNamespace().slice(0, -1)}`;
      const key = createSigner(name, generateKey('ed25519'));
      await initWitnessFolder(dir, {
        name,
        key: 'unused.key',
        vkey: formatVerifierKey(createCosigner(key, { name, timestamp: 1n })),
      });
      const log = testingOnlyLog('log.example/pg-service');
      await addWitnessedLog(dir, { origin: log.origin, vkeys: [log.vkey] });
      const url = process.env.DATABASE_URL as string;
      const one = await WitnessService.start({ dir, key, databaseUrl: url });
      const two = await WitnessService.start({ dir, key, databaseUrl: url });
      try {
        await one.witness.processAddCheckpoint(await log.request(0n, 6n));
        await assert.rejects(two.witness.processAddCheckpoint(await log.request(0n, 7n)), (e) => {
          return isVouchError(e, 'conflict') && e.details.size === 6n;
        });
        await two.witness.processAddCheckpoint(await log.request(6n, 7n));
        assert.equal((await one.witness.state(log.origin))?.checkpoint.size, 7n);
      } finally {
        await one.close();
        await two.close();
      }
      assert.equal(existsSync(join(dir, 'state.db')), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('postgres witness: two processes sharing the state never cosign two inconsistent checkpoints', async () => {
    const namespace = testingOnlyNamespace();
    const logKey = createSigner('log.example/shared', generateKey('ed25519'));
    const log = testingOnlyLog('log.example/shared', 24, 'entry', logKey);
    const fork = testingOnlyForkOf(log, logKey, 5);
    const key = createSigner('witness.example/pg', generateKey('ed25519'));
    const witnesses = await Promise.all(
      [db.pool, second].map(
        async (pool) =>
          new Witness({
            name: 'witness.example/pg',
            keys: [key],
            logs: () => log.verifiers,
            store: await PgCasStore.open(pool, namespace),
            now: () => 1_700_000_000n,
          }),
      ),
    );
    const heads: { size: bigint; root: Uint8Array }[] = [];
    // Rounds of 16 racing requests, half for each tree, each from the size the witness holds now.
    for (let round = 0; round < 4; round++) {
      const from = (await witnesses[0]?.state(log.origin))?.checkpoint.size ?? 0n;
      const bodies = await Promise.all(
        Array.from({ length: 16 }, (_, i) => {
          const size = from + 1n + BigInt(i % 4);
          return (i % 2 === 0 ? log : fork).request(from, size > 24n ? 24n : size);
        }),
      );
      const answers = await Promise.allSettled(
        bodies.map((body, i) => (witnesses[i % 2] as Witness).processAddCheckpoint(body)),
      );
      answers.forEach((answer, i) => {
        if (answer.status === 'rejected') {
          const e = answer.reason;
          assert.ok(isVouchError(e, 'conflict') || isVouchError(e, 'bad-proof'), String(e));
          return;
        }
        const checkpoint = parseCheckpoint(
          parseNote(parseAddCheckpointRequest(bodies[i] as Uint8Array).checkpoint).text,
        );
        heads.push({ size: checkpoint.size, root: checkpoint.root });
      });
    }
    const state = await witnesses[1]?.state(log.origin);
    assert.ok(state !== undefined && state.checkpoint.size > 0n);
    heads.push({ size: state.checkpoint.size, root: state.checkpoint.root });
    assertPrefixes(heads, [log, fork]);
  });
}
