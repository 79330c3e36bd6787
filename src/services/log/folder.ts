/**
 * A log's home on disk and its running service. `DIR/log.json` holds the configuration,
 * `DIR/tiles/` the public files (serve that folder as is from any web server or CDN), and
 * `DIR/state.db` the sequencing state and the checkpoint cell — or PostgreSQL, when a
 * database URL is given, for scale-out.
 *
 * {@link LogService} holds the sequencing lease before it sequences anything: of several
 * processes started on one log, one sequences and the others serve reads and wait, taking over
 * when the holder's lease expires (PostgreSQL) or the holder dies (embedded: a process lock the
 * operating system drops at once, so a crashed server never blocks its restart). The lease is for efficiency; the checkpoint cell's
 * compare-and-swap is what keeps two sequencers from forking the log.
 */

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { toBytes } from '../../core/bytes/index.ts';
import { VouchError } from '../../core/errors.ts';
import { parseJson } from '../../core/json/index.ts';
import { formatVerifierKey, type NoteSigner } from '../../core/note/index.ts';
import { createCosignatureVerifier } from '../../core/tlog/cosignature.ts';
import { type Policy, parsePolicy } from '../../core/tlog/policy.ts';
import { evaluateQuorum } from '../../core/tlog/quorum.ts';
import type { CasCell } from '../../storage/cas.ts';
import { FsBlobStore } from '../../storage/fs/blob.ts';
import { mkdirDurable, writeFileDurable } from '../../storage/fs/durable.ts';
import { PgCasStore } from '../../storage/postgres/pg-cas.ts';
import { PgSequenceStore } from '../../storage/postgres/pg-sequence.ts';
import { openPgPool } from '../../storage/postgres/pool.ts';
import type { SequenceStore } from '../../storage/sequence.ts';
import { openSqlite } from '../../storage/sqlite/database.ts';
import { ProcessLock } from '../../storage/sqlite/process-lock.ts';
import { SqliteCasStore } from '../../storage/sqlite/sqlite-cas.ts';
import { SqliteSequenceStore } from '../../storage/sqlite/sqlite-sequence.ts';
import { Log, type LogOptions } from './log.ts';
import { WitnessCollector } from './witnesses.ts';

/** LogFolderConfig is `DIR/log.json`; each key documents itself. */
export interface LogFolderConfig {
  /** origin is the log's identity and the name of its key. */
  readonly origin: string;
  /** key is the path of the log's private key file, relative to DIR unless absolute. */
  readonly key: string;
  /** vkey is the log's public verifier key, for clients (`vouch log verify --vkey`). */
  readonly vkey: string;
  /** batchSize is the most entries in one sequencing round. */
  readonly batchSize: number;
  /** batchAgeMs is how long the first entry of a round waits for others. */
  readonly batchAgeMs: number;
  /** maxPending bounds entries waiting in memory before `add` pushes back with 503. */
  readonly maxPending: number;
  /** dedup returns the first index for an identical entry instead of logging it again. */
  readonly dedup: boolean;
  /**
   * policy, if set, is a C2SP tlog-policy file (relative to DIR unless absolute) naming the
   * witnesses (with their submission URLs) and the quorum: a checkpoint is published only once
   * that quorum has cosigned it.
   */
  readonly policy?: string;
}

const configFile = 'log.json';

