/**
 * A strict, bounded subset of YAML 1.2 (https://yaml.org/spec/1.2.2/) for Vouch's configuration
 * files: block mappings, block sequences, plain, single- and double-quoted one-line scalars,
 * canonical decimal integers, `true`/`false`, `null`/`~`, and `#` comments. That is all a
 * configuration needs, and each thing left out is refused with its line and column rather than
 * guessed at: anchors and aliases (`&a`, `*a`, which make a tree a graph), tags (`!x`), flow
 * collections (`[a]`, `{a: b}`), block scalars (`|`, `>`), multi-line scalars, several documents
 * (`---`, `...`), directives (`%`), tabs, duplicate keys, and plain scalars YAML 1.1 would read as
 * something else (`yes`, `off`, `0x1F`, `1e3`, `012`: quote them to get a string).
 *
 * The input is bounded in bytes, lines, nesting depth and nodes before any work. The result is a
 * frozen tree of plain values; mappings have no prototype, so a key named `__proto__` is only a key.
 * It does no I/O.
 */

import { toText } from '../bytes/index.ts';
import { VouchError } from '../errors.ts';

/** YamlValue is one parsed node. */
export type YamlValue = string | number | boolean | null | readonly YamlValue[] | YamlMapping;

/** YamlMapping is a parsed block mapping: a frozen, prototype-less record. */
export interface YamlMapping {
  readonly [key: string]: YamlValue;
}

/** maxYamlBytes bounds a document (configuration files are small). */
export const maxYamlBytes = 256 * 1024;
const maxLines = 10_000;
const maxDepth = 32;
const maxNodes = 20_000;
const maxKeyLength = 256;

/** ParseYamlOptions: the name used in error messages (default `yaml`). */
export interface ParseYamlOptions {
  readonly name?: string;
}

interface Line {
  /** number is the 1-based line number. */
  readonly number: number;
  /** indent is the 0-based column of the first content character. */
  readonly indent: number;
  /** text is the content from `indent`, without a trailing comment or trailing spaces. */
  readonly text: string;
}

/**
 * parseYaml parses one document of the subset described in the module comment and returns its
 * root (null for an empty document). Every refusal is a `malformed` VouchError whose message is
 * `NAME:LINE:COLUMN: what` and whose details carry `line` and `column` (1-based).
 */
export function parseYaml(input: Uint8Array | string, options: ParseYamlOptions = {}): YamlValue {
  const name = options.name ?? 'yaml';
  const size = typeof input === 'string' ? input.length : input.length;
  if (size > maxYamlBytes) {
    throw new VouchError('too-large', `${name}: the document exceeds ${maxYamlBytes} bytes`, {
      limit: maxYamlBytes,
    });
  }
  const text = typeof input === 'string' ? input : toText(input, name);
  const parser = new Parser(name, splitLines(name, text));
  return parser.document();
}

function fail(name: string, line: number, column: number, what: string): never {
  throw new VouchError('malformed', `${name}:${line}:${column}: ${what}`, {
    field: `line ${line} column ${column}`,
    line,
    column,
  });
}

/** splitLines drops blank and comment lines, strips comments, and refuses tabs and document markers. */
function splitLines(name: string, text: string): Line[] {
  const raw = text.replace(/^\ufeff/, '').split(/\r?\n/);
  if (raw.length > maxLines) {
    throw new VouchError('too-large', `${name}: the document exceeds ${maxLines} lines`, { limit: maxLines });
  }
  const lines: Line[] = [];
  raw.forEach((source, index) => {
    const number = index + 1;
    const tab = source.indexOf('\t');
    if (tab !== -1) fail(name, number, tab + 1, 'a tab character (YAML indents with spaces only)');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    const control = /[\u0000-\u0008\u000b-\u001f\u007f\r]/.exec(source);
    if (control !== null) fail(name, number, control.index + 1, 'a control character');
    const content = stripComment(name, number, source);
    const trimmed = content.trimEnd();
    const indent = trimmed.length - trimmed.trimStart().length;
    if (trimmed.trim() === '') return;
    const body = trimmed.slice(indent);
    if (indent === 0 && (/^(---|\.\.\.)(\s|$)/.test(body) || body.startsWith('%'))) {
      fail(name, number, 1, 'document markers and directives are not supported (one document per file)');
    }
    lines.push({ number, indent, text: body });
  });
  return lines;
}

