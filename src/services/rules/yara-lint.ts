/**
 * The atom check of `vouch rules compile`: every pattern (string) of every YARA rule must contain
 * a good fixed atom, a run of at least {@link minAtomBytes} consecutive fixed bytes that every
 * match contains and that is not made only of filler bytes (00, 20, 90, CC, FF). YARA and YARA-X
 * find candidate matches by searching for such atoms with Aho-Corasick and verify only around the
 * hits (https://virustotal.github.io/yara-x/docs/writing_rules/performance/); a pattern without
 * one is verified at almost every offset of every file, so one bad rule slows a whole scan down.
 *
 * Two sources are combined, and a pattern named by either is reported:
 * - YARA-X's own `slow_pattern` warnings (atoms shorter than 2 bytes, too many 2-byte atoms,
 *   repeated common bytes), taken from the warnings that rules/yara.ts `compileYara` returns and
 *   mapped back to the rule and pattern by their `line:L:C` position;
 * - this module's reading of the source, because YARA-X 1.20.0 does not warn about patterns that
 *   are all wildcards or have a single fixed byte (measured on 8 MiB of pseudo-random bytes:
 *   `{ ?? ?? }`, `/.{4}/s` and `/[\x00-\xff]{4}/` take about 8.5 s, `{ 4D ?? }` 280 ms, a pattern
 *   with a good atom 10 ms). A text pattern needs 2 bytes (after escapes, before modifiers); a hex
 *   pattern a run of 2 fully specified bytes outside jumps, wildcards and `~` (or every
 *   alternative of a group must have one); a regular expression a run of 2 literal bytes on its
 *   main path (or in every alternative of a group that must occur), where `.`, classes, escapes
 *   such as `\d`, anchors and quantified items break the run. This is stricter than the engines:
 *   `{ 4D ?? 5A }` and `/[a-z]{2}/` are refused although YARA-X finds masked atoms for them.
 *
 * The reader is a small lexer for what surrounds patterns (comments, string literals, `meta:`,
 * `strings:` and `condition:` sections, regular expressions), run only on files
 * YARA-X has already compiled; a file it cannot follow is reported, never skipped. It does not
 * judge conditions: a rule without strings (`condition: filesize < 10`) has no atom to check, and
 * YARA-X's slow-loop warnings stay warnings. LIMIT: anchored patterns (`$a at 0`) are not exempt,
 * although the engines do not search for them; `uint16(0) == 0x5A4D` is the fast way to write
 * such a test. The module does not import the YARA-X package (rules/yara.ts stays its only
 * importer) and does no I/O.
 */

import { toBytes, toText } from '../../core/bytes/index.ts';
import { describeUntrusted } from '../../core/errors.ts';
import type { YaraWarning } from './yara.ts';

/** minAtomBytes is the shortest good fixed atom, as YARA-X's own slow-pattern threshold. */
export const minAtomBytes = 2;

/** SlowPattern is one YARA pattern that lacks a good fixed atom. */
export interface SlowPattern {
  /** file is the `.yar` file name. */
  readonly file: string;
  /** line is the 1-based line of the pattern (or of the problem), 0 when unknown. */
  readonly line: number;
  /** rule is the rule's identifier, `''` when it could not be told. */
  readonly rule: string;
  /** pattern is the pattern's identifier such as `$a`, `''` when it could not be told. */
  readonly pattern: string;
  /** reason says why the pattern is slow. */
  readonly reason: string;
}

/** fillerBytes are bytes so common in files that an atom made only of them hits everywhere. */
const fillerBytes = new Set([0x00, 0x20, 0x90, 0xcc, 0xff]);

/** maxGroupDepth bounds the nesting of groups in one pattern, so a hostile one cannot exhaust the stack. */
const maxGroupDepth = 64;

/** PatternCursor is the position in a pattern body and the group depth there. */
interface PatternCursor {
  at: number;
  depth: number;
}

