/**
 * The {@link Component}'s transports on Node: WebSocket descriptors with our
 * own Node WebSocket client, RawSocket descriptors (TCP, TLS, Unix socket)
 * with our RawSocket client.
 *
 * @module
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { Component } from '../../wamp/component/component.js';
import { isRawSocketDescriptor, type TransportConnector } from '../../wamp/component/transports.js';
import type { ComponentOptions } from '../../wamp/component/types.js';
import { connectWebSocket, type WebSocketConstructor } from '../../wamp/transports/connect.js';
import { serializers } from '../../wamp/serializers/index.js';
import { WebSocket as NodeWebSocket } from './client.js';
import { connectRawSocket } from './rawsocket.js';

const OurWebSocket: WebSocketConstructor = NodeWebSocket;
/** Offered when a WebSocket descriptor names no serializers (as the Node entry's connectWebSocket). */
const NODE_SERIALIZERS = [serializers.cbor, serializers.msgpack, serializers.json];

/**
 * Connects a transport descriptor on Node: `{ url: 'ws://…' | 'wss://…' }`
 * with our WebSocket client (unless `options.WebSocket` names another),
 * offering CBOR, MessagePack and JSON unless the descriptor lists serializers;
 * `{ rawsocket: { host, port } | { path }, serializer?, tls? }` with
 * `connectRawSocket`. Pass it as `ComponentOptions.connect`, or use
 * {@link NodeComponent}.
 *
 * @example
 * ```ts
 * // RawSocket first, then WebSocket; NodeComponent passes connectNodeTransport as `connect`.
 * const component = new NodeComponent({
 *   transports: [{ rawsocket: { host: '127.0.0.1', port: 8080 }, serializer: 'cbor' }, { url: 'ws://127.0.0.1:8080/ws' }],
 *   realm: 'realm1',
 * });
 * console.assert(component.state === 'idle' && typeof connectNodeTransport === 'function');
 * ```
 */
export const connectNodeTransport: TransportConnector = (descriptor, signal) => {
  if (isRawSocketDescriptor(descriptor)) {
    const target = descriptor.rawsocket;
    const tls = descriptor.tls;
    return connectRawSocket({
      ...(target.path !== undefined ? { path: target.path } : { host: target.host ?? '127.0.0.1', port: target.port }),
      serializer: descriptor.serializer ?? 'json',
      ...(tls ? { tls: tls === true ? true : (tls as TlsConnectionOptions) } : {}),
      signal,
    });
  }
  return connectWebSocket(descriptor.url, {
    WebSocket: OurWebSocket,
    ...descriptor.options,
    serializers: descriptor.serializers ?? NODE_SERIALIZERS,
    ...(descriptor.headers ? { headers: descriptor.headers } : {}),
    signal,
  });
};

/**
 * A {@link Component} whose descriptors connect with {@link connectNodeTransport}
 * (our Node WebSocket, RawSocket over TCP/TLS/Unix) unless `options.connect`
 * says otherwise.
 */
export class NodeComponent extends Component {
  /** @param options - as for {@link Component} */
  constructor(options: ComponentOptions) {
    super({ connect: connectNodeTransport, ...options });
  }
}
