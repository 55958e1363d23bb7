/**
 * The challenge-response authentication methods on the router: WAMP-CRA,
 * WAMP-Cryptosign and WAMP-SCRAM (both the spec's `wamp-scram` and Autobahn's
 * `scram`), each with static principals (shaped like Crossbar's) or a dynamic
 * authenticator. The cryptography and wire format come from
 * `src/wamp/auth/server.ts`; this file decides which principal applies.
 *
 * Unknown principals get a challenge like known ones and fail at the answer, so
 * a client cannot tell an unknown authid from a wrong secret.
 *
 * @module
 */
import {
  createCraChallenge,
  createCryptosignChallenge,
  createScramChallenge,
  deriveCraKey,
  scramCredentialFromCrossbar,
  scramDialectOf,
  verifyCra,
  verifyCryptosign,
  verifyScram,
  type AuthVerdict,
  type CraSalt,
  type ScramCredential,
} from '../wamp/auth/server.js';
import { WampAuthError } from '../wamp/auth/errors.js';
import type { CryptosignKey } from '../wamp/auth/cryptosign-key.js';
import type { WampDict } from '../wamp/uri.js';
import { isDict, isList } from '../wamp/uri.js';
import { callDynamicAuthenticator, type AuthContext, type AuthIdentity, type AuthStep, type DynamicAuthConfig, type ServerAuthMethod } from './auth.js';
import { WampUri } from './uris.js';

/** A WAMP-CRA principal (Crossbar: `secret`, `role`, optional `salt`, `iterations`, `keylen`). */
export interface CraPrincipal {
  /** The secret; with `salt`, the PASSWORD (the derived key is computed once here). */
  secret: string;
  role: string;
  salt?: string;
  iterations?: number;
  keylen?: number;
}

/** Static WAMP-CRA principals by authid. */
export interface CraStaticConfig {
  type: 'static';
  principals: Record<string, CraPrincipal>;
}

/** A cryptosign principal: the public keys (64 hex digits) it may use. */
export interface CryptosignPrincipal {
  authorized_keys: string[];
  role: string;
}

/** Static cryptosign principals by authid (a client without authid is found by its key). */
export interface CryptosignStaticConfig {
  type: 'static';
  principals: Record<string, CryptosignPrincipal>;
}

/** A SCRAM principal: a stored credential (ours, or Crossbar's hex form with `stored-key`/`server-key`) and a role. */
export type ScramPrincipal = (ScramCredential | WampDict) & { role: string };

/** Static SCRAM principals by authid. */
export interface ScramStaticConfig {
  type: 'static';
  principals: Record<string, ScramPrincipal>;
}

/** Options common to the cryptosign method. */
export interface CryptosignOptions {
  /** The router's key, for router authentication (when the client sends authextra.challenge). */
  routerKey?: CryptosignKey;
}

const abortFor = (err: unknown): AuthStep => {
  if (err instanceof WampAuthError) return { kind: 'abort', reason: err.uri, message: err.message };
  return { kind: 'abort', reason: WampUri.AUTHENTICATION_FAILED, message: 'authentication failed' };
};

function afterVerdict(v: AuthVerdict, id: AuthIdentity): AuthStep {
  if (!v.ok) return { kind: 'abort', reason: v.error.uri, message: v.error.message };
  const identity = v.authextra ? { ...id, authextra: { ...id.authextra, ...v.authextra } } : id;
  return { kind: 'welcome', identity };
}

function own<T>(rec: Record<string, T>, key: string | undefined): T | undefined {
  return key !== undefined && Object.prototype.hasOwnProperty.call(rec, key) ? rec[key] : undefined;
}

