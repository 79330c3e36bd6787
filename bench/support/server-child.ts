/**
 * The servers the HTTP benchmarks load, each run in a child process of its own (started by
 * child.ts) so that the load generator never shares their event loop. Modes:
 * - `log DIR BATCH AGE_MS`: a new log in DIR served as `vouch log serve` serves it — a
 *   LogService on the folder (tiles as files, SQLite state) behind createLogHandler and serve();
 * - `mirror DIR`: the read half only, createLogHandler over an FsBlobStore of DIR;
 * - `bare-sink`: a bare node:http server that reads each body and answers 200, nothing else;
 * - `bare-files DIR`: a bare node:http static file server for DIR.
 * All listen on 127.0.0.1 with an ephemeral port. The child reports `{ ready: url }` over IPC,
 * stops on a `stop` message, and also stops when the parent goes away, so none outlives a run.
 */

import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { formatVerifierKey } from '../../src/core/note/index.ts';
import { serve } from '../../src/faces/http/http.ts';
import { createLogHandler } from '../../src/faces/http/log.ts';
import { initLogFolder, LogService } from '../../src/services/log/folder.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';
import { benchOrigin, logSigner } from './log-folder.ts';

/** ChildMode names what a server child runs; see the module comment. */
export type ChildMode = 'log' | 'mirror' | 'bare-sink' | 'bare-files';

/** ChildMessage is what a child sends its parent. */
export type ChildMessage = { readonly ready: string } | { readonly failed: string };

interface Running {
  readonly url: string;
  close(): Promise<void>;
}

async function startLog(dir: string, batchSize: number, batchAgeMs: number): Promise<Running> {
  const signer = logSigner();
  await initLogFolder(dir, {
    origin: benchOrigin,
    key: 'not-used-the-benchmark-passes-the-signer',
    vkey: formatVerifierKey(signer),
    batchSize,
    batchAgeMs,
  });
  const say = (line: string): void => {
    if (!/sequencing from size/.test(line)) process.stderr.write(`bench log server: ${line}\n`);
  };
  const service = await LogService.start({ dir, signer, log: say });
  const server = await serve(createLogHandler({ files: service.files, log: () => service.log }), {
    host: '127.0.0.1',
    port: 0,
    log: say,
  });
  return {
    url: server.url,
    close: async () => {
      await server.close();
      await service.close();
    },
  };
}

async function startMirror(dir: string): Promise<Running> {
  const server = await serve(createLogHandler({ files: new FsBlobStore(dir) }), {
    host: '127.0.0.1',
    port: 0,
  });
  return { url: server.url, close: () => server.close() };
}

async function startBareSink(): Promise<Running> {
  return listen(
    createServer((req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
    }),
  );
}

async function startBareFiles(dir: string): Promise<Running> {
  return listen(
    createServer((req, res) => {
      const path = req.url ?? '/';
      if (path.includes('..') || path.includes('?')) {
        res.writeHead(404, { 'content-length': '0' }).end();
        return;
      }
      readFile(join(dir, path)).then(
        (data) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(data),
        () => res.writeHead(404, { 'content-length': '0' }).end(),
      );
    }),
  );
}

async function listen(server: Server): Promise<Running> {
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function start(args: readonly string[]): Promise<Running> {
  const [mode, dir = '', batch = '256', age = '50'] = args;
  switch (mode) {
    case 'log':
      return startLog(dir, Number(batch), Number(age));
    case 'mirror':
      return startMirror(dir);
    case 'bare-sink':
      return startBareSink();
    case 'bare-files':
      return startBareFiles(dir);
    default:
      return Promise.reject(new Error(`unknown server mode ${String(mode)}`));
  }
}

async function main(): Promise<void> {
  const send = (message: ChildMessage): void => {
    process.send?.(message);
  };
  let running: Running;
  try {
    running = await start(process.argv.slice(2));
  } catch (error) {
    send({ failed: error instanceof Error ? error.message : String(error) });
    process.disconnect?.();
    return;
  }
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await running.close();
    if (process.connected) process.disconnect();
  };
  process.on('message', (message) => {
    if (message === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  send({ ready: running.url });
}

if (import.meta.main) await main();
