/**
 * The URIs the router puts on the wire: error URIs for ERROR and ABORT, and
 * close reasons for GOODBYE (WAMP basic profile "Predefined URIs", advanced
 * profile "Advanced Profile URIs"), plus the few router-specific ones for
 * limits the spec has no URI for. One place, so every error path uses the same
 * stable URI.
 *
 * @module
 */

/** Error and close URIs used by the router. */
export const WampUri = {
  // Basic profile, "Interaction".
  INVALID_URI: 'wamp.error.invalid_uri',
  NO_SUCH_PROCEDURE: 'wamp.error.no_such_procedure',
  PROCEDURE_ALREADY_EXISTS: 'wamp.error.procedure_already_exists',
  NO_SUCH_REGISTRATION: 'wamp.error.no_such_registration',
  NO_SUCH_SUBSCRIPTION: 'wamp.error.no_such_subscription',
  INVALID_ARGUMENT: 'wamp.error.invalid_argument',
  CANCELED: 'wamp.error.canceled',
  PAYLOAD_SIZE_EXCEEDED: 'wamp.error.payload_size_exceeded',
  PROTOCOL_VIOLATION: 'wamp.error.protocol_violation',
  // Basic profile, "Authorization".
  NOT_AUTHORIZED: 'wamp.error.not_authorized',
  AUTHORIZATION_FAILED: 'wamp.error.authorization_failed',
  NO_SUCH_REALM: 'wamp.error.no_such_realm',
  NO_SUCH_ROLE: 'wamp.error.no_such_role',
  // Advanced profile, "Authentication".
  NO_MATCHING_AUTH_METHOD: 'wamp.error.no_matching_auth_method',
  AUTHENTICATION_FAILED: 'wamp.error.authentication_failed',
  // Advanced profile, "Remote Procedure Calls".
  TIMEOUT: 'wamp.error.timeout',
  OPTION_NOT_ALLOWED: 'wamp.error.option_not_allowed',
  DISCLOSE_ME_DISALLOWED: 'wamp.error.option_disallowed.disclose_me',
  NO_AVAILABLE_CALLEE: 'wamp.error.no_available_callee',
  FEATURE_NOT_SUPPORTED: 'wamp.error.feature_not_supported',
  // Meta API.
  NO_SUCH_SESSION: 'wamp.error.no_such_session',
  // Session close reasons.
  CLOSE_SYSTEM_SHUTDOWN: 'wamp.close.system_shutdown',
  CLOSE_REALM: 'wamp.close.close_realm',
  GOODBYE_AND_OUT: 'wamp.close.goodbye_and_out',
  CLOSE_KILLED: 'wamp.close.killed',
  /**
   * Router-specific: a per-session limit was hit (pending calls of a caller,
   * concurrent invocations of a callee, testaments, subscriptions,
   * registrations, queued input). ERROR/ABORT.Args[0] says which limit.
   */
  LIMIT_EXCEEDED: 'autostrada.error.limit_exceeded',
  /** Router-specific: the session's outgoing buffer overflowed (slow consumer); used as ABORT/close reason. */
  SEND_BUFFER_OVERFLOW: 'autostrada.error.send_buffer_overflow',
  /** Router-specific: an unexpected internal error ended the session (details stay in the router's log). */
  INTERNAL_ERROR: 'autostrada.error.internal',
  /** Router-specific: the client did not finish HELLO/authentication in time. */
  HANDSHAKE_TIMEOUT: 'autostrada.error.handshake_timeout',
} as const;
