/**
 * The demo's runner: it runs the real `vouch` command line as a user would (`process.execPath`
 * with bin/vouch.js, in the data folder), keeps the transcript (every command and its output) in
 * DIR/demo.log, narrates one numbered line per step on the terminal, and stops at the first step
 * that misbehaves with a {@link DemoFailure} naming the step, the command and its output tail.
 *
 * Servers the story starts (`vouch witness serve`, `log serve`, ...) are child processes too; the
 * runner reads the address each one prints and stops them all at the end. The children share a
 * Node compile cache inside the data folder (DIR/.cache), which halves the start-up time of each
 * command after the first.
 *
 * It does not decide what the story is (./story.ts) nor check what a command printed beyond its
 * exit status: each step does its own checks and calls {@link Demo.fail}.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** vouchRoot is the folder holding bin/, examples/ and policies/ (the same from src/ and dist/). */
export const vouchRoot = resolve(import.meta.dirname, '..', '..', '..', '..');

/** DemoFailure is a step that misbehaved: what was expected, and the command and output that showed it. */
export class DemoFailure extends Error {
  readonly command: string | undefined;
  readonly output: string;
  constructor(message: string, command?: string, output = '') {
    super(message);
    this.name = 'DemoFailure';
    this.command = command;
    this.output = output;
  }
}

/** CommandResult is one finished `vouch` command. */
export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** output is standard output then standard error, as the transcript shows them. */
  readonly output: string;
}

/** VouchCall is one command to run: its arguments, the exit status it must end with, and whether its output goes to the transcript. */
export interface VouchCall {
  readonly args: readonly string[];
  readonly expectExit?: number;
  readonly quiet?: boolean;
}

/** DemoOutput is where the runner writes the transcript and whether it echoes it. */
export interface DemoOutput {
  /** transcriptFile is DIR/demo.log, created (truncated) by the runner. */
  readonly transcriptFile: string;
  /** echo, when set, also receives every transcript line (`--verbose`). */
  readonly echo?: (text: string) => void;
}

/** maxConcurrentCommands bounds the commands {@link Demo.vouchAll} runs side by side (2 cores). */
const maxConcurrentCommands = 4;

/** serverStartMs bounds how long a server may take to print its address. */
const serverStartMs = 30_000;

/** Shared is what a demo and its background forks share: environment, children, transcript. */
interface Shared {
  readonly env: NodeJS.ProcessEnv;
  /** servers are the long-running children, stopped at close. */
  readonly servers: ChildProcess[];
  /** running are the commands not yet finished, killed at close (a failed story leaves some). */
  readonly running: Set<ChildProcess>;
  readonly fd: number;
  readonly echo: ((text: string) => void) | undefined;
}

/** Background is work started early in a fork of the demo; see {@link Demo.background}. */
export interface Background<T> {
  /** settled resolves when the work has finished, whether it succeeded or not. */
  readonly settled: Promise<unknown>;
  /** join waits for the work, writes its transcript here, and returns its result or throws its failure. */
  join(demo: Demo): Promise<T>;
}

/**
 * Demo runs commands in the data folder `dir` and keeps the transcript. Call {@link Demo.close}
 * at the end, whatever happened: it stops the servers and closes the transcript.
 */
export class Demo {
  readonly dir: string;
  readonly vouchJs = join(vouchRoot, 'bin', 'vouch.js');
  readonly #shared: Shared;
  /** #buffer, in a fork, holds the transcript until the work is joined. */
  readonly #buffer: string[] | undefined;
  /** #lastCommand is the last command run, shown when a step fails outside a command. */
  #lastCommand: { command: string; output: string } | undefined;

