/**
 * What the demo's chapters share: the {@link World} each step adds to (keys, server URLs, the
 * sites, the tenants and what their agents reported) and the {@link Step} a chapter is made of.
 * It holds no behaviour beyond small lookups that fail the step when something an earlier step
 * should have left is missing.
 */

import type { Background, Demo } from './runner.ts';

/** Step is one numbered line of the narration: a title saying what it proves, and its work. */
export interface Step {
  readonly title: string;
  /** run does the step and returns the short result shown after the check mark ("match"). */
  run(demo: Demo, world: World): Promise<string>;
}

/** Tenant is one customer of the demo, with its endpoint and the site its data lives at. */
export interface Tenant {
  readonly tenant: string;
  readonly name: string;
  readonly country: string;
  readonly endpoint: string;
  /** home is the site the signed registry assigns to the tenant's country. */
  readonly home: 'ch-zrh' | 'ru-mow';
  /** agent is the agent's state folder. */
  readonly agent: string;
}

/** Detection is one JSON line of `vouch scan`. */
export interface Detection {
  readonly path: string;
  readonly kind: string;
  readonly signature: string;
  readonly sha256: string;
  readonly size: number;
}

/** SiteInfo is one data site: its folder, URL and access ledger. */
export interface SiteInfo {
  readonly site: 'ch-zrh' | 'ru-mow';
  readonly folder: string;
  url: string;
  ledgerVkey: string;
  /** policy is the ledger's witness policy file (C2SP tlog-policy). */
  readonly policy: string;
}

/** The Japanese tenant: data at the neutral site, access only with its approval. */
export const japan: Tenant = Object.freeze({
  tenant: 'sakura-kk',
  name: 'Sakura KK',
  country: 'JP',
  endpoint: 'jp-host-1',
  home: 'ch-zrh',
  agent: 'agent-jp',
});

/** The Brazilian tenant: data at the home site. */
export const brazil: Tenant = Object.freeze({
  tenant: 'ipe-ltda',
  name: 'Ipe Ltda',
  country: 'BR',
  endpoint: 'br-host-1',
  home: 'ru-mow',
  agent: 'agent-br',
});

/** The release log's origin. */
export const logOrigin = 'zurich.vouch.example/release-log';

/** The vendor's neutral build site. */
export const builderId = 'https://ch-zrh.build.vouch.example';

/** World is everything the story has made so far; each step reads what earlier steps left. */
export class World {
  /** vkeys maps each key file (`log.key`) to its verifier key. */
  readonly vkeys = new Map<string, string>();
  readonly witnessUrls: string[] = [];
  logUrl = '';
  /** logPolicy is the release log's witness policy (policy.txt). */
  logPolicy = '';
  repoUrl = '';
  /** sandboxed says whether bubblewrap is here, so builds are hermetic. */
  sandboxed = false;
  readonly sites: SiteInfo[] = [
    { site: 'ch-zrh', folder: 'ch', url: '', ledgerVkey: '', policy: 'witnesses-ch-zrh.txt' },
    { site: 'ru-mow', folder: 'ru', url: '', ledgerVkey: '', policy: 'witnesses-ru-mow.txt' },
  ];
  /** credentials maps `site/tenant` to the file holding that tenant endpoint's credential. */
  readonly credentials = new Map<string, string>();
  /** published lists the targets the repository published (`products/hello/...`). */
  readonly published: string[] = [];
  /** ruleVersions lists the rule database versions published. */
  readonly ruleVersions: number[] = [];
  /** approvals are the customers' approval files the audit needs. */
  readonly approvals: string[] = [];
  /** requestId is the Japanese export request the customer approved. */
  requestId = '';
  /** detections maps a tenant to what its agent's first scan found. */
  readonly detections = new Map<string, readonly Detection[]>();
  /** builds are the slow work started in the background: keys, sandboxed builds (./builds.ts). */
  readonly builds: {
    keys?: Background<void>;
    rules?: Map<number, Background<void>>;
    sabotaged?: Background<string>;
  } = {};
  /** audit is the audit's summary line. */
  audit = '';

  /** vkey returns the verifier key of a key file generated earlier. */
  vkey(file: string): string {
    const vkey = this.vkeys.get(file);
    if (vkey === undefined) throw new Error(`demo bug: no key ${file} was generated`);
    return vkey;
  }

  /** siteOf returns a site by id. */
  siteOf(id: string): SiteInfo {
    const site = this.sites.find((s) => s.site === id);
    if (site === undefined) throw new Error(`demo bug: no site ${id}`);
    return site;
  }

  /** logFlags are the flags that make a command log to the release log. */
  get logFlags(): string[] {
    return ['--log', this.logUrl, '--log-vkey', this.vkey('log.key')];
  }

  /** buildFlags are the vendor's build flags. */
  get buildFlags(): string[] {
    return [
      '--key',
      'builder.key',
      '--builder-id',
      builderId,
      '--source-date-epoch',
      '1700000000',
      ...this.logFlags,
    ];
  }

  /** rebuildFlags are the supervisor's rebuild flags. */
  get rebuildFlags(): string[] {
    return ['--builder-vkey', this.vkey('builder.key'), '--key', 'rebuilder.key', ...this.logFlags];
  }
}

/** onlineKeyFlags are the repository's online keys (snapshot and timestamp). */
export const onlineKeyFlags: readonly string[] = [
  '--snapshot-key',
  'snapshot.key',
  '--timestamp-key',
  'timestamp.key',
];

/** witnessPolicy is a C2SP tlog-policy text: the log key and both witnesses, 2 of 2. */
export function witnessPolicy(logVkey: string, world: World): string {
  return [
    `log ${logVkey}`,
    `witness w1 ${world.vkey('w1.key')} ${world.witnessUrls[0]}`,
    `witness w2 ${world.vkey('w2.key')} ${world.witnessUrls[1]}`,
    'group both all w1 w2',
    'quorum both',
    '',
  ].join('\n');
}
