/**
 * Vouch key files: one private key with its name, type and public key, either sealed under a
 * passphrase (scrypt, RFC 7914, then AES-256-GCM, NIST SP 800-38D) or stored unencrypted and
 * explicitly marked so. There is no external spec; the format is defined here, version 1:
 *
 * ```
 * vouch-key-file v1
 * name: <key name: no white space, no "+", no control characters; at most 1024 characters>
 * type: ed25519 | ecdsa-p256 | ml-dsa-44
 * public-key: <base64 public key in core/crypto's raw form>
 * encryption: scrypt-aes-256-gcm
 * scrypt: log2n=17 r=8 p=1
 * salt: <base64, 16 random bytes>
 * nonce: <base64, 12 random bytes>
 * private-key: <base64 of AES-256-GCM ciphertext of the PKCS #8 DER || 16-byte tag>
 * checksum: <base64 of SHA-256 of every byte above this line>
 * ```
 *
 * An unencrypted file says `encryption: none`, has no `scrypt`, `salt` or `nonce` lines, and its
 * `private-key` is the PKCS #8 DER itself. Text is UTF-8 with LF line endings; every line shown is
 * required, in this order, exactly once, so each key has one spelling and a parsed file formats
 * back to the same bytes. Standard base64 is padded and canonical.
 *
 * The GCM key is scrypt(UTF-8 passphrase, salt, N = 2^log2n, r, p) with a 32-byte output, and the
 * associated data is every byte before the `private-key` line: name, type, public key, scrypt
 * parameters, salt and nonce are authenticated, so none of them can be swapped without the
 * passphrase. The `checksum` line is not authentication (anyone can recompute it): it catches a
 * truncated or damaged file before scrypt runs, so corruption is reported as `bad-key` and never
 * mistaken for a wrong passphrase. After decryption the private key must yield the header's
 * public key. Readers refuse scrypt parameters outside {@link scryptLimits} before deriving
 * anything, so a hostile file cannot make a reader allocate gigabytes.
 *
 * LIMIT: passphrases are used as the UTF-8 of the string given, with no Unicode normalisation.
 * LIMIT: an unencrypted file has no authenticity at all (its name can be edited along with the
 * checksum); it relies on file permissions, which `storage/fs/key-file.ts` enforces.
 * This module does no file I/O and never reads the environment.
 */

import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { concatBytes, equalBytes, formatBase64, parseBase64, toBytes, toText } from '../bytes/index.ts';
import { VouchError } from '../errors.ts';
import { sha256 } from './hash.ts';
import { assertKeyName, isValidKeyName } from './key-name.ts';
import { importPrivateKey, isKeyType, type KeyType, type PrivateKeyMaterial, publicKeySpki } from './keys.ts';

/** keyFileMagic is the first line of every version 1 key file. */
export const keyFileMagic = 'vouch-key-file v1';

/** maxKeyFileSize bounds a key file in bytes; the largest real one (ML-DSA-44) is about 6 KiB. */
export const maxKeyFileSize = 64 * 1024;

