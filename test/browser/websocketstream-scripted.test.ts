/**
 * src/wamp/transports/websocketstream.ts against a scripted WebSocketStream
 * (Node's own ReadableStream/WritableStream), for what a real browser cannot
 * show deterministically: nothing is read before open(), encoder buffers are
 * copied before they are queued, bufferedAmount and drain follow the writer,
 * close codes and reasons are made valid for close(), a failed or aborted
 * handshake, and the limits. Runs in Node, no browser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WebSocketStreamTransport,
  connectWampWebSocketStream,
  type WebSocketStreamCloseInfo,
  type WebSocketStreamConnection,
  type WebSocketStreamConstructor,
  type WebSocketStreamLike,
} from '../../src/wamp/transports/websocketstream.js';
import { JsonSerializer } from '../../src/wamp/serializers/json.js';
import type { Serializer } from '../../src/wamp/serializers/types.js';
import type { WampTransportCloseInfo, WampTransportHandler } from '../../src/wamp/transport.js';
import type { WampMessage } from '../../src/wamp/messages.js';
import { WampSessionError } from '../../src/wamp/application-error.js';

type Chunk = string | ArrayBuffer | ArrayBufferView;

/** A WebSocketStream whose peer is this test: push() what the server sends, see written, gate writes. */
class ScriptedStream implements WebSocketStreamLike {
  readonly opened: Promise<WebSocketStreamConnection>;
  readonly closed: Promise<WebSocketStreamCloseInfo>;
  readonly written: Chunk[] = [];
  readonly closeCalls: (WebSocketStreamCloseInfo | undefined)[] = [];
  pulls = 0;
  private server!: ReadableStreamDefaultController<Chunk>;
  private settleClosed!: { resolve: (i: WebSocketStreamCloseInfo) => void; reject: (e: unknown) => void };
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;
  readonly connection: WebSocketStreamConnection;

  constructor(protocol: string, { opens = true }: { opens?: boolean } = {}) {
    const readable = new ReadableStream<Chunk>(
      {
        start: (c) => {
          this.server = c;
        },
        pull: () => {
          this.pulls++;
        },
      },
      { highWaterMark: 0 },
    );
    const writable = new WritableStream<Chunk>({
      write: async (chunk) => {
        this.written.push(chunk);
        if (this.gate) await this.gate;
      },
    });
    this.connection = { readable, writable, protocol };
    this.opened = opens ? Promise.resolve(this.connection) : new Promise(() => {});
    this.closed = new Promise((resolve, reject) => {
      this.settleClosed = { resolve, reject };
    });
  }

  push(data: Chunk): void {
    this.server.enqueue(data);
  }

  /** Peer closes cleanly. */
  peerClose(closeCode: number, reason: string): void {
    this.server.close();
    this.settleClosed.resolve({ closeCode, reason });
  }

  /** The connection fails. */
  fail(): void {
    const err = Object.assign(new Error('connection lost'), { closeCode: 1006, reason: '' });
    this.server.error(err);
    this.settleClosed.reject(err);
  }

  holdWrites(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }

  releaseWrites(): void {
    this.gate = null;
    this.openGate?.();
  }

  close(info?: WebSocketStreamCloseInfo): void {
    this.closeCalls.push(info);
    try {
      this.server.close();
    } catch {
      // already closed
    }
    this.settleClosed.resolve({ closeCode: info?.closeCode ?? 1005, reason: info?.reason ?? '' });
  }
}

function recorder(): { handler: WampTransportHandler; messages: WampMessage[]; closes: WampTransportCloseInfo[]; drains: number; closedP: Promise<WampTransportCloseInfo> } {
  let done!: (i: WampTransportCloseInfo) => void;
  const r = {
    messages: [] as WampMessage[],
    closes: [] as WampTransportCloseInfo[],
    drains: 0,
    closedP: new Promise<WampTransportCloseInfo>((res) => (done = res)),
    handler: {} as WampTransportHandler,
  };
  r.handler = {
    onMessage: (m) => r.messages.push(m),
    onProtocolError: () => {},
    onClose: (i) => {
      r.closes.push(i);
      done(i);
    },
    onDrain: () => r.drains++,
  };
  return r;
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));
const WELCOME = '[2,1,{"roles":{"broker":{}}}]';

test('nothing is read before open(); then messages arrive in order', async () => {
  const s = new ScriptedStream('wamp.2.json');
  const t = new WebSocketStreamTransport(s, s.connection);
  s.push(WELCOME);
  s.push('[6,{},"wamp.close.normal"]');
  await tick(10);
  assert.equal(s.pulls, 0, 'the readable was not pulled before open()');
  const r = recorder();
  t.open(r.handler);
  await tick(10);
  assert.deepEqual(r.messages.map((m) => m.type), [2, 6]);
  assert.ok(s.pulls > 0);
  t.close();
  await r.closedP;
});

