/**
 * The computations WAMP-CRA and WAMP-SCRAM share between client and router:
 * key derivation (PBKDF2-HMAC-SHA256, Argon2id), HMAC signatures, the SCRAM
 * AuthMessage and keys. Pure functions over `@noble/hashes`.
 *
 * @module
 */
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64Encode, base64Unpadded, utf8, xor } from './bytes.js';
import { saslprep } from './saslprep.js';
import { WampAuthError } from './errors.js';

// ---------------------------------------------------------------------------
// WAMP-CRA

/**
 * Derives a salted WAMP-CRA key from a secret, exactly as Autobahn's
 * `derive_key(secret, salt, iterations, keylen)`: PBKDF2-HMAC-SHA256 over the
 * UTF-8 bytes of `secret` and of `salt` (the salt string is used as-is, not
 * Base64-decoded), returned as Base64. That Base64 string is the key the HMAC
 * uses — store it as the principal's secret on the router.
 *
 * @param secret - the password
 * @param salt - CHALLENGE.Extra.salt (a string)
 * @param iterations - PBKDF2 iteration count (Autobahn's default 1000)
 * @param keylen - derived key length in bytes (default 32)
 * @returns the derived key, Base64
 * @example
 * ```ts
 * const key = await deriveCraKey('secret123', 'salt123', 1000, 32);
 * console.assert(key.length === 44);
 * ```
 */
export async function deriveCraKey(secret: string, salt: string, iterations = 1000, keylen = 32): Promise<string> {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError('deriveCraKey: iterations must be a positive integer');
  if (!Number.isSafeInteger(keylen) || keylen < 1 || keylen > 1024) throw new RangeError('deriveCraKey: keylen must be in [1, 1024]');
  const key = await pbkdf2Async(sha256, utf8(secret), utf8(salt), { c: iterations, dkLen: keylen });
  return base64Encode(key);
}

/**
 * The WAMP-CRA signature: Base64 of HMAC-SHA256 keyed with the UTF-8 bytes of
 * the secret (or derived key) over the UTF-8 bytes of the challenge string
 * (Autobahn's `compute_wcs`).
 *
 * @param key - the shared secret, or the Base64 string {@link deriveCraKey} returned
 * @param challenge - CHALLENGE.Extra.challenge
 * @returns AUTHENTICATE.Signature
 */
export function craSignature(key: string | Uint8Array, challenge: string): string {
  return base64Encode(craMac(key, challenge));
}

/** @internal Raw WAMP-CRA MAC. */
export function craMac(key: string | Uint8Array, challenge: string): Uint8Array {
  return hmac(sha256, typeof key === 'string' ? utf8(key) : key, utf8(challenge));
}

// ---------------------------------------------------------------------------
// WAMP-SCRAM

/**
 * Key derivation functions for WAMP-SCRAM (CHALLENGE.Extra.kdf):
 * - `'argon2id13'`: Argon2id v1.3, p = 1, 32-byte output (WAMP spec);
 * - `'pbkdf2'`: PBKDF2-HMAC-SHA256, 32-byte output (WAMP spec);
 * - `'argon2id-13'`: what Autobahn|Python and Crossbar.io implement: the same
 *   Argon2id hash, but the SaltedPassword is the ASCII text of its unpadded
 *   Base64 (as it appears in an `$argon2id$…` string), not the raw 32 bytes.
 */
export type ScramKdf = 'argon2id13' | 'pbkdf2' | 'argon2id-13';

/** All {@link ScramKdf} values. */
export const SCRAM_KDFS: readonly ScramKdf[] = ['argon2id13', 'pbkdf2', 'argon2id-13'];

/**
 * Which WAMP-SCRAM variant is spoken:
 * - `'spec'`: the WAMP specification — authmethod `wamp-scram`,
 *   `ClientFinalNoProof = "c=" + Base64(gs2-header [+ cbind data])`, username
 *   escaped, password SASLprep'd, server signature in
 *   WELCOME.Details.authextra.verifier;
 * - `'autobahn'`: Autobahn|Python / Crossbar.io — authmethod `scram`,
 *   `"c=" + channel binding name (empty)`, no escaping, the password as UTF-8
 *   without SASLprep, server signature in `authextra.scram_server_signature`.
 */
export type ScramDialect = 'spec' | 'autobahn';

/** The authmethod name of a dialect. */
export function scramMethod(dialect: ScramDialect): 'wamp-scram' | 'scram' {
  return dialect === 'spec' ? 'wamp-scram' : 'scram';
}

/** WELCOME.Details.authextra key that carries the server signature in a dialect. */
export function scramSignatureKey(dialect: ScramDialect): 'verifier' | 'scram_server_signature' {
  return dialect === 'spec' ? 'verifier' : 'scram_server_signature';
}