/** enterGroup counts one more nested group, refusing (as a finding) more than {@link maxGroupDepth}. */
function enterGroup(state: PatternCursor): void {
  if (++state.depth > maxGroupDepth) throw new LexError(`groups nest deeper than ${maxGroupDepth}`, state.at);
}

/** isGoodRun reports whether a run of fixed bytes is a good atom. */
function isGoodRun(run: readonly number[]): boolean {
  return run.length >= minAtomBytes && run.some((b) => !fillerBytes.has(b));
}

type PatternKind = 'text' | 'hex' | 'regex';

interface PatternSource {
  readonly id: string;
  /** offset is where the pattern's `$` is; end is just past its value. */
  readonly offset: number;
  readonly end: number;
  readonly kind: PatternKind;
  /** body is the text between the delimiters. */
  readonly body: string;
}

interface RuleSource {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly patterns: PatternSource[];
}

/** LexError is this module's own failure to follow a file, reported as a finding. */
class LexError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

const identStart = /[A-Za-z_]/;
const identChar = /[A-Za-z0-9_]/;

/** Lexer walks YARA source just far enough to find rules and their patterns. */
class Lexer {
  readonly text: string;
  at = 0;

  constructor(text: string) {
    this.text = text;
  }

  peek(ahead = 0): string {
    return this.text[this.at + ahead] ?? '';
  }

  fail(message: string): never {
    throw new LexError(message, this.at);
  }

