/**
 * A data site opened from its folder (docs/sites.md "Running a site"): the verified site
 * registry, this site's entry in it, the tenant directory and endpoint credentials, the site's
 * key-encryption key, the Cedar policy engine and the site store (SQLite or PostgreSQL). The
 * gateway (ingest.ts), and the export, erasure and ledgered-read services, work on a {@link Site}.
 *
 * Keys: the KEK is read once from its 0600 file; tenant data keys are unwrapped on first use and
 * kept in memory as prepared AES keys ({@link Site.dataKey}); nothing here writes an unwrapped key
 * anywhere. A tenant erased by another process keeps its cached key in this one until
 * {@link Site.forgetKey}, but the store refuses every batch of an erased tenant in the same
 * transaction that would store it, so no event is ever written after the erasure.
 *
 * Directory and credentials are watched ({@link WatchedFile}): at most once a second per file, a
 * lookup (hit or miss) stats the file and re-reads it when its inode, size or modification time
 * changed. So a tenant or endpoint added by `vouch site add-*` is picked up, a removed token stops
 * working, and a migration recorded for a tenant already seen redirects it, within a second and
 * without a restart (a stale directory would store a migrated tenant's data at its old site). The
 * fast path is one clock read; a file that no longer reads or parses fails every lookup (fail
 * closed) until it does again.
 * Registering a tenant here writes the store first and the directory second: a crash in between
 * leaves a tenant with a key but no directory entry, and running the same `add-tenant` again
 * completes it.
 */

import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatEnvelope } from '../../core/attest/index.ts';
import {
  type AeadKey,
  aeadKeyLength,
  createSigner,
  generateDataKey,
  generateKey,
  importAeadKey,
  type Verifier,
} from '../../core/crypto/index.ts';
import { VouchError } from '../../core/errors.ts';
import { formatVerifierKey, signatureTypes, verifierOfVkey } from '../../core/note/index.ts';
import {
  approvalKeyProblem,
  decideTenantSite,
  defaultSiteRegistry,
  endpointIdProblem,
  formatTenantRecord,
  formatTime,
  type MigrationRecord,
  newTenant,
  type OpenedRegistry,
  openRegistry,
  type Site as RegistrySite,
  signRegistry,
  siteCountry,
  siteForCountry,
  siteOf,
  type TenantRecord,
  type TenantSiteDecision,
  unwrapTenantKey,
  wrapTenantKey,
} from '../../core/sites/index.ts';
import { mkdirDurable, writeFileDurable } from '../../storage/fs/durable.ts';
import { readKeyFileBytes } from '../../storage/fs/key-file.ts';
import { PgSiteStore } from '../../storage/postgres/pg-site.ts';
import { openPgPool, type PgPool } from '../../storage/postgres/pool.ts';
import type { SiteStore } from '../../storage/site.ts';
import { SqliteSiteStore } from '../../storage/sqlite/sqlite-site.ts';
import type { PolicyEngine } from '../policy/decide.ts';
import { loadPolicyFolder } from '../policy/files.ts';
import {
  type EndpointCredential,
  formatEndpoints,
  formatSiteConfig,
  formatTenantDirectory,
  isPostgresUrl,
  maxDirectoryBytes,
  maxSiteConfigBytes,
  parseEndpoints,
  parseSiteConfig,
  parseTenantDirectory,
  readBoundedFile,
  resolveIn,
  type SiteConfig,
  siteConfigFileName,
  type TenantDirectory,
  writeSiteFile,
} from './config.ts';

const reloadIntervalMs = 1000;

/** maxTokenLength bounds an endpoint token as presented in `Authorization: Bearer`. */
export const maxTokenLength = 256;

/** OpenSiteOptions adjust {@link openSite}. */
export interface OpenSiteOptions {
  /** now is the clock in milliseconds (default Date.now). */
  readonly now?: () => number;
  /** testingOnlyStore replaces the store the configuration names (the configured one is not opened). */
  readonly testingOnlyStore?: SiteStore;
}

