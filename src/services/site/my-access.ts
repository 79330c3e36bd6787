/**
 * Customer transparency (DESIGN.md "The data flow" step 6; issue 8 "`vouch site my-access
 * --tenant ...` returns the tenant's ledger entries with inclusion proofs, verified offline").
 *
 * {@link myAccess} collects a tenant's access-ledger entries from the site's ledger (./ledger.ts)
 * with a C2SP tlog-proof each, all under one published, witness-cosigned checkpoint, and
 * {@link formatMyAccess} writes them as one canonical JSON file:
 *
 * ```
 * {"_type":"https://vouch.example/my-access/v1","entries":[{"entry":"<base64 entry>","proof":"<base64 tlog-proof>"}],
 *  "origin":"ledger.ch-zrh.vouch.example","site":"ch-zrh","tenant":"acme"}
 * ```
 *
 * {@link verifyMyAccess} is what the customer runs, offline, with only the ledger's verifier key
 * and the supervisor's witness policy (C2SP tlog-policy): every entry must be a canonical
 * access-ledger entry of this tenant and site, and every proof must check — the ledger's own
 * signature, the witness quorum, and inclusion of exactly these entry bytes (tlog-proof order).
 * The policy's own `log` lines are replaced by the given ledger key, so a policy listing other
 * logs cannot vouch for this one. It says nothing about entries the site left out of the file:
 * completeness is what an auditor checks by replaying the whole ledger.
 */

import { formatBase64, parseBase64 } from '../../core/bytes/index.ts';
import { malformed, tooLarge, VouchError } from '../../core/errors.ts';
import { formatCanonicalJson, isJsonArray, isJsonObject, parseJson } from '../../core/json/index.ts';
import { leafHash } from '../../core/merkle/index.ts';
import { parseVerifierKey } from '../../core/note/index.ts';
import {
  type LedgerEntry,
  parseLedgerEntry,
  type SiteId,
  siteIdProblem,
  tenantIdProblem,
} from '../../core/sites/index.ts';
import { type Policy, parsePolicy } from '../../core/tlog/policy.ts';
import { checkTlogProofPolicy, type PolicyCosignature } from '../../core/tlog/quorum.ts';
import type { Ledger } from './ledger.ts';

/** myAccessType is the `_type` of a my-access file. */
export const myAccessType = 'https://vouch.example/my-access/v1';

/** maxMyAccessBytes bounds a my-access file. */
export const maxMyAccessBytes = 64 * 1024 * 1024;

/** maxMyAccessEntries bounds the entries of one file; ask for later ones with `from`. */
export const maxMyAccessEntries = 10_000;

/** MyAccessEntry is one entry's exact bytes and its tlog-proof. */
export interface MyAccessEntry {
  readonly entry: Uint8Array;
  readonly proof: Uint8Array;
}

/** MyAccess is a tenant's ledger entries with proofs. */
export interface MyAccess {
  readonly origin: string;
  readonly site: SiteId;
  readonly tenant: string;
  readonly entries: readonly MyAccessEntry[];
}

/**
 * myAccess returns the tenant's entries from ledger index `from` (default 0), at most `limit`
 * (default and at most {@link maxMyAccessEntries}), each proven under the published checkpoint.
 */
export async function myAccess(
  ledger: Ledger,
  tenant: string,
  options: { readonly from?: bigint; readonly limit?: number } = {},
): Promise<MyAccess> {
  const limit = options.limit ?? maxMyAccessEntries;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxMyAccessEntries) {
    throw new VouchError('invalid-argument', `limit must be 1..${maxMyAccessEntries}`, { field: 'limit' });
  }
  const page = await ledger.entriesOf(tenant, {
    ...(options.from === undefined ? {} : { from: options.from }),
    limit,
  });
  return Object.freeze({
    origin: page.origin,
    site: ledger.site,
    tenant,
    entries: Object.freeze(page.entries.map((e) => Object.freeze({ entry: e.entry, proof: e.proof }))),
  });
}

/** formatMyAccess renders the file (canonical JSON, see the module comment). */
export function formatMyAccess(access: MyAccess): Uint8Array {
  if (access.entries.length > maxMyAccessEntries) throw tooLarge('my-access entries', maxMyAccessEntries);
  return formatCanonicalJson({
    _type: myAccessType,
    entries: access.entries.map((e) => ({ entry: formatBase64(e.entry), proof: formatBase64(e.proof) })),
    origin: access.origin,
    site: access.site,
    tenant: access.tenant,
  });
}