  /** skipTrivia skips white space and comments. */
  skipTrivia(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') this.at++;
      else if (c === '/' && this.peek(1) === '/') {
        const end = this.text.indexOf('\n', this.at);
        this.at = end < 0 ? this.text.length : end + 1;
      } else if (c === '/' && this.peek(1) === '*') {
        const end = this.text.indexOf('*/', this.at + 2);
        if (end < 0) this.fail('unterminated comment');
        this.at = end + 2;
      } else return;
    }
  }

  /** word reads an identifier (or keyword) at the cursor, or returns '' if there is none. */
  word(): string {
    if (!identStart.test(this.peek())) return '';
    const start = this.at;
    while (identChar.test(this.peek())) this.at++;
    return this.text.slice(start, this.at);
  }

  /** nextIs reports whether the next non-trivia character is `c`, without consuming anything. */
  nextIs(c: string): boolean {
    const saved = this.at;
    this.skipTrivia();
    const result = this.peek() === c;
    this.at = saved;
    return result;
  }

  /** quoted reads a `"..."` literal and returns its body (escapes kept). */
  quoted(): string {
    const start = ++this.at;
    for (;;) {
      const c = this.peek();
      if (c === '' || c === '\n') this.fail('unterminated string literal');
      if (c === '\\') this.at += 2;
      else if (c === '"') break;
      else this.at++;
    }
    return this.text.slice(start, this.at++);
  }

  /** regex reads a `/.../flags` literal and returns its body. */
  regex(): string {
    const start = ++this.at;
    for (;;) {
      const c = this.peek();
      if (c === '' || c === '\n') this.fail('unterminated regular expression');
      if (c === '\\') this.at += 2;
      else if (c === '/') break;
      else this.at++;
    }
    const body = this.text.slice(start, this.at++);
    while (/[a-z]/.test(this.peek())) this.at++;
    return body;
  }

  /** hex reads a `{ ... }` hex pattern and returns its body. */
  hex(): string {
    const start = ++this.at;
    for (;;) {
      this.skipTrivia();
      const c = this.peek();
      if (c === '') this.fail('unterminated hex pattern');
      if (c === '}') break;
      this.at++;
    }
    return this.text.slice(start, this.at++);
  }

  /** section reads `NAME:` if the cursor is on one of the rule section keywords. */
  section(): string {
    const saved = this.at;
    const name = this.word();
    if ((name === 'meta' || name === 'strings' || name === 'condition') && this.nextIs(':')) {
      this.skipTrivia();
      this.at++;
      return name;
    }
    this.at = saved;
    return '';
  }

  /** rules reads the whole file. */
  rules(): RuleSource[] {
    const out: RuleSource[] = [];
    for (;;) {
      this.skipTrivia();
      const c = this.peek();
      if (c === '') return out;
      if (c === '"') {
        this.quoted();
        continue;
      }
      const start = this.at;
      const w = this.word();
      if (w === 'rule') out.push(this.rule(start));
      else if (w === '') this.fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }

  rule(start: number): RuleSource {
    this.skipTrivia();
    const name = this.word();
    if (name === '') this.fail('rule without a name');
    // Tags, if any, up to the opening brace.
    for (;;) {
      this.skipTrivia();
      const c = this.peek();
      if (c === '{') break;
      if (c === ':') this.at++;
      else if (this.word() === '') this.fail(`unexpected character ${JSON.stringify(c)} in rule header`);
    }
    this.at++;
    const patterns: PatternSource[] = [];
    let section = '';
    for (;;) {
      this.skipTrivia();
      const next = this.section();
      if (next !== '') {
        section = next;
        continue;
      }
      const c = this.peek();
      if (c === '') this.fail(`rule ${name} is not closed`);
      if (section === 'strings') patterns.push(this.pattern());
      else if (section === 'condition') {
        if (this.condition()) return { name, start, end: this.at, patterns };
      } else if (section === 'meta') this.metaToken();
      else this.fail(`unexpected ${JSON.stringify(c)} in rule ${name}`);
    }
  }

  metaToken(): void {
    if (this.peek() === '"') this.quoted();
    else if (this.word() === '') this.at++;
  }

  pattern(): PatternSource {
    const offset = this.at;
    if (this.peek() !== '$') this.fail('expected a pattern identifier');
    this.at++;
    while (identChar.test(this.peek())) this.at++;
    const id = this.text.slice(offset, this.at);
    this.skipTrivia();
    if (this.peek() !== '=') this.fail(`expected = after ${id}`);
    this.at++;
    this.skipTrivia();
    const c = this.peek();
    let kind: PatternKind;
    let body: string;
    if (c === '"') [kind, body] = ['text', this.quoted()];
    else if (c === '{') [kind, body] = ['hex', this.hex()];
    else if (c === '/') [kind, body] = ['regex', this.regex()];
    else this.fail(`unexpected ${JSON.stringify(c)} after ${id} =`);
    const end = this.at;
    // Modifiers, some with arguments: xor(1-255), base64("alphabet").
    for (;;) {
      this.skipTrivia();
      const saved = this.at;
      const w = this.word();
      if (w === '') break;
      if (this.nextIs(':')) {
        this.at = saved;
        break;
      }
      if (this.nextIs('(')) {
        this.skipTrivia();
        this.at++;
        for (;;) {
          this.skipTrivia();
          const d = this.peek();
          if (d === '') this.fail(`unterminated modifier ${w}`);
          if (d === ')') break;
          if (d === '"') this.quoted();
          else this.at++;
        }
        this.at++;
      }
    }
    return { id, offset, end, kind, body };
  }

  /**
   * condition consumes one condition token; true when it was the rule's closing brace. A `/`
   * always starts a regular expression here: YARA divides with a backslash.
   */
  condition(): boolean {
    const c = this.peek();
    if (c === '}') {
      this.at++;
      return true;
    }
    if (c === '"') this.quoted();
    else if (c === '/') this.regex();
    else if (this.word() === '') this.at++;
    return false;
  }
}

/** textBytes decodes a text pattern's body (YARA escapes: \" \\ \t \n \r \xHH) to bytes. */
function textBytes(body: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      const code = body.codePointAt(i) ?? 0;
      out.push(...toBytes(String.fromCodePoint(code)));
      if (code > 0xffff) i++;
      continue;
    }
    const e = body[++i] ?? '';
    if (e === 'x') {
      out.push(Number.parseInt(body.slice(i + 1, i + 3), 16) || 0);
      i += 2;
    } else if (e === 'n') out.push(0x0a);
    else if (e === 't') out.push(0x09);
    else if (e === 'r') out.push(0x0d);
    else out.push(e.charCodeAt(0));
  }
  return out;
}

