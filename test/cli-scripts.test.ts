/**
 * Script tests for the `vouch` command line, after litewitness's `testdata/*.txt` and Go's
 * testscript. Each `test/scripts/NAME.txt` is one test: it runs in a fresh temporary directory
 * (which is also the working directory), and its commands run `vouch` in-process through
 * `runCli` with a captured {@link CliIo}, so a script is fast and sees exactly what a user would.
 *
 * The language, one command per line:
 *
 *   # comment                  blank lines and lines starting with # are ignored
 *   vouch ARGS...              run vouch; it must exit 0
 *   ! vouch ARGS...            run vouch; it must exit non-zero
 *   exitcode N                 the last vouch exited with exactly N
 *   stdout REGEXP              the last vouch's standard output matches REGEXP
 *   stderr REGEXP              the same for standard error (`! stderr .` means it was empty)
 *   env NAME=VALUE             set a variable for later vouch runs and for $NAME (empty VALUE unsets)
 *   stdin FILE                 the next vouch reads FILE as standard input
 *   tty FILE                   the next vouch runs at a "terminal": each passphrase prompt is
 *                              written to stderr and answered with the next line of FILE
 *   cmp FILE1 FILE2            the files are byte-identical; `stdout` and `stderr` name the
 *                              last vouch's output
 *   cp FILE1 FILE2             copy a file (or stdout/stderr) to FILE2
 *   exists FILE...             the files exist (`! exists` that none does)
 *   chmod MODE FILE            set FILE's permission bits (octal)
 *   mode MODE FILE             FILE's permission bits are exactly MODE (octal)
 *
 * A `!` before stdout, stderr, cmp or exists negates it. Arguments are separated by spaces; a
 * 'single-quoted' argument keeps its spaces and backslashes ('' inside is a quote). Outside
 * quotes, $NAME and ${NAME} expand to the script's variables; WORK is the temporary directory.
 * Regular expressions are JavaScript ones in multiline mode, so ^ and $ match at line breaks.
 * The environment vouch sees holds only the script's variables, never the real one's.
 *
 * After the commands, files may follow in txtar form: a line `-- NAME --` starts a file whose
 * content is every following line up to the next marker, each ending in a newline. They are
 * written (mode 0644) before the first command runs.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { tooLarge, VouchError } from '../src/core/errors.ts';
import type { CliIo } from '../src/faces/cli/io.ts';
import { runCli } from '../src/faces/cli/main.ts';

const scriptsDir = join(import.meta.dirname, 'scripts');

interface ScriptLine {
  readonly number: number;
  readonly text: string;
}

interface Script {
  readonly lines: readonly ScriptLine[];
  readonly files: ReadonlyMap<string, string>;
}

/** parseScript splits a script into its command lines and its txtar files. */
function parseScript(text: string): Script {
  const lines: ScriptLine[] = [];
  const files = new Map<string, string>();
  let file: string | undefined;
  text.split('\n').forEach((raw, index) => {
    const marker = /^-- (\S.*?) --$/.exec(raw);
    if (marker !== null) {
      file = marker[1] as string;
      assert.ok(!files.has(file), `file ${file} appears twice`);
      files.set(file, '');
    } else if (file !== undefined) {
      files.set(file, `${files.get(file) ?? ''}${raw}\n`);
    } else {
      const trimmed = raw.trim();
      if (trimmed !== '' && !trimmed.startsWith('#')) lines.push({ number: index + 1, text: trimmed });
    }
  });
  // The split leaves an empty last element for a file ending in a newline; it is no line.
  if (file !== undefined && text.endsWith('\n')) files.set(file, (files.get(file) ?? '').slice(0, -1));
  return { lines, files };
}