/** ScryptParams is the scrypt cost of an encrypted key file: N = 2^log2N, block size r, parallelism p. */
export interface ScryptParams {
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * defaultScryptParams is what {@link sealKeyFile} uses unless told otherwise: N = 2^17, r = 8,
 * p = 1: 128 MiB of memory and OWASP's recommended minimum for scrypt. It is paid once each time
 * a key is loaded: 0.29 s on the development machine (where 2^15 took 0.07 s, 2^16 0.14 s and
 * 2^18 0.59 s), which is unnoticeable for a command and rare for a service.
 */
export const defaultScryptParams: ScryptParams = Object.freeze({ log2N: 17, r: 8, p: 1 });

/**
 * scryptLimits bounds the parameters a key file may ask for, checked before any derivation:
 * 2^10 ≤ N ≤ 2^20, 1 ≤ r ≤ 32, 1 ≤ p ≤ 16, and 128·N·r·p ≤ 256 MiB. The last bound caps both the
 * memory (128·N·r) and the time (proportional to N·r·p) at twice the default's.
 */
export const scryptLimits = Object.freeze({
  minLog2N: 10,
  maxLog2N: 20,
  maxR: 32,
  maxP: 16,
  maxWork: 256 * 1024 * 1024,
});

/** KeyFileInfo is what a key file says about itself without being decrypted. */
export interface KeyFileInfo {
  readonly name: string;
  readonly keyType: KeyType;
  /** publicKey is in core/crypto's raw form; for an encrypted file it is authenticated only once opened. */
  readonly publicKey: Uint8Array;
  /** scrypt is the KDF cost of an encrypted file, or undefined when the file is unencrypted. */
  readonly scrypt: ScryptParams | undefined;
}

/** OpenedKeyFile is a key file's name and its private key. The material is secret. */
export interface OpenedKeyFile {
  readonly name: string;
  readonly material: PrivateKeyMaterial;
}

/** SealOptions tunes {@link sealKeyFile}; tests use cheap scrypt parameters. */
export interface SealOptions {
  readonly scrypt?: ScryptParams;
}

const encryptionScrypt = 'scrypt-aes-256-gcm';
const saltLength = 16;
const nonceLength = 12;
const tagLength = 16;
const maxLines = 12;

/**
 * sealKeyFile formats a key file for `material` named `name`, encrypted under `passphrase` with
 * `options.scrypt` (default {@link defaultScryptParams}), or unencrypted when `passphrase` is
 * undefined. It throws `invalid-argument` for a bad name, an empty passphrase or scrypt
 * parameters outside {@link scryptLimits}, and `bad-key` when the material's private and public
 * keys do not match. The returned bytes contain the (possibly encrypted) secret.
 */
export async function sealKeyFile(
  material: PrivateKeyMaterial,
  name: string,
  passphrase: string | undefined,
  options: SealOptions = {},
): Promise<Uint8Array> {
  assertKeyName(name);
  const checked = importPrivateKey(material.keyType, material.pkcs8);
  if (!equalBytes(checked.publicKey, material.publicKey)) {
    throw new VouchError('bad-key', 'the private key does not match its public key');
  }
  const head = [keyFileMagic, `name: ${name}`, `type: ${material.keyType}`];
  head.push(`public-key: ${formatBase64(material.publicKey)}`);
  let body: Uint8Array;
  if (passphrase === undefined) {
    head.push('encryption: none');
    body = material.pkcs8;
  } else {
    if (passphrase === '') throw new VouchError('invalid-argument', 'the passphrase is empty');
    const params = options.scrypt ?? defaultScryptParams;
    if (!scryptParamsInBounds(params)) {
      throw new VouchError('invalid-argument', 'scrypt parameters are out of bounds');
    }
    const salt = plain(randomBytes(saltLength));
    const nonce = plain(randomBytes(nonceLength));
    head.push(
      `encryption: ${encryptionScrypt}`,
      `scrypt: log2n=${params.log2N} r=${params.r} p=${params.p}`,
      `salt: ${formatBase64(salt)}`,
      `nonce: ${formatBase64(nonce)}`,
    );
    const key = await deriveKey(passphrase, salt, params);
    try {
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: tagLength });
      cipher.setAAD(toBytes(`${head.join('\n')}\n`));
      body = concatBytes(cipher.update(material.pkcs8), cipher.final(), cipher.getAuthTag());
    } finally {
      key.fill(0);
    }
  }
  const signed = toBytes(`${head.join('\n')}\nprivate-key: ${formatBase64(body)}\n`);
  return concatBytes(signed, toBytes(`checksum: ${formatBase64(sha256(signed))}\n`));
}

/**
 * inspectKeyFile parses a key file without decrypting it and returns what its header says, or
 * throws `bad-key` saying what is wrong: empty, too large, foreign (PEM, binary), an unsupported
 * version, truncated, damaged (checksum), a malformed or misplaced field, or scrypt parameters
 * out of bounds. The public key it returns is not yet bound to the private key.
 */
export function inspectKeyFile(bytes: Uint8Array): KeyFileInfo {
  return parseKeyFile(bytes).info;
}

/**
 * openKeyFile parses and decrypts a key file and returns its name and private key. It throws
 * `bad-key` for everything {@link inspectKeyFile} refuses, for an encrypted file when
 * `passphrase` is undefined (details.encrypted is true), and for a private key that is not of
 * the header's type or does not match the header's public key; and `wrong-passphrase` when
 * decryption fails, which also happens if an authenticated header field was altered. The
 * passphrase is ignored for an unencrypted file.
 */
export async function openKeyFile(bytes: Uint8Array, passphrase: string | undefined): Promise<OpenedKeyFile> {
  const parsed = parseKeyFile(bytes);
  const { info } = parsed;
  let pkcs8: Uint8Array;
  if (info.scrypt === undefined) {
    pkcs8 = parsed.privateKey;
  } else {
    if (passphrase === undefined) {
      throw new VouchError('bad-key', 'the key file is encrypted and no passphrase was given', {
        key: info.name,
        encrypted: true,
      });
    }
    pkcs8 = await decrypt(parsed, info.scrypt, passphrase);
  }
  try {
    const material = importPrivateKey(info.keyType, pkcs8);
    if (!equalBytes(material.publicKey, info.publicKey)) {
      throw new VouchError('bad-key', 'the private key does not match the public key in the key file', {
        key: info.name,
      });
    }
    return Object.freeze({ name: info.name, material });
  } finally {
    pkcs8.fill(0); // importPrivateKey keeps its own copy
  }
}

