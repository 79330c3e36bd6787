import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, formatHex, formatUint64, toBytes, toText } from '../bytes/index.ts';
import { createSigner, generateKey, type Signer, sha256 } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import {
  createNoteSigner,
  createNoteVerifier,
  formatKeyId,
  formatNote,
  formatSignatureLine,
  formatVerifierKey,
  openNote,
  parseSignatureLine,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  toCosignatureV1Key,
  UnverifiedNoteError,
  verifierSet,
} from '../note/index.ts';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.ts';
import {
  createCheckpointVerifier,
  createCosignatureVerifier,
  createCosigner,
  formatCosignatureV1Message,
  formatSubtreeV1Message,
  maxCosignatureTimestamp,
  parseTimestampedSignature,
  signCosignature,
  verifyCosignature,
} from './cosignature.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));
const wit = vectors.cosignatureV1;
const sofa = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const witSigner = (): Signer => {
  const key = parseSignerKey(wit.skey);
  return createSigner(key.name, key.material);
};

test('vectors: the Wit1 cosignature line is reproduced byte for byte', async () => {
  assert.equal(toText(formatCosignatureV1Message(sofa, BigInt(wit.timestamp))), wit.signedMessage);
  const cosignature = await signCosignature(witSigner(), sofa, BigInt(wit.timestamp));
  assert.equal(formatSignatureLine(cosignature), wit.cosignatureLine);
  assert.equal(cosignature.timestamp, 1679315147n);
  assert.equal(formatKeyId(cosignature.keyId), '9b3fb2d5');
  const signed = await signNote(sofa, [createCosigner(witSigner(), { timestamp: BigInt(wit.timestamp) })]);
  assert.equal(toText(signed), wit.checkpointWithOnlyCosignature);
});

test('vectors: the cosigned checkpoint opens with the type 0x04 vkey and reports the timestamp', () => {
  const note = toBytes(wit.checkpointWithOnlyCosignature);
  const opened = openNote(note, verifierSet([createCosignatureVerifier(wit.vkeyType04)]));
  assert.equal(opened.verified.length, 1);
  assert.equal(opened.verified[0]?.timestamp, 1679315147n);
  assert.equal(opened.verified[0]?.type, 0x04);
  assert.equal(parseCheckpoint(opened.text).size, 20852163n);
});

test('vectors: the type 0x01 witness vkey is the interop trap — a different key ID, refused for cosignatures', () => {
  const note = toBytes(wit.checkpointWithOnlyCosignature);
  // As a note key, its key ID 55ee4561 matches no line: the cosignature is merely unknown.
  assert.throws(() => openNote(note, verifierSet([createNoteVerifier(wit.vkeyType01)])), UnverifiedNoteError);
  assert.throws(
    () => createCosignatureVerifier(wit.vkeyType01),
    (e) => isVouchError(e, 'bad-key'),
  );
  const converted = createCosignatureVerifier(toCosignatureV1Key(parseVerifierKey(wit.vkeyType01)));
  assert.equal(openNote(note, verifierSet([converted])).verified[0]?.timestamp, 1679315147n);
});

test('vectors: the C2SP spec example cosignature line decodes to key ID 8d66cf3f at 1679315147', () => {
  const line =
    '\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==';
  const signature = parseSignatureLine(line);
  assert.equal(formatKeyId(signature.keyId), wit.specExampleLineDecoded.keyId);
  assert.equal(4 + signature.signature.length, wit.specExampleLineDecoded.len);
  const parts = parseTimestampedSignature(0x04, signature.signature);
  assert.equal(parts.timestamp.toString(), wit.specExampleLineDecoded.timestamp);
  assert.equal(parts.signature.length, 64);
});

