/**
 * autostrada — the isomorphic entry (browsers, Deno, Node): the WAMP client
 * (Session, Component), its transports (any WHATWG WebSocket, the in-process
 * pair), WAMP messages, the JSON serializer, anonymous and ticket
 * authentication, and the reconnect policy. Imports no `node:*`.
 *
 * More, loaded only when imported: `autostrada/msgpack`, `autostrada/cbor`
 * (serializers), `autostrada/auth` (WAMP-CRA, cryptosign, SCRAM),
 * `autostrada/ws` (the WebSocket protocol itself); Node-only:
 * `autostrada/server` (WebSocket server, RawSocket, router).
 */
export * from './wamp/session.js';
export {
  Component,
  ComponentError,
  isFatalComponentError,
  FATAL_ABORT_REASONS,
  FATAL_DECLARATION_ERRORS,
  defaultTransportConnector,
  isRawSocketDescriptor,
  type ComponentErrorCode,
  type RawSocketTarget,
  type RawSocketTransportDescriptor,
  type TransportConnector,
  type TransportDescriptor,
  type TransportFactory,
  type TransportSpec,
  type WebSocketTransportDescriptor,
  type ComponentEvents,
  type ComponentOptions,
  type ComponentState,
  type ComponentStopInfo,
  type ComponentStopReason,
  type ComponentTimers,
  type DeclaredRegistration,
  type DeclaredSubscription,
  type DisconnectInfo,
} from './wamp/component.js';
export {
  connectWebSocket,
  createWebSocketConnector,
  type ConnectWebSocketOptions,
  type WebSocketConstructor,
} from './wamp/transports/connect.js';
export { WebSocketTransport, type WebSocketLike, type WebSocketTransportOptions } from './wamp/transports/websocket.js';
export {
  MessageTransport,
  type WampTransport,
  type WampTransportHandler,
  type WampTransportInfo,
  type WampTransportCloseInfo,
  type MessageTransportOptions,
  type LocalTransportOptions,
} from './wamp/transport.js';
export * from './wamp/messages.js';
export { WampProtocolError, protocolViolation, type WampProtocolErrorCode } from './wamp/errors.js';
export { isValidUri, isWampId, MAX_WAMP_ID, type UriCheckOptions } from './wamp/uri.js';
export { JsonSerializer, encodeJson, decodeJson } from './wamp/serializers/json.js';
export { JsonBatchedSerializer, encodeJsonBatch, decodeJsonBatch } from './wamp/serializers/json.js';
export {
  SerializationError,
  WAMP_ERR_SERIALIZATION,
  DEFAULT_MAX_BATCH_MESSAGES,
  type Serializer,
  type SerializerId,
  type BatchedSerializer,
  type BatchLimits,
} from './wamp/serializers/types.js';
export { anonymous, ticket } from './wamp/auth/client.js';
export type { AuthChannel, ChallengeResponse, ClientAuthenticator } from './wamp/auth/types.js';
export { RetryPolicy, retrySettings, DEFAULT_RETRY, type RetryOptions, type RetrySettings } from './wamp/retry.js';
