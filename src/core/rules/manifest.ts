/**
 * The rule database manifest (`manifest.json`): what a database is and a commitment to every
 * member file, in canonical JSON (OLPC canonical JSON, as TUF uses) so that its SHA-256 is a
 * stable identity of the whole database. This plays the role of ClamAV's `.info` member (per-file
 * SHA-256 list, https://docs.clamav.net/faq/faq-cvd.html), with everything security-relevant
 * inside the committed bytes.
 *
 *     {"counts":{"allow":A,"hash":H,"yara":Y},"created":SECONDS,
 *      "engine":{"max":M,"min":N,"yaraX":"1.20.0"},
 *      "members":[{"name":"hashes.vhdb","sha256":HEX,"size":BYTES},...],"name":NAME,
 *      "type":"vouch-rules-manifest/v1","version":V}
 *
 * Members are sorted by name, are `hashes.vhdb` or `yara/NAME.yar`, and never include the
 * manifest itself. `created` is seconds since the epoch (from SOURCE_DATE_EPOCH, so builds are
 * reproducible). `engine.yaraX` is the YARA-X version the compiler validated the YARA members
 * with; it is absent when there are none, and may be absent from a database assembled without
 * the compiler, which {@link checkYaraEngine} then refuses to run. This module does not sign
 * manifests (that is the repository's job) and does no I/O: {@link verifyMembers} checks bytes
 * the caller has read.
 */

import { formatHex } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { malformed, tooLarge, VouchError } from '../errors.ts';
import { formatCanonicalJson, isJsonArray, isJsonObject, type JsonValue, parseJson } from '../json/index.ts';
import {
  checkKeys,
  type EngineRange,
  isSignatureName,
  isYaraFileName,
  parseEngineRange,
  parseEngineVersion,
} from './source.ts';

/** manifestType is the `type` field of every manifest this module writes. */
export const manifestType = 'vouch-rules-manifest/v1';
/** manifestFileName is the manifest's file name inside a database folder. */
export const manifestFileName = 'manifest.json';
/** hashDbFileName is the compiled hash table's member name. */
export const hashDbFileName = 'hashes.vhdb';
/** maxManifestBytes caps a manifest (about 100,000 members). */
export const maxManifestBytes = 16 << 20;
/** maxMembers caps the member count of a database. */
export const maxMembers = 100_000;

/** ManifestMember commits to one member file. */
export interface ManifestMember {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

/** RuleCounts counts the records of each type in a database. */
export interface RuleCounts {
  readonly hash: number;
  readonly allow: number;
  readonly yara: number;
}

/** Manifest is a parsed, validated database manifest. */
export interface Manifest {
  readonly name: string;
  readonly version: number;
  readonly created: number;
  readonly engine: EngineRange;
  readonly counts: RuleCounts;
  readonly members: readonly ManifestMember[];
}

/** isMemberName reports whether `name` may be a database member. */
export function isMemberName(name: string): boolean {
  if (name === hashDbFileName) return true;
  return name.startsWith('yara/') && isYaraFileName(name.slice(5));
}

function isCount(value: JsonValue | undefined): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * formatManifest returns the canonical JSON bytes of `manifest` after checking it as
 * {@link parseManifest} would; it throws `invalid-argument` for an invalid value.
 */
export function formatManifest(manifest: Manifest): Uint8Array {
  const bytes = formatCanonicalJson({
    counts: { ...manifest.counts },
    created: manifest.created,
    engine:
      manifest.engine.yaraX === undefined
        ? { max: manifest.engine.max, min: manifest.engine.min }
        : { max: manifest.engine.max, min: manifest.engine.min, yaraX: manifest.engine.yaraX },
    members: manifest.members.map((m) => ({ name: m.name, sha256: m.sha256, size: m.size })),
    name: manifest.name,
    type: manifestType,
    version: manifest.version,
  });
  try {
    parseManifest(bytes);
  } catch (error) {
    throw new VouchError('invalid-argument', 'invalid manifest', {}, { cause: error });
  }
  return bytes;
}

/**
 * parseManifest reads and checks manifest bytes: canonical JSON only (it must re-encode to the
 * same bytes), exact keys, members sorted and unique with valid names. Throws `malformed` naming
 * the field, or `too-large`.
 */
export function parseManifest(bytes: Uint8Array): Manifest {
  if (bytes.length > maxManifestBytes) throw tooLarge('manifest', maxManifestBytes);
  const value = parseJson(bytes, { maxBytes: maxManifestBytes });
  if (!isJsonObject(value)) throw malformed('manifest is not an object', 'manifest');
  checkKeys(value, ['counts', 'created', 'engine', 'members', 'name', 'type', 'version'], 'manifest');
  if (value.type !== manifestType) throw malformed('unknown manifest type', 'type');
  const { name, version, created, counts, members } = value;
  if (typeof name !== 'string' || !isSignatureName(name)) throw malformed('bad database name', 'name');
  if (!isCount(version) || version < 1) throw malformed('version must be a positive integer', 'version');
  if (!isCount(created)) throw malformed('created must be seconds since the epoch', 'created');
  const engine = parseEngineRange(value.engine, 'engine');
  if (!isJsonObject(counts)) throw malformed('counts must be an object', 'counts');
  checkKeys(counts, ['allow', 'hash', 'yara'], 'counts');
  if (!isCount(counts.allow) || !isCount(counts.hash) || !isCount(counts.yara))
    throw malformed('counts must be non-negative integers', 'counts');
  if (!isJsonArray(members)) throw malformed('members must be an array', 'members');
  if (members.length > maxMembers) throw tooLarge('member count', maxMembers, 'members');
  const parsed: ManifestMember[] = [];
  for (let i = 0; i < members.length; i++) {
    const field = `members[${i}]`;
    const m = members[i];
    if (!isJsonObject(m)) throw malformed('member must be an object', field);
    checkKeys(m, ['name', 'sha256', 'size'], field);
    if (typeof m.name !== 'string' || !isMemberName(m.name))
      throw malformed('bad member name', `${field}.name`);
    if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256))
      throw malformed('sha256 must be 64 lowercase hex digits', `${field}.sha256`);
    if (!isCount(m.size)) throw malformed('size must be a non-negative integer', `${field}.size`);
    const previous = parsed[i - 1];
    if (previous !== undefined && !(previous.name < m.name))
      throw malformed('members must be sorted by name, without repeats', `${field}.name`);
    parsed.push(Object.freeze({ name: m.name, sha256: m.sha256, size: m.size }));
  }
  const yara = parsed.filter((m) => m.name.startsWith('yara/')).length;
  if (counts.yara !== yara) throw malformed('yara count does not match the members', 'counts.yara');
  if (yara === 0 && engine.yaraX !== undefined)
    throw malformed('engine.yaraX is only recorded for a database with YARA files', 'engine.yaraX');
  if (!parsed.some((m) => m.name === hashDbFileName))
    throw malformed(`${hashDbFileName} is missing`, 'members');
  const manifest: Manifest = Object.freeze({
    name,
    version,
    created,
    engine,
    counts: Object.freeze({ hash: counts.hash, allow: counts.allow, yara: counts.yara }),
    members: Object.freeze(parsed),
  });
  const again = formatCanonicalJson(value);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i]))
    throw malformed('manifest is not in canonical JSON form', 'manifest');
  return manifest;
}

