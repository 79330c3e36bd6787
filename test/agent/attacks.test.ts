/**
 * The attacks issue 7 lists, each against a real repository served over loopback after a first
 * install of `hello` 1.0.0 and rule database `main` 1: the agent must refuse with an error whose
 * `attack` names it, install nothing, leave its trusted metadata as it was, and keep the
 * previous version working (the installed archive readable, the database loadable).
 */

import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AgentStatus } from '../../src/clients/agent/status.ts';
import { formatHex } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey, sha256 } from '../../src/core/crypto/index.ts';
import { releaseRecord } from '../../src/core/release/record.ts';
import { diffDatabases } from '../../src/core/rules/delta.ts';
import { tufKeyForSigner } from '../../src/core/tuf/keys.ts';
import {
  describeFile,
  formatMetadata,
  parseMetadata,
  rootSigned,
  timestampSigned,
} from '../../src/core/tuf/metadata.ts';
import { signMetadata } from '../../src/core/tuf/sign.ts';
import { readDatabase } from '../../src/services/rules/compile.ts';
import { rulesDatabase } from '../support/release-fixture.ts';
import {
  logOf,
  publicTargetPath,
  repositoryName,
  startUpdateFixture,
  type UpdateFixture,
} from '../support/update-fixture.ts';
import { startWitnessedMemoryLog } from '../support/witnessed-memory-log.ts';

const daySeconds = 86_400;

interface Baseline {
  readonly fx: UpdateFixture;
  readonly agent: string;
  snapshotOfState(): Promise<Map<string, string>>;
}

async function baseline(agentConfig: Record<string, unknown> = {}): Promise<Baseline> {
  const fx = await startUpdateFixture();
  await fx.releaseProduct('hello', '1.0.0');
  await fx.releaseRules('main', 1, 50);
  const agent = await fx.makeAgent(agentConfig);
  const first = await fx.update(agent);
  assert.equal(first.outcome, 'installed', JSON.stringify(first.error));
  return {
    fx,
    agent,
    // Everything the agent trusts and has installed, by file, to compare after a refusal.
    async snapshotOfState() {
      const out = new Map<string, string>();
      for (const sub of ['metadata', 'installed']) {
        const walk = async (dir: string): Promise<void> => {
          for (const entry of await readdir(dir, { withFileTypes: true })) {
            const path = join(dir, entry.name);
            if (entry.isDirectory()) await walk(path);
            else if (entry.isFile()) out.set(path, formatHex(sha256(await readFile(path))));
            else if (entry.isSymbolicLink()) out.set(path, 'link');
          }
        };
        await walk(join(agent, sub));
      }
      return out;
    },
  };
}

// refused runs an update and checks the refusal: attack named, nothing installed or trusted anew,
// the previous versions still usable.
async function refused(
  b: Baseline,
  attack: string,
  options: Parameters<UpdateFixture['update']>[1] = {},
): Promise<AgentStatus> {
  const before = await b.snapshotOfState();
  const status = await b.fx.update(b.agent, options);
  assert.equal(status.outcome, 'failed', `expected a refusal naming ${attack}`);
  assert.equal(status.error?.attack, attack, status.error?.message);
  assert.deepEqual(status.changed, []);
  assert.deepEqual(await b.snapshotOfState(), before, 'the agent trusts and installed nothing new');
  const archive = await readFile(
    join(b.agent, 'installed', 'product-hello', 'current', 'hello-1.0.0.tar.gz'),
    'utf8',
  );
  assert.match(archive, /hello 1\.0\.0/);
  const db = await readDatabase(join(b.agent, 'installed', 'rules-main', 'current'));
  assert.ok(db.database.manifest.version >= 1);
  return status;
}

async function close(b: Baseline): Promise<void> {
  await b.fx.close();
}

test('arbitrary software: a tampered target file is refused', async () => {
  const b = await baseline();
  try {
    await b.fx.releaseProduct('hello', '1.1.0');
    const targets = parseMetadata('targets', await readFile(join(b.fx.publicDir, '3.targets.json')));
    const info = targets.fields.targets.get('products/hello/1.1.0/hello-1.1.0.tar.gz');
    assert.ok(info?.hashes.sha256);
    const file = join(b.fx.publicDir, publicTargetPath(info.path, info.hashes.sha256));
    const bytes = await readFile(file);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await writeFile(file, bytes);
    const status = await refused(b, 'arbitrary-software');
    assert.match(status.error?.message ?? '', /hello-1\.1\.0/);
  } finally {
    await close(b);
  }
});

test('rollback: an older timestamp is refused', async () => {
  const b = await baseline();
  try {
    const old = await readFile(join(b.fx.publicDir, 'timestamp.json'));
    await b.fx.releaseProduct('hello', '1.1.0');
    const status = await b.fx.update(b.agent);
    assert.equal(status.outcome, 'installed');
    await writeFile(join(b.fx.publicDir, 'timestamp.json'), old);
    const before = await b.snapshotOfState();
    const again = await b.fx.update(b.agent);
    assert.equal(again.error?.attack, 'rollback', again.error?.message);
    assert.deepEqual(await b.snapshotOfState(), before);
  } finally {
    await close(b);
  }
});

