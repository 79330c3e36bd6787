/**
 * `vouch approve`: the supervisor's approval of a release (DESIGN.md, release step 4). For every
 * target of the pending targets that is new or changed against the last published targets, the
 * approver fetches the evidence its `custom.vouch` names from `staged/` (or `public/`, for
 * evidence published before) and runs core/release's evidence check under its own release
 * policy: provenance signed by a trusted builder key of the neutral site, hermetic, naming the
 * target's SHA-256; k-of-n matching rebuild attestations; a review when the policy requires one.
 * A delta is approved only if, applied to the full database it starts from, it gives exactly the
 * full database target it names (which is itself checked like any other target).
 *
 * Only when every target passes does the approver add its signature to the pending targets — its
 * share of the threshold of 2, without which the vendor alone cannot publish — and stage one
 * SLSA Verification Summary per checked product or database (a DSSE envelope signed by the
 * approver key), which publish logs and publishes with the other evidence. On any failure it
 * signs nothing and refuses with every reason. Evidence logging is not required here (it is
 * logged at publish, after approval); the agent requires it.
 */

import { join } from 'node:path';
import { formatEnvelope, signStatement } from '../../core/attest/index.ts';
import { equalBytes } from '../../core/bytes/index.ts';
import type { Signer } from '../../core/crypto/index.ts';
import { isVouchError, VouchError } from '../../core/errors.ts';
import { isJsonObject, type JsonObject } from '../../core/json/index.ts';
import { evaluateReleaseEvidence, type ReleaseVerdict } from '../../core/release/evidence.ts';
import type { ReleasePolicy } from '../../core/release/policy.ts';
import { buildVerificationSummary } from '../../core/release/vsa.ts';
import { packDatabaseBundle, unpackDatabaseBundle } from '../../core/rules/bundle.ts';
import { applyDelta } from '../../core/rules/delta.ts';
import { tufKeyForSigner } from '../../core/tuf/keys.ts';
import { formatMetadata, formatTufDate, metadataFileName, type TargetFile } from '../../core/tuf/metadata.ts';
import { addSignature } from '../../core/tuf/sign.ts';
import { describeKeys } from './keys.ts';
import {
  maxEvidenceBytes,
  type RepoPaths,
  readConfig,
  readFileBounded,
  readStagedIndex,
  repoPaths,
  sha256Hex,
  writeDurable,
  writeStagedIndex,
} from './layout.ts';
import { checkMetadataUnlogged } from './logged.ts';
import { pendingStatus, type SignatureStatus } from './pending.ts';
import { currentTargets, effectiveRoot, pendingFile, readPending, readPublished } from './published.ts';
import { readTargetBytes, stageEvidenceBytes } from './stage.ts';

/** ApproveOptions are the approver's key and policy, and how its VSAs name things. */
export interface ApproveOptions {
  /** signer is the approver key: one of the two targets keys. */
  readonly signer: Signer;
  readonly policy: ReleasePolicy;
  /** now is the current time in seconds since the epoch (the VSAs' timeVerified). */
  readonly now: number;
  /** verifierId is the approver's identity in VSAs (default `https://vouch.example/approvers/<key name>`). */
  readonly verifierId?: string;
  /** baseUri is where the repository's public/ folder is served (default `https://vouch.example/repositories/<name>/`). */
  readonly baseUri?: string;
  /** policyUri is where the release policy is published (default `<baseUri>policies/<sha256>.json`). */
  readonly policyUri?: string;
}

/** TargetApproval is the outcome for one checked target. */
export interface TargetApproval {
  readonly path: string;
  readonly kind: string;
  /** reasons lists why it failed; empty when it passed. */
  readonly reasons: readonly string[];
  /** verdict is core/release's verdict for products and full databases. */
  readonly verdict?: ReleaseVerdict;
  /** vsa is the SHA-256 of the staged VSA, once approved. */
  readonly vsa?: string;
}

/** ApproveResult is what was approved and the signature state of the pending targets after it. */
export interface ApproveResult {
  readonly version: number;
  readonly targets: readonly TargetApproval[];
  readonly status: SignatureStatus;
}

/**
 * approveRelease checks and signs the pending targets (see the module comment). Throws
 * `not-found` when no targets are pending, `policy-unmet` when the signer is not a targets key,
 * and `policy-unmet` listing every reason (also in `details.reasons`) when any target fails;
 * then nothing is signed or staged.
 */
