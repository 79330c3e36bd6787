/**
 * The monitor: it follows one log and makes a fork visible. Each poll it (1) verifies the log's
 * checkpoint against the trust policy (log key and witness quorum), (2) proves it consistent
 * with the last checkpoint it verified, kept in its state folder ("verify, then persist"),
 * (3) optionally reads every new entry, checked against its leaf hash, and (4) compares the
 * checkpoints other sources show for the same log — each witness's latest cosigned view (C2SP
 * tlog-witness monitoring endpoint) and mirrors — with the log's: two views of one origin must
 * be consistent, or they are a split view, reported with both views named.
 *
 * A view ahead of the log is checked against the log's own tiles at that size when the log
 * serves them; when it does not yet, the comparison waits for a later poll (never a false alarm).
 */

import { equalBytes, formatBase64 } from '../../core/bytes/index.ts';
import { isVouchError } from '../../core/errors.ts';
import type { NoteVerifier } from '../../core/note/index.ts';
import type { Checkpoint } from '../../core/tlog/checkpoint.ts';
import { LogClient, openCheckpoint } from '../log/client.ts';
import { checkpointPath, type TileFetcher } from '../log/fetcher.ts';

/** MonitorEvent is one line of the monitor's output. */
export type MonitorEvent =
  | {
      readonly event: 'checkpoint';
      readonly origin: string;
      readonly size: string;
      readonly root: string;
      readonly cosigners: readonly string[];
    }
  | { readonly event: 'entries'; readonly from: string; readonly to: string }
  | {
      readonly event: 'view';
      readonly source: string;
      readonly size: string;
      readonly status: 'consistent' | 'pending' | 'none';
    }
  | { readonly event: 'fork'; readonly reason: string; readonly views: readonly View[] }
  | { readonly event: 'error'; readonly source: string; readonly code: string; readonly message: string };

/** View is one source's checkpoint of the log, as named in a fork report. */
export interface View {
  readonly source: string;
  readonly size: string;
  readonly root: string;
}

/** Source is another place showing a checkpoint of the same log: a witness or a mirror. */
export interface Source {
  readonly name: string;
  /** checkpoint returns the signed checkpoint the source shows, or undefined if it has none. */
  checkpoint(): Promise<Uint8Array | undefined>;
}

/** MonitorOptions: what to follow and what to trust. */
export interface MonitorOptions {
  readonly log: TileFetcher;
  /** logName names the log in reports (its URL). */
  readonly logName: string;
  readonly logKey: NoteVerifier;
  /** verify applies the full trust policy (log signature and witness quorum) to the log's checkpoint. */
  readonly verify: (signed: Uint8Array) => {
    readonly checkpoint: Checkpoint;
    readonly cosigners: readonly string[];
  };
  readonly sources?: readonly Source[];
  /** entries makes each poll read and check every new entry. */
  readonly entries?: boolean;
  /** state persists the last verified checkpoint between runs. */
  readonly state: { load(): Promise<Uint8Array | undefined>; save(signed: Uint8Array): Promise<void> };
  readonly emit: (event: MonitorEvent) => void;
}

/** PollResult says whether a poll found the log sound. */
export interface PollResult {
  readonly ok: boolean;
  readonly size: bigint;
}

