import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { toBytes } from '../bytes/index.ts';
import { createSigner, generateKey, type KeyType, type Signer } from '../crypto/index.ts';
import { isVouchError, VouchError } from '../errors.ts';
import { leafHash, merkleTreeHash, proveInclusion } from '../merkle/index.ts';
import {
  createNoteSigner,
  formatNote,
  formatVerifierKey,
  type NoteSignature,
  parseSignerKey,
  signText,
} from '../note/index.ts';
import { formatCheckpoint } from './checkpoint.ts';
import { createCosigner } from './cosignature.ts';
import { type Policy, type PolicyGroup, parsePolicy } from './policy.ts';
import { formatTlogProof, type TlogProof } from './proof.ts';
import {
  checkCheckpointPolicy,
  checkTlogProofPolicy,
  describeUnmetQuorum,
  evaluateQuorum,
  type PolicyCheckedCheckpoint,
  policyVerifiers,
} from './quorum.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/tlog.json', import.meta.url), 'utf8'));

const origin = 'example.com/log';
const entries = Array.from({ length: 13 }, (_, i) => toBytes(`entry ${i}`));
const leaves = entries.map(leafHash);
const text = formatCheckpoint({ origin, size: 13n, root: merkleTreeHash(leaves), extensions: [] });

interface Party {
  readonly signer: Signer;
  readonly vkey: string;
}

function logParty(name: string): Party {
  const signer = createSigner(name, generateKey('ed25519'));
  return { signer, vkey: formatVerifierKey(createNoteSigner(signer)) };
}

function witnessParty(name: string, keyType: KeyType = 'ed25519'): Party {
  const signer = createSigner(name, generateKey(keyType));
  return { signer, vkey: formatVerifierKey(createCosigner(signer, { timestamp: 1n })) };
}

async function cosign(party: Party, timestamp: bigint, on = text): Promise<NoteSignature> {
  return signText(on, createCosigner(party.signer, { timestamp }));
}

const log = logParty(origin);
const logLine = await signText(text, createNoteSigner(log.signer));
const witnessNames = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
const witnesses = new Map<string, Party>(witnessNames.map((n) => [n, witnessParty(`${n}.witness.example`)]));
witnesses.set('pq', witnessParty('pq.witness.example', 'ml-dsa-44'));
const stranger = witnessParty('stranger.example');
// One cosignature line per witness, at timestamp 1700000000 + its position.
const lines = new Map<string, NoteSignature>();
for (const [i, [name, party]] of [...witnesses].entries())
  lines.set(name, await cosign(party, 1_700_000_000n + BigInt(i)));
const strangerLine = await cosign(stranger, 1_700_000_000n);

function party(name: string): Party {
  const p = witnesses.get(name);
  assert.ok(p !== undefined, name);
  return p;
}

function line(name: string): NoteSignature {
  const l = lines.get(name);
  assert.ok(l !== undefined, name);
  return l;
}

/** policyOf writes a policy with the log and every named witness, then `rest` (groups and quorum). */
function policyOf(rest: string, names: readonly string[] = [...witnesses.keys()]): Policy {
  const witnessLines = names.map((n) => `witness ${n} ${party(n).vkey}\n`).join('');
  return parsePolicy(toBytes(`log ${log.vkey}\n${witnessLines}${rest}`));
}

/** noteWith is the checkpoint signed by the log (unless `withoutLog`) and cosigned by `signatures`. */
function noteWith(signatures: readonly NoteSignature[], withoutLog = false): Uint8Array {
  return formatNote({ text, signatures: withoutLog ? signatures : [logLine, ...signatures] });
}

function cosignedBy(names: readonly string[]): Uint8Array {
  return noteWith(names.map(line));
}

function isError(code: string, message?: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof VouchError, String(error));
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}

