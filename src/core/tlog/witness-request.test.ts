import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, formatBase64, toBytes, toText } from '../bytes/index.ts';
import { createSigner, generateKey } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import { leafHash, merkleTreeHash, proveConsistency } from '../merkle/index.ts';
import { createNoteSigner, formatSignatureLine, signNote } from '../note/index.ts';
import { formatCheckpoint } from './checkpoint.ts';
import { signCosignature } from './cosignature.ts';
import {
  type AddCheckpointRequest,
  formatAddCheckpointRequest,
  formatCosignatureLines,
  formatTreeSizeBody,
  maxAddCheckpointProofLines,
  maxAddCheckpointRequestBytes,
  maxCosignatureResponseLines,
  parseAddCheckpointRequest,
  parseCosignatureLines,
  parseTreeSizeBody,
} from './witness-request.ts';

// The example request body of c2sp.org/tlog-witness, byte for byte.
const specExample = `old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
`;

const origin = 'example.com/log';
const logSigner = createNoteSigner(createSigner(origin, generateKey('ed25519')));
const leaves = Array.from({ length: 20 }, (_, i) => leafHash(toBytes(`entry ${i}`)));

async function signedCheckpoint(size: number, extensions: string[] = []): Promise<Uint8Array> {
  const text = formatCheckpoint({
    origin,
    size: BigInt(size),
    root: merkleTreeHash(leaves, BigInt(size)),
    extensions,
  });
  return signNote(text, [logSigner]);
}

const checkpoint13 = await signedCheckpoint(13);
const proof5to13 = proveConsistency(leaves, 5n, 13n);
const header5to13 = `old 5\n${proof5to13.map((h) => `${formatBase64(h)}\n`).join('')}\n`;
const hash = formatBase64(new Uint8Array(32).fill(7));

test('add-checkpoint: the spec example parses and formats back to its bytes', () => {
  const bytes = toBytes(specExample);
  const request = parseAddCheckpointRequest(bytes);
  assert.equal(request.old, 20852014n);
  assert.equal(request.proof.length, 4);
  assert.equal(formatBase64(request.proof[3] as Uint8Array), '/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=');
  assert.ok(toText(request.checkpoint).startsWith('example.com/behind-the-sofa\n20852163\n'));
  assert.ok(Object.isFrozen(request) && Object.isFrozen(request.proof));
  assert.deepEqual(formatAddCheckpointRequest(request), bytes);
});

test('add-checkpoint: requests round-trip byte for byte', async () => {
  const twoSignatures = await signNote(
    formatCheckpoint({ origin, size: 7n, root: merkleTreeHash(leaves, 7n), extensions: ['ext'] }),
    [logSigner, createNoteSigner(createSigner('other.example', generateKey('ed25519')))],
  );
  const rows: { name: string; request: AddCheckpointRequest }[] = [
    { name: 'old 0, no proof', request: { old: 0n, proof: [], checkpoint: checkpoint13 } },
    { name: 'old 5 with a real proof', request: { old: 5n, proof: proof5to13, checkpoint: checkpoint13 } },
    { name: 'old equals new', request: { old: 13n, proof: [], checkpoint: checkpoint13 } },
    { name: 'two signatures and an extension', request: { old: 0n, proof: [], checkpoint: twoSignatures } },
    {
      name: '63 proof lines',
      request: { old: 1n, proof: Array(63).fill(new Uint8Array(32)), checkpoint: checkpoint13 },
    },
    {
      name: 'old 2^64 - 1 (larger than the checkpoint: the witness answers 400, not the parser)',
      request: { old: 2n ** 64n - 1n, proof: [], checkpoint: checkpoint13 },
    },
  ];
  for (const row of rows) {
    const bytes = formatAddCheckpointRequest(row.request);
    const parsed = parseAddCheckpointRequest(bytes);
    assert.deepEqual(
      { ...parsed, proof: [...parsed.proof] },
      { ...row.request, proof: [...row.request.proof] },
      row.name,
    );
    assert.deepEqual(formatAddCheckpointRequest(parsed), bytes, row.name);
  }
  assert.equal(
    toText(formatAddCheckpointRequest({ old: 5n, proof: proof5to13, checkpoint: checkpoint13 })),
    header5to13 + toText(checkpoint13),
  );
});

