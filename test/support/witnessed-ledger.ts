/**
 * Test support: a site's access ledger as it runs in production — the real log sequencer
 * (services/log) with its own origin and Ed25519 key, its checkpoints cosigned through the real
 * WitnessCollector by real witnesses (services/witness behind their HTTP handler), and the real
 * Ledger (services/site/ledger.ts) with a SQLite access store — only without sockets: the
 * collector's `fetch` is routed to the witnesses' handlers in process. A witness can be taken
 * down and brought back (`setDown`), which holds publication back exactly as a dead witness does.
 * `policy` is the C2SP tlog-policy a customer verifies proofs with (log key, witnesses, k-of-n).
 */

import { join } from 'node:path';
import { toBytes } from '../../src/core/bytes/index.ts';
import { createSigner, generateKey } from '../../src/core/crypto/index.ts';
import { tooLarge } from '../../src/core/errors.ts';
import { createNoteSigner, formatVerifierKey, verifierSet } from '../../src/core/note/index.ts';
import type { SiteId } from '../../src/core/sites/index.ts';
import { createCheckpointVerifier, createCosignatureVerifier } from '../../src/core/tlog/cosignature.ts';
import { type Policy, parsePolicy } from '../../src/core/tlog/policy.ts';
import { evaluateQuorum } from '../../src/core/tlog/quorum.ts';
import type { Handler } from '../../src/faces/http/http.ts';
import { createWitnessHandler } from '../../src/faces/http/witness.ts';
import { Log } from '../../src/services/log/log.ts';
import { WitnessCollector } from '../../src/services/log/witnesses.ts';
import { Ledger, ledgerOrigin } from '../../src/services/site/ledger.ts';
import { Witness } from '../../src/services/witness/witness.ts';
import type { AccessStore } from '../../src/storage/access.ts';
import { FsBlobStore } from '../../src/storage/fs/blob.ts';
import { MemoryBlobStore, MemoryCasStore } from '../../src/storage/memory/memory.ts';
import { openSqlite } from '../../src/storage/sqlite/database.ts';
import { SqliteAccessStore } from '../../src/storage/sqlite/sqlite-access.ts';
import { SqliteCasStore } from '../../src/storage/sqlite/sqlite-cas.ts';
import { SqliteSequenceStore } from '../../src/storage/sqlite/sqlite-sequence.ts';

/** WitnessedLedger is a running ledger with its witnesses; see the module comment. */
export interface WitnessedLedger {
  readonly site: SiteId;
  readonly origin: string;
  readonly ledger: Ledger;
  readonly log: Log;
  readonly files: MemoryBlobStore | FsBlobStore;
  readonly index: AccessStore;
  /** vkey is the ledger's verifier key (type 0x01, named like the origin). */
  readonly vkey: string;
  /** policyText is the tlog-policy: the ledger key, each witness, `group quorum K ...`, `quorum quorum`. */
  readonly policyText: Uint8Array;
  readonly policy: Policy;
  /** witnesses are the witnesses' policy names (`w1`, `w2`, ...). */
  readonly witnesses: readonly string[];
  /** setDown makes a witness unreachable (true) or reachable again (false). */
  setDown(name: string, down: boolean): void;
  close(): Promise<void>;
}

/** WitnessedLedgerOptions: the site, the witnesses (default 2, quorum 2) and the record timeout. */
export interface WitnessedLedgerOptions {
  readonly site?: SiteId;
  readonly witnesses?: number;
  readonly k?: number;
  readonly timeoutMs?: number;
  /** index replaces the SQLite access store in memory. */
  readonly index?: AccessStore;
  readonly batchAgeMs?: number;
  /**
   * dir, when set, keeps the ledger durable as in production: tiles in `dir/tiles` (every file
   * fsynced), the sequence, checkpoint cell and index in `dir/state.db` (synchronous=FULL).
   */
  readonly dir?: string;
}

