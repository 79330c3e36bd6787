/**
 * `node bench/load/run.ts`: drives each HTTP service of Vouch — the log's `POST add`, the
 * witness's `POST add-checkpoint`, the repository's static files, the site gateway's
 * `POST /v1/telemetry` — on loopback at twice its measured capacity for a bounded time, each as
 * its `vouch ... serve` command runs it in a child process on 127.0.0.1:0, and writes
 * bench/LOAD.md: per service the capacity measured, the offered rate, the accepted and shed
 * requests (status, `Retry-After`), other answers, the latency of the accepted ones, the server's
 * peak memory, and whether every acknowledged entry, checkpoint or event was found afterwards.
 * `--quick` runs the CI-sized plan and `--only NAME` (log, witness, repository, site) one
 * service; both print the tables and never overwrite bench/LOAD.md. It exits 1 when a check fails.
 */

import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fullPlan, type LoadPlan, quickPlan, type ServiceReport } from './drive.ts';
import { runLogLoad } from './log.ts';
import { formatService, formatSummary, problems } from './report.ts';
import { runSiteLoad } from './site.ts';
import { runStaticLoad } from './static.ts';
import { runWitnessLoad } from './witness.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const quick = values.quick === true;
const plan: LoadPlan = quick ? quickPlan : fullPlan;

const services: readonly { readonly name: string; readonly run: () => Promise<ServiceReport> }[] = [
  { name: 'log', run: () => runLogLoad(plan) },
  { name: 'witness', run: () => runWitnessLoad(plan, { logs: 512, steps: quick ? 24 : 96 }) },
  { name: 'repository', run: () => runStaticLoad(plan) },
  { name: 'site', run: () => runSiteLoad(plan) },
];

const fmtLoad = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
const loadBefore = fmtLoad();
const started = Date.now();
const reports: ServiceReport[] = [];
const loads: string[] = [];
for (const service of services.filter((s) => values.only === undefined || s.name === values.only)) {
  process.stderr.write(`load: ${service.name} (load average ${fmtLoad()})...\n`);
  const before = loadavg()[0] as number;
  reports.push(await service.run());
  loads.push(`${service.name} ${before.toFixed(2)} → ${(loadavg()[0] as number).toFixed(2)}`);
}

const cpu = cpus()[0]?.model ?? 'unknown';
const lines = [
  '# Load results',
  '',
  `Written by \`node bench/load/run.ts\` on ${new Date().toISOString().slice(0, 10)} in ${Math.round((Date.now() - started) / 1000)} s.`,
  `Machine: ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${type()} ${process.arch}; Node.js ${process.version}.`,
  `The machine is shared: 1-minute load average ${loadBefore} (1, 5, 15 min) at the start, ${fmtLoad()} at the end; per service (1 min, before → after): ${loads.join('; ')}.`,
  'The load generator (bench/load/generator.ts) runs on the same two cores as the server, so every rate here is a floor',
  'and every latency a ceiling of what the server does alone; read them against bench/RESULTS.md, not as absolutes.',
  '',
  'Method: each service runs as its own `vouch ... serve` child process on 127.0.0.1:0. Its capacity is the best rate of',
  `2xx answers of closed-loop runs (${plan.concurrencies.join(', ')} clients, ${plan.capacitySeconds} s each after a ${plan.capacityWarmupSeconds} s warm-up) whose p99`,
  `is at most ${plan.maxCapacityP99Ms} ms (else the best of all). Then requests are offered open-loop at ${plan.multiplier}× that rate for ${plan.loadSeconds} s —`,
  `sent on schedule whether or not earlier ones were answered, over up to ${plan.maxSockets} keep-alive connections, each timed from`,
  'when it was due (and, apart, from when it got a connection: what the server and the network took, without the time it waited',
  `in the generator), each with a ${plan.timeoutMs / 1000} s timeout — while the server's resident set is sampled every 50 ms from /proc`,
  '(and its kernel high-water mark, VmHWM, read at the end; the JavaScript heap is part of it and not sampled apart, the server',
  'being another process). A run that shed nothing is followed by one at twice the rate',
  `(at most ${plan.escalations} times). Afterwards everything acknowledged is read back (see each service's notes). 2xx, 429 and`,
  '503 are the only statuses allowed, every 429 and 503 must carry `Retry-After`, and nothing acknowledged may be missing.',
  '',
  formatSummary(reports),
  '',
  ...reports.map(formatService),
];
const markdown = `${lines.join('\n')}\n`;
const failed = reports.flatMap(problems);
if (quick || values.only !== undefined) {
  process.stdout.write(markdown);
} else {
  writeFileSync(resolve(import.meta.dirname, '..', 'LOAD.md'), markdown);
  process.stdout.write(markdown);
  process.stderr.write('load: wrote bench/LOAD.md\n');
}
if (failed.length > 0) {
  process.stderr.write(`load: checks failed:\n${failed.map((f) => `  ${f}\n`).join('')}`);
  process.exitCode = 1;
}
