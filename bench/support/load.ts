/**
 * A bounded HTTP load generator for loopback benchmarks, on node:http with a keep-alive Agent.
 * Closed loop ({@link closedLoop}): N clients each send a request, wait for the whole answer, and
 * send the next — throughput at N in flight. Open loop ({@link openLoop}): requests leave on a
 * fixed schedule whatever the server does, and each latency is measured from the moment the
 * request was due, not from when it was sent, so a stalled server cannot hide its stall
 * (coordinated omission). Every run is bounded by a request count and a deadline, and every
 * request by a timeout; a request that fails or times out is counted, never retried.
 *
 * It deliberately does not follow redirects, retry on 503, or verify response bodies: the suites
 * check what they need.
 */

import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** LoadRequest is one request to send: its path on the server and, for POST, its body. */
export interface LoadRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: Uint8Array;
}

const requestTimeoutMs = 30_000;

/** LoadTarget is a server to load: `url` is its base URL without a trailing slash. */
export interface LoadTarget {
  readonly url: string;
}

// send resolves with the answer's HTTP status once its body is read, or 0 when the request failed.
function send(agent: Agent, base: URL, load: LoadRequest): Promise<number> {
  return new Promise<number>((resolve) => {
    const headers: Record<string, string> = {};
    if (load.body !== undefined) {
      headers['content-length'] = String(load.body.length);
      headers['content-type'] = 'application/octet-stream';
    }
    const req = request(
      { agent, host: base.hostname, port: base.port, method: load.method, path: load.path, headers },
      (res) => {
        res.resume(); // read and drop the body
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.setTimeout(requestTimeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(load.body);
  });
}

/** ClosedLoopOptions bound a {@link closedLoop} run. */
export interface ClosedLoopOptions {
  /** concurrency is the number of requests in flight (and keep-alive connections). */
  readonly concurrency: number;
  /** warmupSeconds of load run first (connecting included) and are not counted. */
  readonly warmupSeconds: number;
  /** seconds is the measuring window that follows the warm-up. */
  readonly seconds: number;
  /** maxRequests stops the run early once this many requests were sent. */
  readonly maxRequests: number;
  /** next returns the i-th request to send. */
  readonly next: (i: number) => LoadRequest;
}

/** ClosedLoopResult: requests answered 200 per second in the measuring window, and what went wrong. */
export interface ClosedLoopResult {
  readonly rate: number;
  /** failed counts answers other than 200 and requests that failed or timed out, warm-up included. */
  readonly failed: number;
}

/** closedLoop runs `concurrency` clients against `target`; see the module comment. */
export async function closedLoop(target: LoadTarget, options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const base = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const measureFrom = performance.now() + options.warmupSeconds * 1000;
  const end = measureFrom + options.seconds * 1000;
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const client = async (): Promise<void> => {
    while (sent < options.maxRequests && performance.now() < end) {
      const status = await send(agent, base, options.next(sent++));
      const now = performance.now();
      if (status !== 200) failed++;
      else if (now >= measureFrom && now < end) ok++;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, client));
  } finally {
    agent.destroy();
  }
  // Only answers inside the window count; a run cut short by maxRequests counts its shorter window.
  const measured = Math.min(end, performance.now()) - measureFrom;
  return { rate: measured > 0 ? (ok * 1000) / measured : 0, failed };
}

/** OpenLoopOptions bound an {@link openLoop} run. */
export interface OpenLoopOptions {
  /** ratePerSecond is the offered load: one request every 1000/rate ms. */
  readonly ratePerSecond: number;
  /** warmupSeconds of the schedule run first; their latencies are not kept. */
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** maxSockets bounds the connections; a request finding none free waits, and that wait counts. */
  readonly maxSockets: number;
  readonly next: (i: number) => LoadRequest;
}

/** OpenLoopResult: the latency in ms of each measured request answered 200, and the failures. */
export interface OpenLoopResult {
  readonly latenciesMs: readonly number[];
  readonly failed: number;
}

/** openLoop offers `ratePerSecond` requests per second to `target`; see the module comment. */
export async function openLoop(target: LoadTarget, options: OpenLoopOptions): Promise<OpenLoopResult> {
  const base = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const intervalMs = 1000 / options.ratePerSecond;
  const warmup = Math.round(options.warmupSeconds * options.ratePerSecond);
  const total = warmup + Math.round(options.seconds * options.ratePerSecond);
  const latenciesMs: number[] = [];
  const answers: Promise<void>[] = [];
  let failed = 0;
  const start = performance.now();
  try {
    for (let i = 0; i < total; ) {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
      for (; i < due; i++) {
        const scheduled = start + i * intervalMs;
        const index = i;
        answers.push(
          send(agent, base, options.next(index)).then((status) => {
            if (index < warmup) return;
            if (status === 200) latenciesMs.push(performance.now() - scheduled);
            else failed++;
          }),
        );
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, start + i * intervalMs - performance.now())),
      );
    }
    await Promise.all(answers);
  } finally {
    agent.destroy();
  }
  return { latenciesMs, failed };
}

/** percentile returns the nearest-rank `p`-th percentile (0 < p ≤ 100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}
