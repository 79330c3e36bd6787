/**
 * Auditing the update repository's public folder since the last audit (docs/updates.md):
 *
 * - every root, targets and snapshot version published after the last audited one is in the
 *   release log: its release record is rebuilt from the file's bytes and looked up among the
 *   entries of the audited log (`unlogged: 3.targets.json` otherwise);
 * - each root version is signed by the threshold of the previous root and of itself, each
 *   snapshot and the timestamp by their role's threshold (`unsigned: FILE`);
 * - each targets version carries a valid signature from every key of the targets role — the
 *   vendor's and the approver's — or every target it adds or changes is `unapproved: PATH`;
 * - every target it adds or changes that carries evidence passes checkReleaseEvidence under the
 *   release policy (neutral-site builder, k-of-n matching rebuilds, review, each evidence file
 *   logged with a witnessed proof), and every evidence file is itself among the log's entries
 *   (`rebuild: PATH`, `evidence: PATH` or `unlogged: evidence/<sha256>.json`).
 *
 * Versions are found by probing `N.ROLE.json` upward (never overwritten under consistent
 * snapshots), so a public URL without listings works the same as a folder. Probing does not stop
 * at a gap below the versions clients are sent to: the snapshot version the timestamp names and
 * the targets version that snapshot names are read first, every version up to them is probed,
 * and each one missing is reported (`unreadable: 6.targets.json`), so a version published after
 * a skipped number is audited like any other.
 */

import { type Finding, finding } from '../../core/audit/findings.ts';
import type { AuditedFile, AuditedRelease } from '../../core/audit/report.ts';
import type { RepositoryVersions } from '../../core/audit/state.ts';
import { formatHex } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { checkReleaseEvidence, maxEvidenceBytes } from '../../core/release/evidence.ts';
import type { ReleasePolicy } from '../../core/release/policy.ts';
import { releaseRecord } from '../../core/release/record.ts';
import { maxTlogProofBytes } from '../../core/tlog/proof.ts';
import { type Metadata, maxBytesFor, parseMetadata, type RoleName } from '../../core/tuf/metadata.ts';
import { verifyThreshold } from '../../core/tuf/verify.ts';
import { type TargetFileInfo, toVouchTarget, type VouchTarget } from '../agent/targets.ts';
import type { FileSource } from './source.ts';

/** maxProbedVersions bounds the versions of one role read in one audit. */
export const maxProbedVersions = 100_000;

const maxMetadataFileBytes = 16 * 1024 * 1024;

/** RepositoryAuditInput is what the repository audit needs. */
export interface RepositoryAuditInput {
  readonly name: string;
  readonly source: FileSource;
  readonly releasePolicy: ReleasePolicy;
  /** logged holds the hex SHA-256 of every entry of the audited release log. */
  readonly logged: ReadonlySet<string>;
  /** previous are the versions the last audit covered. */
  readonly previous?: RepositoryVersions;
}

/** RepositoryAudit is the outcome. */
export interface RepositoryAudit {
  readonly versions: RepositoryVersions;
  readonly timestamp?: AuditedFile;
  readonly snapshot?: AuditedFile;
  readonly checked: readonly AuditedFile[];
  readonly releases: readonly AuditedRelease[];
  readonly findings: readonly Finding[];
}

function reason(error: unknown): string {
  return isVouchError(error) ? error.message : 'unexpected failure';
}

function hexOf(bytes: Uint8Array): string {
  return formatHex(sha256(bytes));
}

