import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, toBytes, toText } from '../bytes/index.ts';
import { createSigner, createVerifier, generateKey } from '../crypto/index.ts';
import { isVouchError } from '../errors.ts';
import { formatJson } from '../json/index.ts';
import { signEnvelope } from './dsse.ts';
import { digestSetsMatch } from './resource-descriptor.ts';
import {
  buildStatement,
  formatStatement,
  inTotoPayloadType,
  isInTotoPayloadType,
  matchSubjects,
  openStatement,
  parseStatement,
  type Statement,
  signStatement,
  statementType,
} from './statement.ts';

const sha256 = 'a'.repeat(64);
const sha512 = 'b'.repeat(128);
const provenance = 'https://slsa.dev/provenance/v1';

function statementText(fields: Record<string, unknown>): string {
  return JSON.stringify({ _type: statementType, predicateType: provenance, ...fields });
}
const parse = (text: string) => parseStatement(toBytes(text));

test('parseStatement accepts valid statements', async (t) => {
  const rows: readonly { name: string; text: string; expected: Statement }[] = [
    {
      name: 'minimal, predicate unset',
      text: statementText({ subject: [{ digest: { sha256 } }] }),
      expected: { subject: [{ digest: { sha256 } }], predicateType: provenance, predicate: {} },
    },
    {
      name: 'null predicate reads as empty',
      text: statementText({ subject: [{ digest: { sha256 } }], predicate: null }),
      expected: { subject: [{ digest: { sha256 } }], predicateType: provenance, predicate: {} },
    },
    {
      name: 'every descriptor field, unknown fields dropped',
      text: statementText({
        subject: [
          {
            name: 'rules-42.db',
            uri: 'pkg:generic/rules@42',
            digest: { sha256, sha512, gitCommit: 'c'.repeat(40), shake256: 'abcd', vendorHash: 'XYZ' },
            content: 'aGk=',
            downloadLocation: 'https://downloads.example.org/Rules-42.db',
            mediaType: 'application/x.vouch-rules',
            annotations: { reviewed: true },
            'x-unknown': 1,
          },
        ],
        predicate: { buildDefinition: { externalParameters: { ratio: 0.5 } } },
        'x-extension': [1],
      }),
      expected: {
        subject: [
          {
            name: 'rules-42.db',
            uri: 'pkg:generic/rules@42',
            digest: { sha256, sha512, gitCommit: 'c'.repeat(40), shake256: 'abcd', vendorHash: 'XYZ' },
            content: new Uint8Array([0x68, 0x69]),
            downloadLocation: 'https://downloads.example.org/Rules-42.db',
            mediaType: 'application/x.vouch-rules',
            annotations: { reviewed: true },
          },
        ],
        predicateType: provenance,
        predicate: { buildDefinition: { externalParameters: { ratio: 0.5 } } },
      },
    },
    {
      name: 'the placeholder name _ may repeat',
      text: statementText({
        subject: [
          { name: '_', digest: { sha256 } },
          { name: '_', digest: { sha512 } },
        ],
      }),
      expected: {
        subject: [
          { name: '_', digest: { sha256 } },
          { name: '_', digest: { sha512 } },
        ],
        predicateType: provenance,
        predicate: {},
      },
    },
    {
      name: 'git SHA-256 commit and null optional fields',
      text: statementText({ subject: [{ name: null, uri: null, digest: { gitCommit: 'd'.repeat(64) } }] }),
      expected: {
        subject: [{ digest: { gitCommit: 'd'.repeat(64) } }],
        predicateType: provenance,
        predicate: {},
      },
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      const statement = parse(row.text);
      // formatStatement itself is pinned to exact bytes in the buildStatement test.
      assert.equal(toText(formatStatement(statement)), toText(formatStatement(row.expected)));
      assert.equal(statement.subject.length, row.expected.subject.length);
      assert.ok(
        Object.isFrozen(statement) &&
          Object.isFrozen(statement.subject[0]) &&
          Object.isFrozen(statement.predicate),
      );
    });
  }
});

