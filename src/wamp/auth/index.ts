/**
 * WAMP authentication: client authenticators, cryptosign keys, the router-side
 * checks, and the shared errors. Everything here is isomorphic (no `node:*`).
 *
 * @module
 */
export type { AuthChannel, ChallengeResponse, ClientAuthenticator } from './types.js';
export {
  anonymous,
  ticket,
  wampcra,
  cryptosign,
  scram,
  type KdfLimits,
  type SecretSource,
  type AuthidOption,
  type WampCraOptions,
  type CryptosignChannelBinding,
  type CryptosignOptions,
  type ScramOptions,
} from './client.js';
export {
  type CryptosignKey,
  generateKeyPair,
  loadPrivateKey,
  parsePublicKey,
  signChallenge,
  verifyChallengeSignature,
  cryptosignChannelId,
} from './cryptosign-key.js';
export { deriveCraKey, craSignature, type ScramKdf, type ScramDialect } from './kdf.js';
export {
  WampAuthError,
  type WampAuthErrorCode,
  URI_AUTHENTICATION_FAILED,
  URI_CANNOT_AUTHENTICATE,
} from './errors.js';
export {
  type AuthVerdict,
  type ChannelBindingData,
  verifyTicket,
  type CraSalt,
  type CraChallengeOptions,
  type CraPending,
  createCraChallenge,
  verifyCra,
  type CryptosignChallengeOptions,
  type CryptosignPending,
  createCryptosignChallenge,
  verifyCryptosign,
  type ScramCredential,
  type ScramChallengeOptions,
  type ScramPending,
  scramDialectOf,
  createScramChallenge,
  verifyScram,
  type ScramCredentialOptions,
  deriveScramCredential,
  scramCredentialFromCrossbar,
} from './server.js';
