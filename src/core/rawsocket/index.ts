/**
 * WAMP RawSocket (WAMP Advanced Profile, "RawSocket Transport"), sans-I/O:
 * the 4-octet handshake, the frame decoder/encoder and a connection state
 * machine that needs only bytes in and bytes out.
 *
 * @module
 */
export {
  RawSocketError,
  RawSocketHandshakeError,
  RawSocketCloseCode,
  type RawSocketErrorCode,
  type RawSocketHandshakeErrorNumber,
} from './errors.js';
export {
  RAWSOCKET_MAGIC,
  RAWSOCKET_MIN_LENGTH,
  RAWSOCKET_MAX_LENGTH,
  RawSocketSerializer,
  handshakeErrorText,
  lengthExponent,
  exponentToLength,
  encodeHandshake,
  encodeHandshakeError,
  acceptHandshake,
  parseHandshakeReply,
  type HandshakePolicy,
  type ServerHandshakeResult,
  type ClientHandshakeResult,
} from './handshake.js';
export {
  RawSocketFrameDecoder,
  RawSocketFrameType,
  encodeFrameHeader as encodeRawSocketFrameHeader,
  encodeFrame as encodeRawSocketFrame,
  type RawSocketFrame,
  type RawSocketFrameTypeValue,
  type RawSocketFrameDecoderOptions,
  type RawSocketFrameSink,
} from './frame.js';
export {
  RawSocketProtocol,
  DEFAULT_RAWSOCKET_MAX_MESSAGE_SIZE,
  type RawSocketClientProtocolOptions,
  type RawSocketServerProtocolOptions,
  type RawSocketEvent,
  type RawSocketProtocolState,
} from './protocol.js';
