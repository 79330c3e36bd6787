/**
 * The witness's behaviour suite, run against every state store (memory, SQLite, PostgreSQL): each
 * answer of c2sp.org/tlog-witness `add-checkpoint` with a real log key and real consistency proofs,
 * the durable state those answers leave, and concurrent requests from a log showing two trees. A
 * store's test file calls {@link testWitness} with a factory for fresh, empty stores.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSigner, generateKey, type Signer } from '../../core/crypto/index.ts';
import { isVouchError, type VouchError } from '../../core/errors.ts';
import {
  createNoteSigner,
  formatNote,
  openNote,
  parseNote,
  signNote,
  verifierSet,
} from '../../core/note/index.ts';
import { formatCheckpoint, parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { createCheckpointVerifier, verifyCosignature } from '../../core/tlog/cosignature.ts';
import { formatAddCheckpointRequest, parseAddCheckpointRequest } from '../../core/tlog/witness-request.ts';
import type { CasStore } from '../../storage/cas.ts';
import { type TestingOnlyLog, testingOnlyForkOf, testingOnlyLog } from './testing.ts';
import { originHashOf, Witness, type WitnessEvidence } from './witness.ts';

const witnessName = 'witness.example/w1';
const witnessKey = createSigner(witnessName, generateKey('ed25519'));
const logKey = createSigner('log.example/test', generateKey('ed25519'));
const otherKey = createSigner('log.example/test', generateKey('ed25519'));

interface Fixture {
  readonly witness: Witness;
  readonly log: TestingOnlyLog;
  readonly evidence: WitnessEvidence[];
  clock: bigint;
}

function fixture(store: CasStore): Fixture {
  const log = testingOnlyLog('log.example/test', 32, 'entry', logKey);
  const evidence: WitnessEvidence[] = [];
  const f: Fixture = {
    log,
    evidence,
    clock: 1_700_000_000n,
    witness: new Witness({
      name: witnessName,
      keys: [witnessKey],
      logs: (origin) => (origin === log.origin ? log.verifiers : undefined),
      store,
      now: () => f.clock,
      evidence: async (record) => {
        evidence.push(record);
      },
    }),
  };
  return f;
}

/** cosign submits a request that must succeed and checks the cosignature it returns. */
async function cosign(f: Fixture, body: Uint8Array): Promise<void> {
  const cosignatures = await f.witness.processAddCheckpoint(body);
  assert.equal(cosignatures.length, 1);
  const cosignature = cosignatures[0];
  assert.ok(cosignature !== undefined);
  const text = parseNote(parseAddCheckpointRequest(body).checkpoint).text;
  const verifier = createCheckpointVerifier(f.witness.vkeys[0] as string);
  assert.equal(verifyCosignature(verifier, text, cosignature).timestamp, f.clock);
  assert.equal(cosignature.timestamp, f.clock);
}

async function refused(
  f: Fixture,
  body: Uint8Array,
  code: VouchError['code'],
  size?: bigint,
): Promise<VouchError> {
  let caught: unknown;
  await assert.rejects(f.witness.processAddCheckpoint(body), (e) => {
    caught = e;
    return isVouchError(e, code);
  });
  const error = caught as VouchError;
  assert.equal(error.details.size, size, `details.size of ${error.message}`);
  return error;
}

async function storedSize(f: Fixture): Promise<bigint | undefined> {
  return (await f.witness.state(f.log.origin))?.checkpoint.size;
}

