/**
 * Test support for the Sigstore export (src/core/attest/sigstore.ts): an in-toto statement signed
 * as DSSE, its Rekor `dsse` body logged in an in-memory RFC 6962 tree among other entries, and
 * the entry's C2SP tlog-proof under a checkpoint signed by a fresh Ed25519 log key — everything a
 * bundle is built from, without a server. Interop tests use a real log instead (memory-log.ts).
 */

import { type Envelope, signEnvelope } from '../../src/core/attest/dsse.ts';
import { rekorDsseBody } from '../../src/core/attest/sigstore.ts';
import { formatHex, toBytes } from '../../src/core/bytes/index.ts';
import {
  createSigner,
  createVerifier,
  generateKey,
  type KeyType,
  type Signer,
  sha256,
  type Verifier,
} from '../../src/core/crypto/index.ts';
import { formatJson } from '../../src/core/json/index.ts';
import { leafHash, merkleTreeHash, proveInclusion } from '../../src/core/merkle/index.ts';
import { createNoteSigner, formatVerifierKey, type NoteSigner, signNote } from '../../src/core/note/index.ts';
import { formatCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { formatTlogProof } from '../../src/core/tlog/proof.ts';

/** inTotoType is the DSSE payload type of an in-toto statement. */
export const inTotoType = 'application/vnd.in-toto+json';

/** statementFor returns a small in-toto Statement v1 (SLSA provenance) about `name` with content `content`. */
export function statementFor(name: string, content: string): Uint8Array {
  return formatJson({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name, digest: { sha256: formatHex(sha256(toBytes(content))) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: { buildType: 'https://vouch.example/build/v1', externalParameters: { name } },
      runDetails: { builder: { id: 'https://site.vouch.example/conveyer' } },
    },
  });
}

/** SignedRelease is a statement signed with one key, and its Rekor dsse body. */
export interface SignedRelease {
  readonly signer: Signer;
  readonly verifier: Verifier;
  readonly envelope: Envelope;
  readonly body: Uint8Array;
}

/** signRelease signs `statement` with a fresh key of `keyType` (keyid: the key's hex SPKI hash). */
export async function signRelease(
  statement: Uint8Array,
  keyType: KeyType = 'ed25519',
): Promise<SignedRelease> {
  const signer = createSigner('release-key', generateKey(keyType));
  const verifier = createVerifier(keyType, signer.publicKey);
  const envelope = await signEnvelope(inTotoType, statement, [signer]);
  return { signer, verifier, envelope, body: rekorDsseBody(envelope, verifier) };
}

/** LogKey is a fresh Ed25519 log key for `origin`. */
export interface LogKey {
  readonly origin: string;
  readonly signer: NoteSigner;
  readonly vkey: string;
}

/** logKeyFor makes a fresh Ed25519 log key named `origin`. */
export function logKeyFor(origin = 'release-log.vouch.example'): LogKey {
  const signer = createNoteSigner(createSigner(origin, generateKey('ed25519')), origin);
  return { origin, signer, vkey: formatVerifierKey(signer) };
}

/**
 * proveInTree logs `entries` in that order in an in-memory tree and returns the tlog-proof of
 * entry `index` under a checkpoint of the whole tree signed by `log`.
 */
export async function proveInTree(
  entries: readonly Uint8Array[],
  index: number,
  log: LogKey,
): Promise<Uint8Array> {
  const hashes = entries.map((entry) => leafHash(entry));
  const size = BigInt(entries.length);
  const text = formatCheckpoint({ origin: log.origin, size, root: merkleTreeHash(hashes), extensions: [] });
  const checkpoint = await signNote(text, [log.signer]);
  return formatTlogProof({ index: BigInt(index), proof: proveInclusion(hashes, BigInt(index)), checkpoint });
}

/** LoggedRelease is a signed release whose body is entry `index` of a 5-entry in-memory log. */
export interface LoggedRelease extends SignedRelease {
  readonly log: LogKey;
  readonly index: number;
  readonly proof: Uint8Array;
  /** entries are every entry of the log, the body among them. */
  readonly entries: readonly Uint8Array[];
}

/** loggedRelease signs a statement and logs its body at index 2 of five entries. */
export async function loggedRelease(
  keyType: KeyType = 'ed25519',
  log: LogKey = logKeyFor(),
): Promise<LoggedRelease> {
  const release = await signRelease(statementFor('vouch-agent-1.2.3.tar', 'release bytes'), keyType);
  const entries = [
    toBytes('entry-0'),
    toBytes('entry-1'),
    release.body,
    toBytes('entry-3'),
    toBytes('entry-4'),
  ];
  return { ...release, log, index: 2, entries, proof: await proveInTree(entries, 2, log) };
}
