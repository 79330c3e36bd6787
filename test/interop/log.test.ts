/**
 * Whole-log interop with Go: logs written batch by batch through the log service's integration
 * code (test/support/static-log.ts) and served over HTTP are verified by `tlogcheck`
 * (test/interop/go/tlog, built on golang.org/x/mod/sumdb/note and sumdb/tlog): checkpoint
 * signature, root recomputed from the tiles, every entry of every bundle against its leaf hash,
 * witness cosignatures, and consistency across appends. Go's inclusion proofs, printed as
 * c2sp.org/tlog-proof@v1, must pass core/tlog's parseTlogProof and checkTlogProof, and tampered
 * tiles, bundles and checkpoints must make Go fail.
 *
 * Without `go` or the Debian x/mod sources the suite is skipped with the reason, except on CI
 * (`CI` set), where that is a failure.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { equalBytes, formatBase64, toBytes, toText } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey, type Signer } from '../../src/core/crypto/index.ts';
import { isVouchError } from '../../src/core/errors.ts';
import { emptyRoot, leafHash } from '../../src/core/merkle/index.ts';
import {
  addSignatures,
  appendSignatures,
  createNoteSigner,
  formatKeyId,
  formatNote,
  formatVerifierKey,
  openNote,
  parseNote,
  signNote,
  signText,
  verifierSet,
} from '../../src/core/note/index.ts';
import { formatCheckpoint, parseCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { createCheckpointVerifier, createCosigner } from '../../src/core/tlog/cosignature.ts';
import { checkTlogProof, formatTlogProof, parseTlogProof } from '../../src/core/tlog/proof.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';
import { createStaticLog, type StaticLog, serveStaticFolder } from '../support/static-log.ts';
import {
  buildGoTlog,
  goCheckConsistency,
  goProveEntry,
  goTlogUnavailable,
  goVerifyLog,
  runGoTlog,
} from './go-tlog.ts';

const origin = 'example.com/log';

const reason = goTlogUnavailable();
if (reason !== undefined && process.env.CI) {
  test('Go tiled-log interop', () => assert.fail(`Go interop is required on CI: ${reason}`));
} else if (reason !== undefined) {
  test('Go tiled-log interop', { skip: `skipped: ${reason}` }, () => undefined);
} else {
  suite();
}

// mulberry32: a tiny seeded generator, so a failure reproduces.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Entry i of every test log: mostly short random bytes; every 97th empty; entry 1000 the largest allowed. */
function entryAt(i: number): Uint8Array {
  if (i % 97 === 0) return new Uint8Array();
  if (i === 1000) return new Uint8Array(65535).fill(0xa5);
  const next = random(i);
  return Uint8Array.from({ length: 1 + Math.floor(next() * 40) }, () => Math.floor(next() * 256));
}

function batchesSumming(total: number, seed: number, largest: number): number[] {
  const next = random(seed);
  const batches: number[] = [];
  for (let left = total; left > 0; ) {
    const n = Math.min(left, 1 + Math.floor(next() * largest));
    batches.push(n);
    left -= n;
  }
  return batches;
}

interface Published {
  readonly size: bigint;
  readonly root: Uint8Array;
  readonly note: Uint8Array;
}

interface ServedLog {
  readonly log: StaticLog;
  readonly url: string;
  readonly entries: Uint8Array[];
  /** published holds every checkpoint the log signed, in order. */
  readonly published: Published[];
  append(count: number): Promise<Published>;
}

