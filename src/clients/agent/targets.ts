/**
 * What the agent reads out of verified targets metadata: each target's length, SHA-256 and the
 * `custom.vouch` fields of docs/updates.md (kind, name, version, evidence, delta); which version
 * of each wanted name to install (the newest); which delta applies to an installed database; and
 * where a target file is published (`targets/<folders>/<sha256>.<basename>`, consistent
 * snapshots). Everything here is pure and works on metadata that the TUF state machine has
 * already verified; it still refuses fields that do not have the documented shape (`malformed`
 * naming the target), because a signed but malformed target must not be half-understood.
 */

import { describeUntrusted, malformed, type VouchError } from '../../core/errors.ts';

/** TargetKind is `custom.vouch.kind`. */
export type TargetKind = 'product' | 'rules' | 'rules-delta';

/** TargetEvidence is `custom.vouch.evidence`: SHA-256 digests of files under `evidence/`. */
export interface TargetEvidence {
  readonly provenance: string;
  readonly rebuilds: readonly string[];
  readonly review?: string;
}

/** TargetDelta is `custom.vouch.delta` of a `rules-delta` target. */
export interface TargetDelta {
  readonly from: number;
  readonly to: number;
  /** result is the target path of the full database the delta must produce. */
  readonly result: string;
}

/** VouchTarget is one verified target with its parsed `custom.vouch`. */
export interface VouchTarget {
  readonly path: string;
  readonly length: number;
  readonly sha256: string;
  readonly kind: TargetKind;
  readonly name: string;
  readonly version: string;
  readonly evidence?: TargetEvidence;
  readonly delta?: TargetDelta;
}

/** TargetFileInfo is what TUF targets metadata says of a file: length, hashes and custom. */
export interface TargetFileInfo {
  readonly length: number;
  readonly hashes: Readonly<Record<string, string>>;
  readonly custom?: unknown;
}

const hex64 = /^[0-9a-f]{64}$/;

/**
 * toVouchTarget reads a target's info. It returns undefined for a target without
 * `custom.vouch` (not Vouch's to install), and throws `malformed` naming the target path for a
 * `custom.vouch` of the wrong shape or a target without a SHA-256.
 */
export function toVouchTarget(path: string, info: TargetFileInfo): VouchTarget | undefined {
  const custom = info.custom as Record<string, unknown> | undefined;
  const vouch = custom !== undefined && typeof custom === 'object' ? custom.vouch : undefined;
  if (vouch === undefined) return undefined;
  const bad = (what: string): VouchError => malformed(`target ${describeUntrusted(path)}: ${what}`, path);
  if (vouch === null || typeof vouch !== 'object' || Array.isArray(vouch))
    throw bad('custom.vouch is not an object');
  const v = vouch as Record<string, unknown>;
  const sha256 = info.hashes.sha256;
  if (typeof sha256 !== 'string' || !hex64.test(sha256)) throw bad('no sha256 hash');
  if (!Number.isSafeInteger(info.length) || info.length < 0) throw bad('bad length');
  const kind = v.kind;
  if (kind !== 'product' && kind !== 'rules' && kind !== 'rules-delta')
    throw bad('unknown custom.vouch.kind');
  const name = v.name;
  const version = v.version;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name))
    throw bad('bad custom.vouch.name');
  if (typeof version !== 'string' || !/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/.test(version)) {
    throw bad('bad custom.vouch.version');
  }
  if (kind === 'rules' && !/^[1-9][0-9]{0,14}$/.test(version))
    throw bad('a rule database version is a decimal integer');
  let evidence: TargetEvidence | undefined;
  if (v.evidence !== undefined) {
    const e = v.evidence as Record<string, unknown>;
    if (e === null || typeof e !== 'object') throw bad('custom.vouch.evidence is not an object');
    const rebuilds = e.rebuilds ?? [];
    if (typeof e.provenance !== 'string' || !hex64.test(e.provenance)) throw bad('bad evidence.provenance');
    if (
      !Array.isArray(rebuilds) ||
      rebuilds.length > 64 ||
      !rebuilds.every((r) => typeof r === 'string' && hex64.test(r))
    ) {
      throw bad('bad evidence.rebuilds');
    }
    if (e.review !== undefined && (typeof e.review !== 'string' || !hex64.test(e.review)))
      throw bad('bad evidence.review');
    evidence = Object.freeze({
      provenance: e.provenance,
      rebuilds: Object.freeze([...(rebuilds as string[])]),
      ...(typeof e.review === 'string' ? { review: e.review } : {}),
    });
  }
  let delta: TargetDelta | undefined;
  if (kind === 'rules-delta') {
    const d = v.delta as Record<string, unknown> | undefined;
    if (d === undefined || d === null || typeof d !== 'object') throw bad('a delta needs custom.vouch.delta');
    const { from, to, result } = d;
    if (
      !Number.isSafeInteger(from) ||
      !Number.isSafeInteger(to) ||
      (from as number) < 1 ||
      (to as number) <= (from as number)
    ) {
      throw bad('bad delta.from/delta.to');
    }
    if (typeof result !== 'string' || result === '' || result.length > 1024) throw bad('bad delta.result');
    delta = Object.freeze({ from: from as number, to: to as number, result });
  } else if (evidence === undefined) {
    throw bad('a product or rule database needs custom.vouch.evidence');
  }
  return Object.freeze({
    path,
    length: info.length,
    sha256,
    kind,
    name,
    version,
    ...(evidence === undefined ? {} : { evidence }),
    ...(delta === undefined ? {} : { delta }),
  });
}

