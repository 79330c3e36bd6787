/**
 * `vouch rebuild --provenance FILE --builder-vkey VKEY --key REBUILDER_KEY --source DIR [--out DIR]`:
 * rebuild a conveyer build independently from its signed provenance and sign a rebuild
 * attestation (match, or mismatch naming the differing files). The work is services/conveyer's
 * (rebuild.ts); this file only wires. Builder keys are C2SP signed-note vkeys, as `vouch key
 * show` prints them; without one the provenance is not trusted and nothing is rebuilt.
 */

import type { EnvelopeVerifier } from '../../../core/attest/index.ts';
import { createVerifier, type KeyType } from '../../../core/crypto/index.ts';
import { VouchError } from '../../../core/errors.ts';
import { parseVerifierKey, signatureTypes } from '../../../core/note/keys.ts';
import { rebuildAttestationName, runRebuild } from '../../../services/conveyer/rebuild.ts';
import { parseCommandLine, repeated, required } from '../args.ts';
import type { CliIo, Command } from '../io.ts';
import { exitCodes } from '../io.ts';
import { loadSigner } from '../load-key.ts';
import { logFile, logTargetOf } from '../log-entry.ts';

/** defaultRebuilderId is the rebuilder id used when neither --rebuilder-id nor VOUCH_REBUILDER_ID is set. */
export const defaultRebuilderId = 'https://vouch.example/rebuilders/local';

const synopsis =
  'vouch rebuild --provenance FILE --builder-vkey VKEY [--builder-vkey VKEY...] --key REBUILDER_KEY --source DIR [--out DIR] [--cas DIR] [--rebuilder-id URI] [--log URL --log-vkey VKEY]';

const usage = `Usage:
  ${synopsis}
      Verify the DSSE provenance FILE (written by vouch build) with the builder's verifier key
      VKEY (as printed by vouch key show; any one given key must have signed it), check that the
      source folder DIR has the recorded tree hash and that its recipe has the recorded digest,
      rebuild it in this host's sandbox and compare the SHA-256 of every output and the archive.
      The verdict is signed with REBUILDER_KEY as an in-toto statement in DSSE, written to
      OUT/${rebuildAttestationName} (OUT must not exist; default: a new temporary folder, printed).
      Prints "match", or "mismatch" and one "differs NAME expected SHA256 actual SHA256" line per
      differing file ("-" for a side without the file). Exit status: 0 match, 1 mismatch.
      Inputs with a url are fetched again from the recorded URLs, or taken from the
      content-addressed store --cas DIR (default: .vouch-cas beside OUT) after re-checking them.
      --rebuilder-id names the rebuilder (default: $VOUCH_REBUILDER_ID or ${defaultRebuilderId}).
      With --log, the signed attestation (match or mismatch) is appended to that release log and its
      inclusion proof, checked under a checkpoint signed by --log-vkey, is written beside it.
`;

async function rebuild(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('rebuild', synopsis, args, {
    provenance: { type: 'string' },
    'builder-vkey': { type: 'string', multiple: true },
    key: { type: 'string' },
    source: { type: 'string' },
    out: { type: 'string' },
    cas: { type: 'string' },
    'rebuilder-id': { type: 'string' },
    log: { type: 'string' },
    'log-vkey': { type: 'string' },
  });
  if (values.help === true) {
    io.stdout(usage);
    return exitCodes.ok;
  }
  const provenancePath = required('rebuild', synopsis, values.provenance, '--provenance');
  const vkeys = repeated('rebuild', synopsis, values['builder-vkey'], '--builder-vkey');
  const keyPath = required('rebuild', synopsis, values.key, '--key');
  const sourceDir = required('rebuild', synopsis, values.source, '--source');
  const outDir = typeof values.out === 'string' ? values.out : undefined;
  const rebuilderId =
    typeof values['rebuilder-id'] === 'string'
      ? values['rebuilder-id']
      : (io.env['VOUCH_REBUILDER_ID'] ?? defaultRebuilderId);
  const builderKeys = vkeys.map(toEnvelopeVerifier);
  const logTarget = logTargetOf('rebuild', synopsis, values);
  const signer = await loadSigner(keyPath, io);
  const result = await runRebuild({
    provenancePath,
    builderKeys,
    sourceDir,
    ...(outDir === undefined ? {} : { outDir }),
    ...(typeof values.cas === 'string' ? { casDir: values.cas } : {}),
    signer,
    rebuilderId,
    onProgress: (line) => io.stderr(`vouch rebuild: ${line}\n`),
  });
  io.stdout(`${result.result}\n`);
  for (const d of result.differences) {
    io.stdout(`differs ${d.name} expected ${d.expected ?? '-'} actual ${d.actual ?? '-'}\n`);
  }
  io.stdout(`attestation ${result.attestationPath}\n`);
  io.stdout(`hermetic ${result.hermetic}\n`);
  if (logTarget !== undefined) await logFile(logTarget, result.attestationPath, io);
  return result.result === 'match' ? exitCodes.ok : exitCodes.verificationFailed;
}

function toEnvelopeVerifier(vkey: string): EnvelopeVerifier {
  const key = parseVerifierKey(vkey);
  const keyType: KeyType | undefined =
    key.type === signatureTypes.ed25519
      ? 'ed25519'
      : key.type === signatureTypes.ecdsa
        ? 'ecdsa-p256'
        : key.type === signatureTypes.mlDsa44Cosignature
          ? 'ml-dsa-44'
          : undefined;
  if (keyType === undefined) {
    throw new VouchError('bad-key', 'rebuild: --builder-vkey is not a signing key type vouch build uses');
  }
  return createVerifier(keyType, key.publicKey);
}

/** rebuildCommand is `vouch rebuild`. */
export const rebuildCommand: Command = {
  name: 'rebuild',
  summary: 'rebuild a build from its provenance and sign whether it matched',
  usage,
  run: rebuild,
};
