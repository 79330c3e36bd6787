/**
 * `vouch sigstore`: a release as a Sigstore bundle v0.3 that sigstore-js verifies (docs/sigstore.md).
 *
 *  - `body` makes the Rekor dsse/0.0.1 entry body of a signed envelope (the provenance) — what a
 *    Sigstore-exportable release logs — and, with `--log`, appends it to the release log and
 *    writes `BODY.tlog-proof`, as `vouch build --log` does for the envelope itself;
 *  - `export` assembles the bundle from the envelope, the body and its tlog-proof, checked with our
 *    own verifier before it is written, and optionally writes trusted_root.json for the log;
 *  - `verify` checks a bundle with our verifier (never sigstore-js) and prints what it proves.
 *
 * Keys are signed-note vkeys: the release signer's (as `vouch key show` prints it; Ed25519 or
 * ECDSA P-256) and the release log's (Ed25519). The work is core/attest/sigstore.ts's; this file
 * only wires.
 */

import { defaultEnvelopeLimits, parseEnvelope } from '../../../core/attest/dsse.ts';
import {
  buildSigstoreBundle,
  buildTrustedRoot,
  maxBundleBytes,
  maxRekorBodyBytes,
  rekorDsseBody,
  verifySigstoreBundle,
} from '../../../core/attest/sigstore.ts';
import { formatHex } from '../../../core/bytes/index.ts';
import { createVerifier, sha256, type Verifier } from '../../../core/crypto/index.ts';
import { VouchError } from '../../../core/errors.ts';
import { parseVerifierKey, signatureTypes } from '../../../core/note/index.ts';
import { createCheckpointVerifier } from '../../../core/tlog/cosignature.ts';
import { maxTlogProofBytes } from '../../../core/tlog/proof.ts';
import { writeFileDurable } from '../../../storage/fs/durable.ts';
import { parseCommandLine, required } from '../args.ts';
import type { CliIo, Command } from '../io.ts';
import { exitCodes, readInput, runSubcommand } from '../io.ts';
import { logFile, logTargetOf } from '../log-entry.ts';

const bodySynopsis =
  'vouch sigstore body --envelope FILE --signer-vkey VKEY [--out FILE] [--log URL --log-vkey VKEY]';
const exportSynopsis =
  'vouch sigstore export --envelope FILE --body FILE [--proof FILE] --signer-vkey VKEY --log-vkey VKEY [--key-hint HINT] --out BUNDLE [--trusted-root FILE [--base-url URL] [--valid-from TIME]]';
const verifySynopsis =
  'vouch sigstore verify --bundle FILE --signer-vkey VKEY --log-vkey VKEY [--payload-type TYPE] [--payload-out FILE]';

const usage = `Usage:
  ${bodySynopsis}
      Write the Rekor dsse/0.0.1 entry body of the DSSE envelope FILE (one signature, by the key
      VKEY, which is checked) to --out (default FILE.rekor.json). This body, not the envelope, is
      the log entry a Sigstore verifier accepts; it commits to the envelope's SHA-256. With --log,
      append it to the release log at URL and write OUT.tlog-proof, checked under a checkpoint
      signed by --log-vkey.
  ${exportSynopsis}
      Write the Sigstore bundle v0.3 of the envelope, its logged body and the body's C2SP
      tlog-proof (default BODY.tlog-proof) to BUNDLE. The bundle is verified before it is written,
      so a body, proof or key that does not belong is refused. --key-hint is the bundle's
      public-key hint (default: the envelope signature's keyid, which it must equal). With
      --trusted-root, also write trusted_root.json naming the log: --base-url must contain the
      log key name (default https://NAME); --valid-from is when the log key came into use
      (RFC 3339 UTC, default now). Verify with @sigstore/verify, the signer key by hint and
      timestampThreshold 0 (docs/sigstore.md).
  ${verifySynopsis}
      Verify a bundle with Vouch's own verifier: the DSSE signature by VKEY, the log entry binding
      that envelope and key, and its inclusion under a checkpoint signed by the log key. Prints one
      JSON line {"origin","index","size","payloadType","payloadSha256","keyHint"}; --payload-out
      writes the verified payload. Witness cosignatures are not checked here (use vouch log
      check-proof --policy on the proof).
`;

async function body(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('sigstore body', bodySynopsis, args, {
    envelope: { type: 'string' },
    'signer-vkey': { type: 'string' },
    out: { type: 'string' },
    log: { type: 'string' },
    'log-vkey': { type: 'string' },
  });
  if (values.help === true) return help(io);
  const envelopePath = required('sigstore body', bodySynopsis, values.envelope, '--envelope');
  const signer = signerOf(required('sigstore body', bodySynopsis, values['signer-vkey'], '--signer-vkey'));
  const logTarget = logTargetOf('sigstore body', bodySynopsis, values);
  const out = typeof values.out === 'string' && values.out !== '' ? values.out : `${envelopePath}.rekor.json`;
  const envelope = parseEnvelope(await readInput(envelopePath, io, defaultEnvelopeLimits.maxBytes));
  const entry = rekorDsseBody(envelope, signer);
  await writeFileDurable(out, entry, { mode: 0o644 });
  io.stdout(`body ${out} sha256 ${formatHex(sha256(entry))}\n`);
  if (logTarget !== undefined) await logFile(logTarget, out, io);
  return exitCodes.ok;
}

