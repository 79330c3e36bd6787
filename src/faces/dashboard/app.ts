/**
 * The dashboard page (docs/dashboard.md): a hash-routed page that loads the world's raw signed
 * files, verifies them with world.ts, and shows what held and what did not. Every section is
 * loaded on first view and kept; a failure in one section is shown there and leaves the others
 * working. Trust anchors are the server's unless the visitor pinned their own (Trust page),
 * kept in this browser's localStorage.
 */

import { formatHex, toBytes } from '../../core/bytes/index.ts';
import { sha256 } from '../../core/crypto/index.ts';
import { append, type Child, checkLine, h, short } from './dom.ts';
import {
  type Anchors,
  type Check,
  checkProofText,
  type DecodedEntry,
  decodeLedgerEntry,
  decodeReleaseEntry,
  describeError,
  failed,
  httpReader,
  type LogView,
  loadIndex,
  offeredAnchors,
  openLog,
  openReport,
  openRepository,
  openSiteRegistry,
  passed,
  proveEntry,
  type Reader,
  type RegistryView,
  type ReportView,
  type RepositoryView,
  readTenants,
  type TenantSummary,
  type WorldIndex,
} from './world.ts';

const pinKey = 'vouch.anchors';
const base = new URL('./', document.baseURI);
const read: Reader = httpReader(base);

interface Loaded {
  readonly index: WorldIndex;
  readonly anchors: Anchors;
  readonly pinned: boolean;
}

let world: Promise<Loaded> | undefined;
const cache = new Map<string, Promise<unknown>>();

function loaded(): Promise<Loaded> {
  world ??= (async () => {
    const index = await loadIndex(read);
    const pinned = pinnedAnchors();
    return { index, anchors: pinned ?? offeredAnchors(index), pinned: pinned !== undefined };
  })();
  return world;
}

function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (p === undefined) {
    p = load();
    cache.set(key, p);
  }
  return p;
}

