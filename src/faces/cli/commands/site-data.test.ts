/**
 * The staff-access and site-data commands end to end, in process: a site folder (ch-zrh) with a
 * witnessed access ledger (`vouch log init` with a 2-of-2 policy whose witnesses are real
 * witness servers on 127.0.0.1), a customer whose contract requires its approval, and the flow
 * request → customer approval → recorded approval → staff read (allowed in CH, denied abroad) →
 * jobs → my-access verified offline with the witness quorum → export and erasure.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCommand } from '../../../../test/support/cli.ts';
import { createSigner, generateKey } from '../../../core/crypto/index.ts';
import { verifierSet } from '../../../core/note/index.ts';
import {
  formatTelemetryEvent,
  parseTime,
  sealEvent,
  type TelemetryEvent,
  telemetryEventId,
} from '../../../core/sites/index.ts';
import { createCheckpointVerifier } from '../../../core/tlog/cosignature.ts';
import { openSite, testingOnlySiteFolder } from '../../../services/site/site.ts';
import { Witness } from '../../../services/witness/witness.ts';
import { MemoryCasStore } from '../../../storage/memory/memory.ts';
import { type RunningServer, serve } from '../../http/http.ts';
import { createWitnessHandler } from '../../http/witness.ts';
import type { Command } from '../io.ts';
import { accessCommand } from './access.ts';
import { keyCommand } from './key.ts';
import { logCommand } from './log.ts';
import { siteDataSubcommands, siteDataUsage } from './site-data.ts';

// The integrator mounts these under `vouch site`; the test mounts them the same way.
const site: Command = {
  name: 'site',
  summary: 'site data',
  usage: siteDataUsage,
  run: async (args, io) => {
    const [name, ...rest] = args;
    const sub = name === undefined ? undefined : siteDataSubcommands[name];
    if (sub === undefined) return 2;
    return sub(rest, io);
  },
};

const origin = 'ledger.ch-zrh.vouch.example';
let dir = '';
let siteDir = '';
let ledgerVkey = '';
const servers: RunningServer[] = [];
const person = ['--as', 'alice', '--employer', 'Vouch AG', '--office', 'CH', '--role', 'support'];

async function ok(command: Command, args: string[]): Promise<string> {
  const run = await runCommand(command, args);
  assert.equal(run.code, 0, `${command.name} ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vouch-site-data-'));
  siteDir = join(dir, 'site');
  await testingOnlySiteFolder(siteDir, { site: 'ch-zrh' });
  const approverVkey = (
    await ok(keyCommand, [
      'generate',
      '--type',
      'ed25519',
      '--name',
      'acme-approver',
      '--out',
      join(dir, 'acme.key'),
      '--unencrypted',
    ])
  ).trim();
  ledgerVkey = (
    await ok(keyCommand, [
      'generate',
      '--type',
      'ed25519',
      '--name',
      origin,
      '--out',
      join(dir, 'ledger.key'),
      '--unencrypted',
    ])
  ).trim();

  const store = new MemoryCasStore();
  const lines = [`log ${ledgerVkey}`];
  for (const n of [1, 2]) {
    const name = `witness${n}.supervisor.example`;
    const witness = new Witness({
      name,
      keys: [createSigner(name, generateKey('ed25519'))],
      logs: (o) => (o === origin ? verifierSet([createCheckpointVerifier(ledgerVkey)]) : undefined),
      store,
      now: () => BigInt(Math.floor(Date.now() / 1000)),
    });
    const server = await serve(createWitnessHandler({ witness }), {
      host: '127.0.0.1',
      port: 0,
      log: () => undefined,
    });
    servers.push(server);
    lines.push(`witness w${n} ${witness.vkeys[0]} ${server.url}/`);
  }
  lines.push('group both all w1 w2', 'quorum both', '');
  writeFileSync(join(dir, 'witnesses.txt'), lines.join('\n'));
  await ok(logCommand, [
    'init',
    '--dir',
    join(siteDir, 'ledger'),
    '--origin',
    origin,
    '--key',
    join(dir, 'ledger.key'),
    '--policy',
    join(dir, 'witnesses.txt'),
    '--batch-age-ms',
    '1',
  ]);

  const opened = await openSite(siteDir);
  try {
    await opened.addTenant({
      id: 'acme',
      contractCountry: 'JP',
      approvalKey: approverVkey,
      approvalRequired: true,
    });
    await opened.addTenant({ id: 'opentech', contractCountry: 'US' });
    const events: TelemetryEvent[] = [
      {
        kind: 'detection',
        time: '2025-03-01T08:00:00Z',
        sha256: 'a'.repeat(64),
        signature: 'Win.Test.EICAR',
        database: 'main',
        databaseVersion: '62',
      },
      {
        kind: 'sample',
        sha256: 'b'.repeat(64),
        size: 2048,
        fileType: 'pe32',
        firstSeen: '2025-03-01T08:05:00Z',
        name: 'invoice.exe',
      },
    ];
    for (const tenant of ['acme', 'opentech']) {
      const key = await opened.dataKey(tenant);
      const batchId = `${tenant}-batch-0000000001`;
      const rows = events.map((event, i) => {
        const eventId = telemetryEventId(batchId, i);
        return {
          tenant,
          eventId,
          kind: event.kind,
          time: parseTime(event.kind === 'sample' ? event.firstSeen : event.time),
          sealed: sealEvent(key, { tenant, site: 'ch-zrh', eventId }, formatTelemetryEvent(event)),
        };
      });
      await opened.store.storeBatch(tenant, batchId, new Uint8Array(32).fill(tenant.length), rows);
    }
  } finally {
    await opened.close();
  }
});

after(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('vouch access: request, customer approval, list, and a read allowed in CH and denied abroad', async () => {
  const requestFile = join(dir, 'request.json');
  const id = (
    await ok(accessCommand, [
      'request',
      siteDir,
      '--tenant',
      'acme',
      ...person,
      '--location',
      'CH',
      '--action',
      'read',
      '--purpose',
      'support',
      '--justification',
      'false positive on invoice.exe',
      '--ticket',
      'SUP-1234',
      '--scope',
      'telemetry',
      '--out',
      requestFile,
    ])
  ).trim();
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.match(
    readFileSync(requestFile, 'utf8'),
    /"action":"access"/,
    'read is filed as the policy action access',
  );
  assert.match(
    await ok(accessCommand, ['list', siteDir, '--tenant', 'acme']),
    /\taccess\tsupport\t.*\tmissing\t/,
  );
  const noAction = await runCommand(accessCommand, [
    'request',
    siteDir,
    '--tenant',
    'acme',
    ...person,
    '--location',
    'CH',
    '--purpose',
    'support',
    '--justification',
    'x',
    '--ticket',
    'SUP-1',
    '--scope',
    'telemetry',
  ]);
  assert.equal(noAction.code, 2, noAction.stderr);
  assert.match(noAction.stderr, /--action/);

  const approval = join(dir, 'approval.json');
  const signed = await runCommand(accessCommand, [
    'approve',
    '--request',
    requestFile,
    '--key',
    join(dir, 'acme.key'),
    '--out',
    approval,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(
    signed.stderr,
    /approved alice \(support, Vouch AG, office CH, in CH\) to access tenant acme's telemetry/,
  );
  const forged = join(dir, 'forged.json');
  await ok(keyCommand, [
    'generate',
    '--type',
    'ed25519',
    '--name',
    'acme-approver',
    '--out',
    join(dir, 'forger.key'),
    '--unencrypted',
  ]);
  await ok(accessCommand, [
    'approve',
    '--request',
    requestFile,
    '--key',
    join(dir, 'forger.key'),
    '--out',
    forged,
  ]);
  const refused = await runCommand(accessCommand, [
    'approve',
    siteDir,
    '--tenant',
    'acme',
    '--id',
    id,
    '--approval',
    forged,
  ]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /not signed by the tenant's approval key/);
  assert.match(
    await ok(accessCommand, ['approve', siteDir, '--tenant', 'acme', '--id', id, '--approval', approval]),
    /\tactive\t/,
  );

  const read = await ok(accessCommand, [
    'read',
    siteDir,
    '--tenant',
    'acme',
    '--id',
    id,
    ...person,
    '--location',
    'CH',
  ]);
  assert.equal(read.trim().split('\n').length, 2);
  assert.match(read, /Win\.Test\.EICAR/);

  const abroad = await runCommand(accessCommand, [
    'read',
    siteDir,
    '--tenant',
    'acme',
    '--id',
    id,
    ...person,
    '--location',
    'DE',
  ]);
  assert.equal(abroad.code, 1);
  assert.match(abroad.stderr, /forbid: neutral-staff-located-in-ch/);
  assert.equal(abroad.stdout, '', 'nothing is released');
});

test('vouch site jobs run, my-access and verify-access with the witness quorum', async () => {
  const stats = await ok(site, ['jobs', 'run', siteDir, '--job', 'detection-statistics', '--tenant', 'acme']);
  assert.equal(stats, '2025-03-01\tWin.Test.EICAR\t1\n');
  const candidates = join(dir, 'triage.hsb');
  await ok(site, ['jobs', 'run', siteDir, '--job', 'sample-triage', '--tenant', 'acme', '--out', candidates]);
  assert.match(
    readFileSync(candidates, 'utf8'),
    new RegExp(`^${'b'.repeat(64)}:2048:Vouch\\.Triage\\.pe32\\.b{16}$`, 'm'),
  );

  const file = join(dir, 'my-access.json');
  await ok(site, ['my-access', siteDir, '--tenant', 'acme', '--out', file]);
  const verified = await runCommand(site, [
    'verify-access',
    file,
    '--ledger-vkey',
    ledgerVkey,
    '--policy',
    join(dir, 'witnesses.txt'),
    '--tenant',
    'acme',
  ]);
  assert.equal(verified.code, 0, verified.stderr);
  const rows = verified.stdout.trim().split('\n');
  assert.ok(
    rows.some((r) => r.includes('\tdeny\tperson alice (support, in DE)')),
    verified.stdout,
  );
  assert.ok(
    rows.some((r) => r.includes('\tallow\tjob detection-statistics')),
    verified.stdout,
  );
  assert.match(verified.stderr, /cosigned by w1, w2/);

  const other = await runCommand(site, [
    'verify-access',
    file,
    '--ledger-vkey',
    ledgerVkey,
    '--policy',
    join(dir, 'witnesses.txt'),
    '--tenant',
    'opentech',
  ]);
  assert.equal(other.code, 1);

  const noTenant = await runCommand(site, [
    'verify-access',
    file,
    '--ledger-vkey',
    ledgerVkey,
    '--policy',
    join(dir, 'witnesses.txt'),
  ]);
  assert.equal(noTenant.code, 2, 'a customer names the tenant whose entries it expects');
  assert.match(noTenant.stderr, /--tenant/);
  assert.equal(noTenant.stdout, '');
});

test('vouch site export and erase by a privacy officer; reads fail after erasure', async () => {
  const officer = ['--as', 'olga', '--employer', 'Vouch AG', '--office', 'CH', '--location', 'CH'];
  const out = join(dir, 'opentech.jsonl');
  const denied = await runCommand(site, [
    'export',
    siteDir,
    '--tenant',
    'opentech',
    '--out',
    out,
    ...officer,
    '--role',
    'support',
    '--justification',
    'asked',
    '--ticket',
    'DPO-1',
  ]);
  assert.equal(denied.code, 1);
  await ok(site, [
    'export',
    siteDir,
    '--tenant',
    'opentech',
    '--out',
    out,
    ...officer,
    '--justification',
    'customer asked',
    '--ticket',
    'DPO-1',
  ]);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 2);
  assert.equal(statSync(out).mode & 0o777, 0o600);

  await ok(site, [
    'erase',
    siteDir,
    '--tenant',
    'opentech',
    ...officer,
    '--justification',
    'contract ended',
    '--ticket',
    'DPO-2',
  ]);
  const after = await runCommand(site, [
    'jobs',
    'run',
    siteDir,
    '--job',
    'detection-statistics',
    '--tenant',
    'opentech',
  ]);
  assert.equal(after.code, 2);
  assert.match(after.stderr, /erased at/);
});
