/**
 * The in-toto Attestation Framework v1 field types that statements and predicates share:
 * ResourceDescriptor, DigestSet and the URI fields (https://github.com/in-toto/attestation,
 * spec/v1/resource_descriptor.md, digest_set.md and field_types.md, v1.1).
 *
 * Validation is strict where the spec says MUST and fail-closed where it leaves room: the named
 * standard digest algorithms must be lowercase hex of their algorithm's length, URIs must have a
 * lowercase scheme and authority (field_types.md "MUST be case normalized"), `content` must be
 * base64, and a descriptor needs one of `uri`, `digest` or `content`. Digest entries under
 * algorithms the spec does not name are kept as strings but ignored when matching, as the spec
 * requires of "unrecognized or unaccepted algorithms"; which named algorithms count as secure is
 * the caller's choice, defaulting to SHA-256 and stronger (never `sha1` or `md5`). An optional
 * field set to `null` reads as unset (protobuf JSON). Unknown fields are dropped.
 */

import { formatBase64 } from '../bytes/index.ts';
import { type FieldPath, isJsonObject, type JsonObject, type JsonValue } from '../json/index.ts';
import { parseAnyBase64 } from './base64.ts';
import type { FieldProblems } from './fields.ts';

/** DigestSet maps a digest algorithm name to its encoded value, e.g. `{ sha256: '<hex>' }`. */
export type DigestSet = { readonly [algorithm: string]: string };

/** ResourceDescriptor describes one artifact or resource; at least one of uri, digest, content is set. */
export interface ResourceDescriptor {
  readonly name?: string;
  readonly uri?: string;
  readonly digest?: DigestSet;
  readonly content?: Uint8Array;
  readonly downloadLocation?: string;
  readonly mediaType?: string;
  readonly annotations?: JsonObject;
}

// Hex lengths of the algorithms digest_set.md names; git objects may use SHA-1 or SHA-256.
const hexLengths: { readonly [algorithm: string]: readonly number[] } = {
  sha256: [64],
  sha224: [56],
  sha384: [96],
  sha512: [128],
  sha512_224: [56],
  sha512_256: [64],
  sha3_224: [56],
  sha3_256: [64],
  sha3_384: [96],
  sha3_512: [128],
  sha1: [40],
  md5: [32],
  ripemd160: [40],
  sm3: [64],
  dirHash: [64],
  dirHash1: [64],
  gitCommit: [40, 64],
  gitTree: [40, 64],
  gitBlob: [40, 64],
  gitTag: [40, 64],
};
// Named algorithms whose output length is a parameter: any non-empty even-length lowercase hex.
const variableLength = new Set(['shake128', 'shake256', 'blake2b', 'blake2s', 'gost']);

/** defaultAcceptedDigests are the algorithms matched unless the caller says otherwise. */
export const defaultAcceptedDigests: readonly string[] = Object.freeze([
  'sha256',
  'sha384',
  'sha512',
  'sha512_256',
  'sha3_256',
  'sha3_384',
  'sha3_512',
]);

/**
 * digestSetsMatch reports whether two digest sets name the same content: they share at least one
 * accepted algorithm and agree on every accepted algorithm they share (a disagreement on any
 * shared accepted algorithm is a mismatch, never outvoted by another that agrees).
 */
export function digestSetsMatch(
  a: DigestSet,
  b: DigestSet,
  accepted: readonly string[] = defaultAcceptedDigests,
): boolean {
  let shared = 0;
  for (const algorithm of accepted) {
    if (!Object.hasOwn(a, algorithm) || !Object.hasOwn(b, algorithm)) continue;
    if (a[algorithm] !== b[algorithm]) return false;
    shared++;
  }
  return shared > 0;
}

/**
 * uriProblem returns why `text` is not a case-normalized absolute URI (ASCII without spaces,
 * lowercase scheme and authority), or undefined when it is.
 */
export function uriProblem(text: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?[\x21-\x7e]*$/.exec(text);
  if (match === null) return 'not an absolute URI';
  const [, scheme = '', authority = ''] = match;
  if (scheme !== scheme.toLowerCase()) return 'URI scheme is not lowercase';
  if (authority !== authority.toLowerCase()) return 'URI authority is not lowercase';
  return undefined;
}