test('add-checkpoint: each malformed request is refused with its code', () => {
  const cp = toText(checkpoint13);
  const unsigned = `${origin}\n13\n${formatBase64(merkleTreeHash(leaves, 13n))}\n`;
  const sig = toText(checkpoint13).slice(unsigned.length + 1);
  const rows: { name: string; body: string | Uint8Array; code: string; field?: string }[] = [
    { name: 'empty body', body: '', code: 'malformed', field: 'line 1' },
    { name: 'no old line', body: `\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'old uppercase', body: `OLD 0\n\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'old without a space', body: `old0\n\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'old with two spaces', body: `old  0\n\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'old with a leading zero', body: `old 05\n\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'old negative', body: `old -1\n\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'old with a plus sign', body: `old +1\n\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'old empty', body: `old \n\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'old 2^64', body: `old 18446744073709551616\n\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'old with trailing space', body: `old 1 \n\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'CRLF line ends', body: `old 0\r\n\r\n${cp}`, code: 'malformed', field: 'line 1' },
    { name: 'header ends without a blank line', body: 'old 0\n', code: 'malformed', field: 'line 2' },
    {
      name: 'blank line missing before the checkpoint',
      body: `old 0\n${cp}`,
      code: 'malformed',
      field: 'line 2',
    },
    { name: 'nothing after the blank line', body: 'old 0\n\n', code: 'malformed', field: 'checkpoint' },
    {
      name: 'proof hash of 31 bytes',
      body: `old 1\n${formatBase64(new Uint8Array(31))}\n\n${cp}`,
      code: 'malformed',
      field: 'line 2',
    },
    {
      name: 'proof hash of 33 bytes',
      body: `old 1\n${formatBase64(new Uint8Array(33))}\n\n${cp}`,
      code: 'malformed',
      field: 'line 2',
    },
    {
      name: 'proof hash without padding',
      body: `old 1\n${hash.slice(0, -1)}\n\n${cp}`,
      code: 'malformed',
      field: 'line 2',
    },
    {
      name: 'proof hash with stray bits',
      body: `old 1\n${hash.slice(0, 42)}B=\n\n${cp}`,
      code: 'malformed',
      field: 'line 2',
    },
    {
      name: 'proof hash in URL-safe base64',
      body: `old 1\n${'_'.repeat(43)}=\n\n${cp}`,
      code: 'malformed',
      field: 'line 2',
    },
    { name: 'proof line with a space', body: `old 1\n ${hash}\n\n${cp}`, code: 'malformed', field: 'line 2' },
    {
      name: 'second proof line bad',
      body: `old 1\n${hash}\nxyz=\n\n${cp}`,
      code: 'malformed',
      field: 'line 3',
    },
    {
      name: 'header line too long',
      body: `old ${'1'.repeat(60)}\n\n${cp}`,
      code: 'malformed',
      field: 'line 1',
    },
    {
      name: 'header not UTF-8',
      body: concatBytes(toBytes('old 0\n'), Uint8Array.of(0xff), toBytes(`\n\n${cp}`)),
      code: 'malformed',
      field: 'line 2',
    },
    {
      name: '64 proof lines',
      body: `old 1\n${`${hash}\n`.repeat(maxAddCheckpointProofLines + 1)}\n${cp}`,
      code: 'too-large',
      field: 'line 65',
    },
    {
      name: 'checkpoint without signatures',
      body: `old 0\n\n${unsigned}`,
      code: 'malformed',
      field: 'checkpoint',
    },
    {
      name: 'checkpoint without the blank line',
      body: `old 0\n\n${unsigned}${sig}`,
      code: 'malformed',
      field: 'checkpoint',
    },
    {
      name: 'note that is not a checkpoint',
      body: `old 0\n\nhello\n\n${sig}`,
      code: 'malformed',
      field: 'checkpoint',
    },
    {
      name: 'checkpoint with a bad size line',
      body: `old 0\n\n${cp.replace('\n13\n', '\n013\n')}`,
      code: 'malformed',
      field: 'checkpoint line 2',
    },
    {
      name: 'body over 1 MiB',
      body: new Uint8Array(maxAddCheckpointRequestBytes + 1),
      code: 'too-large',
    },
  ];
  for (const row of rows) {
    const bytes = typeof row.body === 'string' ? toBytes(row.body) : row.body;
    assert.throws(
      () => parseAddCheckpointRequest(bytes),
      (e) => {
        assert.ok(isVouchError(e, row.code as VouchError['code']), `${row.name}: ${String(e)}`);
        if (row.field !== undefined) assert.equal(e.details.field, row.field, row.name);
        return true;
      },
      row.name,
    );
  }
});

