// The TUF client state machine against tuf-conformance's top-level scenarios (reference §3.3):
// signatures and thresholds, rollback at each role, freeze at each stage, mix-and-match, root
// rotation chains, fast-forward recovery, size caps and target checks.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { day, newSigner, TestRepository } from '../../../test/support/tuf-repo.ts';
import { toBytes } from '../bytes/index.ts';
import { VouchError } from '../errors.ts';
import {
  checkTarget,
  formatMetadata,
  type PersistedMetadata,
  parseEnvelope,
  TrustedMetadata,
  type TufAttack,
} from './index.ts';

const now = 1_750_000_000;

/** refresh runs one client cycle against the repository's files, like the agent will. */
function refresh(state: TrustedMetadata, files: ReadonlyMap<string, Uint8Array>) {
  const get = (name: string): Uint8Array => {
    const b = files.get(name);
    if (b === undefined) throw new Error(`missing ${name}`);
    return b;
  };
  for (let v = state.root.fields.version + 1; v < 1000; v++) {
    const b = files.get(`${v}.root.json`);
    if (b === undefined) break;
    state.updateRoot(b);
  }
  state.finishRoots();
  const ts = state.updateTimestamp(get('timestamp.json'));
  let snapshot = { isNew: false };
  if (!state.reuseSnapshot())
    snapshot = state.updateSnapshot(get(`${ts.metadata.fields.snapshot.version}.snapshot.json`));
  let targets = { isNew: false };
  const tv = state.snapshot?.fields.meta.get('targets.json')?.version;
  if (!state.reuseTargets()) targets = state.updateTargets(get(`${tv}.targets.json`));
  return { timestamp: ts.isNew, snapshot: snapshot.isNew, targets: targets.isNew };
}

function fresh(repo: TestRepository, at = now): TrustedMetadata {
  return TrustedMetadata.fromRoot(repo.root(1), at);
}

function assertRefused(fn: () => unknown, attack: TufAttack, code?: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof VouchError, String(e));
    assert.equal(e.details.attack, attack, e.message);
    assert.ok(e.message.startsWith(`${attack}:`), e.message);
    if (code !== undefined) assert.equal(e.code, code, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

test('a fresh client trusts a published repository and checks a target', async () => {
  const repo = new TestRepository(now);
  repo.targets.set('rules/main/main-1.vdb', {
    bytes: toBytes('rules v1'),
    custom: { vouch: { kind: 'rules' } },
  });
  await repo.publishRoot();
  await repo.publishAll();
  const state = fresh(repo);
  assert.deepEqual(refresh(state, repo.files), { timestamp: true, snapshot: true, targets: true });
  const info = state.targetInfo('rules/main/main-1.vdb');
  assert.ok(info);
  assert.equal(JSON.stringify(info.custom), '{"vouch":{"kind":"rules"}}');
  checkTarget(info, toBytes('rules v1'));
  assertRefused(() => checkTarget(info, toBytes('rules v2')), 'arbitrary-software', 'bad-digest');
  assertRefused(() => checkTarget(info, toBytes('rules v1 and more')), 'endless-data', 'too-large');
  assertRefused(() => checkTarget(info, toBytes('rules')), 'arbitrary-software', 'bad-digest');
  assert.equal(state.targetInfo('other'), undefined);
});

test('nothing changed: the timestamp is not new and the persisted snapshot and targets are reused', async () => {
  const repo = await TestRepository.create(now);
  const first = fresh(repo);
  refresh(first, repo.files);
  const again = TrustedMetadata.load(first.persisted(), now + 60);
  assert.deepEqual(refresh(again, repo.files), { timestamp: false, snapshot: false, targets: false });
  // A new timestamp over the same snapshot: only the timestamp is new.
  await repo.publishTimestamp();
  const third = TrustedMetadata.load(again.persisted(), now + 120);
  assert.deepEqual(refresh(third, repo.files), { timestamp: true, snapshot: false, targets: false });
  // A new release: everything is new.
  repo.targets.set('a', { bytes: toBytes('a') });
  await repo.publishAll();
  const fourth = TrustedMetadata.load(third.persisted(), now + 180);
  assert.deepEqual(refresh(fourth, repo.files), { timestamp: true, snapshot: true, targets: true });
});

for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
  test(`unsigned ${role} is refused`, async () => {
    const repo = await TestRepository.create(now);
    const state = fresh(repo);
    refresh(state, repo.files);
    if (role === 'targets') await repo.publishTargets({ signatures: [] });
    if (role !== 'timestamp') await repo.publishSnapshot(role === 'snapshot' ? { signatures: [] } : {});
    await repo.publishTimestamp(role === 'timestamp' ? { signatures: [] } : {});
    const next = TrustedMetadata.load(state.persisted(), now);
    assertRefused(
      () => refresh(next, repo.files),
      'threshold',
      'no-trusted-signature',
      new RegExp(`${role} has 0/1`),
    );
    // Signed by a key that is not the role's.
    const other = newSigner('intruder');
    if (role === 'targets') await repo.publishTargets({ signers: [other] });
    if (role !== 'timestamp') await repo.publishSnapshot(role === 'snapshot' ? { signers: [other] } : {});
    await repo.publishTimestamp(role === 'timestamp' ? { signers: [other] } : {});
    assertRefused(() => refresh(TrustedMetadata.load(state.persisted(), now), repo.files), 'threshold');
  });
}