/** checkText returns why a text pattern lacks a good atom, or undefined. */
function checkText(body: string): string | undefined {
  const bytes = textBytes(body);
  if (bytes.length < minAtomBytes)
    return `text pattern is ${bytes.length} byte${bytes.length === 1 ? '' : 's'} long; at least ${minAtomBytes} are needed`;
  if (!isGoodRun(bytes)) return 'text pattern is made only of filler bytes (00, 20, 90, CC, FF)';
  return undefined;
}

/**
 * hexSequence reads a hex pattern body from `state.at` (its start, or after a `(` or `|`) up to
 * the end, a `|` or a `)`, and says whether it has a good atom: a good run of fixed bytes, or a
 * group whose every alternative has one.
 */
function hexSequence(body: string, state: PatternCursor): boolean {
  let run: number[] = [];
  let has = false;
  const flush = () => {
    if (isGoodRun(run)) has = true;
    run = [];
  };
  for (;;) {
    const c = body[state.at] ?? '';
    if (c === '' || c === '|' || c === ')') break;
    if (/\s/.test(c)) state.at++;
    else if (c === '/' && body[state.at + 1] === '/') {
      const end = body.indexOf('\n', state.at);
      state.at = end < 0 ? body.length : end + 1;
    } else if (c === '/' && body[state.at + 1] === '*') {
      const end = body.indexOf('*/', state.at + 2);
      state.at = end < 0 ? body.length : end + 2;
    } else if (c === '[') {
      const end = body.indexOf(']', state.at);
      state.at = end < 0 ? body.length : end + 1;
      flush();
    } else if (c === '(') {
      flush();
      state.at++;
      enterGroup(state);
      let all = hexSequence(body, state);
      while (body[state.at] === '|') {
        state.at++;
        all = hexSequence(body, state) && all;
      }
      state.at++;
      state.depth--;
      if (all) has = true;
    } else if (c === '~') {
      state.at += 3;
      flush();
    } else {
      const pair = body.slice(state.at, state.at + 2);
      state.at += 2;
      if (/^[0-9A-Fa-f]{2}$/.test(pair)) run.push(Number.parseInt(pair, 16));
      else flush();
    }
  }
  flush();
  return has;
}

/** checkHex returns why a hex pattern lacks a good atom, or undefined. */
function checkHex(body: string): string | undefined {
  return hexSequence(body, { at: 0, depth: 0 })
    ? undefined
    : `hex pattern has no ${minAtomBytes} consecutive fixed bytes (other than filler 00, 20, 90, CC, FF) that every match contains`;
}

/** RegexItem is one atom of a regular expression, before its quantifier. */
type RegexItem =
  | { readonly kind: 'bytes'; readonly bytes: readonly number[] }
  | { readonly kind: 'group'; readonly has: boolean }
  | { readonly kind: 'other' };

const escapeBytes: Readonly<Record<string, number>> = {
  n: 0x0a,
  t: 0x09,
  r: 0x0d,
  f: 0x0c,
  v: 0x0b,
  a: 0x07,
};

/** regexAlternation reads alternatives up to the end or a `)`: true when every one has a good atom. */
function regexAlternation(body: string, state: PatternCursor): boolean {
  let all = regexSequence(body, state);
  while (body[state.at] === '|') {
    state.at++;
    all = regexSequence(body, state) && all;
  }
  return all;
}