/** testWitness registers the suite for one store driver. */
export function testWitness(driver: string, open: () => Promise<CasStore>): void {
  test(`${driver} witness: 200 cosigns a first checkpoint, then growth with real proofs`, async () => {
    const f = fixture(await open());
    assert.equal(await storedSize(f), undefined);
    await cosign(f, await f.log.request(0n, 5n));
    assert.equal(await storedSize(f), 5n);
    f.clock += 10n;
    await cosign(f, await f.log.request(5n, 8n));
    await cosign(f, await f.log.request(8n, 8n)); // the same checkpoint again: cosigned again
    f.clock += 10n;
    await cosign(f, await f.log.request(8n, 32n));
    const state = await f.witness.state(f.log.origin);
    assert.equal(state?.checkpoint.size, 32n);
    assert.deepEqual(state?.checkpoint.root, f.log.root(32n));
    // The stored note carries the log's signature and the witness's latest cosignature only.
    const verifiers = verifierSet([
      createCheckpointVerifier(f.log.vkey),
      createCheckpointVerifier(f.witness.vkeys[0] as string),
    ]);
    const opened = openNote(state?.note ?? new Uint8Array(), verifiers);
    assert.equal(opened.signatures.length, 2);
    assert.equal(opened.verified.length, 2);
    assert.equal(opened.verified[1]?.timestamp, f.clock);
    assert.deepEqual(await f.witness.latestCheckpoint(originHashOf(f.log.origin)), state?.note);
  });

  test(`${driver} witness: a size-0 first checkpoint, then any size from old 0`, async () => {
    const f = fixture(await open());
    await cosign(f, await f.log.request(0n, 0n));
    assert.equal(await storedSize(f), 0n);
    await cosign(f, await f.log.request(0n, 0n));
    await cosign(f, await f.log.request(0n, 3n));
    await refused(f, await f.log.request(0n, 4n), 'conflict', 3n);
  });

  test(`${driver} witness: 404 for an origin it does not witness`, async () => {
    const f = fixture(await open());
    const stranger = testingOnlyLog('stranger.example/log');
    await refused(f, await stranger.request(0n, 1n), 'not-found');
    assert.equal(await f.witness.state(stranger.origin), undefined);
  });

  test(`${driver} witness: 403 without a trusted signature, and for a trusted key's bad signature`, async () => {
    const f = fixture(await open());
    const impostor = testingOnlyLog(f.log.origin, 32, 'entry', otherKey);
    await refused(f, await impostor.request(0n, 5n), 'no-trusted-signature');
    // The log's own signature, one bit flipped: its key is known, so the note is rejected.
    const note = parseNote(await f.log.checkpoint(5n));
    const signature = note.signatures[0];
    assert.ok(signature !== undefined);
    const flipped = new Uint8Array(signature.signature);
    flipped[0] = (flipped[0] as number) ^ 1;
    const tampered = formatNote({ text: note.text, signatures: [{ ...signature, signature: flipped }] });
    await refused(
      f,
      formatAddCheckpointRequest({ old: 0n, proof: [], checkpoint: tampered }),
      'bad-signature',
    );
    // A trusted signature next to an unknown key's is accepted: unknown keys are ignored.
    const cosigned = await signNote(note.text, [f.log.signer, createNoteSigner(otherKey, 'other.example')]);
    await cosign(f, formatAddCheckpointRequest({ old: 0n, proof: [], checkpoint: cosigned }));
    assert.equal(await storedSize(f), 5n);
  });

  test(`${driver} witness: 400 when old is larger than the checkpoint`, async () => {
    const f = fixture(await open());
    await refused(f, await f.log.request(6n, 5n, [f.log.root(6n)]), 'invalid-argument');
    assert.equal(await storedSize(f), undefined);
  });

  test(`${driver} witness: 409 carries the witness's size`, async () => {
    const f = fixture(await open());
    await refused(f, await f.log.request(3n, 5n), 'conflict', 0n);
    await cosign(f, await f.log.request(0n, 5n));
    await refused(f, await f.log.request(0n, 8n), 'conflict', 5n); // a client probing with old 0
    await refused(f, await f.log.request(4n, 8n), 'conflict', 5n);
    await refused(f, await f.log.request(6n, 8n), 'conflict', 5n);
    await cosign(f, await f.log.request(5n, 8n));
    assert.equal(await storedSize(f), 8n);
  });

  test(`${driver} witness: 422 for each kind of bad proof, and 409 for a second tree of one size`, async () => {
    const f = fixture(await open());
    // A size-0 checkpoint must have the empty tree's root.
    const badEmpty = await signNote(
      formatCheckpoint({ origin: f.log.origin, size: 0n, root: f.log.root(1n), extensions: [] }),
      [f.log.signer],
    );
    await refused(f, formatAddCheckpointRequest({ old: 0n, proof: [], checkpoint: badEmpty }), 'bad-proof');
    // From old 0 the proof must be empty.
    await refused(f, await f.log.request(0n, 5n, [f.log.root(1n)]), 'bad-proof');
    assert.equal(await storedSize(f), undefined);

    await cosign(f, await f.log.request(0n, 8n));
    // A proof that does not verify: tampered, truncated, padded, or from another tree.
    const good = f.log.proof(8n, 13n);
    const tampered = good.map((h, i) => (i === 0 ? f.log.root(2n) : h));
    await refused(f, await f.log.request(8n, 13n, tampered), 'bad-proof');
    await refused(f, await f.log.request(8n, 13n, good.slice(1)), 'bad-proof');
    await refused(f, await f.log.request(8n, 13n, [...good, f.log.root(1n)]), 'bad-proof');
    const fork = testingOnlyForkOf(f.log, logKey, 4);
    await refused(f, await fork.request(8n, 13n), 'bad-proof');
    // Same size, non-empty proof.
    await refused(f, await f.log.request(8n, 8n, [f.log.root(1n)]), 'bad-proof');
    assert.equal(f.evidence.length, 0);

    // The log signs another tree of size 8: the spec's answer is 409 (without a size), and it is evidence.
    const error = await refused(f, await fork.request(8n, 8n), 'conflict');
    assert.match(error.message, /two different trees of size 8/);
    assert.equal(f.evidence.length, 1);
    const record = f.evidence[0];
    assert.equal(record?.kind, 'root-mismatch');
    assert.equal(record?.size, 8n);
    assert.deepEqual(
      parseCheckpoint(parseNote(record?.submitted ?? new Uint8Array()).text).root,
      fork.root(8n),
    );
    assert.deepEqual(
      parseCheckpoint(parseNote(record?.cosigned ?? new Uint8Array()).text).root,
      f.log.root(8n),
    );

    assert.equal(await storedSize(f), 8n);
    assert.deepEqual((await f.witness.state(f.log.origin))?.checkpoint.root, f.log.root(8n));
  });

  test(`${driver} witness: an ML-DSA-44 key and an Ed25519 key cosign together`, async () => {
    const store = await open();
    const log = testingOnlyLog('log.example/test', 8, 'entry', logKey);
    const keys: Signer[] = [witnessKey, createSigner(witnessName, generateKey('ml-dsa-44'))];
    const witness = new Witness({
      name: witnessName,
      keys,
      logs: (origin) => (origin === log.origin ? log.verifiers : undefined),
      store,
      now: () => 1_800_000_000n,
    });
    assert.deepEqual(
      witness.vkeys.map((v) => createCheckpointVerifier(v).type),
      [0x04, 0x06],
    );
    const body = await log.request(0n, 8n);
    const cosignatures = await witness.processAddCheckpoint(body);
    const text = parseNote(await log.checkpoint(8n)).text;
    cosignatures.forEach((c, i) => {
      const checked = verifyCosignature(createCheckpointVerifier(witness.vkeys[i] as string), text, c);
      assert.equal(checked.timestamp, 1_800_000_000n);
    });
    assert.equal(cosignatures.length, 2);
  });

  test(`${driver} witness: concurrent requests from a log showing two trees never get both cosigned`, async () => {
    const f = fixture(await open());
    const fork = testingOnlyForkOf(f.log, logKey, 6);
    await cosign(f, await f.log.request(0n, 4n));
    // Both trees extend size 4; many requests race from it, for both trees and many sizes.
    const bodies = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? f.log : fork).request(4n, BigInt(5 + (i % 12)))),
    );
    const answers = await Promise.allSettled(bodies.map((b) => f.witness.processAddCheckpoint(b)));
    const cosigned: { size: bigint; root: Uint8Array }[] = [];
    answers.forEach((answer, i) => {
      if (answer.status === 'rejected') {
        assert.ok(isVouchError(answer.reason, 'conflict'), String(answer.reason));
        return;
      }
      const checkpoint = parseCheckpoint(
        parseNote(parseAddCheckpointRequest(bodies[i] as Uint8Array).checkpoint).text,
      );
      cosigned.push({ size: checkpoint.size, root: checkpoint.root });
    });
    assert.ok(cosigned.length >= 1);
    const state = await f.witness.state(f.log.origin);
    assert.ok(state !== undefined);
    cosigned.push({ size: state.checkpoint.size, root: state.checkpoint.root });
    assertPrefixes(cosigned, [f.log, fork]);
  });
}

/**
 * assertPrefixes fails unless, for every pair of cosigned tree heads, the smaller is a prefix of
 * the larger: the larger one belongs to one of `trees`, whose prefix of the smaller size has the
 * smaller one's root.
 */
export function assertPrefixes(
  heads: readonly { size: bigint; root: Uint8Array }[],
  trees: readonly TestingOnlyLog[],
): void {
  const treeOf = (head: { size: bigint; root: Uint8Array }): TestingOnlyLog => {
    const tree = trees.find((t) => sameBytes(t.root(head.size), head.root));
    assert.ok(tree !== undefined, `a cosigned head of size ${head.size} belongs to no tree`);
    return tree;
  };
  for (const a of heads) {
    for (const b of heads) {
      if (a.size > b.size) continue;
      assert.ok(
        sameBytes(treeOf(b).root(a.size), a.root),
        `cosigned heads of sizes ${a.size} and ${b.size} are inconsistent`,
      );
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
