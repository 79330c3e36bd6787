/**
 * The files of a site folder (docs/sites.md "Running a site"): the configuration `site.json`,
 * the tenant directory `tenants.json` and the endpoint credentials `endpoints.json`. Each is
 * JSON read strictly — a byte bound first, unknown keys refused, every bad field named in one
 * `malformed` error — and written durably (temp file, fsync, rename). Paths in the configuration
 * are relative to the folder holding it.
 *
 * The tenant directory lists the tenant records (and migration records) this gateway knows:
 * those of tenants registered here, and those of other sites' tenants recorded only so that
 * their agents can be redirected (421) to the right site. Records are the canonical documents of
 * core/sites/tenants.ts written as JSON objects. The credentials file maps the SHA-256 of each
 * endpoint token to the endpoint id and its tenant; a token itself is never stored.
 *
 * LIMIT: the CLI edits these files by read-modify-write; two administrators editing one folder at
 * the same instant can lose one edit (run one `vouch site add-*` at a time).
 */

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { toBytes } from '../../core/bytes/index.ts';
import { tooLarge, VouchError } from '../../core/errors.ts';
import {
  formatCanonicalJson,
  isJsonArray,
  isJsonObject,
  type JsonValue,
  parseJson,
} from '../../core/json/index.ts';
import {
  endpointIdProblem,
  formatMigrationRecord,
  formatTenantRecord,
  type MigrationRecord,
  parseMigrationRecord,
  parseTenantRecord,
  siteIdProblem,
  type TenantRecord,
  tenantIdProblem,
} from '../../core/sites/index.ts';
import { writeFileDurable } from '../../storage/fs/durable.ts';

/** siteConfigFileName is the configuration's name inside a site folder. */
export const siteConfigFileName = 'site.json';

/** maxSiteConfigBytes bounds the configuration file. */
export const maxSiteConfigBytes = 64 * 1024;

/** maxDirectoryBytes bounds the tenant directory and the credentials file, each. */
export const maxDirectoryBytes = 16 * 1024 * 1024;

/**
 * SiteConfig is `site.json`. Keys (all required unless marked optional; paths relative to the
 * folder of the file):
 */
export interface SiteConfig {
  /** site: this site's id (`ch-zrh`); it must be a site of the registry. */
  readonly site: string;
  /** registry: the signed site registry, a DSSE envelope file (`registry.json`). */
  readonly registry: string;
  /** registryKeys: the signed-note vkeys trusted to sign the registry (1 to 16). */
  readonly registryKeys: readonly string[];
  /** registryThreshold: optional, how many of them must have signed (default 1). */
  readonly registryThreshold: number;
  /** registryMinVersion: optional, the lowest registry version accepted (default 1); raise it to refuse rollback. */
  readonly registryMinVersion: number;
  /** tenants: the tenant directory file (`tenants.json`). */
  readonly tenants: string;
  /** endpoints: the endpoint credentials file (`endpoints.json`). */
  readonly endpoints: string;
  /** kek: the site's 32-byte key-encryption key, a raw file of mode 0600 (`kek.key`). */
  readonly kek: string;
  /** database: a SQLite file path (`site.db`), or a `postgres://` / `postgresql://` URL of the site's own database. */
  readonly database: string;
  /** databaseSchema: optional, the PostgreSQL schema of the site's tables (default `vouch_site`). */
  readonly databaseSchema?: string;
  /** policies: optional, the Cedar policy folder (`default.cedar`, `vouch.cedarschema`); default the repository's. */
  readonly policies?: string;
  /** listen: optional, `HOST:PORT` to serve on (default `127.0.0.1:8480`). */
  readonly listen: string;
  /** maxInFlight: optional, batches accepted at once before answering 429 (default 8; each holds up to 1 MiB). */
  readonly maxInFlight: number;
  /** retryAfterSeconds: optional, the `Retry-After` of a 429 (default 1). */
  readonly retryAfterSeconds: number;
}

const configKeys = new Set([
  'site',
  'registry',
  'registryKeys',
  'registryThreshold',
  'registryMinVersion',
  'tenants',
  'endpoints',
  'kek',
  'database',
  'databaseSchema',
  'policies',
  'listen',
  'maxInFlight',
  'retryAfterSeconds',
]);

class Problems {
  readonly list: string[] = [];
  readonly fields: string[] = [];
  add(field: string, why: string): void {
    this.fields.push(field);
    this.list.push(`${field}: ${why}`);
  }
  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    throw new VouchError('malformed', `${what} is invalid: ${this.list.slice(0, 8).join('; ')}`, {
      field: this.fields[0],
      fields: this.fields,
      reasons: this.list,
    });
  }
}

function readJsonObject(bytes: Uint8Array, limit: number, what: string): Record<string, JsonValue> {
  if (bytes.length > limit) throw tooLarge(what, limit);
  const value = parseJson(bytes, { maxBytes: limit, maxDepth: 8 });
  if (!isJsonObject(value)) throw new VouchError('malformed', `${what} is not a JSON object`, { field: '$' });
  return value;
}

