/**
 * The WAMP router core (Node and other runtimes; exported from `autostrada/server`).
 *
 * @module
 */
export { Router, type RouterOptions, type AttachOptions } from './router.js';
export type { RealmConfig, RoleConfig, PermissionConfig, Action, DisclosePolicy, SessionLimits } from './options.js';
export { DEFAULT_LIMITS } from './options.js';
export {
  anonymousAuth,
  ticketAuth,
  InternalCallError,
  type AuthConfig,
  type AuthContext,
  type AuthIdentity,
  type AuthStep,
  type ServerAuthMethod,
  type AnonymousStaticConfig,
  type DynamicAuthConfig,
  type TicketStaticConfig,
  type TicketPrincipal,
  type InternalCallResult,
} from './auth.js';
export type { RealmStore, SessionInfo, SessionTransport, RegistrationRecord, SubscriptionRecord, RetainedEvent, InvokePolicy, CalleeEntry } from './state.js';
export { MemoryRealmStore } from './state.js';
export { PatternMap, type MatchPolicy } from './matching.js';
export { WampUri } from './uris.js';
export {
  wampcraAuth,
  cryptosignAuth,
  scramAuth,
  type CraPrincipal,
  type CraStaticConfig,
  type CryptosignPrincipal,
  type CryptosignStaticConfig,
  type CryptosignOptions,
  type ScramPrincipal,
  type ScramStaticConfig,
} from './auth-methods.js';
