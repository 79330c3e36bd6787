/**
 * Transparency log trust policies (https://c2sp.org/tlog-policy, C2SP main as of 2026): which
 * logs a client trusts, which witnesses, and the quorum of witness cosignatures a checkpoint
 * needs. A policy file is lines terminated by "\n", fields separated by runs of spaces and tabs,
 * blank and `#` comment lines ignored, and four kinds of line:
 *
 *     log <vkey> [<url>]
 *     witness <name> <vkey> [<url>]
 *     group <name> <k|all|any> <name>...
 *     quorum <name|none>
 *
 * Rules enforced here, each with the line at fault: only the octets 0x09, 0x0A, 0x20-0x7E and
 * 0x80-0xFF; every line ends in "\n"; witnesses and groups share one namespace, in which `none`
 * is predefined (a quorum, never a member); a name is defined once, and only names defined on
 * earlier lines may be used — so groups cannot form a cycle; a group has n ≥ 1 members, each
 * listed once, with 1 ≤ k ≤ n (`any` is 1, `all` is n, a number is canonical decimal); exactly
 * one quorum line; no two logs and no two witnesses wrap the same public key.
 *
 * Keys: a log key may be of any note signature type core/note supports (tlog-checkpoint lets a
 * log use "any note signature algorithm"). A witness key must be a cosignature key, type 0x04
 * (Ed25519 cosignature/v1) or 0x06 (ML-DSA-44 subtree/v1), because the spec requires "a
 * signature type appropriate [to its] function, see tlog-cosignature" (an earlier revision said
 * 0x04 outright). A type 0x01 witness vkey — what Go tooling (transparency-dev/formats) prints
 * and silently converts — is therefore refused, with the equivalent type 0x04 vkey in the
 * message so that the user can fix the file knowingly: the two differ in key ID.
 *
 * Deliberately stricter than the spec, each a fail-closed choice: a public key may not be both a
 * log's and a witness's (a log cannot witness itself); no two keys may share a key name and key
 * ID (the signature lines could not tell them apart); a numeric threshold has no leading zeros;
 * an unknown keyword is an error, not an extension. LIMIT: the spec treats non-ASCII octets in
 * names and URLs as opaque; here names and URLs must be valid UTF-8 (strictly decoded and never
 * normalised, so comparing them still compares octets), while comments may hold any octets.
 * LIMIT: at most {@link maxPolicyBytes}, {@link maxPolicyLines} lines and 256 each of logs,
 * witnesses and groups; the spec asks implementations to support at least 32 of each.
 *
 * Formatting gives the canonical spelling: logs, witnesses, groups (each in file order) and the
 * quorum line, one space between fields, no comments. Parsing that gives back the same policy,
 * and formatting it again the same bytes. Evaluating a policy is `./quorum.ts`.
 */

import { equalBytes, toBytes, toText } from '../bytes/index.ts';
import { describeUntrusted, isVouchError, malformed, tooLarge, VouchError } from '../errors.ts';
import {
  formatKeyId,
  formatVerifierKey,
  maxVerifierKeyLength,
  parseVerifierKey,
  signatureTypes,
  toCosignatureV1Key,
  type VerifierKey,
} from '../note/keys.ts';

/** maxPolicyBytes bounds a policy file: 64 ML-DSA-44 vkeys (about 1.8 kB each) fit several times. */
export const maxPolicyBytes = 512 * 1024;

/** maxPolicyLines bounds the lines of a policy file, comments and blank lines included. */
export const maxPolicyLines = 8192;

/** maxPolicyEntries bounds each of the logs, the witnesses and the groups (the spec asks for ≥ 32). */
export const maxPolicyEntries = 256;

/** maxPolicyTokenLength bounds a name or URL in bytes; vkeys are bounded by core/note. */
export const maxPolicyTokenLength = 1024;

/** quorumNone is the predefined name of the empty quorum: no cosignature required. */
export const quorumNone = 'none';

/** PolicyLog is a trusted log: its key (whose name is the log's origin) and an optional URL. */
export interface PolicyLog {
  readonly key: VerifierKey;
  /** url is application specific (for Vouch, the log's tlog-tiles prefix). */
  readonly url?: string;
}

/** PolicyWitness is a trusted witness: its policy name, its cosignature key and an optional URL. */
export interface PolicyWitness {
  /** name is the witness's name inside the policy file; the key's own name is `key.name`. */
  readonly name: string;
  /** key is a type 0x04 or 0x06 cosignature key. */
  readonly key: VerifierKey;
  /** url is, by the spec's recommendation, the witness's tlog-witness submission prefix. */
  readonly url?: string;
}