function str(o: Record<string, JsonValue>, key: string, p: Problems, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined) {
    if (!optional) p.add(key, 'missing');
    return undefined;
  }
  if (typeof v !== 'string' || v === '' || v.length > 4096) {
    p.add(key, 'not a non-empty string of at most 4096 characters');
    return undefined;
  }
  return v;
}

function int(o: Record<string, JsonValue>, key: string, p: Problems, fallback: number, max: number): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) {
    p.add(key, `not an integer from 1 to ${max}`);
    return fallback;
  }
  return v;
}

/** parseSiteConfig reads `site.json`; it throws `too-large`, or `malformed` naming every bad key. */
export function parseSiteConfig(bytes: Uint8Array): SiteConfig {
  const o = readJsonObject(bytes, maxSiteConfigBytes, 'site configuration');
  const p = new Problems();
  for (const key of Object.keys(o)) if (!configKeys.has(key)) p.add(key, 'unknown key');
  const site = str(o, 'site', p);
  if (site !== undefined) {
    const why = siteIdProblem(site);
    if (why !== undefined) p.add('site', why);
  }
  const keys = o['registryKeys'];
  const registryKeys: string[] = [];
  if (!isJsonArray(keys) || keys.length < 1 || keys.length > 16) {
    p.add('registryKeys', 'not an array of 1 to 16 verifier keys');
  } else {
    keys.forEach((k, i) => {
      if (typeof k !== 'string' || k === '' || k.length > 4096)
        p.add(`registryKeys[${i}]`, 'not a verifier key');
      else registryKeys.push(k);
    });
  }
  const listen = str(o, 'listen', p, true) ?? '127.0.0.1:8480';
  if (!/^(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d{1,5})$/.test(listen)) p.add('listen', 'not HOST:PORT');
  const schema = str(o, 'databaseSchema', p, true);
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    p.add('databaseSchema', 'not a plain lower-case identifier');
  }
  const config = {
    site: site ?? '',
    registry: str(o, 'registry', p) ?? '',
    registryKeys,
    registryThreshold: int(o, 'registryThreshold', p, 1, 16),
    registryMinVersion: int(o, 'registryMinVersion', p, 1, Number.MAX_SAFE_INTEGER),
    tenants: str(o, 'tenants', p) ?? '',
    endpoints: str(o, 'endpoints', p) ?? '',
    kek: str(o, 'kek', p) ?? '',
    database: str(o, 'database', p) ?? '',
    ...(schema === undefined ? {} : { databaseSchema: schema }),
    ...(o['policies'] === undefined ? {} : { policies: str(o, 'policies', p) ?? '' }),
    listen,
    maxInFlight: int(o, 'maxInFlight', p, 8, 1024),
    retryAfterSeconds: int(o, 'retryAfterSeconds', p, 1, 3600),
  };
  p.throwIfAny('site configuration');
  return Object.freeze(config);
}

/** formatSiteConfig returns `site.json`'s bytes (indented JSON); parseSiteConfig reads them back equal. */
export function formatSiteConfig(config: SiteConfig): Uint8Array {
  const bytes = toBytes(`${JSON.stringify(config, null, 2)}\n`);
  parseSiteConfig(bytes);
  return bytes;
}

/** isPostgresUrl tells a PostgreSQL URL from a SQLite path in {@link SiteConfig.database}. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//.test(database);
}

/** resolveIn returns `path` relative to the folder of the configuration file `configPath`. */
export function resolveIn(configPath: string, path: string): string {
  return isAbsolute(path) ? path : join(dirname(configPath), path);
}

/** TenantDirectory is `tenants.json`: the tenant records and migrations this gateway knows. */
export interface TenantDirectory {
  readonly tenants: readonly TenantRecord[];
  readonly migrations: readonly MigrationRecord[];
}

/** tenantDirectoryType is the `_type` of `tenants.json`. */
export const tenantDirectoryType = 'https://vouch.example/site-tenants/v1';

