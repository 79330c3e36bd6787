/**
 * `vouch access`: staff access to customer data (issue 8 "Staff access"). A person files a
 * request at the site (`request`), the customer signs it with its approval key (`approve --key`,
 * run by the customer, offline), the site records the approval (`approve DIR --approval`), and
 * the person reads under the grant (`read`), which the site decides with Cedar and records in its
 * access ledger first. `list` shows requests with their status now (active, expired,
 * not-yet-valid, missing approval). It only wires: services/site/access.ts and reads.ts.
 */

import { VouchError } from '../../../core/errors.ts';
import type { AccessAction } from '../../../core/sites/access.ts';
import {
  formatTime,
  maxAccessRequestBytes,
  maxApprovalBytes,
  parseAccessRequest,
  parseTime,
} from '../../../core/sites/index.ts';
import { signApproval } from '../../../services/site/access.ts';
import { formatExportLine } from '../../../services/site/export.ts';
import type { EventKind } from '../../../services/site/reads.ts';
import { writeFileDurable } from '../../../storage/fs/durable.ts';
import { parseCommandLine, quote, required } from '../args.ts';
import { type CliIo, type Command, exitCodes, readInput, runSubcommand } from '../io.ts';
import { loadSigner } from '../load-key.ts';
import { openSiteData, personFrom, personOptions } from './site-data.ts';

const person = '--as ID --employer NAME --office CC --location CC --role ROLE';
const requestSynopsis = `vouch access request DIR --tenant ID ${person} --action access|export|erase --purpose NAME --justification TEXT --ticket REF --scope SCOPE [--duration SECONDS] [--out FILE]`;
const signSynopsis = 'vouch access approve --request FILE --key KEYFILE [--out FILE]';
const recordSynopsis = 'vouch access approve DIR --tenant ID --id REQUEST --approval FILE';
const listSynopsis = 'vouch access list DIR [--tenant ID] [--limit N]';
const readSynopsis = `vouch access read DIR --tenant ID --id REQUEST ${person} [--kind detection|update|sample] [--since TIME] [--until TIME] [--limit N]`;

const usage = `Usage:
  ${requestSynopsis}
      File a request for access to a tenant's data at the site in DIR. --action is the one thing
      the grant allows, named as the policy's action: access (read the data; \`read\` is accepted
      as another spelling), export (vouch site export) or erase (vouch site erase); it is part of
      what the customer signs, and a grant is refused for any other action. The grant window
      starts now and lasts --duration seconds (default 43200, 12 hours; at most 72 hours). Prints
      the request id; writes the request (what the customer signs) to FILE, or standard output.
  ${signSynopsis}
      The customer's side: sign a request with the tenant's approval key (a DSSE envelope over
      the canonical request) and write the approval to FILE, or standard output. What was
      approved (who, from where, which action on which scope, for how long) is printed to
      standard error.
  ${recordSynopsis}
      Record a customer's approval at the site; a forged approval (another key, another
      request) or one for an expired window is refused and nothing is stored.
  ${listSynopsis}
      List requests, newest first, with their status now.
  ${readSynopsis}
      Read a tenant's events under an approved, active grant, as JSON lines. The read is decided
      by the site's policy (staff outside Switzerland never read Swiss-only tenants' data) and
      recorded in the site's access ledger before anything is shown; a denial is recorded too.

--office and --location are ISO 3166-1 alpha-2 countries (GB, not UK); --location is where the
person physically is now. TIME is RFC 3339 UTC in whole seconds.
`;

function folder(command: string, synopsis: string, positionals: readonly string[]): string {
  const [dir, ...rest] = positionals;
  if (dir === undefined || rest.length > 0) {
    throw new VouchError('invalid-argument', `${command}: give exactly one site folder (usage: ${synopsis})`);
  }
  return dir;
}