export async function approveRelease(dir: string, options: ApproveOptions): Promise<ApproveResult> {
  const paths = repoPaths(dir);
  const config = await readConfig(paths);
  const pending = await readPending(paths, 'targets');
  if (pending === undefined)
    throw new VouchError('not-found', `no targets are pending in ${dir}: nothing to approve`, { field: dir });
  const root = await effectiveRoot(paths);
  const { keyid } = tufKeyForSigner(options.signer);
  if (!root.fields.roles.targets.keyids.includes(keyid))
    throw new VouchError(
      'policy-unmet',
      `key ${options.signer.name} is not a targets key of this repository (expected ${describeKeys(root.fields.roles.targets.keyids, config.keyNames)})`,
      { key: options.signer.name },
    );
  const published = await readPublished(paths, 'targets');
  const current = await currentTargets(paths);
  const changed = [...pending.fields.targets.values()].filter(
    (t) => !sameTarget(t, published?.fields.targets.get(t.path)),
  );
  const results: TargetApproval[] = [];
  for (const target of changed)
    results.push(await checkTarget(paths, options.policy, target, pending.fields.targets, current));
  const failed = results.filter((r) => r.reasons.length > 0);
  if (failed.length > 0) {
    const reasons = failed.flatMap((r) => r.reasons.map((reason) => `${r.path}: ${reason}`));
    throw new VouchError(
      'policy-unmet',
      `approval refused for targets version ${pending.fields.version}: ${reasons.join('; ')}`,
      {
        reasons,
        role: 'targets',
      },
    );
  }
  // Every target passed: stage the VSAs, then sign (a crash between leaves VSAs and no signature;
  // approving again stages identical VSAs for the same time, or new ones).
  const base = options.baseUri ?? `https://vouch.example/repositories/${config.name}/`;
  const verifierId =
    options.verifierId ?? `https://vouch.example/approvers/${encodeURIComponent(options.signer.name)}`;
  const approved: TargetApproval[] = [];
  const vsas: string[] = [];
  for (const result of results) {
    if (result.verdict === undefined) {
      approved.push(result);
      continue;
    }
    const statement = buildVerificationSummary({
      verifierId,
      target: result.verdict.target,
      resourceUri: `${base}targets/${result.path}`,
      policyUri: options.policyUri ?? `${base}policies/${options.policy.sha256}.json`,
      policyDigest: options.policy.sha256,
      verdict: result.verdict,
      timeVerified: formatTufDate(options.now),
      inputs: result.verdict.evidence
        .filter((f) => f.relied)
        .map((f) => ({ uri: `${base}evidence/${f.sha256}.json`, sha256: f.sha256 })),
    });
    const vsa = await stageEvidenceBytes(
      paths,
      formatEnvelope(await signStatement(statement, [options.signer])),
    );
    vsas.push(vsa);
    approved.push({ ...result, vsa });
  }
  const index = await readStagedIndex(paths);
  await writeStagedIndex(paths, { targets: index.targets, evidence: [...index.evidence, ...vsas] });
  const signed = await addSignature(
    { signed: pending.signed, signatures: pending.signatures },
    options.signer,
  );
  const bytes = formatMetadata(signed.signed, signed.signatures);
  const file = metadataFileName('targets', pending.fields.version, true);
  await checkMetadataUnlogged(
    paths,
    config.name,
    file,
    bytes,
    `approve targets version ${pending.fields.version}`,
  );
  await writeDurable(pendingFile(paths, 'targets'), bytes);
  return Object.freeze({
    version: pending.fields.version,
    targets: approved,
    status: await pendingStatus(dir, 'targets'),
  });
}

function sameTarget(a: TargetFile, b: TargetFile | undefined): boolean {
  if (b === undefined) return false;
  return (
    a.length === b.length &&
    a.hashes['sha256'] === b.hashes['sha256'] &&
    JSON.stringify(a.custom) === JSON.stringify(b.custom)
  );
}

