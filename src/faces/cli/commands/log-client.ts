/**
 * The client half of `vouch log`: `verify` audits a whole log, `proof` prints a C2SP tlog-proof
 * (https://c2sp.org/tlog-proof) for one entry, and `check-proof` checks such a proof offline. Each
 * reads the log through the public tlog-tiles read API only, so `--log` may be the log's URL, a
 * mirror's or a folder holding a copy. It only wires: the work is src/clients/log's.
 *
 * Exit codes follow `vouch --help`, with one rule for data that came from the log: once the
 * command line has been accepted, anything wrong with what the log serves — a bad signature,
 * tile, entry or proof, a malformed or oversized file, a tile it does not serve — is a failed
 * verification (1), while a log that cannot be reached or has no checkpoint at all is unavailable
 * (4). `vouch log` (the lead's command table) dispatches to the exported functions.
 *
 * The log is trusted by its key (`--vkey`) or by a C2SP tlog-policy file (`--policy`,
 * https://c2sp.org/tlog-policy), which names the log keys and the witness quorum a checkpoint
 * must also meet; a quorum that is not met exits 1 with one line naming what is missing.
 */

import { writeFile } from 'node:fs/promises';
import { LogClient, type LogClientOptions, openCheckpoint } from '../../../clients/log/client.ts';
import { checkpointPath } from '../../../clients/log/fetcher.ts';
import { openTileFetcher } from '../../../clients/log/open-fetcher.ts';
import { readLatestCheckpoint, saveLatestCheckpoint } from '../../../clients/log/tile-cache.ts';
import { equalBytes, formatBase64, parseDecimal, toText } from '../../../core/bytes/index.ts';
import { type ErrorCode, isVouchError, VouchError } from '../../../core/errors.ts';
import { leafHash } from '../../../core/merkle/index.ts';
import { type NoteVerifier, verifierSet } from '../../../core/note/index.ts';
import type { Checkpoint } from '../../../core/tlog/checkpoint.ts';
import { createCheckpointVerifier } from '../../../core/tlog/cosignature.ts';
import { maxEntrySize } from '../../../core/tlog/entry-bundle.ts';
import { maxPolicyBytes, type Policy, parsePolicy, quorumNone } from '../../../core/tlog/policy.ts';
import {
  checkTlogProof,
  formatTlogProof,
  maxTlogProofBytes,
  parseTlogProof,
  type TlogProof,
} from '../../../core/tlog/proof.ts';
import { checkTlogProofPolicy, type PolicyCosignature } from '../../../core/tlog/quorum.ts';
import { parseCommandLine, required } from '../args.ts';
import { type CliIo, exitCodes, readInput, reportError } from '../io.ts';

const verifySynopsis =
  'vouch log verify --log URL|DIR (--vkey VKEY | --policy FILE) [--origin ORIGIN] [--cache DIR]';
const proofSynopsis =
  'vouch log proof --log URL|DIR (--vkey VKEY | --policy FILE) --index N [--origin ORIGIN] [--entry FILE] [--out FILE] [--cache DIR]';
const checkProofSynopsis =
  'vouch log check-proof (--vkey VKEY | --policy FILE) [--origin ORIGIN] --entry FILE [PROOF]';

/**
 * logVerifyUsage is the help entry of `vouch log verify`: its synopsis and description, indented
 * to follow a `Usage:` line (as in `vouch log --help`).
 */
export const logVerifyUsage = `  ${verifySynopsis}
      Audit the log at URL (its tlog-tiles prefix) or in the folder DIR: the checkpoint must be
      signed by the log key VKEY for ORIGIN (default: the key's name) — or, with --policy, by
      a log the C2SP tlog-policy FILE lists for its origin (ORIGIN, when given), and cosigned
      by the policy's witness quorum; every hash tile must lead to the checkpoint's root and
      every entry must match its leaf hash. Prints one JSON line
      {"origin","size","root","entries","tiles","ok":true}, with --policy also "cosigners" (the
      witnesses that counted). With --cache DIR, verified full tiles are kept in DIR, and the
      checkpoint must be consistent with the one the previous run verified (which it then
      replaces). Exit 0 only when all of this holds; 1 when something does not verify, with the
      reason (for a quorum: which group is short and whom it misses); 4 when the log cannot be
      reached.
`;

