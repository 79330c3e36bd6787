/**
 * Merkle hashing: RFC 6962 leaf hashes and the root of 1,000,000 leaves, each against a bare
 * node:crypto loop doing the same SHA-256 work (the floor any implementation on this runtime
 * pays), so the ratio shows what Vouch's hashing adds.
 */

import { createHash } from 'node:crypto';
import { leafHash, rootFromLeafHashes } from '../../src/core/merkle/index.ts';
import { durationMs, type Figure, opsPerSecond, type Suite } from '../lib.ts';

export const merkle: Suite = {
  name: 'merkle',
  async run({ quick }) {
    const entry = new Uint8Array(64).fill(0x2a);
    const prefix = new Uint8Array([0]);
    const seconds = quick ? 0.05 : 1;
    const leafRate = await opsPerSecond(() => leafHash(entry), { seconds, opsPerCall: 1 });
    const bareLeafRate = await opsPerSecond(
      () => createHash('sha256').update(prefix).update(entry).digest(),
      {
        seconds,
      },
    );

    const n = quick ? 10_000 : 1_000_000;
    const leaves = Array.from({ length: n }, (_, i) => {
      const hash = new Uint8Array(32);
      new DataView(hash.buffer).setUint32(0, i);
      return hash;
    });
    const rootMs = await durationMs(() => rootFromLeafHashes(leaves), quick ? 1 : 3);
    // The same n - 1 interior hashes of 65 bytes each, with nothing else around them.
    const node = new Uint8Array(65);
    node[0] = 1;
    const bareMs = await durationMs(
      () => {
        for (let i = 1; i < n; i++) createHash('sha256').update(node).digest();
      },
      quick ? 1 : 3,
    );

    const figures: Figure[] = [
      {
        suite: 'Merkle hashing',
        name: 'leaf hash of a 64-byte entry',
        unit: 'ops/s',
        higherIsBetter: true,
        value: leafRate,
        baseline: { name: 'node:crypto SHA-256 of 0x00 ‖ entry', value: bareLeafRate },
      },
      {
        suite: 'Merkle hashing',
        name: `root of ${n.toLocaleString('en-US')} leaf hashes`,
        unit: 'ms',
        higherIsBetter: false,
        value: rootMs,
        baseline: { name: `${(n - 1).toLocaleString('en-US')} bare node hashes`, value: bareMs },
      },
    ];
    return figures;
  },
};