/** auditRepository audits the public folder; see the module comment. It throws only when the source fails. */
export async function auditRepository(input: RepositoryAuditInput): Promise<RepositoryAudit> {
  const { source, name } = input;
  const findings: Finding[] = [];
  const checked: AuditedFile[] = [];
  const releases: AuditedRelease[] = [];
  const previous = input.previous ?? { root: 0, targets: 0, snapshot: 0, timestamp: 0 };

  const read = async <R extends RoleName>(
    role: R,
    version: number,
  ): Promise<Metadata<R> | 'missing' | 'bad'> => {
    const file = `${version}.${role}.json`;
    const bytes = await source.get(file, maxMetadataFileBytes);
    if (bytes === undefined) return 'missing';
    try {
      return parseMetadata(role, bytes, maxMetadataFileBytes);
    } catch (error) {
      findings.push(finding('malformed', file, reason(error)));
      return 'bad';
    }
  };
  const logged = (file: string, bytes: Uint8Array): void => {
    const record = releaseRecord({ repository: name, file, bytes });
    checked.push(Object.freeze({ file, version: Number(file.split('.')[0]), sha256: hexOf(bytes) }));
    if (!input.logged.has(hexOf(record))) {
      findings.push(
        finding('unlogged', file, `no release record of its SHA-256 ${hexOf(bytes)} is in the release log`),
      );
    }
  };

  // Roots: the chain from the last audited one, each signed by the previous and by itself.
  let root: Metadata<'root'> | undefined;
  let rootVersion = 0;
  for (let v = 1; v <= maxProbedVersions; v++) {
    const next = await read('root', v);
    if (next === 'missing') break;
    if (next === 'bad') return { versions: previous, checked, releases, findings };
    if (v > previous.root) {
      logged(`${v}.root.json`, next.bytes);
      for (const signer of root === undefined ? [next] : [root, next]) {
        try {
          verifyThreshold(next.signed, next.signatures, signer.fields.keys, signer.fields.roles.root, {
            role: `root v${v} (by root v${signer.fields.version})`,
          });
        } catch (error) {
          findings.push(finding('unsigned', `${v}.root.json`, reason(error)));
        }
      }
    }
    root = next;
    rootVersion = v;
  }
  if (root === undefined) {
    findings.push(finding('unreadable', `repository ${name}`, 'no 1.root.json is published'));
    return { versions: previous, checked, releases, findings };
  }
  const trusted = root;
  const roleCheck = (meta: Metadata, role: 'snapshot' | 'timestamp', file: string): void => {
    try {
      verifyThreshold(meta.signed, meta.signatures, trusted.fields.keys, trusted.fields.roles[role], {
        role: file,
      });
    } catch (error) {
      findings.push(finding('unsigned', file, reason(error)));
    }
  };

  // What clients are sent to: the snapshot the timestamp names and the targets that snapshot
  // names. Only their version numbers are used here, to probe past gaps; both files are checked
  // below like every other version.
  const tsBytes = await source.get('timestamp.json', maxBytesFor('timestamp'));
  let ts: Metadata<'timestamp'> | undefined;
  if (tsBytes === undefined) {
    findings.push(finding('unreadable', 'timestamp.json', 'no timestamp.json is published'));
  } else {
    try {
      ts = parseMetadata('timestamp', tsBytes);
    } catch (error) {
      findings.push(finding('malformed', 'timestamp.json', reason(error)));
    }
  }
  const namedSnapshot = ts?.fields.snapshot.version ?? 0;
  let namedTargets = 0;
  if (namedSnapshot > 0) {
    const bytes = await source.get(`${namedSnapshot}.snapshot.json`, maxMetadataFileBytes);
    if (bytes !== undefined) {
      try {
        namedTargets =
          parseMetadata('snapshot', bytes, maxMetadataFileBytes).fields.meta.get('targets.json')?.version ??
          0;
      } catch {
        // Reported as malformed when the snapshot loop reaches it.
      }
    }
  }
  // gaps collects the runs of versions missing below what clients are sent to.
  const gaps = (role: 'targets' | 'snapshot', named: number, by: string) => {
    let start = 0;
    return {
      missing(v: number): void {
        if (start === 0) start = v;
      },
      /** end closes a run of missing versions just below v. */
      end(v: number): void {
        if (start === 0) return;
        const last = v - 1;
        const subject =
          start === last ? `${start}.${role}.json` : `${start}.${role}.json to ${last}.${role}.json`;
        findings.push(
          finding(
            'unreadable',
            subject,
            `not published, though ${by} names ${role} version ${named}: the versions in between cannot be audited`,
          ),
        );
        start = 0;
      },
    };
  };

  // Targets: every version, its approval by each targets key, and its new targets' evidence.
  let before: Metadata<'targets'> | undefined;
  if (previous.targets > 0) {
    const last = await read('targets', previous.targets);
    if (typeof last !== 'string') before = last;
  }
  let targetsVersion = previous.targets;
  const targetGaps = gaps('targets', namedTargets, `${namedSnapshot}.snapshot.json`);
  for (let v = previous.targets + 1; v <= previous.targets + maxProbedVersions; v++) {
    const next = await read('targets', v);
    if (next === 'missing') {
      if (v > namedTargets) {
        targetGaps.end(v);
        break;
      }
      targetGaps.missing(v);
      continue;
    }
    targetGaps.end(v);
    if (next === 'bad') continue;
    const file = `${v}.targets.json`;
    logged(file, next.bytes);
    const changed: [string, TargetFileInfo][] = [];
    for (const [path, t] of next.fields.targets) {
      const old = before?.fields.targets.get(path);
      if (old === undefined || old.hashes['sha256'] !== t.hashes['sha256'] || old.length !== t.length) {
        changed.push([path, t]);
      }
    }
    const missing: string[] = [];
    for (const keyid of trusted.fields.roles.targets.keyids) {
      try {
        verifyThreshold(
          next.signed,
          next.signatures,
          trusted.fields.keys,
          { keyids: [keyid], threshold: 1 },
          {
            role: `${file} by targets key ${keyid.slice(0, 16)}`,
          },
        );
      } catch {
        missing.push(keyid.slice(0, 16));
      }
    }
    if (missing.length > 0) {
      const subjects = changed.length === 0 ? [file] : changed.map(([p]) => p);
      for (const subject of subjects) {
        findings.push(
          finding(
            'unapproved',
            subject,
            `${file} lacks a valid signature of targets key(s) ${missing.join(', ')}`,
          ),
        );
      }
    }
    for (const [path, info] of changed) {
      releases.push(await auditTarget(input, v, path, info, findings));
    }
    before = next;
    targetsVersion = v;
  }

  // Snapshots: every new version logged and signed.
  let snapshotVersion = previous.snapshot;
  let snapshotFile: AuditedFile | undefined;
  const snapshotGaps = gaps('snapshot', namedSnapshot, 'timestamp.json');
  for (let v = previous.snapshot + 1; v <= previous.snapshot + maxProbedVersions; v++) {
    const next = await read('snapshot', v);
    if (next === 'missing') {
      if (v > namedSnapshot) {
        snapshotGaps.end(v);
        break;
      }
      snapshotGaps.missing(v);
      continue;
    }
    snapshotGaps.end(v);
    if (next === 'bad') continue;
    const file = `${v}.snapshot.json`;
    logged(file, next.bytes);
    roleCheck(next, 'snapshot', file);
    snapshotVersion = v;
    snapshotFile = Object.freeze({ file, version: v, sha256: hexOf(next.bytes) });
  }

  // Timestamp: signed, and naming a snapshot version that is published.
  let timestampFile: AuditedFile | undefined;
  let timestampVersion = previous.timestamp;
  if (ts !== undefined && tsBytes !== undefined) {
    roleCheck(ts, 'timestamp', 'timestamp.json');
    timestampVersion = ts.fields.version;
    timestampFile = Object.freeze({
      file: 'timestamp.json',
      version: ts.fields.version,
      sha256: hexOf(tsBytes),
    });
    const named: number = ts.fields.snapshot.version;
    if (named > snapshotVersion) {
      findings.push(
        finding('unlogged', 'timestamp.json', `it names snapshot version ${named}, which is not published`),
      );
    } else if (snapshotFile === undefined || snapshotFile.version !== named) {
      const named2 = await source.get(`${named}.snapshot.json`, maxMetadataFileBytes);
      if (named2 !== undefined)
        snapshotFile = Object.freeze({
          file: `${named}.snapshot.json`,
          version: named,
          sha256: hexOf(named2),
        });
    }
  }
  return {
    versions: Object.freeze({
      root: rootVersion,
      targets: targetsVersion,
      snapshot: snapshotVersion,
      timestamp: timestampVersion,
    }),
    ...(timestampFile === undefined ? {} : { timestamp: timestampFile }),
    ...(snapshotFile === undefined ? {} : { snapshot: snapshotFile }),
    checked,
    releases,
    findings,
  };
}

