/**
 * Deterministic tar (POSIX ustar, IEEE Std 1003.1-1988 as GNU tar reads it) and the output
 * manifest, for packing build outputs so that the same files always give the same bytes.
 *
 * The rules: entries sorted by the UTF-8 bytes of their name; every parent folder listed as its
 * own entry (`name/`, type `5`, mode 0755) before its contents; files are type `0` with mode
 * 0755 when any execute bit was set and 0644 otherwise; uid and gid 0, uname and gname empty,
 * devmajor/devminor zero; mtime is SOURCE_DATE_EPOCH for every entry; numeric fields are
 * zero-padded octal ended by NUL, the checksum is six octal digits, NUL, space (as GNU tar
 * writes it); the archive ends with two zero blocks and is padded to a multiple of 10240 bytes
 * (GNU tar's default record size). No pax or GNU extensions are ever written: a name longer
 * than ustar's 100-byte name plus 155-byte prefix split, a file of 8 GiB or more, or an mtime
 * past 8^11-1 is refused with `too-large`. Symbolic links, hard links and special files are not
 * supported. Gzip is not here (core has no zlib): services/conveyer compresses the tar bytes.
 */

import { compareBytes, concatBytes, formatHex, toBytes } from '../bytes/index.ts';
import { sha256, sha512 } from '../crypto/index.ts';
import { VouchError } from '../errors.ts';
import { formatCanonicalJson } from '../json/index.ts';
import { isSafeRelativePath } from './recipe.ts';

/** PackFile is one regular file to pack; `executable` selects mode 0755 over 0644. */
export interface PackFile {
  readonly path: string;
  readonly executable: boolean;
  readonly bytes: Uint8Array;
}

/** ManifestEntry describes one packed file; `mode` is `0644` or `0755`. */
export interface ManifestEntry {
  readonly path: string;
  readonly mode: '0644' | '0755';
  readonly size: number;
  readonly sha256: string;
  readonly sha512: string;
}

/** maxPackFiles is the most files one archive may hold. */
export const maxPackFiles = 100_000;

const block = 512;
const record = 10240;
const maxOctal11 = 8 ** 11 - 1;

/**
 * buildManifest returns the manifest of `files`, sorted by the UTF-8 bytes of the path, frozen.
 * It throws `invalid-argument` on an unsafe or duplicate path.
 */
export function buildManifest(files: readonly PackFile[]): readonly ManifestEntry[] {
  const sorted = sortFiles(files);
  return Object.freeze(
    sorted.map((file) =>
      Object.freeze({
        path: file.path,
        mode: file.executable ? ('0755' as const) : ('0644' as const),
        size: file.bytes.length,
        sha256: formatHex(sha256(file.bytes)),
        sha512: formatHex(sha512(file.bytes)),
      }),
    ),
  );
}

/** formatManifest returns the manifest as canonical JSON: `{"files":[...]}` with sorted keys. */
export function formatManifest(manifest: readonly ManifestEntry[]): Uint8Array {
  return formatCanonicalJson({ files: manifest });
}

/**
 * packTar returns the deterministic ustar bytes of `files` with every mtime set to
 * `sourceDateEpoch` (seconds). Parent folders are added; the input order does not matter.
 */
