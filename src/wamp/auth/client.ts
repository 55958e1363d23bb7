/**
 * Client authenticators for the WAMP authentication methods (WAMP advanced
 * profile, "Authentication Methods"): `anonymous`, `ticket`, `wampcra` (plain
 * and salted), `cryptosign` (with TLS channel binding and router
 * authentication) and WAMP-SCRAM (Argon2id and PBKDF2; the spec's `wamp-scram`
 * and Autobahn/Crossbar's `scram`).
 *
 * Each factory returns a {@link ClientAuthenticator}; the session announces
 * them in HELLO and hands each CHALLENGE to the matching one. A malformed
 * CHALLENGE makes `onChallenge` throw (or reject with) a {@link WampAuthError}
 * with code `WAMP_ERR_AUTH_INVALID_CHALLENGE` and URI
 * `wamp.error.cannot_authenticate`, which the session sends as the ABORT reason.
 *
 * @module
 */
import { isDict, type WampDict } from '../uri.js';
import { WampAuthError, badChallenge } from './errors.js';
import { base64Encode, constantTimeEqual, fromBase64, fromHex, isIntIn, randomBytes, toHex } from './bytes.js';
import {
  type CryptosignKey,
  cryptosignChannelId,
  loadPrivateKey,
  parsePublicKey,
  signChallenge,
  verifyChallengeSignature,
} from './cryptosign-key.js';
import {
  type ScramDialect,
  type ScramKdf,
  craSignature,
  deriveCraKey,
  prep,
  scramAuthMessage,
  scramClientProof,
  scramKeys,
  scramMethod,
  scramPasswordBytes,
  scramSaltedPassword,
  scramServerSignature,
  scramSignatureKey,
} from './kdf.js';
import type { AuthChannel, ChallengeResponse, ClientAuthenticator } from './types.js';

/**
 * Upper bounds on the work a CHALLENGE may ask of the client. A rogue router
 * could otherwise ask for a billion PBKDF2 iterations or a terabyte of Argon2
 * memory; beyond these the client refuses with `WAMP_ERR_AUTH_LIMIT_EXCEEDED`.
 */
export interface KdfLimits {
  /** Most PBKDF2 iterations (WAMP-CRA salted, SCRAM `pbkdf2`). Default 1,000,000. */
  maxIterations?: number;
  /** Most Argon2 memory, KiB. Default 262,144 (256 MiB). */
  maxArgon2Memory?: number;
  /**
   * Most Argon2 work, time cost × memory (KiB). Default 4,194,304 — room for
   * Crossbar's default credentials (t = 4096, m = 512 KiB), which take seconds
   * in JavaScript.
   */
  maxArgon2Cost?: number;
  /** Largest WAMP-CRA derived key, bytes. Default 1024. */
  maxKeylen?: number;
}

const DEFAULT_LIMITS: Required<KdfLimits> = {
  maxIterations: 1_000_000,
  maxArgon2Memory: 262_144,
  maxArgon2Cost: 4_194_304,
  maxKeylen: 1024,
};

function limitsOf(l: KdfLimits | undefined): Required<KdfLimits> {
  return { ...DEFAULT_LIMITS, ...l };
}

function limitExceeded(method: string, detail: string): WampAuthError {
  return new WampAuthError('WAMP_ERR_AUTH_LIMIT_EXCEEDED', `${method} CHALLENGE: ${detail}`);
}

/** A secret given directly, or fetched when a CHALLENGE arrives (e.g. prompt the user). */
export type SecretSource = string | (() => string | Promise<string>);

async function resolveSecret(s: SecretSource): Promise<string> {
  const v = typeof s === 'function' ? await s() : s;
  if (typeof v !== 'string') throw new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', 'the secret source did not return a string');
  return v;
}

/** Options shared by the password-style methods. */
export interface AuthidOption {
  /** HELLO.Details.authid to authenticate as (ticket and wampcra need one; the session may also set it). */
  authid?: string;
  /** Extra HELLO.Details.authextra entries. */
  authextra?: WampDict;
}

// ---------------------------------------------------------------------------
// anonymous

/**
 * Anonymous authentication: announces `anonymous`; a router never challenges it.
 *
 * @returns the authenticator
 * @example
 * ```ts
 * console.assert(anonymous().method === 'anonymous');
 * ```
 */
