import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { toBytes, toText } from '../bytes/index.ts';
import { isVouchError, type VouchError } from '../errors.ts';
import { formatLedgerEntry, type LedgerEntry, parseLedgerEntry } from './ledger.ts';

const h = 'b'.repeat(64);
const person: LedgerEntry = {
  principal: {
    kind: 'person',
    id: 'alice',
    employer: 'Vouch AG',
    officeCountry: 'CH',
    physicalCountry: 'CH',
    role: 'support',
  },
  action: 'access',
  purpose: 'support',
  justification: 'customer reported a false positive',
  ticket: 'SUP-1234',
  approval: 'c'.repeat(64),
  tenant: 'acme',
  site: 'ch-zrh',
  scope: `samples/${h}`,
  count: 1,
  time: '2025-01-01T12:00:00Z',
  policyDigest: h,
  decision: 'allow',
  reasons: ['permit: staff-in-ch'],
};
const job: LedgerEntry = {
  principal: { kind: 'job', id: 'detection-statistics', role: 'statistics' },
  action: 'read',
  purpose: 'detection-statistics',
  justification: 'scheduled daily run',
  tenant: 'acme',
  site: 'ch-zrh',
  scope: 'detections:2025-01-01',
  count: 48213,
  time: '2025-01-02T00:00:05Z',
  policyDigest: h,
  decision: 'allow',
  reasons: [],
};

test('ledger entries are canonical JSON and round-trip exactly', () => {
  for (const entry of [person, job]) {
    const bytes = formatLedgerEntry(entry);
    assert.deepEqual(parseLedgerEntry(bytes), entry);
    assert.deepEqual(formatLedgerEntry(parseLedgerEntry(bytes)), bytes);
  }
  assert.equal(
    toText(formatLedgerEntry(job)),
    `{"_type":"https://vouch.example/access-ledger-entry/v1","action":"read","count":48213,"decision":"allow","justification":"scheduled daily run","policyDigest":"${h}","principal":{"id":"detection-statistics","kind":"job","role":"statistics"},"purpose":"detection-statistics","reasons":[],"scope":"detections:2025-01-01","site":"ch-zrh","tenant":"acme","time":"2025-01-02T00:00:05Z"}`,
  );
});

function edit(
  change: (d: Record<string, Record<string, unknown>>) => void,
  base: LedgerEntry = person,
): Uint8Array {
  const doc = JSON.parse(toText(formatLedgerEntry(base))) as Record<string, Record<string, unknown>>;
  change(doc);
  return toBytes(JSON.stringify(doc));
}

