import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { concatBytes, formatBase64, formatHex, parseHex, toBytes } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import { assertHash, emptyRoot, isHash, leafHash, nodeHash } from './hash.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));

test('leafHash matches the RFC 6962 reference leaf hashes', () => {
  const inputs: string[] = vectors.rfc6962.leafInputsHex;
  const want: string[] = vectors.rfc6962.leafHashes;
  assert.equal(inputs.length, 8);
  inputs.forEach((input, i) => {
    assert.equal(formatHex(leafHash(parseHex(input))), want[i], `leaf ${i}`);
  });
  assert.equal(formatHex(leafHash(toBytes('L123456'))), vectors.rfc6962.leafHash_of_ascii_L123456);
  assert.equal(formatBase64(leafHash(toBytes('hello world'))), vectors.sumdb.recordHash_hello_world_b64);
});

test('nodeHash is SHA-256(0x01 || left || right)', () => {
  const [a, b] = vectors.rfc6962.leafHashes.map((h: string) => parseHex(h));
  // rootsBySize0to8[2] is the node over leaves 0 and 1.
  assert.equal(formatHex(nodeHash(a, b)), vectors.rfc6962.rootsBySize0to8[2]);
  assert.notEqual(formatHex(nodeHash(b, a)), vectors.rfc6962.rootsBySize0to8[2]);
});

test('nodeHash refuses inputs that are not 32 bytes, including the raw-concatenation vector', () => {
  const n123 = toBytes('N123');
  const n456 = toBytes('N456');
  // The vector is defined over raw 4-byte inputs; the definition holds, but our nodeHash refuses them.
  assert.equal(
    formatHex(sha256(concatBytes(new Uint8Array([1]), n123, n456))),
    vectors.rfc6962.nodeHash_of_ascii_N123_N456_rawconcat,
  );
  const good = new Uint8Array(32);
  const rows = [
    { name: 'raw vector inputs', left: n123, right: n456 },
    { name: 'empty left', left: new Uint8Array(0), right: good },
    { name: 'short right', left: good, right: new Uint8Array(31) },
    { name: 'long left', left: new Uint8Array(33), right: good },
    { name: 'both empty', left: new Uint8Array(0), right: new Uint8Array(0) },
  ];
  for (const row of rows) {
    assert.throws(
      () => nodeHash(row.left, row.right),
      (e) => isVouchError(e, 'malformed'),
      row.name,
    );
  }
});

test('emptyRoot is SHA-256 of nothing and is a fresh copy each time', () => {
  assert.equal(formatHex(emptyRoot()), vectors.rfc6962.rootsBySize0to8[0]);
  const mine = emptyRoot();
  mine.fill(0);
  assert.equal(formatHex(emptyRoot()), vectors.rfc6962.rootsBySize0to8[0]);
});

test('isHash and assertHash accept exactly 32 bytes', () => {
  assert.ok(isHash(new Uint8Array(32)));
  assert.ok(!isHash(new Uint8Array(31)));
  assert.ok(!isHash('x'.repeat(32)));
  assert.doesNotThrow(() => assertHash(new Uint8Array(32), 'h'));
  assert.throws(
    () => assertHash(new Uint8Array(0), 'root'),
    (e) => isVouchError(e, 'malformed') && e.details.field === 'root',
  );
});
