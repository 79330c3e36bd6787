/**
 * Test support: a C2SP tiled log written to a folder from a list of entries (through the same
 * integration code the sequencer uses), and a bare static file server for such a folder, so
 * that clients and peer implementations can be tested against real files over real HTTP.
 */

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import type { Signer } from '../../src/core/crypto/index.ts';
import { createNoteSigner, signNote } from '../../src/core/note/index.ts';
import { formatCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { emptyLogEdge, integrate, type LogEdge } from '../../src/services/log/integrate.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';

/** StaticLog is a log folder being written batch by batch. */
export interface StaticLog {
  readonly dir: string;
  /** append integrates `entries` as one batch, writes the files and a newly signed checkpoint, and returns it. */
  append(entries: readonly Uint8Array[]): Promise<Uint8Array>;
  readonly size: bigint;
}

/** createStaticLog starts an empty log in `dir` whose checkpoints `signer` signs for `origin`. */
export async function createStaticLog(dir: string, origin: string, signer: Signer): Promise<StaticLog> {
  const store = new FsBlobStore(dir);
  const noteSigner = createNoteSigner(signer, origin);
  let edge: LogEdge = emptyLogEdge();
  const publish = async (root: Uint8Array): Promise<Uint8Array> => {
    const text = formatCheckpoint({ origin, size: edge.tiles.size, root, extensions: [] });
    const note = await signNote(text, [noteSigner]);
    await store.publish('checkpoint', note);
    return note;
  };
  const log: StaticLog = {
    dir,
    get size() {
      return edge.tiles.size;
    },
    async append(entries) {
      const result = integrate(edge, entries);
      await Promise.all(result.files.map((file) => store.put(file.path, file.data)));
      edge = result.edge;
      return publish(result.root);
    },
  };
  return log;
}

/** serveStaticFolder serves files under `dir` read-only on 127.0.0.1; `close` stops it. */
export async function serveStaticFolder(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/'));
    if (path.includes('..')) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(dir, path)).then(
      (data) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(data),
      () => res.writeHead(404).end('not found\n'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
