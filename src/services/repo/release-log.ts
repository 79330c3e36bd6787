/**
 * The release log as the repository sees it: somewhere to append an entry that answers with the
 * entry's C2SP tlog-proof (https://c2sp.org/tlog-proof) under a checkpoint the caller trusts.
 * Services may not import clients, so the repository takes this interface; the CLI implements it
 * with the log client (`addAndProve`, checked against the log's key), tests with an in-memory log.
 */

/** ReleaseLog appends entries to the release log. */
export interface ReleaseLog {
  /**
   * append logs `entry` and resolves to its tlog-proof bytes once the entry is durably in the
   * log and proven under a checkpoint the implementation verified; it rejects otherwise, and
   * then nothing may be published that depends on the entry.
   */
  append(entry: Uint8Array): Promise<Uint8Array>;
}
