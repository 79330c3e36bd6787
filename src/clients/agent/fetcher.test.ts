import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import { AgentFetcher, parseRetryAfter } from './fetcher.ts';

let base = '';
let close: () => Promise<void> = async () => undefined;
let bytesSentEndless = 0;

function handler(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '/';
  if (path === '/small') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('hello');
  } else if (path === '/missing') {
    res.writeHead(404).end();
  } else if (path === '/forbidden') {
    res.writeHead(403).end();
  } else if (path === '/busy') {
    res.writeHead(503, { 'retry-after': '7' }).end();
  } else if (path === '/declared') {
    res.writeHead(200, { 'content-length': '1000000' });
    res.write('x');
  } else if (path === '/endless') {
    // No content-length: chunked, and it never ends on its own.
    res.writeHead(200);
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const pump = (): void => {
      if (res.destroyed || bytesSentEndless > 64 << 20) return;
      bytesSentEndless += chunk.length;
      if (res.write(chunk)) setImmediate(pump);
      else res.once('drain', pump);
    };
    pump();
  } else if (path === '/trickle') {
    res.writeHead(200);
    const timer = setInterval(() => {
      if (res.destroyed) clearInterval(timer);
      else res.write('.');
    }, 20);
    res.on('close', () => clearInterval(timer));
  } else if (path === '/error') {
    res.writeHead(500).end();
  } else {
    res.writeHead(404).end();
  }
}

before(async () => {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
});

after(() => close());

test('a small file is fetched and counted', async () => {
  const fetcher = new AgentFetcher(base);
  const result = await fetcher.get('small', 100);
  assert.equal(result.found, true);
  assert.equal(result.found && Buffer.from(result.data).toString(), 'hello');
  assert.deepEqual(fetcher.counters, { requests: 1, bytes: 5 });
});

test('404 and 403 are not-found and distinguished', async () => {
  const fetcher = new AgentFetcher(base);
  assert.deepEqual(await fetcher.get('missing', 100), { found: false, status: 404 });
  assert.deepEqual(await fetcher.get('forbidden', 100), { found: false, status: 403 });
  await assert.rejects(fetcher.getFound('missing', 100), (e) => isVouchError(e, 'not-found'));
  assert.equal(fetcher.counters.requests, 3);
});

test('endless data: a body over the cap is cut off as soon as the cap is passed', async () => {
  const fetcher = new AgentFetcher(base);
  await assert.rejects(
    fetcher.get('endless', 100_000),
    (e) => isVouchError(e, 'too-large') && e.details.attack === 'endless-data',
  );
  assert.ok(fetcher.counters.bytes <= 100_000 + 64 * 1024, `read ${fetcher.counters.bytes} bytes`);
});

test('endless data: a declared length over the cap is refused before the body', async () => {
  const fetcher = new AgentFetcher(base);
  await assert.rejects(
    fetcher.get('declared', 1000),
    (e) => isVouchError(e, 'too-large') && e.details.attack === 'endless-data',
  );
  assert.equal(fetcher.counters.bytes, 0);
});

test('slow retrieval: a trickling server hits the per-request timeout', async () => {
  const fetcher = new AgentFetcher(base, { timeoutMs: 300 });
  const started = Date.now();
  await assert.rejects(
    fetcher.get('trickle', 1 << 20),
    (e) => isVouchError(e, 'unavailable') && e.details.attack === 'slow-retrieval',
  );
  assert.ok(Date.now() - started < 5000);
});

test('slow retrieval: the run deadline bounds all requests together', async () => {
  let now = 0;
  const fetcher = new AgentFetcher(base, { deadlineMs: 1000, now: () => now });
  assert.equal((await fetcher.get('small', 100)).found, true);
  now = 1001;
  await assert.rejects(
    fetcher.get('small', 100),
    (e) => isVouchError(e, 'unavailable') && e.details.attack === 'slow-retrieval',
  );
});

test('503 with Retry-After is pushback carrying the delay', async () => {
  const fetcher = new AgentFetcher(base);
  await assert.rejects(
    fetcher.get('busy', 100),
    (e) => isVouchError(e, 'pushback') && e.details.retryAfterMs === 7000,
  );
  await assert.rejects(fetcher.get('error', 100), (e) => isVouchError(e, 'unavailable'));
});

test('a stop signal ends a request at once', async () => {
  const controller = new AbortController();
  const fetcher = new AgentFetcher(base, { signal: controller.signal });
  const pending = fetcher.get('trickle', 1 << 20);
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(pending, (e) => isVouchError(e, 'unavailable') && e.details.stopped === true);
});

test('parseRetryAfter reads seconds and dates', () => {
  assert.equal(parseRetryAfter('120', 0), 120_000);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
  assert.equal(parseRetryAfter('soon', 0), undefined);
  assert.equal(parseRetryAfter(null, 0), undefined);
});

test('bad base URLs are refused', () => {
  assert.throws(
    () => new AgentFetcher('ftp://x/'),
    (e) => isVouchError(e, 'invalid-argument'),
  );
  assert.throws(
    () => new AgentFetcher('http://u:p@x/'),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});