test('targets with a threshold of 2 signed by one key is refused and names the missing key', async () => {
  const repo = new TestRepository(now);
  repo.keys.targets = [newSigner('vendor'), newSigner('approver')];
  repo.thresholds.targets = 2;
  await repo.publishRoot();
  await repo.publishAll();
  refresh(fresh(repo), repo.files);
  const [vendor, approver] = repo.keys.targets as [
    ReturnType<typeof newSigner>,
    ReturnType<typeof newSigner>,
  ];
  await repo.publishTargets({ signers: [vendor] });
  await repo.publishSnapshot();
  await repo.publishTimestamp();
  const approverId = fresh(repo).root.fields.roles.targets.keyids.find(
    (k) => fresh(repo).root.fields.keys.get(k)?.public === toHexKey(approver.publicKey),
  );
  assert.ok(approverId);
  assert.throws(
    () => refresh(fresh(repo), repo.files),
    (e: unknown) =>
      e instanceof VouchError &&
      e.code === 'policy-unmet' &&
      e.details.got === 1 &&
      e.details.threshold === 2 &&
      (e.details.missing as string[]).join() === approverId &&
      e.message.includes('targets has 1/2 valid signatures') &&
      e.message.includes(approverId.slice(0, 16)),
  );
});

test('duplicate signatures under one key ID count once', async () => {
  const repo = new TestRepository(now);
  repo.keys.targets = [newSigner('vendor'), newSigner('approver')];
  repo.thresholds.targets = 2;
  await repo.publishRoot();
  await repo.publishTargets({ signers: [repo.keys.targets[0] as ReturnType<typeof newSigner>] });
  const one = parseEnvelope(repo.current('targets'), 1e6).signatures[0];
  assert.ok(one);
  await repo.publishTargets({ version: 1, signatures: [one, one] });
  await repo.publishSnapshot();
  await repo.publishTimestamp();
  assertRefused(() => refresh(fresh(repo), repo.files), 'threshold', 'policy-unmet', /1\/2/);
});

test('a corrupted signature is a bad signature', async () => {
  const repo = await TestRepository.create(now);
  const env = parseEnvelope(repo.current('timestamp'), 1e6);
  const sig = env.signatures[0];
  assert.ok(sig);
  const flipped = `${sig.sig.slice(0, -1)}${sig.sig.endsWith('0') ? '1' : '0'}`;
  repo.files.set('timestamp.json', formatMetadata(env.signed, [{ keyid: sig.keyid, sig: flipped }]));
  assertRefused(() => refresh(fresh(repo), repo.files), 'threshold', 'bad-signature');
});

test('rollback: an older timestamp is refused, an equal one changes nothing', async () => {
  const repo = await TestRepository.create(now);
  const oldTimestamp = repo.current('timestamp');
  await repo.publishTimestamp();
  const state = fresh(repo);
  refresh(state, repo.files);
  repo.files.set('timestamp.json', oldTimestamp);
  assertRefused(
    () => refresh(TrustedMetadata.load(state.persisted(), now), repo.files),
    'rollback',
    'policy-unmet',
    /timestamp version 1 is older than the trusted 2/,
  );
});

