/**
 * `vouch repo publish` for the repository crash test (repo-crash.test.ts), as a child process to
 * SIGKILL: the same services/repo publishRepository the CLI runs, with the CLI's key loading, but
 * whose release log is the test's witnessed log behind a loopback URL (`POST URL` with the entry
 * answers its tlog-proof), since the agent under test trusts only that log. Usage:
 * `node publish-child.ts REPO SNAPSHOT_KEY TIMESTAMP_KEY LOG_URL NOW`. It writes `publishing` on
 * stderr before it starts and `published ...` when done, and exits 0, or 1 with the error.
 */

import { createSigner } from '../../src/core/crypto/index.ts';
import { publishRepository } from '../../src/services/repo/publish.ts';
import { readKeyFile } from '../../src/storage/fs/key-file.ts';

const [repo, snapshotKey, timestampKey, logUrl, now] = process.argv.slice(2);
if (repo === undefined || snapshotKey === undefined || timestampKey === undefined || logUrl === undefined)
  throw new Error('usage: publish-child.ts REPO SNAPSHOT_KEY TIMESTAMP_KEY LOG_URL NOW');
const signer = async (path: string) => {
  const key = await readKeyFile(path, undefined);
  return createSigner(key.name, key.material);
};
const options = {
  snapshotSigner: await signer(snapshotKey),
  timestampSigner: await signer(timestampKey),
  log: {
    async append(entry: Uint8Array): Promise<Uint8Array> {
      const response = await fetch(logUrl, { method: 'POST', body: entry });
      const body = new Uint8Array(await response.arrayBuffer());
      if (response.status !== 200) throw new Error(`the log answered ${response.status}`);
      return body;
    },
  },
  now: Number(now),
};
process.stderr.write('publishing\n');
try {
  const result = await publishRepository(repo, options);
  process.stderr.write(
    `published targets ${result.targets} snapshot ${result.snapshot} timestamp ${result.timestamp}\n`,
  );
} catch (error) {
  process.stderr.write(`failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
