/** The byte helpers of core, re-exported as one module. */
export { formatBase64, parseBase64 } from './base64.ts';
export {
  compareBytes,
  concatBytes,
  equalBytes,
  formatHex,
  formatUint64,
  parseDecimal,
  parseHex,
  parseUint64,
  timingSafeEqualBytes,
  toBytes,
  toText,
} from './bytes.ts';
export { collectBytes } from './collect.ts';
