/** C2SP transparency-log formats: checkpoints, cosignatures, tiles, entry bundles and offline proofs. */
export * from './checkpoint.ts';
export * from './cosignature.ts';
export * from './entry-bundle.ts';
export * from './policy.ts';
export * from './proof.ts';
export * from './quorum.ts';
export * from './tile-path.ts';
export * from './tiles.ts';
export * from './witness-request.ts';