/** parseMyAccess reads a file: `too-large` over the bounds, `malformed` naming the field at fault. */
export function parseMyAccess(bytes: Uint8Array): MyAccess {
  if (bytes.length > maxMyAccessBytes) throw tooLarge('my-access file', maxMyAccessBytes);
  const value = parseJson(bytes, { maxBytes: maxMyAccessBytes, maxDepth: 3 });
  if (!isJsonObject(value)) throw malformed('my-access file is not a JSON object', '$');
  const keys = Object.keys(value).sort().join(',');
  if (keys !== '_type,entries,origin,site,tenant')
    throw malformed('my-access file has missing or unknown fields', '$');
  if (value['_type'] !== myAccessType) throw malformed(`my-access file is not ${myAccessType}`, '_type');
  const { origin, site, tenant, entries } = value;
  // An origin is a checkpoint's first line: no control character, which canonical JSON would
  // also write raw, so formatMyAccess could not give back a file this parser reads.
  if (
    typeof origin !== 'string' ||
    origin.length === 0 ||
    origin.length > 256 ||
    [...origin].some((c) => c < ' ')
  )
    throw malformed('bad origin', 'origin');
  if (typeof site !== 'string' || siteIdProblem(site) !== undefined) throw malformed('bad site id', 'site');
  if (typeof tenant !== 'string' || tenantIdProblem(tenant) !== undefined)
    throw malformed('bad tenant id', 'tenant');
  if (!isJsonArray(entries)) throw malformed('entries is not an array', 'entries');
  if (entries.length > maxMyAccessEntries) throw tooLarge('my-access entries', maxMyAccessEntries, 'entries');
  const parsed = entries.map((e, i) => {
    if (!isJsonObject(e) || Object.keys(e).sort().join(',') !== 'entry,proof') {
      throw malformed('an entry is not {"entry","proof"}', `entries[${i}]`);
    }
    const { entry, proof } = e;
    if (typeof entry !== 'string' || typeof proof !== 'string')
      throw malformed('not base64 text', `entries[${i}]`);
    return Object.freeze({
      entry: parseBase64(entry, `entries[${i}].entry`),
      proof: parseBase64(proof, `entries[${i}].proof`),
    });
  });
  return Object.freeze({ origin, site: site as SiteId, tenant, entries: Object.freeze(parsed) });
}

/** VerifiedAccessEntry is one verified entry: its ledger index and content. */
export interface VerifiedAccessEntry {
  readonly index: bigint;
  readonly entry: LedgerEntry;
}

/** VerifiedAccess is what {@link verifyMyAccess} established. */
export interface VerifiedAccess {
  readonly origin: string;
  readonly site: SiteId;
  readonly tenant: string;
  readonly entries: readonly VerifiedAccessEntry[];
  /** cosigners are the witnesses counted for the last proof's checkpoint. */
  readonly cosigners: readonly PolicyCosignature[];
}

/**
 * verifyMyAccess checks a my-access file offline (see the module comment) for `options.tenant`
 * (required: the customer says whose entries it expects, so another tenant's file never verifies)
 * and returns its entries. It throws the first failure, naming the entry: `malformed` for the
 * file or an entry, `policy-unmet` for another origin, tenant or site or an unmet witness quorum,
 * `no-trusted-signature` / `bad-signature` for the checkpoint, `bad-proof` for inclusion, and
 * `invalid-argument` for a repeated or out-of-order entry.
 */
export function verifyMyAccess(
  file: Uint8Array,
  ledgerVkey: string,
  witnessPolicy: Uint8Array | Policy,
  options: { readonly tenant: string },
): VerifiedAccess {
  const access = parseMyAccess(file);
  const key = parseVerifierKey(ledgerVkey);
  if (key.name !== access.origin) {
    throw new VouchError('policy-unmet', `the file is from ledger ${access.origin}, not ${key.name}`, {
      field: 'origin',
    });
  }
  if (options.tenant !== access.tenant) {
    throw new VouchError('policy-unmet', `the file is for tenant ${access.tenant}, not ${options.tenant}`, {
      field: 'tenant',
    });
  }
  const base = witnessPolicy instanceof Uint8Array ? parsePolicy(witnessPolicy) : witnessPolicy;
  const policy: Policy = { ...base, logs: [{ key }] };
  const entries: VerifiedAccessEntry[] = [];
  let cosigners: readonly PolicyCosignature[] = [];
  access.entries.forEach((item, i) => {
    const field = `entries[${i}]`;
    let entry: LedgerEntry;
    try {
      entry = parseLedgerEntry(item.entry);
    } catch (error) {
      throw new VouchError(
        'malformed',
        `${field} is not a canonical access-ledger entry`,
        { field },
        { cause: error },
      );
    }
    if (entry.tenant !== access.tenant || entry.site !== access.site) {
      throw new VouchError(
        'policy-unmet',
        `${field} is an entry of tenant ${entry.tenant} at ${entry.site}`,
        { field },
      );
    }
    let checked: ReturnType<typeof checkTlogProofPolicy>;
    try {
      checked = checkTlogProofPolicy(item.proof, leafHash(item.entry), policy, { origin: access.origin });
    } catch (error) {
      if (error instanceof VouchError) {
        throw new VouchError(
          error.code,
          `${field}: ${error.message}`,
          { ...error.details, field },
          { cause: error },
        );
      }
      throw error;
    }
    const previous = entries[entries.length - 1];
    if (previous !== undefined && checked.index <= previous.index) {
      throw new VouchError(
        'invalid-argument',
        `${field} repeats or precedes ledger index ${previous.index}`,
        { field },
      );
    }
    entries.push(Object.freeze({ index: checked.index, entry }));
    cosigners = checked.cosigners;
  });
  return Object.freeze({
    origin: access.origin,
    site: access.site,
    tenant: access.tenant,
    entries: Object.freeze(entries),
    cosigners,
  });
}