function pinnedAnchors(): Anchors | undefined {
  const text = localStorage.getItem(pinKey);
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Anchors;
    return { ...value, sites: value.sites ?? {} };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading, each section once

const releaseLog = (): Promise<LogView> =>
  once('release-log', async () => {
    const { index, anchors } = await loaded();
    if (index.releaseLog === undefined || anchors.releaseLog === undefined) {
      throw new Error('this server shows no release log');
    }
    return openLog('release log', base, index.releaseLog.base, anchors.releaseLog, decodeReleaseEntry);
  });

const repository = (): Promise<RepositoryView> =>
  once('repository', async () => {
    const { index, anchors } = await loaded();
    if (index.repository === undefined) throw new Error('this server shows no update repository');
    return openRepository(read, base, index.repository, anchors);
  });

const ledger = (site: string): Promise<LogView> =>
  once(`ledger:${site}`, async () => {
    const { index, anchors } = await loaded();
    const entry = index.sites?.find((s) => s.site === site);
    const policy = anchors.sites[site];
    if (entry === undefined || policy === undefined) throw new Error(`no ledger policy for ${site}`);
    return openLog(`ledger ${site}`, base, entry.ledger, policy, decodeLedgerEntry);
  });

const tenants = (site: string): Promise<TenantSummary[]> =>
  once(`tenants:${site}`, async () => {
    const { index } = await loaded();
    const entry = index.sites?.find((s) => s.site === site);
    return entry === undefined ? [] : readTenants(read, entry.tenants);
  });

const registry = (): Promise<RegistryView | undefined> =>
  once('registry', async () => {
    const { index, anchors } = await loaded();
    return index.registry === null ? undefined : openSiteRegistry(read, index.registry, anchors.registryVkey);
  });

const reports = (): Promise<ReportView[]> =>
  once('reports', async () => {
    const { index, anchors } = await loaded();
    return Promise.all(index.reports.slice(0, 50).map((r) => openReport(read, r, anchors.auditorVkey)));
  });

/** settle turns a section's promise into its value or a shown error. */
async function settle<T>(p: Promise<T>): Promise<{ value: T } | { error: string }> {
  try {
    return { value: await p };
  } catch (error) {
    return { error: describeError(error) };
  }
}

function errorBox(what: string, error: string): HTMLElement {
  return h('div', { class: 'error', 'data-error': what }, `${what} could not be verified: ${error}`);
}

// ---------------------------------------------------------------------------------------------
// Pages

const pages: Record<string, () => Promise<Child>> = {
  '': overviewPage,
  log: logPage,
  releases: releasesPage,
  rules: rulesPage,
  sites: sitesPage,
  audits: auditsPage,
  trust: trustPage,
};

async function overviewPage(): Promise<Child> {
  const [log, repo, regs, reps, { index }] = await Promise.all([
    settle(releaseLog()),
    settle(repository()),
    settle(registry()),
    settle(reports()),
    loaded(),
  ]);
  const siteIds = (index.sites ?? []).map((s) => s.site);
  const ledgers = await Promise.all(siteIds.map((s) => settle(ledger(s))));
  const card = (title: string, href: string, figure: Child, ...rest: Child[]) =>
    h(
      'div',
      { class: 'card' },
      h('h2', {}, h('a', { href }, title)),
      h('div', { class: 'figure' }, figure),
      ...rest,
    );
  const muted = (text: string) => h('div', { class: 'muted' }, text);
  const products = 'value' in repo ? repo.value.releases.filter((r) => r.kind === 'product') : [];
  const rules = 'value' in repo ? repo.value.releases.filter((r) => r.kind === 'rules') : [];
  const deltas = 'value' in repo ? repo.value.releases.filter((r) => r.kind === 'rules-delta') : [];
  const newest = [...rules].sort((a, b) => Number(b.version) - Number(a.version))[0];
  const newestDelta = deltas.find((d) => d.delta?.result === newest?.path);
  const latest = 'value' in reps ? reps.value[0] : undefined;
  const countries = (site: string): number =>
    'value' in regs && regs.value !== undefined
      ? Object.values(regs.value.registry.countries).filter((c) => c.site === site).length
      : 0;
  const accesses = ledgers
    .flatMap((l, i) => ('value' in l ? l.value.entries.map((e) => ({ site: siteIds[i] ?? '', e })) : []))
    .slice(-6)
    .reverse();
  return [
    h('h1', {}, 'Overview'),
    h(
      'p',
      { class: 'muted' },
      'What the vendor built, signed and shipped, and who accessed customer data — each figure checked in this browser.',
    ),
    h(
      'div',
      { class: 'cards' },
      card(
        'Release log',
        '#/log',
        'value' in log ? `${log.value.checkpoint.size} entries` : '—',
        'value' in log
          ? checkLine(
              passed(`cosigned by ${log.value.cosigners.map((c) => c.witness).join(', ')}`),
              'witnessed',
            )
          : checkLine(failed(log.error)),
        'value' in log ? muted(log.value.checkpoint.origin) : null,
      ),
      card(
        'Releases',
        '#/releases',
        `${products.length} product${products.length === 1 ? '' : 's'}`,
        'value' in repo
          ? checkLine(repo.value.metadata, `targets v${repo.value.targetsVersion}`)
          : checkLine(failed(repo.error)),
        products.map((p) =>
          p.evidence === undefined
            ? muted(`${p.name} ${p.version}`)
            : checkLine(p.evidence, `${p.name} ${p.version}`, `${p.name} ${p.version}`),
        ),
      ),
      card(
        'Rule databases',
        '#/rules',
        newest === undefined ? '—' : `v${newest.version}`,
        newest?.manifest === undefined
          ? null
          : muted(
              `${newest.manifest.counts.hash} hash signatures, ${newest.manifest.counts.yara} YARA rules`,
            ),
        newestDelta === undefined || newest === undefined
          ? null
          : muted(`update by delta: ${newestDelta.length} B instead of ${newest.length} B`),
        muted(`${rules.length} version(s) published`),
      ),
      card(
        'Sites',
        '#/sites',
        `${siteIds.length} site${siteIds.length === 1 ? '' : 's'}`,
        ...ledgers.map((l, i) =>
          'value' in l
            ? checkLine(
                passed(`${countries(siteIds[i] ?? '')} countries, ${l.value.checkpoint.size} ledger entries`),
                `${siteIds[i]}`,
              )
            : checkLine(failed(l.error), `${siteIds[i]}`, `${siteIds[i]}`),
        ),
        'value' in regs && regs.value !== undefined ? checkLine(regs.value.check, 'registry') : null,
      ),
      card(
        'Latest audit',
        '#/audits',
        latest === undefined
          ? '—'
          : latest.signature.ok
            ? (latest.result ?? '?')
            : `${latest.result ?? '?'} (unverified)`,
        latest === undefined ? muted('no report yet') : checkLine(latest.signature, 'signed'),
        latest?.time === undefined ? null : muted(latest.time),
      ),
    ),
    accesses.length === 0
      ? null
      : [
          h('h2', {}, 'Latest accesses to customer data'),
          h(
            'table',
            { class: 'accesses' },
            h('tr', {}, h('th', {}, 'site'), h('th', {}, '#'), h('th', {}, 'entry')),
            accesses.map(({ site, e }) =>
              h(
                'tr',
                {},
                h('td', {}, site),
                h('td', { class: 'num' }, e.index.toString()),
                h('td', {}, e.summary),
              ),
            ),
          ),
        ],
    'value' in log
      ? [
          h('h2', {}, 'Latest entries of the release log'),
          h(
            'table',
            { class: 'latest' },
            [...log.value.entries]
              .slice(-6)
              .reverse()
              .map((e) =>
                h(
                  'tr',
                  {},
                  h('td', { class: 'num' }, e.index.toString()),
                  h('td', {}, h('span', { class: 'tag' }, e.kind)),
                  h('td', {}, e.summary),
                ),
              ),
          ),
        ]
      : null,
  ];
}

async function logPage(): Promise<Child> {
  const log = await settle(releaseLog());
  if ('error' in log) return [h('h1', {}, 'Release log'), errorBox('The release log', log.error)];
  return [
    h('h1', {}, 'Release log'),
    h(
      'p',
      { class: 'muted' },
      'Every published metadata version and every evidence file (provenance, rebuilds, reviews) is an entry of this append-only log (C2SP tlog-tiles). Click an entry for its content and its inclusion proof.',
    ),
    logView(log.value),
  ];
}

function logView(view: LogView): HTMLElement {
  const { checkpoint } = view;
  const root = formatHex(checkpoint.root);
  const kinds = new Map<string, number>();
  for (const e of view.entries) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
  return h(
    'section',
    { 'data-log': view.name },
    h('h2', {}, 'Checkpoint'),
    checkLine(
      passed(
        `${checkpoint.origin}, size ${checkpoint.size}, signed by the log and cosigned by ${view.cosigners.map((c) => c.witness).join(' and ') || 'nobody'} as its policy requires`,
      ),
      'checkpoint verified',
    ),
    h('div', { class: 'row' }, 'root ', short(root, 64)),
    h('pre', { class: 'checkpoint' }, view.checkpointText),
    h(
      'table',
      {},
      h('tr', {}, h('th', {}, 'witness'), h('th', {}, 'key'), h('th', {}, 'cosigned at')),
      view.cosigners.map((c) =>
        h(
          'tr',
          {},
          h('td', {}, c.witness),
          h('td', {}, h('code', {}, c.key)),
          h('td', {}, new Date(Number(c.timestamp) * 1000).toISOString()),
        ),
      ),
    ),
    h(
      'h2',
      {},
      `Entries (${view.entries.length}${view.entries.length < Number(checkpoint.size) ? ` newest of ${checkpoint.size}` : ''})`,
    ),
    h('p', { class: 'muted' }, [...kinds].map(([k, n]) => `${n} ${k}`).join(' · ')),
    entriesTable(view),
  );
}

function entriesTable(view: LogView): HTMLElement {
  const body = h('tbody');
  for (const entry of [...view.entries].reverse()) {
    const row = h(
      'tr',
      { class: 'entry', 'data-entry': entry.index.toString() },
      h('td', { class: 'num' }, entry.index.toString()),
      h('td', {}, h('span', { class: 'tag' }, entry.kind)),
      h('td', {}, entry.summary),
    );
    let open: HTMLElement | undefined;
    row.addEventListener('click', () => {
      if (open !== undefined) {
        open.remove();
        open = undefined;
        return;
      }
      open = h('tr', { class: 'detail' }, h('td', { colspan: 3 }, entryDetail(view, entry)));
      row.after(open);
    });
    body.append(row);
  }
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'kind'), h('th', {}, 'entry'))),
    body,
  );
}