test('a binary message that is a view into a larger buffer is copied before it is queued', async () => {
  // An encoder that reuses one buffer (as msgpackr does): each result is a view into it.
  const shared = new Uint8Array(64);
  let at = 0;
  const reusing: Serializer = {
    id: 'msgpack',
    subprotocol: 'wamp.2.msgpack',
    rawSocketId: 2,
    binary: true,
    encode: (msg) => {
      const n = JSON.stringify(msg).length % 8 || 8;
      const view = shared.subarray(at, at + n);
      view.fill(n);
      at = (at + n) % 32;
      return view;
    },
    decode: () => [2, 1, {}],
  };
  const s = new ScriptedStream('wamp.2.msgpack');
  s.holdWrites();
  const t = new WebSocketStreamTransport(s, s.connection, { serializers: [reusing] });
  t.open(recorder().handler);
  t.send({ type: 1, realm: 'realm1', details: {} } as WampMessage);
  const first = s.written.length > 0 ? s.written[0] : undefined;
  shared.fill(0xee); // the encoder moves on and overwrites its buffer
  t.send({ type: 6, details: {}, reason: 'wamp.close.normal' } as WampMessage);
  s.releaseWrites();
  await tick(10);
  assert.equal(s.written.length, 2);
  for (const w of s.written) {
    assert.ok(w instanceof Uint8Array);
    assert.ok(!w.includes(0xee), 'a queued message was overwritten by the encoder');
    assert.equal(w.byteLength, w.buffer.byteLength, 'owns its buffer');
  }
  assert.ok(first === undefined || first instanceof Uint8Array);
  t.close();
});

test('bufferedAmount counts bytes the writer has not taken; drain is reported when it takes them', async () => {
  const s = new ScriptedStream('wamp.2.json');
  const t = new WebSocketStreamTransport(s, s.connection);
  const r = recorder();
  t.open(r.handler);
  s.holdWrites();
  const msg = { type: 16, request: 1, options: {}, topic: 'com.example.é', args: ['x'.repeat(1000)] } as WampMessage;
  t.send(msg);
  t.send(msg);
  const one = new TextEncoder().encode(JSON.stringify([16, 1, {}, 'com.example.é', ['x'.repeat(1000)]])).length;
  assert.equal(t.bufferedAmount, 2 * one, 'UTF-8 bytes of both messages');
  s.releaseWrites();
  await tick(10);
  assert.equal(t.bufferedAmount, 0);
  assert.ok(r.drains >= 1);
  t.close();
});

test('close(): codes a browser refuses become 1000, reasons over 123 bytes are dropped; the peer’s code reaches onClose', async () => {
  for (const [code, reason, want] of [
    [1000, 'bye', { closeCode: 1000, reason: 'bye' }],
    [4001, 'app', { closeCode: 4001, reason: 'app' }],
    [1001, 'going away', { closeCode: 1000, reason: 'going away' }],
    [1000, 'é'.repeat(62), { closeCode: 1000, reason: '' }],
  ] as const) {
    const s = new ScriptedStream('wamp.2.json');
    const t = new WebSocketStreamTransport(s, s.connection);
    const r = recorder();
    t.open(r.handler);
    t.close(code, reason);
    t.close(code, reason); // idempotent
    assert.deepEqual(s.closeCalls, [want]);
    const info = await r.closedP;
    assert.deepEqual(info, { code: want.closeCode, reason: want.reason, wasClean: true });
    assert.equal(t.isOpen, false);
  }
  const s = new ScriptedStream('wamp.2.json');
  const t = new WebSocketStreamTransport(s, s.connection);
  const r = recorder();
  t.open(r.handler);
  s.peerClose(1001, 'router shutting down');
  assert.deepEqual(await r.closedP, { code: 1001, reason: 'router shutting down', wasClean: true });
});

test('a failed connection is reported once, 1006, not clean', async () => {
  const s = new ScriptedStream('wamp.2.json');
  const t = new WebSocketStreamTransport(s, s.connection);
  const r = recorder();
  t.open(r.handler);
  s.fail();
  const info = await r.closedP;
  assert.equal(info.code, 1006);
  assert.equal(info.wasClean, false);
  await tick(10);
  assert.equal(r.closes.length, 1);
  t.send({ type: 6, details: {}, reason: 'wamp.close.normal' } as WampMessage); // no throw after the end
});

