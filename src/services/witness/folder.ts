/**
 * A witness's home on disk and its running service. `DIR/witness.json` holds the configuration —
 * the witness's name, its key file, its verifier key, and the logs it witnesses (origin and the
 * log's verifier keys) — `DIR/state.db` the per-log state cells (or PostgreSQL, when a database
 * URL is given, for scale-out), and `DIR/evidence/` the records of logs caught signing two
 * different trees of one size.
 *
 * Logs can be added, never removed or re-keyed through this module: a witness that forgot a log,
 * or accepted a new key for it, could be made to cosign a second, inconsistent history of it
 * (litewitness refuses the same). The state cell of an origin outlives its configuration entry
 * anyway, so even a hand-edited re-add resumes from the size last cosigned. A running
 * {@link WitnessService} rereads the configuration when asked about an origin it does not know
 * and the file has changed, so `add-log` takes effect without a restart; a reload only adds logs.
 *
 * LIMIT: two `add-log` runs racing on one folder may lose one of the additions (the last write
 * wins); the loser's log is then unknown (404), never mis-keyed.
 */

import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { formatHex, toBytes } from '../../core/bytes/index.ts';
import { type Signer, sha256 } from '../../core/crypto/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { formatJson, isJsonArray, isJsonObject, type JsonValue, parseJson } from '../../core/json/index.ts';
import { parseVerifierKey, type Verifiers, verifierSet } from '../../core/note/index.ts';
import { formatCheckpoint } from '../../core/tlog/checkpoint.ts';
import { createCheckpointVerifier } from '../../core/tlog/cosignature.ts';
import type { CasStore } from '../../storage/cas.ts';
import { FsBlobStore } from '../../storage/fs/blob.ts';
import { mkdirDurable, writeFileDurable } from '../../storage/fs/durable.ts';
import { PgCasStore } from '../../storage/postgres/pg-cas.ts';
import { openPgPool } from '../../storage/postgres/pool.ts';
import { openSqlite } from '../../storage/sqlite/database.ts';
import { SqliteCasStore } from '../../storage/sqlite/sqlite-cas.ts';
import { originHashOf, Witness, type WitnessEvidence, type WitnessLogs } from './witness.ts';

/** WitnessedLog is one log a witness cosigns: its origin and the verifier keys it signs with. */
export interface WitnessedLog {
  /** origin is the first line of the log's checkpoints. */
  readonly origin: string;
  /** vkeys are the log's signed-note verifier keys; a checkpoint needs a signature by one of them. */
  readonly vkeys: readonly string[];
}

/** WitnessFolderConfig is `DIR/witness.json`; each key documents itself. */
export interface WitnessFolderConfig {
  /** name is the witness's key name, as in its cosignature lines. */
  readonly name: string;
  /** key is the path of the witness's private key file, relative to DIR unless absolute. */
  readonly key: string;
  /** vkey is the witness's cosigner verifier key (type 0x04 Ed25519 or 0x06 ML-DSA-44), for logs and clients. */
  readonly vkey: string;
  /** logs are the logs this witness cosigns, by origin; never removed or re-keyed. */
  readonly logs: readonly WitnessedLog[];
}

const configFile = 'witness.json';
const maxConfigBytes = 4 * 1024 * 1024;

/** initWitnessFolder writes a new witness's configuration with no logs; it refuses a folder that holds one. */
export async function initWitnessFolder(
  dir: string,
  config: Pick<WitnessFolderConfig, 'name' | 'key' | 'vkey'>,
): Promise<WitnessFolderConfig> {
  const full: WitnessFolderConfig = { name: config.name, key: config.key, vkey: config.vkey, logs: [] };
  validateConfig(full, join(dir, configFile));
  await mkdirDurable(dir);
  try {
    await writeFileDurable(join(dir, configFile), formatConfig(full), { exclusive: true });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') {
      throw new VouchError(
        'invalid-argument',
        `${join(dir, configFile)} already exists: this folder holds a witness`,
      );
    }
    throw error;
  }
  return full;
}

/** readWitnessFolderConfig reads and validates `DIR/witness.json`, naming every bad field. */
export async function readWitnessFolderConfig(dir: string): Promise<WitnessFolderConfig> {
  const path = join(dir, configFile);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    throw new VouchError('not-found', `${path} is missing; create the witness with vouch witness init`);
  }
  const value = parseJson(bytes, { maxBytes: maxConfigBytes });
  if (!isJsonObject(value)) throw new VouchError('malformed', `${path} is not a JSON object`);
  const text = (v: JsonValue | undefined): string => (typeof v === 'string' ? v : '');
  const logs: WitnessedLog[] | undefined = isJsonArray(value.logs)
    ? value.logs.map((entry) => ({
        origin: isJsonObject(entry) ? text(entry.origin) : '',
        vkeys: isJsonObject(entry) && isJsonArray(entry.vkeys) ? entry.vkeys.map(text) : [],
      }))
    : undefined;
  const config = { name: text(value.name), key: text(value.key), vkey: text(value.vkey), logs: logs ?? [] };
  validateConfig(config, path, logs === undefined ? ['logs'] : []);
  return config;
}

