/**
 * Replaying a site's access ledger against the policy (DESIGN "The data flow" 5-6): every entry
 * new since the last audit, read from tiles authenticated under the audited checkpoint, must
 *
 * - be a well-formed entry of this site (`wrong site`), decided under the configured Cedar
 *   policy (`policy digest`: an entry naming another policy's digest is refused, not replayed);
 * - for an allowed read of a neutral-residency tenant: have happened at ch-zrh (`neutral data
 *   outside ch-zrh`) and, when a person read, with office and physical country both CH
 *   (`access outside CH`);
 * - for an allowed read by a person: carry a justification and a ticket (`unjustified`), and the
 *   customer's approval when the tenant's contract requires one; a recorded approval must be a
 *   valid approval of the tenant for a grant active at the entry's time (`expired approval`,
 *   `forged approval`);
 * - for an allowed entry with an approval: be what the customer approved — the approved
 *   request's requester (id, employer, office and physical country), action, purpose and ticket
 *   equal the entry's and its scope covers the entry's (`forged approval` otherwise: an approval
 *   stretched to another person, action or scope);
 * - for a deny: release nothing (`released on deny`: a count above 0);
 * - agree with the Cedar policy re-evaluated on the recorded principal, action, tenant, purpose,
 *   justification, ticket and approval (`decision`: recorded allow where the policy denies).
 *   A recorded deny the policy would allow is not a broken promise (the site may deny for
 *   reasons outside the policy, such as a grant for another scope) and is not reported.
 *
 * The entry names the tenant but not its residency or contract, and an approval only by its
 * digest: the audit reads tenant records (`<tenant>.json`) and approval envelopes
 * (`<sha256>.json`) from the folders the configuration gives. When what a check needs is
 * missing, the entry is reported `unverifiable`, never passed. The entry's recorded action is
 * replayed as is; a person is taken as assigned to the entry's site.
 */

import { parseEnvelope, verifyEnvelope } from '../../core/attest/index.ts';
import { type Finding, finding, ledgerSubject } from '../../core/audit/findings.ts';
import type { AccessSummary } from '../../core/audit/report.ts';
import { formatHex } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { isVouchError } from '../../core/errors.ts';
import { siteCountry } from '../../core/sites/ids.ts';
import {
  type AccessRequest,
  accessApprovalPayloadType,
  approvalVerifier,
  checkGrant,
  type LedgerEntry,
  maxApprovalBytes,
  maxTenantRecordBytes,
  parseAccessRequest,
  parseLedgerEntry,
  parseTenantRecord,
  parseTime,
  type SiteRegistry,
  siteForCountry,
  type TenantRecord,
} from '../../core/sites/index.ts';
import type { PolicyEngine } from '../../services/policy/decide.ts';
import type { ApprovalInput, PolicyRequest } from '../../services/policy/entities.ts';
import { scopeCovers } from '../../services/site/reads.ts';
import type { LogClient } from '../log/client.ts';
import type { FileSource } from './source.ts';

/** neutralSite is the only site where neutral-residency data may be read. */
export const neutralSite = 'ch-zrh';

/** LedgerAuditInput is one ledger to replay. */
export interface LedgerAuditInput {
  readonly site: string;
  readonly client: LogClient;
  /** from is the first entry not audited before. */
  readonly from: bigint;
  readonly policy: PolicyEngine;
  readonly registry: SiteRegistry;
  readonly tenants?: FileSource;
  readonly approvals?: FileSource;
}

/** LedgerAudit is the outcome: the findings and the counts for the report. */
export interface LedgerAudit {
  readonly findings: readonly Finding[];
  readonly summary: AccessSummary;
}

function reason(error: unknown): string {
  return isVouchError(error) ? error.message : 'unexpected failure';
}

/** approvalMismatches names each field where the approved request differs from the entry. */
function approvalMismatches(request: AccessRequest, entry: LedgerEntry): string[] {
  const out: string[] = [];
  const same = (what: string, approved: string | undefined, recorded: string | undefined): void => {
    if (approved !== recorded)
      out.push(`${what} ${recorded ?? '(none)'} (approved: ${approved ?? '(none)'})`);
  };
  const a = request.requester;
  const e = entry.principal;
  same('principal kind', a.kind, e.kind);
  same('requester', a.id, e.id);
  same('employer', a.employer, e.employer);
  same('office country', a.officeCountry, e.officeCountry);
  same('physical country', a.physicalCountry, e.physicalCountry);
  same('action', request.action, entry.action);
  same('purpose', request.purpose, entry.purpose);
  same('ticket', request.ticket, entry.ticket);
  // A read may narrow the approved scope (`telemetry` approves `telemetry:detection`), never widen it.
  if (!scopeCovers(request.scope, entry.scope)) out.push(`scope ${entry.scope} (approved: ${request.scope})`);
  return out;
}

