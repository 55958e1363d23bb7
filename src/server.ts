/** autostrada/server — Node only: the WebSocket server (the WAMP router and RawSocket listener come later). */
export {
  WebSocketServer,
  type WebSocketServerOptions,
  type VerifyClientInfo,
  type VerifyRejection,
} from './adapters/node/server.js';
export { WebSocket, type ClientOptions } from './adapters/node/client.js';
export { WebSocketConnection, WsMessageEvent } from './connection.js';
