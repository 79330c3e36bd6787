import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  entryOf,
  keyFor,
  makeTempDir,
  makeTestLog,
  removeDir,
  type TestLog,
} from '../../../test/support/log-fixture.ts';
import { serveStaticFolder } from '../../../test/support/static-log.ts';
import { equalBytes, formatHex, toBytes } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import {
  emptyRoot,
  leafHash,
  merkleTreeHash,
  proveConsistency,
  proveInclusion,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../core/merkle/index.ts';
import {
  addSignatures,
  createNoteSigner,
  formatNote,
  formatVerifierKey,
  parseNote,
  signNote,
  verifierSet,
} from '../../core/note/index.ts';
import { formatCheckpoint, parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { createCosignatureVerifier, createCosigner } from '../../core/tlog/cosignature.ts';
import { parsePolicy } from '../../core/tlog/policy.ts';
import { checkTlogProof, formatTlogProof, parseTlogProof } from '../../core/tlog/proof.ts';
import { formatTilePath, parseTilePath } from '../../core/tlog/tile-path.ts';
import { planTileEdge, treeTiles } from '../../core/tlog/tiles.ts';
import { LogClient, type LogClientOptions } from './client.ts';
import type { TileFetcher } from './fetcher.ts';
import { FolderTileFetcher } from './folder-fetcher.ts';
import { HttpTileFetcher } from './http-fetcher.ts';
import { CachingTileFetcher } from './tile-cache.ts';

// patched serves `inner` but lets `patch` replace (or drop, with undefined) any file, and records
// every path requested.
function patched(
  inner: TileFetcher,
  patch: (path: string, data: Uint8Array | undefined) => Uint8Array | undefined = (_p, d) => d,
): TileFetcher & { gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    async get(path) {
      gets.push(path);
      return patch(path, await inner.get(path));
    },
    async save(path, data) {
      await inner.save?.(path, data);
    },
  };
}

// atCheckpoint serves the log as of an older checkpoint note.
function atCheckpoint(inner: TileFetcher, note: Uint8Array): TileFetcher & { gets: string[] } {
  return patched(inner, (path, data) => (path === 'checkpoint' ? note : data));
}

function flipByte(data: Uint8Array | undefined, at = 0): Uint8Array | undefined {
  if (data === undefined) return undefined;
  const copy = data.slice();
  const i = at % copy.length;
  copy[i] = (copy[i] as number) ^ 0x01;
  return copy;
}

function tileCount(size: bigint): number {
  return treeTiles(size).reduce((n, level) => n + Number(level.fullTiles) + (level.partial ? 1 : 0), 0);
}

function options(log: TestLog, extra: Partial<LogClientOptions> = {}): LogClientOptions {
  return { logKey: log.logKey, ...extra };
}

function leafHashesOf(size: number): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => leafHash(entryOf(i)));
}

