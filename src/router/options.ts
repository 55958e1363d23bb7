/**
 * Router configuration types: realms, roles and permissions (shaped like
 * Crossbar's realm/roles/permissions config), disclosure policies and
 * per-session limits with their defaults.
 *
 * @module
 */
import type { MatchPolicy } from './matching.js';

/** An action a session may be authorized for. */
export type Action = 'call' | 'register' | 'publish' | 'subscribe';

/**
 * Whether the router discloses the caller/publisher identity:
 * `'allow'` (only when the caller/publisher asks with `disclose_me`, or a callee
 * with `disclose_caller`), `'force'` (always), `'deny'` (never; a `disclose_me`
 * request fails with `wamp.error.option_disallowed.disclose_me`).
 */
export type DisclosePolicy = 'allow' | 'force' | 'deny';

/** One permission entry of a role: a URI pattern and what it allows. */
export interface PermissionConfig {
  /** URI or URI pattern (an empty string with `match: 'prefix'` matches every URI). */
  uri: string;
  /** How `uri` matches. Default `'exact'`. The best match wins (exact > longest prefix > most specific wildcard). */
  match?: MatchPolicy;
  /** Allowed actions; absent ones are denied. */
  allow?: Partial<Record<Action, boolean>>;
  /** Force disclosure of the caller (on `call`) / the publisher (on `publish`) for URIs matching this entry. */
  disclose?: { caller?: boolean; publisher?: boolean };
}

/** A role in a realm. */
export interface RoleConfig {
  /** The authrole. */
  name: string;
  /** Static permissions. Ignored when {@link authorizer} is set. */
  permissions?: PermissionConfig[];
  /**
   * A dynamic authorizer: the URI of a procedure registered in this realm (by
   * a trusted session) that is called as `authorize(session, uri, action, options)`
   * for each action and returns a bool or `{ allow: bool, disclose?: bool }`
   * (as Crossbar's). If it fails, the action fails with `wamp.error.authorization_failed`.
   */
  authorizer?: string;
}

/** A realm. */
export interface RealmConfig {
  /** Realm name (a URI). */
  name: string;
  /**
   * Roles. When absent the realm is OPEN: every authenticated role may do
   * everything (a development default). When present, a session whose authrole
   * is not listed is refused with `wamp.error.no_such_role`, and each action needs
   * a permission. The role `'trusted'` (sessions attached with `trusted: true`)
   * is always allowed everything.
   */
  roles?: RoleConfig[];
  /** Disclosure policies for the realm; default `'allow'` for both. */
  disclose?: { caller?: DisclosePolicy; publisher?: DisclosePolicy };
  /** Most topics with a retained event (oldest dropped beyond). Default 10000. */
  maxRetained?: number;
}

/**
 * Per-session limits. Each one has a safe default; errors name the limit
 * (`autostrada.error.limit_exceeded`, `Args[0]` = the limit's name).
 *
 * Slow consumers: after a message is queued on a transport whose
 * `bufferedAmount` exceeds {@link eventDropBytes}, EVENTs for that session are
 * dropped (counted in `wamp.session.get` as `x_dropped_events`) until it drains
 * below; other sessions are not slowed. If the buffer still grows past
 * {@link maxBufferedBytes} (RPC traffic, or events when dropping is off) the
 * session is killed: on_leave is published, its calls fail, its registrations
 * and subscriptions go, and the transport is closed (code 1008).
 */
export interface SessionLimits {
  /** Most calls a caller may have in flight. Default 1000. */
  maxPendingCalls: number;
  /** Most invocations a callee may have in flight. Default 1000. */
  maxConcurrentInvocations: number;
  /** Most subscriptions per session. Default 10000. */
  maxSubscriptions: number;
  /** Most registrations per session. Default 10000. */
  maxRegistrations: number;
  /** Most testaments per session (both scopes together). Default 100. */
  maxTestaments: number;
  /** Outgoing buffer above which EVENTs to the session are dropped. Default 1 MiB. */
  eventDropBytes: number;
  /** Outgoing buffer above which the session is killed. Default 16 MiB. */
  maxBufferedBytes: number;
  /** Messages held while an asynchronous authorization runs (input stays in order). Default 1000. */
  maxQueuedMessages: number;
  /** ms for a connection to send HELLO (and for a new HELLO after GOODBYE). Default 10000. */
  helloTimeout: number;
  /** ms for authentication to finish (CHALLENGE answered, dynamic authenticator returned). Default 20000. */
  authTimeout: number;
  /** ms to wait for the GOODBYE reply before closing the transport. Default 5000. */
  goodbyeTimeout: number;
  /** ms for the router's own calls to dynamic authenticators/authorizers. Default 10000. */
  internalCallTimeout: number;
}

/** The defaults of {@link SessionLimits}. */
export const DEFAULT_LIMITS: Readonly<SessionLimits> = Object.freeze({
  maxPendingCalls: 1000,
  maxConcurrentInvocations: 1000,
  maxSubscriptions: 10_000,
  maxRegistrations: 10_000,
  maxTestaments: 100,
  eventDropBytes: 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  maxQueuedMessages: 1000,
  helloTimeout: 10_000,
  authTimeout: 20_000,
  goodbyeTimeout: 5_000,
  internalCallTimeout: 10_000,
});