/** KDF cost parameters. */
export interface ScramKdfParams {
  kdf: ScramKdf;
  /** PBKDF2 iteration count, or Argon2 time cost. */
  iterations: number;
  /** Argon2 memory cost in KiB (required for the Argon2 KDFs). */
  memory?: number;
}

/**
 * SaltedPassword = KDF(password, salt, params).
 * @internal
 */
export async function scramSaltedPassword(password: Uint8Array, salt: Uint8Array, p: ScramKdfParams): Promise<Uint8Array> {
  if (p.kdf === 'pbkdf2') return pbkdf2Async(sha256, password, salt, { c: p.iterations, dkLen: 32 });
  const memory = p.memory ?? 0;
  const hash = await argon2idAsync(password, salt, {
    t: p.iterations,
    m: memory,
    p: 1,
    dkLen: 32,
    version: 0x13,
    // The limits were checked by the caller; give noble room for exactly that much.
    maxmem: memory * 1024 + 1024 * 1024,
  });
  return p.kdf === 'argon2id13' ? hash : utf8(base64Unpadded(hash));
}

/** ClientKey, StoredKey and ServerKey from a SaltedPassword (RFC 5802 §3). @internal */
export function scramKeys(salted: Uint8Array): { clientKey: Uint8Array; storedKey: Uint8Array; serverKey: Uint8Array } {
  const clientKey = hmac(sha256, salted, utf8('Client Key'));
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(sha256, salted, utf8('Server Key')) };
}

/** The inputs of the SCRAM AuthMessage, as strings seen on the wire. @internal */
export interface ScramAuthMessageInput {
  /** HELLO.Details.authid, SASLprep'd. */
  authid: string;
  /** HELLO.Details.authextra.nonce. */
  clientNonce: string;
  /** CHALLENGE.Extra.nonce. */
  serverNonce: string;
  /** CHALLENGE.Extra.salt (Base64 text). */
  salt: string;
  iterations: number;
  /** Channel binding type, when bound. */
  channelBinding?: string | undefined;
  /** Channel binding data, when bound (spec dialect). */
  cbindData?: Uint8Array | undefined;
}

function escapeSaslName(s: string): string {
  return s.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/**
 * AuthMessage = ClientFirstBare "," ServerFirst "," ClientFinalNoProof
 * (WAMP advanced profile, "AuthMessage"; RFC 5802 §3).
 * @internal
 */
export function scramAuthMessage(dialect: ScramDialect, m: ScramAuthMessageInput): Uint8Array {
  let text: string;
  if (dialect === 'spec') {
    const flag = m.channelBinding ? `p=${m.channelBinding}` : 'n';
    const head = utf8(`${flag},,`);
    const cbind = new Uint8Array(head.length + (m.cbindData?.length ?? 0));
    cbind.set(head);
    if (m.cbindData) cbind.set(m.cbindData, head.length);
    text =
      `n=${escapeSaslName(m.authid)},r=${m.clientNonce},` +
      `r=${m.serverNonce},s=${m.salt},i=${m.iterations},` +
      `c=${base64Encode(cbind)},r=${m.serverNonce}`;
  } else {
    text =
      `n=${m.authid},r=${m.clientNonce},` +
      `r=${m.serverNonce},s=${m.salt},i=${m.iterations},` +
      `c=${m.channelBinding ?? ''},r=${m.serverNonce}`;
  }
  return utf8(text);
}

/** ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage). @internal */
export function scramClientProof(clientKey: Uint8Array, storedKey: Uint8Array, authMessage: Uint8Array): Uint8Array {
  return xor(clientKey, hmac(sha256, storedKey, authMessage));
}

/** ServerSignature = HMAC(ServerKey, AuthMessage). @internal */
export function scramServerSignature(serverKey: Uint8Array, authMessage: Uint8Array): Uint8Array {
  return hmac(sha256, serverKey, authMessage);
}

/** RecoveredStoredKey = SHA256(HMAC(StoredKey, AuthMessage) XOR ClientProof). @internal */
export function scramRecoverStoredKey(storedKey: Uint8Array, authMessage: Uint8Array, proof: Uint8Array): Uint8Array {
  return sha256(xor(hmac(sha256, storedKey, authMessage), proof));
}

/**
 * The password bytes a dialect feeds to the KDF: SASLprep'd UTF-8 (spec), or
 * plain UTF-8 (Autobahn).
 * @internal
 */
export function scramPasswordBytes(dialect: ScramDialect, password: string): Uint8Array {
  return utf8(dialect === 'spec' ? prep(password, 'password') : password);
}

/** SASLprep, with a {@link WampAuthError} instead of a RangeError. @internal */
export function prep(s: string, what: string): string {
  try {
    return saslprep(s);
  } catch (e) {
    throw new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', `SCRAM ${what}: ${(e as Error).message}`);
  }
}
