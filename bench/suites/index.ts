/** The benchmark suites `npm run bench` runs, in report order. */
import type { Suite } from '../lib.ts';
import { conveyer } from './conveyer.ts';
import { logHttp } from './log-http.ts';
import { logProof } from './log-proof.ts';
import { logSequencer } from './log-sequencer.ts';
import { logTiles } from './log-tiles.ts';
import { merkle } from './merkle.ts';
import { rules } from './rules.ts';
import { signatures } from './signatures.ts';
import { siteIngest } from './site-ingest.ts';
import { siteReads } from './site-reads.ts';
import { updates } from './updates.ts';
import { witness } from './witness.ts';

export const suites: readonly Suite[] = [
  merkle,
  signatures,
  logSequencer,
  logHttp,
  logTiles,
  logProof,
  witness,
  conveyer,
  rules,
  updates,
  siteIngest,
  siteReads,
];
