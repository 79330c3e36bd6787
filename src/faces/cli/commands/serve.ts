/**
 * `vouch serve --config vouch.yaml`: the services one site hosts — log, witness, update
 * repository, site gateway and the dashboard's mount point — in one process on one listener
 * (docs/serve.md). Each is mounted under its prefix (core/config/serve-config.ts
 * `mountPrefixes`); the process itself answers `GET /healthz` (it is up), `GET /readyz` (every
 * configured service is open: 503 naming each that is not), `GET /metrics` (Prometheus text
 * format) and `GET /` (a JSON index of the mounts). Every request is logged as one JSON line on
 * standard error.
 *
 * Start-up opens the services in the order of `serviceNames` and, if one fails, closes those
 * already open in reverse order before reporting the error. Shutdown on SIGINT or SIGTERM: mark
 * not ready, stop accepting, let in-flight requests finish for at most `shutdown_grace_seconds`,
 * then cut the remaining connections and close the services in reverse order.
 *
 * It only wires: the services are services/*, the handlers faces/http/*.
 */

import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  configuredServices,
  mountPrefixes,
  parseServeConfig,
  type ServeConfig,
  type ServiceName,
} from '../../../core/config/serve-config.ts';
import { maxYamlBytes } from '../../../core/config/yaml.ts';
import { VouchError } from '../../../core/errors.ts';
import { createNoteSigner } from '../../../core/note/index.ts';
import { LogService, keyPathOf as logKeyPathOf, readLogFolderConfig } from '../../../services/log/folder.ts';
import { readConfig, repoPaths } from '../../../services/repo/index.ts';
import { Gateway } from '../../../services/site/ingest.ts';
import { openSite, type Site } from '../../../services/site/site.ts';
import {
  readWitnessFolderConfig,
  WitnessService,
  keyPathOf as witnessKeyPathOf,
} from '../../../services/witness/folder.ts';
import { createDashboardHandler } from '../../http/dashboard.ts';
import {
  defaultMaxBusyMs,
  errorResponse,
  type Handler,
  type HttpResponse,
  notFound,
  type RunningServer,
  serve,
} from '../../http/http.ts';
import { createLogHandler } from '../../http/log.ts';
import { MetricsRegistry, metricsContentType, registerProcessMetrics } from '../../http/metrics.ts';
import { createRouter, type Mount, matchMount, stripPrefix } from '../../http/router.ts';
import { createSiteHandler } from '../../http/site.ts';
import { createStaticHandler } from '../../http/static.ts';
import { createWitnessHandler } from '../../http/witness.ts';
import { parseCommandLine, required } from '../args.ts';
import { type CliIo, type Command, exitCodes, jsonLogger, readInput, untilStopped } from '../io.ts';
import { loadSigner } from '../load-key.ts';

const synopsis = 'vouch serve --config FILE';

const usage = `Usage:
  ${synopsis}
      Run the services configured in FILE (YAML; see docs/serve.md) in one process on one
      listener: the log under /log/, the witness under /witness/, the update repository's
      public files under /repo/, the site gateway under /site/ and the dashboard under
      /dashboard/. GET /healthz answers while the process is up, GET /readyz once every
      configured service is open (503 naming the ones that are not), GET /metrics in the
      Prometheus text format. Requests are logged as JSON lines on standard error. SIGINT or
      SIGTERM stops it gracefully.
`;

/** probeTimeoutMs bounds one readiness probe of one service. */
const probeTimeoutMs = 2_000;

/** DashboardContext is what a dashboard handler may read: the open services of this process. */
export interface DashboardContext {
  /** auditConfig is the configured `dashboard.audit_config`, resolved, when given. */
  readonly auditConfig?: string;
  /** reports is the configured `dashboard.reports`, resolved, when given. */
  readonly reports?: string;
  /** prefix is where the dashboard is mounted ("/dashboard/"). */
  readonly prefix: string;
  readonly log?: LogService;
  readonly witness?: WitnessService;
  /** repositoryDir is the update repository folder, when configured. */
  readonly repositoryDir?: string;
  readonly site?: Site;
}

/** DashboardFactory builds the dashboard's handler; it sees full request paths (under `prefix`). */
export type DashboardFactory = (context: DashboardContext) => Handler | Promise<Handler>;

