/**
 * The hardening figures in bench/RESULTS.md: fuzzing (bench/FUZZ.md, `npm run fuzz`), load
 * (bench/LOAD.md, `npm run load`) and faults (bench/FAULTS.md, the fault tests). Each is written
 * by its own run, which takes longer than the benchmarks; `npm run bench` embeds the latest of
 * each at the end of RESULTS.md, and `node bench/hardening.ts --update` re-embeds them into the
 * current RESULTS.md without re-running the benchmarks.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** marker starts the embedded part of RESULTS.md; everything after it is replaced on update. */
export const marker = '## Hardening';

const parts = [
  { file: 'FUZZ.md', title: 'fuzzing', how: '`npm run fuzz`' },
  { file: 'LOAD.md', title: 'load', how: '`npm run load`' },
  { file: 'FAULTS.md', title: 'faults', how: 'the fault tests in `test/fault/`' },
];

/** hardeningMarkdown returns the section embedding every hardening result present in `dir`. */
export function hardeningMarkdown(dir: string): string {
  const lines = [
    `${marker}: fuzzing, load and faults`,
    '',
    'Each part below is written by its own run (named in its heading) and copied here as it was last',
    'written; [SECURITY.md](../SECURITY.md) says what they mean for the promises.',
    '',
  ];
  for (const part of parts) {
    const path = resolve(dir, part.file);
    lines.push(`### Hardening: ${part.title} (${part.how}, [${part.file}](${part.file}))`, '');
    if (!existsSync(path)) {
      lines.push('Not run yet.', '');
      continue;
    }
    const body = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line, i) => !(i === 0 && line.startsWith('# ')))
      .map((line) => (line.startsWith('#') ? `###${line}` : line))
      .join('\n')
      .trim();
    lines.push(body, '');
  }
  return lines.join('\n');
}

/** withHardening replaces the hardening section of a RESULTS.md text, or appends it. */
export function withHardening(results: string, dir: string): string {
  const at = results.indexOf(`\n${marker}`);
  const head = at < 0 ? results.trimEnd() : results.slice(0, at).trimEnd();
  return `${head}\n\n${hardeningMarkdown(dir)}`;
}

if (import.meta.main && process.argv.includes('--update')) {
  const dir = import.meta.dirname;
  const path = resolve(dir, 'RESULTS.md');
  writeFileSync(path, withHardening(readFileSync(path, 'utf8'), dir));
  process.stderr.write('bench: embedded the hardening results into bench/RESULTS.md\n');
}
