import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { isVouchError } from '../../core/errors.ts';
import {
  createInFlightLimit,
  errorResponse,
  type Handler,
  type RunningServer,
  type ServeOptions,
  serve,
} from './http.ts';

const local: ServeOptions = { host: '127.0.0.1', port: 0, log: () => undefined };

async function withServer<T>(
  handler: Handler,
  options: Partial<ServeOptions>,
  body: (server: RunningServer) => Promise<T>,
): Promise<T> {
  const server = await serve(handler, { ...local, ...options });
  try {
    return await body(server);
  } finally {
    server.server.closeAllConnections();
    await server.close();
  }
}

/** send writes `raw` on a new connection and resolves with the status line and headers of the first answer. */
function send(url: string, raw: string, afterWrite?: () => void): Promise<{ status: number; head: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(raw);
      afterWrite?.();
    });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(raw.slice(0, 40))}`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.destroy();
      const head = text.slice(0, end);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), head });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const header = (head: string, name: string): string | undefined =>
  new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim();

const ok: Handler = async () => ({ status: 200, body: 'ok\n' });

test('serve answers 503 with Retry-After past maxInFlight, without calling the handler or reading the body', async () => {
  let calls = 0;
  let bodiesRead = 0;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const handler: Handler = async (request) => {
    calls++;
    await request.body(1024);
    bodiesRead++;
    await gate;
    return { status: 200, body: 'done\n' };
  };
  await withServer(handler, { maxInFlight: 2, retryAfterSeconds: 3 }, async (server) => {
    const post = 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello';
    const first = send(server.url, post);
    const second = send(server.url, post);
    for (let i = 0; i < 200 && server.inFlight() < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(server.inFlight(), 2);
    const third = await send(server.url, post);
    assert.equal(third.status, 503);
    assert.equal(header(third.head, 'retry-after'), '3');
    assert.equal(calls, 2);
    assert.equal(bodiesRead, 2);
    assert.equal(server.shed(), 1);
    open();
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
    for (let i = 0; i < 200 && server.inFlight() > 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(server.inFlight(), 0);
    assert.equal((await send(server.url, 'GET /y HTTP/1.1\r\nHost: a\r\n\r\n')).status, 200);
  });
});

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Synchronous work: the event loop reads no socket meanwhile.
  }
}

/** saturate keeps the event loop busy for `ms` in slices, never idle between them, as an overloaded server's is. */
function saturate(ms: number): Promise<void> {
  const end = performance.now() + ms;
  return new Promise((resolve) => {
    const slice = (): void => {
      blockFor(20);
      if (performance.now() < end) setImmediate(slice);
      else resolve();
    };
    slice();
  });
}

test('serve answers 503 with Retry-After while its event loop stays busy past maxBusyMs', async () => {
  let calls = 0;
  const counted: Handler = async () => {
    calls++;
    return { status: 200, body: 'ok\n' };
  };
  await withServer(counted, { maxBusyMs: 200 }, async (server) => {
    await new Promise((r) => setTimeout(r, 120)); // let the timer see an idle loop first
    // The request arrives once the loop has been saturated for a while, and is read between two
    // slices of the work.
    const busy = saturate(900);
    const answer = new Promise<{ status: number; head: string }>((resolve, reject) => {
      setTimeout(() => send(server.url, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n').then(resolve, reject), 450);
    });
    const [waited] = await Promise.all([answer, busy]);
    assert.equal(waited.status, 503);
    assert.equal(header(waited.head, 'retry-after'), '1');
    assert.equal(calls, 0);
    assert.ok(server.shed() >= 1);
    // Once the loop has been idle for a tick, requests are served again.
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await send(server.url, 'GET /b HTTP/1.1\r\nHost: a\r\n\r\n')).status, 200);
    assert.equal(calls, 1);
  });
});

test('one long synchronous stretch is not taken for overload: the request that waited is served', async () => {
  await withServer(ok, { maxBusyMs: 200 }, async (server) => {
    await new Promise((r) => setTimeout(r, 120));
    const waited = await send(server.url, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n', () => blockFor(600));
    assert.equal(waited.status, 200);
    assert.equal(server.shed(), 0);
  });
});

test('without maxBusyMs (the default) or with 0, a saturated event loop sheds nothing', async () => {
  for (const options of [{}, { maxBusyMs: 0 }]) {
    await withServer(ok, options, async (server) => {
      await new Promise((r) => setTimeout(r, 120));
      const busy = saturate(900);
      const answer = new Promise<{ status: number; head: string }>((resolve, reject) => {
        setTimeout(() => send(server.url, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n').then(resolve, reject), 450);
      });
      const [waited] = await Promise.all([answer, busy]);
      assert.equal(waited.status, 200, JSON.stringify(options));
      assert.equal(server.shed(), 0);
    });
  }
});

test('serve refuses limits that are not positive whole numbers', async () => {
  for (const options of [
    { maxInFlight: 0 },
    { maxInFlight: 1.5 },
    { retryAfterSeconds: -1 },
    { maxBusyMs: -1 },
  ]) {
    await assert.rejects(
      serve(ok, { ...local, ...options }),
      (e) => isVouchError(e, 'invalid-argument'),
      JSON.stringify(options),
    );
  }
});

test('createInFlightLimit pushes back past its bound and frees a slot when work settles', async () => {
  const limit = createInFlightLimit(1, 'the thing', 7);
  let open: () => void = () => undefined;
  const running = limit.run(
    () =>
      new Promise<string>((resolve) => {
        open = () => resolve('done');
      }),
  );
  assert.equal(limit.inFlight, 1);
  let refused: unknown;
  await limit
    .run(async () => 'never')
    .catch((error: unknown) => {
      refused = error;
    });
  assert.ok(isVouchError(refused, 'pushback'));
  assert.match((refused as Error).message, /the thing is busy \(1 requests in flight\)/);
  const answer = errorResponse(refused);
  assert.equal(answer.status, 503);
  assert.equal(answer.headers?.['retry-after'], '7');
  open();
  assert.equal(await running, 'done');
  assert.equal(limit.inFlight, 0);
  await assert.rejects(
    limit.run(() => Promise.reject(new Error('work failed'))),
    /work failed/,
  );
  assert.equal(limit.inFlight, 0, 'a failed run frees its slot');
  assert.equal(await limit.run(async () => 'again'), 'again');
  assert.throws(
    () => createInFlightLimit(0, 'x'),
    (e) => isVouchError(e, 'invalid-argument'),
  );
});

// Request smuggling: node:http (llhttp, strict) must refuse a request whose length is ambiguous,
// so that no proxy in front can read it differently from us. Each request below is followed on
// the same connection by a second one that a lenient parser would see: the answer must be 400
// with the connection closed, no handler may read a body, and the second request never arrives.
// (With `Transfer-Encoding: xchunked` llhttp emits the request before refusing its body: the
// handler is called, but its body read fails, and the client gets 400 all the same.)
const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n';
const smuggling: readonly { readonly name: string; readonly raw: string }[] = [
  {
    name: 'Content-Length and Transfer-Encoding together',
    raw: `POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
  },
  {
    name: 'two different Content-Lengths',
    raw: `POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nhello${smuggled}`,
  },
  {
    name: 'two different Content-Lengths in one header',
    raw: `POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nhello${smuggled}`,
  },
  {
    name: 'Transfer-Encoding with a space before the colon',
    raw: `POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  },
  {
    name: 'Transfer-Encoding not ending in chunked (xchunked)',
    raw: `POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`,
  },
  {
    name: 'Transfer-Encoding chunked then identity',
    raw: `POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
  },
  {
    name: 'Transfer-Encoding folded onto a continuation line',
    raw: `POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  },
];

for (const row of smuggling) {
  test(`the node:http adapter answers 400 to ${row.name}`, async () => {
    const calls: { path: string; body: string }[] = [];
    const recording: Handler = async (request) => {
      const call = { path: request.path, body: 'not read' };
      calls.push(call);
      try {
        call.body = `read ${(await request.body(1024)).length} bytes`;
      } catch (error) {
        call.body = `failed: ${(error as Error).message}`;
      }
      return { status: 200, body: 'ok\n' };
    };
    await withServer(recording, {}, async (server) => {
      const answer = await send(server.url, row.raw);
      assert.equal(answer.status, 400, answer.head);
      assert.equal(header(answer.head, 'connection'), 'close');
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(!calls.some((c) => c.path === '/smuggled'), JSON.stringify(calls));
      assert.ok(!calls.some((c) => c.body.startsWith('read')), JSON.stringify(calls));
    });
  });
}