// Captured from filippo.io/torchwood cmd/litewitness/testdata/mldsa.txt (made by its gentest
// with filippo.io/mldsa): an ML-DSA-44 log key and a size-1 checkpoint it cosigned as type 0x06
// with timestamp 0 (torchwood's SignSubtree), over root RecordHash("testonly").
const torchwoodVkey =
  'example.com/mldsa-log+b5df45c5+BuhtcL97l3dcitjZ8Y9J54gmQ1TWn/BMF0yePKpTzhlFCkN6ouJDf+9kT9wve4/Y+JGXBUjlRvktAynZ6XOQSO+fOaxyPOQAwrtbZKYXnZWSQj9gHPz18q6brnckUv87Rsk/m5GIBvH8J3ymxZjUQS+DnAUIbctLsG2DD6I/ou0JtXpPLvfGhPDTkwc9QeFyBLBa02Pr9uuWCMohciLqRiFUo5+leUUDKba1g5TYjOjK/VKfntpdbEwoqhTJTG4armjUeXdrYDHeaaMaCAnW5F0lMWYsHjqzRpKjeTjgItseaWKSm+ga/mzTAgqsbo5Ob/AwaXf4Av7/mN+ZM6vHON/NE7Ip5vpXpCiNb9YbEQavn+fjNucFxffCacvzXghvaaQ+3C/5h5lpR8jeajBFsFIOvdkYKizt29lCjqZDkYQgVfB9nWeH6rbayMkBdDpmRH03cI+urD0Eb5zvRuGJn3PgfwdyQJ3WcDH5Gqn5dkKs5NIVMBC+FfKeD47ruAIruda4JiiYCAxZbWgwzTI80N5lZFHEndmxKWaw6z/QyphuYkNyvZVZ0R3kH3JN4jdy9KKpNtFoQqnoBTGeEE/fXEEs5ByPlKnrrefRgWTqxssE4nPzHHr5GGgv/NKNTXNKI4LvNPH5yO3Vv/gIiDZxPPc1Jen8uKkmc0s3kT7XtcuWTlb+zdQeSme9ODj0IoVu29Eav2OsGJpReX7vZx9i2fVfHEMHY5nFew8L5RxcWmZFFiYhMFZnLvk/SWmHcwr3DhzZchrODhabHQ+S6S49Ws+5aoBBPM3mOrSSKHgobdI7BJrdzdT07kjzyiyS9Gyv8iylUHHMuuh1O05RNRcX5SXmenwGDPcT9HuLS+hoesO0FQgEt+jAR7vVyUUU2C6g6FC6QNfHL/EUsulvYIAS5fOK7acOeVnoJlpI57Bq+uzLZm6g7IZD0xxQwZPYyT4ek99l9HxDSrVnU0rAr+Tq5vVh5YxvDkQVWroYIWek/AI5awjmhgpW4LPapBhLk2ipkF5CmU3T0cm3ET5f14gYQZfz23nCsmZ7qyqiQilgOxJzVYacVoGAStGzJNY1wEf26MADW5McyQzYI/3Fpaa4Ay6p2yFmcJMfpqZnu4flgWMqN1UpMbbJ6I7hOrCFWryExK/nvSbRrErHTkPz2wvVfI+enbFz86c0iNb7naQKv6LoIZYEHFOCEsWGL/sCChn6BR4nk1qAakyXEQwi96CkIa3AX562F8lhw6CU4x7T+NWqi2AWfEXImJenORhMP69hGIFsiLAVIjHtsWtJOi8cu+Brg1bFERkB4ryUTrLf/jFeb6KifZ+s8PZWclDaOLMINZ3E78a5u6AzgXpigJsAJ1A4BY89muedrW2O8kFyh3TTTKyY4kedCW6L+8bFHV2Gce25ZulNC1mZs41XAI9CteeYaWaiL7uGMXgyQ73wr4ftwAEMdsoQVQsQriutS1AhpBGvjzPCwD5LC5p1fa0WXBQ1puuaNqr3IJodmDLhEIAsZcv1gdXMg8EQg9QLqgLLrBijU3GxFUQllS8lpQ4TLwFYUJ41+qt28JEeky/VzSEeQd/qob8cbyNM44o7INB+lbhEXEGWvVO8Ak+uWMY+PRKeY9OQcE6E27Nf3eUoHQXkwmXkjGgj0NKeXBIJc1k/Ws6WDbsU4graVKk5FQjwULcRngOpyiJQ/n8sObkAPXr+1rImK3lQJnxif/B6p5/tsh4rrcUht4yVIvFAaqsgAAE=';