  constructor(dir: string, output: DemoOutput);
  constructor(dir: string, output: Shared, buffer: string[]);
  constructor(dir: string, output: DemoOutput | Shared, buffer?: string[]) {
    this.dir = dir;
    this.#buffer = buffer;
    if ('fd' in output) {
      this.#shared = output;
      return;
    }
    const env: NodeJS.ProcessEnv = { ...process.env, VOUCH_PASSPHRASE: '' };
    delete env.DATABASE_URL;
    env.NODE_COMPILE_CACHE ??= join(dir, '.cache', 'node-compile');
    this.#shared = {
      env,
      servers: [],
      running: new Set(),
      fd: openSync(output.transcriptFile, 'w', 0o644),
      echo: output.echo,
    };
  }

  /** log appends text to the transcript (and echoes it with `--verbose`). */
  log(text: string): void {
    if (this.#buffer !== undefined) {
      this.#buffer.push(text);
      return;
    }
    writeSync(this.#shared.fd, text);
    this.#shared.echo?.(text);
  }

  /**
   * background starts `work` now, in a fork of this demo whose transcript is held back, so that
   * slow independent commands (sandboxed builds) run while earlier steps go on. The step that
   * needs the result joins it: the held transcript is written there, and a failure is thrown
   * there. `after`, when given, is waited for first (to chain background work in order).
   */
  background<T>(work: (demo: Demo) => Promise<T>, after?: Background<unknown>): Background<T> {
    const buffer: string[] = [];
    const fork = new Demo(this.dir, this.#shared, buffer);
    const settled = (async () => {
      if (after !== undefined) await after.settled;
      return work(fork);
    })().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    let joined = false;
    return {
      settled,
      join: async (demo: Demo): Promise<T> => {
        const outcome = await settled;
        if (!joined) {
          joined = true;
          demo.log('  (these commands ran in the background while earlier steps went on)\n');
          for (const text of buffer) demo.log(text);
        }
        if (!outcome.ok) throw outcome.error;
        return outcome.value;
      },
    };
  }

  /** say writes a heading to the transcript, as quickstart printed them. */
  say(text: string): void {
    this.log(`\n# ${text}\n`);
  }

  /** path resolves a path inside the data folder. */
  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /**
   * vouch runs one command and writes it and its output to the transcript. It throws a
   * {@link DemoFailure} when the exit status is not `expectExit` (default 0); it returns stdout.
   */
  async vouch(args: readonly string[], expectExit = 0, options: { quiet?: boolean } = {}): Promise<string> {
    const [result] = await this.vouchAll([{ args, expectExit, ...options }]);
    return (result as CommandResult).stdout;
  }

  /**
   * vouchAll runs independent commands side by side (at most four at once), then writes each to
   * the transcript in the order given and checks their exit statuses in that order. It returns
   * their results.
   */
  async vouchAll(calls: readonly VouchCall[]): Promise<CommandResult[]> {
    const results: CommandResult[] = new Array(calls.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < calls.length) {
        const i = next++;
        results[i] = await this.#spawn((calls[i] as VouchCall).args);
      }
    };
    await Promise.all(Array.from({ length: Math.min(maxConcurrentCommands, calls.length) }, worker));
    for (const [i, call] of calls.entries()) {
      const result = results[i] as CommandResult;
      const command = `vouch ${shorten(call.args)}`;
      this.log(`$ ${command}\n`);
      const output = result.output;
      if (call.quiet !== true) this.log(output);
      this.#lastCommand = { command, output };
      const expectExit = call.expectExit ?? 0;
      if (result.status !== expectExit) {
        if (call.quiet === true) this.log(output);
        const how = result.status === null ? 'was killed' : `exited ${result.status}`;
        throw new DemoFailure(`expected exit ${expectExit}, but it ${how}`, command, output);
      }
    }
    return results;
  }

  #spawn(args: readonly string[]): Promise<CommandResult> {
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, [this.vouchJs, ...args], {
        cwd: this.dir,
        env: this.#shared.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.#shared.running.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      child.once('error', fail);
      child.once('close', (status) => {
        this.#shared.running.delete(child);
        done({ status, stdout, stderr, output: stdout + stderr });
      });
    });
  }

  /**
   * serve starts a server command (which must print `serving ... at URL` on standard error) and
   * returns its URL. Its log keeps being drained so it never blocks; it is stopped by close.
   */
  serve(args: readonly string[]): Promise<string> {
    const command = `vouch ${shorten(args)} &`;
    const child = spawn(process.execPath, [this.vouchJs, ...args], {
      cwd: this.dir,
      env: this.#shared.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#shared.servers.push(child);
    let seen = '';
    return new Promise((done, fail) => {
      const stop = (error: DemoFailure): void => {
        clearTimeout(timer);
        child.stderr?.off('data', watch);
        child.off('exit', exited);
        this.log(`$ ${command}\n${seen}`);
        fail(error);
      };
      const timer = setTimeout(
        () =>
          stop(new DemoFailure(`the server did not start within ${serverStartMs / 1000} s`, command, seen)),
        serverStartMs,
      );
      const exited = (status: number | null): void =>
        stop(new DemoFailure(`the server exited ${status} before serving`, command, seen));
      const watch = (chunk: Buffer): void => {
        seen += chunk.toString();
        const match = /serving [^\n]* at (http:\/\/[^\s"]+\/)/.exec(seen);
        if (match === null) return;
        clearTimeout(timer);
        child.stderr?.off('data', watch);
        child.off('exit', exited);
        child.stderr?.resume();
        this.log(`$ ${command}\n  serving at ${match[1]}\n`);
        done(match[1] as string);
      };
      child.stderr?.on('data', watch);
      child.once('exit', exited);
    });
  }

  /** expect fails the step with `message` unless `text` matches `pattern`; it returns the match. */
  expect(text: string, pattern: RegExp, message: string): RegExpExecArray {
    const match = pattern.exec(text);
    if (match === null) this.fail(message);
    return match;
  }

  /** fail stops the story: the current step misbehaved, for the reason given. */
  fail(message: string): never {
    this.log(`demo: ${message}\n`);
    throw new DemoFailure(message, this.#lastCommand?.command, this.#lastCommand?.output ?? '');
  }

  /**
   * close stops every server and every command still running (SIGTERM, waiting until each has
   * exited) and closes the transcript.
   */
  async close(): Promise<void> {
    const { servers, running } = this.#shared;
    await Promise.all(
      [...servers, ...running].map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(force);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    servers.length = 0;
    closeSync(this.#shared.fd);
  }
}

/** shorten shows a command line with long arguments (keys, tokens) cut, as the transcript prints it. */
function shorten(args: readonly string[]): string {
  return args.map((a) => (a.length > 72 ? `${a.slice(0, 40)}...` : a)).join(' ');
}