/** PolicyThreshold is a group's threshold as written: `all`, `any` or a number. */
export type PolicyThreshold = 'all' | 'any' | number;

/** PolicyGroup is a named group that witnesses a checkpoint when k of its members do. */
export interface PolicyGroup {
  readonly name: string;
  readonly threshold: PolicyThreshold;
  /** k is the threshold resolved: 1 for `any`, the member count for `all`. */
  readonly k: number;
  /** members are names of witnesses and groups defined before the group, each once. */
  readonly members: readonly string[];
}

/** Policy is a parsed, frozen tlog-policy. */
export interface Policy {
  readonly logs: readonly PolicyLog[];
  readonly witnesses: readonly PolicyWitness[];
  readonly groups: readonly PolicyGroup[];
  /** quorum names the witness or group that must witness a checkpoint, or is {@link quorumNone}. */
  readonly quorum: string;
}

const keywords = new Set(['log', 'witness', 'group', 'quorum']);

/**
 * parsePolicy parses a tlog-policy file, or throws `too-large` over a bound, `bad-key` for a
 * vkey that does not parse or has the wrong type for its role, and `malformed` for anything
 * else; every error names its line (`details.field`, `line N`) except a missing quorum line.
 */
export function parsePolicy(bytes: Uint8Array): Policy {
  if (bytes.length > maxPolicyBytes) throw tooLarge('policy', maxPolicyBytes);
  let lineCount = 0;
  for (const byte of bytes) {
    if (byte === 0x0a && ++lineCount > maxPolicyLines) throw tooLarge('policy lines', maxPolicyLines);
  }
  const builder = new PolicyBuilder();
  let start = 0;
  for (let line = 1; start < bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) throw malformed('policy does not end in a newline', `line ${line}`);
    const fields = splitFields(bytes.subarray(start, end), line);
    if (fields.length > 0) builder.add(fields, line);
    start = end + 1;
  }
  return builder.finish();
}

/**
 * formatPolicy spells a policy in its canonical form (see the module comment). It throws
 * `invalid-argument` for a value {@link parsePolicy} would refuse, including a `k` that does
 * not match its threshold.
 */
export function formatPolicy(policy: Policy): Uint8Array {
  const lines: string[] = [];
  const withUrl = (fields: string[], url: string | undefined): string =>
    (url === undefined ? fields : [...fields, url]).join(' ');
  for (const log of policy.logs) lines.push(withUrl(['log', formatKey(log.key)], log.url));
  for (const w of policy.witnesses) lines.push(withUrl(['witness', w.name, formatKey(w.key)], w.url));
  for (const g of policy.groups) lines.push(['group', g.name, String(g.threshold), ...g.members].join(' '));
  lines.push(`quorum ${policy.quorum}`);
  const tokens = [
    ...policy.logs.map((l) => l.url),
    ...policy.witnesses.flatMap((w) => [w.name, w.url]),
    ...policy.groups.flatMap((g) => [g.name, ...g.members]),
    policy.quorum,
  ];
  for (const token of tokens) {
    if (token !== undefined && !isPolicyToken(token)) {
      throw new VouchError('invalid-argument', 'a policy name or URL must be one non-empty field');
    }
  }
  const bytes = toBytes(`${lines.join('\n')}\n`);
  let reparsed: Policy;
  try {
    reparsed = parsePolicy(bytes);
  } catch (error) {
    if (error instanceof VouchError) {
      throw new VouchError('invalid-argument', `not a valid policy: ${error.message}`, error.details);
    }
    throw error;
  }
  policy.groups.forEach((g, i) => {
    if (g.k !== reparsed.groups[i]?.k) {
      throw new VouchError('invalid-argument', `group k does not match its threshold ${g.threshold}`);
    }
  });
  return bytes;
}

/**
 * isPolicyToken reports whether `text` can be one field of a policy line: non-empty, at most
 * {@link maxPolicyTokenLength} bytes of well-formed text with no space, tab or control character.
 */
export function isPolicyToken(text: string): boolean {
  if (typeof text !== 'string' || text.length === 0 || !text.isWellFormed()) return false;
  if (toBytes(text).length > maxPolicyTokenLength) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return false;
  }
  return true;
}

