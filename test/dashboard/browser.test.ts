/**
 * The dashboard in real headless Chromium (Debian's, driven by playwright-core), against an
 * audited world served on loopback: every page renders with its checks passing, every link
 * works, an entry's proof verifies in the browser with the portable crypto, and a tampered proof,
 * a tile altered in transit and pinned anchors the server does not match are each shown failing.
 * Skipped without Chromium; a failure under CI.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../support/chromium.ts';
import { type DashboardWorld, startDashboardWorld } from '../support/dashboard-world.ts';

const skip = chromiumMissing();
let served: DashboardWorld;
let browser: Browser;

before(async () => {
  if (skip !== undefined) return;
  served = await startDashboardWorld();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await served?.close();
});

/**
 * InPage types `document` for the callbacks that run in the browser: these tests type-check
 * without the DOM library, and the page's Content Security Policy forbids evaluating strings,
 * so they are functions reaching `document` through globalThis (serialised, without closures).
 */
type InPage = { document: { body: { dataset: { page?: string; rendered?: string } } } };

/** open loads a route in a fresh page and waits until it has rendered; page errors fail the test. */
async function open(route: string, setup?: (page: Page) => Promise<void>): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await setup?.(page);
  await page.goto(`${served.url}#/${route}`);
  await rendered(page, route === '' ? 'overview' : route);
  assert.deepEqual(errors, []);
  return page;
}

async function rendered(page: Page, name: string): Promise<void> {
  await page.waitForFunction(
    (n) => (globalThis as unknown as InPage).document.body.dataset.page === n,
    name,
    { timeout: 60_000 },
  );
}

async function checks(page: Page): Promise<{ ok: number; failed: string[] }> {
  const lines = await page.$$eval('.check-line', (els) =>
    els.map((el) => ({ ok: el.getAttribute('data-ok') === 'true', text: el.textContent ?? '' })),
  );
  return { ok: lines.filter((l) => l.ok).length, failed: lines.filter((l) => !l.ok).map((l) => l.text) };
}

test('the overview verifies every part in the browser', { skip }, async () => {
  const page = await open('');
  const { ok, failed } = await checks(page);
  assert.deepEqual(failed, []);
  assert.ok(ok >= 4, `only ${ok} checks`);
  const text = (await page.textContent('main')) ?? '';
  assert.match(text, new RegExp(`${served.world.entries.length} entries`));
  assert.match(text, /PASSED/);
  assert.equal(await page.$$eval('.error', (els) => els.length), 0);
  await page.context().close();
});

test('every link of the navigation leads to a page that renders with its checks passing', {
  skip,
}, async () => {
  const page = await open('');
  const links = await page.$$eval('header nav a', (as) => as.map((a) => a.getAttribute('href') ?? ''));
  assert.deepEqual(links, ['#/', '#/log', '#/releases', '#/rules', '#/sites', '#/audits', '#/trust']);
  const headings: Record<string, string> = {
    '#/': 'Overview',
    '#/log': 'Release log',
    '#/releases': 'Releases',
    '#/rules': 'Rule databases',
    '#/sites': 'Sites',
    '#/audits': 'Audits',
    '#/trust': 'Trust',
  };
  // The overview is open already: visit it last, so that each click changes the page.
  for (const href of [...links.slice(1), links[0] as string]) {
    const before = await page.evaluate(
      () => (globalThis as unknown as InPage).document.body.dataset.rendered,
    );
    await page.click(`header nav a[href="${href}"]`);
    await page.waitForFunction(
      (b) => (globalThis as unknown as InPage).document.body.dataset.rendered !== b,
      before,
      { timeout: 60_000 },
    );
    assert.equal(await page.textContent('main h1'), headings[href]);
    assert.equal(await page.getAttribute('header nav a.active', 'href'), href);
    const { failed } = await checks(page);
    assert.deepEqual(failed, [], href);
  }
  // The release table links downloads to the repository's targets, and the audit to its page.
  await page.click('header nav a[href="#/releases"]');
  await rendered(page, 'releases');
  const download = await page.getAttribute('table.releases a[download]', 'href');
  assert.ok(download !== null);
  const target = await page.request.get(download);
  assert.equal(target.status(), 200);
  await page.click('header nav a[href="#/audits"]');
  await rendered(page, 'audits');
  const reportHref = await page.getAttribute('.report a', 'href');
  assert.ok(reportHref !== null);
  await page.click('.report a');
  await page.waitForURL(/report\.html$/);
  assert.match((await page.textContent('body')) ?? '', /Every promise held/);
  await page.context().close();
});

