import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, formatBase64, toBytes, toText } from '../bytes/index.ts';
import { createSigner, generateKey } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import { formatVerifierKey, parseSignerKey } from './keys.ts';
import {
  addSignatures,
  appendSignatures,
  formatNote,
  formatSignatureLine,
  openNote,
  parseNote,
  parseSignatureLine,
  signNote,
  signText,
  UnverifiedNoteError,
} from './note.ts';
import { createNoteSigner, createNoteVerifier, type NoteSigner, verifierSet } from './verifier.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));
const peter = vectors.signedNote.peterNeumann;
const c2sp = vectors.signedNote.c2spExample;
const tessera = vectors.signedNote.tesseraTestLog;

const textOf = (signed: string): string => signed.slice(0, signed.lastIndexOf('\n\n') + 1);
const signerFromSkey = (skey: string): NoteSigner => {
  const key = parseSignerKey(skey);
  return createNoteSigner(createSigner(key.name, key.material));
};
const freshSigner = (name: string, keyType: 'ed25519' | 'ecdsa-p256' = 'ed25519'): NoteSigner =>
  createNoteSigner(createSigner(name, generateKey(keyType)));
const verifierOf = (signer: NoteSigner) => createNoteVerifier(formatVerifierKey(signer));

test('vectors: signing with the PeterNeumann skey gives the exact golang/mod signature line', async () => {
  const signed = await signNote(textOf(peter.signedNote), [signerFromSkey(peter.skey)]);
  assert.equal(toText(signed), peter.signedNote);
  const opened = openNote(signed, verifierSet([createNoteVerifier(peter.vkey)]));
  assert.equal(opened.text, textOf(peter.signedNote));
  assert.deepEqual(
    opened.verified.map((s) => [s.name, s.keyId.toString(16), s.type]),
    [['PeterNeumann', 'c74f20a3', 1]],
  );
});

test('vectors: the C2SP example note verifies with its vkey', () => {
  const opened = openNote(toBytes(c2sp.signedNote), verifierSet([createNoteVerifier(c2sp.vkey)]));
  assert.equal(opened.text, 'This is an example message.\n');
  assert.equal(opened.verified.length, 1);
});

test('vectors: the tessera empty-tree checkpoint is reproduced and verifies', async () => {
  const signed = await signNote(textOf(tessera.emptyTreeCheckpoint), [signerFromSkey(tessera.skey)]);
  assert.equal(toText(signed), tessera.emptyTreeCheckpoint);
  openNote(signed, verifierSet([createNoteVerifier(tessera.vkey)]));
});

test('vectors: formatNote(parseNote(x)) gives back x byte for byte', () => {
  for (const signed of [
    peter.signedNote,
    c2sp.signedNote,
    tessera.emptyTreeCheckpoint,
    vectors.cosignatureV1.checkpointWithOnlyCosignature,
  ]) {
    assert.equal(toText(formatNote(parseNote(toBytes(signed)))), signed);
  }
});

test('openNote: unknown keys are kept as unverified, never accepted', async () => {
  const log = freshSigner('example.com/log');
  const other = freshSigner('example.com/other');
  const sameName = freshSigner('example.com/log'); // same name, different key ID
  const signed = await signNote('hello\n', [other, log, sameName]);
  const opened = openNote(signed, verifierSet([verifierOf(log)]));
  assert.deepEqual(
    opened.verified.map((s) => s.keyId),
    [log.keyId],
  );
  assert.deepEqual(
    opened.unverified.map((s) => s.keyId),
    [other.keyId, sameName.keyId],
  );
  assert.equal(opened.signatures.length, 3);
  // A line with the trusted key's ID under another name is just as unknown.
  const [first] = parseNote(signed).signatures;
  assert.ok(first);
  const renamed = formatNote({
    text: 'hello\n',
    signatures: [{ ...first, name: 'example.com/x', keyId: log.keyId }],
  });
  assert.throws(() => openNote(renamed, verifierSet([verifierOf(log)])), UnverifiedNoteError);
});

