/**
 * What a load run promises, and its tables: {@link problems} lists every broken promise of one
 * service's run (the CI test asserts there are none, `run.ts` prints them), and
 * {@link formatReport} writes the Markdown of bench/LOAD.md.
 */

import type { Phase, ServiceReport } from './drive.ts';
import { percentile } from './generator.ts';

const isShed = (status: number): boolean => status === 429 || status === 503;
const isOk = (status: number): boolean => status >= 200 && status < 300;

/**
 * problems lists what went wrong in one service's run: nothing shed at any offered rate; a shed
 * answer without `Retry-After`; any status other than 2xx, 429 and 503; a request with no answer;
 * an acknowledged item lost; a peak resident set above the stated bound.
 */
export function problems(report: ServiceReport): string[] {
  const found: string[] = [];
  const phases = report.measured.phases;
  if (!phases.some((p) => p.tally.shed > 0))
    found.push(`${report.service}: shed nothing at any offered rate`);
  for (const phase of phases) {
    const t = phase.tally;
    const at = `${report.service} at ${phase.offeredRate}/s`;
    if (t.shedWithRetryAfter !== t.shed)
      found.push(`${at}: ${t.shed - t.shedWithRetryAfter} shed answers lack Retry-After`);
    for (const [status, n] of t.statuses)
      if (!isOk(status) && !isShed(status)) found.push(`${at}: ${n} answers ${status}`);
    for (const [cause, n] of t.errors) found.push(`${at}: ${n} requests got no answer (${cause})`);
    if (phase.memory.highWaterKiB > report.memoryBoundKiB)
      found.push(
        `${at}: peak RSS ${phase.memory.highWaterKiB} KiB is above the bound of ${report.memoryBoundKiB} KiB`,
      );
  }
  if (report.lost !== 0) found.push(`${report.service}: ${report.lost} acknowledged ${report.what} lost`);
  return found;
}

const n = (value: number): string => Math.round(value).toLocaleString('en-US');
const ms = (value: number): string =>
  Number.isNaN(value) ? '–' : value >= 100 ? `${n(value)} ms` : `${value.toFixed(1)} ms`;
const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;

function accepted(phase: Phase): number {
  let ok = 0;
  for (const [status, count] of phase.tally.statuses) if (isOk(status)) ok += count;
  return ok;
}

function shedSummary(phase: Phase): string {
  const t = phase.tally;
  if (t.shed === 0) return '0';
  const statuses = [...t.statuses].filter(([s]) => isShed(s)).map(([s, c]) => `${n(c)} × ${s}`);
  const share = ((100 * t.shed) / Math.max(1, t.sent)).toFixed(0);
  return `${statuses.join(', ')} (${share}% of sent); Retry-After on ${t.shedWithRetryAfter === t.shed ? 'all' : `${n(t.shedWithRetryAfter)}`}`;
}

function otherSummary(phase: Phase): string {
  const t = phase.tally;
  const other = [...t.statuses].filter(([s]) => !isOk(s) && !isShed(s)).map(([s, c]) => `${n(c)} × ${s}`);
  const errors = [...t.errors].map(([cause, c]) => `${n(c)} × ${cause}`);
  return [...other, ...errors].join(', ') || '0';
}

