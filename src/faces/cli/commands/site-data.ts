/**
 * `vouch site export|erase|my-access|verify-access|jobs`: everything that reads customer data at
 * a site, or lets a customer check who did. It only wires: the read gate, the access ledger,
 * jobs, export and erasure are services/site/ (reads.ts, ledger.ts, jobs.ts, export.ts,
 * my-access.ts). These subcommands are mounted under `vouch site` ({@link siteDataSubcommands},
 * {@link siteDataUsage}); `vouch access` (./access.ts) shares {@link openSiteData}.
 *
 * A site's access ledger is a log folder at `DIR/ledger` (create it with `vouch log init --dir
 * DIR/ledger --origin ledger.<site>.vouch.example --key KEY --policy WITNESSES`); its tiles in
 * `DIR/ledger/tiles` are what customers and auditors read. Nothing is read from a site without
 * it: every command that reads opens the ledger, reconciles its tenant index, and fails closed
 * when the ledger cannot publish (no lease, witnesses unreachable).
 *
 * LIMIT: the person on whose behalf a command reads (`--as`, `--employer`, `--office`,
 * `--location`, `--role`) is stated on the command line, not authenticated; it is what the
 * policy decides on and the ledger records, so a false statement is on the record.
 */

import { join } from 'node:path';
import { VouchError } from '../../../core/errors.ts';
import { createNoteSigner } from '../../../core/note/index.ts';
import {
  assertCountryCode,
  type CountryCode,
  formatTime,
  parseTime,
  type SiteId,
} from '../../../core/sites/index.ts';
import { maxPolicyBytes } from '../../../core/tlog/policy.ts';
import { keyPathOf, LogService, readLogFolderConfig } from '../../../services/log/folder.ts';
import { StaffAccess } from '../../../services/site/access.ts';
import { isPostgresUrl } from '../../../services/site/config.ts';
import { eraseTenant, exportTenantToFile, type OfficerRequest } from '../../../services/site/export.ts';
import {
  formatCandidateFile,
  jobRegistration,
  runDetectionStatistics,
  runSampleTriage,
  writeCandidateFile,
} from '../../../services/site/jobs.ts';
import { Ledger } from '../../../services/site/ledger.ts';
import {
  formatMyAccess,
  maxMyAccessBytes,
  myAccess,
  verifyMyAccess,
} from '../../../services/site/my-access.ts';
import { SiteReads, type StaffReader } from '../../../services/site/reads.ts';
import { openSite, type Site } from '../../../services/site/site.ts';
import type { AccessStore } from '../../../storage/access.ts';
import { writeFileDurable } from '../../../storage/fs/durable.ts';
import { PgAccessStore } from '../../../storage/postgres/pg-access.ts';
import { openPgPool } from '../../../storage/postgres/pool.ts';
import { SqliteAccessStore } from '../../../storage/sqlite/sqlite-access.ts';
import { type OptionSpec, parseCommandLine, quote, required } from '../args.ts';
import { type CliIo, exitCodes, readInput, type Subcommand } from '../io.ts';
import { loadSigner } from '../load-key.ts';

/** SiteData is an opened site with its access ledger, read gate and staff access. */
export interface SiteData {
  readonly site: Site;
  readonly ledger: Ledger;
  readonly access: AccessStore;
  readonly reads: SiteReads;
  readonly staff: StaffAccess;
  close(): Promise<void>;
}

/**
 * openSiteData opens the site folder `dir`, its access store (in the site's database) and its
 * ledger (`dir/ledger`), reconciles the ledger's tenant index, and builds the gate. With
 * `ledger: false` (requests and approvals only) the ledger is not opened and reads fail closed.
 */
