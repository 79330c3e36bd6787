/**
 * The conveyer's independent rebuild: read a build's signed SLSA provenance, check it with the
 * builder's public key, check that the given source folder and its recipe are the ones the
 * provenance names (tree hash, recipe digest), rebuild with {@link runBuild} in this host's own
 * sandbox, compare every subject's SHA-256, and sign a rebuild attestation
 * (core/build/attestation.ts) with the rebuilder's key. The rebuild folder holds the rebuilt
 * outputs, the rebuilder's own provenance and `rebuild.dsse.json`.
 *
 * Crash story: the rebuild itself commits as {@link runBuild} does (the output folder appears
 * complete or not at all); the attestation is written durably into it afterwards, so a crash
 * between the two leaves a rebuild folder without `rebuild.dsse.json`, which judges nothing.
 *
 * LIMIT: the source is a local folder given by the caller, not fetched from the provenance's
 * URI or commit (remote inputs are: the recipe, checked against its recorded digest, names their
 * URLs and pins, so they are fetched again or taken from the store and re-checked); the recipe is read from that folder at the path the provenance records relative
 * to the recorded source folder. diffoscope reports are not produced yet (the original outputs
 * are not at hand here; only their digests are).
 */

import { mkdtemp, readFile, realpath, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import {
  defaultEnvelopeLimits,
  type Envelope,
  type EnvelopeVerifier,
  formatEnvelope,
  openStatement,
  parseEnvelope,
  signStatement,
} from '../../core/attest/index.ts';
import {
  buildRebuildAttestation,
  compareSubjects,
  type RebuildDifference,
  type RebuildVerdict,
} from '../../core/build/attestation.ts';
import { type Provenance, parseProvenance } from '../../core/build/provenance.ts';
import { recipeLimits } from '../../core/build/recipe.ts';
import { computeTreeHash } from '../../core/build/tree-hash.ts';
import { formatHex } from '../../core/bytes/index.ts';
import { type Signer, sha256 } from '../../core/crypto/index.ts';
import { tooLarge, VouchError } from '../../core/errors.ts';
import { writeFileDurable } from '../../storage/fs/durable.ts';
import { runBuild } from './build.ts';
import { readSourceTree } from './files.ts';
import type { SandboxProbe } from './sandbox.ts';

/** rebuildAttestationName is the file the attestation is written to inside the rebuild folder. */
export const rebuildAttestationName = 'rebuild.dsse.json';

/** RebuildOptions configure {@link runRebuild}. */
export interface RebuildOptions {
  /** provenancePath is the builder's `provenance.dsse.json`. */
  readonly provenancePath: string;
  /** builderKeys are the trusted builder keys; one must have signed the provenance. */
  readonly builderKeys: readonly EnvelopeVerifier[];
  /** sourceDir must hash to the provenance's recorded tree hash. */
  readonly sourceDir: string;
  /** outDir receives the rebuild; it must not exist. Default: a new folder under the temp dir. */
  readonly outDir?: string;
  /** signer is the rebuilder key; it signs the rebuild's provenance and the attestation. */
  readonly signer: Signer;
  /** rebuilderId names the rebuilder, e.g. `https://vouch.example/rebuilders/de-ber`. */
  readonly rebuilderId: string;
  /** casDir is the store for remote inputs, as in {@link runBuild} (default: beside `outDir`). */
  readonly casDir?: string;
  readonly probe?: SandboxProbe;
  readonly onProgress?: (line: string) => void;
}

/** RebuildResult is the verdict of a rebuild and where its evidence lies. */
export interface RebuildResult {
  readonly result: RebuildVerdict;
  /** differences are the subjects whose SHA-256 differ, sorted by name; empty on a match. */
  readonly differences: readonly RebuildDifference[];
  readonly provenance: Provenance;
  readonly provenanceSha256: string;
  readonly outDir: string;
  readonly attestationPath: string;
  readonly envelope: Envelope;
  /** hermetic says whether the rebuild itself ran isolated. */
  readonly hermetic: boolean;
}

/**
 * runRebuild rebuilds the build a provenance describes and signs the verdict (module comment).
 * A mismatch is a result, not an error. It throws `policy-unmet`/`bad-signature` when no trusted
 * builder key signed the provenance, `malformed` for a provenance that is not conveyer
 * provenance, `bad-digest` when the source tree or the recipe differs from the recorded one,
 * `invalid-argument` when the recipe cannot be located in the source, and what
 * {@link runBuild} throws when the rebuild itself fails (then no attestation is written).
 */
export async function runRebuild(options: RebuildOptions): Promise<RebuildResult> {
  const progress = options.onProgress ?? ((_line: string) => undefined);
  const envelopeBytes = await readCapped(options.provenancePath, defaultEnvelopeLimits.maxBytes);
  const provenanceSha256 = formatHex(sha256(envelopeBytes));
  const opened = openStatement(parseEnvelope(envelopeBytes), options.builderKeys, 1);
  const provenance = parseProvenance(opened.statement);
  progress(`provenance verified (builder ${provenance.builderId})`);

  const sourceDir = await realpath(options.sourceDir);
  const treeHash = computeTreeHash(await readSourceTree(sourceDir));
  if (treeHash !== provenance.source.treeHash) {
    throw new VouchError('bad-digest', 'the source folder does not match the recorded tree hash', {
      field: '--source',
      expected: provenance.source.treeHash,
      actual: treeHash,
    });
  }
  const recipePath = join(sourceDir, recipeInSource(provenance));
  const recipeDigest = formatHex(sha256(await readCapped(recipePath, recipeLimits.maxBytes)));
  if (recipeDigest !== provenance.recipe.sha256) {
    throw new VouchError('bad-digest', 'the recipe does not match the recorded digest', {
      field: provenance.recipe.path,
    });
  }

  if (
    provenance.source.commit !== undefined &&
    (await stat(join(sourceDir, '.git')).catch(() => undefined)) === undefined
  ) {
    throw new VouchError(
      'bad-digest',
      'the provenance names a git commit but the source is not a git repository',
      {
        field: '--source',
      },
    );
  }

  const outDir = resolve(options.outDir ?? join(await mkdtemp(join(tmpdir(), 'vouch-rebuild-')), 'out'));
  const rebuilt = await runBuild({
    recipePath,
    sourceDir,
    outDir,
    signer: options.signer,
    builderId: options.rebuilderId,
    sourceDateEpoch: provenance.sourceDateEpoch,
    ...(options.probe === undefined ? {} : { probe: options.probe }),
    ...(options.casDir === undefined ? {} : { casDir: options.casDir }),
    onProgress: progress,
  });
  if (provenance.source.commit !== undefined && rebuilt.commit !== provenance.source.commit) {
    throw new VouchError('bad-digest', 'the source commit differs from the recorded one', {
      field: '--source',
    });
  }
  const differences = compareSubjects(provenance.subjects, [
    ...rebuilt.manifest.map((m) => ({ name: m.path, sha256: m.sha256 })),
    { name: rebuilt.archiveName, sha256: rebuilt.archiveSha256 },
  ]);
  const statement = buildRebuildAttestation({
    rebuilderId: options.rebuilderId,
    provenanceName: basename(options.provenancePath),
    provenanceSha256,
    differences,
  });
  const envelope = await signStatement(statement, [options.signer]);
  const attestationPath = join(outDir, rebuildAttestationName);
  await writeFileDurable(attestationPath, formatEnvelope(envelope), { mode: 0o644 });
  const result: RebuildVerdict = differences.length === 0 ? 'match' : 'mismatch';
  progress(`rebuild ${result}${differences.length === 0 ? '' : ` (${differences.length} differing)`}`);
  return Object.freeze({
    result,
    differences,
    provenance,
    provenanceSha256,
    outDir,
    attestationPath,
    envelope,
    hermetic: rebuilt.hermetic,
  });
}

/**
 * recipeInSource returns the recipe's path relative to the source folder, from the paths the
 * build was given (both as typed on the builder's command line, so relative ones share a cwd).
 */
function recipeInSource(provenance: Provenance): string {
  const folder = provenance.source.folder;
  if (folder === undefined) {
    throw new VouchError('invalid-argument', 'the provenance names no source folder to find the recipe in', {
      field: 'externalParameters.source.folder',
    });
  }
  // Both paths are as typed on the builder's command line: both absolute, or both relative to
  // the builder's working folder (unknown here, so it must cancel out).
  if (isAbsolute(folder) !== isAbsolute(provenance.recipe.path)) {
    throw new VouchError(
      'invalid-argument',
      'the recorded recipe and source paths are not both absolute or both relative',
      {
        field: 'externalParameters.recipe.path',
      },
    );
  }
  const path = relative(resolve('/', folder), resolve('/', provenance.recipe.path));
  if (!isInside(path)) {
    throw new VouchError('invalid-argument', 'the recorded recipe lies outside the recorded source folder', {
      field: 'externalParameters.recipe.path',
    });
  }
  return path;
}

function isInside(path: string): boolean {
  return path !== '' && !isAbsolute(path) && path !== '..' && !path.startsWith('../');
}

async function readCapped(path: string, limit: number): Promise<Uint8Array> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile())
    throw new VouchError('not-found', 'file not found', { field: path });
  if (info.size > limit) throw tooLarge(basename(path), limit);
  return new Uint8Array(await readFile(path));
}