test('parseStatement names every bad field', async (t) => {
  const good = { digest: { sha256 } };
  const rows: readonly { name: string; text: string; fields: readonly string[] }[] = [
    { name: 'not an object', text: '"statement"', fields: ['$'] },
    { name: 'empty object', text: '{}', fields: ['_type', 'subject', 'predicateType'] },
    {
      name: 'Statement v0.1',
      text: statementText({ _type: 'https://in-toto.io/Statement/v0.1', subject: [good] }),
      fields: ['_type'],
    },
    { name: 'subject empty', text: statementText({ subject: [] }), fields: ['subject'] },
    { name: 'subject not an array', text: statementText({ subject: good }), fields: ['subject'] },
    {
      name: 'subject entry not an object',
      text: statementText({ subject: [good, 'x'] }),
      fields: ['subject[1]'],
    },
    {
      name: 'subject without digest',
      text: statementText({ subject: [{ name: 'a', uri: 'https://example.org/a' }] }),
      fields: ['subject[0].digest'],
    },
    {
      name: 'empty digest set',
      text: statementText({ subject: [{ digest: {} }] }),
      fields: ['subject[0].digest'],
    },
    {
      name: 'digest set not an object',
      text: statementText({ subject: [{ digest: [sha256] }] }),
      fields: ['subject[0].digest'],
    },
    {
      name: 'uppercase hex',
      text: statementText({ subject: [{ digest: { sha256: sha256.toUpperCase() } }] }),
      fields: ['subject[0].digest.sha256'],
    },
    {
      name: 'short sha256',
      text: statementText({ subject: [{ digest: { sha256: 'ab' } }] }),
      fields: ['subject[0].digest.sha256'],
    },
    {
      name: 'sha512 of sha256 length',
      text: statementText({ subject: [{ digest: { sha512: sha256 } }] }),
      fields: ['subject[0].digest.sha512'],
    },
    {
      name: 'gitCommit of 41 digits',
      text: statementText({ subject: [{ digest: { gitCommit: 'c'.repeat(41) } }] }),
      fields: ['subject[0].digest.gitCommit'],
    },
    {
      name: 'shake256 odd length',
      text: statementText({ subject: [{ digest: { shake256: 'abc' } }] }),
      fields: ['subject[0].digest.shake256'],
    },
    {
      name: 'digest value not a string',
      text: statementText({ subject: [{ digest: { sha256, other: 5 } }] }),
      fields: ['subject[0].digest.other'],
    },
    {
      name: 'every descriptor field mistyped',
      text: statementText({
        subject: [
          {
            name: 1,
            uri: 'HTTPS://example.org',
            digest: { sha256 },
            content: 'a',
            downloadLocation: 'relative/path',
            mediaType: [],
            annotations: [],
          },
        ],
      }),
      fields: [
        'subject[0].name',
        'subject[0].uri',
        'subject[0].downloadLocation',
        'subject[0].mediaType',
        'subject[0].content',
        'subject[0].annotations',
      ],
    },
    {
      name: 'uri with uppercase authority',
      text: statementText({ subject: [{ uri: 'https://Example.org/x', digest: { sha256 } }] }),
      fields: ['subject[0].uri'],
    },
    {
      name: 'uri with a space',
      text: statementText({ subject: [{ uri: 'https://example.org/a b', digest: { sha256 } }] }),
      fields: ['subject[0].uri'],
    },
    {
      name: 'duplicate name and uri',
      text: statementText({
        subject: [
          { name: 'a', uri: 'https://example.org/a', digest: { sha256 } },
          { name: 'a', uri: 'https://example.org/a', digest: { sha512 } },
        ],
      }),
      fields: ['subject[1].name', 'subject[1].uri'],
    },
    {
      name: 'predicateType missing',
      text: JSON.stringify({ _type: statementType, subject: [good] }),
      fields: ['predicateType'],
    },
    {
      name: 'predicateType not a URI',
      text: statementText({ subject: [good], predicateType: 'slsa provenance' }),
      fields: ['predicateType'],
    },
    {
      name: 'predicateType with uppercase authority',
      text: statementText({ subject: [good], predicateType: 'https://SLSA.dev/provenance/v1' }),
      fields: ['predicateType'],
    },
    {
      name: 'predicate is an array',
      text: statementText({ subject: [good], predicate: [] }),
      fields: ['predicate'],
    },
    {
      name: 'predicate is a string',
      text: statementText({ subject: [good], predicate: 'x' }),
      fields: ['predicate'],
    },
    {
      name: 'problems in every layer at once',
      text: JSON.stringify({
        _type: 1,
        subject: [{ digest: { sha256: 'x' } }, {}],
        predicateType: 'x',
        predicate: 1,
      }),
      fields: ['_type', 'subject[0].digest.sha256', 'subject[1].digest', 'predicateType', 'predicate'],
    },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      assert.throws(
        () => parse(row.text),
        (e: unknown) => isVouchError(e, 'malformed') && (e.details.fields ?? []).join() === row.fields.join(),
      );
    });
  }
  await t.test('duplicate JSON member', () => {
    const text = `{"_type":"${statementType}","predicateType":"${provenance}","predicateType":"https://evil.example/v1","subject":[{"digest":{"sha256":"${sha256}"}}]}`;
    assert.throws(
      () => parse(text),
      (e: unknown) => isVouchError(e, 'malformed') && e.details.field === 'predicateType',
    );
  });
  await t.test('subject count cap', () => {
    const text = statementText({ subject: [good, { digest: { sha512 } }] });
    assert.throws(
      () => parseStatement(toBytes(text), { maxSubjects: 1 }),
      (e: unknown) => isVouchError(e, 'too-large'),
    );
  });
  await t.test('size cap', () => {
    const text = statementText({ subject: [good] });
    assert.throws(
      () => parseStatement(toBytes(text), { maxBytes: 10 }),
      (e: unknown) => isVouchError(e, 'too-large'),
    );
  });
});