interface ParsedKeyFile {
  readonly info: KeyFileInfo;
  /** header is the associated data: every byte before the `private-key` line. */
  readonly header: Uint8Array;
  readonly salt: Uint8Array;
  readonly nonce: Uint8Array;
  /** privateKey is the PKCS #8 DER, or the ciphertext with its tag when encrypted. */
  readonly privateKey: Uint8Array;
}

function parseKeyFile(bytes: Uint8Array): ParsedKeyFile {
  if (bytes.length === 0) throw badKey('the key file is empty');
  if (bytes.length > maxKeyFileSize) {
    throw new VouchError('bad-key', `not a Vouch key file (larger than ${maxKeyFileSize} bytes)`, {
      limit: maxKeyFileSize,
    });
  }
  checkMagic(bytes);
  if (bytes[bytes.length - 1] !== 0x0a) throw badKey('the key file is truncated');
  let text: string;
  try {
    text = toText(bytes);
  } catch {
    throw badKey('the key file is not valid UTF-8');
  }
  const lines = text.slice(0, -1).split('\n');
  if (lines.length > maxLines) throw badKey('the key file has too many lines');
  const last = lines.pop() ?? '';
  if (!last.startsWith('checksum: ')) throw badKey('the key file is truncated (no checksum line)');
  const signedLength = bytes.length - toBytes(last).length - 1;
  const signed = bytes.subarray(0, signedLength);
  const checksum = decodeField(last.slice('checksum: '.length), 'checksum', lines.length + 1);
  if (!equalBytes(checksum, sha256(signed))) throw badKey('the key file is damaged (checksum mismatch)');

  // The checksum matched, so from here on errors mean a file that was written wrongly or edited.
  const reader = new LineReader(lines);
  reader.next(); // the magic, checked above
  const name = reader.field('name');
  if (!isValidKeyName(name)) throw badKey('the key name is not valid', reader.where);
  const type = reader.field('type');
  if (!isKeyType(type)) throw badKey('the key type is not supported', reader.where);
  const publicKey = decodeField(reader.field('public-key'), 'public-key', reader.line);
  checkPublicKey(type, publicKey, reader.where);
  const encryption = reader.field('encryption');
  let scryptParams: ScryptParams | undefined;
  let salt: Uint8Array = new Uint8Array(0);
  let nonce: Uint8Array = new Uint8Array(0);
  if (encryption === encryptionScrypt) {
    scryptParams = parseScryptParams(reader.field('scrypt'), reader.where);
    salt = decodeField(reader.field('salt'), 'salt', reader.line, saltLength);
    nonce = decodeField(reader.field('nonce'), 'nonce', reader.line, nonceLength);
  } else if (encryption !== 'none') {
    throw badKey('the key file uses an unsupported encryption', reader.where);
  }
  const headerLength = toBytes(`${lines.slice(0, reader.line).join('\n')}\n`).length;
  const privateKey = decodeField(reader.field('private-key'), 'private-key', reader.line);
  if (scryptParams !== undefined && privateKey.length <= tagLength) {
    throw badKey('the encrypted private key is too short', reader.where);
  }
  if (!reader.done()) throw badKey('the key file has an unexpected line', `line ${reader.line + 1}`);
  const info: KeyFileInfo = Object.freeze({ name, keyType: type, publicKey, scrypt: scryptParams });
  return { info, header: bytes.subarray(0, headerLength), salt, nonce, privateKey };
}

const magicBytes = toBytes(`${keyFileMagic}\n`);

function checkMagic(bytes: Uint8Array): void {
  const head = bytes.subarray(0, magicBytes.length);
  if (equalBytes(head, magicBytes)) return;
  if (bytes.length < magicBytes.length && equalBytes(head, magicBytes.subarray(0, bytes.length))) {
    throw badKey('the key file is truncated');
  }
  if (equalBytes(bytes.subarray(0, magicBytes.length + 1), toBytes(`${keyFileMagic}\r\n`))) {
    throw badKey('the key file has CRLF line endings (it must use LF)');
  }
  if (equalBytes(head.subarray(0, 15), toBytes('vouch-key-file '))) {
    throw badKey('the key file has an unsupported version');
  }
  if (equalBytes(head.subarray(0, 11), toBytes('-----BEGIN '))) {
    throw badKey('not a Vouch key file (it is PEM; see vouch key --help)');
  }
  throw badKey('not a Vouch key file');
}

