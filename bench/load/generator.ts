/**
 * The load generator of `bench/load` (issue 10, Load): node:http with a keep-alive Agent, no
 * dependencies. Two shapes, every run bounded by a request count and a deadline and every
 * request by a timeout:
 * - {@link closedLoop}: N clients each send a request, wait for its whole answer and send the
 *   next — the throughput a service holds with N requests in flight (its capacity);
 * - {@link openLoop}: requests leave on a fixed schedule whether or not earlier ones were answered
 *   (the way independent clients arrive), and each latency runs from the moment the request was
 *   due, so a stalled server cannot hide its stall behind a stalled generator.
 * Every answer is handed to the driver (status, `Retry-After`, body) so it can record what was
 * acknowledged; the generator itself only counts. It never retries, follows redirects, or reads
 * more than {@link maxAnswerBytes} of a body.
 */

import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Shot is one request to send. */
export interface Shot {
  readonly method: 'GET' | 'POST';
  /** path is the request target, starting with "/". */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

/** Answer is what came back for one {@link Shot}: status 0 with `error` when nothing did. */
export interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: Buffer;
  /** latencyMs runs from when the request was due (open loop) or sent (closed loop) to its last byte. */
  readonly latencyMs: number;
  /**
   * connectedMs runs from when the request got its connection (a free keep-alive one, or a new
   * one being opened) to its last byte: what the server and the network took, without the time
   * the request waited in the generator for a turn of its loop or a free connection.
   */
  readonly connectedMs: number;
  /** error is `timeout`, `reset` or another short cause when no answer came. */
  readonly error?: string;
}

const debug = process.env['VOUCH_LOAD_DEBUG'] === '1';

/** maxAnswerBytes bounds the body kept of one answer; past it the request counts as an error. */
export const maxAnswerBytes = 1 << 20;

/** Tally counts a run's answers; latencies are those of 2xx answers. */
export interface Tally {
  sent: number;
  /** skipped counts requests due when the driver had none to send (see {@link OpenLoopOptions.next}). */
  skipped: number;
  readonly statuses: Map<number, number>;
  /** shed counts 429 and 503 answers; shedWithRetryAfter those of them carrying `Retry-After`. */
  shed: number;
  shedWithRetryAfter: number;
  /** shedBy counts the shed answers by status and the first line of their body (at most 8 kinds). */
  readonly shedBy: Map<string, number>;
  readonly errors: Map<string, number>;
  readonly latenciesMs: number[];
  /** connectedMs are the {@link Answer.connectedMs} of the 2xx answers. */
  readonly connectedMs: number[];
  /** lateMs is the worst delay between a request's due time and its sending (generator lag). */
  lateMs: number;
}

function newTally(): Tally {
  return {
    sent: 0,
    skipped: 0,
    statuses: new Map(),
    shed: 0,
    shedWithRetryAfter: 0,
    shedBy: new Map(),
    errors: new Map(),
    latenciesMs: [],
    connectedMs: [],
    lateMs: 0,
  };
}

function count(tally: Tally, answer: Answer): void {
  if (answer.status === 0) {
    const cause = answer.error ?? 'error';
    tally.errors.set(cause, (tally.errors.get(cause) ?? 0) + 1);
    return;
  }
  tally.statuses.set(answer.status, (tally.statuses.get(answer.status) ?? 0) + 1);
  if (answer.status >= 200 && answer.status < 300) {
    tally.latenciesMs.push(answer.latencyMs);
    tally.connectedMs.push(answer.connectedMs);
  }
  if (answer.status === 429 || answer.status === 503) {
    tally.shed++;
    if (answer.retryAfter !== undefined && /^\d+$/.test(answer.retryAfter)) tally.shedWithRetryAfter++;
    const why = `${answer.status} ${answer.body.toString('utf8', 0, 80).split('\n')[0]}`;
    if (tally.shedBy.has(why) || tally.shedBy.size < 8)
      tally.shedBy.set(why, (tally.shedBy.get(why) ?? 0) + 1);
  }
}

function send(agent: Agent, base: URL, shot: Shot, timeoutMs: number, since: number): Promise<Answer> {
  return new Promise<Answer>((resolve) => {
    let done = false;
    let connected = performance.now();
    const finish = (answer: Omit<Answer, 'latencyMs' | 'connectedMs'>): void => {
      if (done) return;
      done = true;
      const now = performance.now();
      resolve({ ...answer, latencyMs: now - since, connectedMs: now - connected });
    };
    const headers: Record<string, string> = { ...shot.headers };
    if (shot.body !== undefined) headers['content-length'] = String(shot.body.length);
    const req = request(
      { agent, host: base.hostname, port: base.port, method: shot.method, path: shot.path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxAnswerBytes) req.destroy(new Error('answer too large'));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const retry = res.headers['retry-after'];
          finish({
            status: res.statusCode ?? 0,
            retryAfter: Array.isArray(retry) ? retry[0] : retry,
            body: Buffer.concat(chunks),
          });
        });
        res.on('error', (error) => finish(failure(error)));
      },
    );
    req.once('socket', () => {
      connected = performance.now();
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (error) => finish(failure(error)));
    req.end(shot.body);
  });
}