export function anonymous(options: AuthidOption = {}): ClientAuthenticator {
  return {
    method: 'anonymous',
    ...(options.authid !== undefined ? { authid: options.authid } : {}),
    ...(options.authextra ? { authextra: options.authextra } : {}),
    onChallenge() {
      throw badChallenge('anonymous', 'the router sent a CHALLENGE for anonymous authentication');
    },
  };
}

// ---------------------------------------------------------------------------
// ticket

/**
 * Ticket authentication (WAMP advanced profile, "Ticket-based Authentication"):
 * AUTHENTICATE.Signature is the ticket itself, so use it over TLS only.
 *
 * @param ticket - the ticket, or a function returning it when challenged
 * @param options - authid (the spec requires one for ticket) and authextra
 * @returns the authenticator
 * @example
 * ```ts
 * const auth = ticket('secret!!!', { authid: 'joe' });
 * console.assert((await auth.onChallenge({}, {})) === 'secret!!!');
 * ```
 */
export function ticket(ticket: SecretSource, options: AuthidOption = {}): ClientAuthenticator {
  return {
    method: 'ticket',
    ...(options.authid !== undefined ? { authid: options.authid } : {}),
    ...(options.authextra ? { authextra: options.authextra } : {}),
    onChallenge: () => resolveSecret(ticket),
  };
}

// ---------------------------------------------------------------------------
// wampcra

/** Options of {@link wampcra}. */
export interface WampCraOptions extends AuthidOption {
  /** Bounds on salted-key derivation (PBKDF2 iterations, key length). */
  limits?: KdfLimits;
}

/**
 * WAMP Challenge-Response Authentication (WAMP advanced profile, "Challenge
 * Response Authentication"): signs CHALLENGE.Extra.challenge with
 * HMAC-SHA256 keyed by the secret, Base64. When the CHALLENGE carries `salt`
 * (with `iterations`, `keylen`, default 1000 and 32 as in Autobahn), the key
 * is first derived with {@link deriveCraKey}, as Autobahn's `derive_key` does.
 *
 * @param secret - the shared secret (password), or a function returning it
 * @param options - authid (required by the method), limits
 * @returns the authenticator
 * @example
 * ```ts
 * const auth = wampcra('secret', { authid: 'peter' });
 * const sig = await auth.onChallenge({ challenge: '{"nonce":"x"}' }, {});
 * console.assert(typeof sig === 'string' && sig.length === 44);
 * ```
 */
export function wampcra(secret: SecretSource, options: WampCraOptions = {}): ClientAuthenticator {
  const limits = limitsOf(options.limits);
  let cache: { params: string; key: string } | undefined;
  return {
    method: 'wampcra',
    ...(options.authid !== undefined ? { authid: options.authid } : {}),
    ...(options.authextra ? { authextra: options.authextra } : {}),
    async onChallenge(extra: WampDict): Promise<ChallengeResponse> {
      const challenge = extra['challenge'];
      if (typeof challenge !== 'string') throw badChallenge('wampcra', 'Extra.challenge must be a string');
      let key = await resolveSecret(secret);
      if (extra['salt'] !== undefined && extra['salt'] !== null) {
        const salt = extra['salt'];
        const iterations = extra['iterations'] ?? 1000;
        const keylen = extra['keylen'] ?? 32;
        if (typeof salt !== 'string') throw badChallenge('wampcra', 'Extra.salt must be a string');
        if (!isIntIn(iterations, 1, Number.MAX_SAFE_INTEGER)) throw badChallenge('wampcra', 'Extra.iterations must be a positive integer');
        if (!isIntIn(keylen, 1, Number.MAX_SAFE_INTEGER)) throw badChallenge('wampcra', 'Extra.keylen must be a positive integer');
        if (iterations > limits.maxIterations) throw limitExceeded('wampcra', `iterations ${iterations} > limit ${limits.maxIterations}`);
        if (keylen > limits.maxKeylen) throw limitExceeded('wampcra', `keylen ${keylen} > limit ${limits.maxKeylen}`);
        // Routers send the same salt parameters every time: derive once per secret.
        const params = JSON.stringify([key, salt, iterations, keylen]);
        if (cache?.params !== params) cache = { params, key: await deriveCraKey(key, salt, iterations, keylen) };
        key = cache.key;
      }
      return craSignature(key, challenge);
    },
  };
}

// ---------------------------------------------------------------------------
// cryptosign