/** pollOnce runs one round of checks; see the module comment. It emits events and never throws for a log's misbehaviour. */
export async function pollOnce(options: MonitorOptions): Promise<PollResult> {
  const { emit } = options;
  const signed = await options.log.get(checkpointPath);
  if (signed === undefined) {
    emit({
      event: 'error',
      source: options.logName,
      code: 'not-found',
      message: 'the log has no checkpoint',
    });
    return { ok: false, size: 0n };
  }
  let current: { checkpoint: Checkpoint; cosigners: readonly string[] };
  try {
    current = options.verify(signed);
  } catch (error) {
    emit(errorEvent(options.logName, error));
    return { ok: false, size: 0n };
  }
  const cp = current.checkpoint;
  const client = await LogClient.open(fixedCheckpoint(options.log, signed), {
    logKey: options.logKey,
    origin: cp.origin,
  });
  const here = view(options.logName, cp);
  let ok = true;

  const previousBytes = await options.state.load();
  const previous =
    previousBytes === undefined
      ? undefined
      : openCheckpoint(previousBytes, { logKey: options.logKey, origin: cp.origin }).checkpoint;
  if (previous !== undefined) {
    try {
      await client.checkConsistency(previous);
    } catch (error) {
      if (!isVouchError(error, 'bad-proof')) throw error;
      emit({
        event: 'fork',
        reason: error.message,
        views: [view('monitor state (last verified)', previous), here],
      });
      return { ok: false, size: cp.size };
    }
  }
  emit({
    event: 'checkpoint',
    origin: cp.origin,
    size: cp.size.toString(),
    root: formatBase64(cp.root),
    cosigners: current.cosigners,
  });

  if (options.entries === true && previous !== undefined && cp.size > previous.size) {
    let count = 0n;
    for await (const _ of client.entries(previous.size, cp.size)) count++;
    emit({ event: 'entries', from: previous.size.toString(), to: (previous.size + count).toString() });
  }

  for (const source of options.sources ?? []) {
    const result = await compareView(options, client, source);
    if (!result) ok = false;
  }
  if (ok) await options.state.save(signed);
  return { ok, size: cp.size };
}

async function compareView(options: MonitorOptions, client: LogClient, source: Source): Promise<boolean> {
  const { emit } = options;
  const cp = client.checkpoint;
  let signed: Uint8Array | undefined;
  let other: Checkpoint;
  try {
    signed = await source.checkpoint();
    if (signed === undefined) {
      emit({ event: 'view', source: source.name, size: '0', status: 'none' });
      return true;
    }
    // A view only needs the log's own signature to be evidence: the log signed two histories.
    other = openCheckpoint(signed, { logKey: options.logKey, origin: cp.origin }).checkpoint;
  } catch (error) {
    emit(errorEvent(source.name, error));
    return !isVouchError(error, 'bad-signature');
  }
  const fork = (reason: string): false => {
    emit({ event: 'fork', reason, views: [view(options.logName, cp), view(source.name, other)] });
    return false;
  };
  if (other.size === cp.size) {
    if (!equalBytes(other.root, cp.root))
      return fork(`two different trees of size ${cp.size} signed by the log`);
  } else if (other.size < cp.size) {
    try {
      await client.checkConsistency(other);
    } catch (error) {
      if (!isVouchError(error, 'bad-proof')) throw error;
      return fork(`the view of size ${other.size} is not a prefix of the log's tree: ${error.message}`);
    }
  } else {
    // The source is ahead: check the log's tiles at that size, if the log serves them yet.
    try {
      const ahead = await LogClient.open(fixedCheckpoint(options.log, signed), {
        logKey: options.logKey,
        origin: cp.origin,
      });
      await ahead.checkConsistency(cp);
    } catch (error) {
      if (isVouchError(error, 'bad-proof'))
        return fork(`the log's tree is not a prefix of the view of size ${other.size}: ${error.message}`);
      emit({ event: 'view', source: source.name, size: other.size.toString(), status: 'pending' });
      return true;
    }
  }
  emit({ event: 'view', source: source.name, size: other.size.toString(), status: 'consistent' });
  return true;
}

/** fixedCheckpoint serves `signed` as the checkpoint and everything else from `fetcher`. */
function fixedCheckpoint(fetcher: TileFetcher, signed: Uint8Array): TileFetcher {
  return { get: (path) => (path === checkpointPath ? Promise.resolve(signed) : fetcher.get(path)) };
}

function view(source: string, cp: Checkpoint): View {
  return { source, size: cp.size.toString(), root: formatBase64(cp.root) };
}

function errorEvent(source: string, error: unknown): MonitorEvent {
  if (isVouchError(error)) return { event: 'error', source, code: error.code, message: error.message };
  return {
    event: 'error',
    source,
    code: 'internal',
    message: error instanceof Error ? error.message : String(error),
  };
}

/** isFatal reports whether an event means the log broke a promise (the CLI exits non-zero on it). */
export function isFatal(event: MonitorEvent): boolean {
  if (event.event === 'fork') return true;
  return (
    event.event === 'error' &&
    ['bad-signature', 'no-trusted-signature', 'policy-unmet', 'bad-proof', 'bad-digest'].includes(event.code)
  );
}
