/**
 * Router side of WAMP authentication: what a router needs per method to build
 * the CHALLENGE and check the AUTHENTICATE, as pure functions.
 *
 * The shape is the same for every challenge-response method:
 *
 * 1. on HELLO, `create…Challenge(…)` returns a pending state whose `extra` is
 *    CHALLENGE.Extra (send `[CHALLENGE, pending.method, pending.extra]`), or
 *    throws a {@link WampAuthError} (send ABORT with its `uri`);
 * 2. on AUTHENTICATE, `verify…(pending, signature, …)` returns an
 *    {@link AuthVerdict}: `{ ok: true, authextra? }` — merge `authextra` into
 *    WELCOME.Details.authextra (SCRAM's server signature) — or
 *    `{ ok: false, error }` — ABORT with `error.uri`.
 *
 * Secrets are compared in constant time. Which principal (authid, role,
 * secret, public keys) applies is the router's business; these functions only
 * do the cryptography and the wire format.
 *
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { isDict, type WampDict } from '../uri.js';
import { WampAuthError, badHello } from './errors.js';
import { base64Encode, constantTimeEqual, fromBase64, fromHex, isIntIn, randomBytes, toHex, utf8 } from './bytes.js';
import { type CryptosignKey, cryptosignChannelId, parsePublicKey, signChallenge, verifyChallengeSignature } from './cryptosign-key.js';
import {
  type ScramDialect,
  type ScramKdf,
  SCRAM_KDFS,
  craMac,
  prep,
  scramAuthMessage,
  scramKeys,
  scramMethod,
  scramPasswordBytes,
  scramRecoverStoredKey,
  scramSaltedPassword,
  scramServerSignature,
  scramSignatureKey,
} from './kdf.js';

export { deriveCraKey } from './kdf.js';

/** Outcome of checking an AUTHENTICATE. */
export type AuthVerdict =
  | {
      ok: true;
      /** Entries for WELCOME.Details.authextra (e.g. SCRAM's server signature), when the method has any. */
      authextra?: WampDict;
    }
  | { ok: false; error: WampAuthError };

/** The channel binding data the router's transport sees (see `WampTransportInfo.channelBinding`). */
export interface ChannelBindingData {
  type: string;
  data: Uint8Array;
}

const OK: AuthVerdict = Object.freeze({ ok: true });

function fail(method: string, detail: string): AuthVerdict {
  return { ok: false, error: new WampAuthError('WAMP_ERR_AUTH_FAILED', `${method}: ${detail}`) };
}

// ---------------------------------------------------------------------------
// ticket

/**
 * Checks a ticket (AUTHENTICATE.Signature) against the expected one. Both are
 * hashed with SHA-256 first, so the comparison time reveals neither the
 * content nor the length of the expected ticket. The CHALLENGE for ticket is
 * `[CHALLENGE, "ticket", {}]`.
 *
 * @param presented - AUTHENTICATE.Signature (anything; non-strings fail)
 * @param expected - the principal's ticket
 * @returns the verdict
 * @example
 * ```ts
 * console.assert(verifyTicket('secret!!!', 'secret!!!').ok);
 * console.assert(!verifyTicket('guess', 'secret!!!').ok);
 * ```
 */
export function verifyTicket(presented: unknown, expected: string): AuthVerdict {
  if (typeof presented !== 'string') return fail('ticket', 'the ticket must be a string');
  return constantTimeEqual(sha256(utf8(presented)), sha256(utf8(expected))) ? OK : fail('ticket', 'invalid ticket');
}

// ---------------------------------------------------------------------------
// wampcra

/** Salting parameters of a WAMP-CRA principal whose secret is a derived key (see {@link deriveCraKey}). */
export interface CraSalt {
  salt: string;
  iterations: number;
  keylen: number;
}

/** Input of {@link createCraChallenge}: what the challenge string binds. */
export interface CraChallengeOptions {
  authid: string;
  authrole: string;
  /** Free-form, e.g. `'static'` or `'dynamic'`. */
  authprovider: string;
  /** The session ID the session will get once authenticated. */
  session: number;
  /** Salting parameters, when the stored secret is a derived key. */
  salt?: CraSalt;
  /** Override the random nonce (tests). */
  nonce?: string;
  /** Override the timestamp (tests). Default now. */
  timestamp?: Date;
}

