/**
 * The demo's two attackers, made with Vouch's own core so they hold real keys: a coerced log
 * operator who signs another history of the same size ({@link forgeHistory}), and a rogue mirror
 * holding the stolen online keys that serves a release the approver never signed
 * ({@link forgeRogueMirror}). Both only write files in the data folder; the story then shows
 * that the witnesses, the monitor and the agents refuse what they made.
 */

import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toBytes } from '../../../core/bytes/index.ts';
import { createSigner, type Signer } from '../../../core/crypto/index.ts';
import { openKeyFile } from '../../../core/crypto/keyfile.ts';
import { createNoteSigner, signNote } from '../../../core/note/index.ts';
import { formatCheckpoint } from '../../../core/tlog/checkpoint.ts';
import { formatMetadata, snapshotSigned, timestampSigned } from '../../../core/tuf/metadata.ts';
import { signMetadata } from '../../../core/tuf/sign.ts';
import { emptyLogEdge, integrate } from '../../../services/log/integrate.ts';
import { FsBlobStore } from '../../../storage/fs/blob.ts';

/** signerOf opens an unencrypted key file of the demo as a signer named `name`. */
async function signerOf(file: string, name: string): Promise<Signer> {
  const opened = await openKeyFile(new Uint8Array(readFileSync(file)), undefined);
  return createSigner(name, opened.material);
}

/**
 * forgeHistory writes, in `folder`, a log whose tree differs from the real one at entry 1, signed
 * with the real log key (`keyFile`), and returns its checkpoint note.
 */
export async function forgeHistory(
  folder: string,
  keyFile: string,
  origin: string,
  releases: readonly string[],
): Promise<Uint8Array> {
  const signer = createNoteSigner(await signerOf(keyFile, origin));
  const entries = releases.map((v, i) =>
    toBytes(i === 1 ? 'a targeted update for one customer\n' : `vouch release ${v}\n`),
  );
  const result = integrate(emptyLogEdge(), entries);
  const files = new FsBlobStore(folder);
  for (const file of result.files) await files.put(file.path, file.data);
  const note = await signNote(
    formatCheckpoint({ origin, size: BigInt(entries.length), root: result.root, extensions: [] }),
    [signer],
  );
  await files.publish('checkpoint', note);
  return note;
}

/**
 * forgeRogueMirror copies the repository folder `repo` to `mirror` and makes its public folder
 * serve the pending targets (signed by the vendor alone) under new snapshot and timestamp
 * versions signed with the online keys from `keys` (the data folder).
 */
export async function forgeRogueMirror(keys: string, repo: string, mirror: string): Promise<void> {
  cpSync(repo, mirror, { recursive: true });
  const pub = join(mirror, 'public');
  const pending = new Uint8Array(readFileSync(join(repo, 'pending', 'targets.json')));
  const targetsVersion = (JSON.parse(new TextDecoder().decode(pending)) as { signed: { version: number } })
    .signed.version;
  writeFileSync(join(pub, `${targetsVersion}.targets.json`), pending);
  const describe = (bytes: Uint8Array) => ({
    length: bytes.length,
    hashes: { sha256: createHash('sha256').update(bytes).digest('hex') },
  });
  const snapshotVersion =
    Math.max(
      ...readdirSync(pub)
        .map((n) => /^([0-9]+)\.snapshot\.json$/.exec(n)?.[1])
        .filter((v) => v !== undefined)
        .map(Number),
    ) + 1;
  const expires = Math.floor(Date.now() / 1000) + 86_400;
  const snapshotBody = snapshotSigned({
    version: snapshotVersion,
    expires,
    meta: { 'targets.json': { version: targetsVersion, ...describe(pending) } },
  });
  const snapshot = formatMetadata(
    snapshotBody,
    await signMetadata(snapshotBody, [await signerOf(join(keys, 'snapshot.key'), 'snapshot.vouch.example')]),
  );
  writeFileSync(join(pub, `${snapshotVersion}.snapshot.json`), snapshot);
  const timestampVersion =
    (JSON.parse(readFileSync(join(pub, 'timestamp.json'), 'utf8')) as { signed: { version: number } }).signed
      .version + 1;
  const timestampBody = timestampSigned({
    version: timestampVersion,
    expires,
    snapshot: { version: snapshotVersion, ...describe(snapshot) },
  });
  writeFileSync(
    join(pub, 'timestamp.json'),
    formatMetadata(
      timestampBody,
      await signMetadata(timestampBody, [
        await signerOf(join(keys, 'timestamp.key'), 'timestamp.vouch.example'),
      ]),
    ),
  );
}
