/**
 * Routing by path prefix, for `vouch serve`, which puts several services on one listener: each
 * service is mounted under its own prefix (`/log/`, `/witness/`, ...), and the first mount whose
 * prefix starts the path answers. {@link stripPrefix} adapts a handler written for `/` (the site
 * gateway, the static repository files) so that it sees paths as if it were mounted at the root.
 * A path that only names a prefix without its trailing slash (`/log`) is redirected to it.
 */

import { type Handler, type HttpRequest, type HttpResponse, notFound } from './http.ts';

/** Mount is one service's place in the URL space. */
export interface Mount {
  /** name labels the service in logs and metrics. */
  readonly name: string;
  /** prefix starts and ends with "/", such as "/log/". */
  readonly prefix: string;
  readonly handler: Handler;
}

/** stripPrefix returns a handler that removes `prefix` (ending in "/") and passes "/rest" on. */
export function stripPrefix(prefix: string, handler: Handler): Handler {
  const keep = prefix.length - 1; // keep the trailing slash as the inner path's leading slash
  return (request) => {
    if (!request.path.startsWith(prefix)) return Promise.resolve(notFound());
    const inner: HttpRequest = {
      method: request.method,
      path: request.path.slice(keep),
      query: request.query,
      headers: request.headers,
      body: (limit) => request.body(limit),
    };
    return handler(inner);
  };
}

/** matchMount returns the mount serving `path`, or undefined. */
export function matchMount(mounts: readonly Mount[], path: string): Mount | undefined {
  return mounts.find((m) => path.startsWith(m.prefix));
}

/**
 * createRouter returns a handler dispatching to the first mount whose prefix starts the path;
 * `fallback` answers everything else (default: 404).
 */
export function createRouter(mounts: readonly Mount[], fallback?: Handler): Handler {
  return async (request): Promise<HttpResponse> => {
    const mount = matchMount(mounts, request.path);
    if (mount !== undefined) return mount.handler(request);
    const bare = mounts.find((m) => `${request.path}/` === m.prefix);
    if (bare !== undefined) return { status: 308, headers: { location: bare.prefix } };
    return fallback === undefined ? notFound() : fallback(request);
  };
}