function entryDetail(view: LogView, entry: DecodedEntry): HTMLElement {
  const result = h(
    'div',
    { class: 'proof-result' },
    h('span', { class: 'muted' }, 'building the proof from the log’s tiles…'),
  );
  const proof = h('textarea', {
    class: 'proof',
    spellcheck: 'false',
    'aria-label': 'inclusion proof',
  }) as HTMLTextAreaElement;
  const recheck = h('button', { class: 'recheck' }, 'Check this proof again') as HTMLButtonElement;
  const show = (check: Check) => {
    result.replaceChildren(checkLine(check, 'included in the log', 'proof does not verify'));
  };
  recheck.addEventListener('click', (event) => {
    event.stopPropagation();
    show(checkProofText(view.policy, entry.bytes, proof.value));
  });
  proof.addEventListener('click', (event) => event.stopPropagation());
  void proveEntry(view, entry.index).then(
    (r) => {
      proof.value = r.proofText;
      show(r.check);
    },
    (error: unknown) => show(failed(error)),
  );
  return h(
    'div',
    { class: 'entry-detail' },
    h('pre', {}, entry.detail),
    h(
      'div',
      {},
      h('strong', {}, 'Inclusion proof'),
      ' (C2SP tlog-proof; edit it and check again to see a tampered proof fail)',
    ),
    result,
    proof,
    h('div', { class: 'row' }, recheck),
  );
}