const torchwoodNote =
  'example.com/mldsa-log\n1\n+zoErtsZtGO6sfiSV/v4UJSIyowisE8hvjw0q5+bD38=\n\n\u2014 example.com/mldsa-log ' +
  'td9FxQAAAAAAAAAAkjFvCxC6244QGemHL0hurmk5M3Hj6noQQtBM1TiwnC1lFmT+t+cUG9W0ENlRQtV20lJFLKCzoJ08ulQEkfiVueKHeMyURh97Iup0R9d41Monv472jkyfDoX3ILyX/kEOuSV4Ed2tU4VmtDSbP0rofMWAbKJRMnzCpNIT5xMe3tRbWLVTvAtnX9OB4UMKL1dvGS/uuhqW9Ddjik2D8veitBvk3TbQcT8fanSyZqCbDZ5zzw5JS3Gu5oD1zK7z+KiyqbzKUhglESs7YXFbeU0E03FrXdAPYS6GAuZtBWTJp4DEm4rL+NqU6Xp0n2ehhqd1rFAJUAcsE5CFakQdlmKkkzVMy3VZYll5ptS0amlYfGqX6/N9bJAYdAoWWpdgCep5eXCutQcTQXc69UocKT99/vholeAP1097GfS+hNL2ndNS2ieMnj8XLD1LCHVoBjKZUIObB0lx3leGRe9VjYgTRAY2WlE+K32b6Iz1rKzzDD8YBNQdkHgdx44uPOU3I+8szYS6NzQ2Z0QlqAtz0j9vZu9yEUUxCEORAiMAHLtV5oWZ/RvSE7qq5B0b8WrHGPGoR/qUNK4ECmlIe/SRo6M7yRrPs3das3ox1bkC3f92c98ewHLeQtLwwsqQJny6rlYaiaiPMxgdT2CVcJEcKOfaK8pdy2fucBDxHrQitpGkeLJLmWk6LLxR/Ut6s6xNyyKSuZlVslS40n9MJ837uMmJFyecKPliwAj8HzTWQywSkMpEQfJyr4i2Kfa2paOZ4izmotRTfdvbFWlWFwuGLWOQ0X/pKaExpdNDwqahAwbfGkw/iHbsV7ZIlNIuSNs2ccQvnjM8xqkT6sYYVxYiHpmk5sOwGsdeiMdwQqn7Q/Lz+uc3F6k/r0Ox7MJTX6fPhFdhe8RJg/77USR/MIGiT4YZHV+XgrtbV0jvMEgB4yEOircsScaBmLv18tTn1GiGlzFjK/s7gOzjk70jf1qCZ1MNgDAPstd/5sXdwYON0FnA5zPUp9yMkq1/wZq+DuePQDT6nj8zgFrkrvl8s7nibKKaL2bKcje5YP3CFcXLZoESZnC3BJkV85VqXlAKl+dctM3vNfMVrqk3/boBARw27mdKLsysIREkWR4caByW0csjL3Js9tn1hB0yf6hIGo8mvPIUjPIXn1rFSSKWkQlq15wu2gwEo9FdVF5beMdF4LVwuO9PZ1Y4oXuRE2pIzMWq/jEzHAZ7GucP7yzU78X767ucrwO/AXjMlLUsLLFZaQcHHBsrQJLpy5w1Jn/L7XFyR2g0lBOdT+lSOhx7j33oIlzxmqdR47ovtkg+LJpbAJG7n/JiQ/h/xffe3VdqSsrB8S4ltKz+rq51swoZ59zmRzWaoNkyWX0eu0E7y6EfpfrKEmr0H+fYtVnJvCznWFKzbv7oDXKC0pOyKZsNctvFwhSGEEURCs1G+4IrAEWG2Y231thQ8HdMvaMcm+ocvBGhZjmE7bXFkdiJ7S09csFjljFDGCiGRiU+flxkyiqpa1DDgeFRWOEyNAdMeY2iQMTJU9ApqNVrPpjGbg7kL0HrfKCQM236d16DKfXIiUmZw/NONKnrliAIs6/WSzKdW/JUyTLiKfPV1ItODmw5eNz7lV36dR8g3us/bpWp4OaDIInrLxYZRfkLHLvXGGg5ogY2k/FMno/3UBbS0QfstK+ByB/pFVYCHWgDjctwpOHaqAAXAiWHAUh1KOpXBMv8qndpzhsYhvKbrL371aBST0e3iPW/K4x+kFfgdeClsftS9RnE8KDCf4Uz+9QMP9sxj4+ZACztE19eBVaSvCqv54wO6n5248UzbqPXzA1dweKQziw/FnPWC7qMrcs3jDi6PBPhpruk1xBy08MQg58l4YzuXrPm5gAyiUAyfNszvhTotaU02oljhvg24CycDo/2PvQY7sBmisIsVVeHssiRxg23CMgWHaPMDn6OM+IhF2xaAqJOjfnsFBWlvMg8LxsrBnOQ1YABVLLtMvCSaIvgBjPt8XtLn9gZ0HL9OvGsR3efWHTR5p4nZyuHH2Nm8F3nWKVkEI4p4H6Yo5O0hkzCi1ZB7QT3uEIeR0Hq3g/bLTzmm6XzsjWSmQ8CtPapmXX476QT44wU0CWJ096SqUGUq2ZCDg3kFkV0BuKPIfLCt4sYK9bjj8UZCqkhyHbVm2x+HQwk8mNnDbUd7PK89riPjA33KX0Sw32RE0uKtB0sC8m7t028aEupsRx56/M0jBgeYmEHuRrXpW9nuOkQPTBaHdmYBHNkzTF2arPzZK3diFuhKPvmSQh2CN6g8r0p3EN+dmps1fIUfHM6emkEuaod+ZG83vyJsyd5B2oPMTVP12z8VJtDRAYfA5bRj+HEw2aD4f23u/Zq3PHk2C9T5LTAu28WCuO/EpXGSIkq1/hRpyE0qhJSnPN9/iE74PoU1OgjGBv6uSUsNhNZJeMe2W23s8EAyStB5+u83IBgUctrGwXzNdoC9LY1p+kNFSAZXIggNB3alVzoS+D9rcCYTUAafpkdwLaYq5/w0wRchljkG61rl+gZCiwtqZv3SHVxO7kRTAzfHsGDB1yc/9Sz++IMGyFHYvuqtclhpHPPToFByaVl687b1P4t2i/U4fWPZ4BBhN5Q7HGTxubspw1GY2MjBYU5OXvEJu9aWeibkM/fg6QrxPRYNsJBNJQRywMjYHj6AefrZeGXGxSNgS50kCNBvV7XTli/17y3MFgR4WfNmBK3BqKb87v3DBMVnLHcqvw1ZVjFPv91q0XYaDdVFHqOnS4Fh5nfwh1qfuvKrUZlwFPcwW+pG4YDyjx90MTFugpQ6KfEusmUhB5Dqr79nYWbOhW3e0PCEZtxmVrH9EtCHEgO6wnkWjPke6XULARu0ECF1gZvQczEjKfzxCt6Rknz+27lXyzgzRyHWxr0kB/pFty+8IebrDfIW9757d+1QLonDTmkLQiirF0ygsgQALmk1KljcHD/qiAZPHh5YX+Q2VdDfIfGeMXmCg3nX5r5DINcx47fNHtgWeGn8MjF8Hnff6x+ZU/7YqcBrDOvGqn46FBvuRY0+mWkRo576207vQR/023owl7pXZ5p/75V5yDkTZWDtXsfKjpypcxrWIBsg5GC25nZdjQQGBtFUF1pfn+xvunq9AEIFidYY2Vyc3mYw8TW7PkVKis5PENhdbfJHDtIdIiQsLe+1Nr+/wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4eKDU=\n';

