/**
 * The TUF client's trusted state (spec §5, "Detailed client workflow"), as a pure state machine
 * fed bytes: the caller fetches files and persists the result, this module decides what to
 * trust. python-tuf's TrustedMetadataSet is the model; each step either advances the state or
 * throws and leaves it unchanged.
 *
 * One update cycle, at a reference time `now` fixed by the caller (§5.1):
 *   1. {@link TrustedMetadata.load} the persisted files (root.json, and timestamp.json,
 *      snapshot.json, targets.json when present: each is re-verified against the root and
 *      dropped when it fails; they are kept, even expired, for rollback protection);
 *   2. {@link TrustedMetadata.updateRoot} with `N+1.root.json` until the server has none, then
 *      {@link TrustedMetadata.finishRoots} (§5.3.10 freeze, §5.3.11 fast-forward recovery);
 *   3. {@link TrustedMetadata.updateTimestamp} (§5.4); when it reports no change, try
 *      {@link TrustedMetadata.reuseSnapshot} before fetching the snapshot;
 *   4. {@link TrustedMetadata.updateSnapshot} (§5.5), then {@link TrustedMetadata.reuseTargets}
 *      or {@link TrustedMetadata.updateTargets} (§5.6);
 *   5. {@link TrustedMetadata.targetInfo} and {@link checkTarget} for each download (§5.7).
 * Each update returns `isNew`: whether that file was not already trusted, byte for byte; Vouch's
 * agent requires a release-log inclusion proof for every new root, snapshot and targets.
 *
 * Refusals are VouchErrors with `details.attack` naming the attack defeated (rollback, freeze,
 * mix-and-match, endless-data, threshold, arbitrary-software, root-rotation) and a message that
 * starts with it. LIMIT: targets are looked up in top-level targets only; delegations are parsed
 * but not searched (§5.6.7), since Vouch's repositories never delegate.
 */

import { equalBytes, formatHex } from '../bytes/index.ts';
import { sha256, sha512 } from '../crypto/index.ts';
import { describeUntrusted, VouchError } from '../errors.ts';
import {
  defaultTufLimits,
  formatTufDate,
  type Hashes,
  type Metadata,
  type MetaFile,
  parseMetadata,
  type RoleKeys,
  type RoleName,
  type TargetFile,
  type TufAttack,
  type TufLimits,
} from './metadata.ts';
import { verifyThreshold } from './verify.ts';

/** PersistedMetadata is the client's metadata folder (tuf-conformance layout: unversioned names). */
export interface PersistedMetadata {
  readonly root: Uint8Array;
  readonly timestamp?: Uint8Array;
  readonly snapshot?: Uint8Array;
  readonly targets?: Uint8Array;
}

/** UpdateResult is what a step trusted, and whether it was not already trusted before (byte for byte). */
export interface UpdateResult<R extends RoleName> {
  readonly metadata: Metadata<R>;
  readonly isNew: boolean;
}

/** TrustedMetadata holds the client's trusted metadata for one update cycle; see the module comment. */
export class TrustedMetadata {
  readonly #now: number;
  readonly #limits: TufLimits;
  readonly #initialRoot: Metadata<'root'>;
  #root: Metadata<'root'>;
  readonly #newRoots: Metadata<'root'>[] = [];
  #timestamp: Metadata<'timestamp'> | undefined;
  #snapshot: Metadata<'snapshot'> | undefined;
  #targets: Metadata<'targets'> | undefined;
  #rootsFinished = false;
  readonly #fresh = new Set<RoleName>();

  private constructor(root: Metadata<'root'>, now: number, limits: TufLimits) {
    this.#initialRoot = root;
    this.#root = root;
    this.#now = now;
    this.#limits = limits;
  }