test('quorum tables: k of n, any, all, none, a single witness, nested groups, ML-DSA-44', () => {
  const rows: { name: string; rest: string; signers: string[]; unmet?: RegExp }[] = [
    {
      name: '2 of 3, one',
      rest: 'group g 2 a b c\nquorum g\n',
      signers: ['a'],
      unmet: /group "g" needs 2 of its 3 members and has 1, so 1 more of "b", "c"$/,
    },
    { name: '2 of 3, two', rest: 'group g 2 a b c\nquorum g\n', signers: ['a', 'b'] },
    { name: '2 of 3, three', rest: 'group g 2 a b c\nquorum g\n', signers: ['c', 'b', 'a'] },
    {
      name: '2 of 3, two outside',
      rest: 'group g 2 a b c\nquorum g\n',
      signers: ['c', 'd', 'e'],
      unmet: /has 1, so 1 more of "a", "b"/,
    },
    {
      name: 'any, none signed',
      rest: 'group g any a b c\nquorum g\n',
      signers: [],
      unmet: /needs 1 of its 3 members and has 0/,
    },
    { name: 'any, one', rest: 'group g any a b c\nquorum g\n', signers: ['c'] },
    {
      name: 'all, two of three',
      rest: 'group g all a b c\nquorum g\n',
      signers: ['a', 'b'],
      unmet: /needs 3 of its 3 members and has 2, so 1 more of "c"/,
    },
    { name: 'all, three', rest: 'group g all a b c\nquorum g\n', signers: ['a', 'b', 'c'] },
    { name: 'none, no cosignature', rest: 'quorum none\n', signers: [] },
    { name: 'none, with cosignatures', rest: 'quorum none\n', signers: ['a', 'pq'] },
    {
      name: 'one witness, another signed',
      rest: 'quorum a\n',
      signers: ['b'],
      unmet: /^witness quorum "a" is not met: witness "a" did not cosign$/,
    },
    { name: 'one witness, signed', rest: 'quorum a\n', signers: ['a'] },
    {
      name: 'spec example, X short',
      rest: 'group X 2 a b c\ngroup Y any d e f\ngroup XY all X Y\nquorum XY\n',
      signers: ['a', 'd'],
      unmet:
        /group "XY" needs 2 of its 2 members and has 1, so 1 more of group "X"; group "X" needs 2 of its 3 members and has 1, so 1 more of "b", "c"$/,
    },
    {
      name: 'spec example, Y short',
      rest: 'group X 2 a b c\ngroup Y any d e f\ngroup XY all X Y\nquorum XY\n',
      signers: ['a', 'b', 'c'],
      unmet:
        /so 1 more of group "Y"; group "Y" needs 1 of its 3 members and has 0, so 1 more of "d", "e", "f"$/,
    },
    {
      name: 'spec example, met',
      rest: 'group X 2 a b c\ngroup Y any d e f\ngroup XY all X Y\nquorum XY\n',
      signers: ['a', 'b', 'f'],
    },
    {
      name: 'a witness in two groups',
      rest: 'group p any a b\ngroup q any a c\ngroup both all p q\nquorum both\n',
      signers: ['a'],
    },
    {
      name: 'a witness in two groups, neither',
      rest: 'group p any a b\ngroup q any a c\ngroup both all p q\nquorum both\n',
      signers: ['b'],
      unmet: /more of group "q"/,
    },
    { name: 'ML-DSA-44 and Ed25519', rest: 'group g all a pq\nquorum g\n', signers: ['pq', 'a'] },
    {
      name: 'ML-DSA-44 missing',
      rest: 'group g all a pq\nquorum g\n',
      signers: ['a'],
      unmet: /1 more of "pq"/,
    },
  ];
  for (const row of rows) {
    const policy = policyOf(row.rest);
    const note = cosignedBy(row.signers);
    if (row.unmet !== undefined) {
      assert.throws(
        () => checkCheckpointPolicy(note, policy),
        (error: unknown) => {
          isError('policy-unmet', row.unmet)(error);
          assert.equal((error as VouchError).details.field, 'quorum', row.name);
          return true;
        },
        row.name,
      );
      assert.equal(evaluateQuorum(policy, row.signers).met, false, row.name);
      continue;
    }
    const checked = checkCheckpointPolicy(note, policy);
    assert.equal(checked.checkpoint.size, 13n, row.name);
    assert.equal(checked.log.key.name, origin, row.name);
    // Cosigners come in policy order, each with its key and timestamp.
    const expected = [...witnesses.keys()].filter((n) => row.signers.includes(n));
    assert.deepEqual(
      checked.cosigners.map((c) => c.witness),
      expected,
      row.name,
    );
    for (const c of checked.cosigners) {
      assert.equal(c.timestamp, 1_700_000_000n + BigInt([...witnesses.keys()].indexOf(c.witness)), row.name);
      assert.match(c.key, new RegExp(`^${c.witness}\\.witness\\.example\\+[0-9a-f]{8}$`), row.name);
    }
    assert.deepEqual(checked.stale, [], row.name);
    assert.equal(evaluateQuorum(policy, row.signers).met, true, row.name);
  }
});