/** Pending WAMP-CRA authentication: send `[CHALLENGE, "wampcra", extra]`. */
export interface CraPending {
  readonly method: 'wampcra';
  /** CHALLENGE.Extra: `{ challenge }`, plus `salt`, `iterations`, `keylen` when salted. */
  readonly extra: WampDict;
  /** The challenge string the client signs. */
  readonly challenge: string;
}

/**
 * Builds a WAMP-CRA challenge as Crossbar.io does: a JSON object with
 * `authid`, `authrole`, `authmethod`, `authprovider`, `nonce`, `timestamp`
 * (ISO 8601 UTC with milliseconds) and `session` (WAMP advanced profile,
 * "Challenge Response Authentication").
 *
 * @param opts - what the challenge binds
 * @returns the pending state; its `extra` goes into CHALLENGE
 * @example
 * ```ts
 * const pending = createCraChallenge({ authid: 'peter', authrole: 'user', authprovider: 'static', session: 1 });
 * const sig = craSignature('secret', pending.challenge); // what the client computes
 * console.assert(verifyCra(pending, sig, 'secret').ok);
 * ```
 */
export function createCraChallenge(opts: CraChallengeOptions): CraPending {
  const challenge = JSON.stringify({
    authid: opts.authid,
    authrole: opts.authrole,
    authmethod: 'wampcra',
    authprovider: opts.authprovider,
    nonce: opts.nonce ?? base64Encode(randomBytes(24)),
    timestamp: (opts.timestamp ?? new Date()).toISOString(),
    session: opts.session,
  });
  const extra: WampDict = { challenge };
  if (opts.salt) {
    extra['salt'] = opts.salt.salt;
    extra['iterations'] = opts.salt.iterations;
    extra['keylen'] = opts.salt.keylen;
  }
  return { method: 'wampcra', extra, challenge };
}

/**
 * Checks a WAMP-CRA signature: HMAC-SHA256 of the challenge keyed by the
 * secret — for salted principals the derived key ({@link deriveCraKey}),
 * which is what the router stores instead of the password.
 *
 * @param pending - from {@link createCraChallenge}
 * @param signature - AUTHENTICATE.Signature (Base64)
 * @param secret - the principal's secret, or derived key when salted
 * @returns the verdict
 */
export function verifyCra(pending: CraPending, signature: unknown, secret: string | Uint8Array): AuthVerdict {
  const sig = fromBase64(signature);
  if (!sig || sig.length !== 32) return fail('wampcra', 'the signature must be Base64 of 32 bytes');
  return constantTimeEqual(sig, craMac(secret, pending.challenge)) ? OK : fail('wampcra', 'invalid signature');
}

export { craSignature } from './kdf.js';

// ---------------------------------------------------------------------------
// cryptosign

/** Options of {@link createCryptosignChallenge}. */
export interface CryptosignChallengeOptions {
  /** The transport's channel binding data; required when the client asks for channel binding. */
  channelBinding?: ChannelBindingData;
  /** The router's key, to answer router authentication (HELLO.Details.authextra.challenge). */
  routerKey?: CryptosignKey;
  /** Override the random 32-byte challenge (tests). */
  challenge?: Uint8Array;
}

/** Pending WAMP-Cryptosign authentication: send `[CHALLENGE, "cryptosign", extra]`. */
export interface CryptosignPending {
  readonly method: 'cryptosign';
  /** CHALLENGE.Extra: `challenge`, `channel_binding`, and `pubkey` + `signature` for router authentication. */
  readonly extra: WampDict;
  /** The client's public key from HELLO (64 lower-case hex digits): look the principal up by it. */
  readonly pubkey: string;
  /** The 32 random challenge bytes. */
  readonly challenge: Uint8Array;
  /** The 32-byte channel id the signature is bound to, when channel binding is in use. */
  readonly channelId?: Uint8Array;
}

/**
 * Starts WAMP-Cryptosign for a HELLO: checks HELLO.Details.authextra (`pubkey`,
 * optional `channel_binding` and router-authentication `challenge`) and makes
 * a random 32-byte challenge.
 *
 * @param authextra - HELLO.Details.authextra
 * @param opts - channel binding data, router key
 * @returns the pending state
 * @throws {@link WampAuthError} `WAMP_ERR_AUTH_INVALID_HELLO` for a bad pubkey,
 *   challenge or binding type; `WAMP_ERR_AUTH_CHANNEL_BINDING` when the client
 *   asks for a binding the transport does not provide
 */