async function auditTarget(
  input: RepositoryAuditInput,
  version: number,
  path: string,
  info: TargetFileInfo,
  findings: Finding[],
): Promise<AuditedRelease> {
  const sha = info.hashes['sha256'] ?? '';
  const release = (evidence: AuditedRelease['evidence'], rebuilds = 0): AuditedRelease =>
    Object.freeze({ targetsVersion: version, path, sha256: sha, evidence, rebuilds });
  let target: VouchTarget | undefined;
  try {
    target = toVouchTarget(path, info);
  } catch (error) {
    findings.push(finding('evidence', path, reason(error)));
    return release('failed');
  }
  if (target?.kind === 'rules-delta') return release('none');
  const evidence = target?.evidence;
  if (target === undefined || evidence === undefined) {
    findings.push(
      finding('evidence', path, 'the target names no provenance, rebuilds or review (custom.vouch.evidence)'),
    );
    return release('failed');
  }
  const digests = [
    evidence.provenance,
    ...evidence.rebuilds,
    ...(evidence.review === undefined ? [] : [evidence.review]),
  ];
  const files = new Map<string, Uint8Array>();
  const proofs = new Map<string, Uint8Array>();
  for (const digest of digests) {
    const bytes = await input.source.get(`evidence/${digest}.json`, maxEvidenceBytes);
    if (bytes === undefined || hexOf(bytes) !== digest) {
      findings.push(
        finding(
          'evidence',
          path,
          `evidence/${digest}.json is ${bytes === undefined ? 'missing' : 'not the file named'}`,
        ),
      );
      return release('failed');
    }
    files.set(digest, bytes);
    if (!input.logged.has(digest)) {
      findings.push(
        finding('unlogged', `evidence/${digest}.json`, `evidence of ${path} is not in the release log`),
      );
    }
    const proof = await input.source.get(`log/${digest}.tlog-proof`, maxTlogProofBytes);
    if (proof !== undefined) proofs.set(digest, proof);
  }
  try {
    const verdict = checkReleaseEvidence(input.releasePolicy, {
      target: { name: path, sha256: sha, length: info.length },
      provenance: files.get(evidence.provenance) as Uint8Array,
      rebuilds: evidence.rebuilds.map((d) => files.get(d) as Uint8Array),
      ...(evidence.review === undefined ? {} : { review: files.get(evidence.review) as Uint8Array }),
      proofs,
    });
    return release('passed', verdict.matchingRebuilders);
  } catch (error) {
    const attack = isVouchError(error) ? String(error.details['attack'] ?? '') : '';
    const kind =
      attack === 'rebuild'
        ? 'rebuild'
        : attack === 'unlogged' || attack === 'split-view'
          ? 'unlogged'
          : 'evidence';
    findings.push(finding(kind, path, `${attack === '' ? '' : `${attack}: `}${reason(error)}`));
    return release('failed');
  }
}