test('openNote: a known key whose signature fails rejects the whole note', async () => {
  const log = freshSigner('example.com/log');
  const witness = freshSigner('example.com/witness', 'ecdsa-p256');
  const signed = toText(await signNote('size 1\n', [log, witness]));
  const tampered = toBytes(signed.replace('size 1\n', 'size 2\n'));
  assert.throws(
    () => openNote(tampered, verifierSet([verifierOf(log)])),
    (e) => isVouchError(e, 'bad-signature'),
  );
  // A bad signature by a trusted key fails even when another trusted key's signature is good.
  const note = parseNote(toBytes(signed));
  const [first, second] = note.signatures;
  assert.ok(first && second);
  const broken = { ...second, signature: second.signature.map((b, i) => (i === 10 ? b ^ 1 : b)) };
  const mixed = formatNote({ text: note.text, signatures: [first, broken] });
  assert.throws(
    () => openNote(mixed, verifierSet([verifierOf(log), verifierOf(witness)])),
    (e) => isVouchError(e, 'bad-signature'),
  );
  // ...and a duplicate line of a trusted key must verify too.
  const duplicated = formatNote({
    text: note.text,
    signatures: [first, { ...first, signature: broken.signature }],
  });
  assert.throws(
    () => openNote(duplicated, verifierSet([verifierOf(log)])),
    (e) => isVouchError(e, 'bad-signature'),
  );
});

test('openNote: no trusted signature throws UnverifiedNoteError carrying the parsed note', async () => {
  const signed = await signNote('text\n', [freshSigner('a')]);
  assert.throws(
    () => openNote(signed, verifierSet([verifierOf(freshSigner('b'))])),
    (e) =>
      e instanceof UnverifiedNoteError &&
      e.code === 'no-trusted-signature' &&
      e.note.text === 'text\n' &&
      e.note.signatures.length === 1,
  );
  assert.throws(() => openNote(signed, verifierSet([])), UnverifiedNoteError);
});

test('openNote: a trusted key signing twice counts once; identical unknown lines are listed once', async () => {
  const log = freshSigner('log');
  const ecdsa = freshSigner('ecdsa', 'ecdsa-p256');
  const unknown = freshSigner('unknown');
  const note = await addSignatures({ text: 'x\n', signatures: [] }, [log, ecdsa, unknown]);
  const [l, e, u] = note.signatures;
  assert.ok(l && e && u);
  const ecdsaAgain = await signText('x\n', ecdsa); // ECDSA signatures are randomized
  const bytes = formatNote({ text: 'x\n', signatures: [l, e, u, l, ecdsaAgain, u] });
  const opened = openNote(bytes, verifierSet([verifierOf(log), verifierOf(ecdsa)]));
  assert.deepEqual(
    opened.verified.map((s) => s.name),
    ['log', 'ecdsa'],
  );
  assert.deepEqual(
    opened.unverified.map((s) => s.name),
    ['unknown'],
  );
  assert.equal(opened.signatures.length, 6);
});

test('parseNote: at most 100 signature lines by default, configurable, at least 16 accepted', async () => {
  const signer = freshSigner('k');
  const one = (await signText('t\n', signer)) as never;
  const withLines = (n: number) => formatNote({ text: 't\n', signatures: Array(n).fill(one) });
  assert.equal(parseNote(withLines(16)).signatures.length, 16);
  assert.equal(parseNote(withLines(100)).signatures.length, 100);
  assert.throws(
    () => parseNote(withLines(101)),
    (e) => isVouchError(e, 'too-large'),
  );
  assert.throws(
    () => openNote(withLines(101), verifierSet([verifierOf(signer)])),
    (e) => isVouchError(e, 'too-large'),
  );
  assert.throws(
    () => parseNote(withLines(17), { maxSignatures: 16 }),
    (e) => isVouchError(e, 'too-large'),
  );
  assert.throws(
    () => parseNote(withLines(1), { maxBytes: 50 }),
    (e) => isVouchError(e, 'too-large'),
  );
});

test('the last blank line separates text from signatures, so texts may contain blank lines', async () => {
  const signer = freshSigner('k');
  for (const text of ['a\n\nb\n', 'a\n\n', '\n', '\n\n\n', 'ünïcödé — 😀\n']) {
    const signed = await signNote(text, [signer]);
    const opened = openNote(signed, verifierSet([verifierOf(signer)]));
    assert.equal(opened.text, text);
    assert.deepEqual(formatNote(parseNote(signed)), signed);
  }
});

const sig = formatSignatureLine({ name: 'k', keyId: 0x01020304, signature: new Uint8Array(64).fill(7) });
const enc = (s: string) => toBytes(s);