/** StartServeOptions adjust {@link startServe}. */
export interface StartServeOptions {
  /** baseDir resolves relative folder paths of the configuration (the configuration file's folder). */
  readonly baseDir: string;
  readonly io: CliIo;
  /** dashboard replaces the dashboard (tests mount their own handler under /dashboard/). */
  readonly dashboard?: DashboardFactory;
}

/** ServeInstance is a running `vouch serve`. */
export interface ServeInstance {
  readonly url: string;
  readonly services: readonly ServiceName[];
  /** readiness probes every service: undefined when ready, else the reason, per service. */
  readiness(): Promise<Record<string, string | undefined>>;
  /** close shuts down as the module comment says; it is safe to call once. */
  close(): Promise<void>;
}

interface OpenService {
  readonly name: ServiceName;
  readonly handler: Handler;
  /** probe resolves to undefined when ready, or to the reason it is not. */
  probe(): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * startServe opens every configured service and listens; see the module comment. A failure to
 * open one closes the others and rethrows.
 */
export async function startServe(config: ServeConfig, options: StartServeOptions): Promise<ServeInstance> {
  const { io } = options;
  const logLine = jsonLogger(io);
  const at = (path: string): string => (isAbsolute(path) ? path : resolve(options.baseDir, path));
  const registry = new MetricsRegistry();
  registerProcessMetrics(registry, Math.floor(Date.now() / 1000));
  const opened: OpenService[] = [];
  const context: { -readonly [K in keyof DashboardContext]: DashboardContext[K] } = {
    prefix: mountPrefixes.dashboard,
  };
  let stopping = false;
  let inFlight = 0;
  let server: RunningServer | undefined;

  const closeOpened = async (): Promise<void> => {
    for (const service of [...opened].reverse()) {
      try {
        await service.close();
      } catch (error) {
        logLine(`closing ${service.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    opened.length = 0;
  };

  try {
    for (const name of configuredServices(config)) {
      opened.push(await openService(name, config, at, io, logLine, registry, context, options.dashboard));
    }
    const mounts: Mount[] = opened.map((s) => ({
      name: s.name,
      prefix: mountPrefixes[s.name],
      handler: s.handler,
    }));

    // Readiness is probed at most once a second whatever the request rate, and its reasons (which
    // may name folders or store errors) go to the server's log, never to the unauthenticated caller.
    let probed: { at: number; states: Promise<Record<string, string | undefined>> } | undefined;
    const readiness = (): Promise<Record<string, string | undefined>> => {
      const now = performance.now();
      if (probed === undefined || now - probed.at >= 1_000) {
        const states = Promise.all(
          opened.map(async (s) => [s.name, stopping ? 'shutting down' : await boundedProbe(s)] as const),
        ).then((entries) => {
          for (const [name, reason] of entries)
            if (reason !== undefined) logLine(`not ready: ${name}: ${reason}`);
          return Object.fromEntries(entries);
        });
        probed = { at: now, states };
      }
      return probed.states;
    };

    const requests = registry.counter(
      'vouch_http_requests_total',
      'HTTP requests answered, by service, method and status class.',
      ['service', 'method', 'code'],
    );
    const durations = registry.histogram(
      'vouch_http_request_duration_seconds',
      'Time to answer an HTTP request, by service.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ['service'],
    );
    registry.gauge('vouch_http_requests_in_flight', 'HTTP requests being answered.', () => [
      { value: inFlight },
    ]);

    const topLevel: Handler = async (request) => {
      const get = request.method === 'GET' || request.method === 'HEAD';
      switch (request.path) {
        case '/healthz':
          return get ? json(200, { status: 'ok' }) : notFound();
        case '/readyz': {
          if (!get) return notFound();
          const states = await readiness();
          const reasons = Object.entries(states).filter(([, reason]) => reason !== undefined);
          const ready = reasons.length === 0 && !stopping;
          return json(ready ? 200 : 503, {
            ready,
            services: Object.fromEntries(
              Object.entries(states).map(([n, r]) => [n, r === undefined ? 'ready' : 'not ready']),
            ),
          });
        }
        case '/metrics':
          if (!config.metrics || !get) return notFound();
          return {
            status: 200,
            headers: { 'content-type': metricsContentType },
            body: await registry.format(),
          };
        case '/':
          return get
            ? json(200, { services: Object.fromEntries(mounts.map((m) => [m.name, m.prefix])) })
            : notFound();
        default:
          return notFound();
      }
    };
    const router = createRouter(mounts, topLevel);

    const instrumented: Handler = async (request) => {
      const started = performance.now();
      inFlight++;
      let response: HttpResponse;
      try {
        response = await router(request);
      } catch (error) {
        response = errorResponse(error, logLine);
      } finally {
        inFlight--;
      }
      const seconds = (performance.now() - started) / 1000;
      const service = matchMount(mounts, request.path)?.name ?? topLevelName(request.path);
      const method = ['GET', 'HEAD', 'POST'].includes(request.method) ? request.method : 'other';
      requests.inc({ service, method, code: `${Math.floor(response.status / 100)}xx` });
      durations.observe(seconds, { service });
      io.stderr(
        `${JSON.stringify({
          time: new Date().toISOString(),
          msg: 'request',
          service,
          method,
          path: printablePath(request.path),
          status: response.status,
          ms: Math.round(seconds * 1e4) / 10,
        })}\n`,
      );
      // While shutting down, answer and close the connection, so keep-alive does not hold it open.
      return stopping ? { ...response, headers: { ...response.headers, connection: 'close' } } : response;
    };

    server = await serve(instrumented, {
      host: config.listen.host,
      port: config.listen.port,
      log: logLine,
      maxBusyMs: defaultMaxBusyMs,
    });
  } catch (error) {
    await closeOpened();
    throw error;
  }

  const running = server;
  let closing: Promise<void> | undefined;
  return {
    url: running.url,
    services: opened.map((s) => s.name),
    readiness: async () => {
      const states = await Promise.all(opened.map(async (s) => [s.name, await boundedProbe(s)] as const));
      return Object.fromEntries(states);
    },
    close: () => {
      closing ??= (async () => {
        stopping = true;
        const grace = setTimeout(() => {
          logLine(
            `shutdown: ${inFlight} request(s) still open after ${config.shutdownGraceSeconds} s; closing them`,
          );
          running.server.closeAllConnections();
        }, config.shutdownGraceSeconds * 1000);
        try {
          await running.close();
        } finally {
          clearTimeout(grace);
        }
        await closeOpened();
      })();
      return closing;
    },
  };
}

async function openService(
  name: ServiceName,
  config: ServeConfig,
  at: (path: string) => string,
  io: CliIo,
  logLine: (line: string) => void,
  registry: MetricsRegistry,
  context: { -readonly [K in keyof DashboardContext]: DashboardContext[K] },
  dashboard: DashboardFactory | undefined,
): Promise<OpenService> {
  switch (name) {
    case 'log': {
      const section = config.log as NonNullable<ServeConfig['log']>;
      const dir = at(section.dir);
      const folder = await readLogFolderConfig(dir);
      const signer = createNoteSigner(await loadSigner(logKeyPathOf(dir, folder), io));
      const service = await LogService.start({
        dir,
        signer,
        log: logLine,
        ...(section.databaseUrl === undefined ? {} : { databaseUrl: section.databaseUrl }),
      });
      context.log = service;
      registry.gauge('vouch_log_tree_size', 'Size of the log tree at its latest checkpoint.', () =>
        service.log === undefined ? [] : [{ value: Number(service.log.head.checkpoint.size) }],
      );
      registry.gauge('vouch_log_sequencing', '1 while this process holds the log sequencing lease.', () => [
        { value: service.log === undefined ? 0 : 1 },
      ]);
      return {
        name,
        handler: createLogHandler({
          files: service.files,
          log: () => service.log,
          prefix: mountPrefixes.log,
        }),
        probe: async () => {
          if (service.log !== undefined) return undefined;
          // With a shared database another process may sequence; this one is a read-only mirror.
          if (section.databaseUrl !== undefined && (await service.files.get('checkpoint')) !== undefined) {
            return undefined;
          }
          return 'waiting for the sequencing lease';
        },
        close: () => service.close(),
      };
    }
    case 'witness': {
      const section = config.witness as NonNullable<ServeConfig['witness']>;
      const dir = at(section.dir);
      const folder = await readWitnessFolderConfig(dir);
      const key = await loadSigner(witnessKeyPathOf(dir, folder), io);
      const service = await WitnessService.start({
        dir,
        key,
        log: logLine,
        ...(section.databaseUrl === undefined ? {} : { databaseUrl: section.databaseUrl }),
      });
      context.witness = service;
      return {
        name,
        handler: createWitnessHandler({
          witness: service.witness,
          prefix: mountPrefixes.witness,
          log: logLine,
        }),
        // Reading a cell no log uses checks that the state store answers.
        probe: async () => {
          await service.witness.latestCheckpoint('0'.repeat(64));
          return undefined;
        },
        close: () => service.close(),
      };
    }
    case 'repository': {
      const dir = at((config.repository as NonNullable<ServeConfig['repository']>).dir);
      const paths = repoPaths(dir);
      await readConfig(paths); // refuse a folder that is not a repository before listening
      context.repositoryDir = dir;
      return {
        name,
        handler: stripPrefix(mountPrefixes.repository, createStaticHandler({ root: paths.public })),
        probe: async () => ((await isFolder(paths.public)) ? undefined : `${paths.public} is not a folder`),
        close: async () => undefined,
      };
    }
    case 'site': {
      const site = await openSite(at((config.site as NonNullable<ServeConfig['site']>).dir));
      const gateway = new Gateway(site);
      context.site = site;
      registry.gauge('vouch_site_ingest_in_flight', 'Telemetry batches being ingested.', () => [
        { value: gateway.inFlight },
      ]);
      registry.gauge('vouch_site_tenants', 'Tenants in the site directory.', () => [
        { value: site.tenants().length },
      ]);
      return {
        name,
        handler: stripPrefix(mountPrefixes.site, createSiteHandler({ gateway, log: logLine })),
        probe: async () => {
          await site.store.getTenant('readyz-probe');
          return undefined;
        },
        close: () => site.close(),
      };
    }
    case 'dashboard': {
      const section = config.dashboard as NonNullable<ServeConfig['dashboard']>;
      const resolved = {
        ...(section.auditConfig === undefined ? {} : { auditConfig: at(section.auditConfig) }),
        ...(section.reports === undefined ? {} : { reports: at(section.reports) }),
        ...(section.registry === undefined ? {} : { registry: at(section.registry) }),
        ...(section.registryVkey === undefined ? {} : { registryVkey: section.registryVkey }),
        ...(section.auditorVkey === undefined ? {} : { auditorVkey: section.auditorVkey }),
      };
      Object.assign(context, resolved);
      const handler =
        dashboard === undefined
          ? (await createDashboardHandler({ prefix: mountPrefixes.dashboard, ...resolved })).handler
          : await dashboard({ ...context });
      return {
        name,
        handler,
        probe: async () =>
          resolved.reports === undefined || (await isFolder(resolved.reports))
            ? undefined
            : `dashboard.reports ${resolved.reports} is not a folder`,
        close: async () => undefined,
      };
    }
  }
}

async function boundedProbe(service: OpenService): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((done) => {
    timer = setTimeout(() => done(`no answer within ${probeTimeoutMs} ms`), probeTimeoutMs);
  });
  try {
    return await Promise.race([
      service
        .probe()
        .catch((error: unknown) =>
          error instanceof VouchError ? `${error.code}: ${error.message}` : 'its store did not answer',
        ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

function topLevelName(path: string): string {
  return path === '/healthz' || path === '/readyz' || path === '/metrics' ? path.slice(1) : 'other';
}

/** printablePath is a request path safe to log: printable ASCII, at most 200 characters. */
function printablePath(path: string): string {
  const clean = path.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}

function json(status: number, body: unknown): HttpResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: `${JSON.stringify(body)}\n` };
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('serve', synopsis, args, { config: { type: 'string' } });
  if (values.help === true) {
    io.stdout(usage);
    return exitCodes.ok;
  }
  const file = required('serve', synopsis, values.config, '--config');
  const bytes = await readInput(file, io, maxYamlBytes).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new VouchError('not-found', `serve: the configuration file ${file} does not exist`, {
        key: file,
      });
    }
    throw error;
  });
  const config = parseServeConfig(bytes, file);
  const instance = await startServe(config, { baseDir: dirname(resolve(file)), io });
  const logLine = jsonLogger(io);
  logLine(`serving ${instance.services.join(', ')} at ${instance.url}/`);
  await untilStopped();
  logLine('shutting down');
  await instance.close();
  logLine('stopped');
  return exitCodes.ok;
}

/** serveCommand is `vouch serve`. */
export const serveCommand: Command = {
  name: 'serve',
  summary: "run a site's services (log, witness, repository, gateway, dashboard) from one configuration file",
  usage,
  run,
};
