/**
 * `npm run bench`: runs every suite in bench/suites and writes bench/results.json and
 * bench/RESULTS.md. `--quick` shrinks workloads (CI uses it to prove the benchmarks still run);
 * `--only NAME` runs one suite. A quick or partial run prints its table and never overwrites the
 * published results.
 */

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, freemem, totalmem, type } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { withHardening } from './hardening.ts';
import { type Figure, ratio, type Suite } from './lib.ts';
import { suites } from './suites/index.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const quick = values.quick === true;
const selected = suites.filter((s: Suite) => values.only === undefined || s.name === values.only);

const figures: Figure[] = [];
for (const suite of selected) {
  process.stderr.write(`bench: ${suite.name}...\n`);
  figures.push(...(await suite.run({ quick })));
}

const machine = {
  os: `${type()} ${process.arch}`,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  freeMemoryGiB: Math.round(freemem() / 2 ** 30),
  node: process.version,
};
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const date = new Date().toISOString();

const format = (n: number): string =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 1 ? n.toFixed(2) : n.toPrecision(3);

const lines = [
  '# Benchmark results',
  '',
  `Written by \`npm run bench\` on ${date.slice(0, 10)} (commit ${commit}). Each figure is the median of several`,
  'rounds, measured in the same run as its baseline; the ratio is above 1 when Vouch does better than the baseline',
  'and below 1 when it does worse. The machines are shared and noisy: read ratios, not absolute figures.',
  '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node.js ${machine.node}.`,
  '',
];
for (const suiteName of [...new Set(figures.map((f) => f.suite))]) {
  lines.push(
    `## ${suiteName}`,
    '',
    '| figure | value | baseline | baseline value | ratio | goal |',
    '| --- | ---: | --- | ---: | ---: | --- |',
  );
  for (const f of figures.filter((x) => x.suite === suiteName)) {
    lines.push(
      `| ${f.name} | ${format(f.value)} ${f.unit} | ${f.baseline.name} | ${format(f.baseline.value)} ${f.unit} | ${ratio(f).toFixed(2)} | ${f.goal ?? ''} |`,
    );
  }
  const notes = figures.filter((x) => x.suite === suiteName && x.note !== undefined);
  if (notes.length > 0) lines.push('', ...notes.map((f) => `- ${f.name}: ${f.note}`));
  lines.push('');
}
const markdown = withHardening(lines.join('\n'), import.meta.dirname);
const json = `${JSON.stringify({ date, commit, machine, quick, figures: figures.map((f) => ({ ...f, ratio: ratio(f) })) }, null, 2)}\n`;

if (quick || values.only !== undefined) {
  // A partial or shrunken run never replaces the published results.
  process.stdout.write(markdown);
} else {
  const dir = import.meta.dirname;
  writeFileSync(resolve(dir, 'results.json'), json);
  writeFileSync(resolve(dir, 'RESULTS.md'), markdown);
  process.stdout.write(markdown);
  process.stderr.write('bench: wrote bench/results.json and bench/RESULTS.md\n');
}
