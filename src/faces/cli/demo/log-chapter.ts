/**
 * The demo's first chapter: every party's key, a signed note (C2SP signed-note), the supervisor's
 * two witnesses (C2SP tlog-witness), the release log that publishes only checkpoints both
 * witnesses cosigned (C2SP tlog-policy, 2 of 2), an offline proof (C2SP tlog-proof), a monitor,
 * and a coerced operator's forged history that the witnesses refuse and the monitor reports.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { formatAddCheckpointRequest } from '../../../core/tlog/witness-request.ts';
import { startBuilds } from './builds.ts';
import { forgeHistory } from './forge.ts';
import type { Demo, VouchCall } from './runner.ts';
import { logOrigin, type Step, type World, witnessPolicy } from './world.ts';

/** The key files of every party, with the names their signatures carry. */
const keys: readonly (readonly [file: string, name: string])[] = [
  ['log.key', logOrigin],
  ['w1.key', 'witness1.supervisor.example'],
  ['w2.key', 'witness2.supervisor.example'],
  ['builder.key', 'ch-zrh.build.vouch.example'],
  ['rebuilder.key', 'rebuilder.supervisor.example'],
  ['root1.key', 'root1.vouch.example'],
  ['root2.key', 'root2.vouch.example'],
  ['release.key', 'release.vouch.example'],
  ['approver.key', 'approver.supervisor.example'],
  ['snapshot.key', 'snapshot.vouch.example'],
  ['timestamp.key', 'timestamp.vouch.example'],
  ['ledger-ch-zrh.key', 'ledger.ch-zrh.vouch.example'],
  ['ledger-ru-mow.key', 'ledger.ru-mow.vouch.example'],
  ['registry.key', 'site-registry.vouch.example'],
  ['sakura-approver.key', 'sakura-kk.approver.example'],
  ['auditor.key', 'auditor.supervisor.example'],
];

/** The release log's first three entries. */
const releases = ['1.0.0', '1.0.1', '1.1.0'] as const;

/** keyCalls are the commands generating `list`'s keys. */
function keyCalls(list: typeof keys): VouchCall[] {
  return list.map(([file, name]) => ({
    args: ['key', 'generate', '--type', 'ed25519', '--name', name, '--out', file, '--unencrypted'],
  }));
}

async function generateKeys(demo: Demo, world: World): Promise<string> {
  demo.say('Every party generates its own Ed25519 key (the vendor, the supervisor, the sites, a customer)');
  // The first command alone fills the Node compile cache that the others then share. The keys
  // of the later chapters are made in the background while this chapter goes on.
  const [log] = await demo.vouchAll(keyCalls(keys.slice(0, 1)));
  world.vkeys.set('log.key', log?.stdout.trim() ?? '');
  const later = keys.slice(3);
  world.builds.keys = demo.background(async (d) => {
    const out = await d.vouchAll(keyCalls(later));
    for (const [i, [file]] of later.entries()) world.vkeys.set(file, out[i]?.stdout.trim() ?? '');
  });
  const witnesses = await demo.vouchAll(keyCalls(keys.slice(1, 3)));
  for (const [i, [file]] of keys.slice(1, 3).entries())
    world.vkeys.set(file, witnesses[i]?.stdout.trim() ?? '');
  return `the log's and the witnesses' keys; ${later.length} more in the background`;
}

async function signedNote(demo: Demo, world: World): Promise<string> {
  demo.say('A signed note (C2SP signed-note): it verifies, and a tampered copy does not');
  const vkey = world.vkey('log.key');
  writeFileSync(demo.path('release.txt'), 'vouch demo release 1.0.0\nbuilt at ch-zrh from commit 4f2a9c1\n');
  writeFileSync(
    demo.path('release.signed'),
    await demo.vouch(['note', 'sign', '--key', 'log.key', 'release.txt']),
  );
  writeFileSync(
    demo.path('tampered.signed'),
    readFileSync(demo.path('release.signed'), 'utf8').replace('1.0.0', '6.6.6'),
  );
  await demo.vouchAll([
    { args: ['note', 'verify', '--vkey', vkey, 'release.signed'] },
    { args: ['note', 'verify', '--vkey', vkey, 'tampered.signed'], expectExit: 1 },
  ]);
  return 'signature verifies; the tampered copy is refused';
}

async function witnesses(demo: Demo, world: World): Promise<string> {
  demo.say('Two independent witnesses run by the supervisor (C2SP tlog-witness)');
  const folders = ['w1', 'w2'];
  const vkeys = await demo.vouchAll(
    folders.map((w, i) => ({
      args: [
        'witness',
        'init',
        '--dir',
        w,
        '--name',
        `witness${i + 1}.supervisor.example`,
        '--key',
        `${w}.key`,
      ],
    })),
  );
  for (const [i, w] of folders.entries()) world.vkeys.set(`${w}.key`, vkeys[i]?.stdout.trim() ?? '');
  await demo.vouchAll(
    folders.map((w) => ({
      args: ['witness', 'add-log', '--dir', w, '--origin', logOrigin, '--vkey', world.vkey('log.key')],
      quiet: true,
    })),
  );
  const urls = await Promise.all(
    folders.map((w) => demo.serve(['witness', 'serve', '--dir', w, '--listen', '127.0.0.1:0'])),
  );
  world.witnessUrls.push(...urls);
  return 'w1 and w2 serving';
}

