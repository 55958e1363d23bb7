/**
 * autostrada/ws — the WebSocket protocol itself, isomorphic: the sans-I/O
 * core (frames, masking, UTF-8, close codes, handshake, permessage-deflate),
 * its Web Streams stages, the runtime-neutral connection, and the adapter
 * that runs it over any `{ readable, writable }` byte stream. Imports no
 * `node:*`. Browsers, whose WebSocket does its own framing, rarely need it.
 */
export { CloseCode, WebSocketError, protocolError, handshakeError, type ErrorCode } from './core/ws/errors.js';
export { Opcode, DEFAULT_LIMITS, WS_GUID, type Limits } from './core/ws/constants.js';
export type { FramePiece, ReceiveEvent, MaskKeySource } from './core/ws/types.js';
export { FrameDecoder, type FrameDecoderOptions } from './core/ws/decoder.js';
export { encodeFrame, writeHeader, headerLength } from './core/ws/encoder.js';
export { MessageReceiver, type MessageReceiverOptions, type MessageInflater } from './core/ws/receiver.js';
export { MessageSender, type MessageSenderOptions, type MessageDeflater, type OutgoingMessage } from './core/ws/sender.js';
export {
  WebSocketProtocol,
  CONNECTING,
  OPEN,
  CLOSING,
  CLOSED,
  type ReadyState,
  type ProtocolOptions,
  type ProtocolHandler,
  type CloseInfo,
  type PerMessageCodec,
} from './core/ws/protocol.js';
export { Utf8Validator, isValidUtf8 } from './core/ws/utf8.js';
export { applyMask, maskInto } from './core/ws/mask.js';
export { isValidCloseCode, parseClosePayload, encodeClosePayload } from './core/ws/close.js';
export * from './core/ws/handshake.js';
export * from './core/ws/extensions.js';
export * from './core/deflate/negotiate.js';
export type { Inflater, Deflater, DeflateBackend } from './core/deflate/backend.js';
export { PerMessageDeflate, type PerMessageDeflateOptions } from './core/deflate/codec.js';
export { pakoBackend } from './core/deflate/pako-backend.js';
export { createPipeline, createReceiveStream, createSendStream, type PipelineOptions } from './core/streams/pipeline.js';
export {
  WebSocketConnection,
  WsMessageEvent,
  type Transport,
  type RuntimeHooks,
  type ConnectionOptions,
  type HeartbeatOptions,
  type SendData,
  type SendOptions,
  type StreamMessage,
  type WebSocketStreamPair,
  type WsEventMap,
  type WsCloseEvent,
  type WsErrorEvent,
  type WsControlEvent,
  type WsSimpleEvent,
  type WsMessageStartEvent,
} from './connection.js';
export {
  StreamTransport,
  connectWebSocketStream,
  acceptWebSocketStream,
  acceptWebSocketStreamWithRequest,
  type ByteDuplex,
  type TransportSink,
  type StreamClientOptions,
  type StreamServerOptions,
  type VerifyRejection,
} from './adapters/streams.js';
