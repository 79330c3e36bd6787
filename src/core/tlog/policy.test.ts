import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes, toBytes, toText } from '../bytes/index.ts';
import { createSigner, generateKey, type KeyType } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import { createNoteSigner, formatVerifierKey, parseVerifierKey } from '../note/index.ts';
import { createCosigner } from './cosignature.ts';
import {
  formatPolicy,
  isPolicyToken,
  maxPolicyBytes,
  maxPolicyEntries,
  maxPolicyLines,
  type Policy,
  type PolicyGroup,
  parsePolicy,
} from './policy.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));

function logVkey(name: string, keyType: KeyType = 'ed25519'): string {
  return formatVerifierKey(createNoteSigner(createSigner(name, generateKey(keyType))));
}

function witnessVkey(name: string, keyType: KeyType = 'ed25519'): string {
  return formatVerifierKey(createCosigner(createSigner(name, generateKey(keyType)), { timestamp: 1n }));
}

const log = logVkey('example.com/log');
const log2 = logVkey('example.com/other-log');
const witnessKeys = Array.from({ length: 8 }, (_, i) => witnessVkey(`witness${i}.example`));
const [w0, w1, w2, w3, w4, w5] = witnessKeys as [string, string, string, string, string, string];

function parse(text: string): Policy {
  return parsePolicy(toBytes(text));
}

test('the spec example policy, with its elided keys filled in', () => {
  const text = `log ${log}

witness X1 ${w0}
witness X2 ${w1}
witness X3 ${w2}
group X-witnesses 2 X1 X2 X3

witness Y1 ${w3}
witness Y2 ${w4}
witness Y3 ${w5}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`;
  const policy = parse(text);
  assert.equal(policy.logs.length, 1);
  assert.equal(policy.logs[0]?.key.name, 'example.com/log');
  assert.deepEqual(
    policy.witnesses.map((w) => [w.name, formatVerifierKey(w.key)]),
    [
      ['X1', w0],
      ['X2', w1],
      ['X3', w2],
      ['Y1', w3],
      ['Y2', w4],
      ['Y3', w5],
    ],
  );
  assert.deepEqual(
    policy.groups.map((g) => [g.name, g.threshold, g.k, g.members]),
    [
      ['X-witnesses', 2, 2, ['X1', 'X2', 'X3']],
      ['Y-witnesses', 'any', 1, ['Y1', 'Y2', 'Y3']],
      ['X-and-Y', 'all', 2, ['X-witnesses', 'Y-witnesses']],
    ],
  );
  assert.equal(policy.quorum, 'X-and-Y');
  assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy.groups) && Object.isFrozen(policy.groups[0]));
  // The canonical form: no blank lines, witnesses before groups; it parses to the same policy.
  const lines = text.split('\n').filter((line) => line !== '');
  const canonical = toText(formatPolicy(policy));
  assert.equal(
    canonical,
    `${[lines[0], ...lines.filter((l) => l.startsWith('witness ')), ...lines.filter((l) => l.startsWith('group ')), 'quorum X-and-Y'].join('\n')}\n`,
  );
  assert.deepEqual(parse(canonical), policy);
});

