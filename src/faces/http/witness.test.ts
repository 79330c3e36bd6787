import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concatBytes, toBytes, toText } from '../../core/bytes/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { VouchError } from '../../core/errors.ts';
import { parseNote } from '../../core/note/index.ts';
import { createCheckpointVerifier, verifyCosignature } from '../../core/tlog/cosignature.ts';
import {
  maxAddCheckpointRequestBytes,
  parseCosignatureLines,
  parseTreeSizeBody,
  treeSizeContentType,
} from '../../core/tlog/witness-request.ts';
import { testingOnlyForkOf, testingOnlyLog } from '../../services/witness/testing.ts';
import { originHashOf, Witness } from '../../services/witness/witness.ts';
import type { CasStore } from '../../storage/cas.ts';
import { MemoryCasStore } from '../../storage/memory/memory.ts';
import { type Handler, type HttpResponse, serve, testingOnlyRequest } from './http.ts';
import { createWitnessHandler } from './witness.ts';

const name = 'witness.example/http';
const key = createSigner(name, generateKey('ed25519'));
const logKey = createSigner('log.example/http', generateKey('ed25519'));
const log = testingOnlyLog('log.example/http', 16, 'entry', logKey);
const clock = 1_750_000_000n;

function setup(
  store: CasStore = new MemoryCasStore(),
  lines: string[] = [],
): { handler: Handler; witness: Witness } {
  const witness = new Witness({
    name,
    keys: [key],
    logs: (origin) => (origin === log.origin ? log.verifiers : undefined),
    store,
    now: () => clock,
  });
  return { handler: createWitnessHandler({ witness, log: (l) => lines.push(l) }), witness };
}

const post = (handler: Handler, body: Uint8Array | string, path = '/add-checkpoint') =>
  handler(testingOnlyRequest('POST', path, body));
const text = (r: HttpResponse): string =>
  typeof r.body === 'string' ? r.body : toText(r.body ?? new Uint8Array());
const bytes = (r: HttpResponse): Uint8Array =>
  typeof r.body === 'string' ? toBytes(r.body) : (r.body ?? new Uint8Array());

test('witness HTTP: 200 answers cosignature lines that verify with the witness key', async () => {
  const { handler, witness } = setup();
  const r = await post(handler, await log.request(0n, 5n));
  assert.equal(r.status, 200);
  assert.equal(r.headers?.['content-type'], 'text/plain; charset=utf-8');
  const [line, ...rest] = parseCosignatureLines(bytes(r));
  assert.ok(line !== undefined && rest.length === 0);
  const checked = verifyCosignature(
    createCheckpointVerifier(witness.vkeys[0] as string),
    parseNote(await log.checkpoint(5n)).text,
    line,
  );
  assert.equal(checked.timestamp, clock);
});

test('witness HTTP: every refusal gets the status of c2sp.org/tlog-witness', async () => {
  const { handler } = setup();
  await post(handler, await log.request(0n, 8n));
  const fork = testingOnlyForkOf(log, logKey, 2);
  const stranger = testingOnlyLog('stranger.example/log');
  const impostor = testingOnlyLog(log.origin, 16, 'entry', createSigner('x', generateKey('ed25519')));
  const rows: { name: string; body: Uint8Array | string; status: number }[] = [
    { name: 'unknown origin', body: await stranger.request(0n, 1n), status: 404 },
    { name: 'no trusted signature', body: await impostor.request(8n, 9n, log.proof(8n, 9n)), status: 403 },
    { name: 'old larger than the checkpoint', body: await log.request(10n, 9n, [log.root(1n)]), status: 400 },
    { name: 'malformed body', body: 'old 01\n\n', status: 400 },
    { name: 'bad proof', body: await log.request(8n, 12n, log.proof(8n, 12n).slice(1)), status: 422 },
    { name: 'proof from another tree', body: await fork.request(8n, 12n), status: 422 },
    { name: 'same size, another root', body: await fork.request(8n, 8n), status: 409 },
    { name: 'over the size limit', body: new Uint8Array(maxAddCheckpointRequestBytes + 1), status: 413 },
  ];
  for (const row of rows) {
    const r = await post(handler, row.body);
    assert.equal(r.status, row.status, `${row.name}: ${text(r)}`);
    // Only the size conflict speaks text/x.tlog.size; a client must not mistake the fork for one.
    assert.equal(r.headers?.['content-type'], 'text/plain; charset=utf-8', row.name);
  }
});

