/** The cryptography of core: hashes, key pairs, signers and verifiers. The only core module with Node imports. */

export {
  AeadKey,
  aeadKeyLength,
  aeadNonceLength,
  aeadOverhead,
  aeadTagLength,
  aeadVersion,
  generateDataKey,
  importAeadKey,
  maxSealMany,
  open,
  type SealItem,
  seal,
  sealMany,
  unwrapKey,
  wrapKey,
} from './aead.ts';
export { ed25519Pkcs8FromSeed, ed25519SeedFromPkcs8, ed25519SeedLength } from './ed25519-seed.ts';
export { sha256, sha512 } from './hash.ts';
export { assertKeyName, isValidKeyName, maxKeyNameLength } from './key-name.ts';
export {
  defaultScryptParams,
  inspectKeyFile,
  type KeyFileInfo,
  keyFileMagic,
  maxKeyFileSize,
  type OpenedKeyFile,
  openKeyFile,
  type ScryptParams,
  type SealOptions,
  scryptLimits,
  sealKeyFile,
} from './keyfile.ts';
export {
  createSigner,
  createVerifier,
  formatPublicKeyPem,
  generateKey,
  importPrivateKey,
  isKeyType,
  type KeyType,
  keyTypes,
  type PrivateKeyMaterial,
  publicKeyId,
  publicKeySpki,
  type Signer,
  type Verifier,
} from './keys.ts';
