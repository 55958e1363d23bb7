/**
 * Router-side authentication: one {@link ServerAuthMethod} per authmethod,
 * tried in the order the client lists them in `HELLO.Details.authmethods`
 * (advanced profile "Authentication"). Built in: `anonymous` and `ticket`,
 * each with static credentials or a dynamic authenticator procedure; more
 * methods plug in by implementing the interface.
 *
 * A dynamic authenticator is a WAMP procedure registered by a trusted session
 * (usually embedded in-process through `createLocalTransportPair`), called as
 * Crossbar calls it: `authenticate(realm, authid, details)` where `details`
 * holds `authmethod`, `authextra`, `session`, `transport` and, for ticket, the
 * `ticket`. It returns the authrole (a string) or a dict
 * `{ role, authid?, extra?, provider? }`; raising an error with a URI aborts
 * the join with that URI, any other failure with `wamp.error.authentication_failed`.
 *
 * @module
 */
import type { WampTransportInfo } from '../wamp/transport.js';
import type { WampDict, WampList } from '../wamp/uri.js';
import { isDict, isValidUri } from '../wamp/uri.js';
import { verifyTicket } from '../wamp/auth/server.js';
import { WampUri } from './uris.js';
import { randomToken } from './ids.js';
import {
  cryptosignAuth,
  scramAuth,
  wampcraAuth,
  type CraStaticConfig,
  type CryptosignOptions,
  type CryptosignStaticConfig,
  type ScramStaticConfig,
} from './auth-methods.js';

/** Who a session is, once authenticated. */
export interface AuthIdentity {
  authid: string;
  authrole: string;
  /** Who vouched: `'static'`, `'dynamic'`, or your own name. */
  authprovider: string;
  /** Goes to WELCOME.Details.authextra. */
  authextra?: WampDict;
}

/** The result of a procedure call made by the router itself. */
export interface InternalCallResult {
  args?: WampList;
  kwargs?: WampDict;
}

/** A call made by the router failed: the callee's error URI (or a router one) and payload. */
export class InternalCallError extends Error {
  /**
   * @param uri - the WAMP error URI
   * @param args - ERROR.Arguments
   * @param kwargs - ERROR.ArgumentsKw
   */
  constructor(
    readonly uri: string,
    readonly args: WampList = [],
    readonly kwargs: WampDict = {},
  ) {
    super(`${uri}${typeof args[0] === 'string' ? `: ${args[0]}` : ''}`);
    this.name = 'InternalCallError';
  }
}

/** What an authentication method knows about the joining client. */
export interface AuthContext {
  /** The realm from HELLO. */
  readonly realm: string;
  /** HELLO.Details.authid, if given. */
  readonly authid?: string;
  /** HELLO.Details.authrole, if given. */
  readonly authrole?: string;
  /** HELLO.Details.authextra (`{}` when absent). */
  readonly authextra: WampDict;
  /** All of HELLO.Details. */
  readonly hello: WampDict;
  /** The transport the client came on. */
  readonly transport: WampTransportInfo;
  /** The session ID the session will get. */
  readonly session: number;
  /**
   * Calls a procedure as the router (for dynamic authenticators).
   * @throws {@link InternalCallError} when the call fails
   */
  call(realm: string, procedure: string, args: WampList, kwargs?: WampDict): Promise<InternalCallResult>;
}

/** One step of authentication. */
export type AuthStep =
  | { kind: 'welcome'; identity: AuthIdentity }
  | {
      kind: 'challenge';
      /** CHALLENGE.Extra. */
      extra: WampDict;
      /** Checks AUTHENTICATE.Signature/Extra; returns the next step. */
      respond(signature: string, extra: WampDict): AuthStep | Promise<AuthStep>;
    }
  | { kind: 'abort'; reason: string; message: string };

/** Router side of one authentication method. */
export interface ServerAuthMethod {
  /** The authmethod name, e.g. `'ticket'`. */
  readonly method: string;
  /** Starts authenticating a client that offered this method. */
  start(ctx: AuthContext): AuthStep | Promise<AuthStep>;
}

/** Static anonymous access: every client gets `role`. */
export interface AnonymousStaticConfig {
  type: 'static';
  /** Default `'anonymous'`. */
  role?: string;
}

