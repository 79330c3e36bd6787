import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeTempDir, removeDir } from '../../../test/support/log-fixture.ts';
import { isVouchError } from '../../core/errors.ts';
import { maxEntryBundleSize } from '../../core/tlog/entry-bundle.ts';
import { fileLimits, maxCheckpointBytes } from './fetcher.ts';
import { FolderTileFetcher } from './folder-fetcher.ts';
import { HttpTileFetcher } from './http-fetcher.ts';
import { openTileFetcher } from './open-fetcher.ts';
import { CachingTileFetcher } from './tile-cache.ts';

describe('fileLimits', () => {
  const rows: { name: string; path: string; max?: number; exact?: number; error?: string }[] = [
    { name: 'checkpoint', path: 'checkpoint', max: maxCheckpointBytes },
    { name: 'full hash tile', path: 'tile/0/000', max: 8192, exact: 8192 },
    { name: 'partial hash tile', path: 'tile/3/x001/234.p/5', max: 160, exact: 160 },
    { name: 'full bundle', path: 'tile/entries/000', max: maxEntryBundleSize },
    { name: 'partial bundle', path: 'tile/entries/007.p/2', max: 2 * 65537 },
    { name: 'leading slash', path: '/checkpoint', error: 'invalid-argument' },
    { name: 'traversal', path: 'tile/../../etc/passwd', error: 'invalid-argument' },
    { name: 'non-canonical index', path: 'tile/0/0001', error: 'invalid-argument' },
    { name: 'width 256 spelled partial', path: 'tile/0/000.p/256', error: 'invalid-argument' },
    { name: 'empty', path: '', error: 'invalid-argument' },
  ];
  for (const row of rows) {
    test(row.name, () => {
      if (row.error !== undefined) {
        assert.throws(
          () => fileLimits(row.path),
          (e) => isVouchError(e, 'invalid-argument'),
        );
        return;
      }
      const limits = fileLimits(row.path);
      assert.equal(limits.maxBytes, row.max);
      assert.equal(limits.exactBytes, row.exact);
    });
  }
  test('a configured bundle bound lowers the limit', () => {
    assert.equal(fileLimits('tile/entries/000', 1000).maxBytes, 1000);
  });
});

describe('FolderTileFetcher', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir();
    await mkdir(join(dir, 'tile/0/000.p'), { recursive: true });
    await mkdir(join(dir, 'tile/entries/000.p'), { recursive: true });
    await writeFile(join(dir, 'checkpoint'), 'hello\n');
    await writeFile(join(dir, 'tile/0/000.p/2'), new Uint8Array(64).fill(7));
    await writeFile(join(dir, 'tile/0/000.p/3'), new Uint8Array(95)); // one byte short
    await writeFile(join(dir, 'tile/0/001'), new Uint8Array(8193)); // one byte long
    await writeFile(join(dir, 'tile/entries/000.p/1'), new Uint8Array(65538));
  });
  after(() => removeDir(dir));

  test('reads files at their read-API paths', async () => {
    const fetcher = new FolderTileFetcher(dir);
    assert.deepEqual(await fetcher.get('checkpoint'), new TextEncoder().encode('hello\n'));
    assert.deepEqual(await fetcher.get('tile/0/000.p/2'), new Uint8Array(64).fill(7));
  });

  const failures: { name: string; path: string; folder?: string; code?: string }[] = [
    { name: 'a missing file is undefined', path: 'tile/0/000' },
    { name: 'a missing folder is undefined', path: 'checkpoint', folder: 'no/such/dir' },
    { name: 'a short hash tile is malformed', path: 'tile/0/000.p/3', code: 'malformed' },
    { name: 'a long hash tile is too large', path: 'tile/0/001', code: 'too-large' },
    { name: 'an oversized bundle is too large', path: 'tile/entries/000.p/1', code: 'too-large' },
    { name: 'a directory is unavailable', path: 'tile/0/000', folder: 'as-dir', code: 'unavailable' },
    { name: 'a path outside the API is refused', path: '../checkpoint', code: 'invalid-argument' },
  ];
  for (const row of failures) {
    test(row.name, async () => {
      let root = dir;
      if (row.folder === 'as-dir') {
        root = await makeTempDir();
        await mkdir(join(root, 'tile/0/000'), { recursive: true });
      } else if (row.folder !== undefined) {
        root = join(dir, row.folder);
      }
      const fetcher = new FolderTileFetcher(root);
      try {
        if (row.code === undefined) {
          assert.equal(await fetcher.get(row.path), undefined);
        } else {
          await assert.rejects(fetcher.get(row.path), (e) => isVouchError(e, row.code as never));
        }
      } finally {
        if (root !== dir && row.folder === 'as-dir') await removeDir(root);
      }
    });
  }

  test('a configured bundle bound applies', async () => {
    const fetcher = new FolderTileFetcher(dir, { maxEntryBundleBytes: 100 });
    await assert.rejects(fetcher.get('tile/entries/000.p/1'), (e) => isVouchError(e, 'too-large'));
  });
});