/** parseTenantDirectory reads `tenants.json`, checking every record as core/sites does and refusing a tenant listed twice. */
export function parseTenantDirectory(bytes: Uint8Array): TenantDirectory {
  const o = readJsonObject(bytes, maxDirectoryBytes, 'tenant directory');
  const p = new Problems();
  for (const key of Object.keys(o))
    if (!['_type', 'tenants', 'migrations'].includes(key)) p.add(key, 'unknown key');
  if (o['_type'] !== tenantDirectoryType) p.add('_type', `not ${tenantDirectoryType}`);
  const tenants: TenantRecord[] = [];
  const migrations: MigrationRecord[] = [];
  const seen = new Set<string>();
  const each = (key: string, read: (b: Uint8Array) => void): void => {
    const list = o[key];
    if (!isJsonArray(list)) {
      p.add(key, 'not an array');
      return;
    }
    list.forEach((item, i) => {
      try {
        read(formatCanonicalJson(item));
      } catch (error) {
        p.add(`${key}[${i}]`, error instanceof VouchError ? error.message : 'not a record');
      }
    });
  };
  each('tenants', (b) => {
    const t = parseTenantRecord(b);
    if (seen.has(t.id)) throw new VouchError('malformed', `tenant ${t.id} is listed twice`);
    seen.add(t.id);
    tenants.push(t);
  });
  each('migrations', (b) => migrations.push(parseMigrationRecord(b)));
  p.throwIfAny('tenant directory');
  return Object.freeze({ tenants: Object.freeze(tenants), migrations: Object.freeze(migrations) });
}

/** formatTenantDirectory returns the bytes of `tenants.json`. */
export function formatTenantDirectory(directory: TenantDirectory): Uint8Array {
  const decode = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));
  const body = {
    _type: tenantDirectoryType,
    tenants: directory.tenants.map((t) => decode(formatTenantRecord(t))),
    migrations: directory.migrations.map((m) => decode(formatMigrationRecord(m))),
  };
  return toBytes(`${JSON.stringify(body, null, 1)}\n`);
}

/** EndpointCredential binds the SHA-256 of one endpoint token to the endpoint and its tenant. */
export interface EndpointCredential {
  readonly endpoint: string;
  readonly tenant: string;
  /** tokenSha256 is the lowercase hex SHA-256 of the token's ASCII bytes. */
  readonly tokenSha256: string;
}

/** endpointsFileType is the `_type` of `endpoints.json`. */
export const endpointsFileType = 'https://vouch.example/site-endpoints/v1';

/** parseEndpoints reads `endpoints.json`, refusing a repeated endpoint id or token digest. */
export function parseEndpoints(bytes: Uint8Array): readonly EndpointCredential[] {
  const o = readJsonObject(bytes, maxDirectoryBytes, 'endpoint credentials');
  const p = new Problems();
  for (const key of Object.keys(o)) if (!['_type', 'endpoints'].includes(key)) p.add(key, 'unknown key');
  if (o['_type'] !== endpointsFileType) p.add('_type', `not ${endpointsFileType}`);
  const list = o['endpoints'];
  const out: EndpointCredential[] = [];
  const ids = new Set<string>();
  const digests = new Set<string>();
  if (!isJsonArray(list)) p.add('endpoints', 'not an array');
  else {
    list.forEach((item, i) => {
      const f = `endpoints[${i}]`;
      if (
        !isJsonObject(item) ||
        Object.keys(item).some((k) => !['endpoint', 'tenant', 'tokenSha256'].includes(k))
      ) {
        p.add(f, 'not an object of endpoint, tenant and tokenSha256');
        return;
      }
      const { endpoint, tenant, tokenSha256 } = item;
      if (typeof endpoint !== 'string' || endpointIdProblem(endpoint) !== undefined || ids.has(endpoint)) {
        p.add(`${f}.endpoint`, 'not an endpoint id, or repeated');
      } else if (typeof tenant !== 'string' || tenantIdProblem(tenant) !== undefined) {
        p.add(`${f}.tenant`, 'not a tenant id');
      } else if (
        typeof tokenSha256 !== 'string' ||
        !/^[0-9a-f]{64}$/.test(tokenSha256) ||
        digests.has(tokenSha256)
      ) {
        p.add(`${f}.tokenSha256`, 'not 64 lowercase hex digits, or repeated');
      } else {
        ids.add(endpoint);
        digests.add(tokenSha256);
        out.push(Object.freeze({ endpoint, tenant, tokenSha256 }));
      }
    });
  }
  p.throwIfAny('endpoint credentials');
  return Object.freeze(out);
}

/** formatEndpoints returns the bytes of `endpoints.json`. */
export function formatEndpoints(endpoints: readonly EndpointCredential[]): Uint8Array {
  const body = {
    _type: endpointsFileType,
    endpoints: endpoints.map((e) => ({ endpoint: e.endpoint, tenant: e.tenant, tokenSha256: e.tokenSha256 })),
  };
  return toBytes(`${JSON.stringify(body, null, 1)}\n`);
}

/** readBoundedFile reads a file of at most `limit` bytes, or throws `not-found` / `too-large` naming it. */
export async function readBoundedFile(path: string, limit: number): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new VouchError('not-found', `no file at ${path}`, { key: path });
    }
    throw error;
  }
  if (bytes.length > limit) throw tooLarge(`file ${path}`, limit);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** writeSiteFile durably replaces a site folder file (mode 0600: these files name tenants and endpoints). */
export async function writeSiteFile(path: string, bytes: Uint8Array): Promise<void> {
  await writeFileDurable(path, bytes, { mode: 0o600 });
}