test('rollback: a timestamp naming an older snapshot is refused', async () => {
  const b = await baseline();
  try {
    const { fx } = b;
    const current = parseMetadata('timestamp', await readFile(join(fx.publicDir, 'timestamp.json')));
    const oldSnapshot = await readFile(join(fx.publicDir, '1.snapshot.json'));
    const signed = timestampSigned({
      version: current.fields.version + 1,
      expires: fx.now + daySeconds,
      snapshot: { version: 1, ...describeFile(oldSnapshot) },
    });
    await writeFile(
      join(fx.publicDir, 'timestamp.json'),
      formatMetadata(signed, await signMetadata(signed, [fx.parties.timestamp.signer])),
    );
    await refused(b, 'rollback');
  } finally {
    await close(b);
  }
});

test('rollback: a snapshot naming an older targets version is refused', async () => {
  const b = await baseline();
  try {
    await b.fx.craft({ snapshotTargetsVersion: 1 });
    await refused(b, 'rollback');
  } finally {
    await close(b);
  }
});

test('rollback: a targets version whose newest rule database is older than the installed one', async () => {
  const b = await baseline();
  try {
    await b.fx.releaseRules('main', 2, 60);
    assert.equal((await b.fx.update(b.agent)).outcome, 'installed');
    await b.fx.craft({
      targets: (t) =>
        Object.fromEntries(
          Object.entries(t).filter(([path]) => !path.includes('main-2') && !path.includes('-1-2.')),
        ),
    });
    const status = await refused(b, 'rollback');
    assert.match(status.error?.message ?? '', /older than the installed 2/);
  } finally {
    await close(b);
  }
});

test('freeze: expired metadata is refused even when nothing changed', async () => {
  const b = await baseline();
  try {
    await refused(b, 'freeze', { now: () => Date.now() + 2 * daySeconds * 1000 });
  } finally {
    await close(b);
  }
});

test('mix-and-match: a targets file that is not the one snapshot names is refused', async () => {
  const b = await baseline();
  try {
    await b.fx.releaseProduct('hello', '1.1.0');
    await writeFile(
      join(b.fx.publicDir, '3.targets.json'),
      await readFile(join(b.fx.publicDir, '2.targets.json')),
    );
    await refused(b, 'mix-and-match');
  } finally {
    await close(b);
  }
});

test('endless data: an endless timestamp is cut off at its cap', async () => {
  const b = await baseline();
  try {
    let sent = 0;
    b.fx.server.override('timestamp.json', (_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(4096, 0x20);
      const pump = (): void => {
        if (res.destroyed || sent > 16 << 20) return;
        sent += chunk.length;
        if (res.write(chunk)) setImmediate(pump);
        else res.once('drain', pump);
      };
      pump();
    });
    const status = await refused(b, 'endless-data');
    assert.ok(status.bytes < 16_384 + 64 * 1024, `${status.bytes} bytes read`);
  } finally {
    await close(b);
  }
});

test('slow retrieval: a trickling repository hits the timeout', async () => {
  const b = await baseline({ timeoutMs: 300 });
  try {
    b.fx.server.override('timestamp.json', (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(' '), 25);
      res.on('close', () => clearInterval(timer));
    });
    await refused(b, 'slow-retrieval');
  } finally {
    await close(b);
  }
});

test('a release signed by the vendor key alone is refused', async () => {
  const b = await baseline();
  try {
    await b.fx.craft({ targetsSigners: [b.fx.parties.release.signer] });
    const status = await refused(b, 'threshold');
    assert.match(status.error?.message ?? '', /targets has 1\/2/);
  } finally {
    await close(b);
  }
});

test('a valid but unlogged targets version (a targeted update) is refused', async () => {
  const b = await baseline();
  try {
    await b.fx.craft({ log: 'none' });
    await refused(b, 'unlogged');
  } finally {
    await close(b);
  }
});

test('a targets version logged in another log is refused as unlogged', async () => {
  const b = await baseline();
  try {
    await b.fx.craft({ log: logOf(startWitnessedMemoryLog()) });
    await refused(b, 'unlogged');
  } finally {
    await close(b);
  }
});

test('split view: a checkpoint without the witness quorum is refused', async () => {
  const b = await baseline();
  try {
    // The log operator, coerced, logs the targeted release in a private branch signed with the
    // real log key, cosigned only by witnesses the policy does not know.
    await b.fx.craft({ log: logOf(startWitnessedMemoryLog({ signer: b.fx.logSigner })) });
    await refused(b, 'split-view');
  } finally {
    await close(b);
  }
});

test('split view: the real log with one witness of the 2-of-3 quorum is refused', async () => {
  const b = await baseline();
  try {
    const log = b.fx.log;
    await b.fx.craft({
      log: {
        async append(entry) {
          await log.append(entry);
          return log.proofOf(entry, ['w1']);
        },
      },
    });
    await refused(b, 'split-view');
  } finally {
    await close(b);
  }
});

