/**
 * autostrada/server — Node only: the WAMP router on one port (WebSocket,
 * RawSocket, static files), its core and configuration, the WebSocket
 * server, and the RawSocket listener.
 */
export {
  Router,
  WampListener,
  countingTransport,
  ROUTER_SUBPROTOCOLS,
  type RouterServerOptions,
  type WampListenerOptions,
  type WebSocketEndpointOptions,
  type RawSocketEndpointOptions,
  type TrafficCounters,
} from './router/server.js';
export {
  Router as RouterCore,
  type RouterOptions,
  type AttachOptions,
  type RealmConfig,
  type RoleConfig,
  type PermissionConfig,
  type Action,
  type DisclosePolicy,
  type SessionLimits as RouterSessionLimits,
  DEFAULT_LIMITS as DEFAULT_ROUTER_LIMITS,
  anonymousAuth,
  ticketAuth,
  wampcraAuth,
  cryptosignAuth,
  scramAuth,
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
  type CraPrincipal,
  type CraStaticConfig,
  type CryptosignPrincipal,
  type CryptosignStaticConfig,
  type CryptosignOptions as CryptosignRouterOptions,
  type ScramPrincipal,
  type ScramStaticConfig,
  type RealmStore,
  type SessionInfo as RouterSessionInfo,
  type SessionTransport as RouterSessionTransport,
  type RegistrationRecord,
  type SubscriptionRecord,
  type RetainedEvent,
  type InvokePolicy,
  type CalleeEntry,
  MemoryRealmStore,
  PatternMap,
  type MatchPolicy,
  WampUri,
} from './router/index.js';
export { loadRouterConfig, validateRouterConfig, ConfigError, type RouterConfigFile, type AuthFileConfig } from './router/config.js';
export { startDemoBackend } from './router/demo-backend.js';
export { createStaticHandler, resolveStaticPath, type StaticOptions } from './adapters/node/static.js';
export {
  WebSocketServer,
  type WebSocketServerOptions,
  type VerifyClientInfo,
  type VerifyRejection,
  type UpgradeRequest,
} from './adapters/node/server.js';
export {
  RawSocketServer,
  acceptRawSocket,
  type AcceptRawSocketOptions,
  type RawSocketServerOptions,
} from './adapters/node/rawsocket.js';
export { createLocalTransportPair } from './wamp/transport.js';
export { WebSocket, type ClientOptions } from './adapters/node/client.js';
export { WebSocketConnection, WsMessageEvent } from './connection.js';