export function createCryptosignChallenge(authextra: unknown, opts: CryptosignChallengeOptions = {}): CryptosignPending {
  const ae = isDict(authextra) ? authextra : {};
  const pubkey = parsePublicKey(ae['pubkey']);
  if (!pubkey) throw badHello('cryptosign', 'authextra.pubkey must be an Ed25519 public key as 64 hex digits');
  const binding = ae['channel_binding'] ?? undefined;
  if (binding !== undefined && binding !== 'tls-unique' && binding !== 'tls-exporter') {
    throw badHello('cryptosign', "authextra.channel_binding must be 'tls-unique' or 'tls-exporter'");
  }
  let channelId: Uint8Array | undefined;
  if (binding) {
    const cb = opts.channelBinding;
    if (!cb || cb.type !== binding) {
      throw new WampAuthError('WAMP_ERR_AUTH_CHANNEL_BINDING', `cryptosign: channel binding '${binding}' is not available on this transport`, 'wamp.error.authentication_failed');
    }
    channelId = cryptosignChannelId(cb.data);
  }
  const clientChallenge = ae['challenge'] ?? undefined;
  const routerChallenge = clientChallenge === undefined ? undefined : fromHex(clientChallenge, 32);
  if (clientChallenge !== undefined && !routerChallenge) throw badHello('cryptosign', 'authextra.challenge must be 32 bytes as 64 hex digits');
  const challenge = opts.challenge ?? randomBytes(32);
  if (challenge.length !== 32) throw new RangeError('cryptosign: the challenge must be 32 bytes');
  const extra: WampDict = { challenge: toHex(challenge), channel_binding: binding ?? null };
  if (routerChallenge && opts.routerKey) {
    extra['pubkey'] = opts.routerKey.publicKeyHex;
    extra['signature'] = signChallenge(opts.routerKey, routerChallenge, channelId);
  }
  return {
    method: 'cryptosign',
    extra,
    pubkey: toHex(pubkey),
    challenge,
    ...(channelId ? { channelId } : {}),
  };
}

/**
 * Checks a WAMP-Cryptosign AUTHENTICATE.Signature (hex of signature ‖ signed
 * message) against the public key from HELLO.
 *
 * @param pending - from {@link createCryptosignChallenge}
 * @param signature - AUTHENTICATE.Signature
 * @param authorizedPubkeys - when given, the HELLO's pubkey must be one of these (hex, any case)
 * @returns the verdict
 */
export function verifyCryptosign(pending: CryptosignPending, signature: unknown, authorizedPubkeys?: Iterable<string>): AuthVerdict {
  if (authorizedPubkeys) {
    let found = false;
    for (const pk of authorizedPubkeys) if (typeof pk === 'string' && pk.toLowerCase() === pending.pubkey) found = true;
    if (!found) return fail('cryptosign', 'the public key is not authorized');
  }
  const pk = fromHex(pending.pubkey, 32);
  if (!pk || !verifyChallengeSignature(signature, pk, pending.challenge, pending.channelId)) {
    return fail('cryptosign', 'invalid signature');
  }
  return OK;
}

// ---------------------------------------------------------------------------
// WAMP-SCRAM

/**
 * A stored WAMP-SCRAM credential (what the router keeps instead of the
 * password), as {@link deriveScramCredential} makes it. Binary values are Base64.
 */
export interface ScramCredential {
  kdf: ScramKdf;
  /** PBKDF2 iterations or Argon2 time cost. */
  iterations: number;
  /** Argon2 memory cost, KiB (Argon2 KDFs only). */
  memory?: number;
  /** The per-user random salt, Base64. */
  salt: string;
  /** StoredKey = SHA256(HMAC(SaltedPassword, "Client Key")), Base64. */
  stored_key: string;
  /** ServerKey = HMAC(SaltedPassword, "Server Key"), Base64. */
  server_key: string;
}

/** The SCRAM dialect a HELLO authmethod names: `wamp-scram` → `'spec'`, `scram` → `'autobahn'`. */
export function scramDialectOf(authmethod: string): ScramDialect | undefined {
  return authmethod === 'wamp-scram' ? 'spec' : authmethod === 'scram' ? 'autobahn' : undefined;
}