/** tokenDigest returns the lowercase hex SHA-256 of a token, as `endpoints.json` stores it. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'latin1').digest('hex');
}

/** Site is one opened site; see the module comment. Close it with {@link Site.close}. */
export class Site {
  /** dir is the site folder. */
  readonly dir: string;
  readonly config: SiteConfig;
  /** id is this site's id. */
  readonly id: string;
  /** country is this site's ISO 3166-1 country (from its id). */
  readonly country: string;
  readonly registry: OpenedRegistry;
  /** entry is this site's entry in the registry (class and URL). */
  readonly entry: RegistrySite;
  readonly policy: PolicyEngine;
  readonly store: SiteStore;
  readonly #kek: AeadKey;
  readonly #pool: PgPool | undefined;
  readonly #now: () => number;
  readonly #keys = new Map<string, AeadKey>();
  readonly #directory: WatchedFile<DirectoryView>;
  readonly #credentials: WatchedFile<Map<string, EndpointCredential>>;

  private constructor(parts: {
    dir: string;
    config: SiteConfig;
    registry: OpenedRegistry;
    entry: RegistrySite;
    policy: PolicyEngine;
    store: SiteStore;
    kek: AeadKey;
    pool: PgPool | undefined;
    now: () => number;
    directory: WatchedFile<DirectoryView>;
    credentials: WatchedFile<Map<string, EndpointCredential>>;
  }) {
    this.dir = parts.dir;
    this.config = parts.config;
    this.id = parts.config.site;
    this.country = siteCountry(parts.config.site);
    this.registry = parts.registry;
    this.entry = parts.entry;
    this.policy = parts.policy;
    this.store = parts.store;
    this.#kek = parts.kek;
    this.#pool = parts.pool;
    this.#now = parts.now;
    this.#directory = parts.directory;
    this.#credentials = parts.credentials;
  }

  /** open is {@link openSite}. */
  static async open(dir: string, options: OpenSiteOptions = {}): Promise<Site> {
    const now = options.now ?? Date.now;
    const configPath = join(dir, siteConfigFileName);
    const config = parseSiteConfig(await readBoundedFile(configPath, maxSiteConfigBytes));
    const at = (path: string): string => resolveIn(configPath, path);
    const registry = openRegistry(
      await readBoundedFile(at(config.registry), 256 * 1024),
      registryVerifiers(config.registryKeys),
      { minVersion: config.registryMinVersion, threshold: config.registryThreshold },
    );
    const entry = siteOf(registry.registry, config.site);
    const kek = await readKek(at(config.kek));
    const policy = await loadPolicyFolder(config.policies === undefined ? undefined : at(config.policies));
    const directory = await WatchedFile.load(at(config.tenants), directoryView, now);
    const credentials = await WatchedFile.load(at(config.endpoints), credentialMap, now);
    let store = options.testingOnlyStore;
    let pool: PgPool | undefined;
    if (store === undefined) {
      if (isPostgresUrl(config.database)) {
        pool = openPgPool(config.database, 10);
        try {
          store = await PgSiteStore.open(
            pool,
            config.databaseSchema === undefined ? {} : { schema: config.databaseSchema },
          );
        } catch (error) {
          await pool.end().catch(() => undefined);
          throw error;
        }
      } else {
        store = SqliteSiteStore.open(at(config.database));
      }
    }
    return new Site({
      dir,
      config,
      registry,
      entry,
      policy,
      store,
      kek,
      pool,
      now,
      directory,
      credentials,
    });
  }

  /** configPath returns the absolute path of a file the configuration names. */
  configPath(path: string): string {
    return resolveIn(join(this.dir, siteConfigFileName), path);
  }