test('interop: the torchwood ML-DSA-44 checkpoint cosignature (type 0x06) verifies; tampered, it fails', () => {
  const key = parseVerifierKey(torchwoodVkey);
  assert.equal(key.type, 0x06);
  assert.equal(key.publicKey.length, 1312);
  assert.equal(formatVerifierKey(key), torchwoodVkey);
  const verifiers = verifierSet([createCheckpointVerifier(torchwoodVkey)]);
  const opened = openNote(toBytes(torchwoodNote), verifiers);
  assert.deepEqual(
    opened.verified.map((s) => [s.name, s.type, s.timestamp]),
    [['example.com/mldsa-log', 0x06, 0n]],
  );
  const checkpoint = parseCheckpoint(opened.text);
  assert.equal(formatHex(checkpoint.root), formatHex(sha256(toBytes('\u0000testonly'))));
  const tampered = torchwoodNote.replace('\n1\n', '\n2\n');
  assert.throws(
    () => openNote(toBytes(tampered), verifiers),
    (e) => isVouchError(e, 'bad-signature'),
  );
  // Extension lines are outside the ML-DSA-44 signed message, so adding one keeps it valid.
  const extended = torchwoodNote.replace('=\n\n', '=\nextension\n\n');
  assert.equal(openNote(toBytes(extended), verifiers).verified.length, 1);
});

