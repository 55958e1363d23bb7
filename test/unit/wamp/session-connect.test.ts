/**
 * connectWebSocket with a scripted WebSocket constructor: what it passes to
 * the constructor (subprotocols, the third argument only with headers or
 * options), and each way connecting ends — open with an offered WAMP
 * subprotocol, a subprotocol we did not offer, error, close, timeout, abort.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WampSessionError } from '../../../src/wamp/session.js';
import { serializers } from '../../../src/wamp/serializers/index.js';
import { connectWebSocket, createWebSocketConnector, type WebSocketConstructor } from '../../../src/wamp/transports/connect.js';

type Listener = (ev: unknown) => void;

class FakeWebSocket {
  static last: FakeWebSocket | null = null;
  readonly listeners = new Map<string, Listener[]>();
  protocol = '';
  bufferedAmount = 0;
  readyState = 0;
  binaryType = 'blob';
  closedWith: [number | undefined, string | undefined] | null = null;
  readonly sent: unknown[] = [];

  constructor(
    readonly url: string,
    readonly protocols: string[],
    readonly options?: unknown,
    readonly argc = arguments.length,
  ) {
    FakeWebSocket.last = this;
  }

  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
  }

  addEventListener(type: string, listener: Listener): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  emit(type: string, ev: unknown = {}): void {
    for (const l of this.listeners.get(type) ?? []) l(ev);
  }

  open(protocol: string): void {
    this.protocol = protocol;
    this.readyState = 1;
    this.emit('open');
  }
}

const Fake = FakeWebSocket as unknown as WebSocketConstructor;

function last(): FakeWebSocket {
  const ws = FakeWebSocket.last;
  assert.ok(ws);
  return ws;
}

async function failsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof WampSessionError);
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}

test('default: JSON only, no third constructor argument', async () => {
  const p = connectWebSocket('ws://router.test/ws', { WebSocket: Fake });
  const ws = last();
  assert.deepEqual([ws.url, ws.protocols, ws.argc], ['ws://router.test/ws', ['wamp.2.json'], 2]);
  ws.open('wamp.2.json');
  assert.equal((await p).info.serializer, 'json');
});

test('offers the subprotocols of the serializers given, in order; resolves with a transport on open', async () => {
  const all = [serializers.cbor, serializers.msgpack, serializers.json];
  const p = connectWebSocket('ws://router.test/ws', { WebSocket: Fake, serializers: all });
  const ws = last();
  assert.deepEqual([ws.url, ws.protocols, ws.argc], ['ws://router.test/ws', ['wamp.2.cbor', 'wamp.2.msgpack', 'wamp.2.json'], 2]);
  ws.open('wamp.2.msgpack');
  const t = await p;
  assert.deepEqual([t.info.type, t.info.serializer, t.info.protocol], ['websocket', 'msgpack', 'wamp.2.msgpack']);
  assert.equal(ws.binaryType, 'arraybuffer');
  assert.equal(t.isOpen, true);
});

test('headers and webSocketOptions become the third constructor argument', async () => {
  const p = connectWebSocket('ws://router.test/', {
    WebSocket: Fake,
    protocols: ['wamp.2.json'],
    headers: { authorization: 'Bearer x' },
    webSocketOptions: { maxPayload: 1024 },
  });
  const ws = last();
  assert.deepEqual(ws.options, { maxPayload: 1024, headers: { authorization: 'Bearer x' } });
  ws.open('wamp.2.json');
  await p;
});

test('createWebSocketConnector supplies defaults that each call may override', async () => {
  const connect = createWebSocketConnector({ WebSocket: Fake, serializers: [serializers.cbor, serializers.json] });
  const p = connect('ws://router.test/', { protocols: ['wamp.2.cbor'] });
  assert.deepEqual(last().protocols, ['wamp.2.cbor']);
  last().open('wamp.2.cbor');
  assert.equal((await p).info.serializer, 'cbor');
});

test('a subprotocol we did not offer (or none) fails with WAMP_ERR_CONNECT and closes the socket', async () => {
  for (const chosen of ['', 'wamp.2.json']) {
    const p = connectWebSocket('ws://router.test/', { WebSocket: Fake, serializers: [serializers.cbor] });
    const ws = last();
    ws.open(chosen);
    await failsWith(p, 'WAMP_ERR_CONNECT', /subprotocol/);
    assert.ok(ws.closedWith);
  }
});

test('error, then close, before open: one rejection with the error', async () => {
  const p = connectWebSocket('ws://router.test/', { WebSocket: Fake });
  const ws = last();
  ws.emit('error', { error: new Error('ECONNREFUSED') });
  ws.emit('close', { code: 1006, reason: '' });
  await failsWith(p, 'WAMP_ERR_CONNECT', /ECONNREFUSED/);
});

test('close before open; timeout; abort', async () => {
  const p1 = connectWebSocket('ws://router.test/', { WebSocket: Fake });
  last().emit('close', { code: 1002, reason: 'bad handshake' });
  await failsWith(p1, 'WAMP_ERR_CONNECT', /1002 bad handshake/);

  const p2 = connectWebSocket('ws://router.test/', { WebSocket: Fake, timeout: 20 });
  const ws2 = last();
  await failsWith(p2, 'WAMP_ERR_CONNECT', /within 20 ms/);
  assert.ok(ws2.closedWith);
  ws2.open('wamp.2.json'); // too late: ignored

  const ac = new AbortController();
  const p3 = connectWebSocket('ws://router.test/', { WebSocket: Fake, signal: ac.signal });
  ac.abort();
  await failsWith(p3, 'WAMP_ERR_CONNECT', /aborted/);
});

test('a throwing constructor, an unknown subprotocol, or no WebSocket at all reject cleanly', async () => {
  const Throwing = class {
    constructor() {
      throw new SyntaxError('invalid URL');
    }
  } as unknown as WebSocketConstructor;
  await failsWith(connectWebSocket('nope', { WebSocket: Throwing }), 'WAMP_ERR_CONNECT', /invalid URL/);
  await failsWith(connectWebSocket('ws://x/', { WebSocket: Fake, protocols: ['mqtt'] }), 'WAMP_ERR_INVALID_ARGUMENT');
  // A subprotocol of a serializer not given.
  await failsWith(connectWebSocket('ws://x/', { WebSocket: Fake, protocols: ['wamp.2.cbor'] }), 'WAMP_ERR_INVALID_ARGUMENT');
  const g = globalThis as { WebSocket?: unknown };
  const saved = g.WebSocket;
  delete g.WebSocket;
  try {
    await failsWith(connectWebSocket('ws://x/'), 'WAMP_ERR_CONNECT', /no WebSocket constructor/);
  } finally {
    if (saved !== undefined) g.WebSocket = saved;
  }
});
