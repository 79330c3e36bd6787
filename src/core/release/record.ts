/**
 * The release record of docs/updates.md ("The release log"): what the release log stores for a
 * repository metadata file (a root, targets or snapshot version), the canonical JSON (OLPC, as
 * TUF signs it) of `{_type, repository, file, length, sha256}`. A small record stands for a file
 * of any size, and anyone holding the file can rebuild the record byte for byte and find its
 * leaf in the log.
 *
 * Parsing accepts only the one canonical spelling: exactly the five fields, `length` a safe
 * non-negative integer, `sha256` 64 lowercase hex digits, and bytes equal to the canonical
 * encoding of what was read. This module does not hash the record into a leaf or check a proof
 * (`logged.ts` does); it does not decide which files are logged (the repository does).
 */

import { equalBytes, formatHex } from '../bytes/index.ts';
import { sha256 } from '../crypto/index.ts';
import { malformed, tooLarge, VouchError } from '../errors.ts';
import { formatCanonicalJson, isJsonObject, parseJson } from '../json/index.ts';

/** releaseRecordType is the `_type` of every release record. */
export const releaseRecordType = 'https://vouch.example/release-record/v1';

/** maxReleaseRecordBytes bounds a record; a real one is about 200 bytes. */
export const maxReleaseRecordBytes = 2048;

/** ReleaseRecord is a parsed release record. */
export interface ReleaseRecord {
  /** repository is the repository name from repo.json. */
  readonly repository: string;
  /** file is the published file name, such as `3.targets.json`. */
  readonly file: string;
  /** length is the file's size in bytes. */
  readonly length: number;
  /** sha256 is the lowercase hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

const repositoryPattern = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/; // printable ASCII but `"` and `\`
const filePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const hex64 = /^[0-9a-f]{64}$/;
const fields = ['_type', 'file', 'length', 'repository', 'sha256'];

/**
 * releaseRecord returns the canonical JSON bytes of the record of `bytes` published as `file` in
 * `repository`. It throws `invalid-argument` for a repository name (1 to 256 printable ASCII
 * characters other than `"` and `\`) or file name (a single path segment of letters, digits,
 * `.`, `_`, `-`) that {@link parseReleaseRecord} would refuse.
 */
export function releaseRecord(input: {
  readonly repository: string;
  readonly file: string;
  readonly bytes: Uint8Array;
}): Uint8Array {
  return formatReleaseRecord({
    repository: input.repository,
    file: input.file,
    length: input.bytes.length,
    sha256: formatHex(sha256(input.bytes)),
  });
}

/** formatReleaseRecord returns the canonical JSON bytes of a record; it validates as {@link releaseRecord}. */
export function formatReleaseRecord(record: ReleaseRecord): Uint8Array {
  const problem = recordProblem(record);
  if (problem !== undefined) {
    throw new VouchError('invalid-argument', `release record ${problem.reason}`, { field: problem.field });
  }
  return formatCanonicalJson({
    _type: releaseRecordType,
    repository: record.repository,
    file: record.file,
    length: record.length,
    sha256: record.sha256,
  });
}

/**
 * parseReleaseRecord reads a release record, or throws `too-large` over
 * {@link maxReleaseRecordBytes} and `malformed` (naming the field) for anything but the one
 * canonical encoding of a valid record.
 */
export function parseReleaseRecord(bytes: Uint8Array): ReleaseRecord {
  if (bytes.length > maxReleaseRecordBytes) throw tooLarge('release record', maxReleaseRecordBytes);
  const value = parseJson(bytes, { maxBytes: maxReleaseRecordBytes, maxDepth: 1 });
  if (!isJsonObject(value)) throw malformed('release record is not a JSON object', '$');
  const keys = Object.keys(value).sort();
  if (keys.length !== fields.length || keys.some((k, i) => k !== fields[i])) {
    throw malformed(`release record must have exactly the fields ${fields.join(', ')}`, '$');
  }
  if (value['_type'] !== releaseRecordType)
    throw malformed(`release record _type is not ${releaseRecordType}`, '_type');
  const { repository, file, length, sha256: digest } = value;
  if (typeof repository !== 'string')
    throw malformed('release record repository is not a string', 'repository');
  if (typeof file !== 'string') throw malformed('release record file is not a string', 'file');
  if (typeof length !== 'number') throw malformed('release record length is not a number', 'length');
  if (typeof digest !== 'string') throw malformed('release record sha256 is not a string', 'sha256');
  const record: ReleaseRecord = Object.freeze({ repository, file, length, sha256: digest });
  const problem = recordProblem(record);
  if (problem !== undefined) throw malformed(`release record ${problem.reason}`, problem.field);
  if (!equalBytes(formatReleaseRecord(record), bytes)) {
    throw malformed('release record is not in canonical JSON', '$');
  }
  return record;
}

function recordProblem(record: ReleaseRecord): { field: string; reason: string } | undefined {
  if (typeof record.repository !== 'string' || !repositoryPattern.test(record.repository)) {
    return { field: 'repository', reason: 'repository is not 1 to 256 printable ASCII characters' };
  }
  if (typeof record.file !== 'string' || !filePattern.test(record.file)) {
    return { field: 'file', reason: 'file is not a single file name' };
  }
  if (!Number.isSafeInteger(record.length) || record.length < 0) {
    return { field: 'length', reason: 'length is not a non-negative integer' };
  }
  if (typeof record.sha256 !== 'string' || !hex64.test(record.sha256)) {
    return { field: 'sha256', reason: 'sha256 is not 64 lowercase hex digits' };
  }
  return undefined;
}
