import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatBase64, toBytes, toText } from '../bytes/index.ts';
import { createSigner, generateKey } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import { leafHash, merkleTreeHash, proveInclusion } from '../merkle/index.ts';
import {
  createNoteSigner,
  createNoteVerifier,
  formatVerifierKey,
  signNote,
  verifierSet,
} from '../note/index.ts';
import { formatCheckpoint } from './checkpoint.ts';
import { createCheckpointVerifier, createCosigner } from './cosignature.ts';
import { checkTlogProof, formatTlogProof, parseTlogProof, type TlogProof } from './proof.ts';

const origin = 'example.com/log';
const logSigner = createNoteSigner(createSigner(origin, generateKey('ed25519')));
const verifiers = verifierSet([createNoteVerifier(formatVerifierKey(logSigner))]);
const entries = Array.from({ length: 13 }, (_, i) => toBytes(`entry ${i}`));
const leaves = entries.map(leafHash);
const checkpoint = await signNote(
  formatCheckpoint({ origin, size: 13n, root: merkleTreeHash(leaves), extensions: [] }),
  [logSigner],
);

function proofFor(index: number, extra?: Uint8Array): TlogProof {
  return {
    ...(extra === undefined ? {} : { extra }),
    index: BigInt(index),
    proof: proveInclusion(leaves, BigInt(index)),
    checkpoint,
  };
}

test('tlog-proof: every index round-trips byte for byte and checks', () => {
  for (let i = 0; i < entries.length; i++) {
    const bytes = formatTlogProof(proofFor(i, i % 2 === 0 ? toBytes(`extra ${i}`) : undefined));
    const parsed = parseTlogProof(bytes);
    assert.deepEqual(formatTlogProof(parsed), bytes);
    const checked = checkTlogProof(parsed, leaves[i] as Uint8Array, origin, verifiers);
    assert.equal(checked.checkpoint.size, 13n);
    assert.equal(checked.note.verified.length, 1);
  }
});

test('tlog-proof: the text layout is the spec one', () => {
  const text = toText(formatTlogProof(proofFor(3, toBytes('x'))));
  const lines = text.split('\n');
  assert.equal(lines[0], 'c2sp.org/tlog-proof@v1');
  assert.equal(lines[1], `extra ${formatBase64(toBytes('x'))}`);
  assert.equal(lines[2], 'index 3');
  assert.ok(text.includes(`\n\n${toText(checkpoint)}`));
});

test('tlog-proof: a proof for another entry, index, log or key fails closed', () => {
  const good = proofFor(5);
  const wrong: [string, () => unknown, string][] = [
    ['other leaf', () => checkTlogProof(good, leaves[6] as Uint8Array, origin, verifiers), 'bad-proof'],
    [
      'other index',
      () => checkTlogProof({ ...good, index: 6n }, leaves[5] as Uint8Array, origin, verifiers),
      'bad-proof',
    ],
    [
      'other origin',
      () => checkTlogProof(good, leaves[5] as Uint8Array, 'example.com/other', verifiers),
      'policy-unmet',
    ],
    [
      'untrusted key',
      () =>
        checkTlogProof(
          good,
          leaves[5] as Uint8Array,
          origin,
          verifierSet([
            createNoteVerifier(
              formatVerifierKey(createNoteSigner(createSigner(origin, generateKey('ed25519')))),
            ),
          ]),
        ),
      'no-trusted-signature',
    ],
  ];
  for (const [name, run, code] of wrong)
    assert.throws(run, (e) => isVouchError(e, code as VouchError['code']), name);
});

test('tlog-proof: malformed proofs are refused with typed errors', () => {
  const good = toText(formatTlogProof(proofFor(2)));
  const rows: [string, string][] = [
    ['wrong header', good.replace('tlog-proof@v1', 'tlog-proof@v2')],
    ['no index', good.replace('index 2\n', '')],
    ['leading zero', good.replace('index 2', 'index 02')],
    ['short hash', good.replace(/\n[A-Za-z0-9+/]{43}=\n/, '\nAAAA\n')],
    ['no blank line', good.replace('\n\n', '\n')],
    ['bad checkpoint', good.replace(/\n\n[^\n]+\n13\n/, '\n\nexample.com/log\nthirteen\n')],
    ['empty', ''],
  ];
  for (const [name, text] of rows) {
    assert.throws(
      () => parseTlogProof(toBytes(text)),
      (e) => e instanceof VouchError,
      name,
    );
  }
});

test('tlog-proof: random and mutated input gives a value or a VouchError', () => {
  const good = formatTlogProof(proofFor(7, toBytes('e')));
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      (random, at, byte) => {
        for (const input of [random, Uint8Array.from(good, (b, i) => (i === at % good.length ? byte : b))]) {
          try {
            parseTlogProof(input);
          } catch (error) {
            assert.ok(error instanceof VouchError, String(error));
          }
        }
      },
    ),
    { seed: 0x7106, numRuns: 2000 },
  );
});

test('tlog-proof: a checkpoint only a trusted witness signed does not prove what the log committed to', async () => {
  const witness = createCosigner(createSigner('witness.example', generateKey('ed25519')), {
    timestamp: 1_700_000_000n,
  });
  const text = formatCheckpoint({ origin, size: 13n, root: merkleTreeHash(leaves), extensions: [] });
  const onlyWitness = await signNote(text, [witness]);
  const trusted = verifierSet([
    createNoteVerifier(formatVerifierKey(logSigner)),
    createCheckpointVerifier(formatVerifierKey(witness)),
  ]);
  const proof = { index: 2n, proof: proveInclusion(leaves, 2n), checkpoint: onlyWitness };
  assert.throws(
    () => checkTlogProof(proof, leaves[2] as Uint8Array, origin, trusted),
    (e) => isVouchError(e, 'no-trusted-signature'),
  );
  const both = await signNote(text, [logSigner, witness]);
  const checked = checkTlogProof({ ...proof, checkpoint: both }, leaves[2] as Uint8Array, origin, trusted);
  assert.equal(checked.note.verified.length, 2);
});