function regexItem(body: string, state: PatternCursor): RegexItem {
  const c = body[state.at] as string;
  state.at++;
  if (c === '.' || c === '^' || c === '$') return { kind: 'other' };
  if (c === '[') {
    if (body[state.at] === '^') state.at++;
    if (body[state.at] === ']') state.at++;
    while (state.at < body.length && body[state.at] !== ']') state.at += body[state.at] === '\\' ? 2 : 1;
    state.at++;
    return { kind: 'other' };
  }
  if (c === '(') {
    if (body[state.at] === '?') {
      // (?:...) and (?flags:...) are groups; (?flags) only sets flags.
      const m = /^\?[A-Za-z-]*([:)])/.exec(body.slice(state.at));
      state.at += m === null ? 1 : m[0].length;
      if (m?.[1] === ')') return { kind: 'other' };
    }
    enterGroup(state);
    const has = regexAlternation(body, state);
    state.at++;
    state.depth--;
    return { kind: 'group', has };
  }
  if (c === '\\') {
    const e = body[state.at] ?? '';
    state.at++;
    if (e === 'x') {
      const value = Number.parseInt(body.slice(state.at, state.at + 2), 16);
      state.at += 2;
      return Number.isNaN(value) ? { kind: 'other' } : { kind: 'bytes', bytes: [value] };
    }
    const known = escapeBytes[e];
    if (known !== undefined) return { kind: 'bytes', bytes: [known] };
    if (/[A-Za-z0-9]/.test(e)) return { kind: 'other' };
    return { kind: 'bytes', bytes: [...toBytes(e)] };
  }
  const code = body.codePointAt(state.at - 1) ?? 0;
  if (code > 0xffff) state.at++;
  return { kind: 'bytes', bytes: [...toBytes(String.fromCodePoint(code))] };
}

/** regexQuantifier reads a quantifier after an item and returns its minimum, or undefined if none. */
function regexQuantifier(body: string, state: PatternCursor): number | undefined {
  const c = body[state.at];
  let min: number | undefined;
  if (c === '*' || c === '?') min = 0;
  else if (c === '+') min = 1;
  else if (c === '{') {
    const m = /^\{(\d*)(,\d*)?\}/.exec(body.slice(state.at));
    if (m === null || (m[1] === '' && m[2] === undefined)) return undefined;
    min = m[1] === '' ? 0 : Number(m[1]);
    state.at += m[0].length - 1;
  }
  if (min === undefined) return undefined;
  state.at++;
  if (body[state.at] === '?') state.at++;
  return min;
}

function regexSequence(body: string, state: PatternCursor): boolean {
  let run: number[] = [];
  let has = false;
  const flush = () => {
    if (isGoodRun(run)) has = true;
    run = [];
  };
  while (state.at < body.length && body[state.at] !== '|' && body[state.at] !== ')') {
    const item = regexItem(body, state);
    const min = regexQuantifier(body, state);
    if (item.kind === 'bytes' && min === undefined) run.push(...item.bytes);
    else {
      flush();
      if (item.kind === 'group' && item.has && (min === undefined || min >= 1)) has = true;
    }
  }
  flush();
  return has;
}

/** checkRegex returns why a regular expression lacks a good atom, or undefined. */
function checkRegex(body: string): string | undefined {
  const state: PatternCursor = { at: 0, depth: 0 };
  let has = regexAlternation(body, state);
  // A stray `)` is a syntax error YARA-X has already refused; read on for safety.
  while (state.at < body.length) {
    state.at++;
    has = regexAlternation(body, state) && has;
  }
  return has
    ? undefined
    : `regular expression has no ${minAtomBytes} consecutive literal bytes (other than filler 00, 20, 90, CC, FF) that every match contains`;
}

const checks: Readonly<Record<PatternKind, (body: string) => string | undefined>> = {
  text: checkText,
  hex: checkHex,
  regex: checkRegex,
};

/** lineStarts returns the offset of the first character of every line. */
function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

/** position converts an offset to a 1-based line and column. */
function position(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
}

const slowPatternWarning = /^warning\[slow_pattern\]:[^\n]*\n\s*-->\s*[^\n]*?line:(\d+):(\d+)/;