/** formatService returns the Markdown section of one service. */
export function formatService(report: ServiceReport): string {
  const { capacity, capacityRuns, phases } = report.measured;
  const head = phases.map((p, i) =>
    i === 0 ? `${n(p.offeredRate)}/s offered (2× capacity)` : `${n(p.offeredRate)}/s offered (escalated)`,
  );
  const row = (name: string, cell: (p: Phase) => string): string =>
    `| ${name} | ${phases.map(cell).join(' | ')} |`;
  const lines = [
    `## ${report.service}: ${report.endpoint}`,
    '',
    `Capacity (closed loop, ${capacityRuns.map((r) => `${r.concurrency} clients: ${n(r.rate)}/s, p99 ${ms(r.p99Ms)}${r.shed > 0 ? `, ${n(r.shed)} shed` : ''}`).join('; ')}): ` +
      `**${n(capacity.rate)} requests/s** at ${capacity.concurrency} clients (p50 ${ms(capacity.p50Ms)}, p99 ${ms(capacity.p99Ms)}).`,
    '',
    `| figure | ${head.join(' | ')} |`,
    `| --- | ${phases.map(() => '---:').join(' | ')} |`,
    row(
      'duration (schedule / until the last answer)',
      (p) => `${p.seconds} s / ${(p.tally.elapsedMs / 1000).toFixed(1)} s`,
    ),
    row(
      'sent',
      (p) => n(p.tally.sent) + (p.tally.skipped > 0 ? ` (+${n(p.tally.skipped)} skipped, no idle log)` : ''),
    ),
    row('accepted (2xx)', (p) => `${n(accepted(p))} (${n(accepted(p) / p.seconds)}/s)`),
    row('shed', shedSummary),
    row(
      'shed by',
      (p) =>
        [...p.tally.shedBy]
          .map(([why, c]) => `${n(c)} × “${why.replaceAll('|', '/').slice(0, 70)}”`)
          .join('; ') || '–',
    ),
    row('other statuses and errors', otherSummary),
    row(
      'p50 / p99 of accepted, from when due',
      (p) => `${ms(percentile(p.tally.latenciesMs, 50))} / ${ms(percentile(p.tally.latenciesMs, 99))}`,
    ),
    row(
      'p50 / p99 of accepted, from getting a connection',
      (p) => `${ms(percentile(p.tally.connectedMs, 50))} / ${ms(percentile(p.tally.connectedMs, 99))}`,
    ),
    row('generator lag (worst)', (p) => ms(p.tally.lateMs)),
    row(
      `server peak RSS (sampled / VmHWM; bound ${mib(report.memoryBoundKiB)})`,
      (p) => `${mib(p.memory.peakRssKiB)} / ${mib(p.memory.highWaterKiB)}`,
    ),
    '',
    `Acknowledged ${report.what} over the whole run (capacity runs included): ${n(report.acknowledged)}; **lost: ${n(report.lost)}**.`,
  ];
  const notes = [...report.notes];
  for (const p of phases) {
    if (p.tally.lateMs > 250) {
      notes.push(
        `at ${n(p.offeredRate)}/s the generator itself fell up to ${ms(p.tally.lateMs)} behind its schedule (it shares the two cores ` +
          "with the server): each latency counts from the request's due time, so these include the generator's own delay",
      );
    }
    if (accepted(p) >= 0.95 * p.tally.sent) {
      notes.push(
        `at ${n(p.offeredRate)}/s the service accepted ${((100 * accepted(p)) / Math.max(1, p.tally.sent)).toFixed(0)}% of what was sent: ` +
          'its closed-loop capacity was measured below what it holds open-loop',
      );
    }
  }
  if (notes.length > 0) lines.push('', ...notes.map((note) => `- ${note}`));
  const found = problems(report);
  lines.push('', found.length === 0 ? 'Checks: all held.' : `Checks FAILED: ${found.join('; ')}.`, '');
  return lines.join('\n');
}

/** formatSummary returns the one-table overview of every service. */
export function formatSummary(reports: readonly ServiceReport[]): string {
  const lines = [
    '| service | capacity | offered | accepted/s | shed (429/503, all with Retry-After) | other statuses / errors | p50 / p99 accepted (from when due) | p50 / p99 accepted (from connection) | peak RSS | lost acknowledged |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of reports) {
    const last = r.measured.phases[r.measured.phases.length - 1] as Phase;
    const first = r.measured.phases[0] as Phase;
    const phase = first.tally.shed > 0 ? first : last;
    const retry = phase.tally.shedWithRetryAfter === phase.tally.shed ? '' : ' (NOT all with Retry-After)';
    lines.push(
      `| ${r.service} | ${n(r.measured.capacity.rate)}/s | ${n(phase.offeredRate)}/s × ${phase.seconds} s | ${n(accepted(phase) / phase.seconds)} | ` +
        `${n(phase.tally.shed)} (${((100 * phase.tally.shed) / Math.max(1, phase.tally.sent)).toFixed(0)}%)${retry} | ${otherSummary(phase)} | ` +
        `${ms(percentile(phase.tally.latenciesMs, 50))} / ${ms(percentile(phase.tally.latenciesMs, 99))} | ` +
        `${ms(percentile(phase.tally.connectedMs, 50))} / ${ms(percentile(phase.tally.connectedMs, 99))} | ` +
        `${mib(Math.max(...r.measured.phases.map((p) => p.memory.highWaterKiB)))} | ${n(r.lost)} of ${n(r.acknowledged)} |`,
    );
  }
  return lines.join('\n');
}
