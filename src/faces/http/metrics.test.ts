import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  escapeHelp,
  escapeLabelValue,
  formatValue,
  MetricsRegistry,
  maxSeriesPerMetric,
  registerProcessMetrics,
} from './metrics.ts';

test('a registry formats counters, gauges and histograms in the text exposition format', async () => {
  const registry = new MetricsRegistry();
  const requests = registry.counter('http_requests_total', 'Requests.\nBy "service".', ['service', 'code']);
  requests.inc({ service: 'log', code: '2xx' });
  requests.inc({ service: 'log', code: '2xx' }, 2);
  requests.inc({ service: 'a"b\\c\nd', code: '5xx' });
  registry.gauge('tree_size', 'Tree size.', () => [{ value: 7 }]);
  registry.gauge('broken', 'A gauge whose read fails is left out.', () => {
    throw new Error('store down');
  });
  const latency = registry.histogram('latency_seconds', 'Latency.', [0.1, 1], ['service']);
  latency.observe(0.05, { service: 'log' });
  latency.observe(0.5, { service: 'log' });
  latency.observe(3, { service: 'log' });
  assert.equal(requests.value({ service: 'log', code: '2xx' }), 3);
  assert.equal(
    await registry.format(),
    [
      '# HELP http_requests_total Requests.\\nBy "service".',
      '# TYPE http_requests_total counter',
      'http_requests_total{service="log",code="2xx"} 3',
      'http_requests_total{service="a\\"b\\\\c\\nd",code="5xx"} 1',
      '# HELP tree_size Tree size.',
      '# TYPE tree_size gauge',
      'tree_size 7',
      '# HELP latency_seconds Latency.',
      '# TYPE latency_seconds histogram',
      'latency_seconds_bucket{service="log",le="0.1"} 1',
      'latency_seconds_bucket{service="log",le="1"} 2',
      'latency_seconds_bucket{service="log",le="+Inf"} 3',
      'latency_seconds_sum{service="log"} 3.55',
      'latency_seconds_count{service="log"} 3',
      '',
    ].join('\n'),
  );
});

test('escaping and values follow the format', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeHelp('a\\b"c\nd'), 'a\\\\b"c\\nd');
  assert.equal(formatValue(Number.POSITIVE_INFINITY), '+Inf');
  assert.equal(formatValue(Number.NEGATIVE_INFINITY), '-Inf');
  assert.equal(formatValue(Number.NaN), 'NaN');
  assert.equal(formatValue(1.5), '1.5');
});

test('bad names, label names, duplicate metrics and decreasing counters are bugs', () => {
  const registry = new MetricsRegistry();
  assert.throws(() => registry.counter('1bad', 'x'), /bad metric name/);
  assert.throws(() => registry.counter('ok_total', 'x', ['le']), /bad label name/);
  assert.throws(() => registry.counter('ok_total', 'x', ['__reserved']), /bad label name/);
  assert.throws(() => registry.histogram('h', 'x', [1, 1]), /increase/);
  const c = registry.counter('ok_total', 'x');
  assert.throws(() => registry.counter('ok_total', 'x'), /twice/);
  assert.throws(() => c.inc({}, -1), /only goes up/);
});

test('series beyond the bound are counted under "overflow"', async () => {
  const registry = new MetricsRegistry();
  const c = registry.counter('many_total', 'x', ['id']);
  for (let i = 0; i < maxSeriesPerMetric + 5; i++) c.inc({ id: String(i) });
  const text = await registry.format();
  assert.match(text, /many_total\{id="overflow"\} 6\n/);
  assert.equal(text.split('\n').filter((l) => l.startsWith('many_total{')).length, maxSeriesPerMetric);
});

test('process metrics are present and plausible', async () => {
  const registry = new MetricsRegistry();
  registerProcessMetrics(registry, 1_700_000_000);
  const text = await registry.format();
  assert.match(text, /# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total \d/);
  const rss = Number(/process_resident_memory_bytes (\d+)/.exec(text)?.[1]);
  assert.ok(rss > 1_000_000, `rss ${rss}`);
  assert.match(text, /process_start_time_seconds 1700000000\n/);
});