/** Options of {@link createScramChallenge}. */
export interface ScramChallengeOptions {
  /** Default `'spec'`; use {@link scramDialectOf} on the authmethod the client chose. */
  dialect?: ScramDialect;
  /** The transport's channel binding data; required when the client asks for channel binding. */
  channelBinding?: ChannelBindingData;
}

/** Pending WAMP-SCRAM authentication: send `[CHALLENGE, pending.method, pending.extra]`. */
export interface ScramPending {
  readonly method: 'wamp-scram' | 'scram';
  /** CHALLENGE.Extra: `nonce`, `salt`, `kdf`, `iterations`, `memory`. */
  readonly extra: WampDict;
  /** @internal */
  readonly state: {
    dialect: ScramDialect;
    authid: string;
    clientNonce: string;
    serverNonce: string;
    credential: ScramCredential;
    storedKey: Uint8Array;
    serverKey: Uint8Array;
    channelBinding: string | undefined;
    cbindData: Uint8Array | undefined;
  };
}

/** Longest client nonce accepted (Base64 characters). */
const MAX_NONCE_LENGTH = 256;

/**
 * Starts WAMP-SCRAM for a HELLO: checks the authid and the client nonce,
 * and makes the server-first message (CHALLENGE.Extra) from the stored
 * credential.
 *
 * @param hello - HELLO.Details.authid and HELLO.Details.authextra
 * @param credential - the principal's stored credential
 * @param opts - dialect, channel binding data
 * @returns the pending state
 * @throws {@link WampAuthError} `WAMP_ERR_AUTH_INVALID_HELLO` (no authid, bad nonce,
 *   unsupported binding type), `WAMP_ERR_AUTH_CHANNEL_BINDING` (binding not
 *   available), `WAMP_ERR_AUTH_INVALID_KEY` (malformed credential)
 */
export function createScramChallenge(
  hello: { authid: unknown; authextra: unknown },
  credential: ScramCredential,
  opts: ScramChallengeOptions = {},
): ScramPending {
  const dialect = opts.dialect ?? 'spec';
  const method = scramMethod(dialect);
  const keys = checkCredential(credential);
  if (typeof hello.authid !== 'string' || hello.authid === '') throw badHello(method, 'HELLO.Details.authid is required');
  let authid: string;
  try {
    authid = prep(hello.authid, 'authid');
  } catch {
    throw badHello(method, 'HELLO.Details.authid is not a valid SASLprep string');
  }
  const ae = isDict(hello.authextra) ? hello.authextra : {};
  const clientNonce = ae['nonce'];
  const nonceBytes = fromBase64(clientNonce);
  if (typeof clientNonce !== 'string' || !nonceBytes || nonceBytes.length === 0 || clientNonce.length > MAX_NONCE_LENGTH) {
    throw badHello(method, `authextra.nonce must be Base64 of at most ${MAX_NONCE_LENGTH} characters`);
  }
  const binding = ae['channel_binding'] ?? undefined;
  let cbindData: Uint8Array | undefined;
  if (binding !== undefined) {
    if (dialect !== 'spec' || typeof binding !== 'string') throw badHello(method, 'unsupported authextra.channel_binding');
    const cb = opts.channelBinding;
    if (!cb || cb.type !== binding) {
      throw new WampAuthError('WAMP_ERR_AUTH_CHANNEL_BINDING', `${method}: channel binding '${binding}' is not available on this transport`, 'wamp.error.authentication_failed');
    }
    cbindData = cb.data;
  }
  const fresh = randomBytes(16);
  let serverNonce: string;
  if (dialect === 'spec') {
    serverNonce = clientNonce + base64Encode(fresh);
  } else {
    // As Crossbar: Base64 of the client nonce bytes followed by ours.
    const both = new Uint8Array(nonceBytes.length + fresh.length);
    both.set(nonceBytes);
    both.set(fresh, nonceBytes.length);
    serverNonce = base64Encode(both);
  }
  const extra: WampDict = {
    nonce: serverNonce,
    salt: credential.salt,
    kdf: credential.kdf,
    iterations: credential.iterations,
  };
  if (credential.kdf !== 'pbkdf2') extra['memory'] = credential.memory;
  return {
    method,
    extra,
    state: {
      dialect,
      authid,
      clientNonce,
      serverNonce,
      credential,
      storedKey: keys.storedKey,
      serverKey: keys.serverKey,
      channelBinding: binding,
      cbindData,
    },
  };
}