function integer(value: unknown, flag: string, min: number, max: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number(value);
  if (!/^[0-9]{1,9}$/.test(value) || n < min || n > max) {
    throw new VouchError(
      'invalid-argument',
      `${flag} must be an integer from ${min} to ${max}, not ${quote(value)}`,
    );
  }
  return n;
}

/** actionFrom reads `--action`: required, so an export or erasure is always asked for by name. */
function actionFrom(value: unknown): AccessAction {
  const action = required('access request', requestSynopsis, value, '--action');
  if (action === 'read' || action === 'access') return 'access';
  if (action === 'export' || action === 'erase') return action;
  throw new VouchError(
    'invalid-argument',
    `access request: --action is access (or read), export or erase, not ${quote(action)}`,
    { field: 'action' },
  );
}

async function request(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'access request',
    requestSynopsis,
    args,
    {
      ...personOptions,
      tenant: { type: 'string' },
      action: { type: 'string' },
      purpose: { type: 'string' },
      justification: { type: 'string' },
      ticket: { type: 'string' },
      scope: { type: 'string' },
      duration: { type: 'string' },
      out: { type: 'string' },
    },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('access request', requestSynopsis, positionals);
  const who = personFrom('access request', requestSynopsis, values);
  const action = actionFrom(values.action);
  const duration = integer(values.duration, '--duration', 1, Number.MAX_SAFE_INTEGER);
  const data = await openSiteData(dir, io, { ledger: false });
  try {
    const filed = await data.staff.request({
      tenant: required('access request', requestSynopsis, values.tenant, '--tenant'),
      requester: {
        kind: 'person',
        id: who.id,
        employer: who.employer,
        officeCountry: who.officeCountry,
        physicalCountry: who.physicalCountry,
        role: who.role,
      },
      action,
      purpose: required('access request', requestSynopsis, values.purpose, '--purpose'),
      justification: required('access request', requestSynopsis, values.justification, '--justification'),
      ticket: required('access request', requestSynopsis, values.ticket, '--ticket'),
      scope: required('access request', requestSynopsis, values.scope, '--scope'),
      ...(duration === undefined ? {} : { duration }),
    });
    if (typeof values.out === 'string') {
      await writeFileDurable(values.out, filed.requestBytes);
      io.stdout(`${filed.request.id}\n`);
    } else {
      io.stdout(`${new TextDecoder().decode(filed.requestBytes)}\n`);
    }
    io.stderr(
      `vouch: request ${filed.request.id} to ${filed.request.action} tenant ${filed.request.tenant}'s data, valid ${formatTime(filed.check.notBefore)} to ${formatTime(filed.check.expires)}; status ${filed.check.status}\n`,
    );
    return exitCodes.ok;
  } finally {
    await data.close();
  }
}

async function approve(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'access approve',
    `${signSynopsis} | ${recordSynopsis}`,
    args,
    {
      request: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      tenant: { type: 'string' },
      id: { type: 'string' },
      approval: { type: 'string' },
    },
    true,
  );
  if (values.help === true) return help(io);
  if (typeof values.key === 'string') {
    if (positionals.length > 0) {
      throw new VouchError(
        'invalid-argument',
        `access approve: the customer signs offline, without a site folder (usage: ${signSynopsis})`,
      );
    }
    const requestBytes = await readInput(
      required('access approve', signSynopsis, values.request, '--request'),
      io,
      maxAccessRequestBytes,
    );
    const approval = await signApproval(requestBytes, await loadSigner(values.key, io));
    if (typeof values.out === 'string') await writeFileDurable(values.out, approval);
    else io.stdout(`${new TextDecoder().decode(approval)}\n`);
    const r = parseAccessRequest(requestBytes);
    io.stderr(
      `vouch: approved ${r.requester.id} (${r.requester.role}, ${r.requester.employer}, office ${r.requester.officeCountry ?? '?'}, in ${r.requester.physicalCountry ?? '?'}) to ${r.action} tenant ${r.tenant}'s ${r.scope} for ${r.purpose}, ticket ${r.ticket}, ${r.duration} seconds from ${r.requested}\n`,
    );
    return exitCodes.ok;
  }
  const dir = folder('access approve', recordSynopsis, positionals);
  const tenant = required('access approve', recordSynopsis, values.tenant, '--tenant');
  const id = required('access approve', recordSynopsis, values.id, '--id');
  const approval = await readInput(
    required('access approve', recordSynopsis, values.approval, '--approval'),
    io,
    maxApprovalBytes,
  );
  const data = await openSiteData(dir, io, { ledger: false });
  try {
    const view = await data.staff.approve(tenant, id, approval);
    io.stdout(`${id}\t${view.check.status}\tuntil ${formatTime(view.check.expires)}\n`);
    return exitCodes.ok;
  } finally {
    await data.close();
  }
}

