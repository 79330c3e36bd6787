/**
 * The demo's story, in order, and its narration (issue 9, `vouch demo`): the keys, witnesses and
 * release log; the two data sites; the product and rule database v1 built, rebuilt, approved and
 * published; the Japanese and Brazilian agents installing, scanning and reporting to their sites;
 * staff access under policy and the Japanese customer's approval; v2 as a delta; an unapproved
 * v3 and a sabotaged build refused; the supervisor's audit. The sites start before the agents
 * run, since agents report to them.
 *
 * Narration: one numbered line per step with what it proves, a check mark, the result and its
 * time (plain `ok` when standard output is not a terminal); with `verbose` the transcript is
 * echoed as well. The first step that misbehaves stops the story: the failure names the step,
 * its command and that command's output tail, and the servers are stopped either way.
 */

import { accessChapter } from './access-chapter.ts';
import { agentsChapter } from './agents-chapter.ts';
import { auditStep } from './audit-chapter.ts';
import { logChapter } from './log-chapter.ts';
import { releaseChapter, sabotageStep } from './release-chapter.ts';
import { rulesUpdateChapter, rulesV1Step } from './rules-chapter.ts';
import { type Demo, DemoFailure } from './runner.ts';
import { sitesChapter } from './sites-chapter.ts';
import { type Step, World } from './world.ts';

/** story is every step of the demo, in the order they run. */
export const story: readonly Step[] = [
  ...logChapter,
  ...sitesChapter,
  ...releaseChapter,
  rulesV1Step,
  ...agentsChapter,
  ...accessChapter,
  ...rulesUpdateChapter,
  sabotageStep,
  auditStep,
];

/** NarrationOptions says where the narration goes and how it looks. */
export interface NarrationOptions {
  /** write prints narration (standard output). */
  readonly write: (text: string) => void;
  /** writeError prints a failure (standard error). */
  readonly writeError: (text: string) => void;
  /** fancy uses ✓ and ✗ (a terminal); otherwise plain `ok` and `FAILED`. */
  readonly fancy: boolean;
  /** verbose means the transcript is echoed too, so each step line stands on its own. */
  readonly verbose: boolean;
}

/** StoryOutcome is the world the story made, or the step that misbehaved. */
export type StoryOutcome =
  | { readonly ok: true; readonly world: World; readonly seconds: number }
  | { readonly ok: false; readonly step: string };

/** outputTailLines is how much of a failed command's output the failure shows. */
const outputTailLines = 20;

/**
 * runStory runs every step with `demo`, narrating, and always stops the servers and closes the
 * transcript. A step that throws anything but a {@link DemoFailure} (a bug) is reported the same
 * way, with its message.
 */
export async function runStory(demo: Demo, narration: NarrationOptions): Promise<StoryOutcome> {
  const world = new World();
  const started = performance.now();
  const width = String(story.length).length;
  const { write, fancy, verbose } = narration;
  try {
    for (const [i, step] of story.entries()) {
      const label = `[${String(i + 1).padStart(width)}/${story.length}]`;
      write(verbose ? `${label} ${step.title}\n` : `${label} ${step.title} ... `);
      const begun = performance.now();
      const elapsed = (): string => `${((performance.now() - begun) / 1000).toFixed(1)} s`;
      try {
        const result = await step.run(demo, world);
        write(`${verbose ? `${label} ` : ''}${fancy ? '✓' : 'ok'} ${result} (${elapsed()})\n`);
      } catch (error) {
        write(`${verbose ? `${label} ` : ''}${fancy ? '✗' : 'FAILED'} (${elapsed()})\n`);
        reportFailure(demo, narration, `${label} ${step.title}`, error);
        return { ok: false, step: step.title };
      }
    }
    return { ok: true, world, seconds: (performance.now() - started) / 1000 };
  } finally {
    await demo.close();
  }
}

function reportFailure(demo: Demo, narration: NarrationOptions, step: string, error: unknown): void {
  const failure =
    error instanceof DemoFailure
      ? error
      : new DemoFailure(error instanceof Error ? error.message : String(error));
  const lines = [`demo: step ${step} misbehaved: ${failure.message}`];
  if (failure.command !== undefined) lines.push(`  command: ${failure.command}`);
  const tail = failure.output.trimEnd().split('\n').slice(-outputTailLines);
  if (tail.length > 0 && tail[0] !== '') {
    lines.push(`  output (last ${tail.length} lines):`, ...tail.map((l) => `    ${l}`));
  }
  lines.push(`  transcript: ${demo.path('demo.log')}`);
  narration.writeError(`${lines.join('\n')}\n`);
}