/** auditLedger replays the ledger's new entries; see the module comment. It throws only when reading the log fails. */
export async function auditLedger(input: LedgerAuditInput): Promise<LedgerAudit> {
  const findings: Finding[] = [];
  const tenants = new Map<string, TenantRecord | undefined>();
  const byJustification: Record<string, number> = {};
  let entries = 0;
  let allowed = 0;

  const tenantOf = async (id: string): Promise<TenantRecord | undefined> => {
    if (tenants.has(id)) return tenants.get(id);
    let record: TenantRecord | undefined;
    const bytes = await input.tenants?.get(`${id}.json`, maxTenantRecordBytes);
    if (bytes !== undefined) {
      try {
        record = parseTenantRecord(bytes);
        if (record.id !== id) record = undefined;
      } catch {
        record = undefined;
      }
    }
    tenants.set(id, record);
    return record;
  };

  for await (const { index, data } of input.client.entries(input.from, input.client.size)) {
    const subject = ledgerSubject(input.site, index);
    const add = (kind: Finding['kind'], detail: string): void => {
      findings.push(finding(kind, subject, detail));
    };
    entries++;
    let entry: LedgerEntry;
    try {
      entry = parseLedgerEntry(data);
    } catch (error) {
      add('malformed', reason(error));
      continue;
    }
    byJustification[entry.justification] = (byJustification[entry.justification] ?? 0) + 1;
    const allow = entry.decision === 'allow';
    if (allow) allowed++;
    else if (entry.count > 0) {
      add('released on deny', `the entry denies the access yet records ${entry.count} record(s) released`);
    }
    if (entry.site !== input.site)
      add('wrong site', `the entry says site ${entry.site} in ${input.site}'s ledger`);
    if (entry.policyDigest !== input.policy.policyDigest) {
      add(
        'policy digest',
        `decided under policy ${entry.policyDigest}, not the configured ${input.policy.policyDigest}`,
      );
      continue;
    }
    const person = entry.principal.kind === 'person';
    if (allow && person && (entry.justification.trim() === '' || entry.ticket === undefined)) {
      add('unjustified', 'a person read without a justification and a ticket');
    }
    const record = await tenantOf(entry.tenant);
    if (record === undefined) {
      add('unverifiable', `tenant ${entry.tenant}'s record is not among the configured tenant records`);
      continue;
    }
    let residency: 'neutral' | 'home';
    try {
      residency = siteForCountry(input.registry, record.contractCountry).residency;
    } catch {
      add(
        'unverifiable',
        `tenant ${entry.tenant}'s contract country ${record.contractCountry} is not in the registry`,
      );
      continue;
    }
    if (allow && residency === 'neutral') {
      if (entry.site !== neutralSite) {
        add('neutral data outside ch-zrh', `neutral tenant ${entry.tenant}'s data was read at ${entry.site}`);
      }
      if (person) {
        const { officeCountry, physicalCountry } = entry.principal;
        if (officeCountry === undefined || physicalCountry === undefined) {
          add('unverifiable', `the entry does not say where ${entry.principal.id} was`);
        } else if (officeCountry !== 'CH' || physicalCountry !== 'CH') {
          add(
            'access outside CH',
            `${entry.principal.id} (office ${officeCountry}, physically in ${physicalCountry}) read neutral tenant ${entry.tenant}'s data`,
          );
        }
      }
    }
    let time: number;
    try {
      time = parseTime(entry.time);
    } catch {
      add('malformed', 'the entry time does not parse');
      continue;
    }
    let approval: ApprovalInput | undefined;
    if (entry.approval !== undefined) {
      const bytes = await input.approvals?.get(`${entry.approval}.json`, maxApprovalBytes);
      if (bytes === undefined || formatHex(sha256(bytes)) !== entry.approval) {
        add('unverifiable', `approval ${entry.approval} is not among the configured approvals`);
        continue;
      }
      let grant: ReturnType<typeof checkGrant>;
      let approved: AccessRequest;
      try {
        const envelope = parseEnvelope(bytes, { maxBytes: maxApprovalBytes, maxSignatures: 8 });
        const payload = verifyEnvelope(envelope, [approvalVerifier(record)], 1, {
          payloadType: accessApprovalPayloadType,
        }).payload;
        approved = parseAccessRequest(payload);
        grant = checkGrant(approved, bytes, record, time);
      } catch (error) {
        add('forged approval', `approval ${entry.approval.slice(0, 16)}: ${reason(error)}`);
        continue;
      }
      const mismatches = allow ? approvalMismatches(approved, entry) : [];
      if (grant.status === 'forged') add('forged approval', grant.reasons.join('; '));
      else if (mismatches.length > 0) {
        add(
          'forged approval',
          `approval ${entry.approval.slice(0, 16)} is for another access: ${mismatches.join('; ')}`,
        );
      } else if (allow && grant.status !== 'active') {
        add(
          'expired approval',
          `the grant was ${grant.status} at ${entry.time}: ${grant.reasons.join('; ')}`,
        );
      }
      approval = { valid: grant.status !== 'forged', expiresAt: new Date(grant.expires * 1000) };
    }
    const request: PolicyRequest = {
      principal:
        entry.principal.kind === 'job'
          ? { type: 'Job', id: entry.principal.id, purpose: entry.purpose, site: entry.site }
          : {
              type: 'Staff',
              id: entry.principal.id,
              employer: entry.principal.employer ?? '',
              officeCountry: entry.principal.officeCountry ?? '',
              physicalCountry: entry.principal.physicalCountry ?? '',
              role: entry.principal.role,
              site: entry.site,
            },
      action: entry.action,
      resource: {
        type: 'TenantData',
        tenant: {
          id: record.id,
          contractCountry: record.contractCountry,
          residency,
          site: record.site,
          approvalRequired: record.approvalRequired,
        },
        kind: 'telemetry',
      },
      context: {
        site: { id: entry.site, country: siteCountry(entry.site) },
        now: new Date(time * 1000),
        purpose: entry.purpose,
        justification: entry.justification,
        ticket: entry.ticket ?? '',
        ...(approval === undefined ? {} : { approval }),
      },
    };
    const replay = input.policy.decide(request);
    if (allow && replay.decision !== 'allow') {
      const why =
        [...replay.reasons.map((r) => `forbid: ${r}`), ...replay.errors].join('; ') || 'no policy permits it';
      add('decision', `recorded allow, the policy denies it (${why})`);
    }
  }
  return {
    findings,
    summary: Object.freeze({
      site: input.site,
      entries,
      allowed,
      byJustification: Object.freeze(byJustification),
    }),
  };
}