// splitFields checks the octets of one line (without its "\n") and splits it at runs of spaces
// and tabs; a blank or comment line has no fields. Fields stay bytes until their role is known.
function splitFields(line: Uint8Array, lineNumber: number): Uint8Array[] {
  for (const byte of line) {
    if ((byte < 0x20 && byte !== 0x09) || byte === 0x7f) {
      throw malformed('policy line contains a control character', `line ${lineNumber}`);
    }
  }
  const fields: Uint8Array[] = [];
  let at = 0;
  while (at < line.length) {
    while (at < line.length && isBlank(line[at])) at++;
    if (at === line.length) break;
    if (fields.length === 0 && line[at] === 0x23) return []; // "#": a comment line
    const from = at;
    while (at < line.length && !isBlank(line[at])) at++;
    fields.push(line.subarray(from, at));
  }
  return fields;
}

function isBlank(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09;
}

type Defined = { readonly kind: 'witness' | 'group'; readonly line: number };

// PolicyBuilder applies the lines of a policy in order, enforcing every rule at the line that
// breaks it.
class PolicyBuilder {
  readonly #logs: PolicyLog[] = [];
  readonly #witnesses: PolicyWitness[] = [];
  readonly #groups: PolicyGroup[] = [];
  readonly #names = new Map<string, Defined>();
  readonly #keyIds = new Map<string, number>();
  readonly #keys: { readonly publicKey: Uint8Array; readonly role: string; readonly line: number }[] = [];
  #quorum: { readonly name: string; readonly line: number } | undefined;

  add(fields: readonly Uint8Array[], line: number): void {
    const keyword = token(fields[0], 'keyword', line);
    const args = fields.slice(1);
    if (!keywords.has(keyword)) throw malformed('policy line has an unknown keyword', `line ${line}`);
    if (keyword === 'log') this.#log(args, line);
    else if (keyword === 'witness') this.#witness(args, line);
    else if (keyword === 'group') this.#group(args, line);
    else this.#setQuorum(args, line);
  }

