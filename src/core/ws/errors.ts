/**
 * One place for every WebSocket error: a stable `code` string for programs,
 * a human message, and the close code that goes on the wire (RFC 6455 §7.4.1).
 * Internal details never go into the close reason; `message` is for logs.
 */

/** Close codes used by this library (RFC 6455 §7.4.1, RFC 7692). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  /** Reserved: never sent; reported when a Close frame had no status. */
  NO_STATUS: 1005,
  /** Reserved: never sent; reported when the connection dropped without a Close frame. */
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
  TLS_HANDSHAKE: 1015,
} as const;

export type ErrorCode =
  // framing (RFC 6455 §5)
  | 'WS_ERR_INVALID_OPCODE'
  | 'WS_ERR_UNEXPECTED_RSV'
  | 'WS_ERR_EXPECTED_MASK'
  | 'WS_ERR_UNEXPECTED_MASK'
  | 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'
  | 'WS_ERR_FRAGMENTED_CONTROL_FRAME'
  | 'WS_ERR_INVALID_CONTINUATION'
  | 'WS_ERR_EXPECTED_CONTINUATION'
  | 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'
  | 'WS_ERR_INVALID_CLOSE_CODE'
  | 'WS_ERR_INVALID_CLOSE_PAYLOAD'
  | 'WS_ERR_INVALID_UTF8'
  | 'WS_ERR_DATA_AFTER_CLOSE'
  // limits
  | 'WS_ERR_FRAME_TOO_BIG'
  | 'WS_ERR_MESSAGE_TOO_BIG'
  | 'WS_ERR_TOO_MANY_FRAGMENTS'
  | 'WS_ERR_HANDSHAKE_TOO_BIG'
  | 'WS_ERR_SEND_QUEUE_FULL'
  // permessage-deflate (RFC 7692)
  | 'WS_ERR_INFLATE_FAILED'
  | 'WS_ERR_DEFLATE_FAILED'
  | 'WS_ERR_INVALID_EXTENSION'
  // handshake (RFC 6455 §4)
  | 'WS_ERR_HANDSHAKE_INVALID'
  | 'WS_ERR_HANDSHAKE_REJECTED'
  | 'WS_ERR_UNSUPPORTED_VERSION'
  | 'WS_ERR_INVALID_SUBPROTOCOL'
  | 'WS_ERR_ORIGIN_REJECTED'
  // lifecycle
  | 'WS_ERR_OPEN_TIMEOUT'
  | 'WS_ERR_CLOSE_TIMEOUT'
  | 'WS_ERR_PING_TIMEOUT'
  | 'WS_ERR_NOT_OPEN'
  | 'WS_ERR_CONNECTION_LOST'
  | 'WS_ERR_PROXY_FAILED'
  | 'WS_ERR_INTERNAL';

/**
 * An error with a stable `code` and the close code to send (or that was
 * received). `closeCode` is 0 where no Close frame applies (e.g. handshake).
 *
 * @example
 * ```ts
 * import { WebSocketError } from 'autostrada';
 * const err = new WebSocketError('WS_ERR_INVALID_UTF8', 'invalid UTF-8 in text frame', 1007);
 * console.log(err.code, err.closeCode); // WS_ERR_INVALID_UTF8 1007
 * ```
 */
export class WebSocketError extends Error {
  readonly code: ErrorCode;
  readonly closeCode: number;
  /** HTTP status to answer with, for handshake errors on the server side. */
  readonly status: number;

  constructor(code: ErrorCode, message: string, closeCode = 0, status = 0) {
    super(message);
    this.name = 'WebSocketError';
    this.code = code;
    this.closeCode = closeCode;
    this.status = status;
  }
}

/** Frame-level protocol violation: the connection fails with 1002. */
export function protocolError(code: ErrorCode, message: string): WebSocketError {
  return new WebSocketError(code, message, CloseCode.PROTOCOL_ERROR);
}

/** Handshake failure; `status` is the HTTP status a server answers with. */
export function handshakeError(code: ErrorCode, message: string, status = 400): WebSocketError {
  return new WebSocketError(code, message, 0, status);
}
