/**
 * Test support: `tlogcheck` (test/interop/go/tlog), an independent client of a C2SP tiled log
 * (https://c2sp.org/tlog-tiles) built on golang.org/x/mod/sumdb/note and sumdb/tlog, the Go
 * checksum database's reference code, and the functions tests call it through. It is built once
 * per source version in GOPATH mode against the Debian golang-golang-x-mod-dev sources (no
 * network) and the binary is cached under the system temp directory, keyed by a hash of the
 * source and `go version`, so later runs only spawn it.
 *
 * The binary is always run asynchronously: the log under test is usually served by the same
 * Node process, which must keep answering while Go fetches. This module does not decide whether
 * a missing Go toolchain skips or fails a test; {@link goTlogUnavailable} gives the reason and
 * the test file decides (skip locally, fail on CI).
 */

import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBase64, parseBase64, toBytes } from '../../src/core/bytes/index.ts';

const goSource = join(import.meta.dirname, 'go', 'tlog');
const goPath = process.env.VOUCH_GO_XMOD_PATH ?? '/usr/share/gocode';
const tlogPackage = join(goPath, 'src', 'golang.org', 'x', 'mod', 'sumdb', 'tlog');

/** goTlogUnavailable returns why tlogcheck cannot be built here, or undefined when it can. */
export function goTlogUnavailable(): string | undefined {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) return '`go` is not installed';
  if (!existsSync(tlogPackage)) {
    return `${tlogPackage} is missing (install golang-golang-x-mod-dev or set VOUCH_GO_XMOD_PATH)`;
  }
  return undefined;
}

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function execute(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }) {
  return new Promise<Run>((resolve) => {
    execFile(
      file,
      args,
      { ...options, encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 24 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ status: code, stdout, stderr: error !== null && stderr === '' ? error.message : stderr });
      },
    );
  });
}

let built: Promise<string> | undefined;

/**
 * buildGoTlog returns the path of the tlogcheck binary, building it on first use in this process
 * and reusing a binary cached in the temp directory for the same source and Go version. It
 * rejects with the compiler's output when the build fails.
 */
export function buildGoTlog(): Promise<string> {
  built ??= build();
  return built;
}

async function build(): Promise<string> {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' }).stdout;
  const key = createHash('sha256')
    .update(version)
    .update(goPath)
    .update(readFileSync(join(goSource, 'main.go')))
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), `vouch-go-tlog-${key}`);
  const binary = join(dir, 'tlogcheck');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  // Build beside the final name and rename, so a concurrent run never sees half a binary.
  const partial = `${binary}.${process.pid}`;
  const result = await execute('go', ['build', '-o', partial, '.'], {
    cwd: goSource,
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: `${goPath}:${dir}`,
      GOFLAGS: '',
      GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'vouch-go-build-cache'),
    },
  });
  if (result.status !== 0) throw new Error(`go build of tlogcheck failed: ${result.stderr}`);
  renameSync(partial, binary);
  return binary;
}

/** runGoTlog runs tlogcheck with `args` and returns its exit status and output; it never rejects on a non-zero exit. */
export async function runGoTlog(args: readonly string[]): Promise<Run> {
  return execute(await buildGoTlog(), args, {});
}

async function runOrThrow(args: readonly string[]): Promise<string> {
  const result = await runGoTlog(args);
  if (result.status !== 0) throw new Error(`Go rejected the log: ${result.stderr.trim()}`);
  return result.stdout;
}

function toSafeInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new Error(`tlogcheck printed a bad ${what}`);
  return value;
}

/** GoCosignature is a witness cosignature Go verified: its `<name>+<hex key ID>` and timestamp. */
export interface GoCosignature {
  readonly key: string;
  readonly timestamp: bigint;
}

/** GoLogSummary is what `tlogcheck verify` established about a log. */
export interface GoLogSummary {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Uint8Array;
  /** entries is how many entries Go read from the bundles and matched to their leaf hashes. */
  readonly entries: number;
  /** cosignatures lists the given witnesses whose cosignature verified, in note order. */
  readonly cosignatures: readonly GoCosignature[];
}

/**
 * goVerifyLog has Go verify the log at `baseUrl` (a tlog-tiles prefix): the checkpoint must
 * carry a valid signature by `vkey` (a type 0x01 vkey; any known key's bad signature also fails),
 * the tiles must give its root, and every entry in the bundles must match its leaf hash. Each of
 * `witnessVkeys` (cosignature/v1, type 0x04) is checked if it signed and reported when valid; a
 * missing cosignature is not an error, so quorum is the caller's to judge from `cosignatures`.
 * It rejects with Go's message when anything fails.
 */
export async function goVerifyLog(
  baseUrl: string,
  vkey: string,
  witnessVkeys: readonly string[] = [],
): Promise<GoLogSummary> {
  const stdout = await runOrThrow(['verify', baseUrl, vkey, ...witnessVkeys]);
  const json: unknown = JSON.parse(stdout);
  if (typeof json !== 'object' || json === null) throw new Error('tlogcheck printed no summary');
  const summary = json as Record<string, unknown>;
  if (summary.ok !== true || typeof summary.origin !== 'string' || typeof summary.root !== 'string') {
    throw new Error(`tlogcheck printed a bad summary: ${stdout}`);
  }
  const cosignatures = Array.isArray(summary.cosignatures) ? summary.cosignatures : [];
  return Object.freeze({
    origin: summary.origin,
    size: BigInt(toSafeInteger(summary.size, 'size')),
    root: parseBase64(summary.root, 'root'),
    entries: toSafeInteger(summary.entries, 'entry count'),
    cosignatures: Object.freeze(
      cosignatures.map((c: { key?: unknown; time?: unknown }) => {
        if (typeof c.key !== 'string') throw new Error('tlogcheck printed a bad cosignature');
        return Object.freeze({ key: c.key, timestamp: BigInt(toSafeInteger(c.time, 'timestamp')) });
      }),
    ),
  });
}

/**
 * goProveEntry has Go build the inclusion proof of entry `index` in the log's current checkpoint
 * (tlog.ProveRecord over authenticated tiles) and returns it as a c2sp.org/tlog-proof@v1 file.
 */
export async function goProveEntry(baseUrl: string, vkey: string, index: bigint): Promise<Uint8Array> {
  return toBytes(await runOrThrow(['prove', baseUrl, vkey, index.toString()]));
}

/** GoConsistency is what `tlogcheck consistency` established. */
export interface GoConsistency {
  readonly oldSize: bigint;
  readonly size: bigint;
  /** proofLength is the number of hashes in the consistency proof Go built and checked. */
  readonly proofLength: number;
}

/**
 * goCheckConsistency has Go prove (tlog.ProveTree from the tiles) and check (tlog.CheckTree)
 * that the log's current checkpoint extends the tree of `oldSize` entries with root `oldRoot`;
 * it rejects with Go's message when the trees are inconsistent or anything else fails.
 */
export async function goCheckConsistency(
  baseUrl: string,
  vkey: string,
  oldSize: bigint,
  oldRoot: Uint8Array,
): Promise<GoConsistency> {
  const stdout = await runOrThrow(['consistency', baseUrl, vkey, oldSize.toString(), formatBase64(oldRoot)]);
  const summary = JSON.parse(stdout) as Record<string, unknown>;
  if (summary.ok !== true) throw new Error(`tlogcheck printed a bad summary: ${stdout}`);
  return Object.freeze({
    oldSize: BigInt(toSafeInteger(summary.oldSize, 'old size')),
    size: BigInt(toSafeInteger(summary.size, 'size')),
    proofLength: toSafeInteger(summary.proof, 'proof length'),
  });
}
