import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { toBytes, toText } from '../bytes/index.ts';
import { isVouchError, type VouchError } from '../errors.ts';
import {
  formatTelemetryBatch,
  formatTelemetryEvent,
  parseTelemetryBatch,
  parseTelemetryEvent,
  type TelemetryBatch,
  type TelemetryEvent,
  telemetryBatchDigest,
  telemetryEventId,
} from './telemetry.ts';

const h = 'a'.repeat(64);
const t = '2025-01-01T12:00:00Z';
const uuid = '3f1c2a9e-8b4d-4c6e-9f0a-1b2c3d4e5f60';

const detection: TelemetryEvent = {
  kind: 'detection',
  time: t,
  sha256: h,
  signature: 'Win.Test.EICAR_HDB-1',
  database: 'main',
  databaseVersion: '62',
};
const update: TelemetryEvent = {
  kind: 'update',
  time: t,
  target: 'rules/main',
  from: '61',
  to: '62',
  outcome: 'refused',
  attack: 'rollback',
};
const sample: TelemetryEvent = {
  kind: 'sample',
  sha256: h,
  size: 1234,
  fileType: 'pe32',
  firstSeen: t,
  name: 'invoice "2025".exe',
};
const batch: TelemetryBatch = {
  batchId: uuid,
  tenant: 'acme',
  endpoint: 'host-17',
  events: [detection, update, sample],
};

test('a batch round-trips through its canonical JSON; agents may send any JSON spelling', () => {
  const bytes = formatTelemetryBatch(batch);
  assert.deepEqual(parseTelemetryBatch(bytes), batch);
  const pretty = toBytes(JSON.stringify(JSON.parse(toText(bytes)), null, 2));
  assert.deepEqual(parseTelemetryBatch(pretty), batch);
  const parsed = parseTelemetryBatch(bytes);
  assert.ok(Object.isFrozen(parsed) && Object.isFrozen(parsed.events) && Object.isFrozen(parsed.events[0]));
  const minimal: TelemetryBatch = {
    batchId: 'abcdefghijklmnop',
    tenant: 'a',
    endpoint: 'e',
    events: [{ kind: 'update', time: t, target: 'agent', to: '1.0.0', outcome: 'ok' }],
  };
  assert.deepEqual(parseTelemetryBatch(formatTelemetryBatch(minimal)), minimal);
});