  /**
   * fromRoot starts from a trusted root shipped out of band (§5.2). The root must be signed by
   * its own threshold; its expiry is not checked yet (§5.3.10 checks the final root).
   */
  static fromRoot(rootBytes: Uint8Array, now: number, limits: TufLimits = defaultTufLimits): TrustedMetadata {
    if (!Number.isSafeInteger(now) || now < 0) {
      throw new VouchError('invalid-argument', 'the reference time is whole seconds since the epoch');
    }
    const root = parseMetadata('root', rootBytes, limits.rootBytes);
    const v = root.fields.version;
    verifyThreshold(root.signed, root.signatures, root.fields.keys, root.fields.roles.root, {
      role: `trusted root v${v}`,
    });
    return new TrustedMetadata(root, now, limits);
  }

  /**
   * load starts from the persisted folder: root as in {@link fromRoot}; timestamp, snapshot
   * and targets are kept when they parse and meet their threshold under that root, and dropped
   * silently otherwise (they are caches and rollback references, not roots of trust).
   */
  static load(files: PersistedMetadata, now: number, limits: TufLimits = defaultTufLimits): TrustedMetadata {
    const state = TrustedMetadata.fromRoot(files.root, now, limits);
    state.#timestamp = state.#reverify('timestamp', files.timestamp);
    state.#snapshot = state.#reverify('snapshot', files.snapshot);
    state.#targets = state.#reverify('targets', files.targets);
    return state;
  }

