import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalTransportPair, type WampTransport, type WampTransportCloseInfo, type WampTransportHandler } from '../../../src/wamp/transport.js';
import { WebSocketTransport } from '../../../src/wamp/transports/websocket.js';
import { JsonSerializer, serializers } from '../../../src/wamp/serializers/index.js';
import { SerializationError } from '../../../src/wamp/serializers/types.js';
import { WampProtocolError } from '../../../src/wamp/errors.js';
import type { WampMessage } from '../../../src/wamp/messages.js';
import { WebSocketServer } from '../../../src/adapters/node/server.js';
import { WebSocket } from '../../../src/adapters/node/client.js';
import type { WebSocketConnection } from '../../../src/connection.js';

/** Records everything a transport reports. */
function recorder(): WampTransportHandler & { messages: WampMessage[]; errors: Error[]; closes: WampTransportCloseInfo[]; next(): Promise<void> } {
  let wake: (() => void) | null = null;
  const r = {
    messages: [] as WampMessage[],
    errors: [] as Error[],
    closes: [] as WampTransportCloseInfo[],
    onMessage(m: WampMessage) {
      r.messages.push(m);
      wake?.();
    },
    onProtocolError(e: Error) {
      r.errors.push(e);
      wake?.();
    },
    onClose(i: WampTransportCloseInfo) {
      r.closes.push(i);
      wake?.();
    },
    next: () => new Promise<void>((resolve) => (wake = resolve)),
  };
  return r;
}

const hello: WampMessage = { type: 1, realm: 'realm1', details: { roles: { caller: {} } } };

test('local pair: in order, asynchronous, buffered until open, closed on both ends', async () => {
  const [a, b] = createLocalTransportPair();
  a.send(hello);
  a.send({ type: 6, details: {}, reason: 'wamp.close.normal' });
  const rb = recorder();
  await new Promise((r) => setTimeout(r, 5));
  b.open(rb); // delivered now, in order
  assert.deepEqual(rb.messages.map((m) => m.type), [1, 6]);
  const ra = recorder();
  a.open(ra);
  let sync = true;
  b.send({ type: 3, details: {}, reason: 'wamp.error.no_such_realm' });
  assert.equal(ra.messages.length, 0, 'delivery is never synchronous');
  sync = false;
  await ra.next();
  assert.equal(sync, false);
  assert.equal(ra.messages[0]?.type, 3);
  assert.throws(() => a.open(ra), /twice/);
  b.close(1000, 'bye');
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(ra.closes, [{ code: 1000, reason: 'bye', wasClean: true }]);
  assert.deepEqual(rb.closes, [{ code: 1000, reason: 'bye', wasClean: true }]);
  assert.equal(a.isOpen, false);
  a.send(hello); // after close: ignored, no throw
});

test('local pair with a serializer: values must survive it', async () => {
  const [a, b] = createLocalTransportPair({ serializer: new JsonSerializer() });
  const rb = recorder();
  b.open(rb);
  a.send({ type: 16, request: 1, options: {}, topic: 'com.x', args: [new Uint8Array([1, 2, 3])] });
  await rb.next();
  const got = rb.messages[0] as { args: unknown[] };
  assert.deepEqual(got.args[0], new Uint8Array([1, 2, 3]));
  assert.throws(
    () => a.send({ type: 16, request: 2, options: {}, topic: 'com.x', args: [2n ** 60n] }),
    SerializationError,
  );
});

async function wsPair(protocols: string[], serverSerializers = Object.values(serializers)): Promise<{
  client: WebSocketConnection;
  server: WebSocketConnection;
  wss: WebSocketServer;
  serverSerializers: typeof serverSerializers;
}> {
  const wss = new WebSocketServer({ port: 0, handleProtocols: (offered) => offered[0] ?? false });
  await wss.ready();
  const accepted = new Promise<WebSocketConnection>((r) => wss.on('connection', (ws) => r(ws)));
  const client = await WebSocket.connect(`ws://127.0.0.1:${wss.address()!.port}`, protocols);
  return { client, server: await accepted, wss, serverSerializers };
}

for (const protocol of ['wamp.2.json', 'wamp.2.msgpack', 'wamp.2.cbor', 'wamp.2.json.batched', 'wamp.2.msgpack.batched']) {
  test(`WebSocket transport over ${protocol}: messages both ways, close info`, async () => {
    const { client, server, wss } = await wsPair([protocol]);
    const all = Object.values(serializers);
    const c = new WebSocketTransport(client, { serializers: all });
    const s = new WebSocketTransport(server, { serializers: all, info: { peer: 'tcp4:127.0.0.1:1' } });
    assert.equal(s.info.protocol, protocol);
    assert.equal(s.info.serializer, protocol.split('.')[2]);
    assert.equal(s.info.peer, 'tcp4:127.0.0.1:1');
    const rs = recorder();
    const rc = recorder();
    s.open(rs);
    c.open(rc);
    c.send(hello);
    await rs.next();
    assert.deepEqual(rs.messages[0], hello);
    s.send({ type: 2, session: 9007199254740992, details: { roles: { broker: {} } } });
    await rc.next();
    assert.equal((rc.messages[0] as { session: number }).session, 9007199254740992);
    c.close(1000, 'done');
    await rs.next();
    assert.equal(rs.closes[0]?.code, 1000);
    assert.equal(rs.closes[0]?.reason, 'done');
    await wss.close();
  });
}

test('WebSocket transport: garbage and invalid messages reach onProtocolError, the transport stays open for ABORT', async () => {
  const { client, server, wss } = await wsPair(['wamp.2.json']);
  const s = new WebSocketTransport(server);
  const rs = recorder();
  s.open(rs);
  client.send('this is not JSON');
  await rs.next();
  assert.ok(rs.errors[0] instanceof SerializationError);
  client.send('[999, 1, 2]');
  await rs.next();
  assert.ok(rs.errors[1] instanceof WampProtocolError);
  assert.equal((rs.errors[1] as WampProtocolError).uri, 'wamp.error.protocol_violation');
  client.send('[1, "realm1", {}]');
  await rs.next();
  assert.equal(rs.messages[0]?.type, 1, 'a good message after bad ones is still delivered');
  assert.equal(s.isOpen, true);
  const gotAbort = new Promise<string>((r) => client.addEventListener('message', (e) => r(String(e.data))));
  s.send({ type: 3, details: {}, reason: 'wamp.error.protocol_violation' });
  assert.equal(await gotAbort, '[3,{},"wamp.error.protocol_violation"]');
  s.close();
  await rs.next();
  await wss.close();
});

test('WebSocket transport: JSON only by default; an unknown subprotocol is refused', async () => {
  const { client, server, wss } = await wsPair(['wamp.2.msgpack']);
  assert.throws(() => new WebSocketTransport(server), (e: unknown) => e instanceof WampProtocolError && /wamp\.2\.msgpack/.test(e.message));
  client.close();
  await wss.close();
});

test('WebSocket transport: a JSON batch delivers each message in order', async () => {
  const { client, server, wss } = await wsPair(['wamp.2.json.batched']);
  const s: WampTransport = new WebSocketTransport(server);
  const rs = recorder();
  s.open(rs);
  client.send('[1,"a",{}]\u001e[6,{},"wamp.close.normal"]\u001e');
  while (rs.messages.length < 2) await rs.next();
  assert.deepEqual(rs.messages.map((m) => m.type), [1, 6]);
  client.send('[1,"a",{}]'); // no terminator: truncated batch
  await rs.next();
  assert.ok(rs.errors[0] instanceof SerializationError);
  client.close();
  await wss.close();
});
