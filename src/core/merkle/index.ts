/** RFC 6962 / RFC 9162 Merkle trees: hashing, streaming roots, plan/compute proofs, direct proofs and verifiers. */
export { RightEdge, rootFromLeafHashes } from './edge.ts';
export { assertHash, emptyRoot, hashSize, isHash, leafHash, nodeHash } from './hash.ts';
export {
  computeConsistency,
  computeInclusion,
  computeRoot,
  planConsistency,
  planInclusion,
  planRoot,
} from './plan.ts';
export { merkleTreeHash, proveConsistency, proveInclusion } from './prove.ts';
export { assertTreeSize, maxTreeSize, type SubtreeCoordinate } from './subtree.ts';
export {
  consistencyProofLength,
  inclusionProofLength,
  maxConsistencyProofLength,
  maxInclusionProofLength,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './verify.ts';