/** Random bytes as hex: a secret nobody knows, for unknown principals. */
function unknowable(): string {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * The `wampcra` method (advanced profile "Challenge Response Authentication").
 * Dynamic: the authenticator is called at HELLO and returns
 * `{ secret, role, salt?, iterations?, keylen? }` as with Crossbar.
 *
 * @param cfg - static principals or a dynamic authenticator
 * @returns the method
 */
export function wampcraAuth(cfg: CraStaticConfig | DynamicAuthConfig): ServerAuthMethod {
  // Derived keys of static salted principals, computed once (PBKDF2 is slow on purpose).
  const derived = new Map<string, Promise<string>>();
  const keyOf = (p: CraPrincipal, cacheKey: string | undefined): Promise<string> => {
    if (p.salt === undefined) return Promise.resolve(p.secret);
    const hit = cacheKey === undefined ? undefined : derived.get(cacheKey);
    if (hit) return hit;
    const k = deriveCraKey(p.secret, p.salt, p.iterations ?? 1000, p.keylen ?? 32);
    if (cacheKey !== undefined) derived.set(cacheKey, k);
    return k;
  };
  const challengeFor = (ctx: AuthContext, authid: string, p: CraPrincipal, provider: string, known: boolean, cacheKey?: string): AuthStep => {
    const salt: CraSalt | undefined =
      p.salt === undefined ? undefined : { salt: p.salt, iterations: p.iterations ?? 1000, keylen: p.keylen ?? 32 };
    const pending = createCraChallenge({ authid, authrole: p.role, authprovider: provider, session: ctx.session, ...(salt ? { salt } : {}) });
    return {
      kind: 'challenge',
      extra: pending.extra,
      async respond(signature) {
        const v = verifyCra(pending, signature, known ? await keyOf(p, cacheKey) : unknowable());
        return afterVerdict(v, { authid, authrole: p.role, authprovider: provider });
      },
    };
  };
  return {
    method: 'wampcra',
    async start(ctx) {
      const authid = ctx.authid;
      if (authid === undefined) return { kind: 'abort', reason: WampUri.NOT_AUTHORIZED, message: 'wampcra needs an authid' };
      if (cfg.type === 'static') {
        const p = own(cfg.principals, authid);
        return challengeFor(ctx, authid, p ?? { secret: '', role: 'anonymous' }, 'static', p !== undefined, authid);
      }
      const r = await callDynamicAuthenticator(ctx, cfg, 'wampcra', authid);
      if (r.kind !== 'answer') return r;
      const v = r.value;
      if (typeof v.secret !== 'string') return { kind: 'abort', reason: WampUri.AUTHENTICATION_FAILED, message: 'the authenticator returned no secret' };
      const p: CraPrincipal = { secret: v.secret, role: r.role };
      if (typeof v.salt === 'string') p.salt = v.salt;
      if (typeof v.iterations === 'number') p.iterations = v.iterations;
      if (typeof v.keylen === 'number') p.keylen = v.keylen;
      return challengeFor(ctx, typeof v.authid === 'string' ? v.authid : authid, p, 'dynamic', true);
    },
  };
}

/**
 * The `cryptosign` method (advanced profile "Cryptosign-based Authentication"),
 * with channel binding when the transport provides it and router
 * authentication when `routerKey` is set. Dynamic: the authenticator is called
 * at HELLO (details.authextra.pubkey is the client's key) and returns
 * `{ role, authid?, pubkey? | authorized_keys? }`; the key must be among those.
 *
 * @param cfg - static principals or a dynamic authenticator
 * @param opts - router key
 * @returns the method
 */
export function cryptosignAuth(cfg: CryptosignStaticConfig | DynamicAuthConfig, opts: CryptosignOptions = {}): ServerAuthMethod {
  return {
    method: 'cryptosign',
    async start(ctx) {
      let pending: ReturnType<typeof createCryptosignChallenge>;
      try {
        pending = createCryptosignChallenge(ctx.authextra, {
          ...(ctx.transport.channelBinding ? { channelBinding: ctx.transport.channelBinding } : {}),
          ...(opts.routerKey ? { routerKey: opts.routerKey } : {}),
        });
      } catch (err) {
        return abortFor(err);
      }
      let authid: string;
      let role: string;
      let keys: string[];
      let provider: string;
      let extra: WampDict | undefined;
      if (cfg.type === 'static') {
        provider = 'static';
        const byId = own(cfg.principals, ctx.authid);
        const found =
          ctx.authid !== undefined
            ? byId
              ? ([ctx.authid, byId] as const)
              : undefined
            : Object.entries(cfg.principals).find(([, p]) => p.authorized_keys.some((k) => k.toLowerCase() === pending.pubkey));
        authid = found?.[0] ?? ctx.authid ?? pending.pubkey;
        role = found?.[1].role ?? 'anonymous';
        keys = found?.[1].authorized_keys ?? [];
      } else {
        provider = 'dynamic';
        const r = await callDynamicAuthenticator(ctx, cfg, 'cryptosign', ctx.authid);
        if (r.kind !== 'answer') return r;
        const v = r.value;
        authid = typeof v.authid === 'string' ? v.authid : (ctx.authid ?? pending.pubkey);
        role = r.role;
        keys = typeof v.pubkey === 'string' ? [v.pubkey] : isList(v.authorized_keys) ? v.authorized_keys.filter((k): k is string => typeof k === 'string') : [];
        if (isDict(v.extra)) extra = v.extra;
      }
      return {
        kind: 'challenge',
        extra: pending.extra,
        respond(signature) {
          const id: AuthIdentity = { authid, authrole: role, authprovider: provider, ...(extra ? { authextra: extra } : {}) };
          return afterVerdict(verifyCryptosign(pending, signature, keys), id);
        },
      };
    },
  };
}

/**
 * WAMP-SCRAM: `'wamp-scram'` (the spec's dialect) or `'scram'` (Autobahn's).
 * Dynamic: the authenticator is called at HELLO and returns the credential
 * (ours, or Crossbar's hex principal) with `role`.
 *
 * @param method - which dialect's authmethod name to serve
 * @param cfg - static principals or a dynamic authenticator
 * @returns the method
 */
export function scramAuth(method: 'wamp-scram' | 'scram', cfg: ScramStaticConfig | DynamicAuthConfig): ServerAuthMethod {
  const dialect = scramDialectOf(method)!;
  const credentialOf = (p: WampDict): ScramCredential =>
    typeof p['stored-key'] === 'string' ? scramCredentialFromCrossbar(p) : (p as unknown as ScramCredential);
  return {
    method,
    async start(ctx) {
      const authid = ctx.authid;
      if (authid === undefined) return { kind: 'abort', reason: WampUri.NOT_AUTHORIZED, message: `${method} needs an authid` };
      let principal: WampDict | undefined;
      let provider = 'static';
      let role: string;
      if (cfg.type === 'static') {
        principal = own(cfg.principals, authid) as WampDict | undefined;
        role = typeof principal?.role === 'string' ? principal.role : 'anonymous';
      } else {
        provider = 'dynamic';
        const r = await callDynamicAuthenticator(ctx, cfg, method, authid);
        if (r.kind !== 'answer') return r;
        principal = r.value;
        role = r.role;
      }
      let pending: ReturnType<typeof createScramChallenge>;
      const known = principal !== undefined;
      try {
        // An unknown authid gets a challenge from a throwaway credential (same shape, never verifiable).
        const cred = known
          ? credentialOf(principal!)
          : { kdf: 'pbkdf2' as const, iterations: 4096, salt: btoa(unknowable().slice(0, 16)), stored_key: btoa(unknowable().slice(0, 32)), server_key: btoa(unknowable().slice(0, 32)) };
        pending = createScramChallenge({ authid, authextra: ctx.authextra }, cred, {
          dialect,
          ...(ctx.transport.channelBinding ? { channelBinding: ctx.transport.channelBinding } : {}),
        });
      } catch (err) {
        return abortFor(err);
      }
      return {
        kind: 'challenge',
        extra: pending.extra,
        respond(signature, extra) {
          const v = verifyScram(pending, signature, extra);
          if (!known && v.ok) return { kind: 'abort', reason: WampUri.AUTHENTICATION_FAILED, message: `${method}: invalid proof` };
          return afterVerdict(v, { authid, authrole: role, authprovider: provider });
        },
      };
    },
  };
}
