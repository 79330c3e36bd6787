/**
 * Test support: a small in-memory TUF repository built from core/tuf's signed-JSON builders and
 * in-memory Ed25519 keys, for the trusted-state tests and the tuf-js interop test. It publishes
 * under consistent-snapshot names (`N.root.json`, `N.snapshot.json`, `N.targets.json`,
 * `timestamp.json`, `targets/<sha256>.<name>`) into `files`, and lets a test change keys,
 * versions, expiries and signers to build the broken states a client must refuse.
 */

import { formatHex } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey, type Signer, sha256 } from '../../src/core/crypto/index.ts';
import type { JsonObject } from '../../src/core/json/index.ts';
import {
  describeFile,
  formatMetadata,
  metadataFileName,
  type RoleName,
  roleNames,
  rootSigned,
  signMetadata,
  snapshotSigned,
  type TufSignature,
  targetFileName,
  targetsSigned,
  timestampSigned,
  tufKeyForSigner,
} from '../../src/core/tuf/index.ts';

/** day is one day in seconds. */
export const day = 86_400;

/** newSigner makes an in-memory Ed25519 signer. */
export function newSigner(name: string): Signer {
  return createSigner(name, generateKey('ed25519'));
}

/** TestTarget is a target file and its custom JSON. */
export interface TestTarget {
  readonly bytes: Uint8Array;
  readonly custom?: JsonObject;
}

/** TestRepository is a mutable repository whose publish steps write consistent-snapshot files. */
export class TestRepository {
  readonly now: number;
  readonly keys: Record<RoleName, Signer[]>;
  readonly thresholds: Record<RoleName, number> = { root: 1, timestamp: 1, snapshot: 1, targets: 1 };
  readonly expires: Record<RoleName, number>;
  readonly versions: Record<RoleName, number> = { root: 0, timestamp: 0, snapshot: 0, targets: 0 };
  readonly targets = new Map<string, TestTarget>();
  /** files holds every published file under its URL path relative to the repository. */
  readonly files = new Map<string, Uint8Array>();
  consistentSnapshot = true;

  constructor(now: number) {
    this.now = now;
    this.keys = {
      root: [newSigner('root-1')],
      timestamp: [newSigner('timestamp-1')],
      snapshot: [newSigner('snapshot-1')],
      targets: [newSigner('targets-1')],
    };
    this.expires = {
      root: now + 365 * day,
      timestamp: now + day,
      snapshot: now + 7 * day,
      targets: now + 90 * day,
    };
  }

  /** create returns a repository with root v1 and targets/snapshot/timestamp v1 published. */
  static async create(now: number): Promise<TestRepository> {
    const repo = new TestRepository(now);
    await repo.publishRoot();
    await repo.publishAll();
    return repo;
  }

  /** rootSignedValue builds the next root's signed value from the current keys. */
  rootSignedValue(version: number): JsonObject {
    const roles = {} as Record<RoleName, { keys: JsonObject[]; threshold: number }>;
    for (const r of roleNames) {
      roles[r] = { keys: this.keys[r].map((s) => tufKeyForSigner(s).key), threshold: this.thresholds[r] };
    }
    return rootSigned({
      version,
      expires: this.expires.root,
      consistentSnapshot: this.consistentSnapshot,
      roles,
    });
  }

  /**
   * publishRoot publishes root version+1 signed by `signers` (default: the current root keys
   * plus `extra`, typically the previous root's keys); returns its bytes.
   */
  async publishRoot(
    options: { extra?: readonly Signer[]; signers?: readonly Signer[]; version?: number } = {},
  ) {
    const version = options.version ?? this.versions.root + 1;
    const signed = this.rootSignedValue(version);
    const signers = options.signers ?? unique([...(options.extra ?? []), ...this.keys.root]);
    const bytes = formatMetadata(signed, await signMetadata(signed, signers));
    this.versions.root = Math.max(this.versions.root, version);
    this.files.set(`${version}.root.json`, bytes);
    return bytes;
  }

  /** publishTargets publishes targets version+1 and the target files; returns its bytes. */
  async publishTargets(options: PublishOptions = {}): Promise<Uint8Array> {
    const entries: Record<string, { length: number; hashes: { sha256: string }; custom?: JsonObject }> = {};
    for (const [path, t] of this.targets) {
      const d = describeFile(t.bytes);
      entries[path] = {
        length: d.length,
        hashes: { sha256: d.hashes.sha256 as string },
        ...(t.custom === undefined ? {} : { custom: t.custom }),
      };
      this.files.set(`targets/${targetFileName(path, formatHex(sha256(t.bytes)))}`, t.bytes);
    }
    const version = options.version ?? this.versions.targets + 1;
    const signed = targetsSigned({
      version,
      expires: options.expires ?? this.expires.targets,
      targets: entries,
    });
    return this.#publish('targets', version, signed, options);
  }

  /** publishSnapshot publishes snapshot version+1 over the current targets file; returns its bytes. */
  async publishSnapshot(options: PublishOptions & { meta?: Record<string, { version: number }> } = {}) {
    const targets = this.current('targets');
    const version = options.version ?? this.versions.snapshot + 1;
    const signed = snapshotSigned({
      version,
      expires: options.expires ?? this.expires.snapshot,
      meta: options.meta ?? { 'targets.json': { version: this.versions.targets, ...describeFile(targets) } },
    });
    return this.#publish('snapshot', version, signed, options);
  }

  /** publishTimestamp publishes timestamp version+1 naming the current snapshot; returns its bytes. */
  async publishTimestamp(options: PublishOptions & { snapshotVersion?: number; bare?: boolean } = {}) {
    const snapshot = this.current('snapshot');
    const version = options.version ?? this.versions.timestamp + 1;
    const signed = timestampSigned({
      version,
      expires: options.expires ?? this.expires.timestamp,
      snapshot: {
        version: options.snapshotVersion ?? this.versions.snapshot,
        ...(options.bare === true ? {} : describeFile(snapshot)),
      },
    });
    return this.#publish('timestamp', version, signed, options);
  }

  /** publishAll publishes targets, snapshot and timestamp, in that order. */
  async publishAll(): Promise<void> {
    await this.publishTargets();
    await this.publishSnapshot();
    await this.publishTimestamp();
  }

  /** current returns the newest published file of a role. */
  current(role: RoleName): Uint8Array {
    const bytes = this.files.get(metadataFileName(role, this.versions[role], this.consistentSnapshot));
    if (bytes === undefined) throw new Error(`no ${role} published yet`);
    return bytes;
  }

  /** root returns root version `n`. */
  root(n: number): Uint8Array {
    const bytes = this.files.get(`${n}.root.json`);
    if (bytes === undefined) throw new Error(`no root v${n}`);
    return bytes;
  }

  async #publish(role: RoleName, version: number, signed: JsonObject, options: PublishOptions) {
    const signatures = options.signatures ?? (await signMetadata(signed, options.signers ?? this.keys[role]));
    const bytes = formatMetadata(signed, signatures);
    this.versions[role] = version;
    this.files.set(metadataFileName(role, version, this.consistentSnapshot), bytes);
    return bytes;
  }
}

/** PublishOptions overrides what a publish step would do by default. */
export interface PublishOptions {
  readonly version?: number;
  readonly expires?: number;
  readonly signers?: readonly Signer[];
  readonly signatures?: readonly TufSignature[];
}

function unique(signers: readonly Signer[]): Signer[] {
  const seen = new Set<string>();
  return signers.filter((s) => !seen.has(s.keyId) && seen.add(s.keyId) !== undefined);
}
