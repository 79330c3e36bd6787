/**
 * The CLI's view of the outside world: arguments, environment, standard streams and exit
 * codes. Commands receive a {@link CliIo} instead of touching `process` so that script tests run
 * them in-process with captured output, and so the error-to-exit-code mapping lives in one place.
 */

import { open } from 'node:fs/promises';
import { collectBytes } from '../../core/bytes/index.ts';
import { type ErrorCode, isVouchError, tooLarge, VouchError } from '../../core/errors.ts';

/** CliIo is everything a command may read from or write to besides files it names. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** readStdin returns all of standard input, at most `limit` bytes, or throws `too-large`. */
  readStdin(limit: number): Promise<Uint8Array>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** isTerminal reports whether standard input is an interactive terminal (for prompts). */
  readonly stdinIsTerminal: boolean;
  /**
   * readSecret shows `prompt` on standard error and reads one line from the terminal without
   * echoing it (for passphrases). It is present only when standard input is a terminal, and
   * rejects with `invalid-argument` when the user cancels (Ctrl-C, or Ctrl-D on an empty line).
   */
  readonly readSecret?: (prompt: string) => Promise<string>;
  /** stderrColumns is the width of the terminal standard error writes to; absent when it is not a terminal. */
  readonly stderrColumns?: number;
}

/** Command is one `vouch` subcommand (or a group such as `key` with its own subcommands). */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** usage is the full help text printed by `vouch <name> --help`. */
  readonly usage: string;
  /** run executes the command and returns its exit code; thrown VouchErrors are printed by main. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** ExitCode values are stable and documented in `vouch --help`. */
export const exitCodes = Object.freeze({
  ok: 0,
  /** A check ran and failed (a signature, proof or policy did not verify). */
  verificationFailed: 1,
  /** The command line or an input file was wrong. */
  usage: 2,
  /** A key could not be loaded or unlocked. */
  key: 3,
  /** A dependency was unavailable, or a conflict or pushback that a retry may fix. */
  unavailable: 4,
  /** An internal error: a bug in Vouch. */
  internal: 70,
});

const exitCodeByErrorCode: Record<ErrorCode, number> = {
  malformed: exitCodes.usage,
  'too-large': exitCodes.usage,
  'invalid-argument': exitCodes.usage,
  'bad-signature': exitCodes.verificationFailed,
  'no-trusted-signature': exitCodes.verificationFailed,
  'bad-proof': exitCodes.verificationFailed,
  'bad-digest': exitCodes.verificationFailed,
  'policy-unmet': exitCodes.verificationFailed,
  'bad-key': exitCodes.key,
  'wrong-passphrase': exitCodes.key,
  conflict: exitCodes.unavailable,
  'not-found': exitCodes.usage,
  pushback: exitCodes.unavailable,
  unavailable: exitCodes.unavailable,
  invariant: exitCodes.internal,
};

/**
 * reportError prints a thrown value the way users should see it (one line, no stack trace for
 * expected errors) and returns the exit code. Unexpected errors print their stack only when
 * `VOUCH_DEBUG` is set, since a stack is noise to users and may leak paths.
 */