/**
 * findSlowPatterns returns the patterns of `files` (file name → the bytes of a `.yar` file that
 * YARA-X compiled) that lack a good fixed atom, by file name, then line. `warnings` are the
 * warnings {@link compileYara} returned for the same files; each YARA-X `slow_pattern` warning is
 * reported too, attributed to the rule and pattern at its position (or with `rule` and `pattern`
 * empty when the position is not one this module found). A file this module cannot follow is
 * reported as one finding with the reason, so nothing unchecked passes silently.
 */
export function findSlowPatterns(
  files: ReadonlyMap<string, Uint8Array>,
  warnings: readonly YaraWarning[],
): readonly SlowPattern[] {
  const out: SlowPattern[] = [];
  for (const file of [...files.keys()].sort()) {
    const text = toText(files.get(file) as Uint8Array, file);
    const starts = lineStarts(text);
    let rules: RuleSource[] = [];
    try {
      rules = new Lexer(text).rules();
    } catch (error) {
      if (!(error instanceof LexError)) throw error;
      const { line } = position(starts, error.offset);
      out.push(
        Object.freeze({
          file,
          line,
          rule: '',
          pattern: '',
          reason: `cannot be checked for atoms: ${error.message}`,
        }),
      );
    }
    // One finding per pattern, keyed by the pattern's offset (or, for a warning this module cannot
    // place, by the warning's position).
    const found = new Map<string, SlowPattern>();
    const patterns = rules.flatMap((rule) =>
      rule.patterns.map((pattern) => ({ rule, pattern, line: position(starts, pattern.offset).line })),
    );
    const byLine = new Map<number, (typeof patterns)[number][]>();
    for (const p of patterns) {
      const list = byLine.get(p.line);
      if (list === undefined) byLine.set(p.line, [p]);
      else list.push(p);
    }
    for (const { rule, pattern, line } of patterns) {
      let reason: string | undefined;
      try {
        reason = checks[pattern.kind](pattern.body);
      } catch (error) {
        if (!(error instanceof LexError)) throw error;
        reason = `cannot be checked for atoms: ${error.message}`;
      }
      if (reason !== undefined)
        found.set(
          String(pattern.offset),
          Object.freeze({ file, line, rule: rule.name, pattern: pattern.id, reason }),
        );
    }
    for (const warning of warnings) {
      if (warning.file !== file || !warning.message.startsWith('warning[slow_pattern]')) continue;
      const m = slowPatternWarning.exec(warning.message);
      const line = m === null ? 0 : Number(m[1]);
      const offset = (starts[line - 1] ?? Number.NaN) + Number(m?.[2]) - 1;
      // YARA-X points at the `$` of a text pattern and at the value of a hex one. Columns may
      // count differently on a line with non-ASCII text: then one pattern on the line is enough.
      const onLine = byLine.get(line) ?? [];
      const at =
        onLine.find((p) => p.pattern.offset <= offset && offset < p.pattern.end) ??
        (onLine.length === 1 ? onLine[0] : undefined);
      const rule =
        at?.rule ??
        rules.find((r) => position(starts, r.start).line <= line && line <= position(starts, r.end).line);
      const key = at === undefined ? `${m?.[1]}:${m?.[2]}` : String(at.pattern.offset);
      if (found.has(key)) continue;
      found.set(
        key,
        Object.freeze({
          file,
          line: at?.line ?? line,
          rule: rule?.name ?? '',
          pattern: at?.pattern.id ?? '',
          reason: 'YARA-X reports a slow pattern (an atom shorter than 2 bytes, or too common)',
        }),
      );
    }
    out.push(...[...found.values()].sort((a, b) => a.line - b.line));
  }
  return Object.freeze(out);
}

/** describeSlowPattern renders a finding as `FILE line N: rule R: pattern $p: REASON`. */
export function describeSlowPattern(p: SlowPattern): string {
  const where = p.line > 0 ? `${p.file} line ${p.line}` : p.file;
  const rule = p.rule === '' ? '' : `: rule ${describeUntrusted(p.rule)}`;
  const pattern = p.pattern === '' ? '' : `: pattern ${describeUntrusted(p.pattern)}`;
  return `${where}${rule}${pattern}: ${p.reason}`;
}