/** splitWords splits a command line into words, with quoting and $ expansion as documented above. */
function splitWords(line: string, vars: ReadonlyMap<string, string>): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      let quoted = '';
      for (i++; ; i++) {
        assert.ok(i < line.length, 'unterminated quote');
        if (line[i] === "'") {
          if (line[i + 1] !== "'") break;
          i++;
        }
        quoted += line[i];
      }
      word = (word ?? '') + quoted;
    } else if (c === '$') {
      const match = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(line.slice(i));
      if (match === null) {
        word = `${word ?? ''}$`;
      } else {
        word = (word ?? '') + (vars.get(match[1] ?? match[2] ?? '') ?? '');
        i += match[0].length - 1;
      }
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

interface LastRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** ScriptRunner executes one script's commands in its work directory. */
class ScriptRunner {
  readonly work: string;
  readonly vars = new Map<string, string>();
  readonly #transcript: string[] = [];
  #last: LastRun | undefined;
  #stdin: Uint8Array | undefined;
  #tty: string[] | undefined;

  constructor(work: string) {
    this.work = work;
    this.vars.set('WORK', work);
    this.vars.set('HOME', work);
  }

  get transcript(): string {
    return this.#transcript.join('\n');
  }

  path(name: string): string {
    return resolve(this.work, name);
  }

  async run(line: ScriptLine): Promise<void> {
    this.#transcript.push(`> ${line.text}`);
    let words = splitWords(line.text, this.vars);
    const negate = words[0] === '!';
    if (negate) words = words.slice(1);
    const [command, ...args] = words;
    switch (command) {
      case 'vouch':
        return this.vouch(args, negate);
      case 'exitcode':
        this.noNegate(negate, command);
        assert.equal(this.last().exitCode, Number(this.one(args)), 'exit code');
        return;
      case 'stdout':
      case 'stderr': {
        const output = this.last()[command];
        const matches = new RegExp(this.one(args), 'm').test(output);
        assert.ok(matches !== negate, `${command} ${negate ? 'matches' : 'does not match'} ${args[0]}`);
        return;
      }
      case 'env': {
        this.noNegate(negate, command);
        const [name, value] = splitOnce(this.one(args), '=');
        if (value === '') this.vars.delete(name);
        else this.vars.set(name, value);
        return;
      }
      case 'stdin':
        this.noNegate(negate, command);
        this.#stdin = new Uint8Array(await readFile(this.path(this.one(args))));
        return;
      case 'tty': {
        this.noNegate(negate, command);
        const text = await readFile(this.path(this.one(args)), 'utf8');
        this.#tty = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
        return;
      }
      case 'cmp': {
        const [a, b] = this.two(args);
        const same = Buffer.compare(await this.read(a), await this.read(b)) === 0;
        assert.ok(same !== negate, `${a} and ${b} ${negate ? 'are identical' : 'differ'}`);
        return;
      }
      case 'cp': {
        this.noNegate(negate, command);
        const [from, to] = this.two(args);
        if (from === 'stdout' || from === 'stderr') await writeFile(this.path(to), this.last()[from]);
        else await copyFile(this.path(from), this.path(to));
        return;
      }
      case 'exists':
        assert.ok(args.length > 0, 'exists needs a file');
        for (const name of args) {
          const found = await stat(this.path(name)).then(
            () => true,
            () => false,
          );
          assert.ok(found !== negate, `${name} ${negate ? 'exists' : 'does not exist'}`);
        }
        return;
      case 'chmod': {
        this.noNegate(negate, command);
        const [mode, name] = this.two(args);
        await chmod(this.path(name), parseMode(mode));
        return;
      }
      case 'mode': {
        this.noNegate(negate, command);
        const [mode, name] = this.two(args);
        const actual = (await stat(this.path(name))).mode & 0o777;
        assert.equal(actual.toString(8).padStart(4, '0'), parseMode(mode).toString(8).padStart(4, '0'));
        return;
      }
      default:
        assert.fail(`unknown command ${String(command)}`);
    }
  }

  async vouch(args: readonly string[], negate: boolean): Promise<void> {
    let stdout = '';
    let stderr = '';
    const stdin = this.#stdin ?? new Uint8Array(0);
    const answers = this.#tty;
    this.#stdin = undefined;
    this.#tty = undefined;
    const io: CliIo = {
      env: Object.fromEntries(this.vars),
      stdinIsTerminal: answers !== undefined,
      async readStdin(limit: number): Promise<Uint8Array> {
        if (stdin.length > limit) throw tooLarge('standard input', limit);
        return stdin;
      },
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      ...(answers === undefined
        ? {}
        : {
            readSecret: async (prompt: string): Promise<string> => {
              stderr += prompt;
              const answer = answers.shift();
              // Like Ctrl-D at the prompt, which the real terminal reader reports this way.
              if (answer === undefined) throw new VouchError('invalid-argument', 'no passphrase entered');
              stderr += '\n';
              return answer;
            },
          }),
    };
    const exitCode = await runCli(args, io);
    this.#last = { exitCode, stdout, stderr };
    for (const [name, text] of [
      ['stdout', stdout],
      ['stderr', stderr],
    ] as const) {
      if (text !== '') this.#transcript.push(`[${name}]\n${text.replace(/\n$/, '')}`);
    }
    this.#transcript.push(`[exit ${exitCode}]`);
    if (negate) assert.notEqual(exitCode, 0, 'vouch succeeded unexpectedly');
    else assert.equal(exitCode, 0, 'vouch failed unexpectedly');
  }

  last(): LastRun {
    assert.ok(this.#last !== undefined, 'no vouch command has run yet');
    return this.#last;
  }

  async read(name: string): Promise<Buffer> {
    if (name === 'stdout' || name === 'stderr') return Buffer.from(this.last()[name]);
    return readFile(this.path(name));
  }

  one(args: readonly string[]): string {
    assert.equal(args.length, 1, 'expected one argument');
    return args[0] as string;
  }

  two(args: readonly string[]): [string, string] {
    assert.equal(args.length, 2, 'expected two arguments');
    return [args[0] as string, args[1] as string];
  }

  noNegate(negate: boolean, command: string): void {
    assert.ok(!negate, `${command} cannot be negated`);
  }
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  assert.ok(at > 0, `expected NAME${separator}VALUE`);
  return [text.slice(0, at), text.slice(at + 1)];
}

function parseMode(text: string): number {
  assert.match(text, /^0?[0-7]{3}$/, 'mode must be octal');
  return Number.parseInt(text, 8);
}

/** runScript runs one script file in a fresh directory, which is the working directory meanwhile. */
async function runScript(path: string): Promise<void> {
  const script = parseScript(readFileSync(path, 'utf8'));
  const work = await mkdtemp(join(tmpdir(), 'vouch-script-'));
  const previous = process.cwd();
  const runner = new ScriptRunner(work);
  try {
    for (const [name, content] of script.files) {
      const target = runner.path(name);
      assert.equal(dirname(target), work, `file ${name} must be in the work directory`);
      await writeFile(target, content, { mode: 0o644 });
    }
    process.chdir(work);
    for (const line of script.lines) {
      try {
        await runner.run(line);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        assert.fail(`${path}:${line.number}: ${line.text}\n${message}\n\ntranscript:\n${runner.transcript}`);
      }
    }
  } finally {
    process.chdir(previous);
    await rm(work, { recursive: true, force: true });
  }
}

const scripts = readdirSync(scriptsDir)
  .filter((name) => name.endsWith('.txt'))
  .sort();

test('there are scripts to run', () => {
  assert.ok(scripts.length > 0);
});

for (const name of scripts) {
  test(`script ${name}`, () => runScript(join(scriptsDir, name)));
}

test('the harness itself: words, quoting and expansion', () => {
  const vars = new Map([
    ['A', 'x y'],
    ['WORK', '/tmp/w'],
  ]);
  const rows: { line: string; words: string[] }[] = [
    { line: 'vouch key show k.key', words: ['vouch', 'key', 'show', 'k.key'] },
    { line: "stdout 'a b'  c", words: ['stdout', 'a b', 'c'] },
    { line: "x 'it''s' '' q", words: ['x', "it's", '', 'q'] },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the script language's own ${NAME} syntax
    { line: 'x $WORK/k ${A}z $NOPE. $', words: ['x', '/tmp/w/k', 'x yz', '.', '$'] },
    { line: "x '$WORK'", words: ['x', '$WORK'] },
    { line: "x a'b c'd", words: ['x', 'ab cd'] },
  ];
  for (const row of rows) assert.deepEqual(splitWords(row.line, vars), row.words, row.line);
  const script = parseScript('# c\nvouch a\n\n  ! stdout .\n-- f.txt --\none\ntwo\n-- g --\n');
  assert.deepEqual(
    script.lines.map((l) => [l.number, l.text]),
    [
      [2, 'vouch a'],
      [4, '! stdout .'],
    ],
  );
  assert.deepEqual(
    [...script.files],
    [
      ['f.txt', 'one\ntwo\n'],
      ['g', ''],
    ],
  );
});

test('the harness itself: a failing expectation fails the script', async () => {
  const work = await mkdtemp(join(tmpdir(), 'vouch-script-'));
  try {
    const runner = new ScriptRunner(work);
    await assert.rejects(runner.run({ number: 1, text: 'vouch no-such-command' }), /failed unexpectedly/);
    await runner.run({ number: 2, text: 'exitcode 2' });
    await assert.rejects(runner.run({ number: 3, text: '! stderr unknown' }), /matches/);
    await assert.rejects(runner.run({ number: 4, text: 'stdout .' }), /does not match/);
    await assert.rejects(runner.run({ number: 5, text: 'frobnicate' }), /unknown command/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