function failure(error: Error): Omit<Answer, 'latencyMs' | 'connectedMs'> {
  const code = (error as NodeJS.ErrnoException).code;
  const cause =
    error.message === 'timeout'
      ? 'timeout'
      : code === 'ECONNRESET' || code === 'EPIPE'
        ? 'reset'
        : (code ?? error.message.slice(0, 40));
  return { status: 0, retryAfter: undefined, body: Buffer.alloc(0), error: cause };
}

/** OpenLoopOptions bound an {@link openLoop} run. */
export interface OpenLoopOptions {
  /** url is the server's base URL (scheme, host and port; its path is ignored). */
  readonly url: string;
  /** ratePerSecond is the offered load: request i is due at i / ratePerSecond seconds. */
  readonly ratePerSecond: number;
  readonly seconds: number;
  /** maxSockets bounds the connections; a request finding none free waits, and that wait counts. */
  readonly maxSockets: number;
  /** timeoutMs bounds each request (and so the drain after the last one was sent). */
  readonly timeoutMs: number;
  /** next returns the i-th request, or undefined when the driver has none to send now (counted as skipped). */
  readonly next: (i: number) => Shot | undefined;
  /** onAnswer sees every answer (the driver records acknowledgements here). */
  readonly onAnswer?: (shot: Shot, answer: Answer) => void;
}

/** loopbackUrl parses a target URL and refuses anything but loopback: load is only ever sent to this machine. */
export function loopbackUrl(url: string): URL {
  const base = new URL(url);
  const host = base.hostname.replace(/^\[|\]$/g, '');
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host !== '::1' && host !== 'localhost') {
    throw new Error(`load generator: ${base.host} is not a loopback address; refusing to send load there`);
  }
  return base;
}

/** openLoop offers `ratePerSecond` requests per second for `seconds`; see the module comment. */
export async function openLoop(options: OpenLoopOptions): Promise<Tally & { readonly elapsedMs: number }> {
  const base = loopbackUrl(options.url);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: options.maxSockets,
    maxFreeSockets: options.maxSockets,
  });
  const tally = newTally();
  const interval = 1000 / options.ratePerSecond;
  const total = Math.round(options.seconds * options.ratePerSecond);
  const answers: Promise<void>[] = [];
  const start = performance.now();
  try {
    for (let i = 0; i < total; ) {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / interval) + 1);
      for (; i < due; i++) {
        const scheduled = start + i * interval;
        tally.lateMs = Math.max(tally.lateMs, now - scheduled);
        const shot = options.next(i);
        if (shot === undefined) {
          tally.skipped++;
          continue;
        }
        tally.sent++;
        answers.push(
          send(agent, base, shot, options.timeoutMs, scheduled).then((answer) => {
            if (debug && answer.latencyMs > 1000)
              process.stderr.write(
                `slow: due at ${(scheduled - start).toFixed(0)} ms, ${answer.latencyMs.toFixed(0)} ms, ${answer.status}\n`,
              );
            count(tally, answer);
            options.onAnswer?.(shot, answer);
          }),
        );
      }
      const wait = start + i * interval - performance.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    }
    await Promise.all(answers);
  } finally {
    agent.destroy();
  }
  return { ...tally, elapsedMs: performance.now() - start };
}

/** ClosedLoopOptions bound a {@link closedLoop} run. */
export interface ClosedLoopOptions {
  readonly url: string;
  /** concurrency is the number of requests in flight (and keep-alive connections). */
  readonly concurrency: number;
  /** warmupSeconds run first (connecting included) and are not counted. */
  readonly warmupSeconds: number;
  /** seconds is the measuring window after the warm-up. */
  readonly seconds: number;
  /** maxRequests stops the run early once this many were sent. */
  readonly maxRequests: number;
  readonly timeoutMs: number;
  /** next returns the i-th request, or undefined when the driver has none to send (the client waits 1 ms). */
  readonly next: (i: number) => Shot | undefined;
  readonly onAnswer?: (shot: Shot, answer: Answer) => void;
}

/** closedLoop runs `concurrency` clients; `rate` is 2xx answers per second inside the window. */
export async function closedLoop(
  options: ClosedLoopOptions,
): Promise<Tally & { readonly rate: number; readonly windowMs: number }> {
  const base = loopbackUrl(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const tally = newTally();
  const measureFrom = performance.now() + options.warmupSeconds * 1000;
  const end = measureFrom + options.seconds * 1000;
  let i = 0;
  let ok = 0;
  const client = async (): Promise<void> => {
    while (i < options.maxRequests && performance.now() < end) {
      const shot = options.next(i);
      if (shot === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      i++;
      tally.sent++;
      const answer = await send(agent, base, shot, options.timeoutMs, performance.now());
      options.onAnswer?.(shot, answer);
      const now = performance.now();
      if (now < measureFrom || now >= end) continue;
      count(tally, answer);
      if (answer.status >= 200 && answer.status < 300) ok++;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, client));
  } finally {
    agent.destroy();
  }
  const windowMs = Math.min(end, performance.now()) - measureFrom;
  return { ...tally, rate: windowMs > 0 ? (ok * 1000) / windowMs : 0, windowMs };
}

/** percentile returns the nearest-rank `p`-th percentile of `values`, or NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}
