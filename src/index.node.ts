/**
 * autostrada on Node: the isomorphic API plus everything that is loaded on
 * demand elsewhere (MessagePack, CBOR, all authentication, the WebSocket
 * protocol), the Node WebSocket client, RawSocket client, and a
 * `connectWebSocket` that uses our Node client (custom headers, proxies,
 * TLS options) and offers CBOR, MessagePack and JSON.
 */
import { WebSocket as NodeWebSocket } from './adapters/node/client.js';
import { createWebSocketConnector } from './wamp/transports/connect.js';
import { serializers } from './wamp/serializers/index.js';

export * from './index.js';
export { createLocalTransportPair } from './wamp/transport.js';
export * from './ws.js';
export * from './msgpack.js';
export * from './cbor.js';
export * from './auth.js';
export * from './websocketstream.js';
export { serializers, serializersBySubprotocol, serializersByRawSocketId, DEFAULT_SUBPROTOCOL_PREFERENCE, negotiateSubprotocol } from './wamp/serializers/index.js';
export { WebSocket, type ClientOptions } from './adapters/node/client.js';
export { transportFromUrl, type TransportFromUrlOptions } from './wamp/component.js';
export { NodeComponent as Component, NodeComponent, connectNodeTransport } from './adapters/node/component-transports.js';
export { nodeZlibBackend } from './adapters/node/zlib-backend.js';
export {
  connectRawSocket,
  RawSocketTransport,
  type ConnectRawSocketOptions,
  type RawSocketTransportOptions,
  type RawSocketAddress,
} from './adapters/node/rawsocket.js';
export * from './core/rawsocket/index.js';

/**
 * Connects to a WAMP router over WebSocket with our Node client, offering
 * CBOR, MessagePack and JSON (in that order) unless told otherwise.
 *
 * @example
 * ```ts
 * import { connectWebSocket, Session } from 'autostrada';
 * import { Router } from 'autostrada/server';
 * const router = new Router({ realms: [{ name: 'realm1' }] });
 * const { port } = await router.listen({ port: 0, static: false });
 * const session = await Session.join(await connectWebSocket(`ws://127.0.0.1:${port}/ws`), 'realm1');
 * await session.register('com.example.add', (args) => (args[0] as number) + (args[1] as number));
 * const result = await session.call('com.example.add', [2, 3]);
 * console.assert(result.args[0] === 5);
 * await session.leave();
 * await router.close();
 * ```
 */
export const connectWebSocket = createWebSocketConnector({
  WebSocket: NodeWebSocket,
  serializers: [serializers.cbor, serializers.msgpack, serializers.json],
});