test('event ids are <batchId>.<index>, the same for a retried batch', () => {
  assert.equal(telemetryEventId(uuid, 0), `${uuid}.0`);
  assert.equal(telemetryEventId(uuid, 999), `${uuid}.999`);
  assert.throws(
    () => telemetryEventId(uuid, 1000),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
  assert.throws(
    () => telemetryEventId('short', 0),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
  assert.equal(
    telemetryBatchDigest(batch),
    telemetryBatchDigest(parseTelemetryBatch(formatTelemetryBatch(batch))),
  );
  assert.notEqual(telemetryBatchDigest(batch), telemetryBatchDigest({ ...batch, events: [detection] }));
});

test('one stored event round-trips through its canonical JSON', () => {
  for (const event of [detection, update, sample]) {
    const bytes = formatTelemetryEvent(event);
    assert.deepEqual(parseTelemetryEvent(bytes), event);
  }
  assert.equal(
    toText(formatTelemetryEvent(detection)),
    `{"database":"main","databaseVersion":"62","kind":"detection","sha256":"${h}","signature":"Win.Test.EICAR_HDB-1","time":"${t}"}`,
  );
});

function withEvent(index: number, change: (e: Record<string, unknown>) => void): Uint8Array {
  const doc = JSON.parse(toText(formatTelemetryBatch(batch))) as { events: Record<string, unknown>[] };
  const event = doc.events[index];
  if (event !== undefined) change(event);
  return toBytes(JSON.stringify(doc));
}

function withBatch(change: (b: Record<string, unknown>) => void): Uint8Array {
  const doc = JSON.parse(toText(formatTelemetryBatch(batch))) as Record<string, unknown>;
  change(doc);
  return toBytes(JSON.stringify(doc));
}

test('parseTelemetryBatch names the event index and field of every problem', () => {
  const rows: [string, Uint8Array, string][] = [
    [
      'uppercase sha256',
      withEvent(0, (e) => {
        e['sha256'] = 'A'.repeat(64);
      }),
      'events[0].sha256',
    ],
    [
      'short sha256',
      withEvent(2, (e) => {
        e['sha256'] = 'ab';
      }),
      'events[2].sha256',
    ],
    [
      'time with offset',
      withEvent(0, (e) => {
        e['time'] = '2025-01-01T12:00:00+01:00';
      }),
      'events[0].time',
    ],
    [
      'time with fraction',
      withEvent(0, (e) => {
        e['time'] = '2025-01-01T12:00:00.5Z';
      }),
      'events[0].time',
    ],
    [
      'impossible date',
      withEvent(0, (e) => {
        e['time'] = '2025-02-30T12:00:00Z';
      }),
      'events[0].time',
    ],
    [
      'unknown kind',
      withEvent(1, (e) => {
        e['kind'] = 'crash';
      }),
      'events[1].kind',
    ],
    [
      'missing kind',
      withEvent(1, (e) => {
        delete e['kind'];
      }),
      'events[1].kind',
    ],
    [
      'bad outcome',
      withEvent(1, (e) => {
        e['outcome'] = 'maybe';
      }),
      'events[1].outcome',
    ],
    [
      'attack without refusal',
      withEvent(1, (e) => {
        e['outcome'] = 'ok';
      }),
      'events[1].attack',
    ],
    [
      'field of another kind',
      withEvent(0, (e) => {
        e['target'] = 'x';
      }),
      'events[0].target',
    ],
    [
      'unknown field',
      withEvent(2, (e) => {
        e['content'] = 'AAAA';
      }),
      'events[2].content',
    ],
    [
      'negative size',
      withEvent(2, (e) => {
        e['size'] = -1;
      }),
      'events[2].size',
    ],
    [
      'fractional size',
      toBytes(toText(formatTelemetryBatch(batch)).replace('"size":1234', '"size":1.5')),
      'events[2].size',
    ],
    [
      'string size',
      withEvent(2, (e) => {
        e['size'] = '12';
      }),
      'events[2].size',
    ],
    [
      'name with newline',
      withEvent(2, (e) => {
        e['name'] = 'a\nb';
      }),
      'events[2].name',
    ],
    [
      'empty signature',
      withEvent(0, (e) => {
        e['signature'] = '';
      }),
      'events[0].signature',
    ],
    [
      'database with space',
      withEvent(0, (e) => {
        e['database'] = 'main db';
      }),
      'events[0].database',
    ],
    [
      'missing databaseVersion',
      withEvent(0, (e) => {
        delete e['databaseVersion'];
      }),
      'events[0].databaseVersion',
    ],
    [
      'bad batchId',
      withBatch((b) => {
        b['batchId'] = 'tooshort';
      }),
      'batchId',
    ],
    [
      'bad tenant',
      withBatch((b) => {
        b['tenant'] = 'Acme';
      }),
      'tenant',
    ],
    [
      'bad endpoint',
      withBatch((b) => {
        b['endpoint'] = '';
      }),
      'endpoint',
    ],
    [
      'no events',
      withBatch((b) => {
        b['events'] = [];
      }),
      'events',
    ],
    [
      'events not an array',
      withBatch((b) => {
        b['events'] = {};
      }),
      'events',
    ],
    [
      'event not an object',
      withBatch((b) => {
        b['events'] = [1];
      }),
      'events[0]',
    ],
    [
      'unknown batch field',
      withBatch((b) => {
        b['site'] = 'ch-zrh';
      }),
      'site',
    ],
    [
      'duplicate key',
      toBytes(toText(formatTelemetryBatch(batch)).replace('{"batchId"', '{"tenant":"x","batchId"')),
      'tenant',
    ],
    ['not JSON', toBytes('{"batchId":'), 'batchId'],
  ];
  for (const [name, bytes, field] of rows) {
    assert.throws(
      () => parseTelemetryBatch(bytes),
      (e: unknown) => {
        assert.ok(isVouchError(e, 'malformed'), `${name}: ${String(e)}`);
        const fields = ((e as VouchError).details.fields as string[] | undefined) ?? [];
        assert.ok(
          (e as VouchError).details.field === field || fields.includes(field),
          `${name}: ${JSON.stringify((e as VouchError).details)}`,
        );
        return true;
      },
      name,
    );
  }
});

test('every bad field of a batch is listed at once', () => {
  const bytes = withBatch((b) => {
    const events = b['events'] as Record<string, unknown>[];
    (events[0] as Record<string, unknown>)['sha256'] = 'x';
    (events[2] as Record<string, unknown>)['size'] = -5;
    b['tenant'] = '';
  });
  assert.throws(
    () => parseTelemetryBatch(bytes),
    (e: unknown) =>
      isVouchError(e, 'malformed') &&
      JSON.stringify(e.details.fields) === JSON.stringify(['tenant', 'events[0].sha256', 'events[2].size']),
  );
});

test('size and count bounds are checked before the events', () => {
  const many = { ...batch, events: Array.from({ length: 1001 }, () => detection) };
  const text = JSON.stringify({ ...many, events: many.events });
  assert.throws(
    () => parseTelemetryBatch(toBytes(text)),
    (e: unknown) => isVouchError(e, 'too-large') && e.details.field === 'events' && e.details.limit === 1000,
  );
  const thousand = { ...batch, events: Array.from({ length: 1000 }, () => detection) };
  assert.equal(parseTelemetryBatch(formatTelemetryBatch(thousand)).events.length, 1000);
  const huge = toBytes(`{"batchId":"${'a'.repeat(1 << 20)}"}`);
  assert.throws(
    () => parseTelemetryBatch(huge),
    (e: unknown) => isVouchError(e, 'too-large') && e.details.limit === 1 << 20,
  );
  assert.throws(
    () => formatTelemetryBatch({ ...batch, events: [] }),
    (e: unknown) => isVouchError(e, 'invalid-argument'),
  );
});

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const time = fc
  .integer({ min: 0, max: 253_402_300_799 })
  .map((s) => `${new Date(s * 1000).toISOString().slice(0, 19)}Z`);
const ver = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,10}$/);
const eventArb: fc.Arbitrary<TelemetryEvent> = fc
  .oneof(
    fc.record({
      kind: fc.constant('detection' as const),
      time,
      sha256: hex64,
      signature: fc.stringMatching(/^[A-Za-z0-9.:_!/-]{1,40}$/),
      database: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
      databaseVersion: ver,
    }),
    fc
      .record(
        {
          kind: fc.constant('update' as const),
          time,
          target: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,20}$/),
          from: ver,
          to: ver,
          outcome: fc.constantFrom('ok' as const, 'refused' as const, 'failed' as const),
          attack: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
        },
        { requiredKeys: ['kind', 'time', 'target', 'to', 'outcome'] },
      )
      .map((e) => (e.outcome === 'refused' ? e : (({ attack: _, ...rest }) => rest)(e))),
    fc.record(
      {
        kind: fc.constant('sample' as const),
        sha256: hex64,
        size: fc.maxSafeNat(),
        fileType: fc.stringMatching(/^[a-z0-9][a-z0-9.+/_-]{0,20}$/),
        firstSeen: time,
        name: fc
          .string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
          .filter((s) => /^\S(.*\S)?$/u.test(s) && !/\p{Cc}/u.test(s)),
      },
      { requiredKeys: ['kind', 'sha256', 'size', 'fileType', 'firstSeen'] },
    ),
  )
  .map((e) => ({ ...e }) as TelemetryEvent); // fc.record with optional keys makes null-prototype objects

test('property: any valid batch round-trips', () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/),
      fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/),
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/),
      fc.array(eventArb, { minLength: 1, maxLength: 20 }),
      (batchId, tenant, endpoint, events) => {
        const b: TelemetryBatch = { batchId, tenant, endpoint, events };
        assert.deepEqual(parseTelemetryBatch(formatTelemetryBatch(b)), b);
        for (const e of events) assert.deepEqual(parseTelemetryEvent(formatTelemetryEvent(e)), e);
      },
    ),
    { seed: 71, numRuns: 200 },
  );
});

test('property: arbitrary or mutated input gives a batch or our typed error, never another throw', () => {
  const bytes = formatTelemetryBatch(batch);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
          const m = new Uint8Array(bytes);
          m[at] = v;
          return m;
        }),
        fc.json().map((j) => toBytes(j)),
      ),
      (input) => {
        try {
          parseTelemetryBatch(input);
        } catch (e) {
          assert.ok(isVouchError(e, 'malformed') || isVouchError(e, 'too-large'), String(e));
        }
      },
    ),
    { seed: 72, numRuns: 500 },
  );
});