async function releasesPage(): Promise<Child> {
  const repo = await settle(repository());
  if ('error' in repo) return [h('h1', {}, 'Releases'), errorBox('The update repository', repo.error)];
  const r = repo.value;
  const products = r.releases.filter((x) => x.kind !== 'rules' && x.kind !== 'rules-delta');
  return [
    h('h1', {}, 'Releases'),
    checkLine(r.metadata, 'TUF metadata verified'),
    h(
      'p',
      {},
      `Targets version ${r.targetsVersion} is signed by ${r.targetsSignedBy.length} of the ${r.targetsThreshold} required keys (the vendor’s release key and the supervisor’s approver key); it expires ${r.expires}.`,
    ),
    h(
      'table',
      { class: 'releases' },
      h(
        'tr',
        {},
        ['release', 'source', 'built at', 'rebuilds', 'evidence', 'sha256', 'download'].map((t) =>
          h('th', {}, t),
        ),
      ),
      products.map((p) => {
        const prov = p.verdict?.provenance;
        return h(
          'tr',
          { 'data-release': p.path },
          h('td', {}, h('strong', {}, p.name), ' ', p.version),
          h(
            'td',
            {},
            prov?.source.commit === undefined
              ? prov === undefined
                ? '—'
                : short(prov.source.treeHash)
              : short(prov.source.commit),
          ),
          h('td', {}, prov === undefined ? '—' : builderSite(prov.builderId)),
          h('td', {}, p.verdict === undefined ? '—' : `${p.verdict.matchingRebuilders} matching`),
          h('td', {}, p.evidence === undefined ? '—' : checkLine(p.evidence, 'approved evidence', 'refused')),
          h('td', {}, short(p.sha256)),
          h('td', {}, h('a', { href: new URL(p.download, r.base).href, download: '' }, `${p.length} bytes`)),
        );
      }),
    ),
    h('h2', {}, 'Metadata versions, each proven in the release log'),
    h(
      'table',
      {},
      h('tr', {}, h('th', {}, 'file'), h('th', {}, 'sha256'), h('th', {}, 'in the release log')),
      r.files.map((f) =>
        h(
          'tr',
          {},
          h('td', {}, f.file),
          h('td', {}, short(f.sha256)),
          h('td', {}, checkLine(f.logged, 'logged', 'not logged')),
        ),
      ),
    ),
  ];
}

function builderSite(builderId: string): string {
  try {
    const host = new URL(builderId).hostname;
    return `${host.split('.')[0]} (${builderId})`;
  } catch {
    return builderId;
  }
}

