/**
 * A real WAMP router for interop tests: our Router behind our Node
 * WebSocketServer on 127.0.0.1 and an ephemeral port, choosing the
 * subprotocol by OUR preference among the client's offers.
 */
import { WebSocketServer } from '../../src/adapters/node/server.js';
import { WebSocketTransport } from '../../src/wamp/transports/websocket.js';
import { Router, type RouterOptions } from '../../src/router/router.js';
import { serializers } from '../../src/wamp/serializers/index.js';

const SPOKEN = [serializers.cbor, serializers.msgpack, serializers.json];

/** Our subprotocol preference. */
export const PROTOCOLS = ['wamp.2.cbor', 'wamp.2.msgpack', 'wamp.2.json', 'wamp.2.msgpack.batched', 'wamp.2.json.batched'];

export interface RouterFixture {
  router: Router;
  url: string;
  port: number;
  /** Subprotocols of the connections accepted so far, in order. */
  protocols: string[];
  stop(): Promise<void>;
}

/** Starts a router on a WebSocket server. */
export async function startRouter(options: RouterOptions = { realms: [{ name: 'realm1' }] }): Promise<RouterFixture> {
  const router = new Router(options);
  const protocols: string[] = [];
  const wss = new WebSocketServer({
    port: 0,
    perMessageDeflate: true,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.includes(p)) ?? false,
  });
  wss.on('connection', (ws) => {
    protocols.push(ws.protocol);
    try {
      router.attach(new WebSocketTransport(ws, { serializers: SPOKEN, info: { peer: 'tcp4:127.0.0.1' } }));
    } catch {
      ws.close(1002, 'no WAMP subprotocol');
    }
  });
  await wss.ready();
  const port = wss.address()!.port;
  return {
    router,
    url: `ws://127.0.0.1:${port}/ws`,
    port,
    protocols,
    async stop() {
      await router.close();
      await wss.close();
    },
  };
}
