/**
 * Auditing one log (the release log, or a site's access ledger) since the last audit: open its
 * checkpoint with the log's own key (so a checkpoint that lacks the witness quorum can still be
 * compared, and reported as such rather than as unreadable), check the witness quorum of the
 * C2SP tlog-policy, check the tiles against the checkpoint's root, and prove the log consistent
 * with the checkpoint the previous audit verified (a `bad-proof` there is a fork: two histories
 * under one key). Each problem becomes a finding; the client is returned so the caller can read
 * the new entries, each checked against the authenticated tiles. A checkpoint proved consistent
 * is returned as `seen`, for the caller to keep whether or not the audit passes, so that the next
 * run compares with the newest history it was shown. An empty log signed by the log alone is
 * `unverifiable` unless an earlier audit saw it larger (then it is a fork): a site could hide
 * every access behind it.
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
  /**
   * from is the first entry no passing audit replayed: the previous checkpoint's `audited` size
   * (its size when absent), or 0 on a first audit or after a fork.
   */
  readonly from: bigint;
  /** seen is the checkpoint served, set when it was proved consistent with the previous one (or there was none). */
  readonly seen?: SeenCheckpoint;
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
  const previous = input.previous;
  try {
    cosigners = checkCheckpointPolicy(client.signedCheckpoint(), input.policy).cosigners.map(
      (c) => c.witness,
    );
  } catch (error) {
    if (client.size > 0n) {
      findings.push(finding('quorum', input.name, `checkpoint of size ${client.size}: ${reason(error)}`));
    } else if (previous === undefined || previous.size === 0n) {
      // A log publishes its first checkpoint (size 0, signed by the log alone) before any witness
      // has seen it. It breaks no promise, but a site could hide every access behind it, so it
      // is never passed. Below an earlier, larger checkpoint it is the fork reported below.
      findings.push(
        finding('unverifiable', input.name, 'empty and not yet witnessed; nothing can be audited'),
      );
    }
  }
  let from = 0n;
  let proved = previous === undefined;
  if (previous !== undefined) {
    try {
      await client.checkConsistency({
        origin: previous.origin,
        size: previous.size,
        root: previous.root,
        extensions: [],
      });
      proved = true;
      from = previous.audited ?? previous.size;
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
  const seen: SeenCheckpoint = Object.freeze({
    origin: client.checkpoint.origin,
    size: client.size,
    root: client.checkpoint.root,
  });
  return {
    audited,
    client,
    from,
    ...(proved ? { seen } : {}),
    findings,
    consistent: findings.length === 0,
  };
}