async function logAndWitnesses() {
  const log = createNoteSigner(createSigner('example.com/log', generateKey('ed25519')));
  const ed = createSigner('example.com/w-ed', generateKey('ed25519'));
  const ml = createSigner('example.com/w-ml', generateKey('ml-dsa-44'));
  return { log, ed, ml };
}

test('a checkpoint with a log signature and Ed25519 and ML-DSA-44 cosignatures opens with all timestamps', async () => {
  const { log, ed, ml } = await logAndWitnesses();
  const text = formatCheckpoint({
    origin: 'example.com/log',
    size: 5n,
    root: new Uint8Array(32).fill(9),
    extensions: ['x'],
  });
  const signed = await signNote(text, [
    log,
    createCosigner(ed, { timestamp: 1700000000n }),
    createCosigner(ml, { timestamp: () => 1700000001n }),
  ]);
  const verifiers = verifierSet(
    [log, createCosigner(ed, { timestamp: 1n }), createCosigner(ml, { timestamp: 1n })].map((s) =>
      createCheckpointVerifier(formatVerifierKey(s)),
    ),
  );
  const opened = openNote(signed, verifiers);
  assert.deepEqual(
    opened.verified.map((s) => [s.type, s.timestamp]),
    [
      [0x01, undefined],
      [0x04, 1700000000n],
      [0x06, 1700000001n],
    ],
  );
  const mlLine = opened.signatures[2];
  assert.equal(mlLine?.signature.length, 8 + 2420);
});

test('ML-DSA-44: a tampered checkpoint or the wrong key fails; extension lines are not covered', async () => {
  const { ml } = await logAndWitnesses();
  const text = formatCheckpoint({
    origin: 'example.com/log',
    size: 5n,
    root: new Uint8Array(32).fill(9),
    extensions: [],
  });
  const cosignature = await signCosignature(ml, text, 1700000000n);
  const verifier = createCosignatureVerifier(formatVerifierKey(createCosigner(ml, { timestamp: 1n })));
  assert.equal(verifyCosignature(verifier, text, cosignature).timestamp, 1700000000n);
  const rows: { name: string; text: string }[] = [
    { name: 'size changed', text: text.replace('\n5\n', '\n6\n') },
    { name: 'origin changed', text: text.replace('example.com/log', 'example.com/lag') },
    { name: 'root changed', text: formatCheckpoint({ ...parseCheckpoint(text), root: new Uint8Array(32) }) },
    { name: 'not a checkpoint', text: 'hello\n' },
  ];
  for (const row of rows) {
    assert.throws(
      () => verifyCosignature(verifier, row.text, cosignature),
      (e) => isVouchError(e, 'bad-signature'),
      row.name,
    );
  }
  assert.equal(verifyCosignature(verifier, `${text}extension\n`, cosignature).timestamp, 1700000000n);
  // The timestamp is signed.
  const later = {
    ...cosignature,
    signature: concatBytes(formatUint64(1700000001n), cosignature.signature.subarray(8)),
  };
  assert.throws(
    () => verifyCosignature(verifier, text, later),
    (e) => isVouchError(e, 'bad-signature'),
  );
  // Another key, and the same key under another name (the name is signed), both fail.
  const other = createCosignatureVerifier(
    formatVerifierKey(
      createCosigner(createSigner('example.com/w-ml', generateKey('ml-dsa-44')), { timestamp: 1n }),
    ),
  );
  assert.equal(other.verify(toBytes(text), cosignature.signature), false);
  const renamed = createCosignatureVerifier(formatVerifierKey({ ...verifier, name: 'example.com/w-ml2' }));
  assert.equal(renamed.verify(toBytes(text), cosignature.signature), false);
  assert.throws(
    () => verifyCosignature(other, text, cosignature),
    (e) => isVouchError(e, 'bad-signature'),
  );
});

