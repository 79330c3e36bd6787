/**
 * Auditing one log (the release log, or a site's access ledger) since the last audit: open its
 * checkpoint with the log's own key (so a checkpoint that lacks the witness quorum can still be
 * compared, and reported as such rather than as unreadable), check the witness quorum of the
 * C2SP tlog-policy, check the tiles against the checkpoint's root, and prove the log consistent
 * with the checkpoint the previous audit verified (a `bad-proof` there is a fork: two histories
 * under one key). Each problem becomes a finding; the client is returned so the caller can read
 * the new entries, each checked against the authenticated tiles.
 */

import { type Finding, finding } from '../../core/audit/findings.ts';
import type { AuditedLog } from '../../core/audit/report.ts';
import type { SeenCheckpoint } from '../../core/audit/state.ts';
import { isVouchError } from '../../core/errors.ts';
import { formatVerifierKey } from '../../core/note/index.ts';
import { createCheckpointVerifier } from '../../core/tlog/cosignature.ts';
import type { Policy } from '../../core/tlog/policy.ts';
import { checkCheckpointPolicy } from '../../core/tlog/quorum.ts';
import { LogClient } from '../log/client.ts';
import { openTileFetcher } from '../log/open-fetcher.ts';

/** LogAudit is the outcome of auditing one log. */
export interface LogAudit {
  /** audited is set when the checkpoint could be opened with the log's key. */
  readonly audited?: AuditedLog;
  readonly client?: LogClient;
  /** from is the first entry new since the last audit (0 on a first audit or after a fork). */
  readonly from: bigint;
  readonly findings: readonly Finding[];
  /** consistent is true when no fork, quorum or unreadable finding was made. */
  readonly consistent: boolean;
}

/** AuditLogInput names the log, where it is, its tlog-policy (one `log` line) and what was seen before. */
export interface AuditLogInput {
  readonly name: string;
  readonly location: string;
  readonly policy: Policy;
  readonly previous?: SeenCheckpoint;
}

function reason(error: unknown): string {
  return isVouchError(error) ? error.message : 'the log could not be read';
}

/** auditLog audits one log; see the module comment. It never throws for what the log serves. */
export async function auditLog(input: AuditLogInput): Promise<LogAudit> {
  const findings: Finding[] = [];
  const log = input.policy.logs[0];
  if (log === undefined || input.policy.logs.length !== 1) {
    findings.push(finding('unreadable', input.name, 'the tlog-policy must name exactly one log'));
    return { from: 0n, findings, consistent: false };
  }
  let client: LogClient;
  try {
    client = await LogClient.open(openTileFetcher(input.location), {
      logKey: createCheckpointVerifier(formatVerifierKey(log.key)),
    });
    await client.checkRoot();
  } catch (error) {
    findings.push(finding('unreadable', input.name, reason(error)));
    return { from: 0n, findings, consistent: false };
  }
  let cosigners: string[] = [];
  // An empty log commits to nothing, and a log publishes its first checkpoint (size 0, signed by
  // the log alone) before any witness has seen it: a new site's ledger with no access yet. It
  // needs no quorum; whatever it grows into must still be consistent with it and witnessed.
  if (client.size > 0n) {
    try {
      cosigners = checkCheckpointPolicy(client.signedCheckpoint(), input.policy).cosigners.map(
        (c) => c.witness,
      );
    } catch (error) {
      findings.push(finding('quorum', input.name, `checkpoint of size ${client.size}: ${reason(error)}`));
    }
  }
  let from = 0n;
  const previous = input.previous;
  if (previous !== undefined) {
    try {
      await client.checkConsistency({
        origin: previous.origin,
        size: previous.size,
        root: previous.root,
        extensions: [],
      });
      from = previous.size;
    } catch (error) {
      findings.push(
        finding(
          'fork',
          input.name,
          `size ${client.size} is not consistent with size ${previous.size} seen by the last audit: ${reason(error)}`,
        ),
      );
    }
  }
  const audited: AuditedLog = Object.freeze({
    name: input.name,
    origin: client.checkpoint.origin,
    size: client.size,
    root: client.checkpoint.root,
    ...(previous === undefined ? {} : { previousSize: previous.size }),
    cosigners: Object.freeze(cosigners),
  });
  return { audited, client, from, findings, consistent: findings.length === 0 };
}