test('whitespace, comments, URLs, opaque names and the order of lines', () => {
  const text = [
    '# A policy for the Vouch release log',
    '   # an indented comment, with non-ASCII: \u00e9\u2014',
    '',
    ' \t ',
    `\tlog  ${log}\t https://log.example.com/tiles/  `,
    `log ${log2}`,
    `witness\t\u00c5rhus ${w0} https://w\u00e9.example/`,
    `witness K ${w1}`,
    `witness \u212a ${w2}`, // a Kelvin sign: another name than K
    'group g-k any K \u212a',
    'quorum g-k',
    'group unused all g-k \u00c5rhus', // groups and witnesses may follow the quorum line
    `witness late ${w3}`,
    '',
  ].join('\n');
  const policy = parse(text);
  assert.deepEqual(
    policy.logs.map((l) => [l.key.name, l.url]),
    [
      ['example.com/log', 'https://log.example.com/tiles/'],
      ['example.com/other-log', undefined],
    ],
  );
  assert.ok(!('url' in (policy.logs[1] ?? {})));
  assert.deepEqual(
    policy.witnesses.map((w) => [w.name, w.url]),
    [
      ['\u00c5rhus', 'https://w\u00e9.example/'],
      ['K', undefined],
      ['\u212a', undefined],
      ['late', undefined],
    ],
  );
  assert.deepEqual(policy.groups[0]?.members, ['K', '\u212a']);
  assert.equal(policy.quorum, 'g-k');
  const canonical = formatPolicy(policy);
  assert.deepEqual(parsePolicy(canonical), policy);
  assert.deepEqual(formatPolicy(parsePolicy(canonical)), canonical);
  assert.match(
    toText(canonical),
    /^log .*\nlog .*\nwitness .*\n(witness .*\n){3}group .*\ngroup .*\nquorum g-k\n$/,
  );
});

test('comments may hold any octet with the high bit set, and a policy needs only a quorum', () => {
  const bytes = concatBytes(toBytes('# '), Uint8Array.of(0xff, 0x80, 0xc3), toBytes('\nquorum none\n'));
  const policy = parsePolicy(bytes);
  assert.deepEqual(policy, { logs: [], witnesses: [], groups: [], quorum: 'none' });
  assert.equal(toText(formatPolicy(policy)), 'quorum none\n');
  assert.equal(parse(`witness w ${w0}\nquorum w\n`).quorum, 'w');
});

test('witness keys: 0x04 and 0x06 are cosignature keys; 0x01 is refused with its 0x04 spelling', () => {
  const mlDsa = witnessVkey('pq.example', 'ml-dsa-44');
  const policy = parse(`witness ed ${w0}\nwitness pq ${mlDsa}\ngroup both all ed pq\nquorum both\n`);
  assert.deepEqual(
    policy.witnesses.map((w) => w.key.type),
    [0x04, 0x06],
  );
  assert.deepEqual(parsePolicy(formatPolicy(policy)), policy);

  // The transparency-dev/formats test witness, published as a type 0x01 vkey.
  const cosignature = vectors.cosignatureV1;
  assert.throws(
    () => parse(`# Go tooling's spelling\nwitness Wit1 ${cosignature.vkeyType01}\nquorum Wit1\n`),
    (error: unknown) =>
      isVouchError(error, 'bad-key') &&
      error.details.field === 'line 2' &&
      error.message.includes('type 0x01') &&
      error.message.endsWith(cosignature.vkeyType04),
  );
  const fixed = parse(`witness Wit1 ${cosignature.vkeyType04}\nquorum Wit1\n`);
  assert.equal(fixed.witnesses[0]?.key.keyId, parseVerifierKey(cosignature.vkeyType04).keyId);
  // Logs may use any note signature type, including the cosignature ones (tlog-checkpoint).
  for (const vkey of [logVkey('l1', 'ecdsa-p256'), witnessVkey('l2'), witnessVkey('l3', 'ml-dsa-44')]) {
    const [parsed] = parse(`log ${vkey}\nquorum none\n`).logs;
    assert.equal(parsed === undefined ? undefined : formatVerifierKey(parsed.key), vkey);
  }
});

