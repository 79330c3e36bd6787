/**
 * The demo's release chapter: the vendor builds the example product at ch-zrh in a sandbox with no
 * network and logs its provenance; the supervisor rebuilds it and signs that every byte matches;
 * the update repository (TUF, root 2-of-2 offline keys, targets needing the vendor AND the
 * approver) refuses the vendor's signature alone; the approver checks the evidence against the
 * release policy and signs; the repository publishes, logging every metadata version first.
 * The sabotaged build, caught by the rebuild, is at the end of the story ({@link sabotageStep}).
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Demo, vouchRoot } from './runner.ts';
import { builderId, onlineKeyFlags, type Step, type World } from './world.ts';

const hello = join(vouchRoot, 'examples', 'hello');
const sabotaged = join(vouchRoot, 'examples', 'sabotaged');

/** approveArgs is the approver's command: check the staged release against the policy, sign targets. */
export const approveArgs: readonly string[] = [
  'approve',
  '--release',
  'repo',
  '--key',
  'approver.key',
  '--policy',
  'release-policy.json',
];

async function build(demo: Demo, world: World): Promise<string> {
  demo.say(
    'The vendor builds the example product at ch-zrh, in a sandbox with no network, and logs its provenance',
  );
  const out = await demo.vouch([
    'build',
    join(hello, 'recipe.json'),
    '--source',
    hello,
    '--out',
    'build-hello',
    ...world.buildFlags,
  ]);
  const index = demo.expect(out, /logged index (\d+)/, 'the build was not logged')[1];
  return `${world.sandboxed ? 'hermetic, ' : ''}provenance logged at index ${index}`;
}

async function rebuild(demo: Demo, world: World): Promise<string> {
  demo.say('The supervisor rebuilds it independently from the provenance and signs that every byte matches');
  const out = await demo.vouch([
    'rebuild',
    '--provenance',
    'build-hello/provenance.dsse.json',
    '--source',
    hello,
    '--out',
    'rebuild-hello',
    ...world.rebuildFlags,
  ]);
  demo.expect(out, /^match$/m, 'the rebuild did not say match');
  return 'match';
}

async function stage(demo: Demo, world: World): Promise<string> {
  demo.say(
    'The update repository (TUF): root 2-of-2 offline keys; targets needs the vendor AND the supervisor',
  );
  await demo.vouch([
    'repo',
    'init',
    'repo',
    '--name',
    'vouch-demo',
    '--root-key',
    'root1.key',
    '--root-key',
    'root2.key',
    '--root-threshold',
    '2',
    '--release-vkey',
    world.vkey('release.key'),
    '--approver-vkey',
    world.vkey('approver.key'),
    ...onlineKeyFlags,
  ]);
  await demo.vouch([
    'repo',
    'add',
    'repo',
    '--product',
    'build-hello',
    '--rebuild',
    'rebuild-hello/rebuild.dsse.json',
  ]);
  await demo.vouch(['repo', 'sign', 'repo', '--role', 'targets', '--key', 'release.key']);
  demo.say('The vendor alone cannot publish: the targets threshold is 2');
  const [refused] = await demo.vouchAll([
    { args: ['repo', 'publish', 'repo', ...onlineKeyFlags, ...world.logFlags], expectExit: 1 },
  ]);
  demo.expect(refused?.output ?? '', /missing: approver/, 'the refusal does not name the missing approver');
  return "refused: the approver's signature is missing";
}

async function approve(demo: Demo, world: World): Promise<string> {
  demo.say(
    'The approver checks provenance, site and rebuild against the release policy, then signs its share',
  );
  const witnessPolicy = world.logPolicy
    .split('\n')
    .filter((line) => /^(witness|group|quorum) /.test(line))
    .map((line) => `${line}\n`)
    .join('');
  const releasePolicy = {
    _type: 'https://vouch.example/release-policy/v1',
    builders: [{ id: builderId, keys: [world.vkey('builder.key')], allowNonHermetic: !world.sandboxed }],
    rebuilders: { required: true, keys: [world.vkey('rebuilder.key')], threshold: 1 },
    review: { required: false, keys: [], threshold: 0 },
    log: { vkey: world.vkey('log.key'), witnessPolicy },
  };
  writeFileSync(demo.path('release-policy.json'), `${JSON.stringify(releasePolicy, null, 2)}\n`);
  if (!world.sandboxed) demo.log('  (no bubblewrap here: this demo policy allows non-hermetic builds)\n');
  await demo.vouch([...approveArgs]);
  demo.say(
    "Now it publishes: every metadata version and evidence file is logged first, under the witnesses' quorum",
  );
  await demo.vouch(['repo', 'publish', 'repo', ...onlineKeyFlags, ...world.logFlags]);
  world.published.push('hello 1.0.0');
  world.repoUrl = await demo.serve(['repo', 'serve', 'repo', '--listen', '127.0.0.1:0']);
  return 'approved, logged and published';
}

/** buildSabotaged has the sabotaged machine build and the supervisor rebuild (which must not match); it returns the differing file. */
export async function buildSabotaged(demo: Demo, world: World): Promise<string> {
  await demo.vouch([
    'build',
    join(sabotaged, 'recipe.json'),
    '--source',
    sabotaged,
    '--out',
    'build-sabotaged',
    ...world.buildFlags,
  ]);
  const [mismatch] = await demo.vouchAll([
    {
      args: [
        'rebuild',
        '--provenance',
        'build-sabotaged/provenance.dsse.json',
        '--source',
        sabotaged,
        '--out',
        'rebuild-sabotaged',
        ...world.rebuildFlags,
      ],
      expectExit: 1,
    },
  ]);
  return (
    demo.expect(mismatch?.output ?? '', /differs (\S+)/, 'the rebuild did not name a differing file')[1] ?? ''
  );
}

async function sabotage(demo: Demo, world: World): Promise<string> {
  demo.say("A sabotaged build machine: the supervisor's rebuild does not match...");
  const build = world.builds.sabotaged;
  if (build === undefined) return demo.fail('the sabotaged build never ran');
  const differs = await build.join(demo);
  demo.say(
    '...so the approver refuses it, and without its signature the release can never reach an endpoint',
  );
  await demo.vouch([
    'repo',
    'add',
    'repo',
    '--product',
    'build-sabotaged',
    '--rebuild',
    'rebuild-sabotaged/rebuild.dsse.json',
  ]);
  await demo.vouch(['repo', 'sign', 'repo', '--role', 'targets', '--key', 'release.key']);
  const [refused] = await demo.vouchAll([{ args: [...approveArgs], expectExit: 1 }]);
  demo.expect(
    refused?.output ?? '',
    /rebuilds check failed/,
    'the approver did not name the failed rebuild check',
  );
  await demo.vouch(['repo', 'publish', 'repo', ...onlineKeyFlags, ...world.logFlags], 1);
  return `rebuild mismatch (${differs}); approval refused, never published`;
}

/** releaseChapter is the product's way from the vendor's build to a published release. */
export const releaseChapter: readonly Step[] = [
  { title: 'The vendor builds the product in a sandbox at ch-zrh', run: build },
  { title: 'The supervisor rebuilds the product in its own sandbox', run: rebuild },
  { title: "The repository refuses the vendor's signature alone", run: stage },
  { title: 'The approver checks the evidence and signs; the repository publishes', run: approve },
];

/** sabotageStep is the sabotaged build machine, caught by the rebuild and refused by the approver. */
export const sabotageStep: Step = { title: 'A sabotaged build is caught by the rebuild', run: sabotage };
