/**
 * What the demo leaves behind and says at the end: DIR/vouch.yaml, the `vouch serve`
 * configuration for the demo's world (docs/serve.md; paths relative to DIR), and the summary —
 * what was shown, counted from the world and the audit's own summary line, and where to look.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectKeyFile } from '../../../core/crypto/index.ts';
import { formatVerifierKey, signatureTypes } from '../../../core/note/keys.ts';
import type { World } from './world.ts';

/** defaultListen is where `vouch serve` listens for the demo's world unless told otherwise. */
export const defaultListen = '127.0.0.1:8080';

/**
 * serveConfig is DIR/vouch.yaml: the release log, the repository and the neutral site, and the
 * dashboard reading the audit configuration, the audit reports and the site registry, offering
 * the registry's and the auditor's keys as trust anchors.
 */
export function serveConfig(listen: string, anchors: DashboardAnchors = {}): string {
  return [
    `listen: ${listen}`,
    'log:',
    '  dir: log',
    'repository:',
    '  dir: repo',
    'site:',
    '  dir: ch',
    'dashboard:',
    '  audit_config: audit/audit.json',
    '  reports: audit/report',
    '  registry: ch/registry.json',
    ...(anchors.registryVkey === undefined ? [] : [`  registry_vkey: ${anchors.registryVkey}`]),
    ...(anchors.auditorVkey === undefined ? [] : [`  auditor_vkey: ${anchors.auditorVkey}`]),
    '',
  ].join('\n');
}

/** DashboardAnchors are the keys the dashboard offers its visitors for the registry and the reports. */
export interface DashboardAnchors {
  readonly registryVkey?: string;
  readonly auditorVkey?: string;
}

/** publicVkey reads a key file's public half (no passphrase needed) as a signed-note vkey, if it is there. */
function publicVkey(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const info = inspectKeyFile(readFileSync(file));
  if (info.keyType !== 'ed25519') return undefined;
  return formatVerifierKey({ name: info.name, type: signatureTypes.ed25519, publicKey: info.publicKey });
}

/** writeServeConfig writes DIR/vouch.yaml and returns its path. */
export function writeServeConfig(dir: string, listen = defaultListen): string {
  const file = join(dir, 'vouch.yaml');
  const anchors = {
    registryVkey: publicVkey(join(dir, 'registry.key')),
    auditorVkey: publicVkey(join(dir, 'auditor.key')),
  };
  writeFileSync(file, serveConfig(listen, anchors));
  return file;
}

/** sizeOf reads `<name> at size N` from the audit's summary, or `?` when absent. */
function sizeOf(audit: string, name: string): string {
  return new RegExp(`${name} at size (\\d+)`).exec(audit)?.[1] ?? '?';
}

/** summary is the demo's closing text: what was shown and where to look. */
export function summary(dir: string, world: World, seconds: number, listen = defaultListen): string {
  const ledgers = world.sites.map((s) => `${s.site} ${sizeOf(world.audit, `ledger ${s.site}`)}`).join(', ');
  const rules = world.ruleVersions.map((v) => `v${v}`).join(', ');
  return [
    '',
    `Done in ${Math.round(seconds)} s. What was shown:`,
    `  release log:    ${sizeOf(world.audit, 'release log')} entries, each checkpoint cosigned by both witnesses`,
    `  releases:       ${world.published.length} published (${world.published.join(', ')}); an unapproved one and a sabotaged one refused`,
    `  rule versions:  ${world.ruleVersions.length} (${rules}; v2 reached the agents as a delta)`,
    `  sites:          ${world.sites.length} (${world.sites.map((s) => s.site).join(', ')}), each agent's reports stored at its tenant's site only`,
    `  ledger entries: ${ledgers}`,
    '  audit:          passed: every promise held',
    '',
    'Where to look:',
    `  the audit report:  ${join(dir, 'audit', 'report', 'report.html')} (signed: report.dsse.json)`,
    `  the transcript:    ${join(dir, 'demo.log')}`,
    `  the dashboard:     vouch serve --config ${join(dir, 'vouch.yaml')}`,
    `                     then open http://${listen}/dashboard/ (vouch demo --serve does both)`,
    '',
  ].join('\n');
}