  /**
   * tenant returns the directory's record of a tenant, or undefined, after re-reading the
   * directory if it changed (checked at most once a second). Call it before {@link decide} so the
   * decision sees the current migrations.
   */
  async tenant(id: string): Promise<TenantRecord | undefined> {
    return (await this.#directory.current()).tenants.get(id);
  }

  /** tenants lists the directory's records as last read, by id. */
  tenants(): TenantRecord[] {
    return [...this.#directory.value.tenants.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** migrations returns the directory's migration records of one tenant as last read, in directory order. */
  migrationsOf(id: string): MigrationRecord[] {
    return this.#directory.value.migrations.filter((m) => m.tenant === id);
  }

  /** decide returns where `tenant` lives under this site's registry (decideTenantSite with its migrations). */
  decide(tenant: TenantRecord): TenantSiteDecision {
    return decideTenantSite(tenant, this.registry.registry, this.migrationsOf(tenant.id));
  }

  /**
   * authenticate maps a bearer token to its endpoint credential, or returns undefined, after
   * re-reading the credentials if they changed (checked at most once a second): a token removed
   * from `endpoints.json` stops working within a second. Only the token's SHA-256 is compared.
   */
  async authenticate(token: string): Promise<EndpointCredential | undefined> {
    if (token.length === 0 || token.length > maxTokenLength) return undefined;
    const digest = tokenDigest(token);
    return (await this.#credentials.current()).get(digest);
  }

  /**
   * dataKey returns a tenant's data key prepared for AES-GCM, unwrapping it with the KEK on first
   * use. It throws `not-found` for a tenant not registered here or erased, and `bad-digest` when
   * the wrapped key does not open under this site's KEK for this site and tenant.
   */
  async dataKey(tenant: string): Promise<AeadKey> {
    const cached = this.#keys.get(tenant);
    if (cached !== undefined) return cached;
    const stored = await this.store.getTenant(tenant);
    if (stored === undefined || stored.wrappedKey === undefined) {
      throw new VouchError(
        'not-found',
        `tenant ${tenant} has no data key at site ${this.id} (not registered here, or erased)`,
        {
          key: tenant,
        },
      );
    }
    const raw = unwrapTenantKey(this.#kek, stored.wrappedKey, { tenant, site: this.id });
    const key = importAeadKey(raw);
    raw.fill(0);
    this.#keys.set(tenant, key);
    return key;
  }

  /** forgetKey drops a tenant's cached data key (after an erasure, or a `not-found` from the store). */
  forgetKey(tenant: string): void {
    this.#keys.delete(tenant);
  }

  /**
   * addTenant registers a tenant whose contract country maps to this site: a fresh data key
   * wrapped by the KEK goes to the store, the record to the directory. It throws
   * `invalid-argument` naming the other site when the country maps elsewhere, unless `elsewhere`
   * is set: then the record goes to the directory only (so this gateway can redirect the
   * tenant's agents) and no key is made. Registering the same tenant again is a no-op; a
   * different record under a known id is `conflict`.
   */
  async addTenant(
    input: {
      readonly id: string;
      readonly name?: string;
      readonly contractCountry: string;
      readonly approvalKey?: string;
      readonly approvalRequired?: boolean;
    },
    options: { readonly elsewhere?: boolean } = {},
  ): Promise<{ record: TenantRecord; stored: boolean }> {
    if (input.approvalKey !== undefined) {
      const why = approvalKeyProblem(input.approvalKey);
      if (why !== undefined)
        throw new VouchError('invalid-argument', `--approval-vkey is ${why}`, { field: 'approvalKey' });
    }
    const registry = this.registry.registry;
    const assignment = siteForCountry(registry, input.contractCountry);
    const here = assignment.site === this.id;
    if (!here && options.elsewhere !== true) {
      throw new VouchError(
        'invalid-argument',
        `tenant ${input.id}'s contract country ${assignment.country} maps to site ${assignment.site} (${assignment.url}), not ${this.id}; register it there`,
        { field: 'contractCountry', site: assignment.site, url: assignment.url },
      );
    }
    if (here && options.elsewhere === true) {
      throw new VouchError(
        'invalid-argument',
        `tenant ${input.id}'s country maps to this site; register it without --elsewhere`,
      );
    }
    const current = await this.#directory.reload();
    const known = current.tenants.get(input.id);
    const record =
      known ??
      newTenant(
        {
          id: input.id,
          name: input.name ?? input.id,
          contractCountry: input.contractCountry,
          ...(input.approvalKey === undefined ? {} : { approvalKey: input.approvalKey }),
          approvalRequired: input.approvalRequired ?? false,
          created: formatTime(Math.floor(this.#now() / 1000)),
        },
        registry,
      );
    if (
      known !== undefined &&
      (known.contractCountry !== assignment.country ||
        known.approvalKey !== input.approvalKey ||
        known.approvalRequired !== (input.approvalRequired ?? false))
    ) {
      throw new VouchError('conflict', `tenant ${input.id} is already registered with other details`, {
        key: input.id,
      });
    }
    let stored = false;
    if (here) {
      const existing = await this.store.getTenant(input.id);
      if (existing === undefined) {
        const dataKey = generateDataKey();
        const wrappedKey = wrapTenantKey(this.#kek, dataKey, { tenant: input.id, site: this.id });
        dataKey.fill(0);
        await this.store.putTenant({
          tenant: input.id,
          record: formatTenantRecord(record),
          wrappedKey,
          erasedAt: undefined,
        });
        stored = true;
      } else if (existing.wrappedKey === undefined) {
        throw new VouchError('conflict', `tenant ${input.id} was erased at this site; its id is not reused`, {
          key: input.id,
        });
      }
    }
    if (known === undefined) {
      const directory = { tenants: [...current.tenants.values(), record], migrations: current.migrations };
      await writeSiteFile(this.#directory.path, formatTenantDirectory(directory));
      await this.#directory.reload();
    }
    return { record, stored };
  }

  /**
   * addEndpoint issues a credential for an endpoint of a tenant in the directory and returns
   * the token, which is shown once: only its SHA-256 is written. It throws `not-found` for an
   * unknown tenant and `conflict` for an endpoint id already issued.
   */
  async addEndpoint(tenant: string, endpoint: string): Promise<string> {
    const why = endpointIdProblem(endpoint);
    if (why !== undefined)
      throw new VouchError('invalid-argument', `endpoint id is ${why}`, { field: 'endpoint' });
    if (!(await this.#directory.reload()).tenants.has(tenant)) {
      throw new VouchError('not-found', `tenant ${tenant} is not in this site's tenant directory`, {
        key: tenant,
      });
    }
    const all = [...(await this.#credentials.reload()).values()];
    if (all.some((c) => c.endpoint === endpoint)) {
      throw new VouchError('conflict', `endpoint ${endpoint} already has a credential`, { key: endpoint });
    }
    const token = `vouch-et-${randomBytes(32).toString('base64url')}`;
    const credential = Object.freeze({ endpoint, tenant, tokenSha256: tokenDigest(token) });
    await writeSiteFile(this.#credentials.path, formatEndpoints([...all, credential]));
    await this.#credentials.reload();
    return token;
  }

  /** close closes the store (and the PostgreSQL pool this site opened). */
  async close(): Promise<void> {
    this.#keys.clear();
    await this.store.close();
    if (this.#pool !== undefined) await this.#pool.end();
  }
}

/** DirectoryView is `tenants.json` as the gateway looks it up: records by id, and the migrations. */
interface DirectoryView {
  readonly tenants: ReadonlyMap<string, TenantRecord>;
  readonly migrations: readonly MigrationRecord[];
}

function directoryView(bytes: Uint8Array): DirectoryView {
  const directory: TenantDirectory = parseTenantDirectory(bytes);
  return { tenants: new Map(directory.tenants.map((t) => [t.id, t])), migrations: directory.migrations };
}

function credentialMap(bytes: Uint8Array): Map<string, EndpointCredential> {
  return new Map(parseEndpoints(bytes).map((c) => [c.tokenSha256, c]));
}

/** fileStamp identifies a version of a file: device, inode, size, and change and modification times in nanoseconds. */
async function fileStamp(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new VouchError('not-found', `no file at ${path}`, { key: path });
    }
    throw error;
  }
}

/**
 * WatchedFile holds the parsed contents of one site folder file and re-reads it when it changed.
 * {@link WatchedFile.current} checks at most once per {@link reloadIntervalMs} (so the fast path
 * is one clock read and a comparison); a check stats the file and reads and parses it only when
 * the stamp differs. Concurrent lookups share one check, and a check that finishes after a later
 * one does not overwrite the later one's result. The stamp is taken before the read, so a write
 * racing the read shows up as a change at the next check. A failed read or parse is kept and
 * thrown by every lookup until a later check succeeds: lookups fail closed rather than answer
 * from contents the operator has replaced.
 */
class WatchedFile<T> {
  readonly path: string;
  readonly #parse: (bytes: Uint8Array) => T;
  readonly #now: () => number;
  #value: T;
  #stamp: string;
  #checked: number;
  #failure: unknown;
  #pending: Promise<T> | undefined;
  #started = 0;
  #applied = 0;

  private constructor(
    path: string,
    parse: (bytes: Uint8Array) => T,
    now: () => number,
    value: T,
    stamp: string,
  ) {
    this.path = path;
    this.#parse = parse;
    this.#now = now;
    this.#value = value;
    this.#stamp = stamp;
    this.#checked = now();
  }

  /** load reads and parses the file once (errors propagate: a site does not open without it). */
  static async load<T>(
    path: string,
    parse: (bytes: Uint8Array) => T,
    now: () => number,
  ): Promise<WatchedFile<T>> {
    const stamp = await fileStamp(path);
    const value = parse(await readBoundedFile(path, maxDirectoryBytes));
    return new WatchedFile(path, parse, now, value, stamp);
  }

  /** value is the contents as last read successfully (no check). */
  get value(): T {
    return this.#value;
  }

  /** current returns the contents, first re-reading the file if a check is due and it changed. */
  current(): Promise<T> | T {
    if (this.#pending !== undefined) return this.#pending;
    if (this.#now() - this.#checked < reloadIntervalMs) {
      if (this.#failure !== undefined) throw this.#failure;
      return this.#value;
    }
    return this.#start();
  }

  /**
   * reload checks the file now, whatever the interval (for the `add-*` commands, which read
   * before they write and after), after any check already running.
   */
  async reload(): Promise<T> {
    if (this.#pending !== undefined) await this.#pending.catch(() => undefined);
    return this.#start();
  }

  #start(): Promise<T> {
    const run = this.#check(++this.#started);
    this.#pending = run;
    const clear = (): void => {
      if (this.#pending === run) this.#pending = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  async #check(sequence: number): Promise<T> {
    this.#checked = this.#now();
    try {
      const stamp = await fileStamp(this.path);
      if (stamp === this.#stamp && this.#failure === undefined) return this.#value;
      const value = this.#parse(await readBoundedFile(this.path, maxDirectoryBytes));
      if (sequence > this.#applied) {
        this.#applied = sequence;
        this.#value = value;
        this.#stamp = stamp;
        this.#failure = undefined;
      }
      return value;
    } catch (error) {
      if (sequence > this.#applied) {
        this.#applied = sequence;
        this.#failure = error;
      }
      throw error;
    }
  }
}

/** openSite opens the site folder `dir` (its `site.json`); see {@link Site}. */
export function openSite(dir: string, options: OpenSiteOptions = {}): Promise<Site> {
  return Site.open(dir, options);
}

/** registryVerifiers turns the configuration's vkeys into DSSE verifiers; a bad vkey is `bad-key`. */
export function registryVerifiers(vkeys: readonly string[]): Verifier[] {
  return vkeys.map(verifierOfVkey);
}

async function readKek(path: string): Promise<AeadKey> {
  const bytes = await readKeyFileBytes(path);
  if (bytes.length !== aeadKeyLength) {
    throw new VouchError('bad-key', `${path} is not a ${aeadKeyLength}-byte key-encryption key`, {
      key: path,
    });
  }
  const key = importAeadKey(bytes);
  bytes.fill(0);
  return key;
}

/** InitSiteOptions are what `vouch site init` writes into a new site folder. */
export interface InitSiteOptions {
  readonly site: string;
  /** registry is the signed registry envelope (JSON bytes) to install. */
  readonly registry: Uint8Array;
  readonly registryKeys: readonly string[];
  /** database is a PostgreSQL URL; default a SQLite file `site.db` in the folder. */
  readonly database?: string;
  readonly databaseSchema?: string;
  readonly policies?: string;
  readonly listen?: string;
}

/**
 * initSite writes a new site folder: `site.json`, `registry.json`, an empty `tenants.json` and
 * `endpoints.json`, and a fresh KEK in `kek.key` (mode 0600). It verifies the registry against
 * the keys and that it names the site first, and refuses (`invalid-argument`) a folder that
 * already has a configuration or a KEK, so a KEK is never overwritten.
 */
export async function initSite(dir: string, options: InitSiteOptions): Promise<SiteConfig> {
  const opened = openRegistry(options.registry, registryVerifiers(options.registryKeys), { minVersion: 1 });
  siteOf(opened.registry, options.site);
  const config = parseSiteConfig(
    formatSiteConfig({
      site: options.site,
      registry: 'registry.json',
      registryKeys: [...options.registryKeys],
      registryThreshold: 1,
      registryMinVersion: opened.registry.version,
      tenants: 'tenants.json',
      endpoints: 'endpoints.json',
      kek: 'kek.key',
      database: options.database ?? 'site.db',
      ...(options.databaseSchema === undefined ? {} : { databaseSchema: options.databaseSchema }),
      ...(options.policies === undefined ? {} : { policies: options.policies }),
      listen: options.listen ?? '127.0.0.1:8480',
      maxInFlight: 8,
      retryAfterSeconds: 1,
    }),
  );
  const exclusive = async (name: string, bytes: Uint8Array, mode: number): Promise<void> => {
    try {
      await writeFileDurable(join(dir, name), bytes, { mode, exclusive: true });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EEXIST') {
        throw new VouchError(
          'invalid-argument',
          `${join(dir, name)} already exists; a site folder is initialised once`,
          {
            key: name,
          },
        );
      }
      throw error;
    }
  };
  await mkdirDurable(dir, 0o700);
  // The KEK first: if it exists, nothing else is touched.
  const kek = generateDataKey();
  await exclusive('kek.key', kek, 0o600);
  kek.fill(0);
  await exclusive('registry.json', options.registry, 0o644);
  await exclusive('tenants.json', formatTenantDirectory({ tenants: [], migrations: [] }), 0o600);
  await exclusive('endpoints.json', formatEndpoints([]), 0o600);
  await exclusive(siteConfigFileName, formatSiteConfig(config), 0o600);
  return config;
}

/** TestingOnlySiteFolderOptions describe a site folder for tests and benchmarks. */
export interface TestingOnlySiteFolderOptions {
  readonly site: string;
  readonly database?: string;
  readonly databaseSchema?: string;
  readonly neutralUrl?: string;
  readonly homeUrl?: string;
  /** tenants to register; `elsewhere` records another site's tenant in the directory only. */
  readonly tenants?: readonly {
    readonly id: string;
    readonly country: string;
    readonly elsewhere?: boolean;
  }[];
  /** endpoints to issue credentials for. */
  readonly endpoints?: readonly { readonly tenant: string; readonly endpoint: string }[];
  readonly maxInFlight?: number;
}

/**
 * testingOnlySiteFolder writes a site folder as `vouch site init`, `add-tenant` and
 * `add-endpoint` would, with the default registry signed by a throwaway key, and returns the
 * endpoint tokens by endpoint id. For tests and benchmarks only.
 */
export async function testingOnlySiteFolder(
  dir: string,
  options: TestingOnlySiteFolderOptions,
): Promise<{ tokens: Record<string, string>; registryKey: string }> {
  const signer = createSigner(registryTestKeyName, generateKey('ed25519'));
  const registryKey = formatVerifierKey({
    name: signer.name,
    type: signatureTypes.ed25519,
    publicKey: signer.publicKey,
  });
  const table = defaultSiteRegistry({
    ...(options.neutralUrl === undefined ? {} : { neutralUrl: options.neutralUrl }),
    ...(options.homeUrl === undefined ? {} : { homeUrl: options.homeUrl }),
  });
  await initSite(dir, {
    site: options.site,
    registry: formatEnvelope(await signRegistry(table, [signer])),
    registryKeys: [registryKey],
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.databaseSchema === undefined ? {} : { databaseSchema: options.databaseSchema }),
  });
  if (options.maxInFlight !== undefined) {
    const path = join(dir, siteConfigFileName);
    const config = parseSiteConfig(await readBoundedFile(path, maxSiteConfigBytes));
    await writeSiteFile(path, formatSiteConfig({ ...config, maxInFlight: options.maxInFlight }));
  }
  const site = await openSite(dir);
  const tokens: Record<string, string> = {};
  try {
    for (const t of options.tenants ?? []) {
      await site.addTenant({ id: t.id, contractCountry: t.country }, { elsewhere: t.elsewhere === true });
    }
    for (const e of options.endpoints ?? [])
      tokens[e.endpoint] = await site.addEndpoint(e.tenant, e.endpoint);
  } finally {
    await site.close();
  }
  return { tokens, registryKey };
}

const registryTestKeyName = 'site-registry.test.vouch.example';
