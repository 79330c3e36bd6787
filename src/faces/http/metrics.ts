/**
 * A small metrics registry written out in the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): counters, gauges read when
 * scraped, and histograms, each with `# HELP` and `# TYPE` lines, label values escaped (`\\`,
 * `\"`, `\n`) and help text escaped (`\\`, `\n`). Names and label names are checked when a metric
 * is registered, so a bad name is a bug found at start-up, not a broken scrape.
 *
 * Label values must come from small fixed sets (service names, status classes, error codes),
 * never from request data: each metric keeps at most {@link maxSeriesPerMetric} series, the last
 * one labelled `overflow` counting the rest. It does not do summaries, exemplars or
 * the OpenMetrics format.
 */

import { VouchError } from '../../core/errors.ts';

/** metricsContentType is the Content-Type of the text format. */
export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8';

/** maxSeriesPerMetric bounds the label combinations one metric keeps. */
export const maxSeriesPerMetric = 1000;

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Labels are label names to values. */
export type Labels = Readonly<Record<string, string>>;

/** Sample is one value of a gauge read at scrape time. */
export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
}

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  lines(): Promise<string[]>;
}

/** escapeLabelValue escapes a label value for the text format. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** escapeHelp escapes help text for the text format. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** formatValue renders a sample value as the format spells it (`+Inf`, `-Inf`, `NaN`). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function formatLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return `{${names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`).join(',')}}`;
}

function checkName(name: string): void {
  if (!metricName.test(name)) throw new VouchError('invariant', `internal error: bad metric name ${name}`);
}

function checkLabelNames(names: readonly string[]): void {
  for (const n of names) {
    if (!labelName.test(n) || n.startsWith('__') || n === 'le') {
      throw new VouchError('invariant', `internal error: bad label name ${n}`);
    }
  }
}

/** SeriesMap keys label values in a fixed order, with the overflow rule of the module comment. */
class SeriesMap<T> {
  readonly #names: readonly string[];
  readonly #make: () => T;
  readonly series = new Map<string, { values: string[]; state: T }>();

  constructor(names: readonly string[], make: () => T) {
    this.#names = names;
    this.#make = make;
  }

  get(labels: Labels): T {
    let values = this.#names.map((n) => labels[n] ?? '');
    let key = JSON.stringify(values);
    if (!this.series.has(key) && this.series.size >= maxSeriesPerMetric - 1) {
      values = this.#names.map(() => 'overflow');
      key = JSON.stringify(values);
    }
    let found = this.series.get(key);
    if (found === undefined) {
      found = { values, state: this.#make() };
      this.series.set(key, found);
    }
    return found.state;
  }
}

/** Counter is a monotonically increasing count per label combination. */
export class Counter {
  readonly #labelNames: readonly string[];
  readonly #series: SeriesMap<{ value: number }>;

  constructor(labelNames: readonly string[]) {
    this.#labelNames = labelNames;
    this.#series = new SeriesMap(labelNames, () => ({ value: 0 }));
  }

  /** inc adds `by` (default 1, never negative) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new VouchError('invariant', 'internal error: a counter only goes up');
    this.#series.get(labels).value += by;
  }

  /** value returns the current count of `labels` (0 when never incremented). */
  value(labels: Labels = {}): number {
    const key = JSON.stringify(this.#labelNames.map((n) => labels[n] ?? ''));
    return this.#series.series.get(key)?.state.value ?? 0;
  }

  lines(name: string): string[] {
    return [...this.#series.series.values()].map(
      (s) => `${name}${formatLabels(this.#labelNames, s.values)} ${formatValue(s.state.value)}`,
    );
  }
}

/** Histogram counts observations into cumulative buckets, with their sum and count. */
export class Histogram {
  readonly #labelNames: readonly string[];
  readonly #buckets: readonly number[];
  readonly #series: SeriesMap<{ counts: number[]; sum: number; count: number }>;

  constructor(labelNames: readonly string[], buckets: readonly number[]) {
    for (let i = 1; i < buckets.length; i++) {
      if (!((buckets[i] as number) > (buckets[i - 1] as number))) {
        throw new VouchError('invariant', 'internal error: histogram buckets must increase');
      }
    }
    this.#labelNames = labelNames;
    this.#buckets = buckets;
    this.#series = new SeriesMap(labelNames, () => ({ counts: buckets.map(() => 0), sum: 0, count: 0 }));
  }