  finish(): Policy {
    if (this.#quorum === undefined) throw malformed('policy has no quorum line', 'quorum');
    return Object.freeze({
      logs: Object.freeze(this.#logs),
      witnesses: Object.freeze(this.#witnesses),
      groups: Object.freeze(this.#groups),
      quorum: this.#quorum.name,
    });
  }

  #log(args: readonly Uint8Array[], line: number): void {
    if (args.length < 1 || args.length > 2) throw malformed('a log line is: log <vkey> [<url>]', at(line));
    if (this.#logs.length >= maxPolicyEntries) throw tooLarge('policy logs', maxPolicyEntries, at(line));
    const key = this.#key(args[0], 'log', line);
    const url = args[1] === undefined ? undefined : token(args[1], 'log URL', line);
    this.#logs.push(Object.freeze({ key, ...(url === undefined ? {} : { url }) }));
  }

  #witness(args: readonly Uint8Array[], line: number): void {
    if (args.length < 2 || args.length > 3) {
      throw malformed('a witness line is: witness <name> <vkey> [<url>]', at(line));
    }
    if (this.#witnesses.length >= maxPolicyEntries) {
      throw tooLarge('policy witnesses', maxPolicyEntries, at(line));
    }
    const name = this.#newName(args[0], line);
    const key = this.#key(args[1], `witness "${describeUntrusted(name)}"`, line);
    const url = args[2] === undefined ? undefined : token(args[2], 'witness URL', line);
    this.#witnesses.push(Object.freeze({ name, key, ...(url === undefined ? {} : { url }) }));
    this.#names.set(name, { kind: 'witness', line });
  }

  #group(args: readonly Uint8Array[], line: number): void {
    if (args.length < 3) {
      throw malformed('a group line is: group <name> <k|all|any> <name>... (at least one member)', at(line));
    }
    if (this.#groups.length >= maxPolicyEntries) throw tooLarge('policy groups', maxPolicyEntries, at(line));
    const name = this.#newName(args[0], line);
    const members = args.slice(2).map((field) => token(field, 'group member', line));
    const seen = new Set<string>();
    for (const member of members) {
      if (member === quorumNone) throw malformed('"none" cannot be a group member', at(line));
      if (!this.#names.has(member)) {
        throw malformed(
          `group member "${describeUntrusted(member)}" is not defined on an earlier line`,
          at(line),
        );
      }
      if (seen.has(member)) throw malformed(`group lists "${describeUntrusted(member)}" twice`, at(line));
      seen.add(member);
    }
    const thresholdText = token(args[1], 'group threshold', line);
    let threshold: PolicyThreshold;
    if (thresholdText === 'all' || thresholdText === 'any') threshold = thresholdText;
    else if (/^[1-9][0-9]{0,5}$/.test(thresholdText)) threshold = Number(thresholdText);
    else throw malformed('a group threshold is all, any, or a decimal k ≥ 1 without leading zeros', at(line));
    const k = threshold === 'all' ? members.length : threshold === 'any' ? 1 : threshold;
    if (k > members.length) {
      throw malformed(`group threshold ${k} is more than its ${members.length} members`, at(line));
    }
    this.#groups.push(Object.freeze({ name, threshold, k, members: Object.freeze(members) }));
    this.#names.set(name, { kind: 'group', line });
  }

  #setQuorum(args: readonly Uint8Array[], line: number): void {
    if (args.length !== 1) throw malformed('a quorum line is: quorum <name>', at(line));
    if (this.#quorum !== undefined) {
      throw malformed(`a second quorum line (the first is on line ${this.#quorum.line})`, at(line));
    }
    const name = token(args[0], 'quorum', line);
    if (name !== quorumNone && !this.#names.has(name)) {
      throw malformed(`quorum "${describeUntrusted(name)}" is not defined on an earlier line`, at(line));
    }
    this.#quorum = { name, line };
  }

  #newName(field: Uint8Array | undefined, line: number): string {
    const name = token(field, 'name', line);
    if (name === quorumNone) throw malformed('"none" is predefined and cannot be redefined', at(line));
    const earlier = this.#names.get(name);
    if (earlier !== undefined) {
      throw malformed(`"${describeUntrusted(name)}" is already defined on line ${earlier.line}`, at(line));
    }
    return name;
  }

  #key(field: Uint8Array | undefined, role: string, line: number): VerifierKey {
    let key: VerifierKey;
    try {
      key = parseVerifierKey(token(field, 'vkey', line, maxVerifierKeyLength));
    } catch (error) {
      if (isVouchError(error) && error.details.field === undefined) {
        throw new VouchError(error.code, `${role}: ${error.message}`, { ...error.details, field: at(line) });
      }
      throw error;
    }
    if (role !== 'log') assertWitnessKey(key, role, line);
    for (const other of this.#keys) {
      if (equalBytes(other.publicKey, key.publicKey)) {
        throw malformed(
          `${role} has the same public key as the ${other.role} on line ${other.line}`,
          at(line),
        );
      }
    }
    const id = `${key.name}+${formatKeyId(key.keyId)}`;
    const idLine = this.#keyIds.get(id);
    if (idLine !== undefined) {
      throw malformed(`${role} has the key name and key ID of the key on line ${idLine}`, at(line));
    }
    this.#keys.push({ publicKey: key.publicKey, role: role === 'log' ? 'log' : 'witness', line });
    this.#keyIds.set(id, line);
    return key;
  }
}

function assertWitnessKey(key: VerifierKey, role: string, line: number): void {
  if (key.type === signatureTypes.cosignatureV1 || key.type === signatureTypes.mlDsa44Cosignature) return;
  if (key.type === signatureTypes.ed25519) {
    const converted = formatVerifierKey(toCosignatureV1Key(key));
    throw new VouchError(
      'bad-key',
      `${role}: a type 0x01 vkey is a note key, and tlog-policy requires a cosignature key (type 0x04 or 0x06); the same public key as a cosignature/v1 key is ${converted}`,
      { field: at(line) },
    );
  }
  throw new VouchError('bad-key', `${role}: not a cosignature key (type 0x04 or 0x06)`, { field: at(line) });
}

function token(
  field: Uint8Array | undefined,
  what: string,
  line: number,
  limit = maxPolicyTokenLength,
): string {
  if (field === undefined) throw malformed(`missing ${what}`, at(line));
  if (field.length > limit) throw tooLarge(what, limit, at(line));
  try {
    return toText(field, what);
  } catch {
    throw malformed(`${what} is not valid UTF-8`, at(line));
  }
}

function formatKey(key: VerifierKey): string {
  try {
    return formatVerifierKey(key);
  } catch (error) {
    if (isVouchError(error)) throw new VouchError('invalid-argument', `bad policy key: ${error.message}`);
    throw error;
  }
}

function at(line: number): string {
  return `line ${line}`;
}