async function list(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'access list',
    listSynopsis,
    args,
    { tenant: { type: 'string' }, limit: { type: 'string' } },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('access list', listSynopsis, positionals);
  const limit = integer(values.limit, '--limit', 1, 10_000) ?? 100;
  const data = await openSiteData(dir, io, { ledger: false });
  try {
    const views = await data.staff.list({
      ...(typeof values.tenant === 'string' ? { tenant: values.tenant } : {}),
      limit,
    });
    for (const v of views) {
      const r = v.request;
      io.stdout(
        `${r.id}\t${r.tenant}\t${r.requester.id} (${r.requester.role}, ${r.requester.employer})\t${r.action}\t${r.purpose}\t${r.scope}\t${r.ticket}\t${v.check.status}\t${formatTime(v.check.notBefore)}..${formatTime(v.check.expires)}\n`,
      );
    }
    return exitCodes.ok;
  } finally {
    await data.close();
  }
}

async function read(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'access read',
    readSynopsis,
    args,
    {
      ...personOptions,
      tenant: { type: 'string' },
      id: { type: 'string' },
      kind: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
    },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('access read', readSynopsis, positionals);
  const who = personFrom('access read', readSynopsis, values);
  const tenant = required('access read', readSynopsis, values.tenant, '--tenant');
  const id = required('access read', readSynopsis, values.id, '--id');
  const kind = typeof values.kind === 'string' ? values.kind : undefined;
  if (kind !== undefined && !['detection', 'update', 'sample'].includes(kind)) {
    throw new VouchError(
      'invalid-argument',
      `access read: --kind is detection, update or sample, not ${quote(kind)}`,
    );
  }
  const time = (flag: string, value: unknown): number | undefined =>
    typeof value === 'string' ? parseTime(value, flag) : undefined;
  const from = time('--since', values.since);
  const to = time('--until', values.until);
  const limit = integer(values.limit, '--limit', 1, 10_000) ?? 100;
  const data = await openSiteData(dir, io);
  try {
    const grant = await data.staff.grantFor(tenant, id);
    const result = await data.reads.read({
      reader: who,
      action: 'access',
      tenant,
      purpose: grant.request.purpose,
      justification: grant.request.justification,
      ticket: grant.request.ticket,
      grant,
      select: {
        ...(kind === undefined ? {} : { kind: kind as EventKind }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        limit,
      },
    });
    for (const event of result.events) io.stdout(formatExportLine(event));
    io.stderr(`vouch: ${result.events.length} events; recorded as ledger entry ${result.receipt.index}\n`);
    return exitCodes.ok;
  } finally {
    await data.close();
  }
}

function help(io: CliIo): number {
  io.stdout(usage);
  return exitCodes.ok;
}

/** accessCommand is `vouch access` with its subcommands `request`, `approve`, `list` and `read`. */
export const accessCommand: Command = {
  name: 'access',
  summary: 'request, approve and use staff access to customer data, recorded in the access ledger',
  usage,
  run: (args, io) => runSubcommand(args, io, usage, { request, approve, list, read }),
};
