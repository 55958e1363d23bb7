/**
 * The reconnecting WAMP client (`Component`): transports to cycle through,
 * the realm and authentication, retry timing, registrations and
 * subscriptions declared once and re-established on every session, and the
 * application's `onJoin`. Isomorphic; the implementation lives in
 * `./component/`.
 *
 * @module
 */
export { Component } from './component/component.js';
export {
  ComponentError,
  isFatalComponentError,
  FATAL_ABORT_REASONS,
  FATAL_DECLARATION_ERRORS,
  type ComponentErrorCode,
} from './component/errors.js';
export {
  transportFromUrl,
  defaultTransportConnector,
  isRawSocketDescriptor,
  type RawSocketTarget,
  type RawSocketTransportDescriptor,
  type TransportConnector,
  type TransportDescriptor,
  type TransportFactory,
  type TransportFromUrlOptions,
  type TransportSpec,
  type WebSocketTransportDescriptor,
} from './component/transports.js';
export type {
  ComponentEvents,
  ComponentOptions,
  ComponentState,
  ComponentStopInfo,
  ComponentStopReason,
  ComponentTimers,
  DeclaredRegistration,
  DeclaredSubscription,
  DisconnectInfo,
} from './component/types.js';