test('an entry proof verifies in the browser, and the same proof tampered is shown failing', {
  skip,
}, async () => {
  const page = await open('log');
  const last = served.world.entries.length - 1;
  await page.click(`tr[data-entry="${last}"]`);
  await page.waitForSelector('.proof-result .check-line');
  assert.equal(await page.getAttribute('.proof-result .check-line', 'data-ok'), 'true');
  assert.match((await page.textContent('.proof-result')) ?? '', /included in the log/);
  const proof = await page.inputValue('textarea.proof');
  assert.match(proof, /^c2sp\.org\/tlog-proof@v1\nindex \d+\n/);

  // Change one hash of the proof (or, for a one-entry proof, the checkpoint's root) and check again.
  const lines = proof.split('\n');
  const at = lines.findIndex((l, i) => i >= 2 && /^[A-Za-z0-9+/]{43}=$/.test(l));
  assert.ok(at >= 2, proof);
  lines[at] = `${lines[at]?.[0] === 'A' ? 'B' : 'A'}${lines[at]?.slice(1)}`;
  await page.fill('textarea.proof', lines.join('\n'));
  await page.click('button.recheck');
  await page.waitForSelector('.proof-result .check-line[data-ok="false"]');
  assert.match((await page.textContent('.proof-result')) ?? '', /proof does not verify.*bad-proof/s);
  // Restored, it verifies again.
  await page.fill('textarea.proof', proof);
  await page.click('button.recheck');
  await page.waitForSelector('.proof-result .check-line[data-ok="true"]');
  await page.context().close();
});

test('a tile altered in transit by the server is shown failing, not trusted', { skip }, async () => {
  const page = await open('log', async (p) => {
    await p.route('**/data/release-log/tile/0/**', async (route) => {
      const response = await route.fetch();
      const body = Buffer.from(await response.body());
      body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 0x80;
      await route.fulfill({ response, body });
    });
  });
  const error = (await page.textContent('.error')) ?? '';
  assert.match(error, /The release log could not be verified: bad-proof/);
  await page.context().close();
});

test('anchors pinned in the browser rule: a server that does not match them fails its checks', {
  skip,
}, async () => {
  const page = await open('trust');
  const anchors = JSON.parse(await page.inputValue('textarea.anchors')) as Record<string, unknown>;
  assert.match(String(anchors['tufRoot']), /^[0-9a-f]{64}$/);
  // The visitor pins a TUF root and an auditor key other than the server's.
  const ledgerKey = String(Object.values(anchors['sites'] as Record<string, string>)[0])
    .split('\n')[0]
    ?.slice(4);
  const pinned = { ...anchors, tufRoot: 'ab'.repeat(32), auditorVkey: ledgerKey };
  await page.fill('textarea.anchors', JSON.stringify(pinned));
  await Promise.all([page.waitForEvent('load'), page.click('button.pin')]);
  await rendered(page, 'trust');
  assert.match((await page.textContent('main')) ?? '', /anchors you pinned/);
  assert.match(
    (await page.textContent('main')) ?? '',
    /The server offers other anchors than the ones you pinned/,
  );

  await page.click('header nav a[href="#/releases"]');
  await rendered(page, 'releases');
  assert.match((await page.textContent('.error')) ?? '', /first root metadata served is not the one pinned/);
  await page.click('header nav a[href="#/audits"]');
  await rendered(page, 'audits');
  const { failed } = await checks(page);
  assert.equal(failed.length, 1);
  assert.match(failed[0] ?? '', /signature not verified/);

  // Forgetting the pins goes back to the server's anchors.
  await page.click('header nav a[href="#/trust"]');
  await rendered(page, 'trust');
  await Promise.all([page.waitForEvent('load'), page.click('button.forget')]);
  await rendered(page, 'trust');
  assert.match((await page.textContent('main')) ?? '', /anchors this server offers/);
  await page.context().close();
});
