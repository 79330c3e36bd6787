/**
 * The configuration file of `vouch serve` (docs/serve.md): which of a site's services one process
 * runs, where their folders are, and where it listens. It is parsed from the YAML subset of
 * yaml.ts and checked against the schema below; every problem is reported at once, each naming
 * the file, the key path (`site.dir`) and what was expected. Unknown keys are refused, so a typo
 * never silently turns a service off.
 *
 * Paths are returned as written; the caller resolves relative ones against the file's folder
 * (this module does no I/O).
 *
 * ```yaml
 * listen: 127.0.0.1:8080        # HOST:PORT, required ([::1]:8080 for IPv6)
 * metrics: true                 # GET /metrics (default true)
 * shutdown_grace_seconds: 10    # how long in-flight requests may finish on SIGTERM (default 10)
 * log:        { dir, database_url? }   # mounted at /log/
 * witness:    { dir, database_url? }   # mounted at /witness/
 * repository: { dir }                  # mounted at /repo/ (serves DIR/public)
 * site:       { dir }                  # mounted at /site/
 * dashboard:  { audit_config?, reports?, registry?, registry_vkey?, auditor_vkey? }  # /dashboard/
 * ```
 */

import { VouchError } from '../errors.ts';
import { parseYaml, type YamlMapping, type YamlValue } from './yaml.ts';

/** ServeConfig is a checked `vouch serve` configuration. */
export interface ServeConfig {
  /** host and port to listen on (`listen: HOST:PORT`; port 0 picks a free one). */
  readonly listen: { readonly host: string; readonly port: number };
  /** metrics enables `GET /metrics` (default true). */
  readonly metrics: boolean;
  /** shutdownGraceSeconds bounds how long in-flight requests may run after SIGTERM (default 10). */
  readonly shutdownGraceSeconds: number;
  /** log is a log folder (`vouch log init`), served under /log/. */
  readonly log?: { readonly dir: string; readonly databaseUrl?: string };
  /** witness is a witness folder (`vouch witness init`), served under /witness/. */
  readonly witness?: { readonly dir: string; readonly databaseUrl?: string };
  /** repository is an update repository folder (`vouch repo init`); its public/ is served under /repo/. */
  readonly repository?: { readonly dir: string };
  /** site is a data site folder (`vouch site init`); its gateway is served under /site/. */
  readonly site?: { readonly dir: string };
  /**
   * dashboard is served under /dashboard/ (docs/dashboard.md): the world an audit configuration
   * describes, the audit reports folder, the signed site registry, and the keys it offers as
   * trust anchors for the registry and the reports.
   */
  readonly dashboard?: {
    readonly auditConfig?: string;
    readonly reports?: string;
    readonly registry?: string;
    readonly registryVkey?: string;
    readonly auditorVkey?: string;
  };
}

/** serviceNames lists the services a configuration may hold, in start order. */
export const serviceNames = ['log', 'witness', 'repository', 'site', 'dashboard'] as const;

/** ServiceName is one of {@link serviceNames}. */
export type ServiceName = (typeof serviceNames)[number];

/** mountPrefixes maps each service to the URL path prefix it is served under. */
export const mountPrefixes: Readonly<Record<ServiceName, string>> = Object.freeze({
  log: '/log/',
  witness: '/witness/',
  repository: '/repo/',
  site: '/site/',
  dashboard: '/dashboard/',
});

const sectionKeys: Readonly<Record<ServiceName, readonly string[]>> = {
  log: ['dir', 'database_url'],
  witness: ['dir', 'database_url'],
  repository: ['dir'],
  site: ['dir'],
  dashboard: ['audit_config', 'reports', 'registry', 'registry_vkey', 'auditor_vkey'],
};
const topKeys = ['listen', 'metrics', 'shutdown_grace_seconds', ...serviceNames];

/**
 * parseServeConfig parses and checks a configuration file's bytes. `file` names it in errors.
 * A YAML syntax error is `malformed` with its line and column; schema problems are one
 * `invalid-argument` error listing every bad key path in `details.fields`.
 */