test('parseNote refuses malformed notes with a named error', () => {
  const rows: { name: string; note: Uint8Array; code: string }[] = [
    { name: 'empty', note: enc(''), code: 'malformed' },
    { name: 'no blank line', note: enc(`text\n${sig}\n`), code: 'malformed' },
    { name: 'no signature lines', note: enc('text\n\n'), code: 'malformed' },
    { name: 'signature without final newline', note: enc(`text\n\n${sig}`), code: 'malformed' },
    { name: 'blank line after the signatures', note: enc(`text\n\n${sig}\n\n`), code: 'malformed' },
    {
      name: 'ascii hyphen instead of em dash',
      note: enc(`text\n\n${sig.replace('\u2014', '-')}\n`),
      code: 'malformed',
    },
    {
      name: 'en dash instead of em dash',
      note: enc(`text\n\n${sig.replace('\u2014', '\u2013')}\n`),
      code: 'malformed',
    },
    {
      name: 'no space after dash',
      note: enc(`text\n\n${sig.replace('\u2014 ', '\u2014')}\n`),
      code: 'malformed',
    },
    {
      name: 'two spaces before signature',
      note: enc(`text\n\n${sig.replace('k ', 'k  ')}\n`),
      code: 'malformed',
    },
    { name: 'trailing space', note: enc(`text\n\n${sig} \n`), code: 'malformed' },
    { name: 'no signature after name', note: enc('text\n\n\u2014 k\n'), code: 'malformed' },
    {
      name: 'empty key name',
      note: enc(`text\n\n${sig.replace('\u2014 k ', '\u2014  ')}\n`),
      code: 'malformed',
    },
    {
      name: 'plus in key name',
      note: enc(`text\n\n${sig.replace('\u2014 k ', '\u2014 k+1 ')}\n`),
      code: 'malformed',
    },
    {
      name: 'no-break space in key name',
      note: enc(`text\n\n${sig.replace('\u2014 k ', '\u2014 k\u00a0x ')}\n`),
      code: 'malformed',
    },
    { name: 'non-canonical base64', note: enc(`text\n\n${sig.replace(/=$/, '')}\n`), code: 'malformed' },
    {
      name: 'key id only',
      note: enc(`text\n\n\u2014 k ${formatBase64(new Uint8Array(4))}\n`),
      code: 'malformed',
    },
    { name: 'tab in text', note: enc(`te\txt\n\n${sig}\n`), code: 'malformed' },
    { name: 'carriage return line ends', note: enc(`text\r\n\r\n${sig}\r\n`), code: 'malformed' },
    { name: 'NUL in text', note: enc(`te\u0000xt\n\n${sig}\n`), code: 'malformed' },
    { name: 'invalid UTF-8', note: concatBytes(Uint8Array.of(0xff), enc(`\n\n${sig}\n`)), code: 'malformed' },
    {
      name: 'overlong UTF-8',
      note: concatBytes(Uint8Array.of(0xc0, 0xaf), enc(`\n\n${sig}\n`)),
      code: 'malformed',
    },
    { name: 'over the size limit', note: enc(`${'a'.repeat(1 << 20)}\n\n${sig}\n`), code: 'too-large' },
  ];
  for (const row of rows) {
    assert.throws(
      () => parseNote(row.note),
      (e) => isVouchError(e, row.code as 'malformed'),
      row.name,
    );
  }
  assert.throws(
    () => parseSignatureLine(`\u2014 k ${'A'.repeat(20_000)}`),
    (e) => isVouchError(e, 'too-large'),
  );
  // A blank line between signature-like lines makes the earlier ones part of the text.
  const earlier = parseNote(enc(`text\n\n${sig}\n\n${sig}\n`));
  assert.equal(earlier.text, `text\n\n${sig}\n`);
  assert.equal(earlier.signatures.length, 1);
});