test('limits: a message over maxMessageSize, or sends over maxBufferedBytes, end the transport with WAMP_ERR_BUFFER_OVERFLOW', async () => {
  {
    const s = new ScriptedStream('wamp.2.json');
    const t = new WebSocketStreamTransport(s, s.connection, { maxMessageSize: 100 });
    const r = recorder();
    t.open(r.handler);
    s.push(`[8,48,1,{},"e",["${'y'.repeat(200)}"]]`);
    const info = await r.closedP;
    assert.equal(info.code, 1009);
    assert.equal((info.error as WampSessionError).code, 'WAMP_ERR_BUFFER_OVERFLOW');
    assert.deepEqual(s.closeCalls, [{ closeCode: 1000, reason: '' }]);
    assert.deepEqual(r.messages, []);
  }
  {
    const s = new ScriptedStream('wamp.2.json');
    s.holdWrites();
    const t = new WebSocketStreamTransport(s, s.connection, { maxBufferedBytes: 1500 });
    const r = recorder();
    t.open(r.handler);
    const msg = { type: 16, request: 1, options: {}, topic: 't', args: ['z'.repeat(1000)] } as WampMessage;
    t.send(msg);
    assert.equal(r.closes.length, 0);
    t.send(msg); // would exceed 1500: the transport ends, reported on a later tick
    assert.equal(r.closes.length, 0, 'not reported from inside send()');
    const info = await r.closedP;
    assert.equal(info.code, 1009);
    assert.equal((info.error as WampSessionError).code, 'WAMP_ERR_BUFFER_OVERFLOW');
    assert.equal(s.written.length, 1, 'the second message was not queued');
  }
});

test('connectWampWebSocketStream: protocols and signal reach the constructor; the chosen protocol picks the serializer', async () => {
  const seen: { url: string; protocols?: string[]; signal?: AbortSignal }[] = [];
  const s = new ScriptedStream('wamp.2.json.batched');
  const Ctor = function (url: string, options?: { protocols?: string[]; signal?: AbortSignal }) {
    seen.push({ url, ...options });
    return s;
  } as unknown as WebSocketStreamConstructor;
  const t = await connectWampWebSocketStream('ws://router.test/ws', {
    WebSocketStream: Ctor,
    serializers: [new JsonSerializer()],
    protocols: ['wamp.2.json.batched', 'wamp.2.json'],
  });
  assert.deepEqual(seen[0]?.protocols, ['wamp.2.json.batched', 'wamp.2.json']);
  assert.ok(seen[0]?.signal instanceof AbortSignal);
  assert.deepEqual(t.info, { type: 'websocket', serializer: 'json', protocol: 'wamp.2.json.batched' });
  const r = recorder();
  t.open(r.handler);
  s.push(`${WELCOME}\u001e`);
  await tick(10);
  assert.deepEqual(r.messages.map((m) => m.type), [2]);
  t.close();
});

test('connectWampWebSocketStream failures: no constructor, a protocol of no serializer, a protocol not offered, timeout (no close() after the aborted handshake), abort', async () => {
  const rejects = async (p: Promise<unknown>, code: string, message?: RegExp): Promise<void> => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof WampSessionError);
      assert.equal(e.code, code);
      if (message) assert.match(e.message, message);
      return true;
    });
  };
  const g = globalThis as { WebSocketStream?: unknown };
  const saved = g.WebSocketStream;
  delete g.WebSocketStream;
  try {
    await rejects(connectWampWebSocketStream('ws://x/ws'), 'WAMP_ERR_CONNECT', /no WebSocketStream/);
  } finally {
    if (saved !== undefined) g.WebSocketStream = saved;
  }
  const ctorOf = (s: ScriptedStream): WebSocketStreamConstructor => function () {
    return s;
  } as unknown as WebSocketStreamConstructor;
  await rejects(
    connectWampWebSocketStream('ws://x/ws', { WebSocketStream: ctorOf(new ScriptedStream('wamp.2.json')), protocols: ['wamp.2.cbor'] }),
    'WAMP_ERR_INVALID_ARGUMENT',
  );
  const wrong = new ScriptedStream('wamp.2.cbor');
  await rejects(connectWampWebSocketStream('ws://x/ws', { WebSocketStream: ctorOf(wrong) }), 'WAMP_ERR_CONNECT', /chose subprotocol 'wamp.2.cbor'/);
  assert.equal(wrong.closeCalls.length, 1, 'an opened stream we cannot use is closed');

  let signal: AbortSignal | undefined;
  const never = new ScriptedStream('wamp.2.json', { opens: false });
  const Slow = function (_url: string, options?: { signal?: AbortSignal }) {
    signal = options?.signal;
    return never;
  } as unknown as WebSocketStreamConstructor;
  await rejects(connectWampWebSocketStream('ws://x/ws', { WebSocketStream: Slow, timeout: 50 }), 'WAMP_ERR_CONNECT', /within 50 ms/);
  assert.equal(signal?.aborted, true, 'the handshake was aborted through the signal');
  assert.equal(never.closeCalls.length, 0, 'no close() on a stream whose handshake the signal aborted');

  const ac = new AbortController();
  const pending = connectWampWebSocketStream('ws://x/ws', { WebSocketStream: ctorOf(new ScriptedStream('wamp.2.json', { opens: false })), signal: ac.signal });
  ac.abort(new Error('user'));
  await rejects(pending, 'WAMP_ERR_CONNECT', /aborted/);
  await rejects(connectWampWebSocketStream('ws://x/ws', { WebSocketStream: Slow, signal: ac.signal }), 'WAMP_ERR_CONNECT', /aborted/);
});
