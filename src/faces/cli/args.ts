/**
 * Command-line parsing shared by every `vouch` command: node:util `parseArgs` in strict mode,
 * with its errors turned into one-line `invalid-argument` errors that name the command and its
 * synopsis (exit 2), instead of Node's internal error codes.
 */

import { parseArgs } from 'node:util';
import { describeUntrusted, VouchError } from '../../core/errors.ts';

/** OptionSpec declares a command's options, as node:util parseArgs takes them. */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/** ParsedArgs are the values (string, boolean or repeated strings) and the positionals. */
export interface ParsedArgs {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

/**
 * parseCommandLine parses `args` against `options` (plus `--help`/`-h`), or throws an
 * `invalid-argument` error naming `command` and `synopsis`.
 */
export function parseCommandLine(
  command: string,
  synopsis: string,
  args: readonly string[],
  options: OptionSpec,
  allowPositionals = false,
): ParsedArgs {
  try {
    const parsed = parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals,
    });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw error;
    const message = (error as Error).message;
    const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
    const option = quote(quoted.split(' ')[0] ?? '');
    const what =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown option ${quote(quoted)}`
        : code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
          ? `unexpected argument ${quote(quoted)}`
          : /does not take an argument/.test(message)
            ? `option ${option} takes no value`
            : `option ${option} needs a value`;
    throw new VouchError('invalid-argument', `${command}: ${what} (usage: ${synopsis})`);
  }
}

/** required returns a non-empty string option, or throws `invalid-argument` naming the flag. */
export function required(command: string, synopsis: string, value: unknown, flag: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new VouchError('invalid-argument', `${command}: missing ${flag} (usage: ${synopsis})`);
  }
  return value;
}

/** repeated returns a repeatable string option's values, requiring at least one. */
export function repeated(command: string, synopsis: string, value: unknown, flag: string): string[] {
  const list = Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string' && v !== '')
    : [];
  if (list.length === 0)
    throw new VouchError('invalid-argument', `${command}: missing ${flag} (usage: ${synopsis})`);
  return list;
}

/** quote renders untrusted text for an error message: sanitised, shortened and quoted. */
export function quote(text: string): string {
  return JSON.stringify(describeUntrusted(text));
}

/** parseListen splits `HOST:PORT` (an IPv6 host in brackets) for a server's `--listen`. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) {
    throw new VouchError('invalid-argument', `--listen must be HOST:PORT, not ${quote(listen)}`);
  }
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}
