/**
 * A log server for the fault tests to run as a child process and SIGKILL: the wiring of
 * `vouch log serve` (faces/cli/commands/log.ts) with a short sequencing lease, which the CLI does
 * not offer. Usage: `node sequencer-child.ts DIR LEASE_MS`, with DATABASE_URL set for PostgreSQL;
 * the log key is the unencrypted key file that DIR/log.json names. It logs JSON lines on stderr,
 * among them `serving log ORIGIN at URL/`, and exits when its standard input closes, so that it
 * never outlives the test that started it.
 */

import { createSigner } from '../../src/core/crypto/index.ts';
import { createNoteSigner } from '../../src/core/note/index.ts';
import { serve } from '../../src/faces/http/http.ts';
import { createLogHandler } from '../../src/faces/http/log.ts';
import { keyPathOf, LogService, readLogFolderConfig } from '../../src/services/log/folder.ts';
import { readKeyFile } from '../../src/storage/fs/key-file.ts';

const [dir, lease] = process.argv.slice(2);
if (dir === undefined || lease === undefined) throw new Error('usage: sequencer-child.ts DIR LEASE_MS');
const say = (msg: string): void => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg })}\n`);
};
const config = await readLogFolderConfig(dir);
const key = await readKeyFile(keyPathOf(dir, config), undefined);
const databaseUrl = process.env.DATABASE_URL;
const service = await LogService.start({
  dir,
  signer: createNoteSigner(createSigner(key.name, key.material)),
  leaseMs: Number(lease),
  log: say,
  ...(databaseUrl === undefined || databaseUrl === '' ? {} : { databaseUrl }),
});
const server = await serve(createLogHandler({ files: service.files, log: () => service.log }), {
  host: '127.0.0.1',
  port: 0,
  log: say,
});
say(`serving log ${config.origin} at ${server.url}/`);
process.stdin.resume();
process.stdin.once('close', () => {
  void server
    .close()
    .then(() => service.close())
    .finally(() => process.exit(0));
});