/** initLogFolder writes a new log's configuration; it refuses a folder that already holds one. */
export async function initLogFolder(
  dir: string,
  config: Pick<LogFolderConfig, 'origin' | 'key' | 'vkey'> & Partial<LogFolderConfig>,
): Promise<LogFolderConfig> {
  const full: LogFolderConfig = {
    batchSize: 256,
    batchAgeMs: 10,
    maxPending: 16_384,
    dedup: false,
    ...config,
  };
  await mkdirDurable(join(dir, 'tiles'));
  try {
    await writeFileDurable(join(dir, configFile), toBytes(`${JSON.stringify(full, null, 2)}\n`), {
      exclusive: true,
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') {
      throw new VouchError(
        'invalid-argument',
        `${join(dir, configFile)} already exists: this folder holds a log`,
      );
    }
    throw error;
  }
  return full;
}

/** readLogFolderConfig reads and validates `DIR/log.json`. */
export async function readLogFolderConfig(dir: string): Promise<LogFolderConfig> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, configFile));
  } catch {
    throw new VouchError(
      'not-found',
      `${join(dir, configFile)} is missing; create the log with vouch log init`,
    );
  }
  const value = parseJson(bytes, { maxBytes: 64 * 1024 }) as Record<string, unknown>;
  const problems: string[] = [];
  const str = (k: string): string => {
    const v = value[k];
    if (typeof v === 'string' && v !== '') return v;
    problems.push(k);
    return '';
  };
  const int = (k: string, min: number, max: number): number => {
    const v = value[k];
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    problems.push(k);
    return min;
  };
  const bool = (k: string): boolean => {
    const v = value[k];
    if (typeof v === 'boolean') return v;
    problems.push(k);
    return false;
  };
  const policy = value.policy;
  if (policy !== undefined && (typeof policy !== 'string' || policy === '')) problems.push('policy');
  const config: LogFolderConfig = {
    ...(typeof policy === 'string' && policy !== '' ? { policy } : {}),
    origin: str('origin'),
    key: str('key'),
    vkey: str('vkey'),
    batchSize: int('batchSize', 1, 4096),
    batchAgeMs: int('batchAgeMs', 0, 60_000),
    maxPending: int('maxPending', 1, 10_000_000),
    dedup: bool('dedup'),
  };
  if (problems.length > 0) {
    throw new VouchError('malformed', `${join(dir, configFile)} has bad fields: ${problems.join(', ')}`, {
      fields: problems,
    });
  }
  return config;
}

/** keyPathOf resolves the configured key path against the log folder. */
export function keyPathOf(dir: string, config: LogFolderConfig): string {
  return isAbsolute(config.key) ? config.key : join(dir, config.key);
}

/**
 * readLogPolicy reads the folder's witness policy, if it has one, and checks that it trusts this
 * log's key for this origin and that every witness it names has a submission URL.
 */
export async function readLogPolicy(dir: string, config: LogFolderConfig): Promise<Policy | undefined> {
  if (config.policy === undefined) return undefined;
  const path = isAbsolute(config.policy) ? config.policy : join(dir, config.policy);
  const policy = parsePolicy(new Uint8Array(await readFile(path)));
  if (
    !policy.logs.some((log) => log.key.name === config.origin && formatVerifierKey(log.key) === config.vkey)
  ) {
    throw new VouchError(
      'invalid-argument',
      `the policy ${path} does not list this log's key for ${config.origin}`,
    );
  }
  const missing = policy.witnesses.filter((w) => w.url === undefined).map((w) => w.name);
  if (missing.length > 0) {
    throw new VouchError(
      'invalid-argument',
      `the policy ${path} gives no URL for witnesses ${missing.join(', ')}`,
    );
  }
  return policy;
}

/** witnessCollectorFor builds the collector a log uses to get its checkpoints cosigned under `policy`. */
export function witnessCollectorFor(
  policy: Policy,
  files: FsBlobStore,
  log?: (line: string) => void,
): WitnessCollector {
  return new WitnessCollector({
    witnesses: policy.witnesses.map((w) => ({
      name: w.name,
      verifier: createCosignatureVerifier(formatVerifierKey(w.key)),
      url: w.url as string,
    })),
    isQuorum: (cosigned) => evaluateQuorum(policy, cosigned).met,
    files,
    ...(log === undefined ? {} : { log }),
  });
}

/** LogServiceOptions: the folder, its key, and optionally PostgreSQL for the sequencing state. */
export interface LogServiceOptions {
  readonly dir: string;
  readonly signer: NoteSigner;
  readonly databaseUrl?: string;
  /** leaseMs is how long a sequencing lease lasts without renewal (default 10 s). */
  readonly leaseMs?: number;
  readonly log?: (line: string) => void;
  /** cosign is passed to the log (see LogOptions.cosign); by default the folder's policy decides. */
  readonly cosign?: LogOptions['cosign'];
}

