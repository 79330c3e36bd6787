/**
 * Interop: our canonical JSON against the two peers TUF clients use. `@tufjs/canonical-json`
 * (tuf-js) is a devDependency and always runs; securesystemslib (python-tuf's encoder) runs when
 * Debian's python3-securesystemslib is installed for /usr/bin/python3, and is skipped otherwise.
 *
 * Known divergence, asserted below: tuf-js sorts object keys by UTF-16 code unit, while
 * securesystemslib, go-securesystemslib and the OLPC text sort by code point (UTF-8 byte order).
 * They disagree only when, at the first differing position, one key has a character in
 * U+E000..U+FFFF and the other a character above U+FFFF. We follow securesystemslib.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { canonicalize } from '@tufjs/canonical-json';
import fc from 'fast-check';
import { formatBase64, toBytes, toText } from '../../src/core/bytes/index.ts';
import { formatCanonicalJson } from '../../src/core/json/index.ts';

// Characters at the boundaries that matter: the two escaped ones, control characters (emitted
// raw), the BMP/private-use/supplementary edges where the two sort orders split, and any other.
const char = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('a', 'b', 'A', '_', '0', '"', '\\', '/', '\n', '\u0000', '\u001f', '\u007f'),
  },
  { weight: 4, arbitrary: fc.constantFrom('é', '\u2028', '\ud7ff', '\ue000', '\ufeff', '\uffff') },
  { weight: 4, arbitrary: fc.constantFrom('\u{10000}', '\u{1f600}', '\u{10ffff}') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const text = fc.string({ unit: char, maxLength: 6 });
const safeInteger = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc.maxSafeInteger(),
);
const { value: canonicalValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    safeInteger,
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 6 }),
  ),
}));

function codeUnitOrderDiffers(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(codeUnitOrderDiffers);
  if (value === null || typeof value !== 'object') return false;
  const keys = Object.keys(value);
  const byUnit = [...keys].sort();
  const byByte = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return byUnit.some((k, i) => k !== byByte[i]) || Object.values(value).some(codeUnitOrderDiffers);
}

test('canonical JSON equals @tufjs/canonical-json wherever the two key orders agree', () => {
  let agreeing = 0;
  let diverging = 0;
  fc.assert(
    fc.property(canonicalValue, (value) => {
      const ours = formatCanonicalJson(value);
      const theirs = toBytes(canonicalize(value));
      if (!codeUnitOrderDiffers(value)) {
        agreeing++;
        assert.deepEqual(ours, theirs);
      } else {
        // Same members, other order: equal lengths and equal byte multisets, different bytes.
        diverging++;
        assert.notDeepEqual(ours, theirs);
        assert.deepEqual([...ours].sort(), [...theirs].sort());
      }
    }),
    { seed: 0x1e7e501, numRuns: 3000 },
  );
  assert.ok(agreeing > 1000 && diverging > 10, `agreeing ${agreeing}, diverging ${diverging}`);
});

test('the documented key-order divergence from @tufjs/canonical-json', () => {
  const value = { '\u{10000}': 1, '\uffff': 2 };
  assert.equal(toText(formatCanonicalJson(value)), '{"\uffff":2,"\u{10000}":1}');
  assert.equal(canonicalize(value), '{"\u{10000}":1,"\uffff":2}');
});

const python = '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import securesystemslib.formats'], { stdio: 'ignore' });
const haveSecuresystemslib = probe.status === 0;

const encodeLines = `
import base64, json, sys
from securesystemslib.formats import encode_canonical
for line in sys.stdin:
    print(base64.b64encode(encode_canonical(json.loads(line)).encode("utf-8")).decode())
`;

test('canonical JSON equals securesystemslib encode_canonical on generated values, divergent keys included', {
  skip: haveSecuresystemslib || process.env.CI ? false : 'python3-securesystemslib is not installed',
}, () => {
  const values = fc.sample(canonicalValue, { seed: 0x1e7e502, numRuns: 1500 });
  const input = `${values.map((v) => JSON.stringify(v)).join('\n')}\n`;
  const run = spawnSync(python, ['-c', encodeLines], { input, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trimEnd().split('\n');
  assert.equal(lines.length, values.length);
  let diverging = 0;
  values.forEach((value, i) => {
    if (codeUnitOrderDiffers(value)) diverging++;
    assert.equal(formatBase64(formatCanonicalJson(value)), lines[i], JSON.stringify(value));
  });
  assert.ok(diverging > 10, `only ${diverging} values exercise the key-order divergence`);
});