export function reportError(error: unknown, io: CliIo): number {
  if (isVouchError(error)) {
    const field = error.details.field === undefined ? '' : ` (${error.details.field})`;
    io.stderr(`vouch: ${error.message}${field}\n`);
    return exitCodeByErrorCode[error.code];
  }
  if (isNodeSystemError(error)) {
    io.stderr(
      `vouch: ${error.syscall ?? 'I/O'} failed: ${error.code}${error.path ? ` ${error.path}` : ''}\n`,
    );
    return exitCodes.unavailable;
  }
  io.stderr('vouch: internal error (set VOUCH_DEBUG=1 for details)\n');
  if (io.env.VOUCH_DEBUG)
    io.stderr(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return exitCodes.internal;
}

interface NodeSystemError {
  code: string;
  syscall?: string;
  path?: string;
}

function isNodeSystemError(error: unknown): error is NodeSystemError {
  const code: unknown = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** processIo returns the real process's {@link CliIo}. */
export function processIo(): CliIo {
  return {
    env: process.env,
    stdinIsTerminal: process.stdin.isTTY === true,
    async readStdin(limit: number): Promise<Uint8Array> {
      return collectBytes(process.stdin, limit, 'standard input');
    },
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    ...(process.stdin.isTTY === true ? { readSecret: terminalSecretReader() } : {}),
    ...(process.stderr.isTTY === true ? { stderrColumns: process.stderr.columns || 80 } : {}),
  };
}

/**
 * terminalSecretReader returns a {@link CliIo.readSecret} for the process's terminal: raw mode,
 * no echo, Backspace and Ctrl-U edit, Enter ends the line. Text typed (or pasted) after the Enter
 * is kept for the next prompt, so a confirmation prompt sees it.
 */
function terminalSecretReader(): (prompt: string) => Promise<string> {
  let pending = '';
  return (prompt) =>
    new Promise((resolve, reject) => {
      const input = process.stdin;
      const decoder = new TextDecoder();
      let line = '';
      let finished = false;
      const finish = (error?: VouchError): void => {
        finished = true;
        input.off('data', onData);
        input.setRawMode(false);
        input.pause();
        process.stderr.write('\n');
        if (error === undefined) resolve(line);
        else reject(error);
      };
      const consume = (text: string): void => {
        for (let i = 0; i < text.length && !finished; i++) {
          const c = text[i] as string;
          if (c === '\r' || c === '\n') {
            pending = text.slice(i + 1);
            finish();
          } else if (c === '\u0003') {
            finish(new VouchError('invalid-argument', 'cancelled at the passphrase prompt'));
          } else if (c === '\u0004') {
            if (line === '') finish(new VouchError('invalid-argument', 'no passphrase entered'));
          } else if (c === '\u007f' || c === '\b') {
            line = Array.from(line).slice(0, -1).join('');
          } else if (c === '\u0015') {
            line = '';
          } else if (c >= ' ') {
            line += c;
          }
        }
      };
      const onData = (chunk: Uint8Array): void => consume(decoder.decode(chunk, { stream: true }));
      // Raw mode first: a key typed before it would be echoed, and Ctrl-C would kill the process
      // with the terminal possibly left in raw mode.
      input.setRawMode(true);
      process.stderr.write(prompt);
      const typedAhead = pending;
      pending = '';
      consume(typedAhead);
      if (finished) return;
      input.on('data', onData);
      input.resume();
    });
}

/**
 * readInput reads a named file, or standard input when `path` is undefined or `-`, bounded by
 * `limit`: a file is measured before it is read, and reading stops one byte past the limit (a
 * file growing meanwhile, or a device reporting no size, cannot make it read more).
 */
export async function readInput(path: string | undefined, io: CliIo, limit: number): Promise<Uint8Array> {
  if (path === undefined || path === '-') return io.readStdin(limit);
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > limit) throw tooLarge(`input file ${path}`, limit);
    let buffer = new Uint8Array(Math.min(limit, Math.max(size, 64 * 1024)) + 1);
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) {
        if (filled > limit) throw tooLarge(`input file ${path}`, limit);
        const grown = new Uint8Array(Math.min(limit + 1, buffer.length * 2));
        grown.set(buffer);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > limit) throw tooLarge(`input file ${path}`, limit);
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Subcommand runs one `vouch <command> <subcommand>` with the arguments after it. */
export type Subcommand = (args: readonly string[], io: CliIo) => Promise<number>;

/**
 * runSubcommand dispatches `args[0]` to its entry in `table`; a missing or unknown subcommand
 * prints the command's usage on standard error and exits 2.
 */
export function runSubcommand(
  args: readonly string[],
  io: CliIo,
  usage: string,
  table: Readonly<Record<string, Subcommand>>,
): Promise<number> {
  const [name, ...rest] = args;
  const subcommand = name === undefined || !Object.hasOwn(table, name) ? undefined : table[name];
  if (subcommand === undefined) {
    io.stderr(usage);
    return Promise.resolve(exitCodes.usage);
  }
  return subcommand(rest, io);
}

/** jsonLogger returns a logger writing one JSON line per message to standard error, as servers log. */
export function jsonLogger(io: CliIo): (message: string) => void {
  return (message) => io.stderr(`${JSON.stringify({ time: new Date().toISOString(), msg: message })}\n`);
}

/**
 * untilStopped resolves on the first SIGINT or SIGTERM, so a server command can shut down
 * gracefully: stop accepting, finish open requests, close its stores.
 */
export function untilStopped(): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