/**
 * Checks the ClientProof in AUTHENTICATE (and, in the spec dialect, its
 * `nonce`, `channel_binding` and `cbind_data`). On success the verdict's
 * `authextra` holds the ServerSignature for WELCOME.Details.authextra
 * (`verifier` in the spec dialect, `scram_server_signature` in Autobahn's).
 *
 * @param pending - from {@link createScramChallenge}
 * @param signature - AUTHENTICATE.Signature (Base64 ClientProof)
 * @param extra - AUTHENTICATE.Extra
 * @returns the verdict
 */
export function verifyScram(pending: ScramPending, signature: unknown, extra: unknown = {}): AuthVerdict {
  const s = pending.state;
  const method = pending.method;
  const proof = fromBase64(signature);
  if (!proof || proof.length !== 32) return fail(method, 'the ClientProof must be Base64 of 32 bytes');
  if (s.dialect === 'spec') {
    const ax = isDict(extra) ? extra : {};
    if (ax['nonce'] !== s.serverNonce) return fail(method, 'AUTHENTICATE.Extra.nonce does not match the CHALLENGE nonce');
    if ((ax['channel_binding'] ?? undefined) !== s.channelBinding) return fail(method, 'AUTHENTICATE.Extra.channel_binding does not match HELLO');
    if (s.cbindData) {
      const got = fromBase64(ax['cbind_data']);
      if (!got || !constantTimeEqual(got, s.cbindData)) {
        return { ok: false, error: new WampAuthError('WAMP_ERR_AUTH_CHANNEL_BINDING', `${method}: cbind_data does not match this channel`, 'wamp.error.authentication_failed') };
      }
    } else if ((ax['cbind_data'] ?? undefined) !== undefined) {
      return fail(method, 'AUTHENTICATE.Extra.cbind_data without channel binding');
    }
  }
  const authMessage = scramAuthMessage(s.dialect, {
    authid: s.authid,
    clientNonce: s.clientNonce,
    serverNonce: s.serverNonce,
    salt: s.credential.salt,
    iterations: s.credential.iterations,
    channelBinding: s.channelBinding,
    cbindData: s.cbindData,
  });
  if (!constantTimeEqual(scramRecoverStoredKey(s.storedKey, authMessage, proof), s.storedKey)) {
    return fail(method, 'invalid ClientProof');
  }
  return { ok: true, authextra: { [scramSignatureKey(s.dialect)]: base64Encode(scramServerSignature(s.serverKey, authMessage)) } };
}

function checkCredential(c: ScramCredential): { storedKey: Uint8Array; serverKey: Uint8Array } {
  const bad = (detail: string): WampAuthError => new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', `SCRAM credential: ${detail}`);
  if (!isDict(c)) throw bad('must be an object');
  if (!SCRAM_KDFS.includes(c.kdf)) throw bad(`unknown kdf '${String(c.kdf)}'`);
  if (!isIntIn(c.iterations, 1, Number.MAX_SAFE_INTEGER)) throw bad('iterations must be a positive integer');
  if (c.kdf !== 'pbkdf2' && !isIntIn(c.memory, 8, Number.MAX_SAFE_INTEGER)) throw bad('memory (KiB) must be an integer >= 8 for Argon2');
  const salt = fromBase64(c.salt);
  if (!salt || salt.length < 8) throw bad('salt must be Base64 of at least 8 bytes');
  const storedKey = fromBase64(c.stored_key);
  const serverKey = fromBase64(c.server_key);
  if (!storedKey || storedKey.length !== 32 || !serverKey || serverKey.length !== 32) throw bad('stored_key and server_key must be Base64 of 32 bytes');
  return { storedKey, serverKey };
}