/** TLS channel binding types WAMP-Cryptosign defines. */
export type CryptosignChannelBinding = 'tls-unique' | 'tls-exporter';

/** Options of {@link cryptosign}. */
export interface CryptosignOptions extends AuthidOption {
  /**
   * Bind the signature to the TLS channel: announced in
   * HELLO.Details.authextra.channel_binding; the transport must provide the
   * channel binding data of this type ({@link AuthChannel.channelBinding}).
   */
  channelBinding?: CryptosignChannelBinding;
  /**
   * Router authentication: public keys (hex) of routers this client trusts.
   * When set, HELLO carries a random `challenge`, and the CHALLENGE must carry
   * one of these keys in `pubkey` and a valid signature of our challenge in
   * `signature`; otherwise the client refuses with
   * `WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED`.
   */
  trustedRouterKeys?: Iterable<string>;
}

/**
 * WAMP-Cryptosign client authentication (Ed25519): announces the public key
 * in HELLO.Details.authextra.pubkey and answers CHALLENGE.Extra.challenge (32
 * bytes, hex) with hex(signature ‖ signed message), the message being the
 * challenge, or the challenge XOR the channel id when channel binding is used.
 *
 * @param key - a {@link CryptosignKey}, or a private key as accepted by {@link loadPrivateKey}
 * @param options - authextra, channel binding, trusted router keys
 * @returns the authenticator
 * @throws {@link WampAuthError} `WAMP_ERR_AUTH_INVALID_KEY` for an unusable key
 * @example
 * ```ts
 * // The 32-byte private seed as hex, as Autobahn's AuthCryptoSign(privkey=...) takes it.
 * const auth = cryptosign('4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510');
 * console.assert(auth.authextra?.['pubkey'] === '1adfc8bfe1d35616e64dffbd900096f23b066f914c8c2ffbb66f6075b96e116d');
 * ```
 */
export function cryptosign(key: CryptosignKey | string | Uint8Array, options: CryptosignOptions = {}): ClientAuthenticator {
  const k = typeof key === 'string' || key instanceof Uint8Array ? loadPrivateKey(key) : key;
  const given = options.authextra?.['pubkey'];
  if (given !== undefined && given !== k.publicKeyHex) {
    throw new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', 'cryptosign: authextra.pubkey does not belong to the private key');
  }
  const binding = options.channelBinding;
  if (binding !== undefined && binding !== 'tls-unique' && binding !== 'tls-exporter') {
    throw new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', `cryptosign: unknown channel binding type '${String(binding)}'`);
  }
  let trusted: Set<string> | undefined;
  if (options.trustedRouterKeys) {
    trusted = new Set();
    for (const pk of options.trustedRouterKeys) {
      if (!parsePublicKey(pk)) throw new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', 'cryptosign: a trusted router key is not a valid Ed25519 public key');
      trusted.add(pk.toLowerCase());
    }
  }
  // Router authentication challenge: fresh after every CHALLENGE we answer, so
  // each HELLO (reconnects included) carries a new one.
  let routerChallenge = trusted ? randomBytes(32) : undefined;
  const method = 'cryptosign';
  return {
    method,
    ...(options.authid !== undefined ? { authid: options.authid } : {}),
    get authextra(): WampDict {
      return {
        ...options.authextra,
        pubkey: k.publicKeyHex,
        ...(binding ? { channel_binding: binding } : {}),
        ...(routerChallenge ? { challenge: toHex(routerChallenge) } : {}),
      };
    },
    onChallenge(extra: WampDict, channel: AuthChannel): ChallengeResponse {
      const sent = routerChallenge;
      if (trusted) routerChallenge = randomBytes(32);
      const challenge = fromHex(extra['challenge'], 32);
      if (!challenge) throw badChallenge(method, 'Extra.challenge must be 32 bytes as 64 hex digits');
      const echoed = extra['channel_binding'] ?? undefined;
      if (echoed !== binding) {
        throw new WampAuthError(
          'WAMP_ERR_AUTH_CHANNEL_BINDING',
          `cryptosign CHALLENGE: channel binding '${String(echoed ?? 'none')}' does not match the requested '${binding ?? 'none'}'`,
        );
      }
      let channelId: Uint8Array | undefined;
      if (binding) {
        const cb = channel.channelBinding;
        if (!cb || cb.type !== binding) {
          throw new WampAuthError('WAMP_ERR_AUTH_CHANNEL_BINDING', `cryptosign: the transport provides no '${binding}' channel binding data`);
        }
        channelId = cryptosignChannelId(cb.data);
      }
      if (trusted && sent) {
        const pubkey = extra['pubkey'];
        const pk = typeof pubkey === 'string' && trusted.has(pubkey.toLowerCase()) ? parsePublicKey(pubkey) : undefined;
        if (!pk) throw new WampAuthError('WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED', 'cryptosign: the router key is missing or not trusted');
        if (!verifyChallengeSignature(extra['signature'], pk, sent, channelId)) {
          throw new WampAuthError('WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED', 'cryptosign: the router signature is invalid');
        }
      }
      return signChallenge(k, challenge, channelId);
    },
  };
}