/** stripComment removes a `#` comment that starts the line or follows a space, outside quotes. */
function stripComment(name: string, number: number, source: string): string {
  let quote: '"' | "'" | undefined;
  let opened = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (quote === '"') {
      if (c === '\\') i++;
      else if (c === '"') quote = undefined;
    } else if (quote === "'") {
      if (c === "'") {
        if (source[i + 1] === "'") i++;
        else quote = undefined;
      }
    } else if (c === '#' && (i === 0 || source[i - 1] === ' ')) {
      return source.slice(0, i);
    } else if ((c === '"' || c === "'") && startsScalar(source, i)) {
      quote = c;
      opened = i;
    }
  }
  if (quote !== undefined) fail(name, number, opened + 1, 'an unterminated quoted scalar');
  return source;
}

/** startsScalar tells whether a quote at `i` opens a quoted scalar (after indentation, `- ` or `: `). */
function startsScalar(source: string, i: number): boolean {
  const before = source.slice(0, i).trimEnd();
  return before === '' || before.endsWith(':') || /(^|\s)-$/.test(before);
}

/** ambiguous matches plain scalars that YAML 1.1 or 1.2 resolve to a number, boolean or null. */
const ambiguous: readonly RegExp[] = [
  /^(yes|no|on|off|true|false|null|~|\.nan|[-+]?\.inf)$/i,
  /^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?$/, // floats
  /^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$/,
  /^[-+]?0[xob][0-9a-fA-F_]+$/, // hexadecimal, octal, binary
  /^[-+]?0[0-9_]+$/, // YAML 1.1 octal
  /^\+[0-9]+$/,
  /^[-+]?[0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?$/, // YAML 1.1 sexagesimal
];

const plainKey = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/;

class Parser {
  readonly #name: string;
  readonly #lines: Line[];
  #at = 0;
  #nodes = 0;

  constructor(name: string, lines: Line[]) {
    this.#name = name;
    this.#lines = lines;
  }

  document(): YamlValue {
    const first = this.#lines[0];
    if (first === undefined) return null;
    if (first.indent !== 0) this.#fail(first, 0, 'the document must start at column 1');
    const root = this.#node(0, 0);
    const extra = this.#lines[this.#at];
    if (extra !== undefined) this.#fail(extra, 0, 'unexpected indentation or content after the document');
    return root;
  }

  #fail(line: Line, offset: number, what: string): never {
    return fail(this.#name, line.number, line.indent + offset + 1, what);
  }

  #count(line: Line): void {
    this.#nodes++;
    if (this.#nodes > maxNodes) {
      throw new VouchError('too-large', `${this.#name}:${line.number}: more than ${maxNodes} nodes`, {
        limit: maxNodes,
      });
    }
  }

  /** node parses the block node whose first line is the current one, at exactly `indent`. */
  #node(indent: number, depth: number): YamlValue {
    const line = this.#lines[this.#at];
    if (line === undefined) return null;
    if (depth > maxDepth) this.#fail(line, 0, `nesting deeper than ${maxDepth} levels`);
    if (isSequenceItem(line.text)) return this.#sequence(indent, depth);
    if (keyOf(line.text) !== undefined) return this.#mapping(indent, depth);
    this.#at++;
    return this.#scalar(line, 0, line.text);
  }

  /** sequence parses items at `indent`; `inMapping` ends it at a key of the enclosing mapping. */
  #sequence(indent: number, depth: number, inMapping = false): YamlValue[] {
    const items: YamlValue[] = [];
    for (;;) {
      const line = this.#lines[this.#at];
      if (line === undefined || line.indent < indent) break;
      if (line.indent > indent) this.#fail(line, 0, 'unexpected indentation');
      if (!isSequenceItem(line.text)) {
        if (inMapping) break;
        if (keyOf(line.text) !== undefined)
          this.#fail(line, 0, 'a mapping key where a sequence item "- " was expected');
        this.#fail(line, 0, 'expected a sequence item "- "');
      }
      this.#count(line);
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.#at++;
        items.push(this.#nested(indent, depth));
        continue;
      }
      // "- key: value" or "- - x": the item's content is a block node starting at its own column.
      const column = line.indent + (line.text.length - rest.length);
      if (isSequenceItem(rest) || keyOf(rest) !== undefined) {
        this.#lines[this.#at] = { number: line.number, indent: column, text: rest };
        items.push(this.#node(column, depth + 1));
      } else {
        this.#at++;
        items.push(this.#scalar(line, line.text.length - rest.length, rest));
      }
    }
    return Object.freeze(items) as YamlValue[];
  }

  #mapping(indent: number, depth: number): YamlMapping {
    const map: Record<string, YamlValue> = Object.create(null);
    for (;;) {
      const line = this.#lines[this.#at];
      if (line === undefined || line.indent < indent) break;
      if (line.indent > indent) this.#fail(line, 0, 'unexpected indentation');
      if (isSequenceItem(line.text)) this.#fail(line, 0, 'a sequence item where a mapping key was expected');
      const parsed = keyOf(line.text);
      if (parsed === undefined) this.#fail(line, 0, 'expected "key: value"');
      this.#count(line);
      const key = this.#key(line, parsed.key);
      if (Object.hasOwn(map, key)) this.#fail(line, 0, `duplicate key ${JSON.stringify(key)}`);
      const rest = line.text.slice(parsed.end).trimStart();
      this.#at++;
      if (rest === '') {
        map[key] = this.#nested(indent, depth, true);
      } else {
        if (keyOf(rest) !== undefined && !/^["']/.test(rest)) {
          this.#fail(line, line.text.length - rest.length, 'a nested mapping must start on its own line');
        }
        map[key] = this.#scalar(line, line.text.length - rest.length, rest);
      }
    }
    return Object.freeze(map);
  }

  /** nested parses the block under a `key:` or `-` with nothing after it, or null when there is none. */
  #nested(indent: number, depth: number, sameIndentSequence = false): YamlValue {
    const next = this.#lines[this.#at];
    if (next === undefined) return null;
    if (next.indent > indent) return this.#node(next.indent, depth + 1);
    // YAML allows a mapping value's sequence at the key's own indentation ("key:\n- a").
    if (sameIndentSequence && next.indent === indent && isSequenceItem(next.text)) {
      return this.#sequence(indent, depth + 1, true);
    }
    return null;
  }

  #key(line: Line, raw: string): string {
    if (raw.length > maxKeyLength) this.#fail(line, 0, `a key longer than ${maxKeyLength} characters`);
    if (raw.startsWith('"')) return this.#doubleQuoted(line, 0, raw);
    if (raw.startsWith("'")) return this.#singleQuoted(line, 0, raw);
    if (!plainKey.test(raw)) {
      this.#fail(line, 0, `a key must be letters, digits and _ . - / or be quoted (got ${describe(raw)})`);
    }
    return raw;
  }

  /** scalar reads a one-line scalar that starts `offset` characters into `line.text`. */
  #scalar(line: Line, offset: number, text: string): YamlValue {
    this.#count(line);
    const first = text[0];
    if (first === '"') return this.#doubleQuoted(line, offset, text);
    if (first === "'") return this.#singleQuoted(line, offset, text);
    const refusals: Record<string, string> = {
      '&': 'anchors are not supported',
      '*': 'aliases are not supported',
      '!': 'tags are not supported',
      '[': 'flow sequences are not supported (use "- item" lines)',
      '{': 'flow mappings are not supported (use "key: value" lines)',
      '|': 'block scalars are not supported (use a quoted string)',
      '>': 'block scalars are not supported (use a quoted string)',
      '@': 'a plain scalar may not start with "@" (quote it)',
      '`': 'a plain scalar may not start with "`" (quote it)',
      '%': 'a plain scalar may not start with "%" (quote it)',
      ',': 'a plain scalar may not start with "," (quote it)',
      '?': 'complex mapping keys are not supported',
    };
    if (first !== undefined && Object.hasOwn(refusals, first))
      this.#fail(line, offset, refusals[first] as string);
    if (text.includes(': ') || text.endsWith(':'))
      this.#fail(line, offset, 'a mapping value is not allowed here');
    const next = this.#lines[this.#at];
    if (next !== undefined && next.indent > line.indent && !isSequenceItem(line.text)) {
      this.#fail(next, 0, 'multi-line plain scalars are not supported (use one line or quotes)');
    }
    if (text === 'true') return true;
    if (text === 'false') return false;
    if (text === 'null' || text === '~') return null;
    if (/^-?(0|[1-9][0-9]*)$/.test(text)) {
      const n = Number(text);
      if (!Number.isSafeInteger(n)) this.#fail(line, offset, 'an integer out of the safe range');
      return n;
    }
    if (ambiguous.some((pattern) => pattern.test(text))) {
      this.#fail(line, offset, `the plain scalar ${describe(text)} is ambiguous (quote it for a string)`);
    }
    return text;
  }

  #doubleQuoted(line: Line, offset: number, text: string): string {
    let out = '';
    let i = 1;
    for (; i < text.length; i++) {
      const c = text[i] as string;
      if (c === '"') break;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[++i];
      const simple: Record<string, string> = {
        '\\': '\\',
        '"': '"',
        '/': '/',
        n: '\n',
        t: '\t',
        r: '\r',
        '0': '\0',
      };
      if (e !== undefined && Object.hasOwn(simple, e)) {
        out += simple[e];
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
        out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 5), 16));
        i += 4;
      } else {
        this.#fail(line, offset + i - 1, 'an unsupported escape in a double-quoted scalar');
      }
    }
    if (i >= text.length) this.#fail(line, offset, 'an unterminated double-quoted scalar');
    if (text.slice(i + 1).trim() !== '') this.#fail(line, offset + i + 1, 'text after a quoted scalar');
    return out;
  }

  #singleQuoted(line: Line, offset: number, text: string): string {
    let out = '';
    let i = 1;
    for (; i < text.length; i++) {
      const c = text[i] as string;
      if (c === "'") {
        if (text[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        break;
      }
      out += c;
    }
    if (i >= text.length) this.#fail(line, offset, 'an unterminated single-quoted scalar');
    if (text.slice(i + 1).trim() !== '') this.#fail(line, offset + i + 1, 'text after a quoted scalar');
    return out;
  }
}

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** keyOf finds `key:` at the start of a line's text (followed by a space or the end), or undefined. */
function keyOf(text: string): { key: string; end: number } | undefined {
  if (text.startsWith('"') || text.startsWith("'")) {
    const quote = text[0] as string;
    for (let i = 1; i < text.length; i++) {
      if (quote === '"' && text[i] === '\\') {
        i++;
        continue;
      }
      if (text[i] === quote) {
        if (quote === "'" && text[i + 1] === "'") {
          i++;
          continue;
        }
        const after = text.slice(i + 1);
        if (after === ':' || after.startsWith(': ')) return { key: text.slice(0, i + 1), end: i + 2 };
        return undefined;
      }
    }
    return undefined;
  }
  const match = /^([^\s:#][^:]*?):( |$)/.exec(text);
  if (match === null) return undefined;
  const key = match[1] as string;
  return { key, end: key.length + 1 };
}

function describe(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 40 ? `${clean.slice(0, 37)}...` : clean);
}
