/**
 * Test support for the witness: a log under test — an origin, a real Ed25519 log key, and a tree
 * of entries held in memory — that signs checkpoints of any size of its tree and builds
 * `add-checkpoint` requests with real RFC 6962 consistency proofs. Two fixtures made with
 * {@link testingOnlyForkOf} share the origin and key but diverge after a prefix: a log showing two
 * different trees, the split view a witness exists to refuse. Nothing here is used outside tests.
 */

import { toBytes } from '../../core/bytes/index.ts';
import { createSigner, generateKey, type Signer } from '../../core/crypto/index.ts';
import { leafHash, merkleTreeHash, proveConsistency } from '../../core/merkle/index.ts';
import {
  createNoteSigner,
  formatVerifierKey,
  type NoteSigner,
  signNote,
  type Verifiers,
  verifierSet,
} from '../../core/note/index.ts';
import { formatCheckpoint } from '../../core/tlog/checkpoint.ts';
import { createCheckpointVerifier } from '../../core/tlog/cosignature.ts';
import { formatAddCheckpointRequest } from '../../core/tlog/witness-request.ts';

/** TestingOnlyLog is a log under test; see the module comment. */
export interface TestingOnlyLog {
  readonly origin: string;
  readonly signer: NoteSigner;
  /** vkey is the log's verifier key (type 0x01). */
  readonly vkey: string;
  readonly verifiers: Verifiers;
  /** leaves are the leaf hashes of the whole tree; checkpoints cover a prefix. */
  readonly leaves: readonly Uint8Array[];
  /** root returns the root of the first `size` leaves. */
  root(size: bigint): Uint8Array;
  /** checkpoint returns the signed checkpoint note of the first `size` leaves. */
  checkpoint(size: bigint): Promise<Uint8Array>;
  /** proof returns the consistency proof from `old` to `size` leaves (empty when old is 0 or equal). */
  proof(old: bigint, size: bigint): Uint8Array[];
  /** request builds an add-checkpoint body: `old`, the real proof (or `proof`), the signed checkpoint. */
  request(old: bigint, size: bigint, proof?: readonly Uint8Array[]): Promise<Uint8Array>;
}

/** testingOnlyLog makes a log whose tree has `count` entries named after `label`. */
export function testingOnlyLog(
  origin = 'log.example/test',
  count = 32,
  label = 'entry',
  key: Signer = createSigner(origin, generateKey('ed25519')),
): TestingOnlyLog {
  const leaves = Array.from({ length: count }, (_, i) => leafHash(toBytes(`${label} ${i}`)));
  return makeLog(origin, key, leaves);
}

/**
 * testingOnlyForkOf returns a log with the same origin and key as `log` whose tree equals the
 * first `shared` entries of `log` and differs after them.
 */
export function testingOnlyForkOf(log: TestingOnlyLog, key: Signer, shared: number): TestingOnlyLog {
  const leaves = log.leaves.map((leaf, i) => (i < shared ? leaf : leafHash(toBytes(`fork entry ${i}`))));
  return makeLog(log.origin, key, leaves);
}

function makeLog(origin: string, key: Signer, leaves: readonly Uint8Array[]): TestingOnlyLog {
  const signer = createNoteSigner(key, origin);
  const vkey = formatVerifierKey(signer);
  const log: TestingOnlyLog = {
    origin,
    signer,
    vkey,
    verifiers: verifierSet([createCheckpointVerifier(vkey)]),
    leaves,
    root: (size) => merkleTreeHash(leaves, size),
    checkpoint: (size) =>
      signNote(formatCheckpoint({ origin, size, root: merkleTreeHash(leaves, size), extensions: [] }), [
        signer,
      ]),
    proof: (old, size) => (old === 0n || old === size ? [] : proveConsistency(leaves, old, size)),
    request: async (old, size, proof) =>
      formatAddCheckpointRequest({
        old,
        proof: proof ?? log.proof(old, size),
        checkpoint: await log.checkpoint(size),
      }),
  };
  return log;
}
