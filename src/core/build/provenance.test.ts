import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatStatement, openStatement, parseStatement, signStatement } from '../attest/index.ts';
import { createSigner, createVerifier, generateKey } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import type { JsonObject } from '../json/index.ts';
import {
  buildProvenance,
  type ProvenanceInput,
  parseProvenance,
  slsaProvenanceType,
  vouchBuildType,
} from './provenance.ts';

const h = (c: string, n = 64) => c.repeat(n);
const input: ProvenanceInput = {
  builderId: 'https://vouch.example/builders/ch-zrh',
  source: { folder: 'examples/hello', commit: h('c', 40), treeHash: h('e') },
  recipe: { path: 'recipe.json', sha256: h('d') },
  resolvedDependencies: [{ name: 'greeting.txt', sha256: h('1') }],
  sandbox: { isolation: 'bwrap', network: false },
  hermetic: true,
  sourceDateEpoch: 1_700_000_000,
  byproducts: [{ name: 'logs/1-generate.stdout', sha256: h('2') }],
  subjects: [
    { name: 'hello.txt', sha256: h('a'), sha512: h('a', 128) },
    { name: 'hello-1.0.0.tar.gz', sha256: h('b'), sha512: h('b', 128) },
  ],
};

test('buildProvenance writes the SLSA v1 fields and parses back', () => {
  const statement = buildProvenance(input);
  assert.equal(statement.predicateType, slsaProvenanceType);
  const json = JSON.parse(new TextDecoder().decode(formatStatement(statement)));
  assert.equal(json.predicate.buildDefinition.buildType, vouchBuildType);
  assert.deepEqual(json.predicate.buildDefinition.externalParameters, {
    source: { folder: 'examples/hello', commit: h('c', 40), treeHash: h('e') },
    recipe: { path: 'recipe.json', digest: { sha256: h('d') } },
  });
  assert.equal(json.predicate.buildDefinition.internalParameters.hermetic, true);
  assert.deepEqual(json.predicate.runDetails.builder, { id: input.builderId });
  assert.deepEqual(json.predicate.runDetails.byproducts, [
    { name: 'logs/1-generate.stdout', digest: { sha256: h('2') } },
  ]);
  const parsed = parseProvenance(parseStatement(formatStatement(statement)));
  assert.equal(parsed.builderId, input.builderId);
  assert.deepEqual(parsed.source, input.source);
  assert.equal(parsed.hermetic, true);
  assert.deepEqual(
    parsed.subjects.map((s) => s.name),
    ['hello.txt', 'hello-1.0.0.tar.gz'],
  );
});

test('a signed provenance opens with the builder key', async () => {
  const signer = createSigner('ch-zrh', generateKey('ed25519'));
  const envelope = await signStatement(buildProvenance(input), [signer]);
  const opened = openStatement(envelope, [createVerifier('ed25519', signer.publicKey)], 1);
  assert.equal(parseProvenance(opened.statement).sourceDateEpoch, input.sourceDateEpoch);
});

function edit(root: unknown, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let at = root as Record<string, unknown>;
  for (const key of keys) at = at[key] as Record<string, unknown>;
  if (value === undefined) delete at[last];
  else at[last] = value;
}

test('bad provenance names every bad field', async (t) => {
  const good = JSON.parse(new TextDecoder().decode(formatStatement(buildProvenance(input))));
  const rows: readonly { name: string; edits: [string, unknown][]; fields: string[] }[] = [
    {
      name: 'other build type',
      edits: [['predicate.buildDefinition.buildType', 'https://x.example/t']],
      fields: ['predicate.buildDefinition.buildType'],
    },
    {
      name: 'missing tree hash and hermetic',
      edits: [
        ['predicate.buildDefinition.externalParameters.source.treeHash', undefined],
        ['predicate.buildDefinition.internalParameters.hermetic', undefined],
      ],
      fields: [
        'predicate.buildDefinition.externalParameters.source.treeHash',
        'predicate.buildDefinition.internalParameters.hermetic',
      ],
    },
    {
      name: 'subject without sha512',
      edits: [['subject.0.digest.sha512', undefined]],
      fields: ['subject[0].digest.sha512'],
    },
    {
      name: 'http builder id',
      edits: [['predicate.runDetails.builder.id', 'http://x']],
      fields: ['predicate.runDetails.builder.id'],
    },
    {
      name: 'byproduct without digest',
      edits: [['predicate.runDetails.byproducts.0.digest', undefined]],
      fields: ['predicate.runDetails.byproducts[0].digest'],
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      const copy = structuredClone(good);
      for (const [path, value] of row.edits) edit(copy, path, value);
      const statement = parseStatement(new TextEncoder().encode(JSON.stringify(copy)));
      assert.throws(
        () => parseProvenance(statement),
        (e: unknown) =>
          isVouchError(e, 'malformed') && JSON.stringify(e.details.fields) === JSON.stringify(row.fields),
      );
    });
  }
});

test('buildProvenance refuses input its verifier would refuse', () => {
  assert.throws(
    () => buildProvenance({ ...input, source: { treeHash: 'nothex' } }),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
});

test('parseProvenance returns a value or a VouchError on any predicate', () => {
  const subject = [{ name: 'a', digest: { sha256: h('a'), sha512: h('a', 128) } }];
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (predicate) => {
      try {
        parseProvenance({ subject, predicateType: slsaProvenanceType, predicate: predicate as JsonObject });
      } catch (e) {
        if (!isVouchError(e)) throw e;
      }
    }),
    { seed: 7, numRuns: 300 },
  );
});
