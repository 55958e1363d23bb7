/**
 * The WAMP client session: join a realm over any {@link WampTransport}, then
 * call, register, publish and subscribe, with the client side of the Advanced
 * Profile (progressive results and invocations, canceling, timeouts,
 * identification, pattern-based and shared registration, black/white listing,
 * acknowledged publish, payload passthru, testaments, meta API).
 *
 * The implementation lives in `./session/`; this module is its public face.
 *
 * @module
 */
export { Session } from './session/session.js';
export { Registration } from './session/callee.js';
export { Subscription } from './session/pubsub.js';
export { ProgressiveCall, OutgoingCall } from './session/caller.js';
export {
  MetaApi,
  type MatchLists,
  type SessionInfo,
  type RegistrationInfo,
  type SubscriptionInfo,
  type TestamentOptions,
  type TestamentScope,
} from './session/meta.js';
export { DEFAULT_SESSION_LIMITS, defaultRoles } from './session/core.js';
export {
  InvocationResult,
  type CallOptions,
  type CallResult,
  type CancelMode,
  type CustomOptions,
  type EventDetails,
  type EventHandler,
  type InvocationChunk,
  type InvocationDetails,
  type InvocationHandler,
  type JoinOptions,
  type LeaveInfo,
  type OpenCallOptions,
  type PassthruOptions,
  type ProgressOptions,
  type Publication,
  type PublishOptions,
  type RegisterOptions,
  type RouterFeatures,
  type SessionLimits,
  type SubscribeOptions,
  type UserErrorContext,
  type YieldOptions,
} from './session/types.js';
export {
  ApplicationError,
  WampSessionError,
  type ApplicationErrorOptions,
  type WampSessionErrorCode,
  type WampSessionErrorOptions,
} from './application-error.js';