test('rollback: a timestamp naming an older snapshot is refused', async () => {
  const repo = await TestRepository.create(now);
  await repo.publishSnapshot();
  await repo.publishTimestamp();
  const state = fresh(repo);
  refresh(state, repo.files);
  await repo.publishTimestamp({ snapshotVersion: 1 });
  assertRefused(
    () => refresh(TrustedMetadata.load(state.persisted(), now), repo.files),
    'rollback',
    'policy-unmet',
    /snapshot version 1, older than the trusted 2/,
  );
});

test('rollback: a snapshot listing an older targets version is refused', async () => {
  const repo = await TestRepository.create(now);
  await repo.publishTargets();
  await repo.publishSnapshot();
  await repo.publishTimestamp();
  const state = fresh(repo);
  refresh(state, repo.files);
  await repo.publishSnapshot({ meta: { 'targets.json': { version: 1 } } });
  await repo.publishTimestamp();
  assertRefused(
    () => refresh(TrustedMetadata.load(state.persisted(), now), repo.files),
    'rollback',
    'policy-unmet',
    /targets.json version 1, older than the trusted 2/,
  );
});

test('rollback: a snapshot that drops a file the trusted one listed is refused', async () => {
  const repo = await TestRepository.create(now);
  await repo.publishSnapshot({ meta: { 'targets.json': { version: 1 }, 'role1.json': { version: 1 } } });
  await repo.publishTimestamp();
  const state = fresh(repo);
  refresh(state, repo.files);
  await repo.publishSnapshot({ meta: { 'targets.json': { version: 1 } } });
  await repo.publishTimestamp();
  assertRefused(
    () => refresh(TrustedMetadata.load(state.persisted(), now), repo.files),
    'rollback',
    'policy-unmet',
    /no longer lists role1.json/,
  );
});

test('rollback: targets at another version than snapshot names is refused (no length or hashes)', async () => {
  const repo = await TestRepository.create(now);
  const v1 = repo.current('targets');
  await repo.publishTargets();
  await repo.publishSnapshot({ meta: { 'targets.json': { version: 2 } } });
  await repo.publishTimestamp();
  repo.files.set('2.targets.json', v1);
  assertRefused(
    () => refresh(fresh(repo), repo.files),
    'mix-and-match',
    'policy-unmet',
    /targets version 1 is not version 2/,
  );
});

test('mix-and-match: snapshot bytes or version not matching timestamp are refused', async () => {
  const repo = await TestRepository.create(now);
  const snap1 = repo.current('snapshot');
  await repo.publishSnapshot();
  await repo.publishTimestamp();
  repo.files.set('2.snapshot.json', snap1);
  assertRefused(() => refresh(fresh(repo), repo.files), 'mix-and-match', 'bad-digest');
  // Without length and hashes in timestamp, the version check catches it.
  await repo.publishTimestamp({ bare: true });
  assertRefused(
    () => refresh(fresh(repo), repo.files),
    'mix-and-match',
    'policy-unmet',
    /snapshot version 1 is not version 2/,
  );
  // Same length, other bytes: the hash catches it.
  await repo.publishSnapshot({ version: 2 });
  const good = repo.current('snapshot');
  await repo.publishTimestamp();
  const evil = new Uint8Array(good);
  evil[evil.length - 2] = 0x20;
  repo.files.set('2.snapshot.json', evil);
  assertRefused(() => refresh(fresh(repo), repo.files), 'mix-and-match', 'bad-digest', /sha256/);
});

test('mix-and-match: targets bytes not matching snapshot are refused', async () => {
  const repo = await TestRepository.create(now);
  const good = repo.current('targets');
  const longer = new Uint8Array(good.length + 1).fill(0x20);
  longer.set(good);
  repo.files.set('1.targets.json', longer);
  assertRefused(() => refresh(fresh(repo), repo.files), 'endless-data', 'too-large');
  repo.files.set('1.targets.json', longer.subarray(1));
  assertRefused(() => refresh(fresh(repo), repo.files), 'mix-and-match', 'bad-digest', /sha256/);
});