/**
 * addWitnessedLog adds a log to the folder's configuration and returns the new configuration,
 * or `added: false` when the log is already configured with exactly these keys. It throws
 * `invalid-argument` when the origin is configured with other keys (a witness never re-keys a
 * log) or cannot be a checkpoint's first line, or when no key is given, and `bad-key` for a bad vkey.
 */
export async function addWitnessedLog(
  dir: string,
  log: WitnessedLog,
): Promise<{ config: WitnessFolderConfig; added: boolean }> {
  const config = await readWitnessFolderConfig(dir);
  if (!isOrigin(log.origin)) {
    throw new VouchError(
      'invalid-argument',
      'the origin must be one non-empty line without control characters',
    );
  }
  if (log.vkeys.length === 0)
    throw new VouchError('invalid-argument', 'a log needs at least one verifier key');
  for (const vkey of log.vkeys) createCheckpointVerifier(vkey);
  const vkeys = [...new Set(log.vkeys)].sort();
  const existing = config.logs.find((l) => l.origin === log.origin);
  if (existing !== undefined) {
    const known = [...new Set(existing.vkeys)].sort();
    if (known.length === vkeys.length && known.every((v, i) => v === vkeys[i]))
      return { config, added: false };
    throw new VouchError(
      'invalid-argument',
      `the log ${JSON.stringify(log.origin)} is already witnessed with other keys; a witness never re-keys a log`,
    );
  }
  const next: WitnessFolderConfig = { ...config, logs: [...config.logs, { origin: log.origin, vkeys }] };
  await writeFileDurable(join(dir, configFile), formatConfig(next));
  return { config: next, added: true };
}

/** keyPathOf resolves the configured key path against the witness folder. */
export function keyPathOf(dir: string, config: WitnessFolderConfig): string {
  return isAbsolute(config.key) ? config.key : join(dir, config.key);
}

/** logsFromConfig builds the trusted keys of each configured log; it throws `bad-key` for a bad vkey. */
export function logsFromConfig(logs: readonly WitnessedLog[]): ReadonlyMap<string, Verifiers> {
  return new Map(logs.map((l) => [l.origin, verifierSet(l.vkeys.map((v) => createCheckpointVerifier(v)))]));
}

/** WitnessServiceOptions: the folder, the witness's key, and optionally PostgreSQL for the state. */
export interface WitnessServiceOptions {
  readonly dir: string;
  readonly key: Signer;
  readonly databaseUrl?: string;
  /** now returns POSIX seconds (default: the system clock). */
  readonly now?: () => bigint;
  readonly log?: (line: string) => void;
}

/** WitnessService runs one witness folder: its configuration, state store and evidence folder. */
export class WitnessService {
  readonly config: WitnessFolderConfig;
  readonly witness: Witness;
  readonly #closers: (() => Promise<void> | void)[];

  private constructor(
    config: WitnessFolderConfig,
    witness: Witness,
    closers: (() => Promise<void> | void)[],
  ) {
    this.config = config;
    this.witness = witness;
    this.#closers = closers;
  }

  /**
   * start reads the folder's configuration, checks that `key` is the configured witness key
   * (`bad-key` otherwise), and opens the state store: `DIR/state.db`, or PostgreSQL with a URL.
   */
  static async start(options: WitnessServiceOptions): Promise<WitnessService> {
    const config = await readWitnessFolderConfig(options.dir);
    const closers: (() => Promise<void> | void)[] = [];
    const closeAll = async (): Promise<void> => {
      for (const close of closers.reverse()) await close();
    };
    try {
      let store: CasStore;
      if (options.databaseUrl !== undefined) {
        const pool = openPgPool(options.databaseUrl);
        closers.push(() => pool.end());
        store = await PgCasStore.open(pool);
      } else {
        const db = openSqlite(join(options.dir, 'state.db'));
        closers.push(() => db.close());
        store = new SqliteCasStore(db);
      }
      const evidence = new FsBlobStore(join(options.dir, 'evidence'));
      const witness = new Witness({
        name: config.name,
        keys: [options.key],
        logs: await configuredLogs(options.dir, config, options.log),
        store,
        now: options.now ?? (() => BigInt(Math.floor(Date.now() / 1000))),
        evidence: (record) => recordEvidence(evidence, record),
        ...(options.log === undefined ? {} : { log: options.log }),
      });
      if (witness.vkeys[0] !== config.vkey) {
        throw new VouchError(
          'bad-key',
          `the key file is not the witness key ${config.vkey} of ${configFile}`,
        );
      }
      return new WitnessService(config, witness, closers);
    } catch (error) {
      await closeAll();
      throw error;
    }
  }

