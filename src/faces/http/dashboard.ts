/**
 * The dashboard's server side (docs/dashboard.md): it serves the page, the browser modules that
 * verify (browser-modules.ts) and the public materials of the world an audit configuration
 * describes — and nothing it has checked itself. The page fetches the raw signed files
 * (checkpoints, tiles, TUF metadata, evidence, tlog-proofs, the signed registry, signed audit
 * reports) and verifies them in the browser, so a visitor need not trust this server: a server
 * that lies serves files that fail there.
 *
 * URL layout under the mount prefix (`/dashboard/`):
 *
 * | path                              | what                                                        |
 * | --------------------------------- | ----------------------------------------------------------- |
 * | `` / `index.html`, `style.css`    | the page                                                    |
 * | `app/…/*.js`                      | the page's modules and the core modules it verifies with    |
 * | `data/world.json`                 | where each material is, the trust anchors the server offers |
 * | `data/release-log/…`              | the release log's checkpoint, tiles and entry bundles       |
 * | `data/repo/…`                     | the update repository's public files                        |
 * | `data/release-policy.json`        | the release policy (builders, rebuilders, log and quorum)   |
 * | `data/sites/<site>/ledger/…`      | a site's access ledger: checkpoint, tiles, entry bundles    |
 * | `data/sites/<site>/tenants.json`  | the tenants the auditor holds for a site                    |
 * | `data/registry.json`              | the signed site registry (the residency table)              |
 * | `data/reports/…`                  | signed audit reports and their HTML pages                   |
 *
 * Only these files are reachable: each data mount is a static handler rooted at a folder of
 * public files (static.ts refuses `..`, dot files and symbolic links out of the root), and the
 * report mount only serves report file names. Every answer carries a strict Content Security
 * Policy: scripts and styles from this origin only, no inline script, no frames of other sites.
 */

import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { type LoadedAuditConfig, loadAuditConfig } from '../../clients/auditor/config.ts';
import { formatHex, toBytes } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { tooLarge, VouchError } from '../../core/errors.ts';
import { maxSiteRegistryBytes } from '../../core/sites/registry.ts';
import { maxTenantRecordBytes } from '../../core/sites/tenants.ts';
import { formatPolicy } from '../../core/tlog/policy.ts';
import { type BrowserModule, collectBrowserModules } from './browser-modules.ts';
import { type Handler, type HttpResponse, methodNotAllowed, notFound } from './http.ts';
import { createStaticHandler } from './static.ts';

/** DashboardOptions configure {@link createDashboardHandler}. */
export interface DashboardOptions {
  /** prefix is where the dashboard is mounted: starts and ends with "/". */
  readonly prefix: string;
  /** auditConfig is the supervisor's audit configuration: the world the dashboard shows. */
  readonly auditConfig?: string;
  /** reports is the folder `vouch audit --out` writes. */
  readonly reports?: string;
  /** registry is the signed site registry file (`registry.json` of a site folder). */
  readonly registry?: string;
  /** registryVkey is the registry key's signed-note verifier key, which checks the registry's signature. */
  readonly registryVkey?: string;
  /** auditorVkey is the auditor's signed-note verifier key, which checks the reports' signatures. */
  readonly auditorVkey?: string;
}

/** Dashboard is an opened dashboard: its handler and what it serves. */
export interface Dashboard {
  readonly handler: Handler;
  /** modules counts the browser modules served. */
  readonly modules: number;
}

const sourceRoot = resolve(import.meta.dirname, '..', '..');
const pageDir = join(sourceRoot, 'faces', 'dashboard');
const entryModule = join(pageDir, `app${import.meta.filename.endsWith('.ts') ? '.ts' : '.js'}`);

/** securityHeaders go on every answer under the dashboard's prefix. */
export const securityHeaders: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

const reportPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";

const reportName = /^(?:\d{8}T\d{6}Z-)?report\.(?:dsse\.json|html)$/;