/** Options of {@link deriveScramCredential}. */
export interface ScramCredentialOptions {
  /** Default `'argon2id13'`. `'argon2id-13'` makes a credential for Autobahn/Crossbar-dialect clients. */
  kdf?: ScramKdf;
  /** The salt (bytes, or Base64). Default 16 random bytes. */
  salt?: Uint8Array | string;
  /** PBKDF2 iterations (default 600,000) or Argon2 time cost (default 2). */
  iterations?: number;
  /** Argon2 memory, KiB (default 19,456 = 19 MiB). */
  memory?: number;
  /** Argon2 parallelism: WAMP-SCRAM fixes it to 1 (clients cannot be told otherwise). */
  parallelism?: 1;
  /**
   * Which dialect the clients speak; decides password normalization (SASLprep
   * in `'spec'`, none in `'autobahn'`). Default: `'autobahn'` for
   * `argon2id-13`, else `'spec'`.
   */
  dialect?: ScramDialect;
}

/**
 * Makes a WAMP-SCRAM credential from a password, for the router's principal
 * database. Defaults follow current OWASP guidance: Argon2id with 19 MiB and
 * t = 2, or PBKDF2-HMAC-SHA256 with 600,000 iterations.
 *
 * @param password - the user's password
 * @param opts - KDF and its parameters
 * @returns the credential (never contains the password)
 * @example
 * ```ts
 * const cred = await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 4096 });
 * console.assert(cred.kdf === 'pbkdf2' && cred.stored_key.length === 44);
 * ```
 */
export async function deriveScramCredential(password: string, opts: ScramCredentialOptions = {}): Promise<ScramCredential> {
  const kdf = opts.kdf ?? 'argon2id13';
  if (!SCRAM_KDFS.includes(kdf)) throw new RangeError(`deriveScramCredential: unknown kdf '${String(kdf)}'`);
  if (opts.parallelism !== undefined && opts.parallelism !== 1) {
    throw new RangeError('deriveScramCredential: WAMP-SCRAM fixes Argon2 parallelism to 1');
  }
  const dialect = opts.dialect ?? (kdf === 'argon2id-13' ? 'autobahn' : 'spec');
  const iterations = opts.iterations ?? (kdf === 'pbkdf2' ? 600_000 : 2);
  if (!isIntIn(iterations, 1, Number.MAX_SAFE_INTEGER)) throw new RangeError('deriveScramCredential: iterations must be a positive integer');
  const memory = kdf === 'pbkdf2' ? undefined : (opts.memory ?? 19_456);
  if (memory !== undefined && !isIntIn(memory, 8, 4_194_304)) throw new RangeError('deriveScramCredential: memory must be in [8, 4194304] KiB');
  let salt: Uint8Array;
  if (opts.salt === undefined) salt = randomBytes(16);
  else if (typeof opts.salt === 'string') {
    const s = fromBase64(opts.salt);
    if (!s) throw new RangeError('deriveScramCredential: salt string must be Base64');
    salt = s;
  } else salt = opts.salt;
  if (salt.length < 8) throw new RangeError('deriveScramCredential: salt must be at least 8 bytes');
  const salted = await scramSaltedPassword(scramPasswordBytes(dialect, password), salt, {
    kdf,
    iterations,
    ...(memory !== undefined ? { memory } : {}),
  });
  const { storedKey, serverKey } = scramKeys(salted);
  return {
    kdf,
    iterations,
    ...(memory !== undefined ? { memory } : {}),
    salt: base64Encode(salt),
    stored_key: base64Encode(storedKey),
    server_key: base64Encode(serverKey),
  };
}

/**
 * Converts a Crossbar.io SCRAM principal (`kdf`, `iterations`, `memory`, and
 * hex `salt`, `stored-key`, `server-key`, as Autobahn's
 * `derive_scram_credential` prints them) into a {@link ScramCredential}.
 *
 * @param principal - the principal's entry from a Crossbar config
 * @returns the credential
 * @throws {@link WampAuthError} `WAMP_ERR_AUTH_INVALID_KEY` when a field is malformed
 */
export function scramCredentialFromCrossbar(principal: WampDict): ScramCredential {
  const hex = (k: string): string => {
    const b = fromHex(principal[k]);
    if (!b) throw new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', `Crossbar SCRAM principal: '${k}' must be hex`);
    return base64Encode(b);
  };
  const cred: ScramCredential = {
    kdf: principal['kdf'] as ScramKdf,
    iterations: principal['iterations'] as number,
    ...(typeof principal['memory'] === 'number' ? { memory: principal['memory'] } : {}),
    salt: hex('salt'),
    stored_key: hex('stored-key'),
    server_key: hex('server-key'),
  };
  checkCredential(cred);
  return cred;
}
