/**
 * Test support: run one `vouch` command in-process with a captured CliIo (no terminal, empty
 * environment and standard input), mapping thrown errors to exit codes as the real CLI does.
 */

import { type CliIo, type Command, reportError } from '../../src/faces/cli/io.ts';

/** CommandRun is what a command printed and its exit code. */
export interface CommandRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** runCommand runs `command` with `args` and returns its exit code and output. */
export async function runCommand(command: Command, args: readonly string[]): Promise<CommandRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: {},
    stdinIsTerminal: false,
    readStdin: async () => new Uint8Array(),
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  };
  let code: number;
  try {
    code = await command.run(args, io);
  } catch (error) {
    code = reportError(error, io);
  }
  return { code, stdout, stderr };
}