test('Ed25519 cosignature/v1: tampering with the text, timestamp or key fails; extension lines are covered', async () => {
  const { ed } = await logAndWitnesses();
  const cosignature = await signCosignature(ed, sofa, 42n);
  const verifier = createCosignatureVerifier(formatVerifierKey(createCosigner(ed, { timestamp: 1n })));
  assert.equal(verifyCosignature(verifier, sofa, cosignature).timestamp, 42n);
  assert.throws(
    () => verifyCosignature(verifier, `${sofa}ext\n`, cosignature),
    (e) => isVouchError(e, 'bad-signature'),
  );
  const later = {
    ...cosignature,
    signature: concatBytes(formatUint64(43n), cosignature.signature.subarray(8)),
  };
  assert.throws(
    () => verifyCosignature(verifier, sofa, later),
    (e) => isVouchError(e, 'bad-signature'),
  );
  const huge = {
    ...cosignature,
    signature: concatBytes(formatUint64(2n ** 63n), cosignature.signature.subarray(8)),
  };
  assert.equal(verifier.verify(toBytes(sofa), huge.signature), false);
  const short = { ...cosignature, signature: cosignature.signature.subarray(0, 71) };
  assert.equal(verifier.verify(toBytes(sofa), short.signature), false);
  const witVerifier = createCosignatureVerifier(wit.vkeyType04);
  assert.throws(
    () => verifyCosignature(witVerifier, sofa, cosignature),
    (e) => isVouchError(e, 'bad-signature'),
  );
  assert.throws(
    () => verifyCosignature(createNoteVerifier(vectors.signedNote.peterNeumann.vkey), sofa, cosignature),
    (e) => isVouchError(e, 'invalid-argument'),
  );
  // A known cosigner whose signature fails rejects the note.
  const tampered = formatNote({ text: sofa, signatures: [later] });
  assert.throws(
    () => openNote(tampered, verifierSet([verifier])),
    (e) => isVouchError(e, 'bad-signature'),
  );
});