test('a witness that cosigned twice counts once, at its newest timestamp', async () => {
  const again = await cosign(party('a'), 1_800_000_000n);
  const policy = policyOf('group g 2 a b c\nquorum g\n');
  assert.throws(
    () => checkCheckpointPolicy(noteWith([line('a'), again]), policy),
    isError('policy-unmet', /has 1/),
  );
  const checked = checkCheckpointPolicy(noteWith([line('a'), line('b'), again]), policy);
  assert.deepEqual(
    checked.cosigners.map((c) => [c.witness, c.timestamp]),
    [
      ['a', 1_800_000_000n],
      ['b', 1_700_000_001n],
    ],
  );
  // The very same line twice is also one cosignature.
  assert.throws(
    () => checkCheckpointPolicy(noteWith([line('a'), line('a')]), policy),
    isError('policy-unmet'),
  );
});

test('unknown signatures are ignored; a known key whose signature fails rejects the note', async () => {
  const policy = policyOf('group g 2 a b c\nquorum g\n');
  const withStranger = checkCheckpointPolicy(noteWith([strangerLine, line('a'), line('b')]), policy);
  assert.deepEqual(
    withStranger.cosigners.map((c) => c.witness),
    ['a', 'b'],
  );
  assert.deepEqual(withStranger.note.unverified, [strangerLine]);
  assert.throws(
    () => checkCheckpointPolicy(noteWith([strangerLine, line('a')]), policy),
    isError('policy-unmet'),
  );

  const flip = (s: NoteSignature): NoteSignature => {
    const signature = s.signature.slice();
    signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 1;
    return { ...s, signature };
  };
  // c's bad cosignature rejects the checkpoint even though a and b already meet the quorum.
  assert.throws(
    () => checkCheckpointPolicy(noteWith([line('a'), line('b'), flip(line('c'))]), policy),
    isError('bad-signature', /c\.witness\.example/),
  );
  // A witness's cosignature over another checkpoint is a bad signature on this one.
  const elsewhere = await cosign(party('c'), 1_700_000_000n, text.replace('\n13\n', '\n12\n'));
  assert.throws(
    () => checkCheckpointPolicy(noteWith([line('a'), line('b'), elsewhere]), policy),
    isError('bad-signature'),
  );
  // A stranger's bad signature is still just unknown.
  assert.equal(
    checkCheckpointPolicy(noteWith([flip(strangerLine), line('a'), line('b')]), policy).cosigners.length,
    2,
  );
  // And so is a bad log signature.
  assert.throws(
    () =>
      checkCheckpointPolicy(formatNote({ text, signatures: [flip(logLine), line('a'), line('b')] }), policy),
    isError('bad-signature', /example\.com\/log/),
  );
});

test('the log must have signed, even when the witness quorum is met', () => {
  const policy = policyOf('group g 2 a b c\nquorum g\n');
  const witnessesOnly = noteWith([line('a'), line('b'), line('c')], true);
  assert.throws(
    () => checkCheckpointPolicy(witnessesOnly, policy),
    isError('no-trusted-signature', /policy log key/),
  );
  assert.throws(
    () =>
      checkCheckpointPolicy(
        noteWith([line('a')], true),
        parsePolicy(toBytes(`log ${log.vkey}\nquorum none\n`)),
      ),
    isError('no-trusted-signature'),
  );
  // Another key under the log's name is unknown: no log signature.
  const impostor = logParty(origin);
  const policyWithImpostor = parsePolicy(
    toBytes(`log ${impostor.vkey}\nwitness a ${party('a').vkey}\nquorum a\n`),
  );
  assert.throws(
    () => checkCheckpointPolicy(cosignedBy(['a']), policyWithImpostor),
    isError('no-trusted-signature'),
  );
});