test('buildStatement', async (t) => {
  const input = {
    subject: [{ name: 'rules-42.db', digest: { sha256 } }],
    predicateType: provenance,
    predicate: { builder: { id: 'https://vouch.example/builder/ch-zrh' } },
  };
  await t.test('formats with sorted keys and parses back to the same bytes', () => {
    const statement = buildStatement(input);
    const bytes = formatStatement(statement);
    assert.equal(
      toText(bytes),
      `{"_type":"https://in-toto.io/Statement/v1","predicate":{"builder":{"id":"https://vouch.example/builder/ch-zrh"}},"predicateType":"https://slsa.dev/provenance/v1","subject":[{"digest":{"sha256":"${sha256}"},"name":"rules-42.db"}]}`,
    );
    assert.deepEqual(formatStatement(parseStatement(bytes)), bytes);
  });
  await t.test('the result is detached from the input', () => {
    const predicate = { count: 1 };
    const statement = buildStatement({ ...input, predicate });
    predicate.count = 2;
    assert.equal(statement.predicate['count'], 1);
  });
  await t.test('a subject with only sha1 is refused', () => {
    assert.throws(
      () =>
        buildStatement({ ...input, subject: [{ digest: { sha256 } }, { digest: { sha1: 'e'.repeat(40) } }] }),
      (e: unknown) =>
        isVouchError(e, 'invalid-argument') && (e.details.fields ?? []).join() === 'subject[1].digest',
    );
  });
  await t.test('sha1 is fine when the caller accepts it', () => {
    buildStatement({ ...input, subject: [{ digest: { sha1: 'e'.repeat(40) } }] }, ['sha1']);
  });
  await t.test('schema problems are invalid arguments with every field', () => {
    assert.throws(
      () => buildStatement({ subject: [], predicateType: 'nope' }),
      (e: unknown) =>
        isVouchError(e, 'invalid-argument') && (e.details.fields ?? []).join() === 'subject,predicateType',
    );
  });
  await t.test('values JSON cannot carry are refused', () => {
    assert.throws(
      () => buildStatement({ ...input, predicate: { when: new Date(0) } as never }),
      (e: unknown) => isVouchError(e, 'invalid-argument') && e.details.field === 'predicate.when',
    );
  });
});

test('subjects match by accepted digests only', async (t) => {
  const statement = parse(
    statementText({
      subject: [
        { name: 'a', digest: { sha256, sha512 } },
        { name: 'b', digest: { sha1: 'e'.repeat(40) } },
        { name: 'c', digest: { sha256: 'f'.repeat(64) } },
      ],
    }),
  );
  const rows: readonly {
    name: string;
    digest: Record<string, string>;
    accepted?: string[];
    names: string[];
  }[] = [
    { name: 'by sha256', digest: { sha256 }, names: ['a'] },
    { name: 'by sha512', digest: { sha512 }, names: ['a'] },
    {
      name: 'one agreeing, one disagreeing algorithm',
      digest: { sha256, sha512: 'c'.repeat(128) },
      names: [],
    },
    { name: 'sha1 is not accepted by default', digest: { sha1: 'e'.repeat(40) }, names: [] },
    { name: 'sha1 when accepted', digest: { sha1: 'e'.repeat(40) }, accepted: ['sha1'], names: ['b'] },
    { name: 'unknown algorithms never match', digest: { vendorHash: 'x' }, accepted: [], names: [] },
    { name: 'nothing in common', digest: { sha384: '1'.repeat(96) }, names: [] },
  ];
  for (const row of rows) {
    await t.test(row.name, () => {
      assert.deepEqual(
        matchSubjects(statement, row.digest, row.accepted).map((s) => s.name),
        row.names,
      );
    });
  }
  await t.test('prototype keys are not digests', () => {
    assert.equal(digestSetsMatch({ constructor: 'x' } as never, {}, ['constructor', 'toString']), false);
  });
});

test('isInTotoPayloadType', () => {
  for (const ok of [
    inTotoPayloadType,
    'application/vnd.in-toto.provenance+json',
    'application/vnd.in-toto.vsa+json',
  ]) {
    assert.ok(isInTotoPayloadType(ok), ok);
  }
  for (const bad of [
    'application/json',
    'application/vnd.in-toto+dsse',
    'application/vnd.in-toto.+json',
    'APPLICATION/VND.IN-TOTO+JSON',
  ]) {
    assert.ok(!isInTotoPayloadType(bad), bad);
  }
});

