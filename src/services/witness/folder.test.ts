import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { toText } from '../../core/bytes/index.ts';
import { createSigner, generateKey } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { formatVerifierKey } from '../../core/note/index.ts';
import { createCosigner } from '../../core/tlog/cosignature.ts';
import { addWitnessedLog, initWitnessFolder, readWitnessFolderConfig, WitnessService } from './folder.ts';
import { testingOnlyForkOf, testingOnlyLog } from './testing.ts';
import { originHashOf } from './witness.ts';

const root = await mkdtemp(join(tmpdir(), 'vouch-witness-folder-'));
after(() => rm(root, { recursive: true, force: true }));

const name = 'witness.example/folder';
const key = createSigner(name, generateKey('ed25519'));
const vkey = formatVerifierKey(createCosigner(key, { name, timestamp: 1n }));
const logKey = createSigner('log.example/folder', generateKey('ed25519'));
const log = testingOnlyLog('log.example/folder', 16, 'entry', logKey);
let folders = 0;

async function newFolder(): Promise<string> {
  const dir = join(root, `w${folders++}`);
  await initWitnessFolder(dir, { name, key: 'witness.key', vkey });
  return dir;
}

test('init writes witness.json with no logs and refuses a folder that holds a witness', async () => {
  const dir = await newFolder();
  const config = await readWitnessFolderConfig(dir);
  assert.deepEqual(config, { name, key: 'witness.key', vkey, logs: [] });
  await assert.rejects(initWitnessFolder(dir, { name, key: 'k', vkey }), (e) =>
    isVouchError(e, 'invalid-argument'),
  );
  await assert.rejects(
    initWitnessFolder(join(root, 'bad-vkey'), { name: 'other.example', key: 'k', vkey }),
    (e) => isVouchError(e, 'malformed') && /vkey/.test(e.message),
  );
});

test('add-log adds a log once and never re-keys it', async () => {
  const dir = await newFolder();
  const other = formatVerifierKey({
    name: log.origin,
    type: 0x01,
    publicKey: createSigner('x', generateKey('ed25519')).publicKey,
  });
  assert.equal((await addWitnessedLog(dir, { origin: log.origin, vkeys: [log.vkey] })).added, true);
  assert.equal((await addWitnessedLog(dir, { origin: log.origin, vkeys: [log.vkey] })).added, false);
  for (const vkeys of [[other], [log.vkey, other]]) {
    await assert.rejects(addWitnessedLog(dir, { origin: log.origin, vkeys }), (e) => {
      return isVouchError(e, 'invalid-argument') && /never re-keys/.test(e.message);
    });
  }
  await assert.rejects(addWitnessedLog(dir, { origin: 'a\nb', vkeys: [log.vkey] }), (e) =>
    isVouchError(e, 'invalid-argument'),
  );
  await assert.rejects(addWitnessedLog(dir, { origin: '', vkeys: [log.vkey] }), (e) =>
    isVouchError(e, 'invalid-argument'),
  );
  await assert.rejects(addWitnessedLog(dir, { origin: 'x.example', vkeys: [] }), (e) =>
    isVouchError(e, 'invalid-argument'),
  );
  await assert.rejects(addWitnessedLog(dir, { origin: 'x.example', vkeys: ['nope'] }), (e) =>
    isVouchError(e, 'bad-key'),
  );
  assert.equal((await addWitnessedLog(dir, { origin: 'second.example', vkeys: [other] })).added, true);
  const config = await readWitnessFolderConfig(dir);
  assert.deepEqual(
    config.logs.map((l) => [l.origin, l.vkeys]),
    [
      [log.origin, [log.vkey]],
      ['second.example', [other]],
    ],
  );
});

