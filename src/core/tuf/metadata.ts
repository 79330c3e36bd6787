/**
 * TUF 1.0 metadata (https://theupdateframework.github.io/specification/latest/#file-formats):
 * strict parsing of the four top-level roles, builders for the `signed` objects Vouch
 * publishes, the on-disk encoding, file naming for consistent snapshots and the date format.
 *
 * A parsed file keeps the `signed` value exactly as received (a frozen JSON value, unknown fields
 * included), because signatures are checked over its canonical JSON: re-encoding what a peer
 * signed must give back the bytes it hashed. Next to it sit typed, checked views of the fields
 * Vouch reads (`fields`). Every parse is bounded: a byte cap per role checked before decoding
 * (the "endless data" defence, tuf-js's defaults), at most 256 signatures and 1024 keys.
 * Files on disk are ordinary JSON (pretty or compact), not canonical JSON.
 *
 * This module does not verify signatures (verify.ts) and does not decide what to trust
 * (trusted.ts). Delegations in targets are parsed into views but Vouch never emits them;
 * `succinct_roles` (TAP 15) is kept in `signed` only.
 */

import { formatHex, toBytes, toText } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { malformed, VouchError } from '../errors.ts';
import {
  formatFieldPath,
  formatJson,
  isJsonArray,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  parseJson,
} from '../json/index.ts';
import { parseTufKey, type TufKey, tufKeyId } from './keys.ts';

/** RoleName is one of the four top-level TUF roles. */
export type RoleName = 'root' | 'timestamp' | 'snapshot' | 'targets';

/** roleNames lists the top-level roles in update order (root first). */
export const roleNames: readonly RoleName[] = Object.freeze(['root', 'timestamp', 'snapshot', 'targets']);

/** TufAttack names the attack (TUF spec §1.5.2) a refusal defends against; errors carry it in `details.attack`. */
export type TufAttack =
  | 'rollback'
  | 'freeze'
  | 'mix-and-match'
  | 'endless-data'
  | 'threshold'
  | 'arbitrary-software'
  | 'root-rotation'
  | 'fast-forward';

/** specVersion is the TUF specification version Vouch writes. */
export const specVersion = '1.0.31';

/** TufLimits bounds metadata sizes and the root chain; the defaults are tuf-js's. */
export interface TufLimits {
  readonly rootBytes: number;
  readonly timestampBytes: number;
  readonly snapshotBytes: number;
  readonly targetsBytes: number;
  /** maxRootRotations is the most root versions one update may advance (spec §5.3.3). */
  readonly maxRootRotations: number;
}

/** defaultTufLimits are tuf-js 6's defaults: 512000, 16384, 2000000, 5000000 bytes and 256 rotations. */
export const defaultTufLimits: TufLimits = Object.freeze({
  rootBytes: 512_000,
  timestampBytes: 16_384,
  snapshotBytes: 2_000_000,
  targetsBytes: 5_000_000,
  maxRootRotations: 256,
});

/** maxSignatures is the most signatures a metadata file may carry (like golang/mod's note.Open). */
export const maxSignatures = 256;
const maxKeys = 1024;
const maxKeyIdLength = 256;
const maxSigLength = 4096;

/** TufSignature is one entry of `signatures`: the signer's key ID and the hex signature. */
export interface TufSignature {
  readonly keyid: string;
  readonly sig: string;
}

/** Envelope is the outer `{signed, signatures}` of any metadata file, role not yet checked. */
export interface Envelope {
  readonly signed: JsonObject;
  readonly signatures: readonly TufSignature[];
}

/** RoleKeys is a role's key IDs and signature threshold. */
export interface RoleKeys {
  readonly keyids: readonly string[];
  readonly threshold: number;
}

/** Hashes maps a hash algorithm name (`sha256`, `sha512`, ...) to its hex digest. */
export type Hashes = { readonly [algorithm: string]: string };

/** MetaFile describes a metadata file in timestamp or snapshot `meta`. */
export interface MetaFile {
  readonly version: number;
  readonly length?: number;
  readonly hashes?: Hashes;
}

/** TargetFile describes a target: its path, length, hashes and the `custom` JSON, if any. */
export interface TargetFile {
  readonly path: string;
  readonly length: number;
  readonly hashes: Hashes;
  readonly custom?: JsonValue;
}