async function rulesPage(): Promise<Child> {
  const repo = await settle(repository());
  if ('error' in repo) return [h('h1', {}, 'Rule databases'), errorBox('The update repository', repo.error)];
  const rules = repo.value.releases.filter((x) => x.kind === 'rules');
  const deltas = repo.value.releases.filter((x) => x.kind === 'rules-delta');
  const full = new Map(rules.map((x) => [x.path, x.length]));
  return [
    h('h1', {}, 'Rule databases'),
    h(
      'p',
      { class: 'muted' },
      'Threat-detection databases built from reviewed rule sources at the neutral site; endpoints update by small signed deltas.',
    ),
    h(
      'table',
      { class: 'rules' },
      h(
        'tr',
        {},
        ['database', 'version', 'hash signatures', 'allow-list', 'YARA rules', 'size', 'evidence'].map((t) =>
          h('th', {}, t),
        ),
      ),
      rules.map((x) =>
        h(
          'tr',
          { 'data-rules': x.path },
          h('td', {}, x.name),
          h('td', { class: 'num' }, x.version),
          h('td', { class: 'num' }, x.manifest?.counts.hash ?? '—'),
          h('td', { class: 'num' }, x.manifest?.counts.allow ?? '—'),
          h('td', { class: 'num' }, x.manifest?.counts.yara ?? '—'),
          h('td', { class: 'num' }, `${x.length} B`),
          h('td', {}, x.evidence === undefined ? '—' : checkLine(x.evidence, 'approved evidence', 'refused')),
        ),
      ),
    ),
    h('h2', {}, 'Deltas'),
    h(
      'table',
      {},
      h(
        'tr',
        {},
        ['delta', 'from → to', 'size', 'full database', 'saving'].map((t) => h('th', {}, t)),
      ),
      deltas.map((d) => {
        const whole = d.delta === undefined ? undefined : full.get(d.delta.result);
        return h(
          'tr',
          { 'data-delta': d.path },
          h('td', {}, d.path),
          h('td', {}, d.delta === undefined ? '—' : `${d.delta.from} → ${d.delta.to}`),
          h('td', { class: 'num' }, `${d.length} B`),
          h('td', { class: 'num' }, whole === undefined ? '—' : `${whole} B`),
          h(
            'td',
            { class: 'num' },
            whole === undefined ? '—' : `${Math.round((1 - d.length / whole) * 100)}%`,
          ),
        );
      }),
    ),
  ];
}

async function sitesPage(): Promise<Child> {
  const { index } = await loaded();
  const reg = await settle(registry());
  const out: Child[] = [h('h1', {}, 'Sites')];
  if ('error' in reg) out.push(errorBox('The site registry', reg.error));
  else if (reg.value !== undefined) out.push(residencyTable(reg.value));
  for (const site of index.sites ?? []) {
    const [people, log] = await Promise.all([settle(tenants(site.site)), settle(ledger(site.site))]);
    out.push(h('h2', { id: `site-${site.site}` }, `${site.site}: tenants and access ledger`));
    if ('error' in people) out.push(errorBox(`Tenants of ${site.site}`, people.error));
    else {
      out.push(
        h(
          'table',
          { 'data-tenants': site.site },
          h(
            'tr',
            {},
            ['tenant', 'name', 'contract country', 'customer approval required'].map((t) => h('th', {}, t)),
          ),
          people.value.map((t) =>
            h(
              'tr',
              {},
              h('td', {}, t.id),
              h('td', {}, t.name),
              h('td', {}, t.contractCountry),
              h('td', {}, t.approvalRequired ? 'yes' : 'no'),
            ),
          ),
        ),
      );
    }
    if ('error' in log) out.push(errorBox(`The access ledger of ${site.site}`, log.error));
    else out.push(logView(log.value));
  }
  return out;
}

function residencyTable(view: RegistryView): HTMLElement {
  const { registry } = view;
  const bySite = new Map<string, string[]>();
  for (const [country, assignment] of Object.entries(registry.countries)) {
    const list = bySite.get(assignment.site) ?? [];
    list.push(country);
    bySite.set(assignment.site, list);
  }
  return h(
    'section',
    {},
    h('h2', {}, `Residency (site registry version ${registry.version})`),
    checkLine(view.check, 'registry signature verified', 'registry not verified'),
    h(
      'table',
      { class: 'residency' },
      h(
        'tr',
        {},
        ['site', 'class', 'countries whose customers’ data lives there', 'URL'].map((t) => h('th', {}, t)),
      ),
      Object.entries(registry.sites).map(([id, site]) =>
        h(
          'tr',
          { 'data-site': id },
          h('td', {}, h('strong', {}, id)),
          h('td', {}, h('span', { class: `tag ${site.residency}` }, site.residency)),
          h('td', {}, `${(bySite.get(id) ?? []).length}: ${(bySite.get(id) ?? []).sort().join(' ')}`),
          h('td', {}, h('code', {}, site.url)),
        ),
      ),
    ),
  );
}

