/**
 * Audit findings: each broken (or unverifiable) promise found by `vouch audit`, named by a kind
 * and the subject it is about, so that the command's output reads as a list of violations such
 * as `fork: release log`, `unlogged: 3.targets.json`, `unapproved: products/x/1.0/x.tar.gz` or
 * `access outside CH: ledger ch-zrh entry 12`. Pure; no I/O.
 */

/** FindingKind names the promise a finding says was broken; `unverifiable` means the data to check it was missing. */
export type FindingKind =
  | 'fork'
  | 'quorum'
  | 'unreadable'
  | 'unlogged'
  | 'equivocation'
  | 'unapproved'
  | 'unsigned'
  | 'rebuild'
  | 'evidence'
  | 'neutral data outside ch-zrh'
  | 'access outside CH'
  | 'wrong site'
  | 'unjustified'
  | 'policy digest'
  | 'decision'
  | 'expired approval'
  | 'forged approval'
  | 'released on deny'
  | 'malformed'
  | 'unverifiable';

/** Finding is one violation: its kind, the subject (a log, a file, a target path, a ledger entry) and the detail. */
export interface Finding {
  readonly kind: FindingKind;
  readonly subject: string;
  /** detail says what was seen, in words safe to print. */
  readonly detail: string;
}

/** finding builds a frozen finding, keeping the detail to one printable line of at most 512 characters. */
export function finding(kind: FindingKind, subject: string, detail: string): Finding {
  const clean = (text: string, max: number): string => text.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
  return Object.freeze({ kind, subject: clean(subject, 256), detail: clean(detail, 512) });
}

/** violationLine spells a finding as the command prints it: `KIND: SUBJECT — DETAIL`. */
export function violationLine(f: Finding): string {
  return `${f.kind}: ${f.subject}${f.detail === '' ? '' : ` — ${f.detail}`}`;
}

/** ledgerSubject names a ledger entry: `ledger ch-zrh entry 12`. */
export function ledgerSubject(site: string, index: bigint): string {
  return `ledger ${site} entry ${index}`;
}
