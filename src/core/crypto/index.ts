/** The cryptography of core: hashes, key pairs, signers and verifiers. The only core module with Node imports. */
export { sha256, sha512 } from './hash.ts';
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
