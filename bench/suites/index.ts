/** The benchmark suites `npm run bench` runs, in report order. */
import type { Suite } from '../lib.ts';
import { merkle } from './merkle.ts';
import { signatures } from './signatures.ts';

export const suites: readonly Suite[] = [merkle, signatures];
