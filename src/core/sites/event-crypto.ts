/**
 * Encryption of stored events (DESIGN.md "The data flow" step 3): each event is sealed with
 * AES-256-GCM (`core/crypto` seal) under its tenant's data key, with associated data naming the
 * tenant, the site and the event id, so a sealed event copied to another tenant's rows, another
 * site's store or another event's slot does not open. The tenant's data key is itself wrapped
 * by the site's key-encryption key with associated data naming the site and tenant.
 *
 * Associated data is canonical JSON (OLPC) of a small typed object; the two `_type`s keep an
 * event's AAD and a key's AAD from ever being equal:
 *
 * ```
 * event:      {"_type":"https://vouch.example/event-aad/v1","event":"<event id>","site":"<site>","tenant":"<tenant>"}
 * tenant key: {"_type":"https://vouch.example/tenant-key-aad/v1","site":"<site>","tenant":"<tenant>"}
 * ```
 *
 * {@link sealEvents} seals a batch's events at once (core/crypto `sealMany`: one draw of random
 * nonces, no per-event copies of the associated data), byte for byte as {@link sealEvent} would
 * one by one, so {@link openEvent} opens either.
 *
 * This module holds no keys and does no I/O; the site store owns keys and rows. Erasure is the
 * store destroying the wrapped tenant key, after which every sealed event is unreadable.
 */

import { toBytes } from '../bytes/index.ts';
import { type AeadKey, aeadOverhead, open, seal, sealMany, unwrapKey, wrapKey } from '../crypto/index.ts';
import { VouchError } from '../errors.ts';
import { formatCanonicalJson } from '../json/index.ts';
import { eventIdProblem, type SiteId, siteIdProblem, tenantIdProblem } from './ids.ts';

/** eventAadType and tenantKeyAadType are the `_type`s of the two associated-data documents. */
export const eventAadType = 'https://vouch.example/event-aad/v1';
/** tenantKeyAadType is the `_type` of a wrapped tenant key's associated data. */
export const tenantKeyAadType = 'https://vouch.example/tenant-key-aad/v1';

/** EventRef names one stored event: whose it is, where it is, and which it is. */
export interface EventRef {
  readonly tenant: string;
  readonly site: SiteId;
  /** eventId is `<batch id>.<index>` (telemetry.ts `telemetryEventId`). */
  readonly eventId: string;
}

/** TenantKeyRef names one tenant's data key at one site. */
export interface TenantKeyRef {
  readonly tenant: string;
  readonly site: SiteId;
}

function check(field: string, problem: string | undefined): void {
  if (problem !== undefined) throw new VouchError('invalid-argument', `${field} is ${problem}`, { field });
}

/**
 * eventAad returns the associated data of an event: the canonical JSON shown in the module
 * comment. It throws `invalid-argument` for a malformed tenant, site or event id.
 */
export function eventAad(ref: EventRef): Uint8Array {
  check('tenant', tenantIdProblem(ref.tenant));
  check('site', siteIdProblem(ref.site));
  check('eventId', eventIdProblem(ref.eventId));
  return formatCanonicalJson({ _type: eventAadType, event: ref.eventId, site: ref.site, tenant: ref.tenant });
}

/** tenantKeyAad returns the associated data of a wrapped tenant key (see the module comment). */
export function tenantKeyAad(ref: TenantKeyRef): Uint8Array {
  check('tenant', tenantIdProblem(ref.tenant));
  check('site', siteIdProblem(ref.site));
  return formatCanonicalJson({ _type: tenantKeyAadType, site: ref.site, tenant: ref.tenant });
}

/**
 * sealEvent encrypts one event's bytes (typically `formatTelemetryEvent`) under the tenant's
 * 32-byte data key (raw, or prepared once with `importAeadKey` for speed), bound to `ref`; the result is {@link aeadOverhead} bytes longer.
 */
export function sealEvent(dataKey: Uint8Array | AeadKey, ref: EventRef, plaintext: Uint8Array): Uint8Array {
  return seal(dataKey, plaintext, eventAad(ref));
}

/** EventScope is the tenant and site shared by the events of one {@link sealEvents} call. */
export interface EventScope {
  readonly tenant: string;
  readonly site: SiteId;
}

/** EventToSeal is one event for {@link sealEvents}: its id and its bytes. */
export interface EventToSeal {
  readonly eventId: string;
  readonly plaintext: Uint8Array;
}

/**
 * sealEvents seals many events of one tenant at one site under its data key, each exactly as
 * {@link sealEvent} with `{ ...scope, eventId }` would (its own random nonce, its own event id
 * bound), and returns them in order (views of one buffer; see core/crypto `sealMany`). It throws
 * `invalid-argument` for a malformed tenant, site or event id, before anything is sealed.
 */
export function sealEvents(
  dataKey: Uint8Array | AeadKey,
  scope: EventScope,
  events: readonly EventToSeal[],
): Uint8Array[] {
  // The AAD of every event is this template with the probe id replaced by the event's id: ids
  // are letters, digits, "_", "-" and ".", which canonical JSON writes as they are.
  const template = eventAad({ tenant: scope.tenant, site: scope.site, eventId: aadProbe });
  const at = indexOfBytes(template, aadProbeBytes) + aadProbeOffset;
  const before = template.subarray(0, at);
  const after = template.subarray(at + aadProbe.length);
  const items = events.map(({ eventId, plaintext }) => {
    check('eventId', eventIdProblem(eventId));
    return { plaintext, aad: [before, toBytes(eventId), after] };
  });
  return sealMany(dataKey, items);
}

const aadProbe = 'probe-event-id-0.0';
const aadProbeBytes = toBytes(`"event":"${aadProbe}"`);
const aadProbeOffset = '"event":"'.length;

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new VouchError('invariant', 'internal error: the event id is missing from its associated data');
}

/**
 * openEvent decrypts an event sealed by {@link sealEvent}. It throws `bad-digest` when the key is
 * wrong or the event was altered or moved (another tenant, site or event id than `ref`), and
 * `malformed` for a truncated value or an unknown layout version.
 */
export function openEvent(dataKey: Uint8Array | AeadKey, ref: EventRef, sealed: Uint8Array): Uint8Array {
  return open(dataKey, sealed, eventAad(ref));
}

/** wrapTenantKey wraps a tenant's data key under the site's key-encryption key, bound to the site and tenant. */
export function wrapTenantKey(kek: Uint8Array | AeadKey, dataKey: Uint8Array, ref: TenantKeyRef): Uint8Array {
  return wrapKey(kek, dataKey, tenantKeyAad(ref));
}

/**
 * unwrapTenantKey recovers a tenant's data key; `bad-digest` when the site key is wrong or the
 * wrapped key belongs to another site or tenant.
 */
export function unwrapTenantKey(
  kek: Uint8Array | AeadKey,
  wrapped: Uint8Array,
  ref: TenantKeyRef,
): Uint8Array {
  return unwrapKey(kek, wrapped, tenantKeyAad(ref));
}

/** sealedEventOverhead is how many bytes sealing adds to an event. */
export const sealedEventOverhead = aeadOverhead;