/** logProofUsage is the help entry of `vouch log proof`, in the form of {@link logVerifyUsage}. */
export const logProofUsage = `  ${proofSynopsis}
      Print (or write to FILE with --out) the C2SP tlog-proof of entry N under the log's current
      checkpoint, signed by VKEY (or meeting the --policy file), after verifying it; the proof
      carries the checkpoint's cosignatures. With --entry, the entry in FILE must be the log's
      entry N. Exit 1 when the log's data does not verify, 2 when N is not in the log, 4 when
      the log cannot be reached.
`;

/** logCheckProofUsage is the help entry of `vouch log check-proof`, in the form of {@link logVerifyUsage}. */
export const logCheckProofUsage = `  ${checkProofSynopsis}
      Check offline that the tlog-proof in PROOF (default: standard input) proves the entry in
      FILE is in the log whose key is VKEY, for ORIGIN (default: the key's name) — or, with
      --policy, in a log the policy FILE lists, under a checkpoint its witness quorum cosigned.
      Prints one JSON line {"origin","size","index","ok":true} (with --policy also
      "cosigners"). Exit 0 when it holds, 1 when it does not, 2 for a malformed proof or policy.
`;

/** logVerify runs `vouch log verify` (arguments after `verify`) and returns its exit code. */
export async function logVerify(args: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, async () => {
    const { values } = parseCommandLine('log verify', verifySynopsis, args, {
      log: { type: 'string' },
      vkey: { type: 'string' },
      policy: { type: 'string' },
      origin: { type: 'string' },
      cache: { type: 'string' },
    });
    if (values.help === true) return help(io, logVerifyUsage);
    const location = required('log verify', verifySynopsis, values.log, '--log');
    const trust = await readTrust('log verify', verifySynopsis, values, io);
    const cacheDir = optionalString(values.cache);
    const fetcher = openTileFetcher(location, cacheDir === undefined ? {} : { cacheDir });
    return fromTheLog('log verify', io, async () => {
      const client = await LogClient.open(fetcher, trust.options);
      const previous = cacheDir === undefined ? undefined : await readLatestCheckpoint(cacheDir);
      if (previous !== undefined) {
        await client.checkConsistency(openCheckpoint(previous, trust.previousOptions).checkpoint);
      }
      const result = await client.verifyLog();
      if (cacheDir !== undefined) await saveLatestCheckpoint(cacheDir, client.signedCheckpoint());
      io.stdout(
        jsonLine([
          ['origin', result.origin],
          ['size', result.size],
          ['root', formatBase64(result.root)],
          ['entries', result.entries],
          ['tiles', result.tiles],
          ...cosignersField(trust, client.cosigners),
          ['ok', true],
        ]),
      );
      return exitCodes.ok;
    });
  });
}

/** logProof runs `vouch log proof` (arguments after `proof`) and returns its exit code. */
export async function logProof(args: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, async () => {
    const { values } = parseCommandLine('log proof', proofSynopsis, args, {
      log: { type: 'string' },
      vkey: { type: 'string' },
      policy: { type: 'string' },
      index: { type: 'string' },
      origin: { type: 'string' },
      entry: { type: 'string' },
      out: { type: 'string' },
      cache: { type: 'string' },
    });
    if (values.help === true) return help(io, logProofUsage);
    const location = required('log proof', proofSynopsis, values.log, '--log');
    oneFromStandardInput('log proof', [values.entry, values.policy]);
    const trust = await readTrust('log proof', proofSynopsis, values, io);
    const index = parseIndex(required('log proof', proofSynopsis, values.index, '--index'));
    const out = optionalString(values.out);
    const entryPath = optionalString(values.entry);
    const entry = entryPath === undefined ? undefined : await readInput(entryPath, io, maxEntrySize);
    const cacheDir = optionalString(values.cache);
    const fetcher = openTileFetcher(location, cacheDir === undefined ? {} : { cacheDir });
    const bytes = await fromTheLog('log proof', io, async () => {
      const client = await LogClient.open(fetcher, trust.options);
      const proof = formatTlogProof(await client.proveInclusion(index));
      const leaf = await client.leafHash(index);
      if (entry !== undefined && !equalBytes(leafHash(entry), leaf)) {
        throw new VouchError('bad-digest', `${entryPath} is not entry ${index} of the log`, { index });
      }
      // Check the bytes about to be printed exactly as a reader of the proof will.
      checkProof(trust, parseTlogProof(proof), leaf);
      return proof;
    });
    if (typeof bytes === 'number') return bytes;
    if (out === undefined) io.stdout(toText(bytes, 'tlog-proof'));
    else await writeFile(out, bytes, { mode: 0o644 });
    return exitCodes.ok;
  });
}