test('logs are picked by origin', async () => {
  const other = logParty('example.com/other');
  const otherText = formatCheckpoint({
    origin: 'example.com/other',
    size: 1n,
    root: leafHash(toBytes('x')),
    extensions: [],
  });
  const otherNote = formatNote({
    text: otherText,
    signatures: [
      await signText(otherText, createNoteSigner(other.signer)),
      await cosign(party('a'), 5n, otherText),
    ],
  });
  const both = parsePolicy(
    toBytes(`log ${other.vkey}\nlog ${log.vkey}\nwitness a ${party('a').vkey}\nquorum a\n`),
  );
  assert.equal(checkCheckpointPolicy(cosignedBy(['a']), both).log.key.name, origin);
  const checked = checkCheckpointPolicy(otherNote, both);
  assert.equal(checked.log.key.name, 'example.com/other');
  assert.deepEqual(
    checked.cosigners.map((c) => [c.witness, c.timestamp]),
    [['a', 5n]],
  );
  assert.throws(
    () => checkCheckpointPolicy(otherNote, policyOf('quorum a\n')),
    (e: unknown) =>
      isError('policy-unmet', /no log for origin "example\.com\/other"/)(e) &&
      (e as VouchError).details.field === 'origin',
  );
  assert.throws(
    () => checkCheckpointPolicy(otherNote, both, { origin }),
    isError('policy-unmet', /for origin "example\.com\/other", not "example\.com\/log"/),
  );
  assert.equal(checkCheckpointPolicy(cosignedBy(['a']), both, { origin }).checkpoint.origin, origin);
  // Garbage is a parse error before any key is chosen.
  assert.throws(() => checkCheckpointPolicy(toBytes('not a note'), both), isError('malformed'));
});

test('a witness published as a type 0x01 vkey by Go tooling: refused as such, verified as 0x04', async () => {
  const cosignature = vectors.cosignatureV1;
  const key = parseSignerKey(cosignature.skey);
  const wit1 = createSigner(key.name, key.material);
  const goLine = await signText(text, createCosigner(wit1, { timestamp: BigInt(cosignature.timestamp) }));
  const policyText = (vkey: string) => `log ${log.vkey}\nwitness wit1 ${vkey}\nquorum wit1\n`;
  assert.throws(
    () => parsePolicy(toBytes(policyText(cosignature.vkeyType01))),
    (e: unknown) => {
      assert.ok(isVouchError(e, 'bad-key'));
      assert.ok(e.message.endsWith(cosignature.vkeyType04));
      return true;
    },
  );
  const checked = checkCheckpointPolicy(
    noteWith([goLine]),
    parsePolicy(toBytes(policyText(cosignature.vkeyType04))),
  );
  assert.deepEqual(checked.cosigners, [{ witness: 'wit1', key: 'Wit1+9b3fb2d5', timestamp: 1679315147n }]);
});

test('freshness: stale cosignatures do not count', async () => {
  const early = await cosign(party('a'), 1000n);
  const late = await cosign(party('b'), 2000n);
  const policy = policyOf('group g all a b\nquorum g\n');
  const note = noteWith([early, late]);
  const rows: { name: string; now: bigint; maxAge: bigint; unmet?: RegExp; stale?: string[] }[] = [
    { name: 'both fresh', now: 2100n, maxAge: 1100n },
    { name: 'exactly at the bound', now: 2000n, maxAge: 1000n },
    { name: 'a is stale', now: 2100n, maxAge: 500n, unmet: /so 1 more of "a" \(stale\)$/ },
    { name: 'both stale', now: 1_000_000n, maxAge: 60n, unmet: /"a" \(stale\), "b" \(stale\)/ },
    { name: 'from the future', now: 500n, maxAge: 0n },
  ];
  for (const row of rows) {
    const options = { freshness: { now: row.now, maxAge: row.maxAge } };
    if (row.unmet !== undefined) {
      assert.throws(
        () => checkCheckpointPolicy(note, policy, options),
        isError('policy-unmet', row.unmet),
        row.name,
      );
    } else {
      assert.equal(checkCheckpointPolicy(note, policy, options).cosigners.length, 2, row.name);
    }
  }
  assert.equal(checkCheckpointPolicy(note, policy).cosigners.length, 2, 'off by default');
  // A stale cosignature is reported when the quorum is met without it.
  const anyOf = policyOf('group g any a b\nquorum g\n');
  const checked = checkCheckpointPolicy(note, anyOf, { freshness: { now: 2100n, maxAge: 500n } });
  assert.deepEqual(
    [checked.cosigners.map((c) => c.witness), checked.stale.map((c) => [c.witness, c.timestamp])],
    [['b'], [['a', 1000n]]],
  );
  assert.throws(
    () => checkCheckpointPolicy(note, policy, { freshness: { now: 2100n, maxAge: -1n } }),
    isError('invalid-argument'),
  );
  assert.throws(
    () =>
      checkCheckpointPolicy(note, policy, {
        freshness: { now: 2100, maxAge: 1n } as unknown as { now: bigint; maxAge: bigint },
      }),
    isError('invalid-argument'),
  );
  // A single-witness quorum names the stale witness too.
  assert.throws(
    () => checkCheckpointPolicy(note, policyOf('quorum a\n'), { freshness: { now: 2100n, maxAge: 500n } }),
    isError('policy-unmet', /witness "a" \(stale\) cosignature is too old/),
  );
});

