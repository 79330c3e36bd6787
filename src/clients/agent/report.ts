/**
 * Reporting a run's outcome to the tenant's site: `POST <site>/v1/agent-reports` with a JSON body
 * and `Authorization: Bearer <tenant credential>`, bounded by a timeout. The site side is a later
 * issue; here a report is best effort: a failure is recorded in status.json and never fails the
 * update (the update's safety does not depend on the site). The credential is read from its file
 * at each report, never logged or written into status, and must be one line of printable ASCII.
 */

import { open } from 'node:fs/promises';
import { VouchError } from '../../core/errors.ts';
import type { AgentStatus } from './status.ts';

/** maxCredentialBytes bounds the credential file. */
export const maxCredentialBytes = 4096;

/** ReportOutcome says whether the site took the report. */
export interface ReportOutcome {
  readonly ok: boolean;
  readonly at: string;
  /** status is the HTTP status when one was received. */
  readonly status?: number;
  /** error says why the report failed (never containing the credential). */
  readonly error?: string;
}

/** ReportOptions are where and how to report. */
export interface ReportOptions {
  readonly site: string;
  readonly credentialFile: string;
  readonly timeoutMs: number;
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => number;
}

/**
 * readCredential reads the tenant credential file: one line of printable ASCII, trimmed. Like a
 * key file (storage/fs/key-file.ts) it must be a regular file that the group and others cannot
 * access (`bad-key` otherwise: a bearer token others can read may already be someone else's),
 * and at most {@link maxCredentialBytes} are read from it (`too-large` past that).
 */
export async function readCredential(path: string): Promise<string> {
  const handle = await open(path, 'r');
  let bytes: Buffer;
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new VouchError('bad-key', 'the credential file is not a regular file');
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
      throw new VouchError(
        'bad-key',
        `the credential file is accessible by other users (mode ${mode}); run chmod 600 on it`,
      );
    }
    // One byte past the limit, so a file that grows after the stat is still caught.
    bytes = Buffer.alloc(maxCredentialBytes + 1);
    let length = 0;
    while (length < bytes.length) {
      const { bytesRead } = await handle.read(bytes, length, bytes.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    bytes = bytes.subarray(0, length);
  } finally {
    await handle.close();
  }
  if (bytes.length > maxCredentialBytes) {
    throw new VouchError('too-large', `the credential file exceeds ${maxCredentialBytes} bytes`, {
      limit: maxCredentialBytes,
    });
  }
  const text = bytes.toString('latin1').trim();
  if (text === '' || !/^[\x21-\x7e]+$/.test(text)) {
    throw new VouchError('malformed', 'the credential file must hold one token of printable ASCII');
  }
  return text;
}

/** reportBody is the JSON the site receives: the status without local paths. */
export function reportBody(status: AgentStatus): Record<string, unknown> {
  const { report: _report, ...rest } = status;
  return rest;
}

/** sendReport posts the outcome to the site; it never throws. */
export async function sendReport(status: AgentStatus, options: ReportOptions): Promise<ReportOutcome> {
  const at = new Date((options.now ?? Date.now)()).toISOString();
  let credential: string;
  try {
    credential = await readCredential(options.credentialFile);
  } catch (error) {
    const why = error instanceof VouchError ? error.message : 'it could not be read';
    return { ok: false, at, error: `the tenant credential file is unusable: ${why}` };
  }
  try {
    const url = new URL('v1/agent-reports', options.site.endsWith('/') ? options.site : `${options.site}/`);
    const response = await (options.fetch ?? globalThis.fetch)(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${credential}`,
        'content-type': 'application/json',
        'user-agent': 'vouch-agent',
      },
      body: JSON.stringify(reportBody(status)),
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { ok: true, at, status: response.status };
    return { ok: false, at, status: response.status, error: `the site answered ${response.status}` };
  } catch (error) {
    const message =
      error instanceof VouchError
        ? error.message
        : error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
          ? `no answer within ${options.timeoutMs} ms`
          : 'the site could not be reached';
    return { ok: false, at, error: message };
  }
}
