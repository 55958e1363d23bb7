/**
 * Close frame payloads and status codes (RFC 6455 §5.5.1, §7.1.5, §7.4).
 *
 * A Close payload is empty, or a 2-byte big-endian status code followed by a
 * UTF-8 reason. It is a control frame, so at most 125 bytes (§5.5), which
 * leaves 123 bytes for the reason.
 */

import { CloseCode, WebSocketError, protocolError } from './errors.js';
import { MAX_CONTROL_PAYLOAD } from './constants.js';
import { isValidUtf8 } from './utf8.js';

/** RFC 6455 §5.5: 125-byte control payload minus the 2-byte status code. */
export const MAX_CLOSE_REASON_BYTES = MAX_CONTROL_PAYLOAD - 2;

/**
 * May `code` appear in a Close frame on the wire? Used to check received
 * frames (failing with 1002 otherwise) and codes we send.
 *
 * - RFC 6455 §7.4.1: 1000-1003 and 1007-1011 are defined; 1004 is reserved,
 *   1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control
 *   frame by an endpoint".
 * - IANA "WebSocket Close Code Number Registry" (§11.7): 1012 Service Restart,
 *   1013 Try Again Later, 1014 Bad Gateway are registered and sent by real
 *   servers, so accepted. 1016-2999 are unassigned (reserved for future
 *   revisions and extensions, §7.4.2).
 * - §7.4.2: 3000-3999 are for libraries and frameworks (IANA-registered),
 *   4000-4999 for private use.
 * - Below 1000 and 5000 and up are not used (§7.4.2).
 */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * Codes this library may put in a Close frame it sends: all the valid wire
 * codes (1001-1003 and 1007-1014 serve its own error handling). What an
 * application may pass to `close()` is narrower; see {@link isApplicationCloseCode}.
 */
export function isSendableCloseCode(code: number): boolean {
  return isValidCloseCode(code);
}

/**
 * Codes an application may pass to `close()`: 1000, or 3000-4999, as in the
 * WHATWG WebSocket API (`close()` step 1 throws "InvalidAccessError" otherwise).
 */
export function isApplicationCloseCode(code: number): boolean {
  return code === CloseCode.NORMAL || (Number.isInteger(code) && code >= 3000 && code <= 4999);
}

// ignoreBOM: a reason starting with U+FEFF keeps it; the default would strip it.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Parse a received Close payload (unmasked).
 *
 * Throws a {@link WebSocketError}: WS_ERR_INVALID_CLOSE_PAYLOAD (1002) for a
 * 1-byte payload, WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH (1002) over 125
 * bytes, WS_ERR_INVALID_CLOSE_CODE (1002) for a code not allowed on the wire,
 * WS_ERR_INVALID_UTF8 (1007) for a bad reason.
 *
 * @example
 * ```ts
 * parseClosePayload(new Uint8Array([0x03, 0xe8, 0x62, 0x79, 0x65])); // { code: 1000, reason: 'bye' }
 * parseClosePayload(new Uint8Array(0));                             // { code: 1005, reason: '' }
 * ```
 */
export function parseClosePayload(payload: Uint8Array): { code: number; reason: string } {
  // §5.5.1: "If there is a body, the first two bytes of the body MUST be a
  // 2-byte unsigned integer (in network byte order) representing a status
  // code". No body: §7.1.5 "If this Close control frame contains no status
  // code, _The WebSocket Connection Close Code_ is considered to be 1005."
  if (payload.length === 0) return { code: CloseCode.NO_STATUS, reason: '' };
  if (payload.length === 1) {
    throw protocolError('WS_ERR_INVALID_CLOSE_PAYLOAD', 'Close frame payload of 1 byte: a status code takes 2');
  }
  // §5.5: control frames carry at most 125 bytes. The frame decoder enforces
  // this already; checked again so this function is safe on its own.
  if (payload.length > MAX_CONTROL_PAYLOAD) {
    throw protocolError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', `Close frame payload of ${payload.length} bytes exceeds 125`);
  }
  const code = (payload[0] << 8) | payload[1];
  // §7.4.1/§7.4.2: a code that is reserved or not defined fails the connection.
  if (!isValidCloseCode(code)) {
    throw protocolError('WS_ERR_INVALID_CLOSE_CODE', `invalid close code ${code}`);
  }
  // §5.5.1: "the data MAY contain a reason [...] the interpretation of this
  // data is not defined by this specification" beyond being UTF-8; §8.1: bad
  // UTF-8 fails the connection, and §7.4.1 1007 is the code for that.
  // No reason (the usual case): skip the decoder's fixed cost.
  if (payload.length === 2) return { code, reason: '' };
  const reasonBytes = payload.subarray(2);
  if (!isValidUtf8(reasonBytes)) {
    throw new WebSocketError('WS_ERR_INVALID_UTF8', 'Close frame reason is not valid UTF-8', CloseCode.INVALID_PAYLOAD);
  }
  return { code, reason: decoder.decode(reasonBytes) };
}

/**
 * Build a Close payload to send (§5.5.1): nothing, or the status code in
 * network byte order followed by the UTF-8 reason.
 *
 * Throws TypeError for a reason without a code (there is nowhere to put it),
 * RangeError for a code not allowed on the wire (1005, 1006, 1015, ...) or a
 * reason over 123 UTF-8 bytes. Lone surrogates in `reason` are encoded as
 * U+FFFD, as the WebSocket API does (its reason is a USVString).
 *
 * @example
 * ```ts
 * encodeClosePayload();             // Uint8Array []
 * encodeClosePayload(1000, 'bye');  // Uint8Array [0x03, 0xe8, 0x62, 0x79, 0x65]
 * ```
 */
export function encodeClosePayload(code?: number, reason?: string): Uint8Array {
  if (code === undefined) {
    if (reason) throw new TypeError('a close reason needs a close code');
    return new Uint8Array(0);
  }
  if (!isValidCloseCode(code)) throw new RangeError(`invalid close code ${code}`);
  const reasonBytes = reason ? encoder.encode(reason) : new Uint8Array(0);
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason is ${reasonBytes.length} bytes of UTF-8; at most ${MAX_CLOSE_REASON_BYTES} fit`);
  }
  const out = new Uint8Array(2 + reasonBytes.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(reasonBytes, 2);
  return out;
}