/** startWitnessedLedger opens an empty witnessed ledger; see {@link WitnessedLedger}. */
export async function startWitnessedLedger(options: WitnessedLedgerOptions = {}): Promise<WitnessedLedger> {
  const site = options.site ?? 'ch-zrh';
  const origin = ledgerOrigin(site);
  const count = options.witnesses ?? 2;
  const k = options.k ?? count;
  const signer = createNoteSigner(createSigner(origin, generateKey('ed25519')));
  const vkey = formatVerifierKey(signer);
  const logVerifiers = verifierSet([createCheckpointVerifier(vkey)]);
  const witnessStore = new MemoryCasStore();
  const down = new Set<string>();
  const witnesses = Array.from({ length: count }, (_, i) => {
    const name = `witness${i + 1}.supervisor.example`;
    const witness = new Witness({
      name,
      keys: [createSigner(name, generateKey('ed25519'))],
      logs: (o) => (o === origin ? logVerifiers : undefined),
      store: witnessStore,
      now: () => BigInt(Math.floor(Date.now() / 1000)),
    });
    return {
      policyName: `w${i + 1}`,
      host: `w${i + 1}.witness.invalid`,
      witness,
      handler: createWitnessHandler({ witness }) as Handler,
    };
  });
  const policyText = toBytes(
    [
      `log ${vkey}`,
      ...witnesses.map((w) => `witness ${w.policyName} ${w.witness.vkeys[0]} http://${w.host}/`),
      `group quorum ${k} ${witnesses.map((w) => w.policyName).join(' ')}`,
      'quorum quorum',
      '',
    ].join('\n'),
  );
  const policy = parsePolicy(policyText);
  const fetchInProcess = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const target = witnesses.find((w) => w.host === url.host);
    if (target === undefined || down.has(target.policyName)) throw new TypeError('fetch failed');
    const body = init?.body instanceof Uint8Array ? init.body : new Uint8Array(0);
    const response = await target.handler({
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: {},
      body: async (limit) => {
        if (body.length > limit) throw tooLarge('request body', limit);
        return body;
      },
    });
    const payload = typeof response.body === 'string' ? response.body : (response.body?.slice() ?? null);
    return new Response(payload, { status: response.status, headers: response.headers ?? {} });
  }) as typeof fetch;

  const files =
    options.dir === undefined ? new MemoryBlobStore() : new FsBlobStore(join(options.dir, 'tiles'));
  const collector = new WitnessCollector({
    witnesses: witnesses.map((w) => ({
      name: w.policyName,
      verifier: createCosignatureVerifier(w.witness.vkeys[0] as string),
      url: `http://${w.host}/`,
    })),
    isQuorum: (cosigned) => evaluateQuorum(policy, cosigned).met,
    files,
    fetch: fetchInProcess,
    attempts: 1,
    timeoutMs: 2000,
  });
  const db = openSqlite(options.dir === undefined ? ':memory:' : join(options.dir, 'state.db'));
  const log = await Log.open({
    origin,
    signer,
    files,
    checkpoint:
      options.dir === undefined
        ? new MemoryCasStore().cell('ledger/checkpoint')
        : new SqliteCasStore(db).cell('ledger/checkpoint'),
    sequence: new SqliteSequenceStore(db, origin),
    batchAgeMs: options.batchAgeMs ?? 1,
    cosign: (note) => collector.cosign(note),
  });
  const index = options.index ?? new SqliteAccessStore(db, origin);
  const ledger = new Ledger({
    site,
    log,
    files,
    index,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return {
    site,
    origin,
    ledger,
    log,
    files,
    index,
    vkey,
    policyText,
    policy,
    witnesses: witnesses.map((w) => w.policyName),
    setDown(name, isDown) {
      if (isDown) down.add(name);
      else down.delete(name);
    },
    async close() {
      await log.close();
      await index.close();
      if (db.isOpen) db.close();
    },
  };
}
