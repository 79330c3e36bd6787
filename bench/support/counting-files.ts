/**
 * A static file server for the update benchmarks (suites/updates.ts), run in a child process of
 * its own so that neither its event loop nor its CPU time is charged to the client measured in
 * the parent (the suite reads `process.cpuUsage()`). It serves a repository's `public/` folder as
 * any web server would — 200 with `content-length`, 404 for a missing file — and counts, at the
 * server, every request and every response body byte, which the parent reads (and resets) over
 * IPC. `hide` makes some paths answer 404, as a mirror that does not carry them would; the suite
 * uses it to force the agent off a delta onto the full database.
 *
 * The same file is the child (run when it is the main module) and the parent's handle to it.
 * The child stops on `stop` or when the parent goes away; the parent kills it by its process id
 * if it does not stop in time, so no server outlives a run.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

const startTimeoutMs = 20_000;
const stopTimeoutMs = 10_000;
const askTimeoutMs = 10_000;

/** ServerCounts are what the server saw since the last `take`. */
export interface ServerCounts {
  readonly requests: number;
  /** bytes are response body bytes (headers not counted). */
  readonly bytes: number;
  /** served lists the requests in order: path (without the leading `/`), status and body bytes. */
  readonly served: readonly ServedFile[];
}

/** ServedFile is one answered request. */
export interface ServedFile {
  readonly path: string;
  readonly status: 200 | 404;
  readonly bytes: number;
}

/** CountingFileServer is the parent's handle on a running child server. */
export interface CountingFileServer {
  /** url is the base URL, ending in `/`. */
  readonly url: string;
  /** take returns the counts since the last take and resets them. */
  take(): Promise<ServerCounts>;
  /** hide makes request paths ending in any of `suffixes` answer 404 (an empty list hides nothing). */
  hide(suffixes: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

type ParentMessage =
  | { readonly id: number; readonly op: 'take' }
  | { readonly id: number; readonly op: 'hide'; readonly suffixes: readonly string[] }
  | { readonly op: 'stop' };

type ChildMessage =
  | { readonly ready: string }
  | { readonly failed: string }
  | { readonly id: number; readonly counts?: ServerCounts };

/** startCountingFileServer forks this module to serve `dir` and resolves once it listens. */
export async function startCountingFileServer(dir: string): Promise<CountingFileServer> {
  const child = fork(import.meta.filename, [dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const waiting = new Map<number, (message: ChildMessage) => void>();
  let next = 0;
  child.on('message', (message: ChildMessage) => {
    if ('id' in message) {
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    }
  });
  const ask = (message: ParentMessage & { id: number }): Promise<ChildMessage> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(message.id);
        reject(new Error('bench: the file server did not answer'));
      }, askTimeoutMs);
      waiting.set(message.id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      child.send(message);
    });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('bench: the file server did not start')),
        startTimeoutMs,
      );
      child.once('message', (message: ChildMessage) => {
        clearTimeout(timer);
        if ('ready' in message) resolve(message.ready);
        else reject(new Error(`bench: the file server failed: ${'failed' in message ? message.failed : ''}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bench: the file server exited with ${code}`));
      });
    });
    return {
      url,
      async take() {
        const answer = await ask({ id: next++, op: 'take' });
        if (!('counts' in answer) || answer.counts === undefined) throw new Error('bench: no counts');
        return answer.counts;
      },
      async hide(suffixes) {
        await ask({ id: next++, op: 'hide', suffixes });
      },
      stop: () => stopChild(child, exited),
    };
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (child.connected) child.send({ op: 'stop' } satisfies ParentMessage);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), stopTimeoutMs);
  });
  const outcome = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}

// serveChild is the child: serve `dir`, count, answer the parent.
async function serveChild(dir: string): Promise<void> {
  const send = (message: ChildMessage): void => {
    process.send?.(message);
  };
  let requests = 0;
  let bytes = 0;
  let served: ServedFile[] = [];
  let hidden: readonly string[] = [];
  const server = createServer((req, res) => {
    const raw = (req.url ?? '/').split('?')[0] ?? '/';
    const path = decodeURIComponent(raw).replace(/^\/+/, '');
    requests++;
    const notFound = (): void => {
      served.push({ path, status: 404, bytes: 0 });
      res.writeHead(404, { 'content-length': '0' }).end();
    };
    const file = normalize(path);
    if (file.startsWith('..') || file.includes('/../') || hidden.some((s) => path.endsWith(s))) {
      notFound();
      return;
    }
    readFile(join(dir, file)).then((data) => {
      bytes += data.length;
      served.push({ path, status: 200, bytes: data.length });
      res
        .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length })
        .end(data);
    }, notFound);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    send({ failed: error instanceof Error ? error.message : String(error) });
    process.disconnect?.();
    return;
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close(() => {
      if (process.connected) process.disconnect();
    });
    server.closeAllConnections();
  };
  process.on('message', (message: ParentMessage) => {
    if (message.op === 'stop') stop();
    else if (message.op === 'take') {
      send({ id: message.id, counts: { requests, bytes, served } });
      requests = 0;
      bytes = 0;
      served = [];
    } else {
      hidden = [...message.suffixes];
      send({ id: message.id });
    }
  });
  process.on('disconnect', stop);
  const { port } = server.address() as AddressInfo;
  send({ ready: `http://127.0.0.1:${port}/` });
}

if (import.meta.main) await serveChild(process.argv[2] ?? '.');