/** Header holds the fields every role has; `expires` is in seconds since the epoch. */
export interface Header {
  readonly version: number;
  readonly expires: number;
  readonly specVersion: string;
}

/** RootFields is the typed view of root's `signed`. */
export interface RootFields extends Header {
  readonly consistentSnapshot: boolean;
  readonly keys: ReadonlyMap<string, TufKey>;
  readonly roles: { readonly [R in RoleName]: RoleKeys };
}

/** TimestampFields is the typed view of timestamp's `signed`; `snapshot` is `meta["snapshot.json"]`. */
export interface TimestampFields extends Header {
  readonly snapshot: MetaFile;
}

/** SnapshotFields is the typed view of snapshot's `signed`; `meta` is keyed by file name (`targets.json`). */
export interface SnapshotFields extends Header {
  readonly meta: ReadonlyMap<string, MetaFile>;
}

/** DelegatedRole is one entry of `delegations.roles`. */
export interface DelegatedRole extends RoleKeys {
  readonly name: string;
  readonly terminating: boolean;
  readonly paths?: readonly string[];
  readonly pathHashPrefixes?: readonly string[];
}

/** Delegations is the typed view of targets' `delegations` (Vouch reads but never emits them). */
export interface Delegations {
  readonly keys: ReadonlyMap<string, TufKey>;
  readonly roles: readonly DelegatedRole[];
}

/** TargetsFields is the typed view of targets' `signed`. */
export interface TargetsFields extends Header {
  readonly targets: ReadonlyMap<string, TargetFile>;
  readonly delegations?: Delegations;
}

/** FieldsOf maps a role to its typed view. */
export type FieldsOf<R extends RoleName> = R extends 'root'
  ? RootFields
  : R extends 'timestamp'
    ? TimestampFields
    : R extends 'snapshot'
      ? SnapshotFields
      : TargetsFields;

/** Metadata is a parsed metadata file: its bytes, the exact `signed` value, signatures and typed view. */
export interface Metadata<R extends RoleName = RoleName> {
  readonly role: R;
  readonly bytes: Uint8Array;
  readonly signed: JsonObject;
  readonly signatures: readonly TufSignature[];
  readonly fields: FieldsOf<R>;
}

// ---------------------------------------------------------------------------------------------
// Dates

const datePattern = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;
const maxDateSeconds = 253_402_300_799; // 9999-12-31T23:59:59Z

/** formatTufDate writes seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`; throws `invalid-argument` out of range. */
export function formatTufDate(epochSeconds: number): string {
  if (!Number.isSafeInteger(epochSeconds) || epochSeconds < 0 || epochSeconds > maxDateSeconds) {
    throw new VouchError('invalid-argument', 'a TUF date must be whole seconds from 1970 to 9999');
  }
  return `${new Date(epochSeconds * 1000).toISOString().slice(0, 19)}Z`;
}