test('sign and open statements', async (t) => {
  const key = generateKey('ed25519');
  const signer = createSigner('builder', key);
  const verifier = createVerifier('ed25519', key.publicKey);
  const statement = buildStatement({
    subject: [{ name: 'x', digest: { sha256 } }],
    predicateType: provenance,
  });
  await t.test('round trip', async () => {
    const envelope = await signStatement(statement, [signer]);
    assert.equal(envelope.payloadType, inTotoPayloadType);
    const opened = openStatement(envelope, [verifier], 1);
    assert.deepEqual(formatStatement(opened.statement), formatStatement(statement));
    assert.deepEqual(opened.verifiedKeyIds, [signer.keyId]);
  });
  await t.test('a predicate-specific media type is accepted', async () => {
    const envelope = await signEnvelope(
      'application/vnd.in-toto.provenance+json',
      formatStatement(statement),
      [signer],
    );
    assert.equal(
      openStatement(envelope, [verifier], 1).payloadType,
      'application/vnd.in-toto.provenance+json',
    );
  });
  await t.test('a signed payload of another type is refused', async () => {
    const envelope = await signEnvelope('application/vnd.vouch.other+json', formatStatement(statement), [
      signer,
    ]);
    assert.throws(
      () => openStatement(envelope, [verifier], 1),
      (e: unknown) => isVouchError(e, 'invalid-argument'),
    );
  });
  await t.test('a signed but invalid statement is refused', async () => {
    const envelope = await signEnvelope(inTotoPayloadType, toBytes('{"_type":"x"}'), [signer]);
    assert.throws(
      () => openStatement(envelope, [verifier], 1),
      (e: unknown) => isVouchError(e, 'malformed'),
    );
  });
  await t.test('an unsigned statement is never parsed', async () => {
    const other = createSigner('other', generateKey('ed25519'));
    const envelope = await signEnvelope(inTotoPayloadType, toBytes('not json'), [other]);
    assert.throws(
      () => openStatement(envelope, [verifier], 1),
      (e: unknown) => isVouchError(e, 'policy-unmet'),
    );
  });
});

test('fuzz: parseStatement gives a value or a VouchError', () => {
  const valid = formatStatement(
    buildStatement({
      subject: [
        { name: 'a', uri: 'https://example.org/a', digest: { sha256, sha512 }, content: new Uint8Array([1]) },
      ],
      predicateType: provenance,
      predicate: { k: [1, 'v', null] },
    }),
  );
  const check = (bytes: Uint8Array) => {
    try {
      parseStatement(bytes, { maxBytes: 4096, maxSubjects: 8 });
    } catch (e) {
      assert.ok(isVouchError(e), String(e));
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { seed: 0x57a701, numRuns: 1000 });
  const shapes = fc.record({
    _type: fc.oneof(fc.constant(statementType), fc.jsonValue()),
    subject: fc.oneof(
      fc.array(
        fc.dictionary(fc.constantFrom('name', 'uri', 'digest', 'content', 'annotations'), fc.jsonValue()),
      ),
      fc.jsonValue(),
    ),
    predicateType: fc.oneof(fc.constant(provenance), fc.string()),
    predicate: fc.jsonValue(),
  });
  fc.assert(
    fc.property(shapes, (value) => check(formatJson(value))),
    { seed: 0x57a702, numRuns: 1000 },
  );
  const edits = fc.array(
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 255 })),
    {
      minLength: 1,
      maxLength: 3,
    },
  );
  fc.assert(
    fc.property(edits, (list) => {
      let bytes: Uint8Array = new Uint8Array(valid);
      for (const [at, kind, byte] of list) {
        const i = at % bytes.length;
        if (kind === 0) bytes = concatBytes(bytes.subarray(0, i), bytes.subarray(i + 1));
        else if (kind === 1)
          bytes = concatBytes(bytes.subarray(0, i), new Uint8Array([byte]), bytes.subarray(i));
        else bytes[i] = byte;
      }
      check(bytes);
    }),
    { seed: 0x57a703, numRuns: 2000 },
  );
});

test('signStatement validates hand-made statements', async () => {
  const signer = createSigner('builder', generateKey('ed25519'));
  const handMade = {
    subject: [{ digest: { md5: '0'.repeat(32) } }],
    predicateType: provenance,
    predicate: {},
  };
  await assert.rejects(signStatement(handMade, [signer]), (e: unknown) =>
    isVouchError(e, 'invalid-argument'),
  );
});
