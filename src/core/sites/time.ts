/**
 * Times in the site formats: RFC 3339 (https://www.rfc-editor.org/rfc/rfc3339) UTC in whole
 * seconds, `YYYY-MM-DDTHH:MM:SSZ`, the one spelling every record uses, and its conversion to
 * seconds since the epoch (the unit of the injected clocks). No fractions, no offsets, no leap
 * second (`:60`), years 1970 to 9999; a date that does not exist (February 30) is refused.
 * This module reads no clock.
 */

import { VouchError } from '../errors.ts';

const pattern = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;

/** maxTime is 9999-12-31T23:59:59Z in seconds since the epoch, the largest time the formats spell. */
export const maxTime = 253_402_300_799;

/** formatTime writes seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`; throws `invalid-argument` out of range. */
export function formatTime(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > maxTime) {
    throw new VouchError('invalid-argument', 'a time must be whole seconds from 1970 to 9999');
  }
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;
}

/** timeProblem returns why `text` is not an RFC 3339 UTC time in whole seconds, or undefined. */
export function timeProblem(text: string): string | undefined {
  const m = pattern.exec(text);
  if (m === null) return 'not a time of the form YYYY-MM-DDTHH:MM:SSZ';
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const seconds = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > maxTime || formatTime(seconds) !== text) {
    return 'not a valid time';
  }
  return undefined;
}

/** parseTime reads `YYYY-MM-DDTHH:MM:SSZ` as seconds since the epoch, or throws `malformed` naming `field`. */
export function parseTime(text: string, field = 'time'): number {
  const problem = timeProblem(text);
  if (problem !== undefined) throw new VouchError('malformed', `${field} is ${problem}`, { field });
  const m = pattern.exec(text);
  if (m === null) throw new VouchError('invariant', 'internal error: a checked time does not match');
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}