test('provenance from another site is refused', async () => {
  const b = await baseline();
  try {
    await b.fx.releaseProduct('hello', '1.1.0', { builderId: 'https://us-sfo.build.vouch.example' });
    await refused(b, 'wrong-builder');
  } finally {
    await close(b);
  }
});

test('a missing rebuild attestation where the policy requires two is refused', async () => {
  const b = await baseline();
  try {
    await b.fx.releaseProduct('hello', '1.1.0', { rebuilds: 'none' });
    await refused(b, 'rebuild');
  } finally {
    await close(b);
  }
});

test('mismatching rebuild attestations are refused', async () => {
  const b = await baseline();
  try {
    await b.fx.releaseProduct('hello', '1.1.0', { rebuilds: 'mismatch' });
    await refused(b, 'rebuild');
  } finally {
    await close(b);
  }
});

// craftBadDelta replaces the published delta 1→2 by a valid delta to another database 2.
async function craftBadDelta(fx: UpdateFixture): Promise<void> {
  const bad = diffDatabases(rulesDatabase('main', 1, 50), rulesDatabase('main', 2, 70));
  const digest = formatHex(sha256(bad));
  const path = 'rules/main/main-1-2.vdelta';
  await fx.craft({
    files: { [publicTargetPath(path, digest)]: bad },
    targets: (t) => {
      const entry = t[path];
      assert.ok(entry);
      return { ...t, [path]: { ...entry, length: bad.length, hashes: { sha256: digest } } };
    },
  });
}

test('a delta whose result does not match is refused; the full database is installed instead', async () => {
  const b = await baseline();
  try {
    await b.fx.releaseRules('main', 2, 60);
    await craftBadDelta(b.fx);
    const status = await b.fx.update(b.agent);
    assert.equal(status.outcome, 'installed', status.error?.message);
    assert.equal(status.deltaFailures?.[0]?.attack, 'bad-delta');
    assert.match(status.deltaFailures?.[0]?.message ?? '', /main-1-2\.vdelta/);
    const record = JSON.parse(
      await readFile(join(b.agent, 'installed', 'rules-main', 'current.json'), 'utf8'),
    );
    assert.equal(record.current.via, 'full');
    const db = await readDatabase(join(b.agent, 'installed', 'rules-main', 'current'));
    assert.equal(db.database.hashDb.recordCount, 60);
  } finally {
    await close(b);
  }
});

test('a delta whose result does not match, with the full database unavailable: nothing is installed', async () => {
  const b = await baseline();
  try {
    await b.fx.releaseRules('main', 2, 60);
    await craftBadDelta(b.fx);
    const targets = parseMetadata('targets', await readFile(join(b.fx.publicDir, '4.targets.json')));
    const full = targets.fields.targets.get('rules/main/main-2.vdb');
    assert.ok(full?.hashes.sha256);
    b.fx.server.override(publicTargetPath(full.path, full.hashes.sha256), (_req, res) =>
      res.writeHead(404).end(),
    );
    const status = await b.fx.update(b.agent);
    assert.equal(status.outcome, 'failed');
    assert.equal(status.deltaFailures?.[0]?.attack, 'bad-delta');
    assert.equal(status.installed['rules-main']?.version, '1');
  } finally {
    await close(b);
  }
});

test('a root rotation not signed by the old root threshold is refused', async () => {
  const b = await baseline();
  try {
    const { fx } = b;
    const current = parseMetadata('root', await readFile(join(fx.publicDir, '1.root.json')));
    const newRoots = [0, 1, 2].map((i) => createSigner(`evil-root${i}`, generateKey('ed25519')));
    const keysOf = (role: 'targets' | 'snapshot' | 'timestamp') =>
      current.fields.roles[role].keyids.map((id) => current.fields.keys.get(id)?.raw ?? {});
    const signed = rootSigned({
      version: 2,
      expires: fx.now + 365 * daySeconds,
      roles: {
        root: { keys: newRoots.map((s) => tufKeyForSigner(s).key), threshold: 2 },
        targets: { keys: keysOf('targets'), threshold: 2 },
        snapshot: { keys: keysOf('snapshot'), threshold: 1 },
        timestamp: { keys: keysOf('timestamp'), threshold: 1 },
      },
    });
    // One old root key of the 2 needed, and every new key; logged, so only TUF can refuse it.
    const oldOne = fx.parties.roots[0]?.signer;
    assert.ok(oldOne);
    const bytes = formatMetadata(signed, await signMetadata(signed, [oldOne, ...newRoots]));
    const proof = await fx.releaseLog.append(
      releaseRecord({ repository: repositoryName, file: '2.root.json', bytes }),
    );
    await writeFile(join(fx.publicDir, 'log', '2.root.json.tlog-proof'), proof);
    await writeFile(join(fx.publicDir, '2.root.json'), bytes);
    const status = await refused(b, 'root-rotation');
    assert.match(status.error?.message ?? '', /root v2/);
  } finally {
    await close(b);
  }
});
