/**
 * Test support for the fault tests that put a release log, its witnesses and their clients
 * together (test/fault/witness-crash, lying-witness, clock-skew, full-disk): unencrypted key
 * files made in process, a witness folder configured for one log, a C2SP tlog-policy text, a
 * free loopback port (so that a witness killed with SIGKILL comes back at the URL the log's
 * policy names), and a forged checkpoint — another tree of a given size signed with the log's
 * own key, what a coerced operator could produce. Nothing here is used outside tests.
 */

import { createServer } from 'node:net';
import { join } from 'node:path';
import { createSigner, generateKey, type Signer } from '../../src/core/crypto/index.ts';
import { sealKeyFile } from '../../src/core/crypto/keyfile.ts';
import { createNoteSigner, formatVerifierKey, type NoteSigner, signNote } from '../../src/core/note/index.ts';
import { formatCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { createCosigner } from '../../src/core/tlog/cosignature.ts';
import { addWitnessedLog, initWitnessFolder } from '../../src/services/witness/folder.ts';
import { writeKeyFile } from '../../src/storage/fs/key-file.ts';

/** KeyedParty is a key written to an unencrypted key file, with the verifier keys others configure. */
export interface KeyedParty {
  readonly name: string;
  readonly path: string;
  readonly signer: Signer;
  /** noteSigner signs notes and checkpoints (type 0x01). */
  readonly noteSigner: NoteSigner;
  /** vkey is the signed-note verifier key (type 0x01): a log's key. */
  readonly vkey: string;
  /** cosignerVkey is the cosignature/v1 verifier key (type 0x04): a witness's key. */
  readonly cosignerVkey: string;
}

/** makeParty generates an Ed25519 key named `name` and writes it unencrypted to DIR/FILE. */
export async function makeParty(dir: string, file: string, name: string): Promise<KeyedParty> {
  const material = generateKey('ed25519');
  const path = join(dir, file);
  await writeKeyFile(path, await sealKeyFile(material, name, undefined));
  const signer = createSigner(name, material);
  const noteSigner = createNoteSigner(signer);
  return {
    name,
    path,
    signer,
    noteSigner,
    vkey: formatVerifierKey(noteSigner),
    cosignerVkey: formatVerifierKey(createCosigner(signer, { name, timestamp: 1n })),
  };
}

/** makeWitnessFolder creates a witness folder with `witness`'s key that witnesses the log `log`. */
export async function makeWitnessFolder(dir: string, witness: KeyedParty, log: KeyedParty): Promise<void> {
  await initWitnessFolder(dir, { name: witness.name, key: witness.path, vkey: witness.cosignerVkey });
  await addWitnessedLog(dir, { origin: log.name, vkeys: [log.vkey] });
}

/** PolicyWitness is one witness line of a policy: its policy name, key and submission URL. */
export interface PolicyWitnessLine {
  readonly name: string;
  readonly party: KeyedParty;
  readonly url: string;
}

/** policyText is a C2SP tlog-policy: the log and every witness, all of which must cosign (`k` of n). */
export function policyText(log: KeyedParty, witnesses: readonly PolicyWitnessLine[], k?: number): string {
  return [
    `log ${log.vkey}`,
    ...witnesses.map((w) => `witness ${w.name} ${w.party.cosignerVkey} ${w.url}`),
    `group quorum ${k ?? 'all'} ${witnesses.map((w) => w.name).join(' ')}`,
    'quorum quorum',
    '',
  ].join('\n');
}

/** freePort returns a loopback TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** forgedCheckpoint signs, with the log's own key, a checkpoint of `size` whose root is `root`. */
export function forgedCheckpoint(log: KeyedParty, size: bigint, root: Uint8Array): Promise<Uint8Array> {
  return signNote(formatCheckpoint({ origin: log.name, size, root, extensions: [] }), [log.noteSigner]);
}