/** vouchTargets reads every Vouch target of a targets map (see {@link toVouchTarget}). */
export function vouchTargets(targets: ReadonlyMap<string, TargetFileInfo>): VouchTarget[] {
  const out: VouchTarget[] = [];
  for (const [path, info] of targets) {
    const target = toVouchTarget(path, info);
    if (target !== undefined) out.push(target);
  }
  return out;
}

/**
 * compareVersions orders versions: dot-separated parts compared numerically when both are
 * decimal, as strings otherwise; a version with more parts is newer when the rest is equal
 * (so `1.10.0` > `1.9.2`, and rule databases `42` > `41`). Build metadata after `+` is ignored.
 */
export function compareVersions(a: string, b: string): number {
  const pa = (a.split('+')[0] ?? '').split('.');
  const pb = (b.split('+')[0] ?? '').split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/**
 * newestByName returns, for each name with a full (product or rules) target under `prefix`, the
 * target of the newest version. Two targets of one name and version are `malformed`: which
 * one is meant would be ambiguous.
 */
export function newestByName(targets: readonly VouchTarget[], prefix: string): VouchTarget[] {
  const best = new Map<string, VouchTarget>();
  for (const t of targets) {
    if (t.kind === 'rules-delta' || !t.path.startsWith(prefix)) continue;
    const key = `${t.kind}/${t.name}`;
    const current = best.get(key);
    if (current === undefined) {
      best.set(key, t);
      continue;
    }
    const order = compareVersions(t.version, current.version);
    if (order === 0) {
      throw malformed(
        `targets lists ${t.kind} ${describeUntrusted(t.name)} version ${t.version} twice`,
        t.path,
      );
    }
    if (order > 0) best.set(key, t);
  }
  return [...best.values()].sort((x, y) => (x.path < y.path ? -1 : 1));
}

/**
 * newestWanted returns, for each name with a full target under any of `prefixes`, the target of
 * the newest version across all of them — once per name however many prefixes list it, so a run
 * installs each name at most once. The same name and version at two paths is `malformed`.
 */
export function newestWanted(targets: readonly VouchTarget[], prefixes: readonly string[]): VouchTarget[] {
  const wanted = targets.filter((t) => prefixes.some((prefix) => t.path.startsWith(prefix)));
  return newestByName(wanted, '');
}

/** findDelta returns the delta target from `fromVersion` whose result is `full`, or undefined. */
export function findDelta(
  targets: readonly VouchTarget[],
  full: VouchTarget,
  fromVersion: string,
): VouchTarget | undefined {
  return targets.find(
    (t) =>
      t.kind === 'rules-delta' &&
      t.name === full.name &&
      t.delta !== undefined &&
      String(t.delta.from) === fromVersion &&
      String(t.delta.to) === full.version &&
      t.delta.result === full.path,
  );
}

/**
 * targetUrl returns the published path of a target under the repository's base:
 * `targets/<folders of the path>/<sha256>.<basename>`, each segment URL-encoded. It throws
 * `malformed` for a path with an empty, `.` or `..` segment.
 */
export function targetUrl(path: string, sha256: string): string {
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw malformed('unsafe target path', path);
  const base = segments.pop() as string;
  return ['targets', ...segments, `${sha256}.${base}`].map(encodeURIComponent).join('/');
}