/** LogService runs one log folder: it waits for the lease, then sequences while it holds it. */
export class LogService {
  readonly config: LogFolderConfig;
  readonly files: FsBlobStore;
  readonly #sequence: SequenceStore;
  readonly #cell: CasCell;
  readonly #options: LogServiceOptions;
  readonly #holder = randomBytes(8).toString('hex');
  readonly #closers: (() => Promise<void> | void)[] = [];
  #log: Log | undefined;
  /** The embedded mode's lease: a lock the operating system drops when this process dies. */
  #lock: ProcessLock | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #busy = false;

  private constructor(
    config: LogFolderConfig,
    stores: { sequence: SequenceStore; cell: CasCell },
    options: LogServiceOptions,
  ) {
    this.config = config;
    this.files = new FsBlobStore(join(options.dir, 'tiles'));
    this.#sequence = stores.sequence;
    this.#cell = stores.cell;
    this.#options = options;
  }

  /** start opens the folder's stores and begins competing for the lease; it returns at once. */
  static async start(options: LogServiceOptions): Promise<LogService> {
    const config = await readLogFolderConfig(options.dir);
    const closers: (() => Promise<void> | void)[] = [];
    let lock: ProcessLock | undefined;
    let sequence: SequenceStore;
    let cell: CasCell;
    if (options.databaseUrl !== undefined) {
      const pool = openPgPool(options.databaseUrl);
      closers.push(() => pool.end());
      sequence = await PgSequenceStore.open(pool, config.origin);
      cell = (await PgCasStore.open(pool)).cell(`log/${config.origin}/checkpoint`);
    } else {
      const db = openSqlite(join(options.dir, 'state.db'));
      closers.push(() => db.close());
      lock = new ProcessLock(join(options.dir, 'sequencer.lock'));
      sequence = new SqliteSequenceStore(db, config.origin);
      cell = new SqliteCasStore(db).cell('log/checkpoint');
    }
    const service = new LogService(config, { sequence, cell }, options);
    service.#lock = lock;
    service.#closers.push(...closers);
    const policy = await readLogPolicy(options.dir, config);
    if (policy !== undefined && options.cosign === undefined) {
      service.witnesses = witnessCollectorFor(policy, service.files, options.log);
    }
    await service.#tick();
    const leaseMs = options.leaseMs ?? 10_000;
    service.#timer = setInterval(() => void service.#tick(), Math.max(50, Math.floor(leaseMs / 3)));
    return service;
  }

  /** witnesses collects cosignatures when the folder has a witness policy; it reports who is missing. */
  witnesses: WitnessCollector | undefined;

  #cosign(): Pick<LogOptions, 'cosign'> {
    if (this.#options.cosign !== undefined) return { cosign: this.#options.cosign };
    const witnesses = this.witnesses;
    return witnesses === undefined ? {} : { cosign: (note) => witnesses.cosign(note) };
  }

  /** log is the running log while this process holds the lease, otherwise undefined. */
  get log(): Log | undefined {
    return this.#log;
  }

  async #tick(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    const say = this.#options.log ?? (() => undefined);
    try {
      const held =
        this.#lock !== undefined
          ? this.#lock.tryAcquire()
          : await this.#sequence.lease(this.#holder, this.#options.leaseMs ?? 10_000);
      if (held && this.#log === undefined) {
        this.#log = await Log.open({
          origin: this.config.origin,
          signer: this.#options.signer,
          files: this.files,
          checkpoint: this.#cell,
          sequence: this.#sequence,
          batchSize: this.config.batchSize,
          batchAgeMs: this.config.batchAgeMs,
          maxPending: this.config.maxPending,
          dedup: this.config.dedup,
          log: say,
          ...this.#cosign(),
        });
        say(`log ${this.config.origin}: sequencing from size ${this.#log.head.checkpoint.size}`);
      } else if (!held && this.#log !== undefined) {
        say(`log ${this.config.origin}: lost the sequencing lease; waiting`);
        const log = this.#log;
        this.#log = undefined;
        await log.close();
      }
    } catch (error) {
      say(`log ${this.config.origin}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.#busy = false;
    }
  }

  /** close stops sequencing, releases the lease and closes the stores. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    while (this.#busy) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.#log?.close();
    this.#log = undefined;
    this.#lock?.release();
    await this.#sequence.release(this.#holder).catch(() => undefined);
    for (const close of this.#closers.reverse()) await close();
  }
}