  /** close closes the state store. */
  async close(): Promise<void> {
    for (const close of this.#closers.reverse()) await close();
    this.#closers.length = 0;
  }
}

/**
 * configuredLogs returns the running witness's view of the configured logs. An origin it does not
 * know rereads the configuration, only when the file changed since the last read; a reload adds
 * new logs and never removes or re-keys a known one in the running process (a hand edit that
 * tries is logged and ignored until a restart).
 */
async function configuredLogs(
  dir: string,
  config: WitnessFolderConfig,
  log: ((line: string) => void) | undefined,
): Promise<WitnessLogs> {
  const keysOf = (l: WitnessedLog): string => [...new Set(l.vkeys)].sort().join(' ');
  const known = new Map(config.logs.map((l) => [l.origin, keysOf(l)]));
  let verifiers = logsFromConfig(config.logs);
  let version = await configVersion(dir);
  return async (origin) => {
    const found = verifiers.get(origin);
    if (found !== undefined) return found;
    const current = await configVersion(dir);
    if (current === version) return undefined;
    let reloaded: WitnessFolderConfig;
    try {
      reloaded = await readWitnessFolderConfig(dir);
    } catch (error) {
      log?.(`could not reload ${configFile}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
    version = current;
    const added = reloaded.logs.filter((l) => {
      const keys = known.get(l.origin);
      if (keys !== undefined && keys !== keysOf(l)) {
        log?.(`${configFile} gives the log ${JSON.stringify(l.origin)} other keys; ignored while running`);
      }
      return keys === undefined;
    });
    for (const l of added) known.set(l.origin, keysOf(l));
    verifiers = new Map([...verifiers, ...logsFromConfig(added)]);
    return verifiers.get(origin);
  };
}

/**
 * recordEvidence stores a misbehaviour record as `evidence/<origin hash>/<record hash>.json`:
 * content-addressed, so a repeated request is stored once, and immutable once written.
 */
async function recordEvidence(store: FsBlobStore, record: WitnessEvidence): Promise<void> {
  const bytes = formatJson({
    kind: record.kind,
    origin: record.origin,
    size: record.size.toString(),
    cosigned: new TextDecoder().decode(record.cosigned),
    submitted: new TextDecoder().decode(record.submitted),
  });
  await store.put(`${originHashOf(record.origin)}/${formatHex(sha256(bytes))}.json`, bytes);
}

// configVersion identifies the configuration file's current content cheaply, by its metadata.
async function configVersion(dir: string): Promise<string> {
  try {
    const info = await stat(join(dir, configFile));
    return `${info.mtimeMs}/${info.size}/${info.ino}`;
  } catch {
    return 'missing';
  }
}

function formatConfig(config: WitnessFolderConfig): Uint8Array {
  return toBytes(`${JSON.stringify(config, null, 2)}\n`);
}

// validateConfig checks every field and throws `malformed` naming all the bad ones.
function validateConfig(config: WitnessFolderConfig, path: string, known: readonly string[] = []): void {
  const problems = [...known];
  if (typeof config.name !== 'string' || config.name === '') problems.push('name');
  if (typeof config.key !== 'string' || config.key === '') problems.push('key');
  try {
    const key = parseVerifierKey(config.vkey);
    if ((key.type !== 0x04 && key.type !== 0x06) || key.name !== config.name) problems.push('vkey');
  } catch {
    problems.push('vkey');
  }
  {
    const origins = new Set<string>();
    config.logs.forEach((log, i) => {
      if (!isOrigin(log.origin) || origins.has(log.origin)) problems.push(`logs[${i}].origin`);
      origins.add(log.origin);
      if (log.vkeys.length === 0) problems.push(`logs[${i}].vkeys`);
      log.vkeys.forEach((vkey, j) => {
        try {
          createCheckpointVerifier(vkey);
        } catch {
          problems.push(`logs[${i}].vkeys[${j}]`);
        }
      });
    });
  }
  if (problems.length > 0) {
    throw new VouchError('malformed', `${path} has bad fields: ${problems.join(', ')}`, { fields: problems });
  }
}

// isOrigin reports whether `origin` can be the first line of a checkpoint.
function isOrigin(origin: unknown): origin is string {
  if (typeof origin !== 'string') return false;
  try {
    formatCheckpoint({ origin, size: 0n, root: new Uint8Array(32), extensions: [] });
    return true;
  } catch (error) {
    if (isVouchError(error)) return false;
    throw error;
  }
}
