import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toBytes, toText } from '../../core/bytes/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { createNoteSigner } from '../../core/note/index.ts';
import { Log } from '../../services/log/log.ts';
import { MemoryBlobStore, MemoryCasStore } from '../../storage/memory/memory.ts';
import { openSqlite } from '../../storage/sqlite/database.ts';
import { SqliteSequenceStore } from '../../storage/sqlite/sqlite-sequence.ts';
import { errorResponse, type Handler, type HttpResponse, serve, testingOnlyRequest } from './http.ts';
import { createLogHandler } from './log.ts';

const origin = 'example.com/http-log';

async function setup(options: { maxPending?: number; batchAgeMs?: number } = {}): Promise<{
  handler: Handler;
  log: Log;
  files: MemoryBlobStore;
}> {
  const files = new MemoryBlobStore();
  const log = await Log.open({
    origin,
    signer: createNoteSigner(createSigner(origin, generateKey('ed25519'))),
    files,
    checkpoint: new MemoryCasStore().cell('c'),
    sequence: new SqliteSequenceStore(openSqlite(':memory:'), origin),
    batchAgeMs: options.batchAgeMs ?? 1,
    ...(options.maxPending === undefined ? {} : { maxPending: options.maxPending }),
  });
  return { handler: createLogHandler({ files, log: () => log }), log, files };
}

async function call(
  handler: Handler,
  method: string,
  url: string,
  body?: Uint8Array | string,
): Promise<HttpResponse> {
  try {
    return await handler(testingOnlyRequest(method, url, body));
  } catch (error) {
    return errorResponse(error);
  }
}

const text = (r: HttpResponse): string =>
  typeof r.body === 'string' ? r.body : toText(r.body ?? new Uint8Array());

test('log HTTP: add answers with the index, leaf hash and a checkpoint that includes it', async () => {
  const { handler, log } = await setup();
  const r = await call(handler, 'POST', '/add', 'hello');
  assert.equal(r.status, 200);
  const ack = JSON.parse(text(r));
  assert.equal(ack.index, 0);
  assert.match(ack.leafHash, /^[A-Za-z0-9+/]{43}=$/);
  assert.match(ack.checkpoint, new RegExp(`^${origin}\n1\n`));
  await log.close();
});

test('log HTTP: the read API serves checkpoint, tiles and bundles with the right cache headers', async () => {
  const { handler, log } = await setup();
  await Promise.all(Array.from({ length: 300 }, (_, i) => log.add(toBytes(`e${i}`))));
  const rows: [string, number, string | undefined][] = [
    ['/checkpoint', 200, 'public, max-age=1, must-revalidate'],
    ['/tile/0/000', 200, 'public, max-age=31536000, immutable'],
    ['/tile/entries/000', 200, 'public, max-age=31536000, immutable'],
    ['/tile/0/001.p/44', 200, 'public, max-age=600'],
    ['/tile/entries/001.p/44', 200, 'public, max-age=600'],
    ['/tile/1/000.p/1', 200, 'public, max-age=600'],
    // Not canonical or not there: 404 without touching storage.
    ['/tile/0/0000', 404, undefined],
    ['/tile/00/000', 404, undefined],
    ['/tile/0/x000/000', 404, undefined],
    ['/tile/0/000.p/0', 404, undefined],
    ['/tile/0/000.p/256', 404, undefined],
    ['/tile/0/../../log.json', 404, undefined],
    ['/tile/0/%2e%2e/000', 404, undefined],
    ['/tile/64/000', 404, undefined],
    ['/tile/0/005', 404, undefined],
    ['/tile/0/002.p/3', 404, undefined],
    ['/nothing', 404, undefined],
  ];
  for (const [path, status, cache] of rows) {
    const r = await call(handler, 'GET', path);
    assert.equal(r.status, status, path);
    assert.equal(r.headers?.['cache-control'], cache, path);
  }
  const tile = await call(handler, 'GET', '/tile/0/000');
  assert.equal((tile.body as Uint8Array).length, 256 * 32);
  await log.close();
});

test('log HTTP: bad requests get a 4xx with a one-line reason, overload a 503 with Retry-After', async () => {
  const { handler, log } = await setup({ maxPending: 1, batchAgeMs: 200 });
  const rows: [string, string, Uint8Array | string, number][] = [
    ['empty entry', 'POST', '', 400],
    ['oversized entry', 'POST', new Uint8Array(65536), 413],
  ];
  for (const [name, method, body, status] of rows) {
    const r = await call(handler, method, '/add', body);
    assert.equal(r.status, status, name);
    assert.match(text(r), /^[^\n]+\n$/, name);
  }
  assert.equal((await call(handler, 'GET', '/add')).status, 405);
  assert.equal((await call(handler, 'PUT', '/checkpoint')).status, 405);
  const first = call(handler, 'POST', '/add', 'one');
  const busy = await call(handler, 'POST', '/add', 'two');
  assert.equal(busy.status, 503);
  assert.equal(busy.headers?.['retry-after'], '1');
  assert.equal((await first).status, 200);
  await log.close();
});

test('log HTTP: a standby without the lease answers add with 503 and still serves reads', async () => {
  const { files, log } = await setup();
  const standby = createLogHandler({ files, log: () => undefined });
  const r = await call(standby, 'POST', '/add', 'x');
  assert.equal(r.status, 503);
  assert.equal((await call(standby, 'GET', '/checkpoint')).status, 200);
  await log.close();
});

test('http adapter: a real server maps errors, bounds bodies and never leaks internals', async () => {
  const server = await serve(
    async (request) => {
      if (request.path === '/boom') throw new Error('secret internal detail');
      const body = await request.body(10);
      return { status: 200, body: `got ${body.length}\n` };
    },
    { host: '127.0.0.1', port: 0, log: () => undefined },
  );
  try {
    const ok = await fetch(`${server.url}/echo`, { method: 'POST', body: 'hello' });
    assert.equal(await ok.text(), 'got 5\n');
    const big = await fetch(`${server.url}/echo`, { method: 'POST', body: 'x'.repeat(1000) });
    assert.equal(big.status, 413);
    const boom = await fetch(`${server.url}/boom`);
    assert.equal(boom.status, 500);
    assert.doesNotMatch(await boom.text(), /secret/);
  } finally {
    await server.close();
  }
});