test('malformed policies are refused, naming the line', () => {
  const ecdsa = logVkey('witness.example', 'ecdsa-p256');
  // The same Ed25519 public key as `log`, as a cosignature key under another name.
  const logKey = parseVerifierKey(log);
  const logAsWitness = formatVerifierKey({ name: 'w.example', type: 0x04, publicKey: logKey.publicKey });
  const w0Renamed = formatVerifierKey({ ...parseVerifierKey(w0), name: 'renamed.example' });
  const rows: { name: string; text: string | Uint8Array; code: string; field?: string; message?: RegExp }[] =
    [
      { name: 'empty', text: '', code: 'malformed', field: 'quorum' },
      { name: 'only comments', text: '# nothing\n\n', code: 'malformed', field: 'quorum' },
      {
        name: 'no final newline',
        text: 'quorum none',
        code: 'malformed',
        field: 'line 1',
        message: /newline/,
      },
      {
        name: 'CRLF line ends',
        text: 'quorum none\r\n',
        code: 'malformed',
        field: 'line 1',
        message: /control/,
      },
      { name: 'a NUL octet', text: '# \0\nquorum none\n', code: 'malformed', field: 'line 1' },
      { name: 'a DEL octet', text: 'quorum none\n#\x7f\n', code: 'malformed', field: 'line 2' },
      { name: 'a form feed', text: 'quorum\fnone\n', code: 'malformed', field: 'line 1' },
      {
        name: 'two quorum lines',
        text: 'quorum none\nquorum none\n',
        code: 'malformed',
        field: 'line 2',
        message: /first is on line 1/,
      },
      { name: 'a quorum of an undefined name', text: 'quorum w\n', code: 'malformed', field: 'line 1' },
      {
        name: 'a quorum of a later name',
        text: `quorum w\nwitness w ${w0}\n`,
        code: 'malformed',
        field: 'line 1',
      },
      {
        name: 'a quorum line with two names',
        text: `witness w ${w0}\nquorum w w\n`,
        code: 'malformed',
        field: 'line 2',
      },
      { name: 'a bare quorum line', text: 'quorum\n', code: 'malformed', field: 'line 1' },
      {
        name: 'an unknown keyword',
        text: 'quorum none\nmirror m\n',
        code: 'malformed',
        field: 'line 2',
        message: /keyword/,
      },
      {
        name: 'a keyword in capitals',
        text: `Log ${log}\nquorum none\n`,
        code: 'malformed',
        field: 'line 1',
      },
      {
        name: 'a comment after a line',
        text: `log ${log} # ours\nquorum none\n`,
        code: 'malformed',
        field: 'line 1',
      },
      { name: 'a log line without a key', text: 'log\nquorum none\n', code: 'malformed', field: 'line 1' },
      {
        name: 'a log line with three fields',
        text: `log ${log} https://a/ https://b/\nquorum none\n`,
        code: 'malformed',
        field: 'line 1',
      },
      {
        name: 'a bad log vkey',
        text: 'log example.com+00000000+AAAA\nquorum none\n',
        code: 'bad-key',
        field: 'line 1',
      },
      {
        name: 'a duplicate log key',
        text: `log ${log}\nlog ${log}\nquorum none\n`,
        code: 'malformed',
        field: 'line 2',
        message: /line 1/,
      },
      {
        name: 'a witness line without a key',
        text: `witness w\nquorum none\n`,
        code: 'malformed',
        field: 'line 1',
      },
      {
        name: 'a witness line with four fields',
        text: `witness w ${w0} https://a/ x\nquorum none\n`,
        code: 'malformed',
        field: 'line 1',
      },
      {
        name: 'a witness with a note key (0x02)',
        text: `witness w ${ecdsa}\nquorum none\n`,
        code: 'bad-key',
        field: 'line 1',
        message: /not a cosignature key/,
      },
      {
        name: 'a witness with a bad vkey',
        text: `witness w ${w0.slice(0, -2)}\nquorum none\n`,
        code: 'bad-key',
        field: 'line 1',
      },
      {
        name: 'two witnesses with one public key',
        text: `witness a ${w0}\nwitness b ${w0Renamed}\nquorum none\n`,
        code: 'malformed',
        field: 'line 2',
        message: /same public key/,
      },
      {
        name: 'the same key listed twice',
        text: `witness a ${w0}\n\nwitness b ${w0}\nquorum none\n`,
        code: 'malformed',
        field: 'line 3',
      },
      {
        name: 'a log key as a witness key',
        text: `log ${log}\nwitness w ${logAsWitness}\nquorum none\n`,
        code: 'malformed',
        field: 'line 2',
        message: /the log on line 1/,
      },
      {
        name: 'a witness name defined twice',
        text: `witness w ${w0}\nwitness w ${w1}\nquorum none\n`,
        code: 'malformed',
        field: 'line 2',
        message: /already defined on line 1/,
      },
      {
        name: 'a group named like a witness',
        text: `witness w ${w0}\ngroup w any w\nquorum none\n`,
        code: 'malformed',
        field: 'line 2',
      },
      {
        name: 'a witness named none',
        text: `witness none ${w0}\nquorum none\n`,
        code: 'malformed',
        field: 'line 1',
        message: /predefined/,
      },
      {
        name: 'a group named none',
        text: `witness w ${w0}\ngroup none any w\nquorum none\n`,
        code: 'malformed',
        field: 'line 2',
      },
      {
        name: 'none as a member',
        text: `witness w ${w0}\ngroup g any w none\nquorum g\n`,
        code: 'malformed',
        field: 'line 2',
      },
      {
        name: 'an undefined member',
        text: `witness w ${w0}\ngroup g any w v\nquorum g\n`,
        code: 'malformed',
        field: 'line 2',
        message: /"v" is not defined/,
      },
      {
        name: 'a member defined later',
        text: `group g any w\nwitness w ${w0}\nquorum g\n`,
        code: 'malformed',
        field: 'line 1',
      },
      {
        name: 'a group that lists itself',
        text: `witness w ${w0}\ngroup g any w g\nquorum g\n`,
        code: 'malformed',
        field: 'line 2',
      },
      {
        name: 'a member listed twice',
        text: `witness w ${w0}\ngroup g 1 w w\nquorum g\n`,
        code: 'malformed',
        field: 'line 2',
        message: /twice/,
      },
      {
        name: 'a group without members',
        text: `group g any\nquorum none\n`,
        code: 'malformed',
        field: 'line 1',
      },
      {
        name: 'a group without a threshold',
        text: `group g\nquorum none\n`,
        code: 'malformed',
        field: 'line 1',
      },
      { name: 'k = 0', text: `witness w ${w0}\ngroup g 0 w\nquorum g\n`, code: 'malformed', field: 'line 2' },
      {
        name: 'k > n',
        text: `witness w ${w0}\nwitness v ${w1}\ngroup g 3 w v\nquorum g\n`,
        code: 'malformed',
        field: 'line 3',
        message: /more than its 2 members/,
      },
      {
        name: 'k with a leading zero',
        text: `witness w ${w0}\ngroup g 01 w\nquorum g\n`,
        code: 'malformed',
        field: 'line 2',
      },
      {
        name: 'a negative k',
        text: `witness w ${w0}\ngroup g -1 w\nquorum g\n`,
        code: 'malformed',
        field: 'line 2',
      },
      {
        name: 'a huge k',
        text: `witness w ${w0}\ngroup g 99999999999999999999 w\nquorum g\n`,
        code: 'malformed',
        field: 'line 2',
      },
      {
        name: 'ALL in capitals',
        text: `witness w ${w0}\ngroup g ALL w\nquorum g\n`,
        code: 'malformed',
        field: 'line 2',
      },
      {
        name: 'a name that is not UTF-8',
        text: concatBytes(toBytes('witness '), Uint8Array.of(0xc3, 0x28), toBytes(` ${w0}\nquorum none\n`)),
        code: 'malformed',
        field: 'line 1',
        message: /UTF-8/,
      },
      {
        name: 'an over-long name',
        text: `witness ${'n'.repeat(1025)} ${w0}\nquorum none\n`,
        code: 'too-large',
        field: 'line 1',
      },
      {
        name: 'an over-long vkey',
        text: `log ${'a'.repeat(5000)}\nquorum none\n`,
        code: 'too-large',
        field: 'line 1',
      },
      { name: 'too many bytes', text: `${'#'.repeat(maxPolicyBytes)}\nquorum none\n`, code: 'too-large' },
      { name: 'too many lines', text: `${'\n'.repeat(maxPolicyLines)}quorum none\n`, code: 'too-large' },
    ];
  for (const row of rows) {
    const bytes = typeof row.text === 'string' ? toBytes(row.text) : row.text;
    assert.throws(
      () => parsePolicy(bytes),
      (error: unknown) => {
        assert.ok(error instanceof VouchError, `${row.name}: ${String(error)}`);
        assert.equal(error.code, row.code, `${row.name}: ${error.message}`);
        if (row.field !== undefined)
          assert.equal(error.details.field, row.field, `${row.name}: ${error.message}`);
        if (row.message !== undefined) assert.match(error.message, row.message, row.name);
        return true;
      },
      row.name,
    );
  }
});