/** logCheckProof runs `vouch log check-proof` (arguments after `check-proof`) and returns its exit code. */
export async function logCheckProof(args: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, async () => {
    const { values, positionals } = parseCommandLine(
      'log check-proof',
      checkProofSynopsis,
      args,
      {
        vkey: { type: 'string' },
        policy: { type: 'string' },
        origin: { type: 'string' },
        entry: { type: 'string' },
      },
      true,
    );
    if (values.help === true) return help(io, logCheckProofUsage);
    if (positionals.length > 1) {
      throw new VouchError(
        'invalid-argument',
        `log check-proof: one proof at most (usage: ${checkProofSynopsis})`,
      );
    }
    const entryPath = required('log check-proof', checkProofSynopsis, values.entry, '--entry');
    oneFromStandardInput('log check-proof', [entryPath, positionals[0] ?? '-', values.policy]);
    const trust = await readTrust('log check-proof', checkProofSynopsis, values, io);
    const entry = await readInput(entryPath, io, maxEntrySize);
    const proof = parseTlogProof(await readInput(positionals[0], io, maxTlogProofBytes));
    const { checkpoint, cosigners } = checkProof(trust, proof, leafHash(entry));
    io.stdout(
      jsonLine([
        ['origin', checkpoint.origin],
        ['size', checkpoint.size],
        ['index', proof.index],
        ...cosignersField(trust, cosigners),
        ['ok', true],
      ]),
    );
    return exitCodes.ok;
  });
}

// guarded runs a command body, turning what it throws into a message and an exit code, so that
// the exported functions can be called directly (tests, other commands) as well as from main.
async function guarded(io: CliIo, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    return reportError(error, io);
  }
}

// fromTheLog runs the part of a command that reads the log, mapping its errors by the rule in
// the module comment; it returns the body's result, or the exit code after printing the reason.
async function fromTheLog<T>(command: string, io: CliIo, run: () => Promise<T>): Promise<T | number> {
  try {
    return await run();
  } catch (error) {
    if (!isVouchError(error)) return reportError(error, io);
    const field = error.details.field;
    const where = typeof field === 'string' && !error.message.includes(field) ? ` (${field})` : '';
    io.stderr(`vouch: ${command}: ${error.message}${where}\n`);
    return logExitCode(error.code, field);
  }
}

function logExitCode(code: ErrorCode, field: unknown): number {
  switch (code) {
    case 'unavailable':
    case 'pushback':
    case 'conflict':
      return exitCodes.unavailable;
    case 'not-found':
      return field === checkpointPath ? exitCodes.unavailable : exitCodes.verificationFailed;
    case 'invalid-argument':
      return exitCodes.usage;
    case 'bad-key':
    case 'wrong-passphrase':
      return exitCodes.key;
    case 'invariant':
      return exitCodes.internal;
    default:
      return exitCodes.verificationFailed;
  }
}

// Trust is how a command trusts the log: a log key, or a tlog-policy. `previousOptions` reopens
// a checkpoint a previous run verified and cached: with a policy, only the log's signature is
// checked again (the quorum was checked when it was saved), so that a change of witnesses in
// the policy does not break the chain of checkpoints.
type Trust =
  | {
      readonly kind: 'key';
      readonly logKey: NoteVerifier;
      readonly origin: string;
      readonly options: LogClientOptions;
      readonly previousOptions: LogClientOptions;
    }
  | {
      readonly kind: 'policy';
      readonly policy: Policy;
      readonly origin?: string;
      readonly options: LogClientOptions;
      readonly previousOptions: LogClientOptions;
    };