  /** root is the newest trusted root. */
  get root(): Metadata<'root'> {
    return this.#root;
  }
  /** timestamp is the trusted timestamp, if any (persisted or updated). */
  get timestamp(): Metadata<'timestamp'> | undefined {
    return this.#timestamp;
  }
  /** snapshot is the trusted snapshot, if any. */
  get snapshot(): Metadata<'snapshot'> | undefined {
    return this.#snapshot;
  }
  /** targets is the trusted targets, if any. */
  get targets(): Metadata<'targets'> | undefined {
    return this.#targets;
  }
  /** newRoots lists the roots trusted by {@link updateRoot} in this cycle, oldest first. */
  get newRoots(): readonly Metadata<'root'>[] {
    return [...this.#newRoots];
  }

  /** persisted returns the bytes to write to the metadata folder (root.json, timestamp.json, ...). */
  persisted(): PersistedMetadata {
    return {
      root: this.#root.bytes,
      ...(this.#timestamp === undefined ? {} : { timestamp: this.#timestamp.bytes }),
      ...(this.#snapshot === undefined ? {} : { snapshot: this.#snapshot.bytes }),
      ...(this.#targets === undefined ? {} : { targets: this.#targets.bytes }),
    };
  }

  /**
   * updateRoot trusts `N+1.root.json` (§5.3.4–5.3.8): its version must be exactly one more than
   * the trusted root's, and it must be signed by a threshold of the trusted root's root keys AND
   * a threshold of its own. Refusals carry attack 'root-rotation' (or 'rollback' for an older
   * version, 'endless-data' past the size cap or `maxRootRotations`).
   */
  updateRoot(bytes: Uint8Array): UpdateResult<'root'> {
    if (this.#rootsFinished) throw order('updateRoot after finishRoots');
    if (this.#newRoots.length >= this.#limits.maxRootRotations) {
      throw refuse('too-large', 'endless-data', `more than ${this.#limits.maxRootRotations} root rotations`, {
        limit: this.#limits.maxRootRotations,
      });
    }
    const trusted = this.#root.fields;
    const root = parseMetadata('root', bytes, this.#limits.rootBytes);
    const v = root.fields.version;
    verifyThreshold(root.signed, root.signatures, trusted.keys, trusted.roles.root, {
      role: `root v${v} (by trusted root v${trusted.version}'s keys)`,
      attack: 'root-rotation',
    });
    if (v !== trusted.version + 1) {
      const attack = v <= trusted.version ? 'rollback' : 'root-rotation';
      throw refuse(
        'policy-unmet',
        attack,
        `root version ${v} is not ${trusted.version + 1}, the successor of the trusted ${trusted.version}`,
      );
    }
    verifyThreshold(root.signed, root.signatures, root.fields.keys, root.fields.roles.root, {
      role: `root v${v} (by its own keys)`,
      attack: 'root-rotation',
    });
    this.#root = root;
    this.#newRoots.push(root);
    return { metadata: root, isNew: true };
  }

  /**
   * finishRoots ends the root chain (§5.3.10–5.3.11). When timestamp or snapshot keys changed
   * since the persisted root, the trusted timestamp and snapshot are dropped (fast-forward
   * recovery); any persisted file that no longer verifies under the new root is dropped too.
   * Returns the dropped roles. Throws `policy-unmet` (attack 'freeze') if the final root expired.
   */
  finishRoots(): RoleName[] {
    if (this.#rootsFinished) throw order('finishRoots twice');
    this.#rootsFinished = true;
    const dropped = new Set<RoleName>();
    if (
      rotated(this.#initialRoot, this.#root, 'timestamp') ||
      rotated(this.#initialRoot, this.#root, 'snapshot')
    ) {
      if (this.#timestamp !== undefined) dropped.add('timestamp');
      if (this.#snapshot !== undefined) dropped.add('snapshot');
      this.#timestamp = undefined;
      this.#snapshot = undefined;
    }
    const keep = <R extends 'timestamp' | 'snapshot' | 'targets'>(role: R, m: Metadata<R> | undefined) => {
      if (m === undefined) return undefined;
      const again = this.#reverify(role, m.bytes);
      if (again === undefined) dropped.add(role);
      return again;
    };
    this.#timestamp = keep('timestamp', this.#timestamp);
    this.#snapshot = keep('snapshot', this.#snapshot);
    this.#targets = keep('targets', this.#targets);
    this.#checkExpiry(this.#root);
    return [...dropped];
  }

  /**
   * updateTimestamp verifies `timestamp.json` (§5.4): threshold of root's timestamp keys, no
   * rollback of its version or of the snapshot version it names, not expired. A version equal to
   * the trusted one is not an error: the new file is discarded, the trusted one (which must not
   * have expired) stays, and `isNew` is false, meaning nothing changed on the server.
   */
  updateTimestamp(bytes: Uint8Array): UpdateResult<'timestamp'> {
    if (!this.#rootsFinished) throw order('updateTimestamp before finishRoots');
    if (this.#fresh.has('snapshot')) throw order('updateTimestamp after updateSnapshot');
    const ts = parseMetadata('timestamp', bytes, this.#limits.timestampBytes);
    this.#verify(ts);
    const trusted = this.#timestamp;
    if (trusted !== undefined) {
      const v = ts.fields.version;
      const tv = trusted.fields.version;
      if (v < tv) {
        throw refuse('policy-unmet', 'rollback', `timestamp version ${v} is older than the trusted ${tv}`);
      }
      if (v === tv) {
        this.#checkExpiry(trusted);
        this.#fresh.add('timestamp');
        return { metadata: trusted, isNew: false };
      }
      const sv = ts.fields.snapshot.version;
      const tsv = trusted.fields.snapshot.version;
      if (sv < tsv) {
        throw refuse(
          'policy-unmet',
          'rollback',
          `timestamp names snapshot version ${sv}, older than the trusted ${tsv}`,
        );
      }
    }
    this.#checkExpiry(ts);
    this.#timestamp = ts;
    this.#fresh.add('timestamp');
    return { metadata: ts, isNew: true };
  }

  /**
   * updateSnapshot verifies the snapshot file (§5.5): its length and hashes against timestamp's
   * `meta` before anything is parsed (mix-and-match), threshold of root's snapshot keys, version
   * equal to the one timestamp names, no file of the trusted snapshot missing or at a lower
   * version (rollback), not expired.
   */
  updateSnapshot(bytes: Uint8Array): UpdateResult<'snapshot'> {
    const ts = this.#timestamp;
    if (ts === undefined || !this.#fresh.has('timestamp'))
      throw order('updateSnapshot before updateTimestamp');
    if (this.#fresh.has('targets')) throw order('updateSnapshot after updateTargets');
    const meta = ts.fields.snapshot;
    checkMetaBytes('snapshot', bytes, meta, this.#limits.snapshotBytes);
    const snap = parseMetadata('snapshot', bytes, this.#limits.snapshotBytes);
    this.#verify(snap);
    if (snap.fields.version !== meta.version) {
      throw refuse(
        'policy-unmet',
        'mix-and-match',
        `snapshot version ${snap.fields.version} is not version ${meta.version} named by timestamp`,
      );
    }
    const trusted = this.#snapshot;
    if (trusted !== undefined) {
      for (const [file, old] of trusted.fields.meta) {
        const now = snap.fields.meta.get(file);
        if (now === undefined) {
          throw refuse(
            'policy-unmet',
            'rollback',
            `snapshot no longer lists ${describeUntrusted(file)}, which the trusted one did`,
            {
              field: file,
            },
          );
        }
        if (now.version < old.version) {
          throw refuse(
            'policy-unmet',
            'rollback',
            `snapshot lists ${describeUntrusted(file)} version ${now.version}, older than the trusted ${old.version}`,
            { field: file },
          );
        }
      }
    }
    this.#checkExpiry(snap);
    const isNew = trusted === undefined || !equalBytes(trusted.bytes, bytes);
    this.#snapshot = snap;
    this.#fresh.add('snapshot');
    return { metadata: snap, isNew };
  }

  /**
   * updateTargets verifies top-level targets (§5.6): length and hashes against snapshot's
   * `meta["targets.json"]` when listed, threshold of root's targets keys, version equal to the
   * one snapshot names, not expired.
   */
  updateTargets(bytes: Uint8Array): UpdateResult<'targets'> {
    const snap = this.#snapshot;
    if (snap === undefined || !this.#fresh.has('snapshot'))
      throw order('updateTargets before updateSnapshot');
    const meta = snap.fields.meta.get('targets.json');
    if (meta === undefined)
      throw new VouchError('invariant', 'internal error: parsed snapshot lacks targets.json');
    checkMetaBytes('targets', bytes, meta, this.#limits.targetsBytes);
    const targets = parseMetadata('targets', bytes, this.#limits.targetsBytes);
    this.#verify(targets);
    if (targets.fields.version !== meta.version) {
      throw refuse(
        'policy-unmet',
        'mix-and-match',
        `targets version ${targets.fields.version} is not version ${meta.version} named by snapshot`,
      );
    }
    this.#checkExpiry(targets);
    const isNew = this.#targets === undefined || !equalBytes(this.#targets.bytes, bytes);
    this.#targets = targets;
    this.#fresh.add('targets');
    return { metadata: targets, isNew };
  }

  /**
   * reuseSnapshot tries {@link updateSnapshot} with the trusted (persisted) snapshot, for when
   * the timestamp did not change; returns false, state unchanged, when that does not verify.
   */
  reuseSnapshot(): boolean {
    const s = this.#snapshot;
    return s !== undefined && attempt(() => this.updateSnapshot(s.bytes));
  }

  /** reuseTargets tries {@link updateTargets} with the trusted (persisted) targets; false if it does not verify. */
  reuseTargets(): boolean {
    const t = this.#targets;
    return t !== undefined && attempt(() => this.updateTargets(t.bytes));
  }

  /**
   * targetInfo returns the top-level targets entry for `path`, or undefined when targets does
   * not list it. Requires targets verified in this cycle.
   */
  targetInfo(path: string): TargetFile | undefined {
    const t = this.#targets;
    if (t === undefined || !this.#fresh.has('targets')) throw order('targetInfo before updateTargets');
    return t.fields.targets.get(path);
  }

  #verify(m: Metadata<'timestamp' | 'snapshot' | 'targets'>): void {
    const root = this.#root.fields;
    verifyThreshold(m.signed, m.signatures, root.keys, root.roles[m.role], { role: m.role });
  }

  #reverify<R extends 'timestamp' | 'snapshot' | 'targets'>(
    role: R,
    bytes: Uint8Array | undefined,
  ): Metadata<R> | undefined {
    if (bytes === undefined) return undefined;
    try {
      const m = parseMetadata(role, bytes, maxFor(role, this.#limits));
      this.#verify(m);
      return m;
    } catch (e) {
      if (e instanceof VouchError) return undefined;
      throw e;
    }
  }

  #checkExpiry(m: Metadata): void {
    const { expires, version } = m.fields;
    if (this.#now >= expires) {
      throw refuse(
        'policy-unmet',
        'freeze',
        `${m.role} version ${version} expired at ${formatTufDate(expires)}`,
        { role: m.role },
      );
    }
  }
}

/**
 * checkTarget verifies downloaded target bytes against their trusted entry (§5.7.3): more bytes
 * than `length` is `too-large` (attack endless-data), a different length or any sha256/sha512
 * mismatch `bad-digest` (attack arbitrary-software). Hashes of other algorithms are ignored;
 * parsing guarantees sha256 or sha512 is present.
 */
export function checkTarget(info: TargetFile, bytes: Uint8Array): void {
  if (bytes.length > info.length) {
    throw refuse(
      'too-large',
      'endless-data',
      `target ${describeUntrusted(info.path)} is longer than its ${info.length} bytes`,
      {
        limit: info.length,
      },
    );
  }
  if (bytes.length !== info.length) {
    throw refuse(
      'bad-digest',
      'arbitrary-software',
      `target ${describeUntrusted(info.path)} is ${bytes.length} bytes, not the ${info.length} targets lists`,
    );
  }
  checkHashes(`target ${describeUntrusted(info.path)}`, bytes, info.hashes, 'arbitrary-software');
}

function checkMetaBytes(role: RoleName, bytes: Uint8Array, meta: MetaFile, cap: number): void {
  const limit = Math.min(cap, meta.length ?? cap);
  if (bytes.length > limit) {
    throw refuse('too-large', 'endless-data', `${role} metadata is ${bytes.length} bytes, over ${limit}`, {
      limit,
    });
  }
  if (meta.length !== undefined && bytes.length !== meta.length) {
    throw refuse(
      'bad-digest',
      'mix-and-match',
      `${role} metadata is ${bytes.length} bytes, not the ${meta.length} its referrer lists`,
    );
  }
  if (meta.hashes !== undefined) checkHashes(`${role} metadata`, bytes, meta.hashes, 'mix-and-match');
}

function checkHashes(what: string, bytes: Uint8Array, hashes: Hashes, attack: TufAttack): void {
  let checked = 0;
  for (const [alg, fn] of [
    ['sha256', sha256],
    ['sha512', sha512],
  ] as const) {
    const expected = hashes[alg];
    if (expected === undefined) continue;
    checked++;
    const actual = formatHex(fn(bytes));
    if (actual !== expected) {
      throw refuse(
        'bad-digest',
        attack,
        `${what} has ${alg} ${actual.slice(0, 16)}…, expected ${expected.slice(0, 16)}…`,
        {
          expected,
        },
      );
    }
  }
  if (checked === 0) throw refuse('bad-digest', attack, `${what} has no sha256 or sha512 to check`);
}

function rotated(before: Metadata<'root'>, after: Metadata<'root'>, role: RoleName): boolean {
  const a = before.fields.roles[role];
  const b = after.fields.roles[role];
  return identities(before, a) !== identities(after, b) || a.threshold !== b.threshold;
}

function identities(root: Metadata<'root'>, role: RoleKeys): string {
  return role.keyids
    .map((k) => root.fields.keys.get(k)?.identity ?? `?${k}`)
    .sort()
    .join('\n');
}

function maxFor(role: 'timestamp' | 'snapshot' | 'targets', limits: TufLimits): number {
  return role === 'timestamp'
    ? limits.timestampBytes
    : role === 'snapshot'
      ? limits.snapshotBytes
      : limits.targetsBytes;
}

function attempt(step: () => unknown): boolean {
  try {
    step();
    return true;
  } catch (e) {
    if (e instanceof VouchError) return false;
    throw e;
  }
}

function refuse(
  code: 'policy-unmet' | 'bad-digest' | 'too-large',
  attack: TufAttack,
  message: string,
  details: Record<string, unknown> = {},
): VouchError {
  return new VouchError(code, `${attack}: ${message}`, { ...details, attack });
}

function order(what: string): VouchError {
  return new VouchError('invalid-argument', `TUF client steps out of order: ${what}`);
}
