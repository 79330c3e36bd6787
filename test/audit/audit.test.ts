/**
 * `vouch audit` end to end on worlds built from the real fixtures (test/support/audit-world.ts):
 * a clean world passes and writes a signed report and an HTML page; a forked release log, an
 * unapproved release, an unlogged targets version and an access from outside Switzerland each
 * fail with exit 1 and the violation named; a bad configuration exits 2 naming file and key.
 */

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStatement, parseEnvelope } from '../../src/core/attest/index.ts';
import { auditPredicateType } from '../../src/core/audit/report.ts';
import { parseAuditState } from '../../src/core/audit/state.ts';
import { formatHex, toBytes } from '../../src/core/bytes/index.ts';
import { createVerifier, sha256 } from '../../src/core/crypto/index.ts';
import { releaseRecord } from '../../src/core/release/record.ts';
import { auditCommand } from '../../src/faces/cli/commands/audit.ts';
import { readKeyFile } from '../../src/storage/fs/key-file.ts';
import { type AuditWorld, startAuditWorld } from '../support/audit-world.ts';
import { runCommand } from '../support/cli.ts';
import { serveStaticFolder } from '../support/static-log.ts';
import { repositoryName } from '../support/update-fixture.ts';

async function audit(world: AuditWorld): Promise<Awaited<ReturnType<typeof runCommand>>> {
  return runCommand(auditCommand, ['--config', world.config, '--state', world.state, '--out', world.out]);
}

test('a clean world passes, twice, and the report is a signed in-toto statement with an HTML page', async () => {
  const world = await startAuditWorld();
  try {
    const first = await audit(world);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /audit passed/);

    const envelope = parseEnvelope(await readFile(join(world.out, 'report.dsse.json')));
    const { material } = await readKeyFile(join(world.dir, 'auditor.key'), undefined);
    const verifier = createVerifier(material.keyType, material.publicKey);
    const { statement } = openStatement(envelope, [verifier], 1);
    assert.equal(statement.predicateType, auditPredicateType);
    const names = statement.subject.map((s) => s.name ?? '');
    assert.ok(names.includes(`${world.fixture.log.origin}@${world.entries.length}`), names.join(', '));
    assert.ok(names.some((n) => n.endsWith('/timestamp.json')));
    assert.ok(names.some((n) => /\/\d+\.snapshot\.json$/.test(n)));
    assert.equal(statement.predicate['result'], 'PASSED');

    const html = await readFile(join(world.out, 'report.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /Every promise held/);
    assert.doesNotMatch(html, /<script|<link|src=|url\(/i, 'no external resources');

    const state = parseAuditState(await readFile(join(world.state, 'audit-state.json')));
    assert.equal(state.logs.get(world.fixture.log.origin)?.size, BigInt(world.entries.length));
    assert.equal(state.repository?.targets, 1);

    // A second release, then a second audit: consistent growth, still clean.
    await world.fixture.releaseProduct('hello', '1.1.0');
    await world.syncReleaseLog();
    const second = await audit(world);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const after = parseAuditState(await readFile(join(world.state, 'audit-state.json')));
    assert.equal(after.repository?.targets, 2);
    assert.equal(after.history.length, 2);
  } finally {
    await world.close();
  }
});

test('a forked release log (another history under the same key) is named', async () => {
  const world = await startAuditWorld();
  try {
    assert.equal((await audit(world)).code, 0);
    await world.forkReleaseLog(world.entries.length + 2);
    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^fork: release log/m);
    // The state keeps the checkpoint seen before: the fork is reported again.
    assert.equal((await audit(world)).code, 1);
  } finally {
    await world.close();
  }
});

test('an unapproved release (vendor signature only) placed in the public folder is named', async () => {
  const world = await startAuditWorld();
  try {
    const bytes = toBytes('evil\n');
    const sha = formatHex(sha256(bytes));
    const path = 'products/evil/1.0.0/evil.tar.gz';
    await world.fixture.craft({
      targetsSigners: [world.fixture.parties.release.signer],
      targets: (t) => ({ ...t, [path]: { length: bytes.length, hashes: { sha256: sha } } }),
      files: { [`targets/products/evil/1.0.0/${sha}.evil.tar.gz`]: bytes },
    });
    await world.syncReleaseLog();
    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`^unapproved: ${path} — 2\\.targets\\.json lacks`, 'm'));
  } finally {
    await world.close();
  }
});