/** parseTufDate reads `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fractions) as seconds since the epoch, or throws `malformed`. */
export function parseTufDate(text: string, field = 'expires'): number {
  const m = datePattern.exec(text);
  if (m === null) throw malformed(`${field} is not a date of the form YYYY-MM-DDTHH:MM:SSZ`, field);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const seconds = ms / 1000;
  if (!Number.isSafeInteger(seconds) || seconds < 0 || formatTufDate(seconds) !== text) {
    throw malformed(`${field} is not a valid date`, field);
  }
  return seconds;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** maxBytesFor returns the byte cap of a role under `limits`. */
export function maxBytesFor(role: RoleName, limits: TufLimits = defaultTufLimits): number {
  return role === 'root'
    ? limits.rootBytes
    : role === 'timestamp'
      ? limits.timestampBytes
      : role === 'snapshot'
        ? limits.snapshotBytes
        : limits.targetsBytes;
}

/**
 * parseEnvelope reads `{signed, signatures}` from bytes of any role, refusing more than
 * `maxBytes` (`too-large`, attack endless-data) or a bad shape (`malformed`).
 */
export function parseEnvelope(bytes: Uint8Array, maxBytes: number, what = 'metadata'): Envelope {
  if (bytes.length > maxBytes) {
    throw new VouchError(
      'too-large',
      `endless-data: ${what} is ${bytes.length} bytes, over the limit of ${maxBytes}`,
      { limit: maxBytes, attack: 'endless-data' },
    );
  }
  const value = parseJson(bytes, { maxBytes });
  if (!isJsonObject(value)) throw malformed(`${what} is not a JSON object`, '$');
  const { signed, signatures } = value;
  if (!isJsonObject(signed)) throw malformed(`${what} has no signed object`, 'signed');
  if (!isJsonArray(signatures)) throw malformed(`${what} has no signatures array`, 'signatures');
  if (signatures.length > maxSignatures) {
    throw new VouchError('too-large', `${what} has more than ${maxSignatures} signatures`, {
      limit: maxSignatures,
      attack: 'endless-data',
    });
  }
  const sigs = signatures.map((s, i): TufSignature => {
    const field = `signatures[${i}]`;
    if (!isJsonObject(s)) throw malformed(`${what} ${field} is not an object`, field);
    const { keyid, sig } = s;
    if (typeof keyid !== 'string' || keyid.length === 0 || keyid.length > maxKeyIdLength) {
      throw malformed(`${what} ${field} has no valid keyid`, `${field}.keyid`);
    }
    if (typeof sig !== 'string' || sig.length > maxSigLength) {
      throw malformed(`${what} ${field} has no valid sig`, `${field}.sig`);
    }
    return Object.freeze({ keyid, sig });
  });
  return Object.freeze({ signed, signatures: Object.freeze(sigs) });
}

/**
 * parseMetadata reads a metadata file of `role`: size cap, envelope, `_type`, `spec_version`
 * major 1, `version` ≥ 1, `expires`, and the role's own fields. Throws `too-large` or
 * `malformed` naming the field. It does not check signatures or expiry.
 */
export function parseMetadata<R extends RoleName>(
  role: R,
  bytes: Uint8Array,
  maxBytes: number = maxBytesFor(role),
): Metadata<R> {
  const envelope = parseEnvelope(bytes, maxBytes, `${role} metadata`);
  const fields = parseSigned(role, envelope.signed) as FieldsOf<R>;
  return Object.freeze({
    role,
    bytes: new Uint8Array(bytes),
    signed: envelope.signed,
    signatures: envelope.signatures,
    fields,
  });
}

/** parseSigned checks a `signed` value of `role` and returns its typed view; throws `malformed`. */
export function parseSigned(role: RoleName, signed: JsonObject): FieldsOf<RoleName> {
  if (signed._type !== role) throw malformed(`metadata _type is not "${role}"`, 'signed._type');
  const header = parseHeader(signed);
  switch (role) {
    case 'root':
      return parseRootFields(signed, header);
    case 'timestamp': {
      const meta = objectField(signed, 'meta', 'signed.meta');
      const snap = meta['snapshot.json'];
      if (snap === undefined || Object.keys(meta).length !== 1) {
        throw malformed('timestamp meta must list exactly snapshot.json', 'signed.meta');
      }
      return Object.freeze({ ...header, snapshot: parseMetaFile(snap, 'signed.meta["snapshot.json"]') });
    }
    case 'snapshot': {
      const meta = objectField(signed, 'meta', 'signed.meta');
      const entries = new Map<string, MetaFile>();
      for (const [name, value] of Object.entries(meta)) {
        entries.set(name, parseMetaFile(value, formatFieldPath(['signed', 'meta', name])));
      }
      if (!entries.has('targets.json')) throw malformed('snapshot meta has no targets.json', 'signed.meta');
      return Object.freeze({ ...header, meta: entries });
    }
    case 'targets':
      return parseTargetsFields(signed, header);
  }
}

function parseHeader(signed: JsonObject): Header {
  const spec = signed.spec_version;
  if (typeof spec !== 'string' || !/^[0-9]+\.[0-9]+(\.[0-9]+)?$/.test(spec)) {
    throw malformed('spec_version is not a version number', 'signed.spec_version');
  }
  if (spec.split('.')[0] !== '1') {
    throw malformed(`spec_version major is not 1`, 'signed.spec_version');
  }
  const version = positiveInteger(signed.version, 'signed.version');
  const expiresText = signed.expires;
  if (typeof expiresText !== 'string') throw malformed('expires is not a string', 'signed.expires');
  return { version, expires: parseTufDate(expiresText, 'signed.expires'), specVersion: spec };
}

function parseRootFields(signed: JsonObject, header: Header): RootFields {
  const cs = signed.consistent_snapshot;
  if (cs !== undefined && typeof cs !== 'boolean') {
    throw malformed('consistent_snapshot is not a boolean', 'signed.consistent_snapshot');
  }
  const keys = parseKeys(objectField(signed, 'keys', 'signed.keys'), ['signed', 'keys']);
  const rolesValue = objectField(signed, 'roles', 'signed.roles');
  const roles = {} as Record<RoleName, RoleKeys>;
  for (const name of roleNames) {
    roles[name] = parseRoleKeys(rolesValue[name], `signed.roles.${name}`);
  }
  return Object.freeze({ ...header, consistentSnapshot: cs === true, keys, roles: Object.freeze(roles) });
}

function parseTargetsFields(signed: JsonObject, header: Header): TargetsFields {
  const targetsValue = objectField(signed, 'targets', 'signed.targets');
  const targets = new Map<string, TargetFile>();
  for (const [path, value] of Object.entries(targetsValue)) {
    const field = formatFieldPath(['signed', 'targets', path]);
    if (!isJsonObject(value)) throw malformed('target entry is not an object', field);
    const length = nonNegativeInteger(value.length, `${field}.length`);
    const hashes = parseHashes(value.hashes, `${field}.hashes`);
    const custom = value.custom;
    if (custom !== undefined && !isJsonObject(custom))
      throw malformed('target custom is not an object', field);
    targets.set(path, Object.freeze({ path, length, hashes, ...(custom === undefined ? {} : { custom }) }));
  }
  const d = signed.delegations;
  if (d === undefined) return Object.freeze({ ...header, targets });
  if (!isJsonObject(d)) throw malformed('delegations is not an object', 'signed.delegations');
  const keys = parseKeys(objectField(d, 'keys', 'signed.delegations.keys'), [
    'signed',
    'delegations',
    'keys',
  ]);
  const rolesValue = d.roles;
  const roles: DelegatedRole[] = [];
  if (rolesValue !== undefined) {
    if (!isJsonArray(rolesValue) || rolesValue.length > maxKeys) {
      throw malformed('delegations.roles is not an array', 'signed.delegations.roles');
    }
    const seen = new Set<string>();
    rolesValue.forEach((r, i) => {
      const field = `signed.delegations.roles[${i}]`;
      if (!isJsonObject(r)) throw malformed('delegated role is not an object', field);
      const { name, terminating, paths, path_hash_prefixes } = r;
      if (
        typeof name !== 'string' ||
        name.length === 0 ||
        roleNames.includes(name as RoleName) ||
        seen.has(name)
      ) {
        throw malformed('delegated role name is missing, top-level or repeated', `${field}.name`);
      }
      seen.add(name);
      if (typeof terminating !== 'boolean')
        throw malformed('terminating is not a boolean', `${field}.terminating`);
      if ((paths === undefined) === (path_hash_prefixes === undefined)) {
        throw malformed('a delegated role needs exactly one of paths, path_hash_prefixes', field);
      }
      const list = stringList(paths ?? path_hash_prefixes, field);
      roles.push(
        Object.freeze({
          ...parseRoleKeys(r, field),
          name,
          terminating,
          ...(paths === undefined ? { pathHashPrefixes: list } : { paths: list }),
        }),
      );
    });
  } else if (d.succinct_roles === undefined) {
    throw malformed('delegations needs roles or succinct_roles', 'signed.delegations');
  }
  return Object.freeze({
    ...header,
    targets,
    delegations: Object.freeze({ keys, roles: Object.freeze(roles) }),
  });
}

function parseKeys(value: JsonObject, path: readonly string[]): ReadonlyMap<string, TufKey> {
  const field = formatFieldPath(path);
  const entries = Object.entries(value);
  if (entries.length > maxKeys) throw new VouchError('too-large', `more than ${maxKeys} keys`, { field });
  const keys = new Map<string, TufKey>();
  for (const [keyid, key] of entries) {
    if (keyid.length === 0 || keyid.length > maxKeyIdLength)
      throw malformed('key ID is empty or too long', field);
    keys.set(keyid, parseTufKey(key, formatFieldPath([...path, keyid])));
  }
  return keys;
}

function parseRoleKeys(value: JsonValue | undefined, field: string): RoleKeys {
  if (!isJsonObject(value)) throw malformed(`role ${field} is missing`, field);
  const keyids = stringList(value.keyids, `${field}.keyids`);
  if (new Set(keyids).size !== keyids.length) throw malformed('role lists a key ID twice', `${field}.keyids`);
  const threshold = positiveInteger(value.threshold, `${field}.threshold`);
  return Object.freeze({ keyids, threshold });
}

function parseMetaFile(value: JsonValue | undefined, field: string): MetaFile {
  if (!isJsonObject(value)) throw malformed('meta entry is not an object', field);
  const version = positiveInteger(value.version, `${field}.version`);
  const out: { version: number; length?: number; hashes?: Hashes } = { version };
  if (value.length !== undefined) out.length = nonNegativeInteger(value.length, `${field}.length`);
  if (value.hashes !== undefined) out.hashes = parseHashes(value.hashes, `${field}.hashes`);
  return Object.freeze(out);
}

const digestLengths: Record<string, number> = { sha256: 64, sha512: 128 };

function parseHashes(value: JsonValue | undefined, field: string): Hashes {
  if (!isJsonObject(value)) throw malformed('hashes is not an object', field);
  const entries = Object.entries(value);
  if (entries.length === 0 || entries.length > 16) throw malformed('hashes is empty or too long', field);
  let supported = false;
  for (const [alg, digest] of entries) {
    if (typeof digest !== 'string' || digest.length > 256)
      throw malformed(`hash ${alg} is not a string`, field);
    const expected = digestLengths[alg];
    if (expected !== undefined) {
      if (digest.length !== expected || !/^[0-9a-f]*$/.test(digest)) {
        throw malformed(`hash ${alg} is not ${expected} lowercase hex digits`, `${field}.${alg}`);
      }
      supported = true;
    }
  }
  if (!supported) throw malformed('hashes has neither sha256 nor sha512', field);
  return value as Hashes;
}

function objectField(obj: JsonObject, key: string, field: string): JsonObject {
  const value = obj[key];
  if (!isJsonObject(value)) throw malformed(`${key} is not an object`, field);
  return value;
}

function stringList(value: JsonValue | undefined, field: string): readonly string[] {
  if (!isJsonArray(value) || value.length > maxKeys) throw malformed('not a list of strings', field);
  for (const v of value) if (typeof v !== 'string') throw malformed('not a list of strings', field);
  return value as readonly string[];
}

function positiveInteger(value: JsonValue | undefined, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw malformed(`${field} is not an integer of at least 1`, field);
  }
  return value;
}