test('freeze: expired metadata is refused at each stage', async () => {
  for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
    const repo = new TestRepository(now);
    repo.expires[role] = now + 10;
    await repo.publishRoot();
    await repo.publishAll();
    refresh(fresh(repo, now + 9), repo.files);
    assertRefused(
      () => refresh(fresh(repo, now + 10), repo.files),
      'freeze',
      'policy-unmet',
      new RegExp(`${role} version 1 expired`),
    );
  }
});

test('freeze: an unchanged but expired timestamp is refused', async () => {
  const repo = await TestRepository.create(now);
  const state = fresh(repo);
  refresh(state, repo.files);
  assertRefused(() => refresh(TrustedMetadata.load(state.persisted(), now + 2 * day), repo.files), 'freeze');
});

test('root rotation: a chain with threshold changes, signed by old and new thresholds', async () => {
  const repo = await TestRepository.create(now);
  const root1 = repo.keys.root;
  repo.keys.root = [newSigner('r2a'), newSigner('r2b'), newSigner('r2c')];
  repo.thresholds.root = 2;
  await repo.publishRoot({ extra: root1 });
  const root2 = repo.keys.root;
  repo.keys.root = [newSigner('r3a')];
  repo.thresholds.root = 1;
  await repo.publishRoot({ signers: [...root2.slice(0, 2), ...repo.keys.root] });
  const state = fresh(repo);
  refresh(state, repo.files);
  assert.equal(state.root.fields.version, 3);
  assert.deepEqual(
    state.newRoots.map((r) => r.fields.version),
    [2, 3],
  );
  // A client that already has root v3 goes on from there.
  assert.equal(TrustedMetadata.load(state.persisted(), now).root.fields.version, 3);
});

test('root rotation: too few old-root or new-root signatures are refused', async () => {
  const repo = await TestRepository.create(now);
  const root1 = repo.keys.root;
  repo.keys.root = [newSigner('r2a'), newSigner('r2b')];
  repo.thresholds.root = 2;
  await repo.publishRoot({ signers: repo.keys.root }); // no old-root signature
  assertRefused(
    () => refresh(fresh(repo), repo.files),
    'root-rotation',
    'no-trusted-signature',
    /by trusted root v1's keys/,
  );
  await repo.publishRoot({ version: 2, signers: [...root1, ...repo.keys.root.slice(0, 1)] }); // 1/2 new
  assertRefused(
    () => refresh(fresh(repo), repo.files),
    'root-rotation',
    'policy-unmet',
    /by its own keys\) has 1\/2/,
  );
  await repo.publishRoot({ version: 2, extra: root1 });
  refresh(fresh(repo), repo.files);
});

test('root rotation: a skipped or repeated version is refused', async () => {
  const repo = await TestRepository.create(now);
  const keys = repo.keys.root;
  await repo.publishRoot({ version: 3, extra: keys });
  const state = fresh(repo);
  assertRefused(
    () => state.updateRoot(repo.root(3)),
    'root-rotation',
    'policy-unmet',
    /root version 3 is not 2/,
  );
  assertRefused(() => state.updateRoot(repo.root(1)), 'rollback', 'policy-unmet');
  assert.equal(state.root.fields.version, 1);
});

test('root rotation: the number of rotations is capped', async () => {
  const repo = await TestRepository.create(now);
  for (let i = 0; i < 3; i++) await repo.publishRoot();
  const state = TrustedMetadata.fromRoot(repo.root(1), now, {
    rootBytes: 512_000,
    timestampBytes: 16_384,
    snapshotBytes: 2_000_000,
    targetsBytes: 5_000_000,
    maxRootRotations: 2,
  });
  state.updateRoot(repo.root(2));
  state.updateRoot(repo.root(3));
  assertRefused(() => state.updateRoot(repo.root(4)), 'endless-data', 'too-large');
});