test('an unlogged targets version is named', async () => {
  const world = await startAuditWorld();
  try {
    await world.fixture.craft({ log: 'none' });
    await world.syncReleaseLog();
    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^unlogged: 2\.targets\.json/m);
    assert.match(run.stdout, /^unlogged: 2\.snapshot\.json/m);
    assert.doesNotMatch(run.stdout, /^unapproved/m);
  } finally {
    await world.close();
  }
});

test('two logged versions of one published file are named as an equivocation', async () => {
  const world = await startAuditWorld();
  try {
    // The repository logs a second, different 1.targets.json: it could show it to some clients.
    const other = toBytes('{"signed":{"_type":"targets","version":1},"signatures":[]}');
    await world.fixture.releaseLog.append(
      releaseRecord({ repository: repositoryName, file: '1.targets.json', bytes: other }),
    );
    await world.syncReleaseLog();
    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^equivocation: 1\.targets\.json — the release log holds two versions of it/m);
  } finally {
    await world.close();
  }
});

test('an access from outside Switzerland, ledgered as allowed, is named', async () => {
  const world = await startAuditWorld();
  try {
    assert.equal((await audit(world)).code, 0);
    const index = await world.ledgerAllowed({
      principal: {
        kind: 'person',
        id: 'mallory',
        employer: 'Vouch LLC',
        officeCountry: 'RU',
        physicalCountry: 'RU',
        role: 'support',
      },
    });
    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`^access outside CH: ledger ch-zrh entry ${index} `, 'm'));
    assert.match(run.stdout, new RegExp(`^decision: ledger ch-zrh entry ${index} `, 'm'));
    assert.doesNotMatch(run.stdout, /^fork/m);
  } finally {
    await world.close();
  }
});

test('a bad configuration exits 2 naming the file, the key and what was expected', async () => {
  const world = await startAuditWorld();
  try {
    const config = JSON.parse(await readFile(world.config, 'utf8')) as Record<string, unknown>;
    const bad = join(world.dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...config, sites: [{ site: 'ch-zrh' }] }));
    const run = await runCommand(auditCommand, ['--config', bad, '--state', world.state, '--out', world.out]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad\.json/);
    assert.match(run.stderr, /key sites\[0\]\.ledger: expected a string/);
    await writeFile(bad, JSON.stringify({ ...config, extra: 1 }));
    const extra = await runCommand(auditCommand, [
      '--config',
      bad,
      '--state',
      world.state,
      '--out',
      world.out,
    ]);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /key extra: expected no such key/);
  } finally {
    await world.close();
  }
});

test('the same world served over loopback HTTP (logs and public folder by URL) passes', async () => {
  const world = await startAuditWorld();
  const servers: { url: string; close: () => Promise<void> }[] = [];
  try {
    const config = JSON.parse(await readFile(world.config, 'utf8')) as {
      releaseLog: { location: string };
      repository: { location: string };
      sites: { ledger: string }[];
    };
    const releaseLog = await serveStaticFolder(world.releaseLogDir);
    servers.push(releaseLog);
    const site = config.sites[0];
    assert.ok(site !== undefined);
    const ledger = await serveStaticFolder(site.ledger);
    servers.push(ledger);
    config.releaseLog.location = releaseLog.url;
    config.repository.location = world.fixture.server.url;
    site.ledger = ledger.url;
    const file = join(world.dir, 'audit-http.json');
    await writeFile(file, JSON.stringify(config));
    const run = await runCommand(auditCommand, [
      '--config',
      file,
      '--state',
      world.state,
      '--out',
      world.out,
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.ok(world.fixture.server.requests.includes('timestamp.json'));
  } finally {
    for (const s of servers) await s.close();
    await world.close();
  }
});

test('an entry whose tenant record is not given is unverifiable, never passed', async () => {
  const world = await startAuditWorld();
  try {
    const index = await world.ledgerAllowed({ tenant: 'br-unknown' });
    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`^unverifiable: ledger ch-zrh entry ${index} — tenant br-unknown`, 'm'),
    );
  } finally {
    await world.close();
  }
});

test('a release whose rebuilds mismatch is named', async () => {
  const world = await startAuditWorld();
  try {
    await world.fixture.releaseProduct('hello', '2.0.0', { rebuilds: 'mismatch' });
    await world.syncReleaseLog();
    const run = await audit(world);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^rebuild: products\/hello\/2\.0\.0\/hello-2\.0\.0\.tar\.gz — rebuild: /m);
    assert.doesNotMatch(run.stdout, /^(unlogged|unapproved)/m);
  } finally {
    await world.close();
  }
});