function nonNegativeInteger(value: JsonValue | undefined, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw malformed(`${field} is not a non-negative integer`, field);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Building and formatting

/** RoleKeysInput names a role's keys as TUF key objects (see keys.ts `tufKeyObject`) and its threshold. */
export interface RoleKeysInput {
  readonly keys: readonly JsonObject[];
  readonly threshold: number;
}

/** HeaderInput is what every builder needs: version ≥ 1 and expiry in seconds since the epoch. */
export interface HeaderInput {
  readonly version: number;
  readonly expires: number;
}

/** MetaFileInput is a `meta` entry to write. */
export interface MetaFileInput {
  readonly version: number;
  readonly length?: number;
  readonly hashes?: Hashes;
}

/** TargetFileInput is a `targets` entry to write; `custom` is any JSON object. */
export interface TargetFileInput {
  readonly length: number;
  readonly hashes: Hashes;
  readonly custom?: JsonObject;
}

/**
 * rootSigned builds root's `signed`: `keys` holds every role's keys under spec-correct key IDs,
 * `consistent_snapshot` defaults to true. Throws `invalid-argument` for a threshold the role's
 * keys cannot meet.
 */
export function rootSigned(
  input: HeaderInput & {
    readonly roles: { readonly [R in RoleName]: RoleKeysInput };
    readonly consistentSnapshot?: boolean;
  },
): JsonObject {
  const keys: Record<string, JsonObject> = {};
  const roles: Record<string, JsonObject> = {};
  for (const name of roleNames) {
    const role = input.roles[name];
    const ids = new Set<string>();
    for (const k of role.keys) {
      const id = tufKeyId(k);
      keys[id] = k;
      ids.add(id);
    }
    const keyids = [...ids];
    if (!Number.isSafeInteger(role.threshold) || role.threshold < 1 || role.threshold > keyids.length) {
      throw new VouchError(
        'invalid-argument',
        `${name} threshold ${role.threshold} cannot be met by its ${keyids.length} distinct keys`,
      );
    }
    roles[name] = { keyids: keyids.sort(), threshold: role.threshold };
  }
  return checked('root', {
    _type: 'root',
    spec_version: specVersion,
    version: input.version,
    expires: formatTufDate(input.expires),
    consistent_snapshot: input.consistentSnapshot ?? true,
    keys,
    roles,
  });
}

/** timestampSigned builds timestamp's `signed` pointing at one snapshot version. */
export function timestampSigned(input: HeaderInput & { readonly snapshot: MetaFileInput }): JsonObject {
  return checked('timestamp', {
    ...header('timestamp', input),
    meta: { 'snapshot.json': metaValue(input.snapshot) },
  });
}

/** snapshotSigned builds snapshot's `signed`; `meta` must include `targets.json`. */
export function snapshotSigned(
  input: HeaderInput & { readonly meta: { readonly [file: string]: MetaFileInput } },
): JsonObject {
  const meta: Record<string, JsonObject> = {};
  for (const [name, m] of Object.entries(input.meta)) meta[name] = metaValue(m);
  return checked('snapshot', { ...header('snapshot', input), meta });
}

/** targetsSigned builds targets' `signed` (no delegations). */
export function targetsSigned(
  input: HeaderInput & { readonly targets: { readonly [path: string]: TargetFileInput } },
): JsonObject {
  const targets: Record<string, JsonObject> = {};
  for (const [path, t] of Object.entries(input.targets)) {
    checkTargetPath(path);
    targets[path] = {
      length: t.length,
      hashes: { ...t.hashes },
      ...(t.custom === undefined ? {} : { custom: t.custom }),
    };
  }
  return checked('targets', { ...header('targets', input), targets });
}

/** describeFile returns the length and SHA-256 of bytes, as a meta or target entry wants them. */
export function describeFile(bytes: Uint8Array): { readonly length: number; readonly hashes: Hashes } {
  return { length: bytes.length, hashes: { sha256: formatHex(sha256(bytes)) } };
}

/** FormatOptions selects the on-disk layout; `pretty` (default) indents by two spaces. */
export interface FormatOptions {
  readonly pretty?: boolean;
}

/**
 * formatMetadata encodes a metadata file for disk or the web as UTF-8 JSON with sorted keys
 * (not canonical JSON; signatures cover the canonical form of `signed`, whatever the layout).
 */
export function formatMetadata(
  signed: JsonObject,
  signatures: readonly TufSignature[],
  options: FormatOptions = {},
): Uint8Array {
  const compact = formatJson({ signatures: signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })), signed });
  if (options.pretty === false) return compact;
  return toBytes(`${JSON.stringify(JSON.parse(toText(compact)), null, 2)}\n`);
}