// reference is the spec's definition, written independently: a witness witnesses a checkpoint
// when it cosigned; a group when at least k of its members witness it.
function reference(policy: Policy, cosigned: ReadonlySet<string>): boolean {
  if (policy.quorum === 'none') return true;
  const groups = new Map(policy.groups.map((g) => [g.name, g]));
  const witnesses = (name: string): boolean => {
    const group = groups.get(name);
    if (group === undefined) return cosigned.has(name);
    return group.members.filter(witnesses).length >= group.k;
  };
  return witnesses(policy.quorum);
}

// arbitraryQuorum generates a policy shape over `names` witnesses: groups over earlier names.
function arbitraryShape(names: readonly string[], maxGroups: number) {
  return fc
    .record({
      groups: fc.array(
        fc.record({
          members: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
          threshold: fc.oneof(fc.constant('all' as const), fc.constant('any' as const), fc.nat()),
        }),
        { maxLength: maxGroups },
      ),
      quorum: fc.nat(),
      signers: fc.subarray([...names]),
    })
    .map(({ groups: seeds, quorum, signers }) => {
      const defined = [...names];
      const groups: PolicyGroup[] = seeds.map((seed, i) => {
        const members = [...new Set(seed.members.map((m) => defined[m % defined.length] as string))];
        const threshold =
          typeof seed.threshold === 'number' ? (seed.threshold % members.length) + 1 : seed.threshold;
        const k = threshold === 'all' ? members.length : threshold === 'any' ? 1 : threshold;
        defined.push(`g${i}`);
        return { name: `g${i}`, threshold, k, members };
      });
      const pick = quorum % (defined.length + 1);
      return { groups, quorum: pick === defined.length ? 'none' : (defined[pick] as string), signers };
    });
}

function groupLines(groups: readonly PolicyGroup[]): string {
  return groups.map((g) => `group ${g.name} ${g.threshold} ${g.members.join(' ')}\n`).join('');
}

test('property: the quorum of a signed checkpoint is what the reference evaluator says', () => {
  const names = [...witnessNames];
  fc.assert(
    fc.property(
      arbitraryShape(names, 5),
      fc.boolean(),
      fc.nat(),
      ({ groups, quorum, signers }, addStranger, seed) => {
        const policy = policyOf(`${groupLines(groups)}quorum ${quorum}\n`, names);
        const signatures = signers.map(line);
        if (addStranger) signatures.push(strangerLine);
        // The order of signature lines does not matter.
        const shuffled = signatures
          .map((s, i) => ({ s, key: (i * 7919 + seed) % 101 }))
          .sort((x, y) => x.key - y.key);
        const note = noteWith(shuffled.map((x) => x.s));
        const expected = reference(policy, new Set(signers));
        let checked: PolicyCheckedCheckpoint | undefined;
        try {
          checked = checkCheckpointPolicy(note, policy);
        } catch (error) {
          if (!isVouchError(error, 'policy-unmet')) throw error;
        }
        assert.equal(checked !== undefined, expected);
        if (checked !== undefined) {
          assert.deepEqual(
            checked.cosigners.map((c) => c.witness),
            names.filter((n) => signers.includes(n)),
          );
        }
      },
    ),
    { seed: 7, numRuns: 150 },
  );
});