test('witness HTTP: 409 tells the witness size as text/x.tlog.size, and the client can resume from it', async () => {
  const { handler } = setup();
  await post(handler, await log.request(0n, 7n));
  const r = await post(handler, await log.request(0n, 9n));
  assert.equal(r.status, 409);
  assert.equal(r.headers?.['content-type'], treeSizeContentType);
  assert.equal(text(r), '7\n');
  const size = parseTreeSizeBody(bytes(r));
  assert.equal((await post(handler, await log.request(size, 9n))).status, 200);
});

test('witness HTTP: the monitoring endpoint serves the latest cosigned checkpoint', async () => {
  const { handler, witness } = setup();
  const path = `/${originHashOf(log.origin)}/checkpoint`;
  assert.equal((await handler(testingOnlyRequest('GET', path))).status, 404);
  await post(handler, await log.request(0n, 3n));
  await post(handler, await log.request(3n, 6n));
  const r = await handler(testingOnlyRequest('GET', path));
  assert.equal(r.status, 200);
  assert.deepEqual(bytes(r), (await witness.state(log.origin))?.note);
  const note = parseNote(bytes(r));
  assert.match(note.text, /\n6\n/);
  assert.deepEqual(
    note.signatures.map((s) => s.name),
    [log.origin, name],
  );
  assert.equal((await handler(testingOnlyRequest('HEAD', path))).status, 200);
});

test('witness HTTP: other paths and methods', async () => {
  const { handler } = setup();
  const rows: { method: string; path: string; status: number }[] = [
    { method: 'GET', path: '/add-checkpoint', status: 405 },
    { method: 'POST', path: `/${originHashOf(log.origin)}/checkpoint`, status: 405 },
    { method: 'GET', path: `/${originHashOf(log.origin).toUpperCase()}/checkpoint`, status: 404 },
    { method: 'GET', path: '/../checkpoint', status: 404 },
    { method: 'GET', path: '/', status: 404 },
    { method: 'POST', path: '/add-checkpoint/', status: 404 },
  ];
  for (const row of rows) {
    const r = await handler(testingOnlyRequest(row.method, row.path));
    assert.equal(r.status, row.status, `${row.method} ${row.path}`);
  }
});

test('witness HTTP: a storage failure is 503 with Retry-After, a broken invariant a bare 500', async () => {
  const memory = new MemoryCasStore();
  memory.faults = () => 'fail-before';
  const failing = setup(memory);
  const r = await post(failing.handler, await log.request(0n, 2n));
  assert.equal(r.status, 503);
  assert.equal(r.headers?.['retry-after'], '1');

  const lines: string[] = [];
  const broken: CasStore = {
    cell: () => ({
      read: async () => {
        throw new VouchError('invariant', 'internal error: secret detail');
      },
      replace: async () => undefined,
    }),
  };
  const r2 = await post(setup(broken, lines).handler, await log.request(0n, 2n));
  assert.equal(r2.status, 500);
  assert.equal(text(r2), 'internal error\n');
  assert.ok(lines.some((l) => l.includes('secret detail')));
});

test('witness HTTP: over a real socket, the 409 content type is exactly text/x.tlog.size', async () => {
  const { handler } = setup();
  const server = await serve(handler, { host: '127.0.0.1', port: 0, log: () => undefined });
  try {
    const first = await fetch(`${server.url}/add-checkpoint`, {
      method: 'POST',
      body: await log.request(0n, 4n),
    });
    assert.equal(first.status, 200);
    const lines = parseCosignatureLines(new Uint8Array(await first.arrayBuffer()));
    assert.equal(lines.length, 1);
    const again = await fetch(`${server.url}/add-checkpoint`, {
      method: 'POST',
      body: await log.request(0n, 4n),
    });
    assert.equal(again.status, 409);
    assert.equal(again.headers.get('content-type'), 'text/x.tlog.size');
    assert.equal(await again.text(), '4\n');
    // A body over the limit is refused without reading it all.
    const huge = await fetch(`${server.url}/add-checkpoint`, {
      method: 'POST',
      body: concatBytes(toBytes('old 0\n\n'), new Uint8Array(maxAddCheckpointRequestBytes)),
    });
    assert.equal(huge.status, 413);
  } finally {
    await server.close();
  }
});
