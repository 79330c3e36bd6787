/**
 * `vouch approve --release DIR --key APPROVER_KEY --policy POLICY_FILE`: the supervisor's
 * approval of the pending release in the repository folder DIR (services/repo/approve.ts): every
 * new or changed target's evidence is checked under the approver's release policy (core/release);
 * only if all pass does the approver sign its share of the targets threshold and stage a signed
 * SLSA Verification Summary per target. On refusal it prints every reason and signs nothing.
 */

import { readFile } from 'node:fs/promises';
import { tooLarge, VouchError } from '../../../core/errors.ts';
import { maxReleasePolicyBytes, parseReleasePolicy } from '../../../core/release/policy.ts';
import { approveRelease } from '../../../services/repo/index.ts';
import { parseCommandLine, required } from '../args.ts';
import type { CliIo, Command } from '../io.ts';
import { exitCodes } from '../io.ts';
import { loadSigner } from '../load-key.ts';

const synopsis =
  'vouch approve --release DIR --key APPROVER_KEY --policy POLICY_FILE [--verifier-id URI] [--base-uri URI] [--policy-uri URI]';

const usage = `Usage:
  ${synopsis}
      Check every new or changed target pending in the update repository DIR against the release
      policy POLICY_FILE: provenance signed by a trusted builder of the neutral site for a
      hermetic build naming the target's SHA-256, k-of-n matching rebuild attestations, and the
      source review when the policy requires one; a delta must reproduce its full database. If
      all pass, add the approver's signature to the pending targets (its share of the threshold
      of 2) and stage one signed SLSA Verification Summary per target, published and logged with
      the release. Otherwise print every reason, sign nothing and exit 1.
      --verifier-id names the approver in the VSAs (default https://vouch.example/approvers/KEYNAME),
      --base-uri is where DIR/public is served and --policy-uri where the policy is published.
`;

async function approve(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine('approve', synopsis, args, {
    release: { type: 'string' },
    key: { type: 'string' },
    policy: { type: 'string' },
    'verifier-id': { type: 'string' },
    'base-uri': { type: 'string' },
    'policy-uri': { type: 'string' },
  });
  if (values.help === true) {
    io.stdout(usage);
    return exitCodes.ok;
  }
  if (positionals.length > 0)
    throw new VouchError('invalid-argument', `approve: unexpected argument (usage: ${synopsis})`);
  const dir = required('approve', synopsis, values.release, '--release');
  const policyPath = required('approve', synopsis, values.policy, '--policy');
  const policyBytes = new Uint8Array(await readFile(policyPath));
  if (policyBytes.length > maxReleasePolicyBytes)
    throw tooLarge(`release policy ${policyPath}`, maxReleasePolicyBytes);
  const policy = parseReleasePolicy(policyBytes);
  const signer = await loadSigner(required('approve', synopsis, values.key, '--key'), io);
  const optional = (flag: 'verifier-id' | 'base-uri' | 'policy-uri'): string | undefined =>
    typeof values[flag] === 'string' ? values[flag] : undefined;
  const verifierId = optional('verifier-id');
  const baseUri = optional('base-uri');
  const policyUri = optional('policy-uri');
  let result: Awaited<ReturnType<typeof approveRelease>>;
  try {
    result = await approveRelease(dir, {
      signer,
      policy,
      now: Math.floor(Date.now() / 1000),
      ...(verifierId === undefined ? {} : { verifierId }),
      ...(baseUri === undefined ? {} : { baseUri }),
      ...(policyUri === undefined ? {} : { policyUri }),
    });
  } catch (error) {
    const reasons = error instanceof VouchError ? error.details['reasons'] : undefined;
    if (!Array.isArray(reasons)) throw error;
    io.stderr(`vouch: approve: refused; nothing was signed:\n`);
    for (const reason of reasons) io.stderr(`  ${String(reason)}\n`);
    return exitCodes.verificationFailed;
  }
  for (const t of result.targets)
    io.stdout(`approved ${t.path}${t.vsa === undefined ? '' : ` (VSA ${t.vsa})`}\n`);
  io.stdout(
    `signed targets version ${result.version}: ${result.status.complete ? 'threshold met, ready to publish' : `still missing: ${result.status.missing.join(', ')}`}\n`,
  );
  return exitCodes.ok;
}

/** approveCommand is `vouch approve`. */
export const approveCommand: Command = {
  name: 'approve',
  summary: "the supervisor's release approval: check evidence, sign its share of targets and a VSA",
  usage,
  run: approve,
};
