/** The table of `vouch` subcommands, in the order `vouch --help` lists them. */

import type { Command } from '../io.ts';
import { accessCommand } from './access.ts';
import { agentCommand } from './agent.ts';
import { approveCommand } from './approve.ts';
import { auditCommand } from './audit.ts';
import { buildCommand } from './build.ts';
import { demoCommand } from './demo.ts';
import { keyCommand } from './key.ts';
import { logCommand } from './log.ts';
import { monitorCommand } from './monitor.ts';
import { noteCommand } from './note.ts';
import { rebuildCommand } from './rebuild.ts';
import { repoCommand } from './repo.ts';
import { rulesCommand } from './rules.ts';
import { scanCommand } from './scan.ts';
import { serveCommand } from './serve.ts';
import { sigstoreCommand } from './sigstore.ts';
import { siteCommand } from './site.ts';
import { witnessCommand } from './witness.ts';

export const commands: readonly Command[] = [
  keyCommand,
  noteCommand,
  logCommand,
  witnessCommand,
  monitorCommand,
  buildCommand,
  rulesCommand,
  rebuildCommand,
  approveCommand,
  repoCommand,
  sigstoreCommand,
  scanCommand,
  agentCommand,
  siteCommand,
  accessCommand,
  serveCommand,
  auditCommand,
  demoCommand,
];
