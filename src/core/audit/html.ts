/**
 * The audit report as a self-contained static HTML page: the verdict, every finding, the logs
 * and repository versions audited, and simple inline-SVG charts (log growth per audit, releases
 * per targets version, accesses per site and per justification). No script, no stylesheet link,
 * no image, no font: nothing is fetched when the page is opened, so it can be archived and
 * served anywhere. Every text from the audited world is HTML-escaped. Pure; no I/O.
 */

import { formatHex } from '../bytes/index.ts';
import { violationLine } from './findings.ts';
import type { AuditReport } from './report.ts';

/** escapeHtml escapes text for element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

interface Bar {
  readonly label: string;
  readonly value: number;
}

const palette = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b7791f', '#9b2c2c'];

/** barChart draws horizontal bars, one per item, labelled with their values. */
function barChart(title: string, items: readonly Bar[]): string {
  const shown = items.slice(0, 20);
  if (shown.length === 0)
    return `<figure><figcaption>${escapeHtml(title)}</figcaption><p>Nothing yet.</p></figure>`;
  const max = Math.max(1, ...shown.map((b) => b.value));
  const row = 22;
  const height = shown.length * row + 10;
  const bars = shown
    .map((b, i) => {
      const y = i * row + 5;
      const w = Math.round((b.value / max) * 300);
      const label = b.label.length > 40 ? `${b.label.slice(0, 39)}…` : b.label;
      return (
        `<text x="0" y="${y + 14}" font-size="12">${escapeHtml(label)}</text>` +
        `<rect x="260" y="${y}" width="${w}" height="16" fill="${palette[i % palette.length]}"/>` +
        `<text x="${266 + w}" y="${y + 13}" font-size="12">${b.value}</text>`
      );
    })
    .join('');
  return (
    `<figure><figcaption>${escapeHtml(title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="${height}" role="img" aria-label="${escapeHtml(title)}">${bars}</svg></figure>`
  );
}

/** lineChart draws one polyline per series over the same points (audits). */
function lineChart(
  title: string,
  points: readonly string[],
  series: ReadonlyMap<string, readonly number[]>,
): string {
  if (points.length === 0) return '';
  const width = 640;
  const height = 200;
  const max = Math.max(1, ...[...series.values()].flat());
  const x = (i: number): number =>
    points.length === 1 ? width / 2 : 40 + (i * (width - 80)) / (points.length - 1);
  const y = (v: number): number => height - 30 - (v / max) * (height - 50);
  let k = 0;
  const lines: string[] = [];
  const legend: string[] = [];
  for (const [name, values] of series) {
    const color = palette[k % palette.length] ?? '#000';
    const coords = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    lines.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${coords}"/>`);
    for (const [i, v] of values.entries())
      lines.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"/>`);
    legend.push(
      `<text x="${10 + k * 200}" y="${height - 8}" font-size="12" fill="${color}">${escapeHtml(name)}</text>`,
    );
    k++;
  }
  return (
    `<figure><figcaption>${escapeHtml(title)} (max ${max})</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<line x1="30" y1="${height - 30}" x2="${width - 20}" y2="${height - 30}" stroke="#888"/>` +
    `${lines.join('')}${legend.join('')}</svg></figure>`
  );
}

/** renderAuditHtml returns the report page; see the module comment. */
export function renderAuditHtml(report: AuditReport): string {
  const verdict = report.passed
    ? '<p class="ok">Every promise held.</p>'
    : `<p class="bad">${report.findings.length} promise(s) broken.</p>`;
  const findings =
    report.findings.length === 0
      ? '<p>No findings.</p>'
      : `<ol>${report.findings.map((f) => `<li>${escapeHtml(violationLine(f))}</li>`).join('')}</ol>`;
  const logs = report.logs
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.name)}</td><td>${escapeHtml(l.origin)}</td><td>${l.previousSize ?? '—'}</td>` +
        `<td>${l.size}</td><td><code>${formatHex(l.root)}</code></td><td>${escapeHtml(l.cosigners.join(', '))}</td></tr>`,
    )
    .join('');
  const points = [...report.history.map((h) => h.time), report.time];
  const series = new Map<string, number[]>();
  for (const l of report.logs) {
    series.set(l.name, [...report.history.map((h) => h.logs[l.name] ?? 0), Number(l.size)]);
  }
  const activity = new Map<string, number[]>([
    ['releases', [...report.history.map((h) => h.releases), report.repository.releases.length]],
    [
      'ledger entries',
      [...report.history.map((h) => h.accesses), report.accesses.reduce((n, a) => n + a.entries, 0)],
    ],
  ]);
  const releasesPerVersion = new Map<number, number>();
  for (const r of report.repository.releases)
    releasesPerVersion.set(r.targetsVersion, (releasesPerVersion.get(r.targetsVersion) ?? 0) + 1);
  const justifications = new Map<string, number>();
  for (const a of report.accesses)
    for (const [j, n] of Object.entries(a.byJustification))
      justifications.set(j, (justifications.get(j) ?? 0) + n);
  const releases = report.repository.releases
    .map(
      (r) =>
        `<tr><td>${r.targetsVersion}</td><td>${escapeHtml(r.path)}</td><td><code>${escapeHtml(r.sha256.slice(0, 16))}</code></td>` +
        `<td>${r.evidence}</td><td>${r.rebuilds}</td></tr>`,
    )
    .join('');
  const files = [report.repository.timestamp, report.repository.snapshot]
    .filter((f) => f !== undefined)
    .map((f) => `<li>${escapeHtml(f.file)} (version ${f.version}) <code>${escapeHtml(f.sha256)}</code></li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vouch audit ${escapeHtml(report.time)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}.ok{color:#2f855a;font-weight:bold}.bad{color:#c53030;font-weight:bold}code{font-size:11px}figure{margin:1em 0}</style>
</head><body>
<h1>Vouch supervisor's audit</h1>
<p>Audited at ${escapeHtml(report.time)} by <code>${escapeHtml(report.auditor)}</code>. Result: <strong>${report.passed ? 'PASSED' : 'FAILED'}</strong>.</p>
${verdict}
<h2>Findings</h2>
${findings}
<h2>Logs</h2>
<table><tr><th>log</th><th>origin</th><th>previous size</th><th>size</th><th>root</th><th>cosigners</th></tr>${logs}</table>
${lineChart('Log growth per audit', points, series)}
<h2>Repository ${escapeHtml(report.repository.name)}</h2>
<ul>${files}</ul>
<table><tr><th>targets</th><th>path</th><th>sha256</th><th>evidence</th><th>rebuilds</th></tr>${releases}</table>
${barChart(
  'Targets per audited targets version',
  [...releasesPerVersion].map(([v, n]) => ({ label: `targets v${v}`, value: n })),
)}
${lineChart('Releases and ledger entries audited per audit', points, activity)}
<h2>Accesses</h2>
${barChart(
  'Ledger entries per site (audited this run)',
  report.accesses.map((a) => ({ label: a.site, value: a.entries })),
)}
${barChart(
  'Ledger entries per justification',
  [...justifications].sort((a, b) => b[1] - a[1]).map(([label, value]) => ({ label, value })),
)}
</body></html>
`;
}
