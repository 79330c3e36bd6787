/**
 * The demo's rule databases: they go down the same conveyer as products. The vendor builds v1 in
 * the sandbox (compile, then pack into the one bundle the repository publishes, so the
 * provenance names its digest), the supervisor rebuilds it, it is approved and published; v2
 * (two more hash signatures) reaches the agents as a delta; v3, signed by the vendor alone, is
 * refused by the repository and, served by a rogue mirror holding the stolen online keys, by an
 * agent that names the attack.
 */

import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forgeRogueMirror } from './forge.ts';
import { approveArgs } from './release-chapter.ts';
import { type Demo, vouchRoot } from './runner.ts';
import { brazil, japan, onlineKeyFlags, type Step, type World } from './world.ts';

/** sampleText is the content of the demo's generated sample N, which rule database v(N) or later knows. */
export function sampleText(n: number): string {
  return `vouch demo malware sample ${n}\n`;
}

/**
 * rulesSource copies examples/rules into a fresh folder for version N: the recipe template gets
 * this host's Node binary and Vouch tree (bound read-only in the sandbox) and the version, and
 * each generated sample from 2 to `samples` gets its hash signature.
 */
function rulesSource(demo: Demo, version: number, samples: number): string {
  const folder = `rules-src-${version}`;
  const target = demo.path(folder);
  cpSync(join(vouchRoot, 'examples', 'rules'), target, { recursive: true });
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string')
      return value
        .replaceAll('@NODE@', process.execPath)
        .replaceAll('@VOUCH_ROOT@', vouchRoot)
        .replaceAll('@VERSION@', String(version));
    if (Array.isArray(value)) return value.map(fill);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    return value;
  };
  const recipe = fill(JSON.parse(readFileSync(join(target, 'recipe.json'), 'utf8')));
  writeFileSync(join(target, 'recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`);
  let extra = '';
  for (let n = 2; n <= samples; n++) {
    const text = sampleText(n);
    const digest = createHash('sha256').update(text).digest('hex');
    extra += `${digest}:${Buffer.byteLength(text)}:Vouch.Demo.Sample-${n}\n`;
  }
  const hsb = join(target, 'src', 'demo.hsb');
  writeFileSync(hsb, readFileSync(hsb, 'utf8') + extra);
  return folder;
}

/**
 * buildRules has the vendor build rule database `version` (knowing samples up to `samples`) and,
 * with `rebuild`, the supervisor rebuild it. It runs in the background (./builds.ts).
 */
export async function buildRules(
  demo: Demo,
  world: World,
  version: number,
  samples: number,
  rebuild: boolean,
): Promise<void> {
  const source = rulesSource(demo, version, samples);
  await demo.vouch([
    'build',
    join(source, 'recipe.json'),
    '--source',
    source,
    '--out',
    `build-rules-${version}`,
    ...world.buildFlags,
  ]);
  if (!rebuild) return;
  await demo.vouch([
    'rebuild',
    '--provenance',
    `build-rules-${version}/provenance.dsse.json`,
    '--source',
    source,
    '--out',
    `rebuild-rules-${version}`,
    ...world.rebuildFlags,
  ]);
}

/** releaseRules joins the background build of rule database `version`, then stages, signs, approves and publishes it. */
async function releaseRules(demo: Demo, world: World, version: number): Promise<void> {
  const build = world.builds.rules?.get(version);
  if (build === undefined) return demo.fail(`rules v${version} was never built`);
  await build.join(demo);
  const staged = await demo.vouch([
    'repo',
    'add',
    'repo',
    '--rules-build',
    `build-rules-${version}`,
    '--rebuild',
    `rebuild-rules-${version}/rebuild.dsse.json`,
  ]);
  demo.expect(
    staged,
    new RegExp(`staged rules/demo/demo-${version}\\.vdb `),
    `rules v${version} was not staged`,
  );
  await demo.vouch(['repo', 'sign', 'repo', '--role', 'targets', '--key', 'release.key'], 0, { quiet: true });
  const approved = await demo.vouch([...approveArgs]);
  demo.expect(
    approved,
    new RegExp(`approved rules/demo/demo-${version}\\.vdb \\(VSA `),
    `rules v${version} was not approved`,
  );
  await demo.vouch(['repo', 'publish', 'repo', ...onlineKeyFlags, ...world.logFlags], 0, { quiet: true });
  world.published.push(`rules-demo ${version}`);
  world.ruleVersions.push(version);
}

async function rulesV1(demo: Demo, world: World): Promise<string> {
  demo.say(
    'Rule database v1 goes down the same conveyer: compiled and packed in the sandbox, rebuilt, approved',
  );
  await releaseRules(demo, world, 1);
  return 'built, rebuilt (match), approved, published';
}

/** installedRules reads an agent's installed rule database record. */
function installedRules(demo: Demo, agent: string) {
  return JSON.parse(readFileSync(demo.path(agent, 'installed', 'rules-demo', 'current.json'), 'utf8')) as {
    current: { version: string; via: string; length: number };
    previous?: { version: string };
  };
}

async function rulesV2(demo: Demo, world: World): Promise<string> {
  demo.say('Rule database v2 (two more hash signatures) ships the same way; the agents update by delta');
  await releaseRules(demo, world, 2);
  const updates = await demo.vouchAll(
    [japan, brazil].map((t) => ({ args: ['agent', 'update', '--dir', t.agent] })),
  );
  for (const u of updates) {
    demo.expect(
      u.stdout,
      /installed: +rules-demo 2 \(previous 1\) \[new\]/,
      'an agent did not install rules v2',
    );
  }
  const deltaFolder = demo.path('repo', 'public', 'targets', 'rules', 'demo');
  const deltaFile = readdirSync(deltaFolder).find((n) => n.endsWith('.demo-1-2.vdelta'));
  const deltaBytes = deltaFile === undefined ? 0 : readFileSync(join(deltaFolder, deltaFile)).length;
  let line = '';
  for (const t of [japan, brazil]) {
    const installed = installedRules(demo, t.agent);
    line = `the ${deltaBytes}-byte delta was fetched, not the ${installed.current.length}-byte v2 bundle`;
    demo.log(
      `  ${t.agent}: rules-demo ${installed.current.version} installed via ${installed.current.via} from ${installed.previous?.version ?? 'nothing'}: ${line}\n`,
    );
    if (installed.current.via !== 'delta') demo.fail(`${t.agent} did not update the rule database by delta`);
  }
  const [scan] = await demo.vouchAll([
    {
      args: [
        'scan',
        '--db',
        join(japan.agent, 'installed', 'rules-demo', 'current'),
        '--no-progress',
        'samples',
      ],
      expectExit: 1,
    },
  ]);
  const found = (scan?.stdout.match(/"kind":"hash"/g) ?? []).length;
  if (found < 3) demo.fail(`the scan with rules v2 found ${found} hash detections, not 3`);
  return `by delta (${deltaBytes} bytes, not ${installedRules(demo, japan.agent).current.length}); now ${found} detections`;
}

async function rulesV3(demo: Demo, world: World): Promise<string> {
  demo.say(
    'An unapproved release: the vendor builds, stages and signs v3, but the repository refuses to publish it',
  );
  const build = world.builds.rules?.get(3);
  if (build === undefined) return demo.fail('rules v3 was never built');
  await build.join(demo);
  await demo.vouch(['repo', 'add', 'repo', '--rules-build', 'build-rules-3']);
  await demo.vouch(['repo', 'sign', 'repo', '--role', 'targets', '--key', 'release.key']);
  const [refused] = await demo.vouchAll([
    { args: ['repo', 'publish', 'repo', ...onlineKeyFlags, ...world.logFlags], expectExit: 1 },
  ]);
  demo.expect(
    refused?.output ?? '',
    /targets version \d+ has 1 of the 2 signatures it needs; missing: approver/,
    'the repository did not name the missing approval',
  );
  demo.say("The agents' next check finds nothing new: v3 was never published");
  const checks = await demo.vouchAll(
    [japan, brazil].map((t) => ({ args: ['agent', 'update', '--dir', t.agent] })),
  );
  for (const c of checks)
    demo.expect(c.stdout, /^installed: +rules-demo 2( \(previous 1\))?$/m, 'an agent left rules v2');
  demo.say('A rogue mirror with the stolen online keys serves it anyway: the agents refuse it');
  await forgeRogueMirror(demo.dir, demo.path('repo'), demo.path('rogue-repo'));
  const rogueUrl = await demo.serve(['repo', 'serve', 'rogue-repo', '--listen', '127.0.0.1:0']);
  await demo.vouch([
    'agent',
    'init',
    '--dir',
    'agent-rogue',
    '--root',
    'repo/public/1.root.json',
    '--release-policy',
    'release-policy.json',
    '--repository',
    rogueUrl,
    '--repository-name',
    'vouch-demo',
    '--want',
    'rules/demo/',
  ]);
  const [rogue] = await demo.vouchAll([{ args: ['agent', 'update', '--dir', 'agent-rogue'], expectExit: 1 }]);
  const attack = demo.expect(
    rogue?.stdout ?? '',
    /error: +threshold: targets has 1\/2 valid signatures[^\n]*\[attack: (\w+)\]/,
    'the agent did not name the threshold attack',
  )[1];
  return `publish refused; the rogue mirror's copy refused (attack: ${attack})`;
}

/** rulesV1Step publishes rule database v1 (before the agents first run). */
export const rulesV1Step: Step = { title: 'Rule database v1 goes down the same conveyer', run: rulesV1 };

/** rulesUpdateChapter ships v2 as a delta and shows an unapproved v3 refused everywhere. */
export const rulesUpdateChapter: readonly Step[] = [
  { title: 'Rule database v2 ships; the agents update by delta', run: rulesV2 },
  { title: 'An unapproved v3 is refused by the repository and by the agents', run: rulesV3 },
];