// ---------------------------------------------------------------------------
// WAMP-SCRAM

/** Options of {@link scram}. */
export interface ScramOptions {
  /** `'spec'` (default, authmethod `wamp-scram`) or `'autobahn'` (authmethod `scram`, as Crossbar.io); see {@link ScramDialect}. */
  dialect?: ScramDialect;
  /**
   * Channel binding type (e.g. `'tls-unique'`, `'tls-server-end-point'`):
   * announced in HELLO and bound into the proof (gs2 flag `p=`); the transport
   * must provide the data. Spec dialect only.
   */
  channelBinding?: string;
  /** Bounds on the KDF cost a router may ask for. */
  limits?: KdfLimits;
  /** Extra HELLO.Details.authextra entries. */
  authextra?: WampDict;
}

/**
 * WAMP-SCRAM (WAMP advanced profile, "Salted Challenge Response
 * Authentication"; RFC 5802 with SHA-256): HELLO carries a random client
 * nonce; the CHALLENGE brings the server nonce, salt and KDF (`argon2id13`,
 * `pbkdf2`, or Crossbar's `argon2id-13`); AUTHENTICATE carries the
 * ClientProof; `onWelcome` verifies the router's ServerSignature
 * (WELCOME.Details.authextra `verifier`, or `scram_server_signature` from
 * Crossbar) and throws `WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED` when it is missing
 * or wrong.
 *
 * @param password - the password, or a function returning it when challenged
 * @param authid - the username (HELLO.Details.authid), SASLprep'd
 * @param options - dialect, channel binding, limits
 * @returns the authenticator
 * @example
 * ```ts
 * const auth = scram('pencil', 'user');
 * console.assert(auth.method === 'wamp-scram' && typeof auth.authextra?.['nonce'] === 'string');
 * ```
 */