// readTrust reads --vkey or --policy (exactly one) and --origin.
async function readTrust(
  command: string,
  synopsis: string,
  values: Record<string, unknown>,
  io: CliIo,
): Promise<Trust> {
  const vkey = optionalString(values.vkey);
  const policyPath = optionalString(values.policy);
  const origin = optionalString(values.origin);
  if (vkey !== undefined && policyPath !== undefined) {
    throw new VouchError(
      'invalid-argument',
      `${command}: give --vkey or --policy, not both (usage: ${synopsis})`,
    );
  }
  if (policyPath === undefined) {
    const logKey = createCheckpointVerifier(required(command, synopsis, vkey, '--vkey or --policy'));
    const options = { logKey, origin: origin ?? logKey.name };
    return { kind: 'key', logKey, origin: options.origin, options, previousOptions: options };
  }
  const policy = await readPolicy(policyPath, io);
  const options = { policy, ...(origin === undefined ? {} : { origin }) };
  return {
    kind: 'policy',
    policy,
    ...(origin === undefined ? {} : { origin }),
    options,
    previousOptions: { ...options, policy: { ...policy, quorum: quorumNone } },
  };
}

// oneFromStandardInput refuses two inputs that would both be read from standard input ("-").
function oneFromStandardInput(command: string, inputs: readonly unknown[]): void {
  if (inputs.filter((input) => input === '-').length > 1) {
    throw new VouchError(
      'invalid-argument',
      `${command}: only one of the entry, the proof and the policy can be standard input`,
    );
  }
}

// readPolicy reads and parses a policy file, naming the file in any error about its content.
async function readPolicy(path: string, io: CliIo): Promise<Policy> {
  const bytes = await readInput(path, io, maxPolicyBytes);
  try {
    return parsePolicy(bytes);
  } catch (error) {
    if (isVouchError(error)) {
      throw new VouchError(
        error.code,
        `policy ${path === '-' ? '(standard input)' : path}: ${error.message}`,
        error.details,
      );
    }
    throw error;
  }
}

// checkProof checks a parsed tlog-proof for a leaf hash: against the log key (whose own
// signature is required, not just any trusted one), or against the policy with its quorum.
function checkProof(
  trust: Trust,
  proof: TlogProof,
  leaf: Uint8Array,
): { readonly checkpoint: Checkpoint; readonly cosigners: readonly PolicyCosignature[] } {
  if (trust.kind === 'policy') {
    return checkTlogProofPolicy(
      proof,
      leaf,
      trust.policy,
      trust.origin === undefined ? {} : { origin: trust.origin },
    );
  }
  openCheckpoint(proof.checkpoint, trust.options);
  const { checkpoint } = checkTlogProof(proof, leaf, trust.origin, verifierSet([trust.logKey]));
  return { checkpoint, cosigners: [] };
}

function cosignersField(
  trust: Trust,
  cosigners: readonly PolicyCosignature[],
): (readonly [string, readonly string[]])[] {
  return trust.kind === 'policy' ? [['cosigners', cosigners.map((c) => c.witness)]] : [];
}

function parseIndex(text: string): bigint {
  try {
    return parseDecimal(text, '--index');
  } catch {
    throw new VouchError('invalid-argument', '--index must be a decimal entry index without leading zeros', {
      field: '--index',
    });
  }
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function help(io: CliIo, usage: string): number {
  io.stdout(`Usage:\n${usage}`);
  return exitCodes.ok;
}

// jsonLine writes one JSON object per line; bigints are written as JSON numbers in full.
function jsonLine(
  fields: readonly (readonly [string, string | number | bigint | boolean | readonly string[]])[],
): string {
  const parts = fields.map(([name, value]) => {
    const text = typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
    return `${JSON.stringify(name)}:${text}`;
  });
  return `{${parts.join(',')}}\n`;
}
