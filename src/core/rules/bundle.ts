/**
 * The rule-database bundle: one file holding every member of a database (`manifest.json`,
 * `hashes.vhdb`, `yara/NAME.yar`), so that a full database is a single TUF target
 * (`rules/NAME/NAME-VERSION.vdb`, docs/updates.md) that the agent downloads, hashes and unpacks.
 *
 * Layout (one spelling per database):
 *
 *     "vouch-rules-bundle/v1\n"
 *     per member, sorted by the UTF-8 bytes of its name, no repeats:
 *       u32 big-endian name length, the name (UTF-8),
 *       u64 big-endian content length, the content
 *
 * and nothing after the last member. Integrity does not come from this container: unpacking
 * checks the framing and the database limits (member count and names, per-member sizes), then
 * hands the members to {@link openDatabase}, which checks each against the manifest's SHA-256.
 * This module does no I/O and does not compress (TAP 10: no compressed metadata; rule tables
 * are mostly digests anyway).
 */

import { compareBytes, concatBytes, formatUint64, parseUint64, toBytes } from '../bytes/index.ts';
import { malformed, tooLarge } from '../errors.ts';
import { type DatabaseFiles, maxYaraFileBytes, openDatabase } from './database.ts';
import { maxHashDbRecords } from './hashdb.ts';
import { hashDbFileName, isMemberName, manifestFileName, maxManifestBytes, maxMembers } from './manifest.ts';

/** bundleMagic is the first line of every bundle. */
export const bundleMagic = 'vouch-rules-bundle/v1\n';

/** maxBundleNameLength caps a member name in bytes. */
export const maxBundleNameLength = 1024;

/**
 * maxHashTableBytes bounds `hashes.vhdb`: the 64-byte header, then per record 44 bytes plus at
 * most 129 bytes of name, and 32 bytes per allow-list entry, at the record cap.
 */
export const maxHashTableBytes = 64 + maxHashDbRecords * (44 + 129 + 32);

const magicBytes = toBytes(bundleMagic);
const decoder = new TextDecoder('utf-8', { fatal: true });

function memberLimit(name: string): number {
  if (name === manifestFileName) return maxManifestBytes;
  if (name === hashDbFileName) return maxHashTableBytes;
  return maxYaraFileBytes;
}

function isBundleMemberName(name: string): boolean {
  return name === manifestFileName || isMemberName(name);
}

/**
 * packDatabaseBundle returns the bundle of a database's files. The same files always give the
 * same bytes. It throws `malformed` for a name that is not a database member and `too-large`
 * over a member or count limit; it does not open the database (pack what {@link openDatabase}
 * accepted, or what a build produced).
 */
export function packDatabaseBundle(files: DatabaseFiles): Uint8Array {
  if (files.size > maxMembers + 1) throw tooLarge('database member count', maxMembers + 1);
  const members = [...files.entries()].map(([name, bytes]) => ({ name, nameBytes: toBytes(name), bytes }));
  members.sort((a, b) => compareBytes(a.nameBytes, b.nameBytes));
  const parts: Uint8Array[] = [magicBytes];
  for (const member of members) {
    if (!isBundleMemberName(member.name)) throw malformed('not a rule database member name', member.name);
    if (member.nameBytes.length > maxBundleNameLength)
      throw tooLarge('member name', maxBundleNameLength, member.name);
    const limit = memberLimit(member.name);
    if (member.bytes.length > limit) throw tooLarge(`member ${member.name}`, limit, member.name);
    const nameLength = new Uint8Array(4);
    new DataView(nameLength.buffer).setUint32(0, member.nameBytes.length);
    parts.push(nameLength, member.nameBytes, formatUint64(BigInt(member.bytes.length)), member.bytes);
  }
  return concatBytes(...parts);
}

/**
 * unpackDatabaseBundle reads a bundle strictly: the magic line, then members in strictly
 * increasing name order (a repeated or unsorted name is `malformed`), each name a database
 * member name and each length within its member's limit (`too-large`), no trailing bytes; then
 * the files must open as a database ({@link openDatabase}: `bad-digest` naming the member whose
 * content differs from the manifest). The returned members are copies; `bytes` is not retained.
 */
export function unpackDatabaseBundle(bytes: Uint8Array): DatabaseFiles {
  if (
    bytes.length < magicBytes.length ||
    compareBytes(bytes.subarray(0, magicBytes.length), magicBytes) !== 0
  )
    throw malformed('not a rule database bundle (bad magic line)', 'magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const files = new Map<string, Uint8Array>();
  let offset = magicBytes.length;
  let previous: Uint8Array | undefined;
  while (offset < bytes.length) {
    if (files.size >= maxMembers + 1) throw tooLarge('database member count', maxMembers + 1);
    const at = `member ${files.size}`;
    if (bytes.length - offset < 4) throw malformed('bundle is truncated in a member name length', at);
    const nameLength = view.getUint32(offset);
    offset += 4;
    if (nameLength === 0 || nameLength > maxBundleNameLength)
      throw malformed(`bundle member name length ${nameLength} is out of range`, at);
    if (bytes.length - offset < nameLength) throw malformed('bundle is truncated in a member name', at);
    const nameBytes = bytes.subarray(offset, offset + nameLength);
    offset += nameLength;
    let name: string;
    try {
      name = decoder.decode(nameBytes);
    } catch {
      throw malformed('bundle member name is not UTF-8', at);
    }
    if (!isBundleMemberName(name)) throw malformed('bundle holds a file that is not a database member', at);
    if (previous !== undefined && compareBytes(previous, nameBytes) >= 0)
      throw malformed(`bundle member ${name} is repeated or out of order`, name);
    previous = nameBytes;
    if (bytes.length - offset < 8) throw malformed(`bundle is truncated in the length of ${name}`, name);
    const length = parseUint64(bytes, offset);
    offset += 8;
    const limit = memberLimit(name);
    if (length > BigInt(limit)) throw tooLarge(`bundle member ${name}`, limit, name);
    const size = Number(length);
    if (bytes.length - offset < size) throw malformed(`bundle is truncated in the content of ${name}`, name);
    files.set(name, bytes.slice(offset, offset + size));
    offset += size;
  }
  openDatabase(files);
  return files;
}