  /** observe records one value in the series of `labels`. */
  observe(value: number, labels: Labels = {}): void {
    const s = this.#series.get(labels);
    this.#buckets.forEach((bound, i) => {
      if (value <= bound) s.counts[i] = (s.counts[i] ?? 0) + 1;
    });
    s.sum += value;
    s.count++;
  }

  lines(name: string): string[] {
    const out: string[] = [];
    const names = [...this.#labelNames, 'le'];
    for (const s of this.#series.series.values()) {
      this.#buckets.forEach((bound, i) => {
        out.push(
          `${name}_bucket${formatLabels(names, [...s.values, formatValue(bound)])} ${s.state.counts[i]}`,
        );
      });
      out.push(`${name}_bucket${formatLabels(names, [...s.values, '+Inf'])} ${s.state.count}`);
      out.push(`${name}_sum${formatLabels(this.#labelNames, s.values)} ${formatValue(s.state.sum)}`);
      out.push(`${name}_count${formatLabels(this.#labelNames, s.values)} ${s.state.count}`);
    }
    return out;
  }
}

/** MetricsRegistry holds a process's metrics and formats them for a scrape. */
export class MetricsRegistry {
  readonly #metrics: Metric[] = [];

  #register(metric: Metric): void {
    checkName(metric.name);
    if (this.#metrics.some((m) => m.name === metric.name)) {
      throw new VouchError('invariant', `internal error: metric ${metric.name} registered twice`);
    }
    this.#metrics.push(metric);
  }

  /** counter registers and returns a counter; by convention its name ends in `_total`. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    checkLabelNames(labelNames);
    const counter = new Counter(labelNames);
    this.#register({ name, help, type: 'counter', lines: async () => counter.lines(name) });
    return counter;
  }

  /** histogram registers and returns a histogram with the given upper bounds (without +Inf). */
  histogram(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: readonly string[] = [],
  ): Histogram {
    checkLabelNames(labelNames);
    const histogram = new Histogram(labelNames, buckets);
    this.#register({ name, help, type: 'histogram', lines: async () => histogram.lines(name) });
    return histogram;
  }

  /**
   * gauge registers a gauge (or, with `type: 'counter'`, a counter kept elsewhere) whose samples
   * `read` returns at each scrape. A read that throws leaves the metric out of that scrape.
   */
  gauge(
    name: string,
    help: string,
    read: () => readonly Sample[] | Promise<readonly Sample[]>,
    type: 'gauge' | 'counter' = 'gauge',
  ): void {
    this.#register({
      name,
      help,
      type,
      lines: async () => {
        const samples = await read();
        return samples.map((s) => {
          const names = Object.keys(s.labels ?? {});
          checkLabelNames(names);
          return `${name}${formatLabels(names, Object.values(s.labels ?? {}))} ${formatValue(s.value)}`;
        });
      },
    });
  }

  /** format returns every metric in the text exposition format, ending in a newline. */
  async format(): Promise<string> {
    const out: string[] = [];
    for (const metric of this.#metrics) {
      let lines: string[];
      try {
        lines = await metric.lines();
      } catch {
        continue;
      }
      out.push(
        `# HELP ${metric.name} ${escapeHelp(metric.help)}`,
        `# TYPE ${metric.name} ${metric.type}`,
        ...lines,
      );
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }
}

/**
 * registerProcessMetrics adds the process's standard metrics: CPU seconds, resident memory, heap
 * in use and start time, under the names Prometheus client libraries use.
 */
export function registerProcessMetrics(registry: MetricsRegistry, startTimeSeconds: number): void {
  registry.gauge(
    'process_cpu_seconds_total',
    'Total user and system CPU time spent in seconds.',
    () => {
      const usage = process.cpuUsage();
      return [{ value: (usage.user + usage.system) / 1e6 }];
    },
    'counter',
  );
  registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => [
    { value: process.memoryUsage.rss() },
  ]);
  registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use in bytes.', () => [
    { value: process.memoryUsage().heapUsed },
  ]);
  registry.gauge(
    'process_start_time_seconds',
    'Start time of the process since the Unix epoch in seconds.',
    () => [{ value: startTimeSeconds }],
  );
}
