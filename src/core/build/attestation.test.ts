import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  formatStatement,
  openStatement,
  parseStatement,
  signStatement,
  statementFromJson,
} from '../attest/index.ts';
import { createSigner, createVerifier, generateKey } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../json/index.ts';
import {
  buildRebuildAttestation,
  compareSubjects,
  parseRebuildAttestation,
  type RebuildDifference,
  rebuildAttestationType,
} from './attestation.ts';

const h = (c: string) => c.repeat(64);
const rebuilderId = 'https://vouch.example/rebuilders/de-ber';

test('compareSubjects names every differing or one-sided subject, sorted', async (t) => {
  const rows: readonly {
    name: string;
    expected: [string, string][];
    actual: [string, string][];
    want: RebuildDifference[];
  }[] = [
    { name: 'equal', expected: [['a', h('1')]], actual: [['a', h('1')]], want: [] },
    {
      name: 'different digest',
      expected: [
        ['b', h('2')],
        ['a', h('1')],
      ],
      actual: [
        ['a', h('1')],
        ['b', h('3')],
      ],
      want: [{ name: 'b', expected: h('2'), actual: h('3') }],
    },
    {
      name: 'missing from rebuild',
      expected: [['a', h('1')]],
      actual: [],
      want: [{ name: 'a', expected: h('1') }],
    },
    {
      name: 'extra in rebuild',
      expected: [],
      actual: [['z', h('1')]],
      want: [{ name: 'z', actual: h('1') }],
    },
    {
      name: 'sorted by name',
      expected: [
        ['z', h('1')],
        ['m', h('1')],
      ],
      actual: [
        ['z', h('2')],
        ['m', h('2')],
      ],
      want: [
        { name: 'm', expected: h('1'), actual: h('2') },
        { name: 'z', expected: h('1'), actual: h('2') },
      ],
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      const got = compareSubjects(
        row.expected.map(([name, sha256]) => ({ name, digest: { sha256 } })),
        row.actual.map(([name, sha256]) => ({ name, sha256 })),
      );
      assert.deepEqual(got, row.want);
    });
  }
});

test('compareSubjects refuses duplicate names and treats a subject without sha256 as different', () => {
  assert.throws(
    () =>
      compareSubjects(
        [
          { name: 'a', digest: { sha256: h('1') } },
          { name: 'a', digest: { sha256: h('2') } },
        ],
        [],
      ),
    (e) => isVouchError(e, 'invalid-argument'),
  );
  assert.deepEqual(
    compareSubjects([{ name: 'a', digest: { sha512: h('1') } }], [{ name: 'a', sha256: h('1') }]),
    [{ name: 'a', actual: h('1') }],
  );
});

test('a rebuild attestation round-trips through DSSE and says match or mismatch', async () => {
  const material = generateKey('ed25519');
  const signer = createSigner('de-ber', material);
  for (const differences of [[], [{ name: 'share/hello.txt', expected: h('a'), actual: h('b') }]]) {
    const statement = buildRebuildAttestation({
      rebuilderId,
      provenanceName: 'provenance.dsse.json',
      provenanceSha256: h('c'),
      differences,
    });
    assert.equal(statement.predicateType, rebuildAttestationType);
    const envelope = await signStatement(statement, [signer]);
    const opened = openStatement(envelope, [createVerifier('ed25519', material.publicKey)], 1);
    const parsed = parseRebuildAttestation(parseStatement(formatStatement(opened.statement)));
    assert.deepEqual(parsed, {
      rebuilderId,
      provenanceSha256: h('c'),
      result: differences.length === 0 ? 'match' : 'mismatch',
      differences,
    });
  }
});

function mutated(change: (p: JsonObject) => void): JsonValue {
  const statement = buildRebuildAttestation({
    rebuilderId,
    provenanceName: 'provenance.dsse.json',
    provenanceSha256: h('c'),
    differences: [{ name: 'x', expected: h('a') }],
  });
  const json = JSON.parse(new TextDecoder().decode(formatStatement(statement)));
  change(json.predicate);
  return json;
}

test('parseRebuildAttestation names each bad field', async (t) => {
  const rows: readonly [string, (p: JsonObject) => void, string][] = [
    ['result disagrees', (p) => Object.assign(p, { result: 'match' }), 'predicate.result'],
    ['bad result', (p) => Object.assign(p, { result: 'maybe' }), 'predicate.result'],
    ['http rebuilder', (p) => Object.assign(p, { rebuilder: { id: 'http://x' } }), 'predicate.rebuilder.id'],
    [
      'short digest',
      (p) => Object.assign(p, { provenance: { digest: { sha256: 'ab' } } }),
      'predicate.provenance',
    ],
    ['no differences', (p) => Object.assign(p, { differences: 'none' }), 'predicate.differences'],
    [
      'same digests',
      (p) =>
        Object.assign(p, {
          differences: [{ name: 'x', expected: { sha256: h('a') }, actual: { sha256: h('a') } }],
        }),
      'predicate.differences',
    ],
  ];
  for (const [name, change, field] of rows) {
    await t.test(name, () => {
      assert.throws(
        () => parseRebuildAttestation(statementFromJson(mutated(change))),
        (e) => isVouchError(e, 'malformed') && JSON.stringify(e.details).includes(field),
      );
    });
  }
});

test('parseRebuildAttestation returns a value or malformed, never another throw', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      try {
        parseRebuildAttestation(statementFromJson(mutated((p) => Object.assign(p, { differences: value }))));
      } catch (e) {
        assert.ok(isVouchError(e, 'malformed') || isVouchError(e, 'too-large'), String(e));
      }
    }),
    { seed: 5, numRuns: 300 },
  );
});