test('the spec minimum of 32 logs, witnesses and groups is supported, and 256 is the limit', () => {
  const logs = Array.from({ length: 32 }, (_, i) => `log ${logVkey(`example.com/log${i}`)}\n`);
  const witnesses = Array.from({ length: 32 }, (_, i) => `witness w${i} ${witnessVkey(`w${i}.example`)}\n`);
  const groups = Array.from({ length: 32 }, (_, i) =>
    i === 0 ? 'group g0 any w0\n' : `group g${i} 2 g${i - 1} w${i}\n`,
  );
  const policy = parse(`${logs.join('')}${witnesses.join('')}${groups.join('')}quorum g31\n`);
  assert.deepEqual([policy.logs.length, policy.witnesses.length, policy.groups.length], [32, 32, 32]);
  assert.deepEqual(parsePolicy(formatPolicy(policy)), policy);

  const manyGroups = (n: number) =>
    `witness w ${w0}\n${Array.from({ length: n }, (_, i) => `group g${i} any w\n`).join('')}quorum none\n`;
  assert.equal(parse(manyGroups(maxPolicyEntries)).groups.length, maxPolicyEntries);
  assert.throws(
    () => parse(manyGroups(maxPolicyEntries + 1)),
    (e: unknown) => isVouchError(e, 'too-large') && e.details.field === `line ${maxPolicyEntries + 2}`,
  );
});