export function scram(password: SecretSource, authid: string, options: ScramOptions = {}): ClientAuthenticator {
  const dialect = options.dialect ?? 'spec';
  if (dialect !== 'spec' && dialect !== 'autobahn') {
    throw new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', `scram: unknown dialect '${String(dialect)}'`);
  }
  const binding = options.channelBinding;
  if (binding !== undefined && (dialect !== 'spec' || typeof binding !== 'string' || !/^[A-Za-z0-9.-]+$/.test(binding))) {
    throw new WampAuthError('WAMP_ERR_AUTH_INVALID_KEY', 'scram: channelBinding must be a binding type name, and needs the spec dialect');
  }
  const user = prep(authid, 'authid');
  const limits = limitsOf(options.limits);
  const method = scramMethod(dialect);
  // A fresh nonce after every CHALLENGE answered, so each HELLO carries a new one.
  let clientNonce = base64Encode(randomBytes(16));
  let pending: { authMessage: Uint8Array; serverKey: Uint8Array } | undefined;

  return {
    method,
    authid,
    get authextra(): WampDict {
      return { ...options.authextra, nonce: clientNonce, ...(binding ? { channel_binding: binding } : {}) };
    },
    async onChallenge(extra: WampDict, channel: AuthChannel): Promise<ChallengeResponse> {
      const nonce = clientNonce;
      clientNonce = base64Encode(randomBytes(16));
      pending = undefined;
      const serverNonce = extra['nonce'];
      const salt = extra['salt'];
      const kdf = extra['kdf'];
      const iterations = extra['iterations'];
      const memory = extra['memory'] ?? undefined;
      if (typeof serverNonce !== 'string' || !nonceExtends(dialect, nonce, serverNonce)) {
        throw badChallenge(method, 'Extra.nonce must extend the client nonce');
      }
      const saltBytes = fromBase64(salt);
      if (typeof salt !== 'string' || !saltBytes || saltBytes.length < 8) throw badChallenge(method, 'Extra.salt must be Base64 of at least 8 bytes');
      if (kdf !== 'argon2id13' && kdf !== 'pbkdf2' && kdf !== 'argon2id-13') throw badChallenge(method, `unknown Extra.kdf '${String(kdf)}'`);
      if (!isIntIn(iterations, 1, Number.MAX_SAFE_INTEGER)) throw badChallenge(method, 'Extra.iterations must be a positive integer');
      if (kdf === 'pbkdf2') {
        if (iterations > limits.maxIterations) throw limitExceeded(method, `iterations ${iterations} > limit ${limits.maxIterations}`);
      } else {
        // Argon2 needs at least 8 KiB per lane (RFC 9106 §3.1: m >= 8p).
        if (!isIntIn(memory, 8, Number.MAX_SAFE_INTEGER)) throw badChallenge(method, 'Extra.memory (KiB) must be an integer >= 8 for Argon2');
        if (memory > limits.maxArgon2Memory) throw limitExceeded(method, `memory ${memory} KiB > limit ${limits.maxArgon2Memory}`);
        if (memory * iterations > limits.maxArgon2Cost) throw limitExceeded(method, `Argon2 cost ${memory * iterations} > limit ${limits.maxArgon2Cost}`);
      }
      let cbindData: Uint8Array | undefined;
      if (binding) {
        const cb = channel.channelBinding;
        if (!cb || cb.type !== binding) {
          throw new WampAuthError('WAMP_ERR_AUTH_CHANNEL_BINDING', `${method}: the transport provides no '${binding}' channel binding data`);
        }
        cbindData = cb.data;
      }
      const pw = scramPasswordBytes(dialect, await resolveSecret(password));
      const salted = await scramSaltedPassword(pw, saltBytes, {
        kdf: kdf as ScramKdf,
        iterations,
        ...(typeof memory === 'number' ? { memory } : {}),
      });
      const { clientKey, storedKey, serverKey } = scramKeys(salted);
      const authMessage = scramAuthMessage(dialect, {
        authid: user,
        clientNonce: nonce,
        serverNonce,
        salt,
        iterations,
        // Autobahn takes the binding name from the CHALLENGE (Crossbar sends none).
        channelBinding: dialect === 'spec' ? binding : typeof extra['channel_binding'] === 'string' ? extra['channel_binding'] : undefined,
        cbindData,
      });
      pending = { authMessage, serverKey };
      const proof = base64Encode(scramClientProof(clientKey, storedKey, authMessage));
      if (dialect === 'autobahn') return proof;
      return {
        signature: proof,
        extra: {
          nonce: serverNonce,
          channel_binding: binding ?? null,
          cbind_data: cbindData ? base64Encode(cbindData) : null,
        },
      };
    },
    onWelcome(details: WampDict): void {
      const p = pending;
      pending = undefined;
      if (!p) throw new WampAuthError('WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED', `${method}: WELCOME without a CHALLENGE answered`);
      const ae = isDict(details['authextra']) ? details['authextra'] : {};
      const claimed = fromBase64(ae[scramSignatureKey(dialect)] ?? ae['verifier'] ?? ae['scram_server_signature']);
      if (!claimed || !constantTimeEqual(claimed, scramServerSignature(p.serverKey, p.authMessage))) {
        throw new WampAuthError('WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED', `${method}: the router's server signature is missing or wrong`);
      }
    },
  };
}

/**
 * Whether the server nonce extends the client nonce: as a string prefix (spec:
 * "MUST respond with an ABORT message if CHALLENGE.Details.nonce does not
 * begin with the client nonce"), or — Crossbar — its decoded bytes start with
 * the client nonce's bytes (Crossbar Base64-encodes client ‖ server bytes).
 */
function nonceExtends(dialect: ScramDialect, client: string, server: string): boolean {
  if (server.length > client.length && server.startsWith(client)) return true;
  if (dialect !== 'autobahn') return false;
  const c = fromBase64(client);
  const s = fromBase64(server);
  if (!c || !s || s.length <= c.length) return false;
  return constantTimeEqual(s.subarray(0, c.length), c);
}
