/**
 * The session over createLocalTransportPair with each real serializer
 * (every message is encoded and decoded on the way): IDs up to 2^53, binary
 * values in args, passthru payloads and nested kwargs survive JSON, MessagePack
 * and CBOR alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType, type WampMessage } from '../../../src/wamp/messages.js';
import { serializers } from '../../../src/wamp/serializers/index.js';
import { createLocalTransportPair, type WampTransport } from '../../../src/wamp/transport.js';
import { MAX_WAMP_ID } from '../../../src/wamp/uri.js';
import { Session } from '../../../src/wamp/session.js';
import { allRouterFeatures } from './session-fixture.js';

/** A minimal router peer: WELCOME, echo every CALL back as RESULT, answer GOODBYE. */
function echoRouter(server: WampTransport): WampMessage[] {
  const seen: WampMessage[] = [];
  server.open({
    onMessage(msg) {
      seen.push(msg);
      if (msg.type === MessageType.HELLO) server.send({ type: MessageType.WELCOME, session: MAX_WAMP_ID, details: { roles: allRouterFeatures() } });
      if (msg.type === MessageType.CALL) {
        const { args, kwargs, payload } = msg;
        const reply: WampMessage = { type: MessageType.RESULT, request: msg.request, details: payload ? { ppt_scheme: 'x_echo' } : {} };
        if (payload) reply.payload = payload;
        else Object.assign(reply, args ? { args } : {}, kwargs ? { kwargs } : {});
        server.send(reply);
      }
      if (msg.type === MessageType.GOODBYE) server.send({ type: MessageType.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' });
    },
    onProtocolError() {},
    onClose() {},
  });
  return seen;
}

for (const serializer of [serializers.json, serializers.msgpack, serializers.cbor]) {
  test(`round trip over ${serializer.subprotocol}`, async () => {
    const [client, server] = createLocalTransportPair({ serializer });
    const seen = echoRouter(server);
    const session = await Session.join(client, 'realm1');
    assert.equal(session.id, MAX_WAMP_ID);
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const r = await session.call('com.example.echo', [bytes, 'text', 1.5, MAX_WAMP_ID, null], { nested: { list: [true, false] } });
    assert.ok(r.args[0] instanceof Uint8Array); // a Buffer with msgpackr on Node, still a Uint8Array
    assert.deepEqual([Uint8Array.from(r.args[0]), ...r.args.slice(1)], [bytes, 'text', 1.5, MAX_WAMP_ID, null]);
    assert.deepEqual(r.kwargs, { nested: { list: [true, false] } });
    const p = await session.call('com.example.echo', undefined, undefined, { ppt_scheme: 'x_echo', payload: bytes });
    assert.ok(p.payload instanceof Uint8Array);
    assert.deepEqual(Uint8Array.from(p.payload), bytes);
    const info = await session.leave();
    assert.equal(info.reason, 'wamp.close.normal');
    assert.deepEqual(
      seen.map((m) => m.type),
      [MessageType.HELLO, MessageType.CALL, MessageType.CALL, MessageType.GOODBYE],
    );
  });
}