/**
 * metadataFileName is the published name of a metadata file: `VERSION.ROLE.json` for root
 * always and for snapshot and targets under consistent snapshots, `ROLE.json` otherwise and
 * always for timestamp (spec §5.5.1, §6.2).
 */
export function metadataFileName(role: RoleName, version: number, consistentSnapshot: boolean): string {
  if (role === 'timestamp' || (role !== 'root' && !consistentSnapshot)) return `${role}.json`;
  return `${version}.${role}.json`;
}

/**
 * targetFileName is the published name of a target under consistent snapshots: the SHA-256
 * prefixed to the last path segment (`rules/main/<hex>.main-42.vdb`), spec §5.7.3.
 */
export function targetFileName(path: string, sha256Hex: string): string {
  checkTargetPath(path);
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}${sha256Hex}.${path.slice(slash + 1)}`;
}

function checkTargetPath(path: string): void {
  const segments = path.split('/');
  if (path.length > 1024 || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new VouchError(
      'invalid-argument',
      'a target path is non-empty segments separated by "/", no "." or ".."',
    );
  }
}

function header(role: RoleName, input: HeaderInput): JsonObject {
  return {
    _type: role,
    spec_version: specVersion,
    version: input.version,
    expires: formatTufDate(input.expires),
  };
}

function metaValue(m: MetaFileInput): JsonObject {
  return {
    version: m.version,
    ...(m.length === undefined ? {} : { length: m.length }),
    ...(m.hashes === undefined ? {} : { hashes: { ...m.hashes } }),
  };
}

// Every builder's output must parse as what it claims to be, so the repository cannot publish
// what a client would refuse.
function checked(role: RoleName, signed: JsonObject): JsonObject {
  try {
    parseSigned(role, signed);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new VouchError('invalid-argument', `${role} metadata would not parse: ${message}`, {}, { cause });
  }
  return signed;
}