/** Calls a dynamic authenticator procedure. */
export interface DynamicAuthConfig {
  type: 'dynamic';
  /** Procedure URI of the authenticator. */
  authenticator: string;
  /** Realm it is registered in; default the realm the client joins. */
  authenticatorRealm?: string;
}

/** A ticket principal. */
export interface TicketPrincipal {
  ticket: string;
  role: string;
}

/** Static ticket credentials, by authid. */
export interface TicketStaticConfig {
  type: 'static';
  principals: Record<string, TicketPrincipal>;
}

/**
 * Authentication config: per authmethod, static credentials or a dynamic
 * authenticator, or your own {@link ServerAuthMethod}. Default:
 * `{ anonymous: { type: 'static', role: 'anonymous' } }`.
 */
export interface AuthConfig {
  anonymous?: AnonymousStaticConfig | DynamicAuthConfig;
  ticket?: TicketStaticConfig | DynamicAuthConfig;
  /** WAMP-CRA (see `wampcraAuth`). */
  wampcra?: CraStaticConfig | DynamicAuthConfig;
  /** WAMP-Cryptosign (see `cryptosignAuth`); `routerKey` enables router authentication. */
  cryptosign?: (CryptosignStaticConfig | DynamicAuthConfig) & CryptosignOptions;
  /** WAMP-SCRAM, the spec's dialect (authmethod `wamp-scram`). */
  'wamp-scram'?: ScramStaticConfig | DynamicAuthConfig;
  /** WAMP-SCRAM, Autobahn's dialect (authmethod `scram`). */
  scram?: ScramStaticConfig | DynamicAuthConfig;
  /** More methods (wampcra, cryptosign, scram, custom), by authmethod name. */
  methods?: ServerAuthMethod[];
}

const abort = (reason: string, message: string): AuthStep => ({ kind: 'abort', reason, message });

/** A ticket nobody can present (for unknown authids, so they take the same path as known ones). */
function unknowableTicket(): string {
  return `\u0000${randomAuthid()}${randomAuthid()}`;
}

/** A random authid for anonymous sessions (as Crossbar gives them). */
function randomAuthid(): string {
  return randomToken(24);
}

/**
 * Calls a dynamic authenticator and turns its answer into a step: a role
 * string or `{ role, authid?, extra?, provider? }` → welcome; an error with a
 * valid URI → abort with it; anything else → `wamp.error.authentication_failed`.
 *
 * @param ctx - the auth context
 * @param cfg - the dynamic config
 * @param method - the authmethod (goes into `details.authmethod`)
 * @param authid - the authid to pass
 * @param more - more entries for `details` (e.g. the ticket)
 * @returns the step
 */
export async function callDynamicAuthenticator(
  ctx: AuthContext,
  cfg: DynamicAuthConfig,
  method: string,
  authid: string | undefined,
  more: WampDict = {},
): Promise<AuthStep | { kind: 'answer'; value: WampDict; role: string }> {
  const details: WampDict = {
    authmethod: method,
    authextra: ctx.authextra,
    session: ctx.session,
    transport: { type: ctx.transport.type, protocol: ctx.transport.protocol, peer: ctx.transport.peer ?? null },
    ...more,
  };
  let res: InternalCallResult;
  try {
    res = await ctx.call(cfg.authenticatorRealm ?? ctx.realm, cfg.authenticator, [ctx.realm, authid ?? null, details]);
  } catch (err) {
    if (err instanceof InternalCallError && isValidUri(err.uri) && !err.uri.startsWith('wamp.error.no_such_procedure')) {
      const msg = typeof err.args[0] === 'string' ? err.args[0] : 'denied by the authenticator';
      if (err.uri === WampUri.TIMEOUT || err.uri === WampUri.CANCELED) {
        return abort(WampUri.AUTHENTICATION_FAILED, 'the authenticator did not answer');
      }
      return abort(err.uri, msg);
    }
    return abort(WampUri.AUTHENTICATION_FAILED, 'the authenticator is not available');
  }
  const value = res.args?.[0];
  if (typeof value === 'string') return { kind: 'answer', value: { role: value }, role: value };
  if (isDict(value) && typeof value.role === 'string') return { kind: 'answer', value, role: value.role };
  return abort(WampUri.AUTHENTICATION_FAILED, 'the authenticator returned no role');
}