function suite(): void {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-go-tlog-test-'));
  const closers: (() => Promise<void>)[] = [];
  const logSigner = createSigner(origin, generateKey('ed25519'));
  const vkey = formatVerifierKey(createNoteSigner(logSigner, origin));
  const trusted = verifierSet([createCheckpointVerifier(vkey)]);
  let logs = 0;

  before(async () => {
    await buildGoTlog();
  });

  after(async () => {
    await Promise.all(closers.map((close) => close()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function serveLog(): Promise<ServedLog> {
    const folder = join(dir, `log-${logs++}`);
    const log = await createStaticLog(folder, origin, logSigner);
    const server = await serveStaticFolder(folder);
    closers.push(server.close);
    const entries: Uint8Array[] = [];
    const published: Published[] = [];
    return {
      log,
      url: server.url,
      entries,
      published,
      async append(count) {
        const batch = Array.from({ length: count }, (_, i) => entryAt(entries.length + i));
        const note = await log.append(batch);
        entries.push(...batch);
        const checkpoint = parseCheckpoint(parseNote(note).text);
        const result = { size: checkpoint.size, root: checkpoint.root, note };
        published.push(result);
        return result;
      },
    };
  }

  const shapes: { name: string; batches: number[] }[] = [
    { name: 'no entries', batches: [0] },
    { name: 'one entry', batches: [1] },
    { name: '255 entries (one partial tile)', batches: [255] },
    { name: '256 entries (one full tile)', batches: [256] },
    { name: '257 entries in three batches', batches: [200, 56, 1] },
    { name: '3,000 entries in many batches', batches: batchesSumming(3000, 7, 150) },
    { name: '66,137 entries (level-2 tiles)', batches: [65535, 1, 1, 600] },
  ];
  // Each shape's log is built once, by whichever test asks first.
  const built = new Map<string, Promise<ServedLog>>();
  const logOf = (shape: { name: string; batches: number[] }): Promise<ServedLog> => {
    let served = built.get(shape.name);
    if (served === undefined) {
      served = serveLog().then(async (log) => {
        for (const n of shape.batches) await log.append(n);
        return log;
      });
      built.set(shape.name, served);
    }
    return served;
  };

  test('Go verifies logs of every shape: checkpoint, root from the tiles, every entry', async (t) => {
    for (const shape of shapes) {
      await t.test(shape.name, async () => {
        const served = await logOf(shape);
        const last = served.published.at(-1);
        assert.ok(last !== undefined);
        const summary = await goVerifyLog(served.url, vkey);
        assert.equal(summary.origin, origin);
        assert.equal(summary.size, last.size);
        assert.equal(summary.size, BigInt(served.entries.length));
        assert.equal(formatBase64(summary.root), formatBase64(last.root));
        assert.equal(summary.entries, served.entries.length);
        assert.deepEqual(summary.cosignatures, []);
      });
    }
  });

  test("Go's inclusion proofs pass parseTlogProof and checkTlogProof", async () => {
    let checked = 0;
    for (const shape of shapes) {
      const served = await logOf(shape);
      const size = served.entries.length;
      const last = served.published.at(-1);
      assert.ok(last !== undefined);
      const indexes = new Set([0, 1, 96, 97, 255, 256, 1000, 65535, 65536, size - 2, size - 1]);
      for (const index of [...indexes].filter((i) => i >= 0 && i < size)) {
        const bytes = await goProveEntry(served.url, vkey, BigInt(index));
        const proof = parseTlogProof(bytes);
        assert.ok(equalBytes(formatTlogProof(proof), bytes), 'Go spells the proof canonically');
        assert.equal(proof.index, BigInt(index));
        assert.ok(equalBytes(proof.checkpoint, last.note), 'the checkpoint is carried verbatim');
        const entry = served.entries[index] ?? assert.fail('no such entry');
        const result = checkTlogProof(proof, leafHash(entry), origin, trusted);
        assert.equal(result.checkpoint.size, last.size);
        // The same proof must not prove another entry (entry 1000 and empty ones differ from neighbours).
        const other = served.entries[index === 0 ? 1 : index - 1];
        if (other !== undefined && !equalBytes(other, entry)) {
          assert.throws(
            () => checkTlogProof(proof, leafHash(other), origin, trusted),
            (e) => isVouchError(e, 'bad-proof'),
          );
        }
        checked++;
      }
      const beyond = await runGoTlog(['prove', served.url, vkey, String(size)]);
      assert.notEqual(beyond.status, 0, 'an index beyond the tree has no proof');
    }
    assert.ok(checked > 30, `checked ${checked} proofs`);
  });

  test('Go checks consistency across appends, from every earlier checkpoint', async () => {
    const served = await serveLog();
    for (const n of [1, 1, 254, 1, 300, 7, 512, 256, 1]) {
      await served.append(n);
      for (const old of served.published) {
        const result = await goCheckConsistency(served.url, vkey, old.size, old.root);
        assert.equal(result.oldSize, old.size);
        assert.equal(result.size, BigInt(served.entries.length));
      }
    }
    const latest = served.published.at(-1);
    const middle = served.published[4];
    assert.ok(latest !== undefined && middle !== undefined);
    const empty = await goCheckConsistency(served.url, vkey, 0n, emptyRoot());
    assert.equal(empty.proofLength, 0);
    // A wrong old root, or an old size the log never reached, is inconsistent.
    await assert.rejects(goCheckConsistency(served.url, vkey, middle.size, latest.root), /not consistent/);
    await assert.rejects(goCheckConsistency(served.url, vkey, latest.size + 1n, latest.root), /shrank/);
    await assert.rejects(goCheckConsistency(served.url, vkey, 0n, latest.root), /empty tree/);
  });

  test('tampered tiles, bundles and checkpoints make Go fail', async () => {
    // Two batches of 300 and 400 entries: tile/0/000..001 full, tile/0/002.p/188, tile/1/000.p/2.
    const served = await serveLog();
    await served.append(300);
    const published = await served.append(400);
    const folder = served.log.dir;
    const otherSigner = createSigner(origin, generateKey('ed25519'));
    const flip = (at: number) => (data: Uint8Array) => {
      const copy = data.slice();
      const i = at < 0 ? copy.length + at : at;
      copy[i] = (copy[i] ?? 0) ^ 0x01;
      return copy;
    };
    const text = parseNote(published.note).text;
    const resign = (checkpointText: string, signer: Signer) =>
      signNote(checkpointText, [createNoteSigner(signer, origin)]);
    const withRoot = (root: Uint8Array, size = published.size) =>
      formatCheckpoint({ origin, size, root, extensions: [] });

    const cases: {
      name: string;
      path: string;
      change: (data: Uint8Array) => Uint8Array | undefined | Promise<Uint8Array>;
      error: RegExp;
    }[] = [
      {
        name: 'a flipped byte in a full level-0 tile',
        path: 'tile/0/000',
        change: flip(100),
        error: /tile\/0\/000 disagrees with the bundles at entry 3$/,
      },
      {
        name: 'a flipped byte in the partial level-0 tile',
        path: 'tile/0/002.p/188',
        change: flip(-1),
        error: /the tiles give root/,
      },
      {
        name: 'a flipped byte in the level-1 tile',
        path: 'tile/1/000.p/2',
        change: flip(0),
        error: /the tiles give root/,
      },
      {
        name: 'a missing tile',
        path: 'tile/0/001',
        change: () => undefined,
        error: /tile\/0\/001: status 404/,
      },
      {
        name: 'a short tile',
        path: 'tile/0/002.p/188',
        change: (data) => data.subarray(0, data.length - 32),
        error: /tile\/0\/002\.p\/188 has 5984 bytes, want 6016/,
      },
      {
        name: 'a changed entry in a full bundle',
        path: 'tile/entries/001',
        change: flip(-1),
        error: /tile\/0\/001 disagrees with the bundles at entry 511$/,
      },
      {
        name: 'a changed entry in the partial bundle',
        path: 'tile/entries/002.p/188',
        change: flip(-1),
        error: /tile\/0\/002\.p\/188 disagrees with the bundles at entry 699$/,
      },
      {
        name: 'an extra entry in a bundle',
        path: 'tile/entries/002.p/188',
        change: (data) => Uint8Array.from([...data, 0, 0]),
        error: /has 189 entries, want 188/,
      },
      {
        name: 'a truncated bundle',
        path: 'tile/entries/000',
        change: (data) => data.subarray(0, data.length - 1),
        error: /truncated entry/,
      },
      {
        name: 'a checkpoint signed by another key',
        path: 'checkpoint',
        change: () => resign(text, otherSigner),
        error: /note has no verifiable signatures/,
      },
      {
        name: 'a checkpoint whose text changed under the log signature',
        path: 'checkpoint',
        change: (data) => toBytes(toText(data).replace(`\n${published.size}\n`, '\n699\n')),
        error: /invalid signature for key example\.com\/log/,
      },
      {
        name: 'a checkpoint signed by the log key for a root the tiles do not give',
        path: 'checkpoint',
        change: () => resign(withRoot(new Uint8Array(32).fill(7)), logSigner),
        error: /the tiles give root/,
      },
      {
        name: 'a checkpoint signed by the log key for a size the tiles do not hold',
        path: 'checkpoint',
        change: () => resign(withRoot(published.root, published.size + 1n), logSigner),
        error: /status 404/,
      },
    ];

    assert.equal((await goVerifyLog(served.url, vkey)).size, 700n);
    for (const c of cases) {
      const file = join(folder, c.path);
      const original = await readFile(file);
      const changed = await c.change(new Uint8Array(original));
      if (changed === undefined) await rm(file);
      else await writeFile(file, changed);
      try {
        await assert.rejects(goVerifyLog(served.url, vkey), c.error, c.name);
      } finally {
        await writeFile(file, original);
      }
    }
    assert.equal((await goVerifyLog(served.url, vkey)).size, 700n, 'restored, the log verifies again');

    // Go's TileHashReader does not authenticate tile/0/000 here (see go/tlog/main.go), so
    // `prove` checks its own proof: a tampered leaf hash next to entry 3 must not slip through.
    const tile = join(folder, 'tile/0/000');
    const original = await readFile(tile);
    await writeFile(tile, flip(100)(new Uint8Array(original)));
    try {
      const result = await runGoTlog(['prove', served.url, vkey, '2']);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /bad inclusion proof/);
    } finally {
      await writeFile(tile, original);
    }
  });

  test('a tampered full level-1 tile, off the right edge, makes Go fail', async () => {
    const largest = shapes.at(-1);
    assert.ok(largest !== undefined);
    const served = await logOf(largest);
    const tile = join(served.log.dir, 'tile/1/000');
    const original = await readFile(tile);
    const changed = new Uint8Array(original);
    changed[5 * 32] = (changed[5 * 32] ?? 0) ^ 0x80;
    await writeFile(tile, changed);
    try {
      await assert.rejects(
        goVerifyLog(served.url, vkey),
        /tile\/1\/000 disagrees with the bundles at hash 5$/,
      );
    } finally {
      await writeFile(tile, original);
    }
  });

  test('Go falls back to the full tile and bundle when a partial one was deleted', async () => {
    const served = await serveLog();
    const old = await served.append(300);
    await served.append(400);
    const folder = served.log.dir;
    // Republish the size-300 checkpoint after its partial tiles were superseded and deleted.
    await rm(join(folder, 'tile/0/001.p/44'));
    await rm(join(folder, 'tile/entries/001.p/44'));
    await new FsBlobStore(folder).publish('checkpoint', old.note);
    const summary = await goVerifyLog(served.url, vkey);
    assert.equal(summary.size, 300n);
    assert.equal(summary.entries, 300);
    const proof = parseTlogProof(await goProveEntry(served.url, vkey, 299n));
    checkTlogProof(proof, leafHash(served.entries[299] ?? new Uint8Array()), origin, trusted);
  });

  test('a cosigned checkpoint verifies in Go, witness cosignatures and timestamps included', async () => {
    const served = await serveLog();
    const published = await served.append(300);
    const store = new FsBlobStore(served.log.dir);
    const witness1 = createSigner('example.com/witness1', generateKey('ed25519'));
    const witness2 = createSigner('example.com/witness2', generateKey('ed25519'));
    const absent = createSigner('example.com/witness3', generateKey('ed25519'));
    const cosigner1 = createCosigner(witness1, { timestamp: 1_700_000_000n });
    const cosigner2 = createCosigner(witness2, { timestamp: 1_700_000_042n });
    const cosigner3 = createCosigner(absent, { timestamp: 1_700_000_000n });
    const [w1, w2, w3] = [cosigner1, cosigner2, cosigner3].map((c) => formatVerifierKey(c));
    assert.ok(w1 !== undefined && w2 !== undefined && w3 !== undefined);

    // One cosignature through addSignatures, the other signed alone and added with appendSignatures.
    const logNote = parseNote(published.note);
    const withFirst = await addSignatures(logNote, [cosigner1]);
    const cosigned = appendSignatures(withFirst, [await signText(logNote.text, cosigner2)]);
    await store.publish('checkpoint', formatNote(cosigned));

    const summary = await goVerifyLog(served.url, vkey, [w1, w2, w3]);
    assert.equal(summary.size, 300n);
    assert.deepEqual(summary.cosignatures, [
      { key: `example.com/witness1+${formatKeyId(cosigner1.keyId)}`, timestamp: 1_700_000_000n },
      { key: `example.com/witness2+${formatKeyId(cosigner2.keyId)}`, timestamp: 1_700_000_042n },
    ]);
    const ours = openNote(formatNote(cosigned), verifierSet([vkey, w1, w2].map(createCheckpointVerifier)));
    assert.deepEqual(
      ours.verified.map((s) => s.timestamp),
      [undefined, 1_700_000_000n, 1_700_000_042n],
    );
    // Cosignatures by keys Go is not given are ignored, as signed-note requires.
    assert.deepEqual((await goVerifyLog(served.url, vkey)).cosignatures, []);

    // A known witness's bad cosignature fails the note; unknown, it is ignored.
    const bad = cosigned.signatures.map((s) =>
      s.keyId === cosigner2.keyId ? { ...s, signature: flipLast(s.signature) } : s,
    );
    await store.publish('checkpoint', formatNote({ text: cosigned.text, signatures: bad }));
    await assert.rejects(
      goVerifyLog(served.url, vkey, [w1, w2]),
      /invalid signature for key example\.com\/witness2/,
    );
    assert.equal((await goVerifyLog(served.url, vkey, [w1])).cosignatures.length, 1);

    // Witnesses alone do not make a checkpoint: the log's own signature is required.
    const witnessed = cosigned.signatures.filter((s) => s.keyId !== logNote.signatures[0]?.keyId);
    await store.publish('checkpoint', formatNote({ text: cosigned.text, signatures: witnessed }));
    await assert.rejects(goVerifyLog(served.url, vkey, [w1, w2]), /no valid signature by the log key/);
  });
}

function flipLast(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x01;
  return copy;
}