async function auditsPage(): Promise<Child> {
  const reps = await settle(reports());
  if ('error' in reps) return [h('h1', {}, 'Audits'), errorBox('The audit reports', reps.error)];
  if (reps.value.length === 0)
    return [h('h1', {}, 'Audits'), h('p', {}, 'No audit report has been written yet.')];
  return [
    h('h1', {}, 'Audits'),
    h(
      'p',
      { class: 'muted' },
      'The supervisor’s signed reports: every log consistent and witnessed, every release approved, every access within policy.',
    ),
    reps.value.map((r) =>
      h(
        'section',
        { class: 'report', 'data-report': r.stamp },
        h(
          'h2',
          {},
          `${r.time ?? r.stamp}: `,
          r.result === 'PASSED' ? 'every promise held' : 'promises broken',
        ),
        checkLine(r.signature, 'report signature verified', 'signature not verified'),
        h(
          'table',
          {},
          h('tr', {}, h('th', {}, 'log'), h('th', {}, 'size'), h('th', {}, 'cosigned by')),
          r.logs.map((l) =>
            h(
              'tr',
              {},
              h('td', {}, l.name),
              h('td', { class: 'num' }, l.size),
              h('td', {}, l.cosigners.join(', ')),
            ),
          ),
        ),
        r.findings.length === 0
          ? h('p', {}, 'No findings.')
          : h(
              'ul',
              { class: 'findings' },
              r.findings.map((f) => h('li', {}, h('strong', {}, f.kind), ` ${f.subject}: ${f.detail}`)),
            ),
        r.html === null ? null : h('p', {}, h('a', { href: r.html }, 'The full report with charts')),
      ),
    ),
  ];
}

async function trustPage(): Promise<Child> {
  const { index, anchors, pinned } = await loaded();
  const text = h('textarea', {
    class: 'anchors',
    spellcheck: 'false',
    'aria-label': 'trust anchors',
  }) as HTMLTextAreaElement;
  text.value = JSON.stringify(anchors, null, 2);
  const status = h('div', { class: 'muted' });
  const pin = h('button', { class: 'pin' }, 'Pin these anchors in this browser');
  const forget = h('button', { class: 'forget' }, 'Forget my pins');
  pin.addEventListener('click', () => {
    try {
      const value = JSON.parse(text.value) as Anchors;
      localStorage.setItem(pinKey, JSON.stringify({ ...value, sites: value.sites ?? {} }));
      location.reload();
    } catch (error) {
      status.textContent = `not pinned: ${describeError(error)}`;
    }
  });
  forget.addEventListener('click', () => {
    localStorage.removeItem(pinKey);
    location.reload();
  });
  const offered = JSON.stringify(offeredAnchors(index));
  return [
    h('h1', {}, 'Trust'),
    h(
      'p',
      {},
      pinned
        ? 'Checks on this page start from the anchors you pinned in this browser. '
        : 'Checks on this page start from the anchors this server offers. ',
      'Get them from a source you trust (the supervisor publishes its witness keys and the release log’s policy), pin them here, and a server that lies can only make checks fail.',
    ),
    pinned && JSON.stringify(anchors) !== offered
      ? h('p', { class: 'error' }, 'The server offers other anchors than the ones you pinned.')
      : null,
    text,
    h('div', { class: 'row' }, pin, forget),
    status,
    h('h2', {}, 'Fingerprints'),
    h(
      'table',
      {},
      h('tr', {}, h('th', {}, 'anchor'), h('th', {}, 'SHA-256 of its text')),
      Object.entries({ ...anchors, sites: undefined })
        .filter(([, v]) => typeof v === 'string')
        .map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, short(hexOf(v as string), 64)))),
    ),
  ];
}

function hexOf(text: string): string {
  return formatHex(sha256(toBytes(text)));
}

// ---------------------------------------------------------------------------------------------
// Routing

async function render(): Promise<void> {
  const view = document.getElementById('view') as HTMLElement;
  const route = location.hash.replace(/^#\/?/, '').split('/')[0] ?? '';
  const page = pages[route] ?? overviewPage;
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === `#/${route}`);
  }
  view.setAttribute('aria-busy', 'true');
  let content: Child;
  try {
    content = await page();
  } catch (error) {
    content = errorBox('This page', describeError(error));
  }
  view.replaceChildren();
  append(view, [content]);
  view.setAttribute('aria-busy', 'false');
  document.body.dataset['page'] = route === '' ? 'overview' : route;
  document.body.dataset['rendered'] = String(Number(document.body.dataset['rendered'] ?? '0') + 1);
}

window.addEventListener('hashchange', () => void render());
void render();