test('cosigners take the timestamp as an input: non-zero, at most 2^63 - 1, called once per signature', async () => {
  const ed = witSigner();
  const rows: { name: string; timestamp: bigint }[] = [
    { name: 'zero', timestamp: 0n },
    { name: '2^63', timestamp: maxCosignatureTimestamp + 1n },
    { name: 'negative', timestamp: -1n },
  ];
  for (const row of rows) {
    await assert.rejects(
      signCosignature(ed, sofa, row.timestamp),
      (e) => isVouchError(e, 'invalid-argument'),
      row.name,
    );
  }
  const max = await signCosignature(ed, sofa, maxCosignatureTimestamp);
  assert.equal(
    verifyCosignature(createCosignatureVerifier(wit.vkeyType04), sofa, max).timestamp,
    maxCosignatureTimestamp,
  );
  let calls = 0n;
  const cosigner = createCosigner(ed, { timestamp: () => ++calls });
  await signNote(sofa, [cosigner]);
  await signNote(sofa, [cosigner]);
  assert.equal(calls, 2n);
  await assert.rejects(signNote('not a checkpoint\n', [createCosigner(ed, { timestamp: 1n })]), (e) =>
    isVouchError(e, 'malformed'),
  );
  assert.throws(
    () => createCosigner(createSigner('k', generateKey('ecdsa-p256')), { timestamp: 1n }),
    (e) => isVouchError(e, 'bad-key'),
  );
  assert.throws(
    () => createCosigner(ed, { name: 'a b', timestamp: 1n }),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

test('formatSubtreeV1Message lays out the cosigned_message of tlog-cosignature', () => {
  const hash = new Uint8Array(32).fill(0xab);
  const message = formatSubtreeV1Message({
    cosignerName: 'w',
    timestamp: 0x0102n,
    origin: 'og',
    start: 0n,
    end: 7n,
    hash,
  });
  assert.equal(
    formatHex(message),
    [
      formatHex(toBytes('subtree/v1\n\0')),
      '01',
      formatHex(toBytes('w')),
      '0000000000000102',
      '02',
      formatHex(toBytes('og')),
      '0000000000000000',
      '0000000000000007',
      'ab'.repeat(32),
    ].join(''),
  );
  assert.equal(toBytes('subtree/v1\n\0').length, 12);
  const good = { cosignerName: 'w', timestamp: 0n, origin: 'o', start: 0n, end: 0n, hash };
  const rows: { name: string; value: typeof good }[] = [
    { name: 'empty name', value: { ...good, cosignerName: '' } },
    { name: 'name of 256 bytes', value: { ...good, cosignerName: 'n'.repeat(256) } },
    { name: 'empty origin', value: { ...good, origin: '' } },
    { name: 'origin of 128 two-byte characters', value: { ...good, origin: 'é'.repeat(128) } },
    { name: 'start after end', value: { ...good, start: 2n, end: 1n } },
    { name: 'end of 2^64', value: { ...good, end: 2n ** 64n } },
    { name: 'timestamp with non-zero start', value: { ...good, start: 4n, end: 8n, timestamp: 1n } },
    { name: 'hash of 31 bytes', value: { ...good, hash: new Uint8Array(31) } },
  ];
  for (const row of rows) {
    assert.throws(
      () => formatSubtreeV1Message(row.value),
      (e) => isVouchError(e, 'invalid-argument'),
      row.name,
    );
  }
  // label 12, name 1 + 255, timestamp 8, origin 1 + 1, start and end 16, hash 32
  const longest = formatSubtreeV1Message({ ...good, cosignerName: 'n'.repeat(255), start: 4n, end: 8n });
  assert.equal(longest.length, 12 + 256 + 8 + 2 + 16 + 32);
});

test('parseTimestampedSignature checks the length per type and the timestamp bound', () => {
  const ok = parseTimestampedSignature(0x06, new Uint8Array(8 + 2420));
  assert.equal(ok.timestamp, 0n);
  const rows: { name: string; type: number; bytes: Uint8Array; code: string }[] = [
    { name: 'ed25519 short', type: 0x04, bytes: new Uint8Array(71), code: 'malformed' },
    { name: 'ed25519 long', type: 0x04, bytes: new Uint8Array(73), code: 'malformed' },
    { name: 'ml-dsa short', type: 0x06, bytes: new Uint8Array(8 + 2419), code: 'malformed' },
    {
      name: 'timestamp 2^63',
      type: 0x04,
      bytes: concatBytes(formatUint64(2n ** 63n), new Uint8Array(64)),
      code: 'malformed',
    },
    { name: 'note type', type: 0x01, bytes: new Uint8Array(72), code: 'invalid-argument' },
  ];
  for (const row of rows) {
    assert.throws(
      () => parseTimestampedSignature(row.type, row.bytes),
      (e) => isVouchError(e, row.code as 'malformed'),
      row.name,
    );
  }
});

test('createCheckpointVerifier picks the verifier for each key type', () => {
  assert.equal(createCheckpointVerifier(vectors.signedNote.tesseraTestLog.vkey).type, 0x01);
  assert.equal(createCheckpointVerifier(wit.vkeyType04).type, 0x04);
  assert.equal(createCheckpointVerifier(wit.vkeyType04).timestampOf?.(new Uint8Array(72)), 0n);
  assert.throws(
    () => createCheckpointVerifier('nope'),
    (e) => isVouchError(e, 'bad-key'),
  );
});

test('fuzz: cosignature verifiers and parsers return a value or a VouchError on any bytes', () => {
  const v04 = createCosignatureVerifier(wit.vkeyType04);
  const line = parseSignatureLine(wit.cosignatureLine);
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 100 }),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
      const copy = new Uint8Array(line.signature);
      copy[at % copy.length] = byte;
      return copy;
    }),
  );
  fc.assert(
    fc.property(inputs, fc.constantFrom(0x04, 0x06, 0x01), (bytes, type) => {
      assert.equal(typeof v04.verify(toBytes(sofa), bytes), 'boolean');
      try {
        parseTimestampedSignature(type, bytes);
      } catch (error) {
        if (!(error instanceof VouchError)) throw error;
      }
    }),
    { seed: 0x5eed, numRuns: 1000 },
  );
  assert.ok(v04.verify(toBytes(sofa), line.signature));
});