class LineReader {
  readonly #lines: readonly string[];
  line = 0;

  constructor(lines: readonly string[]) {
    this.#lines = lines;
  }

  get where(): string {
    return `line ${this.line}`;
  }

  next(): string | undefined {
    const text = this.#lines[this.line];
    if (text !== undefined) this.line++;
    return text;
  }

  /** field returns the value of the next line, which must be `<label>: <non-empty value>`. */
  field(label: string): string {
    const text = this.next();
    const prefix = `${label}: `;
    if (text === undefined || !text.startsWith(prefix) || text.length === prefix.length) {
      throw badKey(
        `the key file lacks the ${label} field here`,
        `line ${this.line + (text === undefined ? 1 : 0)}`,
      );
    }
    return text.slice(prefix.length);
  }

  done(): boolean {
    return this.line === this.#lines.length;
  }
}

function decodeField(value: string, label: string, line: number, length?: number): Uint8Array {
  let decoded: Uint8Array;
  try {
    decoded = parseBase64(value, label);
  } catch {
    throw badKey(`the ${label} field is not canonical base64`, `line ${line}`);
  }
  if (length !== undefined && decoded.length !== length) {
    throw badKey(`the ${label} field must be ${length} bytes`, `line ${line}`);
  }
  return decoded;
}

function checkPublicKey(keyType: KeyType, publicKey: Uint8Array, where: string): void {
  let spki: Uint8Array;
  try {
    spki = publicKeySpki(keyType, publicKey);
  } catch {
    throw badKey(`the public key is not a valid ${keyType} key`, where);
  }
  // An ECDSA public key is DER: only its canonical encoding is accepted.
  if (keyType === 'ecdsa-p256' && !equalBytes(spki, publicKey)) {
    throw badKey('the public key is not canonical DER', where);
  }
}

const smallDecimal = /^[1-9][0-9]{0,2}$/;

function parseScryptParams(value: string, where: string): ScryptParams {
  const match = /^log2n=([0-9]+) r=([0-9]+) p=([0-9]+)$/.exec(value);
  const [, log2N, r, p] = match ?? [];
  if (
    log2N === undefined ||
    r === undefined ||
    p === undefined ||
    ![log2N, r, p].every((v) => smallDecimal.test(v))
  ) {
    throw badKey('the scrypt field is malformed', where);
  }
  const params = { log2N: Number(log2N), r: Number(r), p: Number(p) };
  if (!scryptParamsInBounds(params)) throw badKey('the scrypt parameters are out of bounds', where);
  return Object.freeze(params);
}

function scryptParamsInBounds({ log2N, r, p }: ScryptParams): boolean {
  const limits = scryptLimits;
  if (![log2N, r, p].every(Number.isSafeInteger)) return false;
  if (log2N < limits.minLog2N || log2N > limits.maxLog2N) return false;
  if (r < 1 || r > limits.maxR || p < 1 || p > limits.maxP) return false;
  return 128 * 2 ** log2N * r * p <= limits.maxWork;
}

async function decrypt(parsed: ParsedKeyFile, params: ScryptParams, passphrase: string): Promise<Uint8Array> {
  const key = await deriveKey(passphrase, parsed.salt, params);
  const sealed = parsed.privateKey;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, parsed.nonce, { authTagLength: tagLength });
    decipher.setAAD(parsed.header);
    decipher.setAuthTag(sealed.subarray(sealed.length - tagLength));
    const head = decipher.update(sealed.subarray(0, sealed.length - tagLength));
    try {
      return concatBytes(head, decipher.final());
    } finally {
      head.fill(0);
    }
  } catch (cause) {
    throw new VouchError(
      'wrong-passphrase',
      'wrong passphrase for the key file (or its header was altered)',
      { key: parsed.info.name },
      { cause },
    );
  } finally {
    key.fill(0);
  }
}

function deriveKey(passphrase: string, salt: Uint8Array, { log2N, r, p }: ScryptParams): Promise<Uint8Array> {
  const N = 2 ** log2N;
  // OpenSSL needs 128·r·(N + p) bytes plus a little; bounded by scryptLimits.maxWork.
  const maxmem = 128 * r * (N + p + 2) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(toBytes(passphrase), salt, 32, { N, r, p, maxmem }, (error, key) => {
      if (error === null) resolve(plain(key));
      else reject(new VouchError('unavailable', 'scrypt failed', {}, { cause: error }));
    });
  });
}

function badKey(message: string, field?: string): VouchError {
  return new VouchError('bad-key', message, field === undefined ? {} : { field });
}

function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
