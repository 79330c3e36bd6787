/**
 * Test support: runs `vouch serve ARGS...` as its own process, for as long as `serve` is not yet
 * in the CLI's command table (src/faces/cli/commands/index.ts); the serve end-to-end test uses
 * the real `vouch serve` once it is.
 */

import { serveCommand } from '../../src/faces/cli/commands/serve.ts';
import { processIo, reportError } from '../../src/faces/cli/io.ts';

const io = processIo();
try {
  process.exitCode = await serveCommand.run(process.argv.slice(2), io);
} catch (error) {
  process.exitCode = reportError(error, io);
}
