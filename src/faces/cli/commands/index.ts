/** The table of `vouch` subcommands, in the order `vouch --help` lists them. */

import type { Command } from '../io.ts';

export const commands: readonly Command[] = [];