test('formatPolicy refuses what parsePolicy would refuse', () => {
  const good = parse(`witness w ${w0}\nwitness v ${w1}\ngroup g any w v\nquorum g\n`);
  const group = good.groups[0] as PolicyGroup;
  const rows: { name: string; policy: Policy }[] = [
    { name: 'a name with a space', policy: { ...good, quorum: 'a b' } },
    { name: 'an empty URL', policy: { ...good, logs: [{ key: parseVerifierKey(log), url: '' }] } },
    {
      name: 'a newline in a URL',
      policy: { ...good, logs: [{ key: parseVerifierKey(log), url: 'a\nquorum none' }] },
    },
    { name: 'an undefined quorum', policy: { ...good, quorum: 'nobody' } },
    { name: 'k = 0', policy: { ...good, groups: [{ ...group, threshold: 0, k: 0 }] } },
    { name: 'k not matching any', policy: { ...good, groups: [{ ...group, k: 2 }] } },
    { name: 'an undefined member', policy: { ...good, groups: [{ ...group, members: ['w', 'x'] }] } },
    {
      name: 'a 0x01 witness key',
      policy: { ...good, witnesses: [{ name: 'w', key: parseVerifierKey(log) }] },
    },
  ];
  for (const row of rows) {
    assert.throws(
      () => formatPolicy(row.policy),
      (e: unknown) => isVouchError(e, 'invalid-argument'),
      row.name,
    );
  }
  assert.ok(isPolicyToken('https://w\u00e9.example/'));
  for (const bad of ['', 'a b', 'a\tb', 'a\nb', '\u0000', '\ud800', 'x'.repeat(1025)])
    assert.ok(!isPolicyToken(bad));
});

// A pool of keys for generated policies: generating keys inside a property would be slow.
const pool = {
  logs: Array.from({ length: 3 }, (_, i) => parseVerifierKey(logVkey(`example.com/pool-log${i}`))),
  witnesses: witnessKeys.map((vkey) => parseVerifierKey(vkey)),
};