test('parseLedgerEntry refuses bad entries naming the field', () => {
  const rows: [string, Uint8Array, string, RegExp?][] = [
    [
      'UK office',
      edit((d) => {
        d['principal'] = { ...d['principal'], officeCountry: 'UK' };
      }),
      'principal.officeCountry',
      /GB/,
    ],
    [
      'person without physical country',
      edit((d) => {
        const { physicalCountry: _, ...rest } = d['principal'] ?? {};
        d['principal'] = rest;
      }),
      'principal.physicalCountry',
    ],
    [
      'person without employer',
      edit((d) => {
        const { employer: _, ...rest } = d['principal'] ?? {};
        d['principal'] = rest;
      }),
      'principal.employer',
    ],
    [
      'robot kind',
      edit((d) => {
        d['principal'] = { ...d['principal'], kind: 'robot' };
      }),
      'principal.kind',
    ],
    [
      'no action',
      edit((d) => {
        delete (d as Record<string, unknown>)['action'];
      }),
      'action',
    ],
    [
      'an action the policy does not know',
      edit((d) => {
        (d as Record<string, unknown>)['action'] = 'delete';
      }),
      'action',
    ],
    [
      'bad decision',
      edit((d) => {
        (d as Record<string, unknown>)['decision'] = 'maybe';
      }),
      'decision',
    ],
    [
      'negative count',
      edit((d) => {
        (d as Record<string, unknown>)['count'] = -1;
      }),
      'count',
    ],
    [
      'uppercase digest',
      edit((d) => {
        (d as Record<string, unknown>)['policyDigest'] = 'B'.repeat(64);
      }),
      'policyDigest',
    ],
    [
      'bad approval',
      edit((d) => {
        (d as Record<string, unknown>)['approval'] = 'sha256:abc';
      }),
      'approval',
    ],
    [
      'time in ms',
      edit((d) => {
        (d as Record<string, unknown>)['time'] = '2025-01-01T12:00:00.000Z';
      }),
      'time',
    ],
    [
      'reason with newline',
      edit((d) => {
        (d as Record<string, unknown>)['reasons'] = ['ok', 'a\nb'];
      }),
      'reasons[1]',
    ],
    [
      'scope with space',
      edit((d) => {
        (d as Record<string, unknown>)['scope'] = 'all data';
      }),
      'scope',
    ],
    [
      'unknown field',
      edit((d) => {
        (d as Record<string, unknown>)['note'] = 'x';
      }),
      'note',
    ],
    [
      'missing tenant',
      edit((d) => {
        delete (d as Record<string, unknown>)['tenant'];
      }),
      'tenant',
    ],
    [
      'bad site',
      edit((d) => {
        (d as Record<string, unknown>)['site'] = 'zurich';
      }),
      'site',
    ],
    ['not canonical', toBytes(`${toText(formatLedgerEntry(person))} `), '$'],
  ];
  for (const [name, bytes, field, pattern] of rows) {
    assert.throws(
      () => parseLedgerEntry(bytes),
      (e: unknown) => {
        assert.ok(isVouchError(e, 'malformed'), `${name}: ${String(e)}`);
        const err = e as VouchError;
        const fields = (err.details.fields as string[] | undefined) ?? [];
        assert.ok(
          err.details.field === field || fields.includes(field),
          `${name}: ${JSON.stringify(err.details)}`,
        );
        if (pattern !== undefined) assert.match(err.message + JSON.stringify(err.details), pattern, name);
        return true;
      },
      name,
    );
  }
});

test('ledger entries are bounded', () => {
  assert.throws(
    () => parseLedgerEntry(new Uint8Array(8 * 1024 + 1)),
    (e: unknown) => isVouchError(e, 'too-large'),
  );
  const many = { ...person, reasons: Array.from({ length: 33 }, () => 'r') };
  assert.throws(
    () => formatLedgerEntry(many),
    (e: unknown) => isVouchError(e, 'too-large'),
  );
  const long = { ...person, reasons: Array.from({ length: 32 }, () => 'r'.repeat(256)) };
  assert.throws(
    () => formatLedgerEntry(long),
    (e: unknown) => isVouchError(e, 'too-large') && e.details.limit === 8192,
  );
  assert.throws(
    () => formatLedgerEntry({ ...person, count: 1.5 }),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
});

test('property: valid entries round-trip; mutated bytes give an entry or our typed error', () => {
  const text = fc
    .string({ minLength: 1, maxLength: 60 })
    .filter((s) => s.trim() === s && !/\p{Cc}|[\u2028\u2029]/u.test(s) && s.isWellFormed());
  fc.assert(
    fc.property(
      text,
      fc.array(text, { maxLength: 5 }),
      fc.maxSafeNat(),
      fc.constantFrom<'allow' | 'deny'>('allow', 'deny'),
      fc.boolean(),
      (justification, reasons, count, decision, isJob) => {
        const entry: LedgerEntry = { ...(isJob ? job : person), justification, reasons, count, decision };
        const bytes = formatLedgerEntry(entry);
        assert.deepEqual(parseLedgerEntry(bytes), entry);
      },
    ),
    { seed: 61, numRuns: 200 },
  );
  const bytes = formatLedgerEntry(person);
  fc.assert(
    fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const m = new Uint8Array(bytes);
      m[at] = value;
      try {
        parseLedgerEntry(m);
      } catch (e) {
        assert.ok(isVouchError(e, 'malformed') || isVouchError(e, 'too-large'), String(e));
      }
    }),
    { seed: 62, numRuns: 400 },
  );
});