test('fast-forward recovery: rotating the timestamp key drops the inflated timestamp', async () => {
  const repo = await TestRepository.create(now);
  // The attacker holds the online timestamp key and pushes version 1000 to a client.
  await repo.publishTimestamp({ version: 1000 });
  const victim = fresh(repo);
  refresh(victim, repo.files);
  const persisted: PersistedMetadata = victim.persisted();
  // The repository recovers with the real timestamp version 2: without rotation, it is a rollback.
  await repo.publishTimestamp({ version: 2 });
  assertRefused(() => refresh(TrustedMetadata.load(persisted, now), repo.files), 'rollback');
  // After rotating the timestamp key in root v2, the client drops its timestamp and recovers.
  repo.keys.timestamp = [newSigner('timestamp-2')];
  await repo.publishRoot({ extra: repo.keys.root });
  await repo.publishTimestamp({ version: 3 });
  const state = TrustedMetadata.load(persisted, now);
  assert.equal(state.timestamp?.fields.version, 1000);
  refresh(state, repo.files);
  assert.equal(state.timestamp?.fields.version, 3);
});

test('fast-forward recovery: rotating the snapshot key drops timestamp and snapshot', async () => {
  const repo = await TestRepository.create(now);
  await repo.publishSnapshot({ version: 500 });
  await repo.publishTimestamp({ version: 500 });
  const victim = fresh(repo);
  refresh(victim, repo.files);
  repo.keys.snapshot = [newSigner('snapshot-2')];
  await repo.publishRoot({ extra: repo.keys.root });
  await repo.publishSnapshot({ version: 2 });
  await repo.publishTimestamp({ version: 2 });
  const state = TrustedMetadata.load(victim.persisted(), now);
  for (let v = 2; ; v++) {
    const b = repo.files.get(`${v}.root.json`);
    if (b === undefined) break;
    state.updateRoot(b);
  }
  assert.deepEqual(state.finishRoots().sort(), ['snapshot', 'timestamp']);
  state.updateTimestamp(repo.current('timestamp'));
  state.updateSnapshot(repo.current('snapshot'));
  state.updateTargets(repo.current('targets'));
});

test('persisted files that do not verify under the root are dropped on load', async () => {
  const repo = await TestRepository.create(now);
  const other = await TestRepository.create(now);
  const state = TrustedMetadata.load(
    {
      root: repo.root(1),
      timestamp: other.current('timestamp'),
      snapshot: toBytes('{"signed":'),
      targets: repo.current('targets'),
    },
    now,
  );
  assert.equal(state.timestamp, undefined);
  assert.equal(state.snapshot, undefined);
  assert.equal(state.targets?.fields.version, 1);
  refresh(state, repo.files);
});

test('endless data: metadata over the cap, or over the length its referrer lists, is refused unparsed', async () => {
  const repo = await TestRepository.create(now);
  repo.targets.set('big', { bytes: new Uint8Array(10) });
  await repo.publishAll();
  const state = TrustedMetadata.fromRoot(repo.root(1), now, {
    rootBytes: 512_000,
    timestampBytes: 100,
    snapshotBytes: 2_000_000,
    targetsBytes: 5_000_000,
    maxRootRotations: 8,
  });
  state.finishRoots();
  assertRefused(() => state.updateTimestamp(repo.current('timestamp')), 'endless-data', 'too-large');
  const ok = fresh(repo);
  ok.finishRoots();
  ok.updateTimestamp(repo.current('timestamp'));
  const snapshot = repo.current('snapshot');
  const padded = new Uint8Array(snapshot.length + 1).fill(0x20);
  padded.set(snapshot);
  assertRefused(() => ok.updateSnapshot(padded), 'endless-data', 'too-large');
  assert.throws(() => TrustedMetadata.fromRoot(new Uint8Array(600_000), now), { code: 'too-large' });
});

test('steps out of order are refused', async () => {
  const repo = await TestRepository.create(now);
  const state = fresh(repo);
  assert.throws(() => state.updateTimestamp(repo.current('timestamp')), { code: 'invalid-argument' });
  state.finishRoots();
  assert.throws(() => state.updateRoot(repo.root(1)), { code: 'invalid-argument' });
  assert.throws(() => state.updateSnapshot(repo.current('snapshot')), { code: 'invalid-argument' });
  assert.throws(() => state.targetInfo('x'), { code: 'invalid-argument' });
});

function toHexKey(publicKey: Uint8Array): string {
  return [...publicKey].map((b) => b.toString(16).padStart(2, '0')).join('');
}