test('property: evaluateQuorum equals the reference on larger policies', () => {
  const names = Array.from({ length: 24 }, (_, i) => `w${i}`);
  const fakeWitnesses = names.map((name) => ({
    name,
    key: { name, keyId: 0, type: 0x04 as const, publicKey: new Uint8Array(32) },
  }));
  fc.assert(
    fc.property(arbitraryShape(names, 24), ({ groups, quorum, signers }) => {
      const policy: Policy = { logs: [], witnesses: fakeWitnesses, groups, quorum };
      const evaluation = evaluateQuorum(policy, [...signers, 'not-in-the-policy']);
      assert.equal(evaluation.met, reference(policy, new Set(signers)));
      for (const g of groups)
        assert.equal(
          evaluation.witnessed.has(g.name),
          reference({ ...policy, quorum: g.name }, new Set(signers)),
        );
      if (!evaluation.met) assert.match(describeUnmetQuorum(policy, evaluation), /is not met: /);
    }),
    { seed: 11, numRuns: 1000 },
  );
});

test('deeply shared groups evaluate in linear time', () => {
  // g(i) = 2 of g(i-1), g(i-2): a naive recursive evaluation would take Fibonacci(250) steps.
  const rest = ['group g0 all a b', 'group g1 any a g0'];
  for (let i = 2; i < 250; i++) rest.push(`group g${i} 2 g${i - 1} g${i - 2}`);
  const policy = policyOf(`${rest.join('\n')}\nquorum g249\n`, ['a', 'b']);
  assert.equal(checkCheckpointPolicy(cosignedBy(['a', 'b']), policy).cosigners.length, 2);
  const unmet = evaluateQuorum(policy, ['a']);
  assert.equal(unmet.met, false);
  assert.equal(unmet.witnessed.has('g1'), true);
  const message = describeUnmetQuorum(policy, unmet);
  assert.match(message, /^witness quorum "g249" is not met: group "g249" needs 2 of its 2 members and has 0/);
  assert.equal(message.split('; ').length, 9, 'eight groups and an ellipsis');
  assert.ok(message.endsWith('; ...'));
});

test('policyVerifiers covers the log and every witness', () => {
  const policy = policyOf('quorum none\n');
  const verifiers = policyVerifiers(policy);
  assert.deepEqual(
    verifiers.map((v) => [v.name, v.type]),
    [[origin, 0x01], ...[...witnesses.keys()].map((n) => [`${n}.witness.example`, n === 'pq' ? 0x06 : 0x04])],
  );
});

test('checkTlogProofPolicy: log signature, then quorum, then inclusion', () => {
  const policy = policyOf('group g 2 a b c\nquorum g\n');
  const proofOf = (index: number, note: Uint8Array): TlogProof => ({
    index: BigInt(index),
    proof: proveInclusion(leaves, BigInt(index)),
    checkpoint: note,
  });
  const good = proofOf(7, cosignedBy(['a', 'c']));
  for (const input of [good, formatTlogProof(good)]) {
    const checked = checkTlogProofPolicy(input, leafHash(entries[7] as Uint8Array), policy);
    assert.equal(checked.index, 7n);
    assert.equal(checked.checkpoint.size, 13n);
    assert.deepEqual(
      checked.cosigners.map((c) => c.witness),
      ['a', 'c'],
    );
  }
  const rows: {
    name: string;
    proof: TlogProof | Uint8Array;
    leaf: Uint8Array;
    check: (e: unknown) => boolean;
  }[] = [
    {
      name: 'another entry',
      proof: good,
      leaf: leafHash(entries[8] as Uint8Array),
      check: isError('bad-proof'),
    },
    {
      name: 'another index',
      proof: { ...good, index: 8n },
      leaf: leafHash(entries[7] as Uint8Array),
      check: isError('bad-proof'),
    },
    {
      name: 'one cosignature',
      proof: proofOf(7, cosignedBy(['a'])),
      leaf: leafHash(entries[8] as Uint8Array),
      check: isError('policy-unmet'),
    },
    {
      name: 'no log signature',
      proof: proofOf(7, noteWith([line('a'), line('b')], true)),
      leaf: leafHash(entries[7] as Uint8Array),
      check: isError('no-trusted-signature'),
    },
    {
      name: 'not a proof',
      proof: toBytes('c2sp.org/tlog-proof@v1\n'),
      leaf: leafHash(entries[7] as Uint8Array),
      check: isError('malformed'),
    },
    { name: 'a short leaf hash', proof: good, leaf: new Uint8Array(31), check: isError('malformed') },
  ];
  for (const row of rows)
    assert.throws(() => checkTlogProofPolicy(row.proof, row.leaf, policy), row.check, row.name);
});
