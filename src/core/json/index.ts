/** JSON for signed data: the value model, a strict bounded parser and the canonical encoders. */
export { compareCodePoints, formatCanonicalJson, formatJson, maxEncodeDepth } from './canonical.ts';
export { defaultMaxDepth, type ParseJsonOptions, parseJson } from './parse.ts';
export {
  type FieldPath,
  formatFieldPath,
  isJsonArray,
  isJsonObject,
  type JsonArray,
  type JsonObject,
  type JsonValue,
} from './value.ts';
