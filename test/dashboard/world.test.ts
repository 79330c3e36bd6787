/**
 * The dashboard's verification model (src/faces/dashboard/world.ts) under Node, against a real
 * audited world served by the dashboard handler on loopback: what the page shows as verified
 * verifies, and what a lying server or a tampered file serves fails with the cause named.
 * (test/dashboard/browser.test.ts runs the same code in Chromium with the portable crypto.)
 */

import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { toBytes, toText } from '../../src/core/bytes/index.ts';
import {
  checkProofText,
  decodeLedgerEntry,
  decodeReleaseEntry,
  httpReader,
  loadIndex,
  offeredAnchors,
  openLog,
  openReport,
  openRepository,
  proveEntry,
} from '../../src/faces/dashboard/world.ts';
import { securityHeaders } from '../../src/faces/http/dashboard.ts';
import { type DashboardWorld, startDashboardWorld } from '../support/dashboard-world.ts';

let served: DashboardWorld;

function rawStatus(path: string): Promise<number | undefined> {
  const { hostname, port } = new URL(served.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}
before(async () => {
  served = await startDashboardWorld();
});
after(async () => {
  await served?.close();
});

test('the index names every material and offers the anchors of the audit configuration', async () => {
  const read = httpReader(new URL(served.url));
  const index = await loadIndex(read);
  assert.equal(index.releaseLog?.base, 'data/release-log/');
  assert.deepEqual(
    index.sites?.map((s) => s.site),
    ['ch-zrh'],
  );
  assert.equal(index.reports.length, 1);
  const anchors = offeredAnchors(index);
  assert.match(anchors.releaseLog ?? '', /^log /);
  assert.match(anchors.tufRoot ?? '', /^[0-9a-f]{64}$/);
  assert.equal(anchors.auditorVkey, served.auditorVkey);
});

test('the release log opens at a witnessed checkpoint, decodes its entries and proves each one', async () => {
  const url = new URL(served.url);
  const index = await loadIndex(httpReader(url));
  const log = await openLog(
    'release log',
    url,
    'data/release-log/',
    index.releaseLog?.policy ?? '',
    decodeReleaseEntry,
  );
  assert.equal(log.checkpoint.size, BigInt(served.world.entries.length));
  assert.ok(log.cosigners.length >= 1);
  assert.match(log.checkpointText, /^— /m, 'the note keeps its signature lines');
  const kinds = new Set(log.entries.map((e) => e.kind));
  for (const kind of ['metadata', 'provenance', 'rebuild']) assert.ok(kinds.has(kind), [...kinds].join(','));

  for (const entry of log.entries) {
    const proof = await proveEntry(log, entry.index);
    assert.ok(proof.check.ok, proof.check.ok ? '' : proof.check.error);
  }
  // The page lets a visitor edit a proof and check it again: any change fails, naming why.
  const first = log.entries[0];
  assert.ok(first !== undefined);
  const { proofText } = await proveEntry(log, first.index);
  const lines = proofText.split('\n');
  const hashLine = lines.findIndex((l, i) => i > 1 && /^[A-Za-z0-9+/]{43}=$/.test(l));
  assert.ok(hashLine > 0, proofText);
  const flipped = lines
    .map((l, i) => (i === hashLine ? `${l[0] === 'A' ? 'B' : 'A'}${l.slice(1)}` : l))
    .join('\n');
  const tampered = checkProofText(log.policy, first.bytes, flipped);
  assert.equal(tampered.ok, false);
  assert.match(tampered.ok ? '' : tampered.error, /^bad-proof:/);
  const otherEntry = checkProofText(log.policy, toBytes('something else'), proofText);
  assert.match(otherEntry.ok ? '' : otherEntry.error, /^bad-proof:/);
  const signatureCut = checkProofText(log.policy, first.bytes, proofText.replace(/\n— [^\n]*\n/, '\n'));
  assert.equal(signatureCut.ok, false);
});

test('a log opened under another policy (a pinned anchor the server does not match) fails', async () => {
  const url = new URL(served.url);
  const index = await loadIndex(httpReader(url));
  const site = index.sites?.[0];
  assert.ok(site !== undefined);
  // The ledger's policy for the release log: the release log's key is not in it.
  await assert.rejects(
    openLog('release log', url, 'data/release-log/', site.policy, decodeReleaseEntry),
    /origin|no-trusted-signature|policy/,
  );
  const ledger = await openLog(`ledger ${site.site}`, url, site.ledger, site.policy, decodeLedgerEntry);
  assert.ok(ledger.entries.length >= 2);
  assert.ok(ledger.entries.every((e) => e.kind === 'access'));
  assert.match(ledger.entries.map((e) => e.summary).join('\n'), /^allow access of jp-acme/m);
  const proof = await proveEntry(ledger, 0n);
  assert.ok(proof.check.ok);
});

test('the repository verifies from its first root; each release carries its evidence verdict and each version its log proof', async () => {
  const url = new URL(served.url);
  const read = httpReader(url);
  const index = await loadIndex(read);
  assert.ok(index.repository !== undefined);
  const repo = await openRepository(read, url, index.repository, offeredAnchors(index));
  assert.ok(repo.metadata.ok);
  assert.equal(repo.targetsSignedBy.length, repo.targetsThreshold);
  const product = repo.releases.find((r) => r.kind === 'product');
  assert.ok(product?.evidence?.ok, JSON.stringify(product?.evidence));
  assert.ok((product?.verdict?.matchingRebuilders ?? 0) >= 1);
  assert.ok(repo.files.length >= 3);
  for (const file of repo.files) assert.ok(file.logged.ok, `${file.file}: ${JSON.stringify(file.logged)}`);

  // Pinned anchors the server does not match: another first root, another release policy.
  await assert.rejects(
    openRepository(read, url, index.repository, { ...offeredAnchors(index), tufRoot: '00'.repeat(32) }),
    /first root metadata served is not the one pinned/,
  );
  await assert.rejects(
    openRepository(read, url, index.repository, {
      ...offeredAnchors(index),
      releaseLog: index.sites?.[0]?.policy,
    }),
    /another release log or witness quorum/,
  );
});

test('a signed audit report verifies with the auditor key and fails with another', async () => {
  const url = new URL(served.url);
  const read = httpReader(url);
  const index = await loadIndex(read);
  const entry = index.reports[0];
  assert.ok(entry !== undefined);
  const report = await openReport(read, entry, served.auditorVkey);
  assert.ok(report.signature.ok);
  assert.equal(report.result, 'PASSED');
  assert.deepEqual(report.findings, []);
  const unpinned = await openReport(read, entry, undefined);
  assert.match(unpinned.signature.ok ? '' : unpinned.signature.error, /no auditor key/);
  const impostor = await openReport(read, entry, index.sites?.[0]?.policy.split('\n')[0]?.slice(4) ?? '');
  assert.equal(impostor.signature.ok, false);
});

test('a tile altered on the server fails the log, naming the proof', async () => {
  const tiles = join(served.world.releaseLogDir, 'tile', '0');
  const names = (await readdir(tiles, { recursive: true })).filter((n) => /\d$/.test(n));
  const name = names.find((n) => !n.includes('entries'));
  assert.ok(name !== undefined, names.join(','));
  const file = join(tiles, name);
  const original = await readFile(file);
  try {
    const altered = Uint8Array.from(original);
    altered[0] = (altered[0] ?? 0) ^ 1;
    await writeFile(file, altered);
    const url = new URL(served.url);
    const index = await loadIndex(httpReader(url));
    await assert.rejects(
      openLog('release log', url, 'data/release-log/', index.releaseLog?.policy ?? '', decodeReleaseEntry),
      (error: Error & { code?: string }) => error.code === 'bad-proof',
    );
  } finally {
    await writeFile(file, original);
  }
});

test('every answer carries the security headers; only report names and public folders are served', async () => {
  const page = await fetch(served.url);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-security-policy'), securityHeaders['content-security-policy']);
  assert.match(await page.text(), /<script type="module" src="app\/faces\/dashboard\/app\.js">/);
  const app = await fetch(`${served.url}app/faces/dashboard/app.js`);
  assert.equal(app.headers.get('content-type'), 'text/javascript; charset=utf-8');
  const code = await app.text();
  assert.doesNotMatch(code, /from '[^.]/, 'only relative imports');
  assert.doesNotMatch(code, /\.ts'/, 'specifiers rewritten to .js');
  const crypto = await fetch(`${served.url}app/core/crypto/portable/index.js`);
  assert.equal(crypto.status, 200);
  assert.doesNotMatch(await crypto.text(), /(from|import)\s*'node:/);
  assert.equal(
    (await fetch(`${served.url}app/core/crypto/keys.js`)).status,
    404,
    'node:crypto modules are never shipped',
  );
  // Raw paths, as an attacker sends them (fetch would normalise the dots away).
  for (const path of [
    'data/reports/audit-state.json',
    'data/reports/../audit.json',
    'data/release-log/../audit.json',
    'data/release-log/%2e%2e/audit.json',
    'data/repo/..%2f..%2faudit.json',
    'data/sites/ch-zrh/ledger/../../../../auditor.key',
    'data/sites/xx-yyy/tenants.json',
    'app/../../core/crypto/keys.ts',
  ]) {
    assert.equal(await rawStatus(`${new URL(served.url).pathname}${path}`), 404, path);
  }
  const report = await fetch(`${served.url}data/reports/report.html`);
  assert.equal(report.status, 200);
  assert.match(
    report.headers.get('content-security-policy') ?? '',
    /default-src 'none'; style-src 'unsafe-inline'/,
  );
  assert.equal((await fetch(served.url, { method: 'POST' })).status, 405);
  assert.match(
    toText(new Uint8Array(await (await fetch(`${served.url}data/world.json`)).arrayBuffer())),
    /"auditorVkey"/,
  );
});