/**
 * createDashboardHandler collects the browser modules and reads the audit configuration once;
 * it throws if either is broken, naming the file. The data folders are read per request.
 */
export async function createDashboardHandler(options: DashboardOptions): Promise<Dashboard> {
  const { prefix } = options;
  const modules = new Map<string, BrowserModule>();
  for (const m of await collectBrowserModules(sourceRoot, entryModule)) modules.set(m.path, m);
  const page = {
    'index.html': await readFile(join(pageDir, 'index.html')),
    'style.css': await readFile(join(pageDir, 'style.css')),
  };
  const audit = options.auditConfig === undefined ? undefined : await loadAuditConfig(options.auditConfig);
  const releasePolicyBytes =
    audit === undefined
      ? undefined
      : await readFile(resolvedAgainst(audit.file, audit.config.repository.releasePolicy));
  const mounts = new Map<string, Handler>();
  const folder = (path: string, mutable: readonly string[]) => {
    if (/^https?:\/\//i.test(path)) return undefined;
    return createStaticHandler({ root: path, mutable, maxFileBytes: 64 << 20 });
  };
  const tileMutable = ['checkpoint'];
  if (audit !== undefined) {
    const log = folder(audit.releaseLog.location, tileMutable);
    if (log !== undefined) mounts.set('release-log', log);
    const repo = folder(audit.repository.location, ['timestamp.json']);
    if (repo !== undefined) mounts.set('repo', repo);
    for (const site of audit.sites) {
      const ledger = folder(site.ledger, tileMutable);
      if (ledger !== undefined) mounts.set(`sites/${site.site}/ledger`, ledger);
    }
  }
  const reports =
    options.reports === undefined
      ? undefined
      : createStaticHandler({ root: options.reports, mutable: ['report.html', 'report.dsse.json'] });

  const world = async (): Promise<unknown> => ({
    _type: 'https://vouch.example/dashboard-world/v1',
    served: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(audit === undefined ? {} : await describeWorld(audit, mounts, releasePolicyBytes as Uint8Array)),
    registry: options.registry === undefined ? null : 'data/registry.json',
    registryVkey: options.registryVkey ?? null,
    auditorVkey: options.auditorVkey ?? null,
    reports: options.reports === undefined ? [] : await listReports(options.reports),
  });

  const handler: Handler = async (request) => {
    if (!request.path.startsWith(prefix)) return notFound();
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET, HEAD');
    const path = request.path.slice(prefix.length);
    const answer = await route(path, request);
    const headers = { ...answer.headers, ...securityHeaders };
    // A report page is the auditor's own HTML: inline styles and charts, never a script.
    if (path.startsWith('data/reports/')) headers['content-security-policy'] = reportPolicy;
    return { ...answer, headers };
  };

  const route = async (path: string, request: Parameters<Handler>[0]): Promise<HttpResponse> => {
    if (path === '' || path === 'index.html') return asset(page['index.html'], 'text/html; charset=utf-8');
    if (path === 'style.css') return asset(page['style.css'], 'text/css; charset=utf-8');
    if (path.startsWith('app/')) {
      const module = modules.get(path.slice(4));
      return module === undefined ? notFound() : asset(module.body, 'text/javascript; charset=utf-8');
    }
    if (path === 'data/world.json') {
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-cache' },
        body: toBytes(`${JSON.stringify(await world(), null, 1)}\n`),
      };
    }
    if (path === 'data/release-policy.json' && releasePolicyBytes !== undefined) {
      return asset(releasePolicyBytes, 'application/json');
    }
    if (path === 'data/registry.json' && options.registry !== undefined) {
      const size = (await stat(options.registry).catch(() => undefined))?.size ?? 0;
      if (size > 2 * maxSiteRegistryBytes) throw tooLarge('the site registry', 2 * maxSiteRegistryBytes);
      const bytes = await readFile(options.registry).catch(() => undefined);
      return bytes === undefined ? notFound() : asset(bytes, 'application/json');
    }
    const tenants = /^data\/sites\/([a-z0-9-]{1,63})\/tenants\.json$/.exec(path);
    if (tenants !== null && audit !== undefined) {
      const site = audit.sites.find((s) => s.site === tenants[1]);
      if (site === undefined) return notFound();
      return asset(toBytes(JSON.stringify(await readTenants(site.tenants))), 'application/json');
    }
    if (path.startsWith('data/reports/') && reports !== undefined) {
      const name = path.slice('data/reports/'.length);
      if (!reportName.test(name)) return notFound();
      return reports({ ...request, path: `/${name}` });
    }
    for (const [mount, files] of mounts) {
      const at = `data/${mount}/`;
      if (path.startsWith(at)) return files({ ...request, path: `/${path.slice(at.length)}` });
    }
    return notFound();
  };

  return { handler, modules: modules.size };
}