/**
 * readDescriptor validates a ResourceDescriptor at `path`, recording every problem, and returns
 * it frozen, or undefined when a problem was found. `requireDigest` adds the Statement rule
 * that each subject has a non-empty `digest`.
 */
export function readDescriptor(
  value: JsonValue | undefined,
  path: FieldPath,
  problems: FieldProblems,
  requireDigest: boolean,
): ResourceDescriptor | undefined {
  if (!isJsonObject(value)) {
    problems.add(path, 'not an object');
    return undefined;
  }
  const before = problems.count;
  const out: {
    name?: string;
    uri?: string;
    digest?: DigestSet;
    content?: Uint8Array;
    downloadLocation?: string;
    mediaType?: string;
    annotations?: JsonObject;
  } = {};
  for (const key of ['name', 'uri', 'downloadLocation', 'mediaType'] as const) {
    const field = value[key];
    if (field === undefined || field === null) continue;
    if (typeof field !== 'string') {
      problems.add([...path, key], 'not a string');
      continue;
    }
    const bad = key === 'uri' || key === 'downloadLocation' ? uriProblem(field) : undefined;
    if (bad !== undefined) problems.add([...path, key], bad);
    else out[key] = field;
  }
  const digest = value['digest'];
  if (digest !== undefined && digest !== null)
    out.digest = readDigestSet(digest, [...path, 'digest'], problems);
  else if (requireDigest) problems.add([...path, 'digest'], 'missing');
  const content = value['content'];
  if (typeof content === 'string') {
    try {
      out.content = parseAnyBase64(content, '');
    } catch {
      problems.add([...path, 'content'], 'not base64');
    }
  } else if (content !== undefined && content !== null) {
    problems.add([...path, 'content'], 'not a string');
  }
  const annotations = value['annotations'];
  if (isJsonObject(annotations)) out.annotations = annotations;
  else if (annotations !== undefined && annotations !== null)
    problems.add([...path, 'annotations'], 'not an object');
  if (problems.count > before) return undefined;
  if (out.uri === undefined && out.digest === undefined && out.content === undefined) {
    problems.add(path, 'has none of uri, digest, content');
    return undefined;
  }
  return Object.freeze(out);
}

function readDigestSet(value: JsonValue, path: FieldPath, problems: FieldProblems): DigestSet | undefined {
  if (!isJsonObject(value)) {
    problems.add(path, 'not an object');
    return undefined;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) problems.add(path, 'is empty');
  const out: Record<string, string> = Object.create(null); // algorithm names are untrusted keys
  for (const algorithm of keys) {
    const digest = value[algorithm];
    if (typeof digest !== 'string') {
      problems.add([...path, algorithm], 'not a string');
      continue;
    }
    const lengths = Object.hasOwn(hexLengths, algorithm) ? hexLengths[algorithm] : undefined;
    const hex = /^(?:[0-9a-f]{2})+$/.test(digest);
    if (lengths !== undefined && !(hex && lengths.includes(digest.length))) {
      problems.add([...path, algorithm], `not ${lengths.join(' or ')} lowercase hex digits`);
    } else if (variableLength.has(algorithm) && !hex) {
      problems.add([...path, algorithm], 'not lowercase hex');
    } else {
      out[algorithm] = digest;
    }
  }
  return Object.freeze(out);
}

/** descriptorToJson returns the JSON form of a descriptor (content as padded standard base64). */
export function descriptorToJson(descriptor: ResourceDescriptor): JsonObject {
  const out: Record<string, JsonValue> = {};
  if (descriptor.name !== undefined) out['name'] = descriptor.name;
  if (descriptor.uri !== undefined) out['uri'] = descriptor.uri;
  if (descriptor.digest !== undefined) out['digest'] = { ...descriptor.digest };
  if (descriptor.content !== undefined) out['content'] = formatBase64(descriptor.content);
  if (descriptor.downloadLocation !== undefined) out['downloadLocation'] = descriptor.downloadLocation;
  if (descriptor.mediaType !== undefined) out['mediaType'] = descriptor.mediaType;
  if (descriptor.annotations !== undefined) out['annotations'] = descriptor.annotations;
  return out;
}
