/**
 * The demo's slow, independent work, started in the background once the release log chapter is over:
 * the sandboxed builds and rebuilds of rule databases v1 and v2, the vendor's build of v3 (never
 * rebuilt nor approved), and the sabotaged build with its mismatching rebuild. They run one after
 * the other, beside the steps in the foreground, on the machine's second core; each step that
 * needs one joins it, and the transcript shows its commands there. It changes no outcome: each
 * build only needs the keys and the release log.
 */

import { spawnSync } from 'node:child_process';
import { buildSabotaged } from './release-chapter.ts';
import { buildRules } from './rules-chapter.ts';
import type { Background, Demo } from './runner.ts';
import type { World } from './world.ts';

/** startBuilds starts the background builds; see the module comment. */
export function startBuilds(demo: Demo, world: World): void {
  world.sandboxed = spawnSync('bwrap', ['--version']).status === 0;
  const rules = new Map<number, Background<void>>();
  const v1 = demo.background((d) => buildRules(d, world, 1, 1, true));
  rules.set(1, v1);
  const v2 = demo.background((d) => buildRules(d, world, 2, 3, true), v1);
  rules.set(2, v2);
  const v3 = demo.background((d) => buildRules(d, world, 3, 4, false), v2);
  rules.set(3, v3);
  world.builds.rules = rules;
  world.builds.sabotaged = demo.background((d) => buildSabotaged(d, world), v3);
}
