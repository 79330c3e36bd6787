/**
 * `npm run demo`: runs `vouch demo` with this script's arguments (`node scripts/quickstart.ts
 * --dir DIR` keeps working). The story, its checks and its narration live in
 * src/faces/cli/demo/; see `vouch demo --help`.
 */

import { processIo, runCli } from '../src/faces/cli/main.ts';

process.exitCode = await runCli(['demo', ...process.argv.slice(2)], processIo());