/** Turns a dynamic authenticator's answer into an identity. */
export function identityFromAnswer(answer: WampDict, role: string, fallbackAuthid: string): AuthIdentity {
  const id: AuthIdentity = {
    authid: typeof answer.authid === 'string' ? answer.authid : fallbackAuthid,
    authrole: role,
    authprovider: typeof answer.provider === 'string' ? answer.provider : 'dynamic',
  };
  if (isDict(answer.extra)) id.authextra = answer.extra;
  return id;
}

/**
 * The `anonymous` method.
 *
 * @param cfg - static role or a dynamic authenticator
 * @returns the method
 */
export function anonymousAuth(cfg: AnonymousStaticConfig | DynamicAuthConfig = { type: 'static' }): ServerAuthMethod {
  return {
    method: 'anonymous',
    async start(ctx) {
      const authid = ctx.authid ?? randomAuthid();
      if (cfg.type === 'static') {
        return { kind: 'welcome', identity: { authid, authrole: cfg.role ?? 'anonymous', authprovider: 'static' } };
      }
      const r = await callDynamicAuthenticator(ctx, cfg, 'anonymous', authid);
      if (r.kind !== 'answer') return r;
      return { kind: 'welcome', identity: identityFromAnswer(r.value, r.role, authid) };
    },
  };
}

/**
 * The `ticket` method (advanced profile "Ticket-based Authentication"): CHALLENGE
 * with empty extra, then the ticket is checked against the principal's (static,
 * in constant time) or handed to the dynamic authenticator as `details.ticket`.
 * A wrong ticket or unknown authid aborts with `wamp.error.not_authorized`
 * (the two are not told apart, so principals cannot be probed).
 *
 * @param cfg - static principals or a dynamic authenticator
 * @returns the method
 */
export function ticketAuth(cfg: TicketStaticConfig | DynamicAuthConfig): ServerAuthMethod {
  return {
    method: 'ticket',
    start(ctx) {
      const authid = ctx.authid;
      if (authid === undefined) return abort(WampUri.NOT_AUTHORIZED, 'ticket authentication needs an authid');
      return {
        kind: 'challenge',
        extra: {},
        async respond(ticket) {
          if (cfg.type === 'static') {
            const p = Object.prototype.hasOwnProperty.call(cfg.principals, authid) ? cfg.principals[authid] : undefined;
            const ok = verifyTicket(ticket, p?.ticket ?? unknowableTicket()).ok;
            if (!p || !ok) return abort(WampUri.NOT_AUTHORIZED, 'invalid ticket or unknown authid');
            return { kind: 'welcome', identity: { authid, authrole: p.role, authprovider: 'static' } };
          }
          const r = await callDynamicAuthenticator(ctx, cfg, 'ticket', authid, { ticket });
          if (r.kind !== 'answer') return r;
          return { kind: 'welcome', identity: identityFromAnswer(r.value, r.role, authid) };
        },
      };
    },
  };
}

/**
 * Builds the methods of an {@link AuthConfig}, by name.
 *
 * @param cfg - the config
 * @returns authmethod → method
 */
export function buildAuthMethods(cfg: AuthConfig = { anonymous: { type: 'static', role: 'anonymous' } }): Map<string, ServerAuthMethod> {
  const out = new Map<string, ServerAuthMethod>();
  if (cfg.anonymous) out.set('anonymous', anonymousAuth(cfg.anonymous));
  if (cfg.ticket) out.set('ticket', ticketAuth(cfg.ticket));
  if (cfg.wampcra) out.set('wampcra', wampcraAuth(cfg.wampcra));
  if (cfg.cryptosign) {
    const { routerKey, ...rest } = cfg.cryptosign;
    out.set('cryptosign', cryptosignAuth(rest as CryptosignStaticConfig | DynamicAuthConfig, routerKey ? { routerKey } : {}));
  }
  if (cfg['wamp-scram']) out.set('wamp-scram', scramAuth('wamp-scram', cfg['wamp-scram']));
  if (cfg.scram) out.set('scram', scramAuth('scram', cfg.scram));
  for (const m of cfg.methods ?? []) out.set(m.method, m);
  return out;
}