export function packTar(files: readonly PackFile[], sourceDateEpoch: number): Uint8Array {
  if (!Number.isSafeInteger(sourceDateEpoch) || sourceDateEpoch < 0 || sourceDateEpoch > maxOctal11) {
    throw new VouchError('too-large', 'SOURCE_DATE_EPOCH does not fit a ustar mtime', { limit: maxOctal11 });
  }
  const sorted = sortFiles(files);
  const folders = new Set<string>();
  for (const file of sorted) {
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(`${parts.slice(0, i).join('/')}/`);
  }
  const entries: { name: Uint8Array; file?: PackFile }[] = [
    ...[...folders].map((folder) => ({ name: toBytes(folder) })),
    ...sorted.map((file) => ({ name: toBytes(file.path), file })),
  ];
  entries.sort((a, b) => compareBytes(a.name, b.name));
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const entry of entries) {
    const size = entry.file?.bytes.length ?? 0;
    if (size > maxOctal11)
      throw new VouchError('too-large', 'file does not fit a ustar size', { limit: maxOctal11 });
    const mode = entry.file === undefined || entry.file.executable ? 0o755 : 0o644;
    const header = formatHeader(
      entry.name,
      mode,
      size,
      sourceDateEpoch,
      entry.file === undefined ? '5' : '0',
    );
    parts.push(header);
    length += block;
    if (entry.file !== undefined) {
      parts.push(entry.file.bytes);
      const padding = (block - (size % block)) % block;
      parts.push(new Uint8Array(padding));
      length += size + padding;
    }
  }
  length += 2 * block;
  const total = Math.ceil(length / record) * record;
  parts.push(new Uint8Array(total - length + 2 * block));
  return concatBytes(...parts);
}

function sortFiles(files: readonly PackFile[]): PackFile[] {
  if (files.length > maxPackFiles) {
    throw new VouchError('too-large', `output exceeds ${maxPackFiles} files`, { limit: maxPackFiles });
  }
  for (const file of files) {
    if (!isSafeRelativePath(file.path)) {
      throw new VouchError('invalid-argument', 'output path is not a safe relative path', { field: 'path' });
    }
  }
  const keyed = files.map((file) => ({ file, key: toBytes(file.path) }));
  keyed.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < keyed.length; i++) {
    const prev = keyed[i - 1];
    const next = keyed[i];
    if (prev !== undefined && next !== undefined && compareBytes(prev.key, next.key) === 0) {
      throw new VouchError('invalid-argument', 'output lists a path twice', { field: 'path' });
    }
  }
  const paths = new Set(files.map((f) => f.path));
  for (const file of files) {
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (paths.has(parts.slice(0, i).join('/'))) {
        throw new VouchError('invalid-argument', 'an output path is both a file and a folder', {
          field: 'path',
        });
      }
    }
  }
  return keyed.map((k) => k.file);
}

// splitName fits a name into ustar's name (100 bytes) and prefix (155 bytes) fields, splitting
// at a slash, or refuses: we never fall back to pax or GNU long-name extensions.
function splitName(name: Uint8Array): { prefix: Uint8Array; name: Uint8Array } {
  if (name.length <= 100) return { prefix: new Uint8Array(0), name };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== 0x2f) continue;
    // A folder's trailing slash cannot be the split point: the name part would be empty.
    if (i === name.length - 1) continue;
    if (i <= 155 && name.length - i - 1 <= 100) {
      return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
    }
  }
  throw new VouchError('too-large', 'output path does not fit a ustar name without extensions', {
    limit: 255,
  });
}

function octal(value: number, width: number): Uint8Array {
  // width includes the terminating NUL.
  return toBytes(`${value.toString(8).padStart(width - 1, '0')}\0`);
}

function formatHeader(fullName: Uint8Array, mode: number, size: number, mtime: number, type: '0' | '5') {
  const header = new Uint8Array(block);
  const { prefix, name } = splitName(fullName);
  header.set(name, 0);
  header.set(octal(mode, 8), 100);
  header.set(octal(0, 8), 108); // uid
  header.set(octal(0, 8), 116); // gid
  header.set(octal(size, 12), 124);
  header.set(octal(mtime, 12), 136);
  header.set(toBytes(type), 156);
  header.set(toBytes('ustar\0'), 257);
  header.set(toBytes('00'), 263);
  // uname (265) and gname (297) stay empty.
  header.set(octal(0, 8), 329); // devmajor
  header.set(octal(0, 8), 337); // devminor
  header.set(prefix, 345);
  // The checksum is computed with its own field as eight spaces.
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.set(toBytes(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
  return header;
}