async function exportBundle(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('sigstore export', exportSynopsis, args, {
    envelope: { type: 'string' },
    body: { type: 'string' },
    proof: { type: 'string' },
    'signer-vkey': { type: 'string' },
    'log-vkey': { type: 'string' },
    'key-hint': { type: 'string' },
    out: { type: 'string' },
    'trusted-root': { type: 'string' },
    'base-url': { type: 'string' },
    'valid-from': { type: 'string' },
  });
  if (values.help === true) return help(io);
  const need = (value: unknown, flag: string): string =>
    required('sigstore export', exportSynopsis, value, flag);
  const envelopePath = need(values.envelope, '--envelope');
  const bodyPath = need(values.body, '--body');
  const signer = signerOf(need(values['signer-vkey'], '--signer-vkey'));
  const logVkey = logKeyOf(need(values['log-vkey'], '--log-vkey'));
  const out = need(values.out, '--out');
  const proofPath =
    typeof values.proof === 'string' && values.proof !== '' ? values.proof : `${bodyPath}.tlog-proof`;
  const rootPath = typeof values['trusted-root'] === 'string' ? values['trusted-root'] : undefined;
  if (rootPath === undefined && (values['base-url'] !== undefined || values['valid-from'] !== undefined)) {
    throw new VouchError(
      'invalid-argument',
      `sigstore export: --base-url and --valid-from need --trusted-root (usage: ${exportSynopsis})`,
    );
  }
  const bundle = buildSigstoreBundle({
    envelope: parseEnvelope(await readInput(envelopePath, io, defaultEnvelopeLimits.maxBytes)),
    body: await readInput(bodyPath, io, maxRekorBodyBytes),
    proof: await readInput(proofPath, io, maxTlogProofBytes),
    logKey: logVkey,
    signer,
    ...(typeof values['key-hint'] === 'string' ? { keyHint: values['key-hint'] } : {}),
  });
  // Built before anything is written: a bad --base-url or --valid-from leaves no half export.
  const trustedRoot =
    rootPath === undefined
      ? undefined
      : buildTrustedRoot({
          logKey: logVkey,
          validFrom:
            typeof values['valid-from'] === 'string'
              ? values['valid-from']
              : new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          ...(typeof values['base-url'] === 'string' ? { baseUrl: values['base-url'] } : {}),
        });
  await writeFileDurable(out, bundle, { mode: 0o644 });
  io.stdout(`bundle ${out}\n`);
  if (rootPath !== undefined && trustedRoot !== undefined) {
    await writeFileDurable(rootPath, trustedRoot, { mode: 0o644 });
    io.stdout(`trusted-root ${rootPath}\n`);
  }
  return exitCodes.ok;
}

async function verify(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('sigstore verify', verifySynopsis, args, {
    bundle: { type: 'string' },
    'signer-vkey': { type: 'string' },
    'log-vkey': { type: 'string' },
    'payload-type': { type: 'string' },
    'payload-out': { type: 'string' },
  });
  if (values.help === true) return help(io);
  const need = (value: unknown, flag: string): string =>
    required('sigstore verify', verifySynopsis, value, flag);
  const bundlePath = need(values.bundle, '--bundle');
  const signer = signerOf(need(values['signer-vkey'], '--signer-vkey'));
  const logVkey = logKeyOf(need(values['log-vkey'], '--log-vkey'));
  const verified = verifySigstoreBundle(await readInput(bundlePath, io, maxBundleBytes), {
    logKey: logVkey,
    signer,
    ...(typeof values['payload-type'] === 'string' ? { payloadType: values['payload-type'] } : {}),
  });
  if (typeof values['payload-out'] === 'string' && values['payload-out'] !== '') {
    await writeFileDurable(values['payload-out'], verified.payload, { mode: 0o644 });
  }
  io.stdout(
    `${JSON.stringify({
      origin: verified.checkpoint.origin,
      index: verified.logIndex.toString(),
      size: verified.checkpoint.size.toString(),
      payloadType: verified.payloadType,
      payloadSha256: formatHex(sha256(verified.payload)),
      keyHint: verified.keyHint,
    })}\n`,
  );
  return exitCodes.ok;
}

function help(io: CliIo): number {
  io.stdout(usage);
  return exitCodes.ok;
}

/** signerOf reads the release signer's vkey: Ed25519 (type 0x01) or ECDSA P-256 (type 0x02). */
function signerOf(vkey: string): Verifier {
  const key = parseVerifierKey(vkey);
  if (key.type === signatureTypes.ed25519) return createVerifier('ed25519', key.publicKey);
  if (key.type === signatureTypes.ecdsa) return createVerifier('ecdsa-p256', key.publicKey);
  throw new VouchError(
    'bad-key',
    '--signer-vkey must be an Ed25519 or ECDSA P-256 key for a Sigstore bundle',
    {
      key: key.name,
    },
  );
}

/** logKeyOf checks the release log's vkey now, so a bad key fails before any file is read. */
function logKeyOf(vkey: string): string {
  createCheckpointVerifier(vkey);
  return vkey;
}

/** sigstoreCommand is `vouch sigstore`. */
export const sigstoreCommand: Command = {
  name: 'sigstore',
  summary: 'export a logged release as a Sigstore bundle and verify one',
  usage,
  run: (args, io) => runSubcommand(args, io, usage, { body, export: exportBundle, verify }),
};