test('a hand-edited witness.json with bad fields is refused, naming every one', async () => {
  const dir = await newFolder();
  await writeFile(
    join(dir, 'witness.json'),
    JSON.stringify({
      name,
      key: '',
      vkey: 'x',
      logs: [
        { origin: 'a', vkeys: ['bad'] },
        { origin: 'a', vkeys: [] },
      ],
    }),
  );
  await assert.rejects(readWitnessFolderConfig(dir), (e) => {
    assert.ok(isVouchError(e, 'malformed'));
    assert.deepEqual(e.details.fields, [
      'key',
      'vkey',
      'logs[0].vkeys[0]',
      'logs[1].origin',
      'logs[1].vkeys',
    ]);
    return true;
  });
  await assert.rejects(readWitnessFolderConfig(join(root, 'missing')), (e) => isVouchError(e, 'not-found'));
});

test('the service refuses a key that is not the configured witness key', async () => {
  const dir = await newFolder();
  await assert.rejects(WitnessService.start({ dir, key: createSigner(name, generateKey('ed25519')) }), (e) =>
    isVouchError(e, 'bad-key'),
  );
});

test('the service picks up logs added while it runs, keeps state across restarts, and keeps evidence', async () => {
  const dir = await newFolder();
  let clock = 1_700_000_000n;
  const lines: string[] = [];
  const start = () => WitnessService.start({ dir, key, now: () => clock, log: (l) => lines.push(l) });
  const service = await start();
  try {
    await assert.rejects(service.witness.processAddCheckpoint(await log.request(0n, 8n)), (e) =>
      isVouchError(e, 'not-found'),
    );
    await addWitnessedLog(dir, { origin: log.origin, vkeys: [log.vkey] });
    await service.witness.processAddCheckpoint(await log.request(0n, 8n));
  } finally {
    await service.close();
  }

  clock += 60n;
  const restarted = await start();
  try {
    assert.equal((await restarted.witness.state(log.origin))?.checkpoint.size, 8n);
    const fork = testingOnlyForkOf(log, logKey, 3);
    await assert.rejects(restarted.witness.processAddCheckpoint(await fork.request(8n, 8n)), (e) => {
      return isVouchError(e, 'conflict') && e.details.size === undefined;
    });
    const files = await readdir(join(dir, 'evidence', originHashOf(log.origin)));
    assert.equal(files.length, 1);
    const record = JSON.parse(
      await readFile(join(dir, 'evidence', originHashOf(log.origin), files[0] as string), 'utf8'),
    );
    assert.equal(record.kind, 'root-mismatch');
    assert.equal(record.size, '8');
    assert.equal(record.submitted, toText(await fork.checkpoint(8n)));
    assert.ok(lines.some((l) => /two different trees of size 8/.test(l)));
  } finally {
    await restarted.close();
  }
});

test('a running service never re-keys a log from a hand-edited witness.json', async () => {
  const dir = await newFolder();
  await addWitnessedLog(dir, { origin: log.origin, vkeys: [log.vkey] });
  const lines: string[] = [];
  const service = await WitnessService.start({ dir, key, now: () => 1n, log: (l) => lines.push(l) });
  try {
    await service.witness.processAddCheckpoint(await log.request(0n, 2n));
    const impostor = testingOnlyLog(log.origin, 16, 'entry', createSigner('x', generateKey('ed25519')));
    const config = JSON.parse(await readFile(join(dir, 'witness.json'), 'utf8'));
    config.logs[0].vkeys = [impostor.vkey];
    await writeFile(join(dir, 'witness.json'), JSON.stringify(config));
    // An unknown origin makes the service reread the file; the known log keeps its key.
    const stranger = testingOnlyLog('stranger.example/log');
    await assert.rejects(service.witness.processAddCheckpoint(await stranger.request(0n, 1n)), (e) =>
      isVouchError(e, 'not-found'),
    );
    assert.ok(lines.some((l) => /other keys; ignored while running/.test(l)));
    await assert.rejects(
      service.witness.processAddCheckpoint(await impostor.request(2n, 4n, log.proof(2n, 4n))),
      (e) => isVouchError(e, 'no-trusted-signature'),
    );
    await service.witness.processAddCheckpoint(await log.request(2n, 4n));
  } finally {
    await service.close();
  }
});