export function parseServeConfig(bytes: Uint8Array, file: string): ServeConfig {
  const root = parseYaml(bytes, { name: file });
  const problems: { path: string; expected: string }[] = [];
  const problem = (path: string, expected: string): undefined => {
    problems.push({ path, expected });
    return undefined;
  };
  if (!isMapping(root)) {
    throw new VouchError(
      'invalid-argument',
      `${file}: expected a mapping of keys (listen, log, ...) at the top`,
      {
        fields: ['(top)'],
        key: file,
      },
    );
  }
  for (const key of Object.keys(root)) {
    if (!topKeys.includes(key)) problem(key, `no such key (expected one of ${topKeys.join(', ')})`);
  }

  const listenText = root['listen'];
  let listen: ServeConfig['listen'] | undefined;
  if (typeof listenText !== 'string') problem('listen', 'HOST:PORT, such as 127.0.0.1:8080');
  else listen = parseListenAddress(listenText) ?? problem('listen', 'HOST:PORT with a port of 0 to 65535');

  const metrics = root['metrics'] ?? true;
  if (typeof metrics !== 'boolean') problem('metrics', 'true or false');
  const grace = root['shutdown_grace_seconds'] ?? 10;
  if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0 || grace > 600) {
    problem('shutdown_grace_seconds', 'a whole number of seconds from 0 to 600');
  }

  const sections: Partial<Record<ServiceName, Record<string, string>>> = {};
  for (const name of serviceNames) {
    if (!Object.hasOwn(root, name)) continue;
    const value = root[name];
    // `dashboard:` with nothing after it enables the service with its defaults.
    if (value === null && name === 'dashboard') {
      sections[name] = {};
      continue;
    }
    if (!isMapping(value)) {
      problem(name, `a mapping with ${sectionKeys[name].map((k) => `${name}.${k}`).join(', ')}`);
      continue;
    }
    const section: Record<string, string> = {};
    for (const [key, item] of Object.entries(value)) {
      if (!sectionKeys[name].includes(key)) {
        problem(`${name}.${key}`, `no such key (expected ${sectionKeys[name].join(', ')})`);
      } else if (typeof item !== 'string' || item === '') {
        problem(`${name}.${key}`, expectedOf(key));
      } else {
        section[key] = item;
      }
    }
    if (name !== 'dashboard' && !Object.hasOwn(value, 'dir'))
      problem(`${name}.dir`, 'a folder path (required)');
    sections[name] = section;
  }
  if (serviceNames.every((name) => !Object.hasOwn(root, name))) {
    problem('(top)', `at least one service: ${serviceNames.join(', ')}`);
  }

  if (problems.length > 0 || listen === undefined) {
    const lines = problems.map((p) => `${p.path}: expected ${p.expected}`);
    throw new VouchError('invalid-argument', `${file}: ${lines.join('; ')}`, {
      fields: problems.map((p) => p.path),
      key: file,
    });
  }
  const withDir = (s: Record<string, string> | undefined) =>
    s === undefined ? undefined : { dir: s['dir'] as string };
  const withDatabase = (s: Record<string, string> | undefined) =>
    s === undefined
      ? undefined
      : {
          dir: s['dir'] as string,
          ...(s['database_url'] === undefined ? {} : { databaseUrl: s['database_url'] }),
        };
  const log = withDatabase(sections.log);
  const witness = withDatabase(sections.witness);
  const repository = withDir(sections.repository);
  const site = withDir(sections.site);
  const dashboard = sections.dashboard;
  return Object.freeze({
    listen: Object.freeze(listen),
    metrics: metrics === true,
    shutdownGraceSeconds: grace as number,
    ...(log === undefined ? {} : { log: Object.freeze(log) }),
    ...(witness === undefined ? {} : { witness: Object.freeze(witness) }),
    ...(repository === undefined ? {} : { repository: Object.freeze(repository) }),
    ...(site === undefined ? {} : { site: Object.freeze(site) }),
    ...(dashboard === undefined ? {} : { dashboard: Object.freeze(dashboardSection(dashboard)) }),
  });
}

function expectedOf(key: string): string {
  if (key === 'dir' || key === 'reports') return 'a folder path';
  if (key === 'audit_config' || key === 'registry') return 'a file path';
  if (key.endsWith('_vkey')) return 'a signed-note verifier key (name+id+key)';
  return 'a non-empty string';
}

function dashboardSection(s: Record<string, string>): NonNullable<ServeConfig['dashboard']> {
  const names = {
    audit_config: 'auditConfig',
    reports: 'reports',
    registry: 'registry',
    registry_vkey: 'registryVkey',
    auditor_vkey: 'auditorVkey',
  } as const;
  const out: Record<string, string> = {};
  for (const [key, field] of Object.entries(names)) if (s[key] !== undefined) out[field] = s[key];
  return out;
}

/** configuredServices lists the services a configuration runs, in start order. */
export function configuredServices(config: ServeConfig): ServiceName[] {
  return serviceNames.filter((name) => config[name] !== undefined);
}

/** parseListenAddress splits `HOST:PORT` (an IPv6 host in brackets), or returns undefined. */
export function parseListenAddress(text: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

function isMapping(value: YamlValue | undefined): value is YamlMapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
