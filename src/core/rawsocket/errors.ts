/**
 * One place for every WAMP RawSocket error: a stable `code` for programs, a
 * human message for logs, the close code reported to the WAMP transport user
 * (RawSocket has no close frame; the codes follow the WebSocket ones as
 * {@link WampTransportCloseInfo} documents them) and, for handshake errors,
 * the RawSocket handshake error number (WAMP Advanced Profile, "RawSocket
 * Transport" → "Handshake: Router-to-Client Reply").
 *
 * @module
 */

/** Stable codes of {@link RawSocketError}. */
export type RawSocketErrorCode =
  // handshake (request or reply)
  | 'RAWSOCKET_ERR_BAD_MAGIC'
  | 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED'
  | 'RAWSOCKET_ERR_MAX_LENGTH_UNACCEPTABLE'
  | 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS'
  | 'RAWSOCKET_ERR_MAX_CONNECTIONS'
  | 'RAWSOCKET_ERR_HANDSHAKE_REJECTED'
  | 'RAWSOCKET_ERR_SERIALIZER_MISMATCH'
  | 'RAWSOCKET_ERR_HANDSHAKE_TIMEOUT'
  // framing
  | 'RAWSOCKET_ERR_FRAME_RESERVED_BITS'
  | 'RAWSOCKET_ERR_INVALID_FRAME_TYPE'
  | 'RAWSOCKET_ERR_INVALID_LENGTH'
  | 'RAWSOCKET_ERR_MESSAGE_TOO_BIG'
  | 'RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED'
  // lifecycle
  | 'RAWSOCKET_ERR_NOT_OPEN'
  | 'RAWSOCKET_ERR_CONNECTION_LOST'
  | 'RAWSOCKET_ERR_CONNECT_FAILED'
  | 'RAWSOCKET_ERR_SEND_QUEUE_FULL'
  | 'RAWSOCKET_ERR_PING_TIMEOUT';

/**
 * Handshake error numbers (upper nibble of the second octet of an error
 * reply). WAMP Advanced Profile, RawSocket: "0: illegal (must not be used)".
 */
export const RawSocketHandshakeError = {
  SERIALIZER_UNSUPPORTED: 1,
  MAX_LENGTH_UNACCEPTABLE: 2,
  RESERVED_BITS: 3,
  MAX_CONNECTIONS: 4,
} as const;

/** One of the defined handshake error numbers (1–4). */
export type RawSocketHandshakeErrorNumber = (typeof RawSocketHandshakeError)[keyof typeof RawSocketHandshakeError];

/** Close codes this transport reports (the WebSocket ones, RFC 6455 §7.4.1). */
export const RawSocketCloseCode = {
  NORMAL: 1000,
  ABNORMAL: 1006,
  PROTOCOL_ERROR: 1002,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
} as const;

/**
 * A RawSocket failure with a stable {@link RawSocketError.code}.
 *
 * @example
 * ```ts
 * const err = new RawSocketError('RAWSOCKET_ERR_MESSAGE_TOO_BIG', 'frame of 2000 bytes exceeds 1024', 1009);
 * console.log(err.code, err.closeCode); // RAWSOCKET_ERR_MESSAGE_TOO_BIG 1009
 * ```
 */
export class RawSocketError extends Error {
  /** Stable, machine-readable code. */
  readonly code: RawSocketErrorCode;
  /** Close code reported to the transport user (1002, 1006, 1008 or 1009). */
  readonly closeCode: number;
  /**
   * For handshake errors: the RawSocket handshake error number sent (server)
   * or received (client), 0 when no error reply applies.
   */
  readonly handshakeError: number;

  constructor(code: RawSocketErrorCode, message: string, closeCode: number = RawSocketCloseCode.PROTOCOL_ERROR, handshakeError = 0, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RawSocketError';
    this.code = code;
    this.closeCode = closeCode;
    this.handshakeError = handshakeError;
  }
}
