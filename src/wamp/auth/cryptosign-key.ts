/**
 * Ed25519 keys for WAMP-Cryptosign, and the signature format on the wire.
 *
 * A private key is the 32-byte Ed25519 seed (RFC 8032 §5.1.5), which is also
 * what Autobahn|Python stores (`CryptosignKey.from_bytes`, a raw 32-byte key
 * file, or the 64-hex-digit `privkey` of `AuthCryptoSign`). Public keys travel
 * as 64 hex digits (HELLO.Details.authextra.pubkey).
 *
 * The AUTHENTICATE.Signature is hex of the 64-byte signature followed by the 32
 * bytes that were signed (96 bytes, 192 hex digits) — WAMP advanced profile,
 * "Computing the Signature": "The client MUST return the concatenation of the
 * signature and the message signed (96 bytes)".
 *
 * Signing and verifying use `@noble/curves` (RFC 8032 Ed25519, audited); no
 * primitive is written here.
 *
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { WampAuthError } from './errors.js';
import { fromHex, randomBytes, toHex, xor } from './bytes.js';

/** An Ed25519 key pair for WAMP-Cryptosign. Create with {@link generateKeyPair} or {@link loadPrivateKey}. */
export interface CryptosignKey {
  /** The 32-byte private seed. Keep it secret. */
  readonly privateKey: Uint8Array;
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** The public key as 64 lower-case hex digits (HELLO.Details.authextra.pubkey). */
  readonly publicKeyHex: string;
  /** Signs `message` (RFC 8032 Ed25519, deterministic), returning the 64-byte signature. */
  sign(message: Uint8Array): Uint8Array;
}

function makeKey(seed: Uint8Array): CryptosignKey {
  const privateKey = Uint8Array.from(seed);
  const publicKey = ed25519.getPublicKey(privateKey);
  return Object.freeze({
    privateKey,
    publicKey,
    publicKeyHex: toHex(publicKey),
    sign: (message: Uint8Array) => ed25519.sign(message, privateKey),
  });
}

/**
 * Generates a new random Ed25519 key pair.
 *
 * @returns a fresh key; store `toHex(key.privateKey)` (64 hex digits) to load it
 *   again with {@link loadPrivateKey} or with Autobahn|Python's `AuthCryptoSign(privkey=...)`
 */
export function generateKeyPair(): CryptosignKey {
  return makeKey(randomBytes(32));
}

/**
 * Loads a private key in the formats Autobahn uses: the 32-byte seed as 64 hex
 * digits (`AuthCryptoSign(privkey=...)`, Crossbar's key files without the
 * `private-key-ed25519:` label), or as raw bytes (`CryptosignKey.from_bytes`,
 * a 32-byte key file). A 64-byte NaCl/libsodium secret key (seed followed by
 * the public key) is accepted too; its public half must match the seed.
 *
 * @param key - hex string (optionally prefixed `0x`) or bytes
 * @returns the key pair
 * @throws {@link WampAuthError} `WAMP_ERR_AUTH_INVALID_KEY` when the input is not one of those formats
 */
export function loadPrivateKey(key: string | Uint8Array): CryptosignKey {
  let bytes: Uint8Array | undefined;
  if (typeof key === 'string') {
    const hex = key.trim().replace(/^0x/i, '');
    bytes = fromHex(hex);
    if (!bytes) throw invalidKey('private key string is not hex');
  } else if (key instanceof Uint8Array) {
    bytes = key;
  } else {
    throw invalidKey('private key must be a hex string or a Uint8Array');
  }
  if (bytes.length === 64) {
    const k = makeKey(bytes.subarray(0, 32));
    if (toHex(bytes.subarray(32)) !== k.publicKeyHex) throw invalidKey('64-byte secret key: public half does not match the seed');
    return k;
  }
  if (bytes.length !== 32) throw invalidKey(`private key must be 32 bytes (or 64 with the public key), got ${bytes.length}`);
  return makeKey(bytes);
}

/**
 * Parses a public key: 64 hex digits (or 32 bytes) that decode to a point on
 * the curve.
 *
 * @param key - hex string or bytes
 * @returns the 32 key bytes, or `undefined` when malformed or not a valid point
 */
export function parsePublicKey(key: unknown): Uint8Array | undefined {
  const bytes = typeof key === 'string' ? fromHex(key, 32) : key instanceof Uint8Array && key.length === 32 ? key : undefined;
  if (!bytes) return undefined;
  return ed25519.utils.isValidPublicKey(bytes) ? bytes : undefined;
}

/**
 * The 32 bytes that are signed for a challenge: the challenge itself, or the
 * challenge XOR the channel binding data when channel binding is in use
 * (WAMP advanced profile, "Computing the Signature").
 *
 * @internal
 */
export function cryptosignMessage(challenge: Uint8Array, channelId?: Uint8Array): Uint8Array {
  return channelId ? xor(challenge, channelId) : challenge;
}

/**
 * Signs a 32-byte challenge the way WAMP-Cryptosign wants it on the wire.
 *
 * @param key - the signing key
 * @param challenge - the 32 challenge bytes (CHALLENGE.Extra.challenge decoded)
 * @param channelId - 32 bytes of channel binding data (e.g. `tls-unique`), when bound
 * @returns 192 hex digits: signature (64 bytes) then the signed message (32 bytes)
 */
export function signChallenge(key: CryptosignKey, challenge: Uint8Array, channelId?: Uint8Array): string {
  const message = cryptosignMessage(challenge, channelId);
  return toHex(key.sign(message)) + toHex(message);
}

/**
 * Verifies a WAMP-Cryptosign signature (192 hex digits: signature, then
 * message) for a challenge. The message part must equal the expected message
 * (challenge, XOR channel binding data when bound).
 *
 * @param signature - AUTHENTICATE.Signature
 * @param publicKey - the signer's 32-byte public key
 * @param challenge - the 32 challenge bytes that were sent
 * @param channelId - channel binding data, when bound
 * @returns whether the signature is valid
 */
export function verifyChallengeSignature(
  signature: unknown,
  publicKey: Uint8Array,
  challenge: Uint8Array,
  channelId?: Uint8Array,
): boolean {
  const raw = fromHex(signature, 96);
  if (!raw) return false;
  const expected = cryptosignMessage(challenge, channelId);
  const signed = raw.subarray(64);
  // The signed message is public (it was on the wire); a plain compare is fine.
  for (let i = 0; i < 32; i++) if (signed[i] !== expected[i]) return false;
  try {
    // zip215: false = RFC 8032 / libsodium strictness (what PyNaCl verifies with).
    return ed25519.verify(raw.subarray(0, 64), expected, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function invalidKey(detail: string): WampAuthError {
  return new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', `cryptosign: ${detail}`);
}

/**
 * The 32-byte channel id cryptosign signs against: SHA-256 of the channel
 * binding data, as Autobahn computes it from `tls-unique` (Autobahn's
 * `transport_channel_id`).
 *
 * @param data - the raw channel binding data (e.g. the TLS Finished message for `tls-unique`)
 * @returns the 32-byte channel id
 */
export function cryptosignChannelId(data: Uint8Array): Uint8Array {
  return sha256(data);
}