export async function openSiteData(
  dir: string,
  io: CliIo,
  options: { readonly ledger?: boolean } = {},
): Promise<SiteData> {
  const site = await openSite(dir);
  const closers: (() => Promise<void>)[] = [() => site.close()];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const ledgerDir = join(dir, 'ledger');
    const config = await readLogFolderConfig(ledgerDir).catch((error: unknown) => {
      throw new VouchError(
        'not-found',
        `site ${site.id} has no access ledger at ${ledgerDir}, so no data can be read; create it with vouch log init --dir ${ledgerDir} --origin ledger.${site.id}.vouch.example --key KEY --policy WITNESSES`,
        { key: ledgerDir },
        { cause: error },
      );
    });
    const database = site.config.database;
    let access: AccessStore;
    if (isPostgresUrl(database)) {
      const pool = openPgPool(database, 4);
      closers.push(() => pool.end());
      access = await PgAccessStore.open(
        pool,
        config.origin,
        site.config.databaseSchema === undefined ? {} : { schema: site.config.databaseSchema },
      );
    } else {
      access = SqliteAccessStore.open(site.configPath(database), config.origin);
      closers.push(() => access.close());
    }
    let service: LogService | undefined;
    if (options.ledger !== false) {
      const signer = createNoteSigner(await loadSigner(keyPathOf(ledgerDir, config), io));
      service = await LogService.start({
        dir: ledgerDir,
        signer,
        ...(isPostgresUrl(database) ? { databaseUrl: database } : {}),
        log: (line) => io.stderr(`vouch: ${line}\n`),
      });
      const running = service;
      closers.push(() => running.close());
    }
    const ledger = new Ledger({
      site: site.id as SiteId,
      log: () => service?.log,
      files: service?.files ?? { get: async () => undefined },
      index: access,
    });
    if (service !== undefined) await ledger.reconcile();
    const reads = new SiteReads({
      site: { id: site.id as SiteId, country: site.country as CountryCode },
      store: site.store,
      dataKey: (tenant) => site.dataKey(tenant),
      policy: site.policy,
      ledger,
      registry: site.registry.registry,
    });
    const staff = new StaffAccess({ site: site.id as SiteId, store: site.store, access });
    return { site, ledger, access, reads, staff, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** personOptions are the flags naming who a command acts for. */
export const personOptions: OptionSpec = {
  as: { type: 'string' },
  employer: { type: 'string' },
  office: { type: 'string' },
  location: { type: 'string' },
  role: { type: 'string' },
};

/** personFrom reads the person flags; `role` defaults to `defaultRole` when given. */
export function personFrom(
  command: string,
  synopsis: string,
  values: Record<string, unknown>,
  defaultRole?: string,
): StaffReader {
  const country = (flag: string): CountryCode => {
    const value = required(command, synopsis, values[flag], `--${flag}`);
    assertCountryCode(value, `--${flag}`);
    return value as CountryCode;
  };
  const role = typeof values['role'] === 'string' ? values['role'] : defaultRole;
  return {
    kind: 'person',
    id: required(command, synopsis, values['as'], '--as'),
    employer: required(command, synopsis, values['employer'], '--employer'),
    officeCountry: country('office'),
    physicalCountry: country('location'),
    role: required(command, synopsis, role, '--role'),
  };
}

function folder(command: string, synopsis: string, positionals: readonly string[]): string {
  const [dir, ...rest] = positionals;
  if (dir === undefined || rest.length > 0) {
    throw new VouchError('invalid-argument', `${command}: give exactly one site folder (usage: ${synopsis})`);
  }
  return dir;
}

function seconds(value: unknown, flag: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  return parseTime(value, flag);
}

async function withSiteData<T>(dir: string, io: CliIo, body: (data: SiteData) => Promise<T>): Promise<T> {
  const data = await openSiteData(dir, io);
  try {
    return await body(data);
  } finally {
    await data.close();
  }
}

const person = '--as ID --employer NAME --office CC --location CC';
const exportSynopsis = `vouch site export DIR --tenant ID --out FILE ${person} [--role ROLE] --justification TEXT --ticket REF [--request ID]`;
const eraseSynopsis = `vouch site erase DIR --tenant ID ${person} [--role ROLE] --justification TEXT --ticket REF [--request ID]`;
const myAccessSynopsis = 'vouch site my-access DIR --tenant ID [--from INDEX] [--out FILE]';
const verifyAccessSynopsis = 'vouch site verify-access FILE --tenant ID --ledger-vkey VKEY --policy FILE';
const jobsSynopsis =
  'vouch site jobs run DIR --job detection-statistics|sample-triage --tenant ID [--since TIME] [--until TIME] [--out FILE]';

/** siteDataUsage documents the subcommands of {@link siteDataSubcommands}, for `vouch site --help`. */
export const siteDataUsage = `  ${exportSynopsis}
  ${eraseSynopsis}
  ${myAccessSynopsis}
  ${verifyAccessSynopsis}
  ${jobsSynopsis}

Reading customer data needs the site's access ledger, a log folder at DIR/ledger (vouch log init
--dir DIR/ledger --origin ledger.SITE.vouch.example --key KEY --policy WITNESSES). Every read is
decided by the Cedar policy and recorded in the ledger, witnessed, before any data is released;
a denied read is recorded too.

export writes the tenant's decrypted events as JSON lines to FILE (mode 0600, never over an
existing file). erase destroys the tenant's data key and events; reads fail afterwards. Both need
a privacy officer (--role defaults to privacy-officer) with a justification and a ticket, and,
where the tenant's contract requires it, --request ID: an access request the customer approved
for exactly this action (vouch access request --action export, or --action erase). --office and
--location are ISO 3166-1 alpha-2 countries (GB, not UK).

my-access writes the tenant's ledger entries with tlog-proofs (to FILE or standard output), which
the customer checks offline with verify-access against the ledger's verifier key and the
witness policy (C2SP tlog-policy), for the tenant it names (a file of another tenant is refused);
verify-access prints one line per verified entry: index, time, decision, who, purpose, action
(read, process, access, export or erase), scope, count and reasons.

jobs run runs a registered processing job at this site, reading only through the ledger:
detection-statistics prints counts per day and signature (tab-separated); sample-triage writes
candidate hash signatures (rules source format, sha256:size:name) to FILE (or prints them).
TIME is RFC 3339 UTC in whole seconds.
`;

async function officerRequest(
  command: string,
  synopsis: string,
  values: Record<string, unknown>,
  data: SiteData,
): Promise<OfficerRequest> {
  const tenant = required(command, synopsis, values['tenant'], '--tenant');
  const requestId = typeof values['request'] === 'string' ? values['request'] : undefined;
  const view = requestId === undefined ? undefined : await data.staff.get(tenant, requestId);
  return {
    officer: personFrom(command, synopsis, values, 'privacy-officer'),
    tenant,
    justification: required(command, synopsis, values['justification'], '--justification'),
    ticket: required(command, synopsis, values['ticket'], '--ticket'),
    ...(view === undefined
      ? {}
      : {
          purpose: view.request.purpose,
          grant:
            view.approval === undefined
              ? { request: view.request }
              : { request: view.request, approval: view.approval },
        }),
  };
}

const officerOptions: OptionSpec = {
  ...personOptions,
  tenant: { type: 'string' },
  justification: { type: 'string' },
  ticket: { type: 'string' },
  request: { type: 'string' },
};

async function exportCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'site export',
    exportSynopsis,
    args,
    { ...officerOptions, out: { type: 'string' } },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('site export', exportSynopsis, positionals);
  const out = required('site export', exportSynopsis, values.out, '--out');
  return withSiteData(dir, io, async (data) => {
    const request = await officerRequest('site export', exportSynopsis, values, data);
    const result = await exportTenantToFile(data.reads, request, out);
    io.stdout(
      `${JSON.stringify({ tenant: request.tenant, events: result.events, out, ledger: result.ledger.map(String) })}\n`,
    );
    return exitCodes.ok;
  });
}

async function eraseCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine('site erase', eraseSynopsis, args, officerOptions, true);
  if (values.help === true) return help(io);
  const dir = folder('site erase', eraseSynopsis, positionals);
  return withSiteData(dir, io, async (data) => {
    const request = await officerRequest('site erase', eraseSynopsis, values, data);
    const result = await eraseTenant(data.reads, data.site.store, request);
    data.site.forgetKey(request.tenant);
    io.stdout(
      `${JSON.stringify({ tenant: request.tenant, erased: result.events, erasedAt: result.erasedAt, ledger: String(result.receipt.index) })}\n`,
    );
    return exitCodes.ok;
  });
}

