/**
 * Signing and verification throughput of Vouch's Signer and Verifier against calling
 * node:crypto directly with a prepared KeyObject: the wrappers' overhead, per algorithm.
 */

import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { createSigner, createVerifier, generateKey, importPrivateKey } from '../../src/core/crypto/index.ts';
import { type Figure, opsPerSecond, type Suite } from '../lib.ts';

export const signatures: Suite = {
  name: 'signatures',
  async run({ quick }) {
    const seconds = quick ? 0.05 : 1;
    const message = new Uint8Array(256).fill(7);
    const figures: Figure[] = [];
    for (const keyType of ['ed25519', 'ml-dsa-44'] as const) {
      const material = generateKey(keyType);
      const signer = createSigner('bench', importPrivateKey(keyType, material.pkcs8));
      const verifier = createVerifier(keyType, material.publicKey);
      const signature = await signer.sign(message);
      const bare = keyType === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ml-dsa-44');
      const bareSignature = sign(null, message, bare.privateKey);

      const signRate = await opsPerSecond(() => signer.sign(message), { seconds });
      const bareSignRate = await opsPerSecond(() => sign(null, message, bare.privateKey), { seconds });
      const verifyRate = await opsPerSecond(() => verifier.verify(message, signature), { seconds });
      const bareVerifyRate = await opsPerSecond(() => verify(null, message, bare.publicKey, bareSignature), {
        seconds,
      });
      figures.push(
        {
          suite: 'Signatures',
          name: `${keyType} sign (256-byte message)`,
          unit: 'ops/s',
          higherIsBetter: true,
          value: signRate,
          baseline: { name: 'node:crypto sign loop', value: bareSignRate },
        },
        {
          suite: 'Signatures',
          name: `${keyType} verify (256-byte message)`,
          unit: 'ops/s',
          higherIsBetter: true,
          value: verifyRate,
          baseline: { name: 'node:crypto verify loop', value: bareVerifyRate },
        },
      );
    }
    return figures;
  },
};