function asset(body: Uint8Array, type: string): HttpResponse {
  return { status: 200, headers: { 'content-type': type, 'cache-control': 'no-cache' }, body };
}

function resolvedAgainst(file: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(file), path);
}

/** describeWorld says where each material is served and which keys the server offers as anchors. */
async function describeWorld(
  audit: LoadedAuditConfig,
  mounts: ReadonlyMap<string, Handler>,
  releasePolicy: Uint8Array,
): Promise<Record<string, unknown>> {
  const root = mounts.has('repo')
    ? await readFile(join(audit.repository.location, '1.root.json')).catch(() => undefined)
    : undefined;
  const base = (mount: string, location: string): string =>
    mounts.has(mount) ? `data/${mount}/` : location.endsWith('/') ? location : `${location}/`;
  return {
    releaseLog: {
      base: base('release-log', audit.releaseLog.location),
      policy: new TextDecoder().decode(formatPolicy(audit.releaseLog.policy)),
    },
    repository: {
      base: base('repo', audit.repository.location),
      name: audit.repository.name,
      releasePolicy: 'data/release-policy.json',
      releasePolicySha256: formatHex(sha256(releasePolicy)),
      rootSha256: root === undefined ? null : formatHex(sha256(root)),
    },
    sites: audit.sites.map((site) => ({
      site: site.site,
      ledger: base(`sites/${site.site}/ledger`, site.ledger),
      policy: new TextDecoder().decode(formatPolicy(site.policy)),
      tenants: `data/sites/${site.site}/tenants.json`,
    })),
  };
}

/** maxTenantFiles bounds the tenant records listed for one site. */
const maxTenantFiles = 10_000;

async function readTenants(folder: string | undefined): Promise<unknown[]> {
  if (folder === undefined) return [];
  const names = await readdir(folder).catch(() => [] as string[]);
  const records: unknown[] = [];
  for (const name of names
    .filter((n) => /^[A-Za-z0-9_.-]+\.json$/.test(n))
    .sort()
    .slice(0, maxTenantFiles)) {
    const file = join(folder, name);
    if ((await stat(file)).size > maxTenantRecordBytes)
      throw tooLarge(`tenant record ${file}`, maxTenantRecordBytes);
    try {
      records.push(JSON.parse(await readFile(file, 'utf8')));
    } catch (cause) {
      throw new VouchError('malformed', `tenant record ${join(folder, name)} is not JSON`, {}, { cause });
    }
  }
  return records;
}

async function listReports(folder: string): Promise<unknown[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const stamped = names
    .map((n) => /^(\d{8}T\d{6}Z)-report\.dsse\.json$/.exec(n)?.[1])
    .filter((stamp): stamp is string => stamp !== undefined)
    .sort()
    .reverse()
    .slice(0, 200);
  return stamped.map((stamp) => ({
    stamp,
    dsse: `data/reports/${stamp}-report.dsse.json`,
    html: names.includes(`${stamp}-report.html`) ? `data/reports/${stamp}-report.html` : null,
  }));
}
