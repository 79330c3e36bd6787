/**
 * The `vouch` command: a table of subcommands and the one place that turns errors into
 * messages and exit codes. It only wires; every command's work lives in the layers below.
 */

import { commands } from './commands/index.ts';
import { type CliIo, exitCodes, processIo, reportError } from './io.ts';

export { processIo };

const helpText = (): string => {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `vouch — a transparency center for builds, updates and customer data

Usage: vouch <command> [options]    (vouch <command> --help for details)

Commands:
${lines.join('\n')}

Exit codes: 0 ok, 1 verification failed, 2 bad usage or input, 3 key error,
4 unavailable or conflict (retry may help), 70 internal error.
Environment: VOUCH_PASSPHRASE unlocks encrypted key files; VOUCH_DEBUG=1 prints stack traces.
`;
};

/** runCli runs one `vouch` invocation with the given arguments and I/O and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(helpText());
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (name === '--version') {
    io.stdout('vouch 0.1.0\n');
    return exitCodes.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`vouch: unknown command ${JSON.stringify(name.slice(0, 40))}; see vouch --help\n`);
    return exitCodes.usage;
  }
  if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) {
    io.stdout(command.usage);
    return exitCodes.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    return reportError(error, io);
  }
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2), processIo());
}
