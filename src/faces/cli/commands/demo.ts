/**
 * `vouch demo`: the README's main command (issue 9). It runs the whole story on one machine with
 * the real `vouch` command line and servers, in one data folder that afterwards holds the world
 * for inspection: the release log and its two witnesses, the data sites ch-zrh and ru-mow, the
 * product and rule databases built, rebuilt, approved and published, agents in Japan and Brazil
 * installing, scanning and reporting to their sites, staff access under policy and a customer's
 * approval, refused releases, and the supervisor's audit. It narrates one line per step, keeps the
 * full transcript in DIR/demo.log, writes DIR/vouch.yaml for `vouch serve`, and ends with a
 * summary; with `--serve` it then keeps the dashboard up until Ctrl-C. The story is in
 * ../demo/ (story.ts lists the steps); this file only wires the options.
 */

import { join } from 'node:path';
import { VouchError } from '../../../core/errors.ts';
import { parseCommandLine, parseListen } from '../args.ts';
import { serveDashboard } from '../demo/dashboard.ts';
import { prepareFolder } from '../demo/folder.ts';
import { Demo } from '../demo/runner.ts';
import { runStory } from '../demo/story.ts';
import { defaultListen, summary, writeServeConfig } from '../demo/summary.ts';
import { type CliIo, type Command, exitCodes } from '../io.ts';

const synopsis = 'vouch demo [--dir DIR] [--verbose] [--serve [--listen HOST:PORT]]';

const usage = `Usage:
  ${synopsis}
      Run the end-to-end demo with the real command line and servers on 127.0.0.1: keys, two
      witnesses and the release log; the data sites ch-zrh (neutral) and ru-mow (home); the
      example product and rule database v1 built in a sandbox, rebuilt by the supervisor,
      approved and published; agents of a tenant in Japan and one in Brazil updating, scanning
      a generated sample folder (EICAR included) and reporting to their sites; staff access
      denied by policy, then granted with the Japanese customer's approval; v2 as a delta; an
      unapproved v3 and a sabotaged build refused; the supervisor's audit.
      --dir DIR   the data folder (default: a new folder under the OS temp folder). It must be
                  empty or hold a previous demo, which is cleared first.
      --verbose   also print the transcript (every command and its output; always written
                  to DIR/demo.log).
      --serve     afterwards run vouch serve --config DIR/vouch.yaml on --listen (default
                  ${defaultListen}) and keep the dashboard up until Ctrl-C.
      Exit 0 when every step behaved as shown (refusals included), 1 naming the step that did
      not.
`;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('demo', synopsis, args, {
    dir: { type: 'string' },
    verbose: { type: 'boolean' },
    serve: { type: 'boolean' },
    listen: { type: 'string' },
  });
  if (values.help === true) {
    io.stdout(usage);
    return exitCodes.ok;
  }
  const listen = typeof values.listen === 'string' ? values.listen : defaultListen;
  if (typeof values.listen === 'string' && values.serve !== true) {
    throw new VouchError('invalid-argument', `demo: --listen goes with --serve (usage: ${synopsis})`);
  }
  parseListen(listen);
  const verbose = values.verbose === true;
  const { dir, cleared } = prepareFolder(typeof values.dir === 'string' ? values.dir : undefined);
  io.stdout(
    `Vouch demo in ${dir}${cleared ? ' (the previous demo there was cleared)' : ''}\n` +
      `The full transcript goes to ${join(dir, 'demo.log')}${verbose ? ' and here' : ''}.\n\n`,
  );
  const demo = new Demo(dir, {
    transcriptFile: join(dir, 'demo.log'),
    ...(verbose ? { echo: (text: string) => io.stdout(text) } : {}),
  });
  const outcome = await runStory(demo, {
    write: (text) => io.stdout(text),
    writeError: (text) => io.stderr(text),
    fancy: process.stdout.isTTY === true && io.env.TERM !== 'dumb',
    verbose,
  });
  if (!outcome.ok) return exitCodes.verificationFailed;
  writeServeConfig(dir);
  io.stdout(summary(dir, outcome.world, outcome.seconds, listen));
  if (values.serve !== true) return exitCodes.ok;
  await serveDashboard(dir, listen, (text) => io.stdout(text));
  return exitCodes.ok;
}

/** demoCommand is `vouch demo`. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the end-to-end demo on one machine and summarise it (--serve keeps the dashboard up)',
  usage,
  run,
};