// arbitraryPolicy generates valid policies from the key pool: names, URLs, groups and a quorum.
const arbitraryPolicy: fc.Arbitrary<Policy> = fc
  .record({
    logs: fc.subarray(pool.logs),
    witnessCount: fc.integer({ min: 0, max: pool.witnesses.length }),
    urls: fc.array(fc.option(fc.webUrl(), { nil: undefined }), { minLength: 12, maxLength: 12 }),
    groupSeeds: fc.array(
      fc.record({
        members: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        threshold: fc.oneof(fc.constant('all' as const), fc.constant('any' as const), fc.nat()),
      }),
      { maxLength: 6 },
    ),
    quorumSeed: fc.nat(),
    nameStyle: fc.constantFrom('w', 'witness.example/', '\u00e9-'),
  })
  .map(({ logs, witnessCount, urls, groupSeeds, quorumSeed, nameStyle }) => {
    const witnesses = pool.witnesses.slice(0, witnessCount).map((key, i) => {
      const url = urls[i];
      return { name: `${nameStyle}${i}`, key, ...(url === undefined ? {} : { url }) };
    });
    const names = witnesses.map((w) => w.name);
    const groups: PolicyGroup[] = [];
    if (names.length > 0) {
      groupSeeds.forEach((seed, i) => {
        const members = [...new Set(seed.members.map((m) => names[m % names.length] as string))];
        const threshold =
          typeof seed.threshold === 'number' ? (seed.threshold % members.length) + 1 : seed.threshold;
        const k = threshold === 'all' ? members.length : threshold === 'any' ? 1 : threshold;
        groups.push({ name: `group-${i}`, threshold, k, members });
        names.push(`group-${i}`);
      });
    }
    const quorum =
      quorumSeed % (names.length + 1) === names.length
        ? 'none'
        : (names[quorumSeed % (names.length + 1)] as string);
    return {
      logs: logs.map((key, i) => {
        const url = urls[11 - i];
        return { key, ...(url === undefined ? {} : { url }) };
      }),
      witnesses,
      groups,
      quorum,
    };
  });

test('property: generated policies format and parse back to themselves', () => {
  fc.assert(
    fc.property(arbitraryPolicy, (policy) => {
      const bytes = formatPolicy(policy);
      const parsed = parsePolicy(bytes);
      assert.deepEqual(parsed, policy);
      assert.deepEqual(formatPolicy(parsed), bytes);
    }),
    { seed: 20260704, numRuns: 200 },
  );
});

function parsesOrTypedError(bytes: Uint8Array): void {
  try {
    const policy = parsePolicy(bytes);
    // Whatever parses, formats, and its canonical form parses to the same policy.
    assert.deepEqual(parsePolicy(formatPolicy(policy)), policy);
  } catch (error) {
    if (!(error instanceof VouchError) || !['malformed', 'too-large', 'bad-key'].includes(error.code)) {
      throw error;
    }
  }
}

test('fuzz: random bytes, shuffled fields and mutated policies give a policy or a typed error', () => {
  const base = toText(
    formatPolicy(
      parse(
        `log ${log} https://log/\nwitness a ${w0}\nwitness b ${w1} https://b/\ngroup g 2 a b\ngroup h any g a\nquorum h\n`,
      ),
    ),
  );
  const vocabulary = [
    'log',
    'witness',
    'group',
    'quorum',
    'none',
    'all',
    'any',
    '1',
    '2',
    '0',
    'a',
    'b',
    'g',
    'h',
    '#',
    log,
    w0,
    w1,
    w2,
    '\t',
    ' ',
  ];
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc
          .array(fc.array(fc.constantFrom(...vocabulary), { maxLength: 6 }), { maxLength: 10 })
          .map((lines) => toBytes(lines.map((fields) => `${fields.join(' ')}\n`).join(''))),
        fc
          .tuple(fc.nat({ max: base.length }), fc.nat({ max: 40 }), fc.string({ maxLength: 12 }))
          .map(([at, cut, insert]) => toBytes(base.slice(0, at) + insert + base.slice(at + cut))),
        fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
          const bytes = toBytes(base);
          bytes[at % bytes.length] = byte;
          return bytes;
        }),
      ),
      (bytes) => parsesOrTypedError(bytes),
    ),
    { seed: 4242, numRuns: 2000 },
  );
});
