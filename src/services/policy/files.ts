/**
 * Reading a policy folder: `default.cedar` (the policy set) and `vouch.cedarschema` (its schema),
 * as exact bytes so the policy digest equals `sha256sum default.cedar`. The repository's own
 * folder, `policies/` at its root, is the default; a site configuration may name another.
 * Reading does not validate: {@link PolicyEngine.load} does.
 */

import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VouchError } from '../../core/errors.ts';
import { maxPolicyBytes, PolicyEngine, type PolicySources } from './decide.ts';

/** defaultPolicyDir is the repository's `policies/` folder (the same path from src/ and from dist/). */
export const defaultPolicyDir: string = fileURLToPath(new URL('../../../policies/', import.meta.url));

/** policyFileName and schemaFileName are the files of a policy folder. */
export const policyFileName = 'default.cedar';
export const schemaFileName = 'vouch.cedarschema';

async function readBounded(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r').catch((error: unknown) => {
    throw new VouchError('not-found', `cannot open policy file ${path}`, { key: path }, { cause: error });
  });
  try {
    const size = (await file.stat()).size;
    if (size > maxPolicyBytes) {
      throw new VouchError('too-large', `policy file ${path} is larger than ${maxPolicyBytes} bytes`, {
        key: path,
        limit: maxPolicyBytes,
      });
    }
    const bytes = new Uint8Array(size);
    const { bytesRead } = await file.read(bytes, 0, size, 0);
    if (bytesRead !== size)
      throw new VouchError('unavailable', `policy file ${path} changed while being read`);
    return bytes;
  } finally {
    await file.close();
  }
}

/** readPolicyFiles reads a policy folder's policy set and schema as exact bytes. */
export async function readPolicyFiles(dir: string = defaultPolicyDir): Promise<PolicySources> {
  const [policiesText, schemaText] = await Promise.all([
    readBounded(join(dir, policyFileName)),
    readBounded(join(dir, schemaFileName)),
  ]);
  return { policiesText, schemaText };
}

/** loadPolicyFolder reads and loads a policy folder; see {@link PolicyEngine.load} for what is refused. */
export async function loadPolicyFolder(dir: string = defaultPolicyDir): Promise<PolicyEngine> {
  return PolicyEngine.load(await readPolicyFiles(dir));
}