async function myAccessCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'site my-access',
    myAccessSynopsis,
    args,
    { tenant: { type: 'string' }, from: { type: 'string' }, out: { type: 'string' } },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('site my-access', myAccessSynopsis, positionals);
  const tenant = required('site my-access', myAccessSynopsis, values.tenant, '--tenant');
  let from: bigint | undefined;
  if (typeof values.from === 'string') {
    if (!/^(0|[1-9][0-9]{0,17})$/.test(values.from)) {
      throw new VouchError(
        'invalid-argument',
        `site my-access: --from must be a ledger index, not ${quote(values.from)}`,
      );
    }
    from = BigInt(values.from);
  }
  return withSiteData(dir, io, async (data) => {
    const file = formatMyAccess(await myAccess(data.ledger, tenant, from === undefined ? {} : { from }));
    if (typeof values.out === 'string') await writeFileDurable(values.out, file);
    else io.stdout(`${new TextDecoder().decode(file)}\n`);
    return exitCodes.ok;
  });
}

async function verifyAccessCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'site verify-access',
    verifyAccessSynopsis,
    args,
    { 'ledger-vkey': { type: 'string' }, policy: { type: 'string' }, tenant: { type: 'string' } },
    true,
  );
  if (values.help === true) return help(io);
  const path = folder('site verify-access', verifyAccessSynopsis, positionals);
  const vkey = required('site verify-access', verifyAccessSynopsis, values['ledger-vkey'], '--ledger-vkey');
  const policyPath = required('site verify-access', verifyAccessSynopsis, values.policy, '--policy');
  const tenant = required('site verify-access', verifyAccessSynopsis, values.tenant, '--tenant');
  const file = await readInput(path, io, maxMyAccessBytes);
  const policy = await readInput(policyPath, io, maxPolicyBytes);
  const verified = verifyMyAccess(file, vkey, policy, { tenant });
  for (const { index, entry } of verified.entries) {
    const who = `${entry.principal.kind} ${entry.principal.id} (${entry.principal.role}${
      entry.principal.physicalCountry === undefined ? '' : `, in ${entry.principal.physicalCountry}`
    })`;
    io.stdout(
      `${index}\t${entry.time}\t${entry.decision}\t${who}\t${entry.purpose}\t${entry.action}\t${entry.scope}\t${entry.count}\t${entry.reasons.join('; ')}\n`,
    );
  }
  io.stderr(
    `vouch: verified ${verified.entries.length} entries of tenant ${verified.tenant} in ${verified.origin}, cosigned by ${
      verified.cosigners.map((c) => c.witness).join(', ') || 'no witness (empty file)'
    }\n`,
  );
  return exitCodes.ok;
}