async function checkTarget(
  paths: RepoPaths,
  policy: ReleasePolicy,
  target: TargetFile,
  pending: ReadonlyMap<string, TargetFile>,
  current: ReadonlyMap<
    string,
    { path: string; length: number; sha256: string; custom: JsonObject; staged: boolean }
  >,
): Promise<TargetApproval> {
  const vouch = isJsonObject(target.custom) ? target.custom['vouch'] : undefined;
  if (!isJsonObject(vouch)) return { path: target.path, kind: 'unknown', reasons: ['has no custom.vouch'] };
  const kind = typeof vouch['kind'] === 'string' ? vouch['kind'] : 'unknown';
  const sha256 = target.hashes['sha256'];
  if (sha256 === undefined) return { path: target.path, kind, reasons: ['has no sha256'] };
  try {
    if (kind === 'rules-delta')
      return { path: target.path, kind, reasons: await checkDelta(paths, target, vouch, pending, current) };
    if (kind !== 'product' && kind !== 'rules')
      return { path: target.path, kind, reasons: [`has an unknown kind ${JSON.stringify(kind)}`] };
    const evidence = vouch['evidence'];
    if (!isJsonObject(evidence)) return { path: target.path, kind, reasons: ['names no evidence'] };
    const reasons: string[] = [];
    const read = async (digest: unknown, what: string): Promise<Uint8Array | undefined> => {
      if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) {
        reasons.push(`${what} is not named by a SHA-256`);
        return undefined;
      }
      const bytes = await readEvidence(paths, digest);
      if (bytes === undefined) reasons.push(`${what} ${digest} is neither staged nor published`);
      return bytes;
    };
    const provenance =
      evidence['provenance'] === undefined ? undefined : await read(evidence['provenance'], 'provenance');
    if (evidence['provenance'] === undefined)
      reasons.push('names no provenance (the builder site cannot be checked)');
    const rebuilds: Uint8Array[] = [];
    const rebuildList = evidence['rebuilds'] ?? [];
    if (!Array.isArray(rebuildList)) reasons.push('rebuilds is not a list');
    else
      for (const digest of rebuildList) {
        const bytes = await read(digest, 'rebuild attestation');
        if (bytes !== undefined) rebuilds.push(bytes);
      }
    const review = evidence['review'] === undefined ? undefined : await read(evidence['review'], 'review');
    if (provenance === undefined) return { path: target.path, kind, reasons };
    const verdict = evaluateReleaseEvidence(
      policy,
      {
        target: { name: target.path, sha256, length: target.length },
        provenance,
        rebuilds,
        ...(review === undefined ? {} : { review }),
      },
      { requireLogged: false },
    );
    for (const check of verdict.checks)
      if (check.status === 'failed')
        reasons.push(
          `${check.name} check failed (${String(check.error?.details['attack'] ?? check.name)}): ${check.reason}`,
        );
    return { path: target.path, kind, reasons, verdict };
  } catch (error) {
    if (!isVouchError(error) || error.code === 'invariant') throw error;
    return { path: target.path, kind, reasons: [error.message] };
  }
}

async function checkDelta(
  paths: RepoPaths,
  target: TargetFile,
  vouch: JsonObject,
  pending: ReadonlyMap<string, TargetFile>,
  current: ReadonlyMap<
    string,
    { path: string; length: number; sha256: string; custom: JsonObject; staged: boolean }
  >,
): Promise<string[]> {
  const delta = vouch['delta'];
  if (
    !isJsonObject(delta) ||
    typeof delta['result'] !== 'string' ||
    typeof delta['from'] !== 'number' ||
    typeof vouch['name'] !== 'string'
  )
    return ['has no delta {from, to, result}'];
  const name = vouch['name'];
  const resultTarget = pending.get(delta['result']);
  const resultVouch = isJsonObject(resultTarget?.custom) ? resultTarget.custom['vouch'] : undefined;
  if (resultTarget === undefined || !isJsonObject(resultVouch) || resultVouch['kind'] !== 'rules')
    return [`its result ${delta['result']} is not a full rule database target of this version`];
  const basePath = `rules/${name}/${name}-${delta['from']}.vdb`;
  const base = current.get(basePath);
  if (base === undefined) return [`its base ${basePath} is neither staged nor published`];
  const deltaEntry = current.get(target.path);
  const resultEntry = current.get(resultTarget.path);
  if (deltaEntry === undefined || deltaEntry.sha256 !== target.hashes['sha256'] || resultEntry === undefined)
    return ['its file or its result file is not in the repository'];
  const result = applyDelta(
    unpackDatabaseBundle(await readTargetBytes(paths, base)),
    await readTargetBytes(paths, deltaEntry),
  );
  if (!equalBytes(packDatabaseBundle(result), await readTargetBytes(paths, resultEntry)))
    return [`applied to ${basePath} it does not give ${resultTarget.path}`];
  return [];
}

async function readEvidence(paths: RepoPaths, digest: string): Promise<Uint8Array | undefined> {
  for (const dir of [paths.stagedEvidence, paths.publicEvidence]) {
    const bytes = await readFileBounded(join(dir, `${digest}.json`), maxEvidenceBytes);
    if (bytes !== undefined && sha256Hex(bytes) === digest) return bytes;
  }
  return undefined;
}
