/**
 * Test support: a release log with a witness quorum, entirely in process. Entries are kept in
 * memory; each append signs a checkpoint with the log's Ed25519 key and submits it, with a real
 * RFC 6962 consistency proof, to real witnesses (services/witness, state in memory cells), whose
 * cosignatures are added to the note. `proof` returns the C2SP tlog-proof of an entry under the
 * latest cosigned checkpoint — what the repository publishes under `log/` and the agent checks —
 * and can leave cosignatures out (a checkpoint without the quorum: the split-view case).
 * `policy` is the C2SP tlog-policy text the agent is configured with: the log, the witnesses and
 * a k-of-n group. Nothing here is used outside tests.
 */

import { toBytes } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey, type Signer } from '../../src/core/crypto/index.ts';
import { leafHash, merkleTreeHash, proveConsistency, proveInclusion } from '../../src/core/merkle/index.ts';
import {
  createNoteSigner,
  formatNote,
  formatVerifierKey,
  type NoteSignature,
  parseNote,
  signNote,
  verifierSet,
} from '../../src/core/note/index.ts';
import { formatCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { createCheckpointVerifier } from '../../src/core/tlog/cosignature.ts';
import { formatTlogProof } from '../../src/core/tlog/proof.ts';
import { formatAddCheckpointRequest } from '../../src/core/tlog/witness-request.ts';
import { Witness } from '../../src/services/witness/witness.ts';
import { MemoryCasStore } from '../../src/storage/memory/memory.ts';

/** WitnessedMemoryLog is a running in-process witnessed log; see the module comment. */
export interface WitnessedMemoryLog {
  readonly origin: string;
  /** vkey is the log's verifier key (type 0x01, named like the origin). */
  readonly vkey: string;
  /** witnesses are the policy names of the witnesses, in policy order. */
  readonly witnesses: readonly string[];
  /** policy is the C2SP tlog-policy text: the log, every witness, `group quorum K ...`, `quorum quorum`. */
  readonly policy: Uint8Array;
  readonly size: bigint;
  /** append logs entries as one batch, gets the new checkpoint cosigned and returns their indexes. */
  append(...entries: Uint8Array[]): Promise<bigint[]>;
  /** indexOf returns the index of an entry with these exact bytes, or undefined. */
  indexOf(entry: Uint8Array): bigint | undefined;
  /**
   * proof returns the tlog-proof of entry `index` under the latest checkpoint; `cosigners`, when
   * given, keeps only the cosignatures of those witnesses (by policy name).
   */
  proof(index: bigint, cosigners?: readonly string[]): Uint8Array;
  /** proofOf is {@link proof} for the entry with these bytes; it throws when it was never logged. */
  proofOf(entry: Uint8Array, cosigners?: readonly string[]): Uint8Array;
}

/** WitnessedLogOptions picks the origin, the number of witnesses and the quorum k (default 2 of 3). */
export interface WitnessedLogOptions {
  readonly origin?: string;
  readonly witnesses?: number;
  readonly k?: number;
  /** signer replaces the log's fresh key (a second log with the same key shows a split view). */
  readonly signer?: Signer;
}

/** startWitnessedMemoryLog creates an empty witnessed log; see {@link WitnessedMemoryLog}. */
export function startWitnessedMemoryLog(options: WitnessedLogOptions = {}): WitnessedMemoryLog {
  const origin = options.origin ?? 'release-log.vouch.example';
  const count = options.witnesses ?? 3;
  const k = options.k ?? 2;
  const logSigner = createNoteSigner(options.signer ?? createSigner(origin, generateKey('ed25519')), origin);
  const vkey = formatVerifierKey(logSigner);
  const logVerifiers = verifierSet([createCheckpointVerifier(vkey)]);
  const store = new MemoryCasStore();
  let clock = 1_700_000_000n;
  const witnesses = Array.from({ length: count }, (_, i) => {
    const name = `witness${i + 1}.supervisor.example`;
    return {
      policyName: `w${i + 1}`,
      name,
      witness: new Witness({
        name,
        keys: [createSigner(name, generateKey('ed25519'))],
        logs: (o) => (o === origin ? logVerifiers : undefined),
        store,
        now: () => {
          clock += 1n;
          return clock;
        },
      }),
      cosigned: 0n,
    };
  });
  const policy = toBytes(
    [
      `log ${vkey}`,
      ...witnesses.map((w) => `witness ${w.policyName} ${w.witness.vkeys[0]}`),
      `group quorum ${k} ${witnesses.map((w) => w.policyName).join(' ')}`,
      'quorum quorum',
      '',
    ].join('\n'),
  );
  const leaves: Uint8Array[] = [];
  const byEntry = new Map<string, bigint>();
  let note: { text: string; log: NoteSignature[]; cosignatures: Map<string, NoteSignature[]> } | undefined;

  const proof = (index: bigint, cosigners?: readonly string[]): Uint8Array => {
    if (note === undefined) throw new Error('the log is empty');
    const size = BigInt(leaves.length);
    const signatures = [...note.log];
    for (const w of witnesses) {
      if (cosigners !== undefined && !cosigners.includes(w.policyName)) continue;
      signatures.push(...(note.cosignatures.get(w.policyName) ?? []));
    }
    return formatTlogProof({
      index,
      proof: proveInclusion(leaves, index, size),
      checkpoint: formatNote({ text: note.text, signatures }),
    });
  };

  return {
    origin,
    vkey,
    witnesses: witnesses.map((w) => w.policyName),
    policy,
    get size() {
      return BigInt(leaves.length);
    },
    async append(...entries) {
      const indexes: bigint[] = [];
      for (const entry of entries) {
        const index = BigInt(leaves.length);
        leaves.push(leafHash(entry));
        byEntry.set(Buffer.from(entry).toString('base64'), index);
        indexes.push(index);
      }
      const size = BigInt(leaves.length);
      const text = formatCheckpoint({ origin, size, root: merkleTreeHash(leaves, size), extensions: [] });
      const signed = await signNote(text, [logSigner]);
      const cosignatures = new Map<string, NoteSignature[]>();
      for (const w of witnesses) {
        const old = w.cosigned;
        const request = formatAddCheckpointRequest({
          old,
          proof: old === 0n || old === size ? [] : proveConsistency(leaves, old, size),
          checkpoint: signed,
        });
        const lines = await w.witness.processAddCheckpoint(request);
        w.cosigned = size;
        cosignatures.set(
          w.policyName,
          lines.map((c) => ({ name: c.name, keyId: c.keyId, signature: c.signature })),
        );
      }
      note = { text, log: [...parseNote(signed).signatures], cosignatures };
      return indexes;
    },
    indexOf(entry) {
      return byEntry.get(Buffer.from(entry).toString('base64'));
    },
    proof,
    proofOf(entry, cosigners) {
      const index = byEntry.get(Buffer.from(entry).toString('base64'));
      if (index === undefined) throw new Error('this entry was never logged');
      return proof(index, cosigners);
    },
  };
}