async function jobsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'run') {
    io.stderr(`Usage:\n  ${jobsSynopsis}\n`);
    return exitCodes.usage;
  }
  const { values, positionals } = parseCommandLine(
    'site jobs run',
    jobsSynopsis,
    rest,
    {
      job: { type: 'string' },
      tenant: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      out: { type: 'string' },
    },
    true,
  );
  if (values.help === true) return help(io);
  const dir = folder('site jobs run', jobsSynopsis, positionals);
  const job = jobRegistration(required('site jobs run', jobsSynopsis, values.job, '--job'));
  const tenant = required('site jobs run', jobsSynopsis, values.tenant, '--tenant');
  const from = seconds(values.since, '--since');
  const to = seconds(values.until, '--until');
  const window = { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
  return withSiteData(dir, io, async (data) => {
    if (job.purpose === 'detection-statistics') {
      const stats = await runDetectionStatistics(data.reads, tenant, window);
      for (const row of stats.rows) io.stdout(`${row.day}\t${row.signature}\t${row.count}\n`);
      io.stderr(`vouch: counted ${stats.events} detections; ledger entries ${stats.ledger.join(', ')}\n`);
      return exitCodes.ok;
    }
    const triage = await runSampleTriage(data.reads, tenant, window);
    const file = formatCandidateFile(triage, {
      site: data.site.id as SiteId,
      time: formatTime(Math.floor(Date.now() / 1000)),
    });
    if (typeof values.out === 'string') await writeCandidateFile(values.out, file);
    else io.stdout(new TextDecoder().decode(file));
    io.stderr(
      `vouch: ${triage.candidates.length} candidates from ${triage.samples} samples; ledger entries ${triage.ledger.join(', ')}\n`,
    );
    return exitCodes.ok;
  });
}

function help(io: CliIo): number {
  io.stdout(`Usage:\n${siteDataUsage}`);
  return exitCodes.ok;
}

/**
 * siteDataSubcommands are the subcommands to mount under `vouch site` (add them to its
 * runSubcommand table, and {@link siteDataUsage} to its usage): `export`, `erase`, `my-access`,
 * `verify-access` and `jobs` (`jobs run`).
 */
export const siteDataSubcommands: Readonly<Record<string, Subcommand>> = Object.freeze({
  export: exportCommand,
  erase: eraseCommand,
  'my-access': myAccessCommand,
  'verify-access': verifyAccessCommand,
  jobs: jobsCommand,
});
