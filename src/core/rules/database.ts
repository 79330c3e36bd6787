/**
 * A rule database as a set of files: `manifest.json`, `hashes.vhdb` and `yara/NAME.yar`. This
 * module builds the files from parsed source (deterministically: the same input always gives the
 * same bytes) and opens a set of files read from a folder or produced by a delta, checking every
 * member against the manifest before anything is trusted. It does no I/O; YARA members are
 * opaque bytes here: services/rules/compile.ts validates them with YARA-X and puts the version in
 * the header's engine range (`engine.yaraX`), which this module only carries into the manifest.
 */

import { sha256 } from '../crypto/index.ts';
import { malformed, tooLarge } from '../errors.ts';
import { formatHashDb, type HashDb, parseHashDb } from './hashdb.ts';
import {
  describeMember,
  formatManifest,
  hashDbFileName,
  type Manifest,
  type ManifestMember,
  manifestFileName,
  maxMembers,
  parseManifest,
  verifyMembers,
} from './manifest.ts';
import { type EngineRange, type HashSignature, isYaraFileName } from './source.ts';

/** DatabaseFiles maps a member path (including `manifest.json`) to its bytes. */
export type DatabaseFiles = ReadonlyMap<string, Uint8Array>;

/** DatabaseHeader is what a database says about itself besides its records. */
export interface DatabaseHeader {
  readonly name: string;
  readonly version: number;
  readonly created: number;
  readonly engine: EngineRange;
}

/** DatabaseContent is everything a database holds, decoded. */
export interface DatabaseContent extends DatabaseHeader {
  readonly hashes: readonly HashSignature[];
  readonly allow: readonly Uint8Array[];
  /** yara maps a file name `NAME.yar` to its bytes. */
  readonly yara: ReadonlyMap<string, Uint8Array>;
}

/** RuleDatabase is an opened, verified database. */
export interface RuleDatabase {
  readonly manifest: Manifest;
  /** manifestDigest is the SHA-256 of the manifest bytes: the identity of the whole database. */
  readonly manifestDigest: Uint8Array;
  readonly hashDb: HashDb;
  /** yara maps a file name `NAME.yar` to its bytes, sorted by name. */
  readonly yara: ReadonlyMap<string, Uint8Array>;
}

/** maxYaraFileBytes caps one YARA member. */
export const maxYaraFileBytes = 16 << 20;

/**
 * buildDatabase compiles content into database files, sorted by path. Throws `malformed` for a
 * bad YARA file name or a duplicate hash record, `too-large` over a cap.
 */
export function buildDatabase(content: DatabaseContent): DatabaseFiles {
  return assembleDatabase(content, formatHashDb(content.hashes, content.allow), content.yara);
}

/**
 * assembleDatabase is {@link buildDatabase} for a hash table already in its compiled form
 * (validated here, and its counts go into the manifest).
 */
export function assembleDatabase(
  header: DatabaseHeader,
  hashTable: Uint8Array,
  yara: ReadonlyMap<string, Uint8Array>,
): DatabaseFiles {
  const table = parseHashDb(hashTable);
  if (yara.size + 1 > maxMembers) throw tooLarge('YARA file count', maxMembers - 1);
  const members = new Map<string, Uint8Array>();
  members.set(hashDbFileName, hashTable);
  for (const name of [...yara.keys()].sort()) {
    const bytes = yara.get(name) as Uint8Array;
    if (!isYaraFileName(name)) throw malformed('YARA file name must be NAME.yar with [A-Za-z0-9._-]', name);
    if (bytes.length > maxYaraFileBytes) throw tooLarge(`YARA file ${name}`, maxYaraFileBytes, name);
    members.set(`yara/${name}`, bytes);
  }
  const described: ManifestMember[] = [...members.entries()]
    .map(([name, bytes]) => describeMember(name, bytes))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const manifest = formatManifest({
    name: header.name,
    version: header.version,
    created: header.created,
    engine: header.engine,
    counts: { hash: table.recordCount, allow: table.allowCount, yara: yara.size },
    members: described,
  });
  const files = new Map<string, Uint8Array>([[manifestFileName, manifest]]);
  for (const member of described) files.set(member.name, members.get(member.name) as Uint8Array);
  return files;
}

/**
 * openDatabase checks a set of database files: the manifest parses, every member matches its
 * committed size and SHA-256 (`bad-digest` naming the member and the expected digest), the hash
 * table validates and its counts match the manifest. Nothing is returned unless all of it holds.
 */
export function openDatabase(files: DatabaseFiles): RuleDatabase {
  const manifestBytes = files.get(manifestFileName);
  if (manifestBytes === undefined) throw malformed(`${manifestFileName} is missing`, manifestFileName);
  const manifest = parseManifest(manifestBytes);
  const members = new Map(files);
  members.delete(manifestFileName);
  verifyMembers(manifest, members);
  const hashDb = parseHashDb(members.get(hashDbFileName) as Uint8Array);
  if (hashDb.recordCount !== manifest.counts.hash || hashDb.allowCount !== manifest.counts.allow)
    throw malformed('hash table counts do not match the manifest', 'counts');
  const yara = new Map<string, Uint8Array>();
  for (const member of manifest.members)
    if (member.name.startsWith('yara/'))
      yara.set(member.name.slice(5), members.get(member.name) as Uint8Array);
  return Object.freeze({ manifest, manifestDigest: sha256(manifestBytes), hashDb, yara });
}