// listFiles lists the files (not folders) under `dir`, as slash-separated relative paths.
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(isVouchError(error), `not a VouchError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

describe('logs of every shape verify', () => {
  const rows: { name: string; batches: number[] }[] = [
    { name: 'empty', batches: [0] },
    { name: 'one entry', batches: [1] },
    { name: '255 entries', batches: [255] },
    { name: '256 entries: a full tile and a level-1 partial', batches: [256] },
    { name: '257 entries', batches: [257] },
    { name: 'many small batches', batches: [1, 2, 3, 100, 255, 256, 257, 511, 512, 513, 700] },
  ];
  for (const row of rows) {
    test(row.name, async () => {
      const log = await makeTestLog(row.batches);
      const server = await serveStaticFolder(log.dir);
      try {
        const size = BigInt(row.batches.at(-1) ?? 0);
        const want = rootFromLeafHashes(leafHashesOf(Number(size)));
        for (const fetcher of [new FolderTileFetcher(log.dir), new HttpTileFetcher(server.url)]) {
          const client = await LogClient.open(fetcher, options(log));
          assert.equal(client.size, size);
          assert.ok(equalBytes(client.checkpoint.root, want));
          const result = await client.verifyLog();
          assert.equal(result.entries, size);
          assert.equal(result.tiles, tileCount(size));
          assert.equal(result.origin, log.origin);
          assert.ok(equalBytes(result.root, want));
        }
      } finally {
        await server.close();
        await removeDir(log.dir);
      }
    });
  }
});

describe('proofs against every earlier checkpoint of a small log', () => {
  let log: TestLog;
  before(async () => {
    log = await makeTestLog(Array.from({ length: 20 }, (_, i) => i + 1).concat([255, 256, 257, 300]));
  });
  after(() => removeDir(log.dir));

  test('inclusion and consistency proofs equal the RFC 6962 reference and verify', async () => {
    const leaves = leafHashesOf(300);
    for (const [size, note] of log.checkpoints) {
      const client = await LogClient.open(atCheckpoint(new FolderTileFetcher(log.dir), note), options(log));
      assert.ok(equalBytes(client.checkpoint.root, merkleTreeHash(leaves, size)), `root at ${size}`);
      const indexes =
        size <= 20n ? [...Array(Number(size)).keys()].map(BigInt) : [0n, 1n, 127n, 254n, size - 1n];
      for (const index of indexes) {
        const proof = await client.inclusionProof(index);
        assert.deepEqual(proof, proveInclusion(leaves, index, size), `inclusion ${index}@${size}`);
        verifyInclusion(leaves[Number(index)] as Uint8Array, index, size, proof, client.checkpoint.root);
      }
      for (const old of [1n, 2n, 7n, 16n, 255n, 256n, size]) {
        if (old > size) continue;
        const proof = await client.consistencyProof(old);
        assert.deepEqual(proof, proveConsistency(leaves, old, size), `consistency ${old}->${size}`);
        assert.ok(equalBytes(await client.rootAt(old), merkleTreeHash(leaves, old)));
      }
    }
  });
});

describe('a log of 70,000 entries', () => {
  let log: TestLog;
  let server: Awaited<ReturnType<typeof serveStaticFolder>>;
  before(async () => {
    log = await makeTestLog([300, 70000]);
    server = await serveStaticFolder(log.dir);
  });
  after(async () => {
    await server.close();
    await removeDir(log.dir);
  });

  test('the audit over HTTP recomputes the vector root and reports progress', async () => {
    const client = await LogClient.open(new HttpTileFetcher(server.url), options(log));
    const progress: bigint[] = [];
    const result = await client.verifyLog({ onProgress: (p) => progress.push(p.entries) });
    assert.equal(formatHex(result.root), 'a62a54be33294ffd5a5c4c637fd754630b71a892e8356e3a666a5c8a7ffd1518');
    assert.equal(result.entries, 70000n);
    assert.equal(result.tiles, 277);
    assert.equal(progress.length, 274);
    assert.equal(progress.at(-1), 70000n);
    assert.ok(progress.every((n, i) => i === 0 || n > (progress[i - 1] as bigint)));
  });

  test('inclusion proofs for many indexes verify, as tlog-proofs too, fetching each tile once', async () => {
    const fetcher = patched(new FolderTileFetcher(log.dir));
    const client = await LogClient.open(fetcher, options(log, { maxCachedTiles: 1000 }));
    const verifiers = verifierSet([log.logKey]);
    const indexes = [0n, 1n, 255n, 256n, 257n, 65535n, 65536n, 69887n, 69888n, 69999n];
    for (let i = 0n; i < 70000n; i += 997n) indexes.push(i);
    for (const index of indexes) {
      const tlogProof = await client.proveInclusion(index);
      const leaf = leafHash(entryOf(index));
      verifyInclusion(leaf, index, 70000n, tlogProof.proof, client.checkpoint.root);
      const reparsed = parseTlogProof(formatTlogProof(tlogProof));
      assert.deepEqual(reparsed.checkpoint, log.checkpoints.get(70000n));
      checkTlogProof(reparsed, leaf, log.origin, verifiers);
      assert.throws(() => checkTlogProof(reparsed, leafHash(entryOf(index + 1n)), log.origin, verifiers));
    }
    const counts = new Map<string, number>();
    for (const path of fetcher.gets) counts.set(path, (counts.get(path) ?? 0) + 1);
    for (const [path, count] of counts) assert.equal(count, 1, `${path} fetched ${count} times`);
  });

  test('consistency across appends', async () => {
    const client = await LogClient.open(new FolderTileFetcher(log.dir), options(log));
    const old = parseCheckpoint(parseNote(log.checkpoints.get(300n) as Uint8Array).text);
    const proof = await client.checkConsistency(old);
    verifyConsistency(300n, 70000n, proof, old.root, client.checkpoint.root);
    assert.deepEqual(proof, await client.consistencyProof(300n));
    assert.ok(equalBytes(await client.rootAt(300n), old.root));
    for (const [m, n] of [
      [1n, 70000n],
      [256n, 65536n],
      [65536n, 69999n],
      [12345n, 54321n],
    ] as const) {
      const p = await client.consistencyProof(m, n);
      verifyConsistency(m, n, p, await client.rootAt(m), await client.rootAt(n));
    }
    await rejectsWith(client.consistencyProof(0n), 'invalid-argument');
    await rejectsWith(client.consistencyProof(5n, 70001n), 'invalid-argument');
  });

  test('entries are read in ranges and checked', async () => {
    const client = await LogClient.open(new FolderTileFetcher(log.dir), options(log));
    for (const [start, end] of [
      [0n, 0n],
      [0n, 1n],
      [250n, 520n],
      [69990n, 70000n],
    ] as const) {
      const got: bigint[] = [];
      for await (const entry of client.entries(start, end)) {
        assert.deepEqual(entry.data, entryOf(entry.index));
        got.push(entry.index);
      }
      assert.deepEqual(
        got,
        Array.from({ length: Number(end - start) }, (_, i) => start + BigInt(i)),
      );
    }
    assert.deepEqual(await client.readEntry(65536n), entryOf(65536));
    await rejectsWith(client.readEntry(70000n), 'invalid-argument');
    await rejectsWith(client.entries(5n, 4n).next(), 'invalid-argument');
    await rejectsWith(client.entries(0n, 70001n).next(), 'invalid-argument');
  });

  test('partial tiles that vanished are read from their full tiles, and never cached', async () => {
    // At size 300 the log published tile/0/001.p/44, tile/1/000.p/1 and tile/entries/001.p/44;
    // by size 70000 their full tiles exist, and a log may delete the partial ones. A client
    // still at the size-300 checkpoint (a stale mirror, or its own saved state) must cope.
    const gone = ['tile/0/001.p/44', 'tile/1/000.p/1', 'tile/entries/001.p/44'];
    for (const path of gone) await rm(join(log.dir, path));
    const cacheDir = await makeTempDir();
    try {
      const note = log.checkpoints.get(300n) as Uint8Array;
      const fetcher = atCheckpoint(new CachingTileFetcher(new HttpTileFetcher(server.url), cacheDir), note);
      const client = await LogClient.open(fetcher, options(log));
      const result = await client.verifyLog();
      assert.equal(result.entries, 300n);
      const proof = await client.inclusionProof(299n);
      verifyInclusion(leafHash(entryOf(299)), 299n, 300n, proof, client.checkpoint.root);
      assert.deepEqual(await client.readEntry(299n), entryOf(299));
      for (const path of gone) assert.ok(fetcher.gets.includes(path), path);
      assert.ok(fetcher.gets.includes('tile/1/000') && fetcher.gets.includes('tile/entries/001'));
      // Only tile/0/000 and its bundle were verified in full; the full tiles behind the
      // fallback were verified only up to the old size, so they must not be cached.
      assert.deepEqual(await listFiles(cacheDir), ['tile/0/000', 'tile/entries/000']);
      // No partial tile of any other size was requested.
      const allowed = new Set([...planTileEdge(300n).map(formatTilePath), 'tile/entries/001.p/44']);
      for (const path of fetcher.gets) {
        if (path !== 'checkpoint' && parseTilePath(path).width < 256) assert.ok(allowed.has(path), path);
      }
      // Without the full tiles either, the partial tiles are simply missing.
      const bare = patched(fetcher, (path, data) => (path === 'tile/1/000' ? undefined : data));
      const stale = await LogClient.open(bare, options(log));
      await assert.rejects(
        stale.checkRoot(),
        (e) => isVouchError(e, 'not-found') && e.details.field === 'tile/1/000.p/1',
      );
    } finally {
      await removeDir(cacheDir);
    }
  });

  test('a flipped byte in any kind of tile fails the audit and the proofs through it', async () => {
    const rows: { path: string; index: bigint }[] = [
      { path: 'tile/0/000', index: 3n },
      { path: 'tile/0/272', index: 272n * 256n },
      { path: 'tile/0/273.p/112', index: 69999n },
      { path: 'tile/1/000', index: 1000n },
      { path: 'tile/1/001.p/17', index: 66000n },
      { path: 'tile/2/000.p/1', index: 5n },
    ];
    for (const row of rows) {
      const fetcher = patched(new FolderTileFetcher(log.dir), (path, data) =>
        path === row.path ? flipByte(data, 77) : data,
      );
      const audit = await LogClient.open(fetcher, options(log));
      await rejectsWith(audit.verifyLog(), 'bad-proof');
      const prover = await LogClient.open(fetcher, options(log));
      await rejectsWith(prover.proveInclusion(row.index), 'bad-proof');
    }
  });
});

describe('tampering and faults fail closed', () => {
  let log: TestLog;
  let files: string[];
  before(async () => {
    // 3 full level-0 tiles, a partial one, a level-1 partial: every kind of file.
    log = await makeTestLog([100, 785]);
    files = (await listFiles(log.dir)).filter((p) => p !== 'checkpoint');
  });
  after(() => removeDir(log.dir));

  test('a flipped byte in every tile and bundle of the log is caught', async () => {
    const edge = new Set(planTileEdge(785n).map(formatTilePath));
    const served = files.filter((p) => !p.includes('.p/') || edge.has(p) || p === 'tile/entries/003.p/17');
    assert.equal(served.length, 9); // 4 level-0 tiles, 1 level-1 tile, 4 bundles
    for (const target of served) {
      for (const at of [0, 31, 1000]) {
        const fetcher = patched(new FolderTileFetcher(log.dir), (path, data) =>
          path === target ? flipByte(data, at) : data,
        );
        const client = await LogClient.open(fetcher, options(log));
        await assert.rejects(client.verifyLog(), (error) => {
          assert.ok(isVouchError(error));
          const want = target.startsWith('tile/entries/') ? ['bad-digest', 'malformed'] : ['bad-proof'];
          assert.ok(want.includes(error.code), `${target}@${at}: ${error.code} ${error.message}`);
          // The error names the file at fault, or the edge tiles when the root cannot tell which.
          assert.ok(
            error.message.includes(target) || error.code === 'malformed' || edge.has(target),
            error.message,
          );
          return true;
        });
      }
    }
  });

  test('property: any corruption of any served file fails closed with a VouchError', async () => {
    const edge = new Set(planTileEdge(785n).map(formatTilePath));
    const served = files.filter((p) => !p.includes('.p/') || edge.has(p) || p === 'tile/entries/003.p/17');
    const corruption = fc.record({
      file: fc.constantFrom(...served),
      kind: fc.constantFrom('flip', 'truncate', 'extend', 'drop'),
      at: fc.nat(),
      mask: fc.integer({ min: 1, max: 255 }),
    });
    await fc.assert(
      fc.asyncProperty(corruption, async ({ file, kind, at, mask }) => {
        const fetcher = patched(new FolderTileFetcher(log.dir), (path, data) => {
          if (path !== file || data === undefined) return data;
          if (kind === 'drop') return undefined;
          if (kind === 'truncate') return data.slice(0, at % data.length);
          if (kind === 'extend') return Uint8Array.of(...data, mask);
          const copy = data.slice();
          copy[at % copy.length] = (copy[at % copy.length] as number) ^ mask;
          return copy;
        });
        const client = await LogClient.open(fetcher, options(log));
        await assert.rejects(client.verifyLog(), (error) => {
          assert.ok(isVouchError(error) && error.code !== 'invariant', String(error));
          return true;
        });
      }),
      { seed: 20260807, numRuns: 60 },
    );
  });

  test('a changed entry names its index', async () => {
    const fetcher = patched(new FolderTileFetcher(log.dir), (path, data) => {
      if (path !== 'tile/entries/001' || data === undefined) return data;
      // entry-256 .. : replace the 10th entry's last digit, same length.
      const text = new TextDecoder().decode(data).replace('entry-265', 'entry-26X');
      return toBytes(text);
    });
    const client = await LogClient.open(fetcher, options(log));
    await assert.rejects(
      client.verifyLog(),
      (error) => isVouchError(error, 'bad-digest') && error.details.index === 265n,
    );
    await rejectsWith(client.readEntry(265n), 'bad-digest', /entry 265 in tile\/entries\/001/);
    assert.deepEqual(await client.readEntry(100n), entryOf(100));
  });

  test('a truncated or padded bundle is malformed', async () => {
    for (const change of [(d: Uint8Array) => d.slice(0, -1), (d: Uint8Array) => Uint8Array.of(...d, 0)]) {
      const fetcher = patched(new FolderTileFetcher(log.dir), (path, data) =>
        path === 'tile/entries/002' && data !== undefined ? change(data) : data,
      );
      const client = await LogClient.open(fetcher, options(log));
      await rejectsWith(client.verifyLog(), 'malformed', /tile\/entries\/002/);
    }
  });

  test('a missing tile or bundle is not-found naming it', async () => {
    for (const target of ['tile/0/001', 'tile/entries/002', 'tile/1/000.p/3', 'tile/0/003.p/17']) {
      const fetcher = patched(new FolderTileFetcher(log.dir), (path, data) =>
        path === target ? undefined : data,
      );
      const client = await LogClient.open(fetcher, options(log));
      await assert.rejects(
        client.verifyLog(),
        (e) => isVouchError(e, 'not-found') && e.details.field === target,
      );
    }
    const empty = patched(new FolderTileFetcher(log.dir), () => undefined);
    await assert.rejects(
      LogClient.open(empty, options(log)),
      (e) => isVouchError(e, 'not-found') && e.details.field === 'checkpoint',
    );
  });

  test('checkpoint signatures: the log key is required, a known bad signature rejects', async () => {
    const note = log.checkpoints.get(785n) as Uint8Array;
    const text = parseNote(note).text;
    const other = keyFor(log.origin);
    const witness = keyFor('witness.example');
    const cosigner = createCosigner(witness.signer, { timestamp: 1700000000n });
    const witnessVerifier = createCosignatureVerifier({
      name: cosigner.name,
      keyId: cosigner.keyId,
      type: cosigner.type as 4,
      publicKey: cosigner.publicKey,
    });
    const witnessOnly = await signNote(text, [cosigner]);
    const both = await signNote(text, [createNoteSigner(log.signer, log.origin), cosigner]);
    const badLogSignature = (() => {
      const parsed = parseNote(note);
      const [first] = parsed.signatures;
      assert.ok(first !== undefined);
      const signature = first.signature.slice();
      signature[5] = (signature[5] as number) ^ 1;
      return formatNote({ text, signatures: [{ ...first, signature }] });
    })();
    const rows: { name: string; note: Uint8Array; opts: LogClientOptions; code?: string }[] = [
      { name: 'signed by the log', note, opts: options(log) },
      { name: 'the wrong log key', note, opts: { logKey: other.verifier }, code: 'no-trusted-signature' },
      {
        name: 'only a trusted witness signed',
        note: witnessOnly,
        opts: options(log, { cosigners: [witnessVerifier] }),
        code: 'no-trusted-signature',
      },
      {
        name: 'the log and a witness signed',
        note: both,
        opts: options(log, { cosigners: [witnessVerifier] }),
      },
      {
        name: "the log's signature is bad",
        note: badLogSignature,
        opts: options(log),
        code: 'bad-signature',
      },
      {
        name: 'another origin is expected',
        note,
        opts: options(log, { origin: 'example.com/other' }),
        code: 'policy-unmet',
      },
    ];
    for (const row of rows) {
      const opening = LogClient.open(atCheckpoint(new FolderTileFetcher(log.dir), row.note), row.opts);
      if (row.code === undefined) {
        const client = await opening;
        assert.ok(client.note.verified.some((s) => s.name === log.origin));
        assert.deepEqual(client.signedCheckpoint(), row.note, row.name);
      } else {
        await rejectsWith(opening, row.code);
      }
    }
    const client = await LogClient.open(
      atCheckpoint(new FolderTileFetcher(log.dir), both),
      options(log, { cosigners: [witnessVerifier] }),
    );
    assert.deepEqual(
      client.note.verified.map((s) => s.name),
      [log.origin, 'witness.example'],
    );
    // The tlog-proof carries the cosignatures verbatim.
    assert.deepEqual((await client.proveInclusion(7n)).checkpoint, both);
  });

  test('a tlog-policy: the log key from the policy, and its witness quorum', async () => {
    const note = parseNote(log.checkpoints.get(785n) as Uint8Array);
    const witnesses = ['w1.example', 'w2.example', 'w3.example'].map((name) => {
      const cosigner = createCosigner(keyFor(name).signer, { timestamp: 1_700_000_000n });
      return { cosigner, vkey: formatVerifierKey(cosigner) };
    });
    const policy = parsePolicy(
      toBytes(
        `log ${log.vkey}\n${witnesses.map((w, i) => `witness w${i + 1} ${w.vkey}\n`).join('')}group two 2 w1 w2 w3\nquorum two\n`,
      ),
    );
    const cosignedBy = async (indexes: number[]) =>
      formatNote(
        await addSignatures(
          note,
          indexes.map((i) => (witnesses[i] as (typeof witnesses)[0]).cosigner),
        ),
      );
    const open = async (bytes: Uint8Array, opts: LogClientOptions) =>
      LogClient.open(atCheckpoint(new FolderTileFetcher(log.dir), bytes), opts);

    const client = await open(await cosignedBy([2, 0]), { policy });
    assert.deepEqual(
      client.cosigners.map((c) => [c.witness, c.timestamp]),
      [
        ['w1', 1_700_000_000n],
        ['w3', 1_700_000_000n],
      ],
    );
    await client.checkRoot();
    assert.equal((await client.verifyLog()).entries, 785n);
    assert.deepEqual((await LogClient.open(new FolderTileFetcher(log.dir), options(log))).cosigners, []);

    await rejectsWith(
      open(await cosignedBy([1]), { policy }),
      'policy-unmet',
      /needs 2 of its 3 members and has 1/,
    );
    await rejectsWith(
      open(await cosignedBy([0, 1]), { policy, freshness: { now: 1_700_000_100n, maxAge: 60n } }),
      'policy-unmet',
      /\(stale\)/,
    );
    await rejectsWith(
      open(await cosignedBy([0, 1]), { policy, origin: 'example.com/other' }),
      'policy-unmet',
      /origin/,
    );
    const withoutLog = formatNote({
      text: note.text,
      signatures: parseNote(await cosignedBy([0, 1, 2])).signatures.slice(1),
    });
    await rejectsWith(open(withoutLog, { policy }), 'no-trusted-signature');
    const cosigned = await cosignedBy([0, 1]);
    await rejectsWith(open(cosigned, { policy, logKey: log.logKey }), 'invalid-argument');
    await rejectsWith(open(cosigned, {}), 'invalid-argument');
    await rejectsWith(
      open(cosigned, { ...options(log), freshness: { now: 0n, maxAge: 0n } }),
      'invalid-argument',
    );
  });

  test('a checkpoint the tiles do not support fails on the first read', async () => {
    const signer = createNoteSigner(log.signer, log.origin);
    const wrongRoot = await signNote(
      formatCheckpoint({ origin: log.origin, size: 785n, root: new Uint8Array(32).fill(9), extensions: [] }),
      [signer],
    );
    const client = await LogClient.open(
      atCheckpoint(new FolderTileFetcher(log.dir), wrongRoot),
      options(log),
    );
    await rejectsWith(client.verifyLog(), 'bad-proof', /edge tiles tile\/0\/003\.p\/17, tile\/1\/000\.p\/3/);
    await rejectsWith(client.proveInclusion(0n), 'bad-proof');
    await rejectsWith(client.readEntry(0n), 'bad-proof');
    const emptyWrong = await signNote(
      formatCheckpoint({ origin: log.origin, size: 0n, root: new Uint8Array(32), extensions: [] }),
      [signer],
    );
    await rejectsWith(
      LogClient.open(atCheckpoint(new FolderTileFetcher(log.dir), emptyWrong), options(log)),
      'bad-proof',
    );
  });

  test('forks and rollbacks are caught by checkConsistency', async () => {
    const fork = await makeTestLog([], { signer: log.signer });
    try {
      await fork.grow(50);
      await fork.grow(100, (i) => (i === 60 ? toBytes('forked') : entryOf(i)));
      const forkCheckpoint = parseCheckpoint(parseNote(fork.checkpoints.get(100n) as Uint8Array).text);
      const client = await LogClient.open(new FolderTileFetcher(log.dir), options(log));
      await rejectsWith(client.checkConsistency(forkCheckpoint), 'bad-proof');
      const own100 = parseCheckpoint(parseNote(log.checkpoints.get(100n) as Uint8Array).text);
      assert.ok(!equalBytes(own100.root, forkCheckpoint.root));
      await client.checkConsistency(own100);
      const later = { ...client.checkpoint, size: 786n };
      await rejectsWith(client.checkConsistency(later), 'bad-proof', /smaller than size 786/);
      const sameSizeOtherRoot = { ...client.checkpoint, root: emptyRoot() };
      await rejectsWith(client.checkConsistency(sameSizeOtherRoot), 'bad-proof');
      await client.checkConsistency({ ...client.checkpoint, size: 0n, root: emptyRoot() });
      await rejectsWith(client.checkConsistency({ ...own100, origin: 'elsewhere' }), 'invalid-argument');
      // The fork itself verifies on its own: it is a different, consistent log under the same key.
      const forkClient = await LogClient.open(new FolderTileFetcher(fork.dir), options(fork));
      assert.equal((await forkClient.verifyLog()).entries, 100n);
    } finally {
      await removeDir(fork.dir);
    }
  });

  test('an HTTP log that sends oversized bodies or keeps failing', async () => {
    const { createServer } = await import('node:http');
    const bad = new Map<string, (res: import('node:http').ServerResponse) => void>([
      ['/tile/0/001', (res) => res.writeHead(200).end(new Uint8Array(8193))],
      ['/tile/entries/002', (res) => res.writeHead(500).end()],
    ]);
    const server = createServer((req, res) => {
      const special = bad.get(req.url ?? '');
      if (special !== undefined) return special(res);
      readFile(join(log.dir, req.url ?? '')).then(
        (data) => res.writeHead(200).end(data),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      const fetcher = new HttpTileFetcher(`http://127.0.0.1:${port}`, {
        retries: 1,
        sleep: () => Promise.resolve(),
      });
      const client = await LogClient.open(fetcher, options(log));
      await rejectsWith(client.verifyLog(), 'too-large', /tile\/0\/001/);
      await rejectsWith(client.readEntry(600n), 'unavailable', /tile\/entries\/002/);
      assert.deepEqual(await client.readEntry(100n), entryOf(100));
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  });

  test('the cache never holds a tile that did not verify', async () => {
    const cacheDir = await makeTempDir();
    try {
      const tampered = patched(new FolderTileFetcher(log.dir), (path, data) =>
        path === 'tile/0/001' || path === 'tile/entries/002' ? flipByte(data, 40) : data,
      );
      const cache = new CachingTileFetcher(tampered, cacheDir);
      await assert.rejects((await LogClient.open(cache, options(log))).verifyLog());
      for (const index of [0n, 300n, 600n]) {
        await (await LogClient.open(cache, options(log))).readEntry(index).catch(() => undefined);
      }
      const cached = await listFiles(cacheDir);
      assert.ok(!cached.includes('tile/0/001') && !cached.includes('tile/entries/002'), cached.join());
      assert.ok(cached.length > 0 && cached.every((p) => !p.includes('.p/')));
      for (const path of cached) {
        assert.deepEqual(await readFile(join(cacheDir, path)), await readFile(join(log.dir, path)), path);
      }
      // Untampered, the whole log verifies and is then served from the cache.
      await rm(cacheDir, { recursive: true });
      const counting = patched(new FolderTileFetcher(log.dir));
      const warm = new CachingTileFetcher(counting, cacheDir);
      await (await LogClient.open(warm, options(log))).verifyLog();
      const firstRun = counting.gets.length;
      await (await LogClient.open(warm, options(log))).verifyLog();
      const secondRun = counting.gets.slice(firstRun);
      assert.deepEqual(secondRun.sort(), [
        'checkpoint',
        'tile/0/003.p/17',
        'tile/1/000.p/3',
        'tile/entries/003.p/17',
      ]);
    } finally {
      await removeDir(cacheDir);
    }
  });
});
