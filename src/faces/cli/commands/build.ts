/**
 * `vouch build RECIPE --source DIR --out DIR --key BUILDER_KEY`: run a recipe in the conveyer's
 * sandbox and write the deterministic archive, its manifest, the build logs and the signed SLSA
 * provenance into a new output folder. The work is services/conveyer's; this file only wires.
 */

import { join } from 'node:path';
import { parseDecimal } from '../../../core/bytes/index.ts';
import { VouchError } from '../../../core/errors.ts';
import { buildOutputNames, runBuild } from '../../../services/conveyer/build.ts';
import { parseCommandLine, required } from '../args.ts';
import type { CliIo, Command } from '../io.ts';
import { exitCodes } from '../io.ts';
import { loadSigner } from '../load-key.ts';
import { logFile, logTargetOf } from '../log-entry.ts';

/** defaultBuilderId is the builder id used when neither --builder-id nor VOUCH_BUILDER_ID is set. */
export const defaultBuilderId = 'https://vouch.example/builders/local';

const synopsis =
  'vouch build RECIPE --source DIR --out DIR --key BUILDER_KEY [--builder-id URI] [--source-date-epoch N] [--cas DIR] [--log URL --log-vkey VKEY]';

const usage = `Usage:
  ${synopsis}
      Build the JSON recipe RECIPE from the source folder DIR in a sandbox without network
      (bubblewrap when available; otherwise the build is labelled hermetic: false). Pinned inputs
      are read relative to the recipe's folder and checked against their SHA-256 first; inputs
      with a url are downloaded outside the sandbox into the content-addressed store --cas DIR
      (default: .vouch-cas beside --out), checked before use, and reused from there later.
      Progress (inputs, each step's start and elapsed time) goes to stderr.
      SOURCE_DATE_EPOCH is the commit time when DIR is a git repository, else --source-date-epoch.
      --out must not exist; on success it holds NAME-VERSION.tar.gz, ${buildOutputNames.manifest},
      ${buildOutputNames.provenance} (an in-toto SLSA v1 statement in a DSSE envelope signed by
      BUILDER_KEY after the sandbox exited) and ${buildOutputNames.logs}/. A failing build leaves no --out.
      --builder-id names the building site (default: $VOUCH_BUILDER_ID or ${defaultBuilderId}).
      With --log, the signed provenance is appended to that release log, and the entry's
      inclusion proof, checked under a checkpoint signed by --log-vkey, is written next to it as
      ${buildOutputNames.provenance}.tlog-proof (C2SP tlog-proof) for offline verification.
`;

async function build(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'build',
    synopsis,
    args,
    {
      source: { type: 'string' },
      out: { type: 'string' },
      key: { type: 'string' },
      'builder-id': { type: 'string' },
      'source-date-epoch': { type: 'string' },
      cas: { type: 'string' },
      log: { type: 'string' },
      'log-vkey': { type: 'string' },
    },
    true,
  );
  if (values.help === true) {
    io.stdout(usage);
    return exitCodes.ok;
  }
  const [recipePath, ...extra] = positionals;
  if (recipePath === undefined || extra.length > 0) {
    throw new VouchError('invalid-argument', `build: give exactly one RECIPE (usage: ${synopsis})`);
  }
  const sourceDir = required('build', synopsis, values.source, '--source');
  const outDir = required('build', synopsis, values.out, '--out');
  const keyPath = required('build', synopsis, values.key, '--key');
  const epochText = values['source-date-epoch'];
  const sourceDateEpoch = typeof epochText === 'string' ? toEpoch(epochText) : undefined;
  const builderId =
    typeof values['builder-id'] === 'string'
      ? values['builder-id']
      : (io.env['VOUCH_BUILDER_ID'] ?? defaultBuilderId);
  const logTarget = logTargetOf('build', synopsis, values);
  const signer = await loadSigner(keyPath, io);
  const result = await runBuild({
    recipePath,
    sourceDir,
    outDir,
    signer,
    builderId,
    ...(sourceDateEpoch === undefined ? {} : { sourceDateEpoch }),
    ...(typeof values.cas === 'string' ? { casDir: values.cas } : {}),
    onProgress: (line) => io.stderr(`vouch build: ${line}\n`),
  });
  io.stdout(`archive ${result.archiveName} sha256:${result.archiveSha256}\n`);
  for (const entry of result.manifest) io.stdout(`file ${entry.mode} ${entry.path} sha256:${entry.sha256}\n`);
  io.stdout(`tree ${result.treeHash}\n`);
  if (result.commit !== undefined) io.stdout(`commit ${result.commit}\n`);
  io.stdout(`hermetic ${result.hermetic}\n`);
  if (logTarget !== undefined) await logFile(logTarget, join(outDir, buildOutputNames.provenance), io);
  return exitCodes.ok;
}

function toEpoch(text: string): number {
  let value: bigint;
  try {
    value = parseDecimal(text, '--source-date-epoch');
  } catch (cause) {
    throw new VouchError(
      'invalid-argument',
      'build: --source-date-epoch is not a decimal number',
      {},
      { cause },
    );
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VouchError('invalid-argument', 'build: --source-date-epoch is too large');
  }
  return Number(value);
}

/** buildCommand is `vouch build`. */
export const buildCommand: Command = {
  name: 'build',
  summary: 'build a recipe in the sandbox and sign its provenance',
  usage,
  run: build,
};