async function releaseLog(demo: Demo, world: World): Promise<string> {
  demo.say('The release log publishes only checkpoints both witnesses cosigned (C2SP tlog-policy, 2 of 2)');
  world.logPolicy = witnessPolicy(world.vkey('log.key'), world);
  writeFileSync(demo.path('policy.txt'), world.logPolicy);
  demo.log(world.logPolicy);
  await demo.vouch([
    'log',
    'init',
    '--dir',
    'log',
    '--origin',
    logOrigin,
    '--key',
    'log.key',
    '--policy',
    'policy.txt',
  ]);
  world.logUrl = await demo.serve(['log', 'serve', '--dir', 'log', '--listen', '127.0.0.1:0']);
  for (const v of releases) writeFileSync(demo.path(`release-${v}.txt`), `vouch release ${v}\n`);
  await demo.vouch(['log', 'add', '--log', world.logUrl, ...releases.map((v) => `release-${v}.txt`)]);
  const verified = await demo.vouch(['log', 'verify', '--log', world.logUrl, '--policy', 'policy.txt']);
  demo.expect(
    verified,
    /"cosigners":\["w1","w2"\],"ok":true/,
    'the checkpoint is not cosigned by both witnesses',
  );
  return `${releases.length} releases logged, cosigned by w1 and w2`;
}

async function proofAndMonitor(demo: Demo, world: World): Promise<string> {
  demo.say('An offline proof for one release (C2SP tlog-proof), checked without the network');
  const proof = ['--policy', 'policy.txt', '--index', '1', '--out', 'release-1.0.1.tlog-proof'];
  await demo.vouch(['log', 'proof', '--log', world.logUrl, ...proof]);
  await demo.vouchAll([
    {
      args: [
        'log',
        'check-proof',
        '--policy',
        'policy.txt',
        '--entry',
        'release-1.0.1.txt',
        'release-1.0.1.tlog-proof',
      ],
    },
    { args: ['monitor', '--log', world.logUrl, '--policy', 'policy.txt', '--state', 'monitor'] },
  ]);
  return 'proof checked offline; the monitor agrees';
}

async function forgedHistory(demo: Demo, world: World): Promise<string> {
  demo.say('Coerced, the operator forges another history of the same size with the same key...');
  const forged = await forgeHistory(demo.path('forged'), demo.path('log.key'), logOrigin, releases);
  for (const [i, url] of world.witnessUrls.entries()) {
    const answer = await fetch(`${url}add-checkpoint`, {
      method: 'POST',
      body: formatAddCheckpointRequest({ old: BigInt(releases.length), proof: [], checkpoint: forged }),
      signal: AbortSignal.timeout(10_000),
    });
    await answer.body?.cancel();
    if (answer.status !== 409)
      demo.fail(`witness w${i + 1} answered ${answer.status} to a forged history, not 409`);
    demo.log(
      `  witness w${i + 1} answers 409: it already cosigned another tree of size ${releases.length}\n`,
    );
  }
  demo.say('...so it cannot meet the policy, and a monitor shown it reports the split view');
  const [, fork] = await demo.vouchAll([
    { args: ['log', 'verify', '--log', 'forged', '--policy', 'policy.txt'], expectExit: 1 },
    {
      args: [
        'monitor',
        '--log',
        'forged',
        '--vkey',
        world.vkey('log.key'),
        '--state',
        'monitor-forged',
        '--mirror',
        world.logUrl,
      ],
      expectExit: 1,
    },
  ]);
  demo.expect(fork?.output ?? '', /"event":"fork"/, 'the monitor did not report the fork');
  await world.builds.keys?.join(demo);
  // From here on the release log grows: the slow builds start in the background.
  startBuilds(demo, world);
  return 'both witnesses answer 409; the monitor reports the fork';
}

/** logChapter is the keys, the witnesses and the release log. */
export const logChapter: readonly Step[] = [
  { title: 'Every party generates its own signing key', run: generateKeys },
  { title: 'A signed note verifies; a tampered copy does not', run: signedNote },
  { title: 'The supervisor starts two independent witnesses', run: witnesses },
  { title: 'The release log publishes only checkpoints both witnesses cosigned', run: releaseLog },
  { title: 'An offline inclusion proof checks; a monitor follows the log', run: proofAndMonitor },
  { title: 'A coerced operator forges a history with the log key', run: forgedHistory },
];
