/**
 * WAMP protocol errors.
 *
 * One error class for everything a peer can get wrong on the wire, with a stable
 * `code` for programs and the WAMP error `uri` to put in the ABORT the spec
 * requires (WAMP basic profile, "Protocol Errors": "MUST send an ABORT message to
 * the offending peer, having reason `wamp.error.protocol_violation`").
 *
 * @module
 */

/** Stable code carried by {@link WampProtocolError}. */
export type WampProtocolErrorCode = 'WAMP_ERR_PROTOCOL_VIOLATION';

/**
 * A peer sent something that is not a valid WAMP message (unknown type, wrong
 * arity, a field of the wrong type, an invalid ID or URI, ...). The session must
 * be aborted with {@link WampProtocolError.uri} as the ABORT reason.
 */
export class WampProtocolError extends Error {
  /** Stable, machine-readable code; never changes between versions. */
  readonly code: WampProtocolErrorCode;
  /** The WAMP error URI to use as the ABORT reason. */
  readonly uri: string;
  /** The human-readable detail alone (without the prefix of {@link Error.message}). */
  readonly detail: string;

  /**
   * @param code - stable error code
   * @param uri - WAMP error URI for the ABORT reason
   * @param detail - what was wrong, for logs and ABORT.Details.message
   */
  constructor(code: WampProtocolErrorCode, uri: string, detail: string) {
    super(`WAMP protocol violation: ${detail}`);
    this.name = 'WampProtocolError';
    this.code = code;
    this.uri = uri;
    this.detail = detail;
  }
}

/**
 * Creates the {@link WampProtocolError} for a protocol violation.
 *
 * @param detail - what was wrong (e.g. `"CALL.Request must be an ID in [1, 2^53], got 0"`)
 * @returns an error with code `WAMP_ERR_PROTOCOL_VIOLATION` and URI `wamp.error.protocol_violation`
 */
export function protocolViolation(detail: string): WampProtocolError {
  return new WampProtocolError('WAMP_ERR_PROTOCOL_VIOLATION', 'wamp.error.protocol_violation', detail);
}
