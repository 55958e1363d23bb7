/**
 * autostrada/websocketstream — WAMP over the browser's `WebSocketStream`
 * (Chromium), which gives real backpressure: {@link connectWampWebSocketStream}
 * resolves with a transport for `Session.join`. Loaded only when imported.
 */
export {
  connectWampWebSocketStream,
  WebSocketStreamTransport,
  DEFAULT_WSS_MAX_MESSAGE_SIZE,
  DEFAULT_WSS_MAX_BUFFERED_BYTES,
  type ConnectWampWebSocketStreamOptions,
  type WebSocketStreamTransportOptions,
  type WebSocketStreamLike,
  type WebSocketStreamConnection,
  type WebSocketStreamCloseInfo,
  type WebSocketStreamConstructor,
} from './wamp/transports/websocketstream.js';
