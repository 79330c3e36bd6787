import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { detection, type SiteData, startSiteData } from '../../../test/support/site-data-fixture.ts';
import { formatBase64, parseBase64 } from '../../core/bytes/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { createNoteSigner, formatVerifierKey } from '../../core/note/index.ts';
import { createCosigner } from '../../core/tlog/cosignature.ts';
import { formatMyAccess, myAccess, parseMyAccess, verifyMyAccess } from './my-access.ts';

let s: SiteData;
let file: Uint8Array;

before(async () => {
  s = await startSiteData();
  await s.addTenant({ id: 'acme', country: 'JP' });
  await s.addTenant({ id: 'bravo', country: 'US' });
  await s.ingest('acme', [detection('Win.Test.EICAR', '2025-03-01T08:00:00Z')]);
  const read = (tenant: string, purpose = 'detection-statistics') =>
    s.reads
      .read({
        reader: { kind: 'job', id: 'detection-statistics', purpose: 'detection-statistics' },
        action: 'read',
        tenant,
        purpose,
        justification: 'registered job',
        select: { limit: 10 },
      })
      .catch(() => undefined);
  await read('acme');
  await read('bravo');
  await read('acme', 'sample-triage'); // denied, ledgered
  await read('acme');
  file = formatMyAccess(await myAccess(s.witnessed.ledger, 'acme'));
});
after(() => s.close());

test('a tenant gets its own entries with proofs and verifies them offline with the 2-of-2 witness quorum', () => {
  const verified = verifyMyAccess(file, s.witnessed.vkey, s.witnessed.policyText, { tenant: 'acme' });
  assert.equal(verified.origin, 'ledger.ch-zrh.vouch.example');
  assert.deepEqual(
    verified.entries.map((e) => [e.index, e.entry.decision]),
    [
      [0n, 'allow'],
      [2n, 'deny'],
      [3n, 'allow'],
    ],
  );
  assert.deepEqual(
    verified.cosigners.map((c) => c.witness),
    ['w1', 'w2'],
  );
  assert.deepEqual(parseMyAccess(file).entries.length, 3);
});

type Doc = { entries: { entry: string; proof: string }[]; tenant: string; origin: string };

function edit(change: (doc: Doc) => void): Uint8Array {
  const doc = JSON.parse(new TextDecoder().decode(file)) as Doc;
  change(doc);
  return new TextEncoder().encode(JSON.stringify(doc));
}

const acme = { tenant: 'acme' } as const;

test('tampering, another ledger key, a weaker quorum and mixed-up entries are refused', async () => {
  const otherKey = formatVerifierKey(
    createNoteSigner(createSigner('ledger.ch-zrh.vouch.example', generateKey('ed25519'))),
  );
  const bravo = formatMyAccess(await myAccess(s.witnessed.ledger, 'bravo'));
  const bravoEntry = (JSON.parse(new TextDecoder().decode(bravo)) as Doc).entries[0];
  const strictPolicy = new TextEncoder().encode(
    `${new TextDecoder().decode(s.witnessed.policyText).replace('group quorum 2 w1 w2', 'group quorum 3 w1 w2 w3').replace('witness w2', `witness w3 ${extraWitness()}\nwitness w2`)}`,
  );
  const cases: [string, () => unknown, string][] = [
    [
      'an entry changed',
      () =>
        verifyMyAccess(
          edit((d) => {
            const e = d.entries[0] as { entry: string };
            e.entry = formatBase64(
              new TextEncoder().encode(
                new TextDecoder().decode(parseBase64(e.entry)).replace('"count":1', '"count":0'),
              ),
            );
          }),
          s.witnessed.vkey,
          s.witnessed.policyText,
          acme,
        ),
      'bad-proof',
    ],
    [
      'another ledger key',
      () => verifyMyAccess(file, otherKey, s.witnessed.policyText, acme),
      'no-trusted-signature',
    ],
    [
      'an entry of another tenant',
      () =>
        verifyMyAccess(
          edit((d) => d.entries.push(bravoEntry as { entry: string; proof: string })),
          s.witnessed.vkey,
          s.witnessed.policyText,
          acme,
        ),
      'policy-unmet',
    ],
    [
      'a repeated entry',
      () =>
        verifyMyAccess(
          edit((d) => d.entries.push(d.entries[0] as { entry: string; proof: string })),
          s.witnessed.vkey,
          s.witnessed.policyText,
          acme,
        ),
      'invalid-argument',
    ],
    [
      'a tenant not asked about',
      () => verifyMyAccess(file, s.witnessed.vkey, s.witnessed.policyText, { tenant: 'bravo' }),
      'policy-unmet',
    ],
    [
      'a quorum the proofs do not meet',
      () => verifyMyAccess(file, s.witnessed.vkey, strictPolicy, acme),
      'policy-unmet',
    ],
    [
      'garbage',
      () => verifyMyAccess(new TextEncoder().encode('{}'), s.witnessed.vkey, s.witnessed.policyText, acme),
      'malformed',
    ],
  ];
  for (const [name, run, code] of cases) {
    assert.throws(run, (e) => isVouchError(e) && e.code === code, name);
  }
});

function extraWitness(): string {
  // A cosignature vkey (type 0x04) of a witness that never cosigned anything.
  const signer = createSigner('witness3.supervisor.example', generateKey('ed25519'));
  return formatVerifierKey(createCosigner(signer, { name: signer.name, timestamp: 1n }));
}

test('regression (fuzz site-my-access): an origin with a control character is refused, so the file round-trips', () => {
  // Minimal input found by test/fuzz: a JSON-escaped form feed in the origin was accepted, and
  // formatMyAccess (canonical JSON, control characters raw) then wrote a file nothing could parse.
  const input =
    '{"_type":"https://vouch.example/my-access/v1","entries":[],"origin":"a\\fb","site":"ch-zrh","tenant":"acme"}';
  assert.throws(
    () => parseMyAccess(new TextEncoder().encode(input)),
    (e: unknown) => isVouchError(e, 'malformed') && e.details.field === 'origin',
  );
  const fine = parseMyAccess(new TextEncoder().encode(input.replace('a\\fb', 'ab')));
  assert.deepEqual(parseMyAccess(formatMyAccess(fine)), fine);
});