test('add-checkpoint: format refuses what parse would refuse', () => {
  const rows: { name: string; request: AddCheckpointRequest }[] = [
    { name: 'negative old', request: { old: -1n, proof: [], checkpoint: checkpoint13 } },
    { name: 'old 2^64', request: { old: 2n ** 64n, proof: [], checkpoint: checkpoint13 } },
    { name: 'short hash', request: { old: 1n, proof: [new Uint8Array(31)], checkpoint: checkpoint13 } },
    {
      name: '64 hashes',
      request: { old: 1n, proof: Array(64).fill(new Uint8Array(32)), checkpoint: checkpoint13 },
    },
    { name: 'unsigned checkpoint', request: { old: 0n, proof: [], checkpoint: toBytes('a\n1\nb\n') } },
    { name: 'not a checkpoint', request: { old: 0n, proof: [], checkpoint: toBytes('a\n\n— a AAAAAAA=\n') } },
  ];
  for (const row of rows) {
    assert.throws(
      () => formatAddCheckpointRequest(row.request),
      (e) => isVouchError(e, 'invalid-argument'),
      row.name,
    );
  }
});

test('text/x.tlog.size bodies: round trips and refusals', () => {
  for (const size of [0n, 1n, 20852163n, 2n ** 64n - 1n]) {
    const bytes = formatTreeSizeBody(size);
    assert.equal(toText(bytes), `${size}\n`);
    assert.equal(parseTreeSizeBody(bytes), size);
  }
  const rows: { name: string; body: string; code: string }[] = [
    { name: 'empty', body: '', code: 'malformed' },
    { name: 'no newline', body: '5', code: 'malformed' },
    { name: 'two newlines', body: '5\n\n', code: 'malformed' },
    { name: 'leading zero', body: '05\n', code: 'malformed' },
    { name: 'leading space', body: ' 5\n', code: 'malformed' },
    { name: 'CRLF', body: '5\r\n', code: 'malformed' },
    { name: 'negative', body: '-5\n', code: 'malformed' },
    { name: '2^64', body: '18446744073709551616\n', code: 'malformed' },
    { name: 'longer than 21 bytes', body: '1844674407370955161600\n', code: 'too-large' },
  ];
  for (const row of rows) {
    assert.throws(
      () => parseTreeSizeBody(toBytes(row.body)),
      (e) => isVouchError(e, row.code as VouchError['code']),
      row.name,
    );
  }
  assert.throws(
    () => formatTreeSizeBody(-1n),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

test('cosignature responses: round trips and refusals', async () => {
  const text = formatCheckpoint({ origin, size: 13n, root: merkleTreeHash(leaves, 13n), extensions: [] });
  const ed = await signCosignature(createSigner('w1.example', generateKey('ed25519')), text, 1700000000n);
  const ml = await signCosignature(createSigner('w2.example', generateKey('ml-dsa-44')), text, 1700000001n);
  for (const signatures of [[ed], [ed, ml]]) {
    const bytes = formatCosignatureLines(signatures);
    const parsed = parseCosignatureLines(bytes);
    assert.deepEqual(
      parsed.map((s) => formatSignatureLine(s)),
      signatures.map((s) => formatSignatureLine(s)),
    );
    assert.deepEqual(formatCosignatureLines(parsed), bytes);
    assert.ok(Object.isFrozen(parsed));
  }
  const line = formatSignatureLine(ed);
  const rows: { name: string; body: string; code: string; field?: string }[] = [
    { name: 'empty', body: '', code: 'malformed' },
    { name: 'no final newline', body: line, code: 'malformed' },
    { name: 'blank line', body: `${line}\n\n${line}\n`, code: 'malformed', field: 'line 2' },
    { name: 'trailing blank line', body: `${line}\n\n`, code: 'malformed', field: 'line 2' },
    { name: 'not a signature line', body: `${line}\nhello\n`, code: 'malformed', field: 'line 2' },
    {
      name: 'hyphen instead of em dash',
      body: `${line.replace('—', '-')}\n`,
      code: 'malformed',
      field: 'line 1',
    },
    { name: 'bad base64', body: `${line.slice(0, -2)}!=\n`, code: 'malformed', field: 'line 1' },
    {
      name: 'too many lines',
      body: `${line}\n`.repeat(maxCosignatureResponseLines + 1),
      code: 'too-large',
    },
  ];
  for (const row of rows) {
    assert.throws(
      () => parseCosignatureLines(toBytes(row.body)),
      (e) => {
        assert.ok(isVouchError(e, row.code as VouchError['code']), `${row.name}: ${String(e)}`);
        if (row.field !== undefined) assert.equal(e.details.field, row.field, row.name);
        return true;
      },
      row.name,
    );
  }
  assert.throws(
    () => formatCosignatureLines([]),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

test('fuzz: the parsers return a value or a VouchError, and what they accept is canonical', () => {
  const base = toBytes(header5to13 + toText(checkpoint13));
  const edits = fc.array(
    fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('insert', 'delete', 'replace'),
      byte: fc.constantFrom(0x0a, 0x0d, 0x20, 0x30, 0x31, 0x3d, 0x2b, 0x41, 0x6f, 0xe2, 0x80, 0x94, 0xff),
    }),
    { minLength: 1, maxLength: 4 },
  );
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(fc.constant(base), edits).map(([bytes, list]) => {
      let out = Array.from(bytes);
      for (const { at, kind, byte } of list) {
        // Most edits land in the header, where the request parser's own rules apply.
        const i = at % Math.max(1, Math.min(out.length, at % 3 === 0 ? out.length : header5to13.length + 2));
        if (kind === 'insert') out = [...out.slice(0, i), byte, ...out.slice(i)];
        else if (kind === 'delete') out.splice(i, 1);
        else out[i] = byte;
      }
      return Uint8Array.from(out);
    }),
  );
  fc.assert(
    fc.property(inputs, (input) => {
      roundTrips(parseAddCheckpointRequest, formatAddCheckpointRequest, input);
      roundTrips(parseTreeSizeBody, formatTreeSizeBody, input);
      roundTrips(parseCosignatureLines, formatCosignatureLines, input);
    }),
    { seed: 0x5eed, numRuns: 3000 },
  );
});

// roundTrips claims only "a value or our typed error", and that an accepted input is canonical.
function roundTrips<T>(
  parse: (bytes: Uint8Array) => T,
  format: (value: T) => Uint8Array,
  input: Uint8Array,
): void {
  let value: T;
  try {
    value = parse(input);
  } catch (error) {
    if (error instanceof VouchError) return;
    throw error;
  }
  assert.deepEqual(format(value), input);
}