/** describeMember builds the manifest entry for member `name` with content `bytes`. */
export function describeMember(name: string, bytes: Uint8Array): ManifestMember {
  return Object.freeze({ name, size: bytes.length, sha256: formatHex(sha256(bytes)) });
}

/**
 * verifyMembers checks that `files` (member name → bytes, the manifest excluded) holds exactly
 * the manifest's members with the committed sizes and SHA-256 digests. It throws `bad-digest`
 * naming the member and the expected digest, or `not-found` for a missing member and
 * `malformed` for an extra one.
 */
export function verifyMembers(manifest: Manifest, files: ReadonlyMap<string, Uint8Array>): void {
  for (const member of manifest.members) {
    const bytes = files.get(member.name);
    if (bytes === undefined)
      throw new VouchError('not-found', `database member ${member.name} is missing`, { field: member.name });
    if (bytes.length !== member.size || formatHex(sha256(bytes)) !== member.sha256)
      throw new VouchError(
        'bad-digest',
        `database member ${member.name} does not match the manifest: expected size ${member.size} sha256 ${member.sha256}`,
        { field: member.name },
      );
  }
  const expected = new Set(manifest.members.map((m) => m.name));
  for (const name of files.keys())
    if (!expected.has(name)) throw malformed(`database member ${name} is not in the manifest`, name);
}

/**
 * checkYaraEngine throws `policy-unmet` unless a scanner whose YARA-X version is `running` may
 * run the YARA members of `manifest`: a database without YARA files is always fine; otherwise it
 * must record the version that validated its rules (`engine.yaraX`), and `running` must have the
 * same major version and be no older. YARA-X keeps rules compatible within a major version, so a
 * newer scanner compiles what an older one validated; an older one may lack a module, function
 * or fix the rules rely on, and a new major version may change what rules mean. The message names
 * both versions. `running` that is not `MAJOR.MINOR.PATCH` is `invalid-argument`.
 */
export function checkYaraEngine(manifest: Manifest, running: string): void {
  if (manifest.counts.yara === 0) return;
  let have: readonly [number, number, number];
  try {
    have = parseEngineVersion(running, 'YARA-X version');
  } catch (error) {
    throw new VouchError(
      'invalid-argument',
      `this scanner's YARA-X version is not MAJOR.MINOR.PATCH`,
      {},
      { cause: error },
    );
  }
  const recorded = manifest.engine.yaraX;
  if (recorded === undefined)
    throw new VouchError(
      'policy-unmet',
      `database ${manifest.name} version ${manifest.version} has ${manifest.counts.yara} YARA files but does not record the YARA-X version that validated them; recompile it with vouch rules compile`,
      { field: 'engine.yaraX' },
    );
  const want = parseEngineVersion(recorded, 'engine.yaraX');
  const older = have[1] < want[1] || (have[1] === want[1] && have[2] < want[2]);
  if (have[0] !== want[0] || older)
    throw new VouchError(
      'policy-unmet',
      `database ${manifest.name} version ${manifest.version} has YARA rules validated with YARA-X ${recorded}; this scanner has YARA-X ${running}, which ${have[0] !== want[0] ? 'is another major version' : 'is older'} (it needs ${want[0]}.x at ${recorded} or later)`,
      { field: 'engine.yaraX' },
    );
}