// A scripted HTTP server: each request is answered by the next handler for its path (the last
// one repeats), and every request is recorded.
type Reply = (req: IncomingMessage, res: ServerResponse) => void;

async function scriptedServer(routes: Record<string, Reply[]>) {
  const seen: string[] = [];
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').slice(1);
    seen.push(path);
    const replies = routes[path];
    if (replies === undefined) {
      res.writeHead(404).end();
      return;
    }
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    (replies[Math.min(n, replies.length - 1)] as Reply)(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/log/`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const ok =
  (body: Uint8Array | string, headers: Record<string, string> = {}): Reply =>
  (_req, res) => {
    res.writeHead(200, headers).end(body);
  };
const status =
  (code: number, headers: Record<string, string> = {}): Reply =>
  (_req, res) => {
    res.writeHead(code, headers).end('go away\n');
  };

describe('HttpTileFetcher', () => {
  const tile = new Uint8Array(64).fill(1);

  interface Row {
    name: string;
    routes: Record<string, Reply[]>;
    path: string;
    options?: { retries?: number; timeoutMs?: number; maxRetryAfterMs?: number };
    want?: Uint8Array | 'undefined';
    code?: string;
    /** sleeps are the retry delays expected, in ms. */
    sleeps?: number[];
    /** requests is how many requests the path must have received. */
    requests?: number;
  }
  const rows: Row[] = [
    {
      name: '200 returns the body',
      routes: { 'log/tile/0/000.p/2': [ok(tile)] },
      path: 'tile/0/000.p/2',
      want: tile,
      requests: 1,
    },
    { name: '404 is undefined', routes: {}, path: 'tile/0/000.p/2', want: 'undefined', requests: 1 },
    {
      name: '410 is undefined',
      routes: { 'log/checkpoint': [status(410)] },
      path: 'checkpoint',
      want: 'undefined',
    },
    {
      name: '500 then 200 retries with backoff',
      routes: { 'log/tile/0/000.p/2': [status(500), status(503), ok(tile)] },
      path: 'tile/0/000.p/2',
      want: tile,
      sleeps: [100, 200],
      requests: 3,
    },
    {
      name: 'persistent 500 is unavailable after the retries',
      routes: { 'log/checkpoint': [status(500)] },
      path: 'checkpoint',
      code: 'unavailable',
      sleeps: [100, 200, 400],
      requests: 4,
    },
    {
      name: 'Retry-After in seconds is honoured',
      routes: { 'log/checkpoint': [status(503, { 'retry-after': '2' }), ok('x\n')] },
      path: 'checkpoint',
      want: new TextEncoder().encode('x\n'),
      sleeps: [2000],
    },
    {
      name: 'Retry-After as a date is honoured',
      routes: {
        'log/checkpoint': [status(429, { 'retry-after': new Date(1_000_003_000).toUTCString() }), ok('x\n')],
      },
      path: 'checkpoint',
      want: new TextEncoder().encode('x\n'),
      sleeps: [3000],
    },
    {
      name: 'Retry-After beyond the cap ends the attempts',
      routes: { 'log/checkpoint': [status(503, { 'retry-after': '3600' }), ok('x\n')] },
      path: 'checkpoint',
      code: 'unavailable',
      sleeps: [],
      requests: 1,
    },
    {
      name: '403 is unavailable without retry',
      routes: { 'log/checkpoint': [status(403)] },
      path: 'checkpoint',
      code: 'unavailable',
      sleeps: [],
      requests: 1,
    },
    {
      name: 'an oversized streamed body is too large',
      routes: {
        'log/checkpoint': [
          (_req, res) => {
            res.writeHead(200);
            const chunk = new Uint8Array(64 * 1024);
            for (let i = 0; i < 20; i++) res.write(chunk);
            res.end();
          },
        ],
      },
      path: 'checkpoint',
      code: 'too-large',
      requests: 1,
    },
    {
      name: 'an oversized declared length is too large',
      routes: { 'log/tile/0/000.p/2': [ok(new Uint8Array(65))] },
      path: 'tile/0/000.p/2',
      code: 'too-large',
      requests: 1,
    },
    {
      name: 'a short hash tile is malformed',
      routes: { 'log/tile/0/000.p/2': [ok(new Uint8Array(63))] },
      path: 'tile/0/000.p/2',
      code: 'malformed',
      requests: 1,
    },
    {
      name: 'a gzip body is decoded and bounded after decoding',
      routes: { 'log/tile/0/000.p/2': [ok(gzipSync(tile), { 'content-encoding': 'gzip' })] },
      path: 'tile/0/000.p/2',
      want: tile,
    },
    {
      name: 'a gzip bomb is too large',
      routes: {
        'log/tile/0/000.p/2': [ok(gzipSync(new Uint8Array(1 << 20)), { 'content-encoding': 'gzip' })],
      },
      path: 'tile/0/000.p/2',
      code: 'too-large',
    },
    {
      name: 'a server that never answers times out',
      routes: {
        'log/checkpoint': [
          () => {
            // Never answer.
          },
        ],
      },
      path: 'checkpoint',
      options: { retries: 1, timeoutMs: 50 },
      code: 'unavailable',
      sleeps: [100],
      requests: 2,
    },
    {
      name: 'a reset connection is retried',
      routes: {
        'log/checkpoint': [
          (req) => {
            req.socket.destroy();
          },
          ok('x\n'),
        ],
      },
      path: 'checkpoint',
      want: new TextEncoder().encode('x\n'),
      sleeps: [100],
    },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const server = await scriptedServer(row.routes);
      const sleeps: number[] = [];
      const fetcher = new HttpTileFetcher(server.url, {
        backoffMs: 100,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        now: () => 1_000_000_000,
        ...row.options,
      });
      try {
        if (row.code !== undefined) {
          await assert.rejects(fetcher.get(row.path), (e) => isVouchError(e, row.code as never));
        } else {
          const got = await fetcher.get(row.path);
          assert.deepEqual(got, row.want === 'undefined' ? undefined : row.want);
        }
        if (row.sleeps !== undefined) assert.deepEqual(sleeps, row.sleeps);
        if (row.requests !== undefined) {
          assert.equal(server.seen.filter((p) => p === `log/${row.path}`).length, row.requests);
        }
      } finally {
        await server.close();
      }
    });
  }

  test('an unreachable server is unavailable after the retries', async () => {
    const server = await scriptedServer({});
    await server.close();
    const sleeps: number[] = [];
    const fetcher = new HttpTileFetcher(server.url, {
      retries: 2,
      backoffMs: 10,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    await assert.rejects(fetcher.get('checkpoint'), (e) => isVouchError(e, 'unavailable'));
    assert.deepEqual(sleeps, [10, 20]);
  });

  test('the base URL gets a final slash and must be plain http(s)', () => {
    assert.equal(new HttpTileFetcher('https://example.com/log').base.href, 'https://example.com/log/');
    for (const bad of [
      'ftp://example.com/',
      'https://u:p@example.com/',
      'https://example.com/?a=1',
      'http://[',
    ]) {
      assert.throws(
        () => new HttpTileFetcher(bad),
        (e) => isVouchError(e, 'invalid-argument'),
        bad,
      );
    }
  });
});

describe('openTileFetcher', () => {
  test('picks the implementation from the location', () => {
    assert.ok(openTileFetcher('http://127.0.0.1:1/') instanceof HttpTileFetcher);
    assert.ok(openTileFetcher('HTTPS://example.com/log') instanceof HttpTileFetcher);
    assert.ok(openTileFetcher('./some/dir') instanceof FolderTileFetcher);
    const cached = openTileFetcher('/srv/log', { cacheDir: '/tmp/cache' });
    assert.ok(cached instanceof CachingTileFetcher && cached.inner instanceof FolderTileFetcher);
    assert.throws(
      () => openTileFetcher(''),
      (e) => isVouchError(e, 'invalid-argument'),
    );
  });
});