test('signing refuses texts that cannot be a note, and signers that cannot sign notes', async () => {
  const signer = freshSigner('k');
  const rows: { name: string; text: string }[] = [
    { name: 'empty', text: '' },
    { name: 'no final newline', text: 'text' },
    { name: 'control character', text: 'a\u0007b\n' },
    { name: 'carriage return', text: 'a\r\n' },
    { name: 'lone surrogate', text: 'a\ud800\n' },
  ];
  for (const row of rows) {
    await assert.rejects(signNote(row.text, [signer]), (e) => isVouchError(e, 'invalid-argument'), row.name);
  }
  await assert.rejects(signNote('text\n', []), (e) => isVouchError(e, 'invalid-argument'));
  assert.throws(
    () => createNoteSigner(createSigner('k', generateKey('ml-dsa-44'))),
    (e) => isVouchError(e, 'bad-key'),
  );
  assert.throws(
    () => createNoteSigner(createSigner('a b', generateKey('ed25519'))),
    (e) => isVouchError(e, 'invalid-argument'),
  );
  assert.throws(
    () => formatNote({ text: 'text\n', signatures: [] }),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

test('verifiers: cosignature keys are refused as note keys; ambiguous sets are refused', () => {
  assert.throws(
    () => createNoteVerifier(vectors.cosignatureV1.vkeyType04),
    (e) => isVouchError(e, 'bad-key'),
  );
  const a = freshSigner('k');
  const collision = { ...verifierOf(freshSigner('k')), keyId: a.keyId };
  assert.throws(
    () => verifierSet([verifierOf(a), collision]),
    (e) => isVouchError(e, 'invalid-argument'),
  );
  const v = verifierOf(a);
  assert.equal(verifierSet([v, verifierOf(a)]).verifier('k', a.keyId)?.keyId, a.keyId);
});

test('addSignatures appends in order and appendSignatures replaces the same key', async () => {
  const log = freshSigner('log');
  const w1 = freshSigner('w1');
  const w2 = freshSigner('w2', 'ecdsa-p256');
  const note = parseNote(await signNote('checkpoint\n', [log]));
  const cosigned = await addSignatures(note, [w1, w2]);
  assert.deepEqual(
    cosigned.signatures.map((s) => s.name),
    ['log', 'w1', 'w2'],
  );
  const again = await signText('checkpoint\n', w2);
  const replaced = appendSignatures(cosigned, [again]);
  assert.deepEqual(
    replaced.signatures.map((s) => s.name),
    ['log', 'w1', 'w2'],
  );
  assert.deepEqual(replaced.signatures[2]?.signature, again.signature);
  const opened = openNote(
    formatNote(replaced),
    verifierSet([verifierOf(log), verifierOf(w1), verifierOf(w2)]),
  );
  assert.equal(opened.verified.length, 3);
});

const noteEdits = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('insert', 'delete', 'replace'),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  { minLength: 1, maxLength: 4 },
);

function mutateBytes(
  base: Uint8Array,
  list: readonly { at: number; kind: string; byte: number }[],
): Uint8Array {
  let bytes = base;
  for (const { at, kind, byte } of list) {
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    const b = [0x0a, 0x20, 0x2b, 0x3d, 0xe2, 0x80, 0x94][byte % 8] ?? byte;
    if (kind === 'insert') bytes = concatBytes(bytes.subarray(0, i), Uint8Array.of(b), bytes.subarray(i));
    else if (kind === 'delete') bytes = concatBytes(bytes.subarray(0, i), bytes.subarray(i + 1));
    else bytes = concatBytes(bytes.subarray(0, i), Uint8Array.of(b), bytes.subarray(i + 1));
  }
  return bytes;
}

test('fuzz: parseNote and openNote return a value or a VouchError; accepted notes re-format exactly', {
  timeout: 20_000,
}, () => {
  const bases = [peter.signedNote, c2sp.signedNote, tessera.emptyTreeCheckpoint].map(toBytes);
  const verifiers = verifierSet([createNoteVerifier(peter.vkey), createNoteVerifier(c2sp.vkey)]);
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.string({ maxLength: 100 }).map((s) => toBytes(`${s}\n\n${sig}\n`)),
    fc.tuple(fc.constantFrom(...bases), noteEdits).map(([base, list]) => mutateBytes(base, list)),
  );
  fc.assert(
    fc.property(inputs, (input) => {
      try {
        assert.deepEqual(formatNote(parseNote(input)), input);
      } catch (error) {
        if (!(error instanceof VouchError)) throw error;
      }
      try {
        openNote(input, verifiers);
      } catch (error) {
        if (!(error instanceof VouchError)) throw error;
      }
    }),
    { seed: 0x5eed, numRuns: 3000 },
  );
});

test('property: any valid text signed by any set of keys opens and round-trips', {
  timeout: 20_000,
}, async () => {
  const signers = [freshSigner('a'), freshSigner('example.com/b'), freshSigner('c', 'ecdsa-p256')];
  const verifiers = verifierSet(signers.map(verifierOf));
  const line = fc
    .string({ maxLength: 30, unit: 'grapheme' })
    .map((s) => [...s].filter((c) => c.charCodeAt(0) >= 0x20).join(''));
  const text = fc.array(line, { minLength: 1, maxLength: 5 }).map((lines) => `${lines.join('\n')}\n`);
  await fc.assert(
    fc.asyncProperty(text, fc.subarray(signers, { minLength: 1 }), async (t, chosen) => {
      const signed = await signNote(t, chosen);
      const opened = openNote(signed, verifiers);
      assert.equal(opened.text, t);
      assert.equal(opened.verified.length, chosen.length);
      assert.deepEqual(formatNote(parseNote(signed)), signed);
    }),
    { seed: 11, numRuns: 200 },
  );
});
